#!/usr/bin/env bats
# The short soak of issue 12 (the long one is bench/soak.sh by hand, its figures in
# bench/README.md): cycles at once, runs one after the other and pod members through
# one long-lived VM, with every leak check of helpers.bash after each phase, and the
# pod monitor's fd count and RSS flat over the member cycles.

load helpers

@test "soak: 4 parallel cycles, 10 runs, 20 pod members: no failure, no leak; the monitor's fds flat, its RSS within 2 MiB" {
	is_vm_runtime || fail "the soak counts a VM's monitor: run it against vcrun"
	status=0
	(
		close_test_fds
		exec "$REPO/bench/soak.sh" -p 4 -s 10 -m 20 -k 5
	) </dev/null >"$T/soak.out" 2>"$T/soak.err" || status=$?
	[ "$status" -eq 0 ] || fail "soak.sh exited $status: $(cat "$T/soak.out" "$T/soak.err")"
	grep -qx "failures: 0, leaks: 0" "$T/soak.out" || fail "$(cat "$T/soak.out")"
	# monitor fds: first A, last B, max C, ...
	read -r first last < <(sed -n 's/^monitor fds: first \([0-9]*\), last \([0-9]*\),.*/\1 \2/p' "$T/soak.out")
	[ -n "$first" ] && [ "$((last - first))" -le 1 ] && [ "$((first - last))" -le 1 ] ||
		fail "the monitor's fds went from ${first:-?} to ${last:-?}: $(cat "$T/soak.out")"
	read -r first last < <(sed -n 's/^monitor VmRSS KiB: first \([0-9]*\), last \([0-9]*\),.*/\1 \2/p' "$T/soak.out")
	[ -n "$first" ] && [ "$((last - first))" -lt 2048 ] ||
		fail "the monitor's RSS went from ${first:-?} KiB to ${last:-?} KiB: $(cat "$T/soak.out")"
}
