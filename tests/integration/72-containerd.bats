#!/usr/bin/env bats
# containerd as a real client: `ctr run --runc-binary vcrun` through the runc v2 shim.

load helpers
load engines

setup() {
	common_setup
	start_containerd
}

teardown() {
	stop_containerd
	common_teardown
}

@test "containerd: ctr run through the runc v2 shim; exit code; exec; kill" {
	crun_ctr run --rm --runc-binary "$RUNTIME" --rootfs "$T/ct-rootfs" vc1 sh -c 'uname -r; exit 7'
	[ "$status" -eq 7 ] || fail "ctr run exited $status, want 7: $stderr"
	[[ $output == 6.1.* ]] || fail "guest kernel: '$output'"

	crun_ctr run -d --runc-binary "$RUNTIME" --rootfs "$T/ct-rootfs" vc2 sleep 600
	[ "$status" -eq 0 ] || fail "ctr run -d: $stderr"
	crun_ctr task exec --exec-id e1 vc2 sh -c 'echo exec-ok; exit 3'
	[ "$status" -eq 3 ] && [ "$output" = exec-ok ] || fail "task exec: $status '$output' $stderr"
	crun_ctr task kill -s KILL vc2
	[ "$status" -eq 0 ] || fail "task kill: $stderr"
	wait_for 30 bash -c "! ${CTR[*]} task ls 2>/dev/null | grep -q 'vc2.*RUNNING'" || fail "vc2 still running"
	crun_ctr task delete vc2
	[ "$status" -eq 0 ] || fail "task delete: $stderr"
	crun_ctr container delete vc2
	[ "$status" -eq 0 ] || fail "container delete: $stderr"
	wait_for 10 test -z "$(vm_procs_under /run/containerd/runc/default)" ||
		fail "left: $(vm_procs_under /run/containerd/runc/default)"
}
