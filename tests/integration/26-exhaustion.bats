#!/usr/bin/env bats
# Exhaustion (issue 12 item 5; the full state root is 27-state-root.bats): out of
# fds in the caller and in the monitor, a container OOM-killed in its VM, and the
# host's OOM killer taking QEMU itself. tests/README.md has the table.

load helpers

# vc_nofile N ARGS...: vc_capture with `ulimit -n N` (soft and hard) for vcrun and
# everything it starts.
vc_nofile() {
	local n=$1
	shift
	status=0
	(
		close_test_fds
		ulimit -n "$n"
		exec "$RUNTIME" --root "$ROOT" "$@"
	) </dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

monitor_of() {
	jq -r .monitor_pid "$ROOT/$1/state.json"
}

@test "exhaustion: create and run under ulimit -n 20 fail naming EMFILE and the limit, nothing left; at 64 a run works" {
	is_vm_runtime || fail "the floor is vcrun's (a VM's helpers): run it against vcrun"
	make_bundle "$T/b" sh -c 'echo ran'
	vc_nofile 20 create --bundle "$T/b" "$(new_id c)"
	assert_error "RLIMIT_NOFILE (ulimit -n) is 20"
	[[ $stderr == *"EMFILE (Too many open files)"* ]] || fail "EMFILE not named: $stderr"
	vc_nofile 63 run --bundle "$T/b" "$(new_id r)"
	assert_error "RLIMIT_NOFILE (ulimit -n) is 63"
	check_no_leaks || fail "left behind: ${VC_LEFT[*]}"
	vc_nofile 64 run --bundle "$T/b" "$(new_id ok)"
	[ "$status" -eq 0 ] && [ "$output" = ran ] || fail "run under ulimit -n 64: $status $output $stderr"
}

@test "exhaustion: a monitor at its fd limit refuses the extra execs with EMFILE, serves the rest, does not spin, and recovers" {
	is_vm_runtime || fail "the monitor is vcrun's: run it against vcrun"
	make_bundle "$T/b" sleep 600
	id=$(new_id c)
	vcrun --log "$T/log" run -d --bundle "$T/b" "$id" </dev/null >/dev/null
	mon=$(monitor_of "$id")
	fds=$(find "/proc/$mon/fd" -mindepth 1 -maxdepth 1 | wc -l)
	# room for a few callers more than it holds now
	prlimit --pid "$mon" --nofile=$((fds + 6)):$((fds + 6))
	for i in $(seq 30); do
		(
			close_test_fds
			exec "$RUNTIME" --root "$ROOT" exec "$id" sleep 5
		) </dev/null >"$T/x$i.out" 2>"$T/x$i.err" &
		pids[i]=$!
	done
	sleep 2
	# while the flood holds it: the monitor waits in poll, it does not spin on accept
	t0=$(awk '{ print $14 + $15 }' "/proc/$mon/stat")
	sleep 1
	t1=$(awk '{ print $14 + $15 }' "/proc/$mon/stat")
	[ $((t1 - t0)) -lt 20 ] || fail "the monitor used $((t1 - t0)) ticks of CPU in 1 s"
	local ok=0 refused=0 i st
	for i in "${!pids[@]}"; do
		st=0
		wait "${pids[i]}" || st=$?
		if [ "$st" -eq 0 ]; then
			ok=$((ok + 1))
		elif [ "$st" -eq 255 ] && grep -q "out of file descriptors (EMFILE)" "$T/x$i.err"; then
			refused=$((refused + 1))
		else
			fail "exec $i exited $st: $(cat "$T/x$i.err")"
		fi
	done
	[ "$ok" -ge 1 ] && [ "$refused" -ge 1 ] || fail "$ok execs ran, $refused were refused"
	[ "$(cat "$T"/x*.err | grep -vc "out of file descriptors (EMFILE)")" -eq 0 ] ||
		fail "other errors: $(cat "$T"/x*.err | sort -u)"
	grep -q "out of file descriptors (EMFILE): a caller refused" "$T/log" || fail "log: $(cat "$T/log")"
	# the same limit, the flood over: it serves again, and as many at once as before
	vc_capture exec "$id" echo ok
	[ "$status" -eq 0 ] && [ "$output" = ok ] || fail "exec after the flood: $status $stderr"
	[ "$(find "/proc/$mon/fd" -mindepth 1 -maxdepth 1 | wc -l)" -eq "$fds" ] ||
		fail "the monitor holds $(find "/proc/$mon/fd" -mindepth 1 -maxdepth 1 | wc -l) fds, $fds before"
	vcrun delete --force "$id"
}

@test "exhaustion: a container OOM-killed in its VM: run exits 137 (as runc), events reports the oom" {
	make_bundle "$T/b" dd if=/dev/zero of=/dev/null bs=64M count=1
	spec_edit "$T/b" '.linux.resources.memory = {"limit": 33554432}'
	vc_capture run --bundle "$T/b" "$(new_id r)"
	[ "$status" -eq 137 ] || fail "run exited $status, not 137: $stderr"
	# the init itself OOM-killed: the events stream says so before it ends
	id=$(new_id e)
	vcrun create --bundle "$T/b" "$id" </dev/null >/dev/null
	(
		close_test_fds
		exec timeout 120 "$RUNTIME" --root "$ROOT" events "$id"
	) </dev/null >"$T/ev.out" 2>"$T/ev.err" &
	ev=$!
	echo "$ev" >>"$T/bg.pids"
	sleep 1
	vcrun start "$id"
	wait_status "$id" stopped
	bg_wait "$ev"
	[ "$BG_STATUS" -eq 0 ] || fail "events exited $BG_STATUS: $(cat "$T/ev.err")"
	grep -qxF "{\"type\":\"oom\",\"id\":\"$id\"}" "$T/ev.out" || fail "no oom event: $(cat "$T/ev.out")"
	vcrun delete "$id"
}

@test "exhaustion: the host's OOM killer takes QEMU: the container is stopped, the log says why, delete cleans up" {
	is_vm_runtime || fail "QEMU is vcrun's: run it against vcrun"
	make_bundle "$T/b" sleep 600
	id=$(new_id c)
	vcrun --log "$T/log" run -d --bundle "$T/b" "$id" </dev/null >/dev/null
	# the host under pressure: the VM's host cgroup gets 16 MiB more than QEMU uses
	# now, then the guest touches 200 MiB
	mem=$(jq -r '.dirs[] | select(.keys | index("memory")) | .path' "$ROOT/$id/cgroup.json")
	if [ -f "$mem/memory.limit_in_bytes" ]; then
		echo $(($(cat "$mem/memory.usage_in_bytes") + (16 << 20))) >"$mem/memory.limit_in_bytes"
	else
		echo $(($(cat "$mem/memory.current") + (16 << 20))) >"$mem/memory.max"
	fi
	vc_capture exec "$id" dd if=/dev/zero of=/dev/null bs=200M count=1
	[ "$status" -eq 137 ] || fail "exec exited $status: $stderr"
	wait_status "$id" stopped
	grep -q "sandbox $id: QEMU was killed by signal 9 by the host's OOM killer" "$T/log" ||
		fail "the log does not say why: $(cat "$T/log")"
	vcrun delete "$id"
	[ ! -d "$mem" ] || fail "the host cgroup $mem is still there"
}
