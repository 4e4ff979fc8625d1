#!/usr/bin/env bats
# A vcrun killed at every step (issue 12): the test build (make SAN=1) has fault
# points (lib/fault.h) where VCRUN_FAULT=STEP SIGKILLs the calling process: the
# CLI in create, start, exec and delete, the monitor during its boot. After each,
# `delete --force` succeeds and teardown's leak checks find nothing: no process,
# mount, share, netns pin (and with it the taps and tc filters inside), state dir
# or cgroup. Then kill -9 goes to the stand-in, the monitor and QEMU at a moment
# of the VM's boot. tests/README.md has the table of steps.

load helpers

FAULTY=$REPO/build-asan/bin/vcrun

setup() {
	common_setup
	[ -x "$FAULTY" ] || fail "the test build $FAULTY is missing: make SAN=1 all"
	make_bundle "$T/b" sh -c 'sleep 30'
	# a network namespace of its own: create makes and pins it
	spec_edit "$T/b" '.linux.namespaces |= (map(select(.type != "network")) + [{"type": "network"}])'
}

# faulty STEP ARGS...: the test build of vcrun, killed at STEP.
faulty() {
	status=0
	(
		close_test_fds
		exec env VCRUN_FAULT="$1" ASAN_OPTIONS=detect_leaks=0 "$FAULTY" --root "$ROOT" "${@:2}"
	) </dev/null >"$T/out" 2>"$T/err" || status=$?
	stderr=$(cat "$T/err")
}

# after_fault ID STEP: the point was reached, delete --force cleans up everything.
after_fault() {
	[[ $stderr == *"fault point $2"* ]] || fail "$2: the fault point was not reached: $stderr"
	vc_capture delete --force "$1"
	[ "$status" -eq 0 ] || fail "$2: delete --force failed: $stderr"
	check_no_leaks || fail "$2: left behind: ${VC_LEFT[*]}"
	vc_capture state "$1"
	[ "$status" -ne 0 ] || fail "$2: the container is still there: $output"
}

@test "faults: the CLI killed at each step of create; delete --force leaves nothing" {
	local step id n=0
	for step in create.state create.netns create.share create.standin create.cgroup \
		create.monitor create.created; do
		id=$(new_id "fc$n")
		n=$((n + 1))
		faulty "$step" create --bundle "$T/b" "$id"
		[ "$status" -eq 137 ] || fail "$step: create exited $status, not 137 (SIGKILL): $stderr"
		after_fault "$id" "$step"
	done
}

@test "faults: the monitor killed at each step of its boot; create fails, nothing left" {
	local step id n=0
	for step in monitor.qemu monitor.sandbox monitor.ready; do
		id=$(new_id "fm$n")
		n=$((n + 1))
		faulty "$step" create --bundle "$T/b" "$id"
		[ "$status" -ne 0 ] && [ "$status" -ne 137 ] ||
			fail "$step: create exited $status with its monitor killed: $stderr"
		[[ $stderr == *"level=error"*"monitor"* ]] || fail "$step: no error said: $stderr"
		# the monitor's own words went to its log, which create's clean-up removed
		stderr="fault point $step"
		after_fault "$id" "$step"
	done
}

@test "faults: start, exec and delete killed at each step; delete --force leaves nothing" {
	local step id n=0
	for step in start.hooks start.started exec.asked exec.standin delete.locked \
		delete.monitor delete.share; do
		id=$(new_id "fo$n")
		n=$((n + 1))
		vc_capture create --bundle "$T/b" "$id"
		[ "$status" -eq 0 ] || fail "create: $stderr"
		case $step in
		start.*) faulty "$step" start "$id" ;;
		exec.*)
			vc_capture start "$id"
			faulty "$step" exec "$id" sleep 20
			;;
		delete.*)
			vc_capture start "$id"
			faulty "$step" delete --force "$id"
			;;
		esac
		[ "$status" -eq 137 ] || fail "$step: exited $status, not 137 (SIGKILL): $stderr"
		after_fault "$id" "$step"
	done
}

# victim_pid ID WHAT: the pid of the container's stand-in, monitor or QEMU.
victim_pid() {
	local p share
	share=$(share_of "$1")
	# virtiofsd names the share, and sandboxes itself out of the state dir
	for p in $(procs_under "$T") $(pgrep -f "source=$share"); do
		case "$2:$(cmdline_of "$p")" in
		standin:*__standin*"--id $1"* | monitor:*__monitor*"--id $1"*) echo "$p" && return ;;
		qemu:*qemu-system*) qemu_serves "$p" "$ROOT/$1" && echo "$p" && return ;;
		virtiofsd:*virtiofsd*"source=$share"*) echo "$p" && return ;;
		esac
	done
}

@test "faults: kill -9 of the stand-in, the monitor, QEMU or virtiofsd during create; delete --force leaves nothing" {
	local what delay id n=0 pid
	echo '{"shared_fs": "virtio-fs"}' >"$T/virtiofs.json"
	for what in standin monitor qemu virtiofsd; do
		# virtiofsd runs only for a virtio-fs share
		if [ "$what" = virtiofsd ]; then export VCRUN_CONFIG=$T/virtiofs.json; fi
		for delay in 1 3; do
			id=$(new_id "fk$n")
		n=$((n + 1))
			(
				close_test_fds
				exec "$RUNTIME" --root "$ROOT" create --bundle "$T/b" "$id"
			) </dev/null >"$T/k.out" 2>"$T/k.err" &
			local cpid=$!
			sleep "$delay"
			pid=
			wait_for 20 eval '[ -n "$(victim_pid "$id" "$what")" ] || ! pid_alive '"$cpid" &&
				pid=$(victim_pid "$id" "$what")
			[ -z "$pid" ] || kill -KILL "$pid"
			wait "$cpid" || true
			vc_capture delete --force "$id"
			[ "$status" -eq 0 ] || fail "$what after ${delay}s: delete --force: $stderr"
			check_no_leaks || fail "$what after ${delay}s: left behind: ${VC_LEFT[*]}"
			[ -z "$(pgrep -f "source=$(share_of "$id")")" ] ||
				fail "$what after ${delay}s: virtiofsd left: $(pgrep -af virtiofsd)"
			[ -n "$pid" ] || [ "$delay" -gt 1 ] || fail "$what: never seen during create"
		done
	done
	unset VCRUN_CONFIG
}
