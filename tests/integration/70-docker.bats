#!/usr/bin/env bats
# docker as a real client: Debian's dockerd, started here on a private socket and
# data root with vcrun added as a runtime, drives vcrun as it drives runc.

load helpers
load engines
load loops

setup() {
	common_setup
	start_dockerd
}

teardown() {
	local loops rc=0
	mapfile -t loops < <(loops_of_test)
	stop_dockerd
	common_teardown || rc=$?
	loops_detach "${loops[@]}"
	return $rc
}

@test "docker: run shows the guest kernel; exit codes; --rm leaves nothing" {
	drun run --rm --runtime vcrun --network none localhost/bb uname -r
	[ "$status" -eq 0 ] || fail "docker run: $stderr"
	[ "$output" != "$(uname -r)" ] || fail "the container saw the host's kernel"
	[[ $output == 6.1.* ]] || fail "guest kernel: '$output'"
	drun run --rm --runtime vcrun --network none localhost/bb sh -c 'echo out; echo err >&2; exit 42'
	[ "$status" -eq 42 ] || fail "exit status $status, want 42: $stderr"
	[ "$output" = out ] && [[ $stderr == *err* ]] || fail "stdio: '$output' / '$stderr'"
}

@test "docker: run -d, exec, kill -s USR1, logs, stop, rm" {
	drun run -d --runtime vcrun --network none localhost/bb \
		sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	cid=$output
	wait_for 60 bash -c "docker logs $cid 2>&1 | grep -q started" || fail "no output: $(docker logs "$cid" 2>&1)"
	drun exec "$cid" sh -c 'echo exec-ok; exit 3'
	[ "$status" -eq 3 ] && [ "$output" = exec-ok ] || fail "exec: $status '$output' $stderr"
	# docker stats reads the cgroup of the container's pid, where vcrun put the VM:
	# QEMU's memory shows there (hundreds of MiB), not zero.
	drun stats --no-stream --format '{{.MemUsage}}' "$cid"
	[ "$status" -eq 0 ] || fail "stats: $stderr"
	[[ $output =~ ^([0-9]+)(\.[0-9]+)?MiB ]] && [ "${BASH_REMATCH[1]}" -ge 100 ] ||
		fail "docker stats does not show the VM's memory (QEMU's hundreds of MiB): '$output'"
	drun kill -s USR1 "$cid"
	[ "$status" -eq 0 ] || fail "kill -s USR1: $stderr"
	wait_for 30 bash -c "docker logs $cid 2>&1 | grep -q got-usr1" || fail "USR1 not delivered: $(docker logs "$cid" 2>&1)"
	drun stop -t 2 "$cid"
	[ "$status" -eq 0 ] || fail "stop: $stderr"
	[ "$(docker inspect -f '{{.State.Running}}' "$cid")" = false ]
	drun rm "$cid"
	[ "$status" -eq 0 ] || fail "rm: $stderr"
	wait_for 10 test -z "$(vm_procs_under "$DK")" || fail "left after docker rm: $(vm_procs_under "$DK")"
}

@test "docker: run -it through a terminal" {
	printf 'echo typed-$((6*7))\nexit 5\n' >"$T/typed"
	status=0
	(sleep 5; cat "$T/typed") | timeout 120 script -qec \
		"docker run -it --rm --runtime vcrun --network none localhost/bb sh" "$T/tty.log" \
		>/dev/null 2>&1 || status=$?
	[ "$status" -eq 5 ] || fail "exit status $status, want 5: $(cat -A "$T/tty.log" | head -20)"
	grep -aq 'typed-42' "$T/tty.log" || fail "no terminal output: $(cat -A "$T/tty.log" | head -20)"
}

@test "docker: --device with a host loop device: the container reads the host's data under the renamed node; nothing holds it after the run" {
	dev=$(new_loop)
	printf 'docker-data-77' | dd of="$dev" conv=notrunc status=none
	drun run --rm --runtime vcrun --network none --device "$dev:/dev/xvda" localhost/bb \
		sh -c 'ls -l /dev/xvda; head -c 14 /dev/xvda'
	[ "$status" -eq 0 ] || fail "docker run: $stderr"
	[[ $(head -1 <<<"$output") == brw*/dev/xvda ]] || fail "node: $output"
	[ "$(tail -1 <<<"$output")" = docker-data-77 ] || fail "the container read: $output"
	wait_for 10 not_held "$dev" || fail "$dev still open after the run: $(holders_of "$dev")"
}
