# Loop devices that tests make as host block devices (62-block-devices.bats,
# 70-docker.bats): each on an 8 MiB image file under $T, detached by name after the
# test's containers are gone. Other workers may use other loop devices at the same
# time: only the ones named in $T/loops are touched.
# shellcheck shell=bash

# new_loop: the path of a fresh loop device (losetup -f), recorded in $T/loops.
new_loop() {
	local img dev
	img=$(mktemp "$T/img.XXXXXX") || return 1
	truncate -s 8M "$img"
	dev=$(losetup -f --show "$img") || {
		fail "losetup -f --show $img failed"
		return 1
	}
	echo "$dev" >>"$T/loops"
	echo "$dev"
}

# loops_of_test: the loop devices the test made (read before $T goes).
loops_of_test() {
	[ -f "${T:-/nonexistent}/loops" ] && cat "$T/loops"
	return 0
}

# loops_detach DEV...: detach each (an open one is detached when its last user
# closes it: losetup's autoclear).
loops_detach() {
	local dev
	for dev in "$@"; do
		losetup -d "$dev" 2>/dev/null || true
	done
}

# holders_of DEV: pids of the processes that have DEV open (QEMU's drive).
holders_of() {
	find /proc/[0-9]*/fd -lname "$1" 2>/dev/null | cut -d/ -f3 | sort -u
}

not_held() {
	[ -z "$(holders_of "$1")" ]
}

# devnum DEV: "MAJOR MINOR" of a block node, decimal.
devnum() {
	echo "$((16#$(stat -c %t "$1"))) $((16#$(stat -c %T "$1")))"
}

# add_blk BUNDLE DEV [PATH] [ACCESS] [MODE] [UID] [GID]: the linux.devices entry and
# cgroup rule that `docker run --device DEV:PATH:ACCESS` writes (access rwm by
# default; docker's rule letters are the --device permissions).
add_blk() {
	local b=$1 dev=$2 path=${3:-$2} access=${4:-rwm} mode=${5:-432} uid=${6:-0} gid=${7:-0}
	local maj min
	read -r maj min <<<"$(devnum "$dev")"
	spec_edit "$b" '.linux.devices += [{"path": $p, "type": "b", "major": $ma, "minor": $mi,
		"fileMode": $mode, "uid": $uid, "gid": $gid}]
		| .linux.resources.devices += [{"allow": true, "type": "b", "major": $ma,
		"minor": $mi, "access": $a}]' \
		--arg p "$path" --argjson ma "$maj" --argjson mi "$min" --arg a "$access" \
		--argjson mode "$mode" --argjson uid "$uid" --argjson gid "$gid"
}
