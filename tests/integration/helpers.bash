# Shared by every tests/integration/*.bats (load with `load helpers`).
#
# Each test gets a fresh temp dir $T (short, under /tmp, so socket paths in the state
# dir stay under 108 bytes) with the state root $ROOT=$T/root inside. teardown deletes
# every container in it with `delete --force`, then fails the test if anything is left:
# a process whose command line names $T or that runs in it (QEMU, in its state dir), a state
# dir, a container in `list`, a mount under $T.
#
# RUNTIME is $VCRUN or the repo's bin/vcrun. VCRUN=/usr/sbin/runc runs the same tests
# against runc (checks that only make sense for a VM are guarded by `is_vm_runtime`).

# Variables such as status, output, stderr, BG_STATUS are set for the tests to read.
# shellcheck disable=SC2034

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
RUNTIME=${VCRUN:-${RUNTIME:-$REPO/bin/vcrun}}
export RUNTIME
VCRUN_SHARE=${VCRUN_SHARE:-$REPO/share/vcrun}
# Seconds to wait for anything that needs a VM boot (about 5 s under TCG on 2 cores).
VC_TIMEOUT=${VC_TIMEOUT:-90}

is_vm_runtime() {
	[ "$(basename "$RUNTIME")" != runc ]
}

common_setup() {
	[ -x "$RUNTIME" ] || fail "runtime $RUNTIME is not built (make) or not executable"
	T=$(mktemp -d /tmp/vct.XXXXXX)
	ROOT=$T/root
	mkdir -p "$ROOT"
	: >"$T/ids"
	: >"$T/bg.pids"
}

common_teardown() {
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	local leaks=()
	cleanup_containers
	wait_bg_gone || leaks+=("${VC_LEFT[@]}")
	check_no_leaks || leaks+=("${VC_LEFT[@]}")
	if [ ${#leaks[@]} -gt 0 ]; then
		printf '# left behind: %s\n' "${leaks[@]}" >&2
		force_cleanup
		cgroups_cleanup
		rm -rf "$T"
		return 1
	fi
	cgroups_cleanup
	rm -rf "$T"
}

setup() {
	common_setup
}

teardown() {
	common_teardown
}

fail() {
	echo "# $*" >&2
	return 1
}

# vcrun ARGS...: the runtime with this test's --root, without the test's own fds.
vcrun() {
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" "$@"
	)
}

# In a subshell about to exec the runtime: close every fd but stdio. Its helpers
# (stand-in, monitor, QEMU) must not inherit bats' fds (bats waits for their pipes)
# nor a fifo end the test holds (that stdin would never see EOF).
close_test_fds() {
	local f fd
	for f in /proc/self/fd/*; do
		fd=${f##*/}
		[ "$fd" -gt 2 ] || continue
		{ exec {fd}>&-; } 2>/dev/null || true
	done
}

# open_fifo PATH VAR: a fifo held open read-write by the test (so opening it for a
# runtime's stdin never blocks); its fd number goes in VAR.
open_fifo() {
	local fd
	mkfifo "$1"
	exec {fd}<>"$1"
	printf -v "$2" '%s' "$fd"
}

# new_id NAME: a container id that teardown will clean up. Without cgroupsPath a
# container's cgroup is its id (below the caller's own), so that must go too.
new_id() {
	echo "$1" >>"$T/ids"
	echo "$1" >>"$T/cgroups"
	echo "$1"
}

