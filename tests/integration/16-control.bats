#!/usr/bin/env bats
# ps, pause/resume and update on a running container. One VM for all checks.

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

	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vc_capture pause "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *"not running"* ]] || fail "pause of stopped: $stderr"
}
