#!/usr/bin/env bats
# The --pid-file pid's host namespaces are what runc's would be: the spec's pid and
# user namespaces (new, or joined by path) besides the others, so /proc/PID/ns/* and
# `nsenter -t PID` see what they would see with runc. As PID 1 of a new pid
# namespace it still ends as the container's process did, exit code or SIGKILL
# (what its parent reads, through reap.py, a child subreaper). The same file runs
# against runc (VCRUN=/usr/sbin/runc); only the sandbox and the error wording are
# vcrun's own.

load helpers

MAP='[{"containerID":0,"hostID":100000,"size":65536}]'

ns_of() { readlink "/proc/$1/ns/$2"; }

# innermost_pid PID: the pid in its own (innermost) pid namespace.
innermost_pid() {
	awk '/^NSpid:/ {print $NF}' "/proc/$1/status"
}

# owner_ino NSFILE: the inode of the user namespace that owns a namespace.
owner_ino() {
	python3 -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.fstat(fcntl.ioctl(fd, 0xb701)).st_ino)' "$1"
}

# create_pid BUNDLE ID [OPTIONS...]: creates ID (with OPTIONS) and a pid file;
# $pid is its pid.
create_pid() {
	local bundle=$1 id=$2
	shift 2
	vcrun create "$@" --bundle "$bundle" --pid-file "$T/$id.pid" "$(new_id "$id")" \
		</dev/null >/dev/null 2>"$T/err" || fail "$id: $(cat "$T/err")"
	pid=$(cat "$T/$id.pid")
}

# mapped_bundle DIR ARGS...: a bundle with a user namespace mapping 0 to 100000
# (65536 ids), its rootfs chowned to match.
mapped_bundle() {
	local dir=$1
	shift
	make_bundle "$dir" "$@"
	chown -R 100000:100000 "$dir/rootfs"
	# runc's init runs as 100000 on this host and walks down to its rootfs
	chmod 0711 "$T"
	spec_edit "$dir" '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = $map | .linux.gidMappings = $map' --argjson map "$MAP"
}

# reaped OUT SCRIPT: runs SCRIPT (sh, with $RT the runtime and --root, $PF a pid
# file for create) under reap.py, which waits for the pid in $PF as its parent and
# writes "exit N" or "signal N" to OUT.
reaped() {
	(
		close_test_fds
		export RT="$RUNTIME --root $ROOT" PF="$T/reap.pid"
		exec timeout "$VC_TIMEOUT" "$REPO/tests/integration/reap.py" "$PF" sh -c "$2"
	) </dev/null >"$1" 2>"$T/reap.err" || fail "reap.py: $(cat "$T/reap.err")"
}

# reap_after_up BUNDLE ID ACTION: creates and starts ID under reaped, waits for
# "up" in its output, runs ACTION (sh: $RT, $PF); how the pid ended is in $T/ID.end.
reap_after_up() {
	new_id "$2" >/dev/null
	reaped "$T/$2.end" "\$RT create --bundle $1 --pid-file \$PF $2 >$T/$2.out 2>&1 &&
		\$RT start $2 && { i=0; until grep -q up $T/$2.out || [ \$i -gt 900 ]; do
		sleep 0.1; i=\$((i+1)); done; $3; }"
}

@test "hostns: the pid is PID 1 of a new pid namespace for a spec with one, in the caller's without; the user namespace stays the caller's" {
	make_bundle "$T/b" sleep 600
	create_pid "$T/b" a
	[ "$(ns_of "$pid" pid)" != "$(ns_of self pid)" ] || fail "the pid is in the caller's pid namespace"
	[ "$(innermost_pid "$pid")" = 1 ] || fail "NSpid: $(grep NSpid "/proc/$pid/status")"
	[ "$(ns_of "$pid" user)" = "$(ns_of self user)" ] || fail "a user namespace without one in the spec"
	nsenter -t "$pid" -p -m true || fail "nsenter -t $pid -p -m"

	spec_edit "$T/b" '.linux.namespaces |= map(select(.type != "pid"))'
	create_pid "$T/b" b
	[ "$(ns_of "$pid" pid)" = "$(ns_of self pid)" ] || fail "a pid namespace without one in the spec"
	vcrun delete --force b
	vcrun delete --force a
}

