#!/usr/bin/env bats
# ps, pause/resume, update and events on a running container. One VM for the first
# test, two for the second.

# bg_events NAME ID [OPTIONS...]: `vcrun events` in the background, stdout and stderr
# in $T/NAME.out and $T/NAME.err; its pid in EV_PID.
bg_events() {
	local name=$1 id=$2
	shift 2
	(
		close_test_fds
		exec timeout 300 "$RUNTIME" --root "$ROOT" events "$@" "$id"
	) </dev/null >"$T/$name.out" 2>"$T/$name.err" &
	EV_PID=$!
	echo "$EV_PID" >>"$T/bg.pids"
}

# events_end PID: the events call ended within 10 s; sets EV_STATUS.
events_end() {
	wait_for 10 eval '! pid_alive '"$1" || fail "events still running 10 s after the end"
	EV_STATUS=0
	wait "$1" || EV_STATUS=$?
}

count_lines() {
	grep -c "$2" "$1" || true
}

load helpers

@test "control: ps, pause/resume, update and events --stats on a running container" {
	make_bundle "$T/b" sleep 600
	id=$(new_id ctl)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	vcrun start "$id"

	vc_capture ps --format json "$id"
	[ "$status" -eq 0 ] || fail "ps: $stderr"
	[ "$(jq -r 'length' <<<"$output")" -ge 1 ] || fail "ps json: '$output'"
	vc_capture ps "$id"
	[ "$(head -n1 "$T/out")" = 'UID        PID  PPID  C STIME TTY          TIME CMD' ] ||
		fail "ps table: '$output'"
	vc_capture ps --format yaml "$id"
	[ "$status" -ne 0 ] || fail "ps accepted a bad format"

	# A counter that stops moving while paused.
	vc_capture exec --detach "$id" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/dev/shm/n; sleep 0.1; done'
	[ "$status" -eq 0 ] || fail "exec: $stderr"
	sleep 1
	vcrun pause "$id"
	[ "$(state_status "$id")" = paused ] || fail "state after pause: $(state_status "$id")"
	vc_capture exec "$id" true
	[ "$status" -ne 0 ] && [[ $stderr == *paused* ]] || fail "exec while paused: $status $stderr"
	vc_capture pause "$id"
	[ "$status" -ne 0 ] || fail "pausing a paused container succeeded"
	vcrun resume "$id"
	[ "$(state_status "$id")" = running ] || fail "state after resume: $(state_status "$id")"
	vc_capture exec "$id" cat /dev/shm/n
	a=$output
	sleep 1
	vc_capture exec "$id" cat /dev/shm/n
	[ "$output" -gt "$a" ] || fail "counter did not move after resume ($a -> $output)"
	vc_capture resume "$id"
	[ "$status" -ne 0 ] || fail "resuming a running container succeeded"

	# update: flags and --resources, applied to the container's cgroup in the guest
	vcrun update --memory 268435456 --pids-limit 50 "$id"
	vc_capture exec "$id" cat "/sys/fs/cgroup/vcrun/$id/memory.max" "/sys/fs/cgroup/vcrun/$id/pids.max"
	[ "$output" = "$(printf '268435456\n50')" ] || fail "limits after update: '$output' $stderr"
	echo '{"pids": {"limit": 77}}' >"$T/res.json"
	vcrun update --resources "$T/res.json" "$id"
	vc_capture exec "$id" cat "/sys/fs/cgroup/vcrun/$id/pids.max"
	[ "$output" = 77 ] || fail "pids.max after --resources: '$output'"
	echo '{"pids": {"limit": "many"}}' >"$T/bad.json"
	vc_capture update --resources "$T/bad.json" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *pids.limit* ]] || fail "bad resources: $status $stderr"

	# events --stats: one runc-style stats line from the guest's cgroup
	vc_capture events --stats "$id"
	[ "$status" -eq 0 ] || fail "events --stats: $stderr"
	[ "$(jq -r .type <<<"$output")" = stats ] && [ "$(jq -r .id <<<"$output")" = "$id" ] ||
		fail "events line: $output"
	[ "$(jq -r .data.pids.limit <<<"$output")" = 77 ] || fail "pids limit in stats: $output"
	[ "$(jq -r '.data.memory.usage.usage > 0' <<<"$output")" = true ] || fail "memory usage: $output"
	vc_capture events --interval 0s "$id"
	[ "$status" -ne 0 ] || fail "events accepted a zero interval"

	# events: one {"type":"oom"} per OOM kill in the guest's cgroup, with the stats
	bg_events ev "$id" --interval 1s
	vcrun update --memory 33554432 "$id"
	for i in 1 2; do
		vc_capture exec "$id" dd if=/dev/zero of=/dev/null bs=64M count=1
		[ "$status" -eq 137 ] || fail "dd in 32 MiB was not OOM-killed: $status $stderr"
	done
	wait_for 30 eval '[ "$(count_lines "$T/ev.out" oom)" -ge 2 ]' ||
		fail "no oom events: $(cat "$T/ev.out" "$T/ev.err")"
	[ "$(grep -m1 oom "$T/ev.out")" = "{\"type\":\"oom\",\"id\":\"$id\"}" ] ||
		fail "oom event: $(grep -m1 oom "$T/ev.out")"
	[ "$(count_lines "$T/ev.out" '"type":"stats"')" -ge 1 ] || fail "no stats: $(cat "$T/ev.out")"

	# The stream ends with the container (status 0, as runc), with no more oom events
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	events_end "$EV_PID"
	[ "$EV_STATUS" -eq 0 ] || fail "events exited $EV_STATUS: $(cat "$T/ev.err")"
	[ "$(count_lines "$T/ev.out" '"oom"')" -eq 2 ] || fail "oom events: $(cat "$T/ev.out")"
	[ ! -s "$T/ev.err" ] || fail "events stderr: $(cat "$T/ev.err")"
	# and a stopped container has none, as runc says
	vc_capture events "$id"
	[ "$status" -eq 1 ] && [[ $stderr == *"container with id $id is not running"* ]] ||
		fail "events of stopped: $status $stderr"

	vc_capture pause "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *"not running"* ]] || fail "pause of stopped: $stderr"
}

@test "control: events ends when the container is deleted, and when its VM is gone" {
	make_bundle "$T/b" sleep 600
	for name in del gone; do
		id=$(new_id "$name")
		vc_capture create --bundle "$T/b" "$id"
		[ "$status" -eq 0 ] || fail "create: $stderr"
		vcrun start "$id"
		bg_events "$name" "$id" --interval 1s
		wait_for 30 grep -q stats "$T/$name.out" || fail "no stats: $(cat "$T/$name.err")"
		if [ "$name" = del ]; then
			vcrun delete --force "$id"
		else
			mapfile -t qemus < <(qemu_pids)
			[ ${#qemus[@]} -eq 1 ] || fail "expected 1 qemu process: ${qemus[*]}"
			kill -KILL "${qemus[0]}"
		fi
		events_end "$EV_PID"
		[ "$EV_STATUS" -eq 0 ] || fail "events ($name) exited $EV_STATUS: $(cat "$T/$name.err")"
	done
	vcrun delete --force "$id"
}
