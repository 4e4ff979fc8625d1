#!/usr/bin/env bats
# QEMU's confinement (issue 12, hv/jail.c): a uid of its own (hypervisor_uid_base + its
# pid), a mount namespace whose root holds only what it needs, no capability beyond the
# 9p server's, no new privileges; sockets, console, taps and disks passed in as fds.

load helpers

BASE=1879048192 # VC_HV_UID_BASE_DEFAULT
# CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID MKNOD SETFCAP
SHARE_CAPS=$(printf '%016x' $(((1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 27) | (1 << 31))))

setup() {
	common_setup
	is_vm_runtime || skip "runc has no hypervisor to confine"
}

# status_field PID NAME: a line of /proc/PID/status, its value only.
status_field() {
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# uid_of PID: its real uid.
uid_of() {
	status_field "$1" Uid | awk '{print $1}'
}

# run_configured JSON ID: `run -d` of $T/b under a vcrun config of JSON; Q gets its QEMU.
run_configured() {
	echo "$1" >"$T/$2.json"
	VCRUN_CONFIG=$T/$2.json vc_capture run -d --bundle "$T/b" "$(new_id "$2")"
	[ "$status" -eq 0 ] || fail "run with $1: $stderr" || return 1
	Q=$(the_qemu)
}

# the_qemu: the one QEMU of this test (fails on none or several).
the_qemu() {
	local qs
	mapfile -t qs < <(qemu_pids)
	[ ${#qs[@]} -eq 1 ] || fail "expected one qemu, found ${#qs[@]}: ${qs[*]}" || return 1
	echo "${qs[0]}"
}

@test "confine: QEMU runs as uid base+pid, in its own mount namespace, with the 9p server's capabilities only" {
	make_bundle "$T/b" sleep 60
	spec_edit "$T/b" '.root.readonly = false'
	id=$(new_id conf-9p)
	vc_capture run -d --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	q=$(the_qemu)
	read -r ruid euid suid fsuid < <(status_field "$q" Uid)
	[ "$ruid" -eq $((BASE + q)) ] || fail "uid $ruid, expected $((BASE + q))"
	[ "$euid" = "$ruid" ] && [ "$suid" = "$ruid" ] && [ "$fsuid" = "$ruid" ] || fail "uids $ruid $euid $suid $fsuid"
	read -r rgid _ < <(status_field "$q" Gid)
	[ "$rgid" -eq $BASE ] || fail "gid $rgid"
	[ -z "$(status_field "$q" Groups)" ] || fail "supplementary groups: $(status_field "$q" Groups)"
	[ "$(status_field "$q" CapEff)" = "$SHARE_CAPS" ] || fail "CapEff $(status_field "$q" CapEff), expected $SHARE_CAPS"
	[ "$(status_field "$q" CapBnd)" = "$SHARE_CAPS" ] || fail "CapBnd $(status_field "$q" CapBnd)"
	[ "$(status_field "$q" NoNewPrivs)" = 1 ] || fail "NoNewPrivs $(status_field "$q" NoNewPrivs)"
	[ "$(status_field "$q" Seccomp)" = 2 ] || fail "no seccomp filter (-sandbox on)"
	[ "$(readlink "/proc/$q/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "QEMU shares our mount namespace"
	[ "$(readlink "/proc/$q/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ] || fail "QEMU shares our IPC namespace"

	# Its root: what it needs, nothing of the host's /etc, /home, /root or /var.
	r=/proc/$q/root
	[ -x "$r/usr/bin/qemu-system-x86_64" ] || [ -x "$r$(cmdline_of "$q" | cut -d' ' -f1)" ] || fail "no qemu binary in its root"
	[ ! -e "$r/etc/passwd" ] && [ ! -e "$r/etc/shadow" ] || fail "the host's /etc is visible: $(ls "$r/etc")"
	for d in home root var boot opt; do
		[ ! -e "$r/$d" ] || fail "/$d is in QEMU's root"
	done
	[ ! -e "$r$ROOT/$id/state.json" ] || fail "the state dir is visible to QEMU"
	! touch "$r/probe" 2>/dev/null || fail "QEMU's root is writable"
	[ -e "$r/dev/urandom" ] && [ ! -e "$r/dev/mem" ] && [ ! -e "$r/dev/net/tun" ] || fail "dev: $(ls "$r/dev")"
	# A /proc of its own processes only (hidepid is judged by the reader: root
	# here sees every pid in it, so read the mount's options).
	grep -E '^[0-9]+ [0-9]+ [0-9:]+ / /proc .* proc proc .*hidepid=invisible,subset=pid' "/proc/$q/mountinfo" ||
		fail "QEMU's /proc: $(grep ' /proc ' "/proc/$q/mountinfo")"
	[ ! -e "$r/proc/sys" ] || fail "QEMU sees /proc/sys"

	# Nothing reached by a path it could not open: fds for QMP, agent, console.
	args=$(cmdline_of "$q")
	[[ $args == *"socket,id=qmp,fd=3,"* && $args == *"socket,id=agent,fd=4,"* && $args == *"path=/dev/fdset/5"* ]] || fail "argv: $args"
	[[ $args == *"-name guest=$ROOT/$id"* ]] || fail "no -name naming the container: $args"
	[ "$(stat -c '%u %a' "$ROOT/$id/qmp.sock")" = "0 600" ] || fail "qmp.sock: $(stat -c '%u %a' "$ROOT/$id/qmp.sock")"

	# The 9p server still acts for the guest's root: past modes, keeping setuid
	# bits, in directories it does not own.
	chmod 0600 "$T/b/rootfs/etc/passwd"
	vc_capture exec "$id" sh -c 'mkdir /tmp/x && echo hi >/tmp/x/f && chmod 4711 /tmp/x/f && head -c 5 /etc/passwd && echo'
	[ "$status" -eq 0 ] && [ "$output" = root: ] || fail "exec: $output $stderr"
	[ "$(stat -c '%a %u' "$T/b/rootfs/tmp/x/f")" = "4711 0" ] || fail "on the host: $(stat -c '%a %u' "$T/b/rootfs/tmp/x/f")"
	vc_capture kill "$id" KILL
	wait_status "$id" stopped
}

@test "confine: two VMs get different uids; under virtio-fs QEMU keeps no capability and virtiofsd is confined too" {
	echo '{"shared_fs": "virtio-fs"}' >"$T/vfs.json"
	make_bundle "$T/b" sleep 60
	spec_edit "$T/b" '.root.readonly = false'
	a=$(new_id conf-a)
	b=$(new_id conf-b)
	vc_capture run -d --bundle "$T/b" "$a"
	[ "$status" -eq 0 ] || fail "run a: $stderr"
	VCRUN_CONFIG=$T/vfs.json vc_capture run -d --bundle "$T/b" "$b"
	[ "$status" -eq 0 ] || fail "run b: $stderr"
	mapfile -t qs < <(qemu_pids)
	[ ${#qs[@]} -eq 2 ] || fail "qemus: ${qs[*]}"
	u0=$(uid_of "${qs[0]}")
	u1=$(uid_of "${qs[1]}")
	[ "$u0" != "$u1" ] || fail "both QEMUs are uid $u0"
	for q in "${qs[@]}"; do
		if [[ $(cmdline_of "$q") == *vhost-user-fs* ]]; then
			[ "$(status_field "$q" CapEff)" = 0000000000000000 ] || fail "virtio-fs QEMU has CapEff $(status_field "$q" CapEff)"
			[ "$(status_field "$q" CapPrm)" = 0000000000000000 ] || fail "CapPrm"
			[[ $(cmdline_of "$q") == *"socket,id=vfs0,fd="* ]] || fail "virtiofsd by path: $(cmdline_of "$q")"
			vfs=$q
		fi
	done
	[ -n "${vfs:-}" ] || fail "no virtio-fs QEMU"
	# Its virtiofsd: a uid of its own too, its own mount namespace, the file
	# server's capabilities only (it chroots into the share: SYS_CHROOT).
	mon=$(jq -r .monitor_pid "$ROOT/$b/state.json")
	v=$(pgrep -P "$mon" virtiofsd | head -1)
	[ -n "$v" ] || fail "no virtiofsd under monitor $mon"
	[ "$(uid_of "$v")" -eq $((BASE + v)) ] || fail "virtiofsd uid $(status_field "$v" Uid)"
	[ "$(readlink "/proc/$v/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "virtiofsd shares our mount namespace"
	vfsd_caps=$(printf '%016x' $((0x$SHARE_CAPS | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 18))))
	# (virtiofsd then drops its bounding set and SYS_CHROOT itself)
	for set in CapPrm CapBnd CapAmb; do
		have=$(status_field "$v" $set)
		[ $((0x$have & ~0x$vfsd_caps)) -eq 0 ] || fail "virtiofsd $set $have is more than $vfsd_caps"
	done
	[ $((0x$(status_field "$v" CapEff) & 1 << 18)) -eq 0 ] || fail "virtiofsd kept SYS_CHROOT"
	[ ! -e "/proc/$v/root/etc/passwd" ] || fail "virtiofsd sees the host's /etc"
	VCRUN_CONFIG=$T/vfs.json vc_capture exec "$b" sh -c 'echo hi >/tmp/f && cat /tmp/f'
	[ "$output" = hi ] || fail "exec under virtio-fs: $output $stderr"
	# A QEMU cannot signal or trace the other one: different uids, no CAP_KILL.
	! setpriv --reuid "$u0" --regid $BASE --clear-groups kill -0 "${qs[1]}" 2>/dev/null ||
		fail "uid $u0 can signal the other QEMU"
	vcrun kill "$a" KILL
	vcrun kill "$b" KILL
	wait_status "$a" stopped
	wait_status "$b" stopped
}

@test "confine: the monitor's death still takes its confined QEMU (the parent-death signal survives the uid change)" {
	make_bundle "$T/b" sleep 60
	id=$(new_id conf-pd)
	vc_capture run -d --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	q=$(the_qemu)
	mon=$(jq -r .monitor_pid "$ROOT/$id/state.json")
	[ "$(awk '{print $4}' "/proc/$q/stat")" = "$mon" ] || fail "QEMU's parent is not the monitor $mon"
	kill -9 "$mon"
	wait_for 10 bash -c "! kill -0 $q 2>/dev/null" || fail "QEMU $q outlived its monitor"
	vcrun delete --force "$id"
}

@test "confine: confine_hypervisor false and hypervisor_uid_base 0 are honoured; bad values are refused by name" {
	make_bundle "$T/b" sleep 60
	run_configured '{"confine_hypervisor": false}' conf-off
	[ "$(uid_of "$Q")" = 0 ] || fail "unconfined QEMU is not root"
	[ "$(readlink "/proc/$Q/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] || fail "unconfined QEMU has a mount namespace"
	vcrun delete --force conf-off

	run_configured '{"hypervisor_uid_base": 0}' conf-zero
	[ "$(uid_of "$Q")" = 0 ] || fail "uid base 0: QEMU is not uid 0"
	[ "$(readlink "/proc/$Q/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "uid base 0: no mount namespace"
	[ "$(status_field "$Q" CapBnd)" = "$SHARE_CAPS" ] || fail "uid base 0: CapBnd $(status_field "$Q" CapBnd)"
	vcrun delete --force conf-zero

	for bad in '{"hypervisor_uid_base": 100}' '{"hypervisor_uid_base": 4294967295}' \
		'{"hypervisor_uid_base": "x"}' '{"confine_hypervisor": "yes"}'; do
		echo "$bad" >"$T/bad.json"
		id=$(new_id conf-bad)
		VCRUN_CONFIG=$T/bad.json vc_capture create --bundle "$T/b" "$id"
		[ "$status" -ne 0 ] || fail "$bad was accepted"
		[[ $stderr == *"$T/bad.json"* && ($stderr == *hypervisor_uid_base* || $stderr == *confine_hypervisor*) ]] || fail "$bad: $stderr"
		[ ! -e "$ROOT/$id" ] || fail "$bad left a state dir"
	done
}

@test "confine: vcrun check says how QEMU is confined" {
	vc_capture check
	[[ $output == *"confinement: usable (QEMU runs as uid $BASE + its pid"* ]] || fail "check: $output"
	echo '{"confine_hypervisor": false}' >"$T/off.json"
	VCRUN_CONFIG=$T/off.json vc_capture check
	[[ $output == *"confinement: not usable: off (confine_hypervisor is false)"* ]] || fail "check off: $output"
}