@test "hostns: a user namespace with the spec's mappings, owning the namespaces made with it" {
	mapped_bundle "$T/u" sleep 600
	create_pid "$T/u" u
	[ "$(ns_of "$pid" user)" != "$(ns_of self user)" ] || fail "no user namespace"
	for f in uid_map gid_map; do
		[ "$(tr -s ' ' <"/proc/$pid/$f")" = " 0 100000 65536" ] ||
			fail "$f: $(cat "/proc/$pid/$f")"
	done
	# The namespaces made with it belong to it (NS_GET_USERNS), as runc's would.
	for ns in ipc uts mnt pid; do
		[ "$(owner_ino "/proc/$pid/ns/$ns")" = "$(stat -L -c %i "/proc/$pid/ns/user")" ] ||
			fail "its $ns namespace belongs to another user namespace"
	done
	nsenter -t "$pid" -U -i -p true || fail "nsenter -t $pid -U -i -p"
	vcrun start u
	[ "$(vcrun exec u id -u)" = 0 ] || fail "exec: not root inside"
	vcrun delete --force u
}

@test "hostns: in a user namespace, the console socket's pty is the pid's controlling terminal and carries the process's output" {
	mapped_bundle "$T/t" sh -c 'id -u; ls -ln "$(tty)"; echo done; sleep 600'
	spec_edit "$T/t" '.process.terminal = true'
	recv_console "$T/c.sock" "$T/c.out"
	create_pid "$T/t" t --console-socket "$T/c.sock"
	[ "$(ns_of "$pid" user)" != "$(ns_of self user)" ] || fail "no user namespace"
	# field 7 of stat: the controlling terminal (0: none)
	[ "$(awk '{print $7}' "/proc/$pid/stat")" != 0 ] || fail "the pid has no controlling terminal"
	vcrun start t
	wait_for 60 grep -q '^done' "$T/c.out" || fail "terminal output: $(cat -A "$T/c.out")"
	grep -aq '^0.$' "$T/c.out" || fail "not root inside: $(cat -A "$T/c.out")"
	read -r _ _ owner group _ < <(grep -a '/dev/pts/' "$T/c.out") ||
		fail "no ls line for the pty: $(cat -A "$T/c.out")"
	[ "$owner:$group" = 0:5 ] || fail "pty owned by $owner:$group: $(cat -A "$T/c.out")"
	vcrun delete --force t
}

@test "hostns: a pid namespace path shares that namespace (and its sandbox); exec's pid is in it too" {
	make_bundle "$T/x" sleep 600
	create_pid "$T/x" x
	xpid=$pid
	vcrun start x
	make_bundle "$T/y" sleep 600
	# the path spelt otherwise than /proc/PID/ns/pid: the same namespace all the same
	spec_edit "$T/y" '.linux.namespaces |= map(if .type == "pid" then
		.path = "/proc/\($p)/task/\($p)/ns/pid" else . end)' --arg p "$xpid"
	create_pid "$T/y" y
	ypid=$pid
	[ "$(ns_of "$ypid" pid)" = "$(ns_of "$xpid" pid)" ] || fail "y is not in x's pid namespace"
	[ "$(innermost_pid "$ypid")" != 1 ] || fail "y's pid is PID 1 of x's namespace"
	if is_vm_runtime; then
		[ "$(vcrun state y | jq -r '.annotations["io.vcrun.sandbox"]')" = x ] ||
			fail "y did not join x's sandbox"
	fi
	vcrun exec -d --pid-file "$T/e.pid" x sleep 600
	[ "$(ns_of "$(cat "$T/e.pid")" pid)" = "$(ns_of "$xpid" pid)" ] ||
		fail "exec's pid is not in the container's pid namespace"
	# not PID 1 there: an exec'd process's SIGKILL is its pid's end too
	reaped "$T/e.end" "\$RT exec -d --pid-file \$PF x sh -c 'sleep 1; kill -9 \$\$'"
	[ "$(cat "$T/e.end")" = "signal 9" ] || fail "exec's pid ended with '$(cat "$T/e.end")'"
	vcrun delete --force y
	vcrun delete --force x
}