# vc_capture ARGS...: vcrun with stdin $VC_STDIN (default /dev/null), stdout to
# $T/out, stderr to $T/err. Sets status, output (stdout) and stderr. Never uses a
# pipe: a stand-in that keeps stdio would make a `$(...)` wait for the container.
vc_capture() {
	status=0
	vcrun "$@" <"${VC_STDIN:-/dev/null}" >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

# make_bundle DIR [--hostname H] ARGS...: scripts/mkbundle.sh with this runtime.
make_bundle() {
	local dir=$1
	shift
	local opts=()
	if [ "${1:-}" = --hostname ]; then
		opts=(--hostname "$2")
		shift 2
	fi
	RUNTIME=$RUNTIME "$REPO/scripts/mkbundle.sh" "${opts[@]}" "$dir" "$@" >/dev/null
}

# spec_edit BUNDLE JQ-FILTER [jq args...]: edit BUNDLE/config.json in place.
spec_edit() {
	local bundle=$1 filter=$2
	shift 2
	jq "$@" "$filter" "$bundle/config.json" >"$bundle/config.json.new"
	mv "$bundle/config.json.new" "$bundle/config.json"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

state_status() {
	vcrun state "$1" 2>/dev/null | jq -r .status
}

status_is() {
	[ "$(state_status "$1")" = "$2" ]
}

# wait_status ID STATUS [BGNAME]: bounded poll of `state`; with BGNAME, give up as soon
# as that background run has ended.
wait_status() {
	local deadline=$((SECONDS + VC_TIMEOUT)) pid_var="VC_PID_${3:-}"
	until status_is "$1" "$2"; do
		if [ -n "${3:-}" ] && ! pid_alive "${!pid_var}"; then
			fail "run $3 ended before $1 was $2: $(head -c 2000 "$T/$3.err")"
			return 1
		fi
		[ $SECONDS -lt $deadline ] ||
			fail "container $1 did not reach status $2 in ${VC_TIMEOUT}s (last: $(state_status "$1"))" ||
			return 1
		sleep 0.1
	done
}

file_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# wait_output FILE TEXT: the container's output reached the file.
wait_output() {
	wait_for "$VC_TIMEOUT" file_has "$1" "$2" ||
		fail "'$2' did not appear in $1 in ${VC_TIMEOUT}s: $(head -c 2000 "$1" 2>/dev/null)"
}

# bg_expect NAME TEXT: TEXT appeared in the background run's stdout; fails early,
# with its stderr, if the run ended first.
bg_expect() {
	local name=$1 text=$2 pid_var="VC_PID_$1" deadline=$((SECONDS + VC_TIMEOUT))
	until file_has "$T/$name.out" "$text"; do
		if ! pid_alive "${!pid_var}"; then
			file_has "$T/$name.out" "$text" && return 0
			fail "run $name ended before printing '$text'; stdout: $(head -c 2000 "$T/$name.out"); stderr: $(head -c 2000 "$T/$name.err")"
			return 1
		fi
		[ $SECONDS -lt $deadline ] ||
			fail "'$text' did not appear in $name's stdout in ${VC_TIMEOUT}s: $(head -c 2000 "$T/$name.out"); stderr: $(head -c 2000 "$T/$name.err")" ||
			return 1
		sleep 0.1
	done
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# bg_run NAME ID BUNDLE [run options...]: `vcrun run` in the background. Its stdin is
# the fifo $T/NAME.in, held open by the test's fd VC_FD_<NAME> until bg_close_stdin;
# stdout and stderr go to $T/NAME.out and $T/NAME.err. Sets BG_PID.
bg_run() {
	local name=$1 id=$2 bundle=$3
	shift 3
	open_fifo "$T/$name.in" "VC_FD_$name"
	# Not the vcrun function: one subshell that execs the runtime, so $! is the run.
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" run --bundle "$bundle" "$@" "$id"
	) <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	BG_PID=$!
	printf -v "VC_PID_$name" '%s' "$BG_PID"
	echo "$BG_PID" >>"$T/bg.pids"
}

# bg_send NAME TEXT: a line to the background run's stdin.
bg_send() {
	local fd_var="VC_FD_$1"
	echo "$2" >&"${!fd_var}"
}

bg_close_stdin() {
	local fd_var="VC_FD_$1"
	local fd=${!fd_var}
	exec {fd}>&-
}

# bg_wait PID: sets BG_STATUS to the exit status of a background run (bounded wait).
# Not in a $(...): only this shell can wait for its child.
bg_wait() {
	wait_for "$VC_TIMEOUT" eval '! pid_alive '"$1" ||
		fail "run (pid $1) still running after ${VC_TIMEOUT}s"
	BG_STATUS=0
	wait "$1" || BG_STATUS=$?
}

# netns_gone PEER NS...: for a test's teardown: kills what the test started in the
# namespace PEER (a peer's httpd, wget), then deletes PEER and every NS that exists.
netns_gone() {
	local p ns
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	for ns in "$@"; do
		[ ! -e "/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || true
	done
}

# qemu_pids: QEMU processes started for this test.
qemu_pids() {
	local p comm
	for p in $(procs_under "$T"); do
		comm=$(cat 2>/dev/null <"/proc/$p/comm") || continue
		[[ $comm == qemu* ]] && echo "$p"
	done
	return 0
}

# procs_under DIR: live pids (not this shell's) whose command line names DIR or whose
# working directory is in it (QEMU runs in its state dir with relative socket paths).
procs_under() {
	local f p cwd args=()
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
		# mapfile, not a pipe: one fork per process makes teardown slow.
		mapfile -d '' args 2>/dev/null <"$f" || continue
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || cwd=""
		if [[ "${args[*]}" == *"$1"* || $cwd == "$1" || $cwd == "$1"/* ]]; then
			pid_alive "$p" && echo "$p"
		fi
	done
	return 0
}

# qemu_serves PID STATE_DIR: whether QEMU PID is the VM of the container whose state
# dir that is: named by -name guest=DIR (a confined QEMU's cwd is its jail's /), or
# running in it (an unconfined one).
qemu_serves() {
	[[ "$(cmdline_of "$1")" == *"-name guest=$2 "* ]] || [ "$(readlink "/proc/$1/cwd" 2>/dev/null)" = "$2" ]
}

cmdline_of() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline"
}

# new_cgroup PATH: a cgroupfs linux.cgroupsPath (absolute, or relative to this
# shell's own cgroup, as runc resolves it) that teardown requires gone from every
# hierarchy; teardown then removes the parents the test's path made.
new_cgroup() {
	echo "$1" >>"$T/cgroups"
	echo "$1"
}

# cgroup_dirs PATH: the directories of a cgroupfs cgroupsPath that exist now, one
# per hierarchy (v1 and hybrid: each controller's mount; v2: the one tree).
cgroup_dirs() {
	local p=$1 ctrl own mnt d
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		own=$(sed -n 's/^0:://p' /proc/self/cgroup)
		if [[ $p == /* ]]; then d=/sys/fs/cgroup$p; else d=/sys/fs/cgroup${own%/*}/$p; fi
		[ ! -d "$d" ] || echo "$d"
		return 0
	fi
	while IFS=: read -r _ ctrl own; do
		case $ctrl in
		"") mnt=unified ;;
		name=systemd) mnt=systemd ;;
		name=*) continue ;;
		*) mnt=$ctrl ;;
		esac
		[ -d "/sys/fs/cgroup/$mnt" ] || mnt=${ctrl%%,*}
		if [[ $p == /* ]]; then d=/sys/fs/cgroup/$mnt$p; else d=/sys/fs/cgroup/$mnt${own%/}/$p; fi
		[ ! -d "$d" ] || echo "$d"
	done </proc/self/cgroup
	return 0
}

# Removes what is left of the test's cgroups (sub-cgroups first), then the
# parents their paths made (runc leaves those too).
cgroups_cleanup() {
	local p d
	[ -f "$T/cgroups" ] || return 0
	while read -r p; do
		for d in $(cgroup_dirs "$p"); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
		while [[ $p == */* ]]; do
			p=${p%/*}
			[ -n "$p" ] || break
			for d in $(cgroup_dirs "$p"); do rmdir "$d" 2>/dev/null || true; done
		done
	done <"$T/cgroups"
}

# Every container this test may have made: tracked ids, `list`, state dirs.
known_ids() {
	{
		cat "$T/ids"
		vcrun list -q 2>/dev/null || true
		find "$ROOT" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' 2>/dev/null
	} | sort -u | sed '/^$/d'
}

cleanup_containers() {
	local id
	for id in $(known_ids); do
		vcrun delete --force "$id" >/dev/null 2>&1 || true
	done
}

# Background runs must end by themselves once their container is deleted.
wait_bg_gone() {
	VC_LEFT=()
	local p
	for p in $(cat "$T/bg.pids"); do
		if wait_for 10 eval '! pid_alive '"$p"; then
			wait "$p" 2>/dev/null || true
		else
			VC_LEFT+=("background run pid $p: $(cmdline_of "$p")")
		fi
	done
	[ ${#VC_LEFT[@]} -eq 0 ]
}

no_procs_left() {
	[ -z "$(procs_under "$T")" ]
}

# Sets VC_LEFT to what is left; QEMU may take a moment to exit after delete.
check_no_leaks() {
	VC_LEFT=()
	local p id m
	if ! wait_for 5 no_procs_left; then
		for p in $(procs_under "$T"); do
			VC_LEFT+=("process $p: $(cmdline_of "$p")")
		done
	fi
	for id in $(cat "$T/ids"); do
		[ ! -e "$ROOT/$id" ] || VC_LEFT+=("state dir $ROOT/$id")
	done
	for id in $(vcrun list -q 2>/dev/null); do
		VC_LEFT+=("container $id in list")
	done
	while read -r m; do
		VC_LEFT+=("mount $m")
	done < <(mounts_under "$T")
	# Host-wide names of a container (lib/sandbox.h): its sandbox share, its pin.
	if [ -d "$ROOT" ]; then
		for id in $(cat "$T/ids"); do
			for m in "$(share_of "$id")" "/run/vcrun/netns/$(host_name_of "$id")"; do
				[ ! -e "$m" ] || VC_LEFT+=("$m")
			done
		done
	fi
	if [ -f "$T/cgroups" ]; then
		while read -r m; do
			for p in $(cgroup_dirs "$m"); do VC_LEFT+=("cgroup $p"); done
		done <"$T/cgroups"
	fi
	[ ${#VC_LEFT[@]} -eq 0 ]
}

mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

force_cleanup() {
	local p m
	for p in $(cat "$T/bg.pids") $(procs_under "$T"); do
		kill -KILL "$p" 2>/dev/null || true
	done
	for m in $(mounts_under "$T" | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

# kernel_version_of KERNEL: the release (`uname -r`) of a bzImage (from its setup
# header: "HdrS" at 0x202, version string pointer at 0x20E) or of an uncompressed
# ELF vmlinux (from its "Linux version" banner).
kernel_version_of() {
	local off
	if [ "$(dd if="$1" bs=1 skip=$((0x202)) count=4 2>/dev/null | tr -d '\0')" = HdrS ]; then
		off=$(od -An -tu2 -j $((0x20E)) -N2 "$1" | tr -d ' ')
		[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
		dd if="$1" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' |
			head -n1 | cut -d' ' -f1
	else
		LC_ALL=C grep -a -o -m1 'Linux version [^ ]*' "$1" | head -n1 | cut -d' ' -f3
	fi
}

# rfc3339nano TEXT: as Go's time.RFC3339Nano prints it.
is_rfc3339nano() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]
}

# qemu_accel PID: kvm or tcg, from a QEMU process's argv (-accel X, -M ...,accel=X,
# -enable-kvm; QEMU's default is tcg). "ambiguous" for a fallback list like kvm:tcg,
# which a runtime that probes the host should not need.
qemu_accel() {
	local args=() a prev="" accel=""
	mapfile -d '' args <"/proc/$1/cmdline" || return 1
	for a in "${args[@]}"; do
		case $prev in
		-accel) accel=${a%%,*} ;;
		-machine | -M)
			[[ $a =~ (^|,)accel=([^,]*) ]] && accel=${BASH_REMATCH[2]}
			;;
		esac
		[ "$a" != -enable-kvm ] || accel=kvm
		prev=$a
	done
	case ${accel:-tcg} in
	kvm | tcg) echo "${accel:-tcg}" ;;
	*) echo ambiguous ;;
	esac
}

# assert_error CAUSE: the last vc_capture failed with status 1 and exactly one
# newline-terminated line on stderr that contains CAUSE.
assert_error() {
	[ "$status" -eq 1 ] || fail "exit status $status, not 1 (stderr: $stderr)"
	[ "$(wc -l <"$T/err")" -eq 1 ] && [ "$(tail -c1 "$T/err" | od -An -tx1 | tr -d ' ')" = 0a ] ||
		fail "stderr is not exactly one line: $(cat "$T/err")"
	[[ $stderr == *"$1"* ]] || fail "the error does not name '$1': $stderr"
}

# host_name_of ID: the name vcrun gives host-wide things of container ID in $ROOT
# (lib/sandbox.c vc_sandbox_host_name): FNV-1a of the real --root path, then the id.
host_name_of() {
	local r h=2166136261 i c
	r=$(realpath "$ROOT")
	for ((i = 0; i < ${#r}; i++)); do
		printf -v c '%d' "'${r:i:1}"
		h=$(((h ^ c) * 16777619 & 0xFFFFFFFF))
	done
	printf '%08x-%s\n' "$h" "$1"
}

# pin_of ID: where vcrun pinned the network namespace it made for ID (netns/README.md);
# empty when there is none.
pin_of() {
	local p
	p=/run/vcrun/netns/$(host_name_of "$1")
	[ ! -e "$p" ] || echo "$p"
}

# share_of ID: the sandbox share that ID booted (lib/share.c).
share_of() {
	echo "/run/vcrun/shared/$(host_name_of "$1")"
}

# recv_console SOCKET OUT [INPUT]: a console-socket receiver in the background.
recv_console() {
	(
		close_test_fds
		exec timeout 120 python3 "$REPO/tests/integration/recvtty.py" "$@"
	) </dev/null >"$T/recv.log" 2>&1 &
	RECV_PID=$!
	wait_for 10 test -S "$1" || fail "console socket $1 never appeared: $(cat "$T/recv.log")"
}
