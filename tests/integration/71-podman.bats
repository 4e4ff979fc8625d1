#!/usr/bin/env bats
# podman as a real client: `podman --runtime PATH` with conmon, private storage.

load helpers
load engines

setup() {
	common_setup
	setup_podman
}

teardown() {
	teardown_podman
	common_teardown
}

U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none)

@test "podman: run shows the guest kernel; exit codes" {
	prun run --rm "${U[@]}" localhost/bb uname -r
	[ "$status" -eq 0 ] || fail "podman run: $stderr"
	[ "$output" != "$(uname -r)" ] && [[ $output == 6.1.* ]] || fail "guest kernel: '$output'"
	prun run --rm "${U[@]}" localhost/bb sh -c 'echo out; echo err >&2; exit 42'
	[ "$status" -eq 42 ] || fail "exit status $status, want 42: $stderr"
	[ "$output" = out ] && [[ $stderr == *err* ]] || fail "stdio: '$output' / '$stderr'"
}

@test "podman: run -d, exec, pause/unpause, stop, rm" {
	prun run -d "${U[@]}" localhost/bb sh -c 'while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	cid=$output
	prun exec "$cid" sh -c 'echo exec-ok; exit 3'
	[ "$status" -eq 3 ] && [ "$output" = exec-ok ] || fail "exec: $status '$output' $stderr"
	prun pause "$cid"
	[ "$status" -eq 0 ] || fail "pause: $stderr"
	[ "$("${PODMAN[@]}" inspect -f '{{.State.Status}}' "$cid")" = paused ]
	prun unpause "$cid"
	[ "$status" -eq 0 ] || fail "unpause: $stderr"
	[ "$("${PODMAN[@]}" inspect -f '{{.State.Status}}' "$cid")" = running ]
	prun stop -t 2 "$cid"
	[ "$status" -eq 0 ] || fail "stop: $stderr"
	prun rm "$cid"
	[ "$status" -eq 0 ] || fail "rm: $stderr"
	wait_for 10 test -z "$(vm_procs_under "$T")" || fail "left after podman rm: $(vm_procs_under "$T")"
}