@test "hostns: run's exit status and the pid's wait status are runc's (exit 3, kill -9 \$\$ as PID 1, kill KILL, a trapped TERM, TERM to the pid)" {
	make_bundle "$T/b" sh -c 'echo out; exit 3'
	vc_capture run --bundle "$T/b" "$(new_id r1)"
	[ "$status" -eq 3 ] && [ "$output" = out ] || fail "exit 3: status $status, output '$output'"

	# PID 1 of its namespace: its own SIGKILL does nothing.
	spec_edit "$T/b" '.process.args = ["sh", "-c", "kill -9 $$; echo after"]'
	vc_capture run --bundle "$T/b" "$(new_id r2)"
	[ "$status" -eq 0 ] && [ "$output" = after ] || fail "kill -9 \$\$: status $status, output '$output'"

	spec_edit "$T/b" '.process.args = ["sh", "-c", "echo up; sleep 600"]'
	bg_run r3 "$(new_id r3)" "$T/b"
	wait_for "$VC_TIMEOUT" file_has "$T/r3.out" up || fail "r3 did not start: $(cat "$T/r3.err")"
	vcrun kill r3 KILL
	bg_wait "$VC_PID_r3"
	[ "$BG_STATUS" -eq 137 ] || fail "run after kill KILL: $BG_STATUS"

	reap_after_up "$T/b" k1 '$RT kill k1 KILL'
	[ "$(cat "$T/k1.end")" = "signal 9" ] || fail "kill KILL: the pid ended with '$(cat "$T/k1.end")'"
	vcrun delete k1

	make_bundle "$T/t" sh -c 'trap "exit 143" TERM; echo up; while :; do sleep 1; done'
	reap_after_up "$T/t" k2 '$RT kill k2 TERM'
	[ "$(cat "$T/k2.end")" = "exit 143" ] || fail "kill TERM: the pid ended with '$(cat "$T/k2.end")'"
	vcrun delete k2

	# TERM sent to the pid itself (containerd's way for exec'd processes): PID 1 of
	# its namespace takes it, as runc's init with a handler does, and passes it on.
	reap_after_up "$T/t" k3 'kill -TERM $(cat $PF)'
	[ "$(cat "$T/k3.end")" = "exit 143" ] || fail "kill -TERM PID: the pid ended with '$(cat "$T/k3.end")'"
	vcrun delete k3
}

@test "hostns: a bad pid namespace path or user mapping fails naming the field and leaves nothing behind" {
	make_bundle "$T/b" true
	spec_edit "$T/b" '.linux.namespaces |= map(if .type == "pid" then .path = "/nonexistent" else . end)'
	vc_capture run --bundle "$T/b" "$(new_id p1)"
	[ "$status" -eq 1 ] || fail "status $status"
	if is_vm_runtime; then
		assert_error "linux.namespaces"
		[[ $stderr == */nonexistent* ]] || fail "$stderr"
	fi
	[ ! -e "$ROOT/p1" ] || fail "state dir left"

	# overlapping ranges: the kernel refuses the map
	spec_edit "$T/b" '.linux.namespaces |= map(del(.path)) | .linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = ($map + [{"containerID":1,"hostID":300000,"size":10}])
		| .linux.gidMappings = $map' --argjson map "$MAP"
	vc_capture run --bundle "$T/b" "$(new_id p2)"
	[ "$status" -eq 1 ] || fail "status $status"
	if is_vm_runtime; then
		assert_error "linux.uidMappings"
	fi
	[ ! -e "$ROOT/p2" ] || fail "state dir left"
}
