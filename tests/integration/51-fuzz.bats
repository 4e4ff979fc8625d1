#!/usr/bin/env bats
# A few seconds of libFuzzer on each parser of outside input that 50-cdi.bats does not
# run (`make fuzz` builds them into build/fuzz/; seeds in tests/fuzz/corpus/NAME/):
# the agent protocol's frames and bodies, config.json, plan.json, state.json and
# vcrun's own config file. The long runs are by hand: tests/fuzz/README.md.
# Nothing here boots a VM.

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CORPUS=$REPO/tests/fuzz/corpus
FUZZ_SECONDS=${FUZZ_SECONDS:-4}

load fuzz

@test "fuzz-proto: libFuzzer on the frame reader and the request/response bodies finds nothing" {
	fuzz "$REPO/build/fuzz/fuzz-proto" "$FUZZ_SECONDS" 65536 "$CORPUS/proto"
}

@test "fuzz-config: libFuzzer on config.json's parser and checks finds nothing" {
	fuzz "$REPO/build/fuzz/fuzz-config" "$FUZZ_SECONDS" 16384 "$CORPUS/config"
}

@test "fuzz-plan: libFuzzer on the plan.json reader and the QEMU argv it makes finds nothing" {
	fuzz "$REPO/build/fuzz/fuzz-plan" "$FUZZ_SECONDS" 16384 "$CORPUS/plan"
}

@test "fuzz-state: libFuzzer on the state.json reader finds nothing" {
	fuzz "$REPO/build/fuzz/fuzz-state" "$FUZZ_SECONDS" 8192 "$CORPUS/state"
}

@test "fuzz-vcrun-config: libFuzzer on vcrun's own config file finds nothing" {
	fuzz "$REPO/build/fuzz/fuzz-vcrun-config" "$FUZZ_SECONDS" 4096 "$CORPUS/vcrun-config"
}
