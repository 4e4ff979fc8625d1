#!/usr/bin/env bats
# vcrun cdi list|validate|apply on the spec directories of tests/fixtures/cdi, and
# 20 s of libFuzzer on the spec parser (build/fuzz/fuzz-cdi, which `make` builds
# when clang is installed), then a few seconds on the monitor protocol's decoders
# (build/fuzz/fuzz-monitor, seeds in tests/fuzz/corpus/monitor) and on the guest
# agent's answers as the host decodes them (build/fuzz/fuzz-agent-msg, seeds in
# tests/fuzz/corpus/agent-msg), on the host's requests as the agent decodes them
# (build/fuzz/fuzz-agent-req, seeds in tests/fuzz/corpus/agent-req), and on CloneSetup's
# params (build/fuzz/fuzz-clone-msg, seeds in tests/fuzz/corpus/clone-msg). Nothing here
# boots a VM.

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
VCRUN=${VCRUN:-$REPO/bin/vcrun}
FIX=$REPO/tests/fixtures/cdi
ETC=$FIX/registry/etc
RUN=$FIX/registry/run
FUZZ_CDI=${FUZZ_CDI:-$REPO/build/fuzz/fuzz-cdi}
FUZZ_MONITOR=${FUZZ_MONITOR:-$REPO/build/fuzz/fuzz-monitor}
FUZZ_AGENT_MSG=${FUZZ_AGENT_MSG:-$REPO/build/fuzz/fuzz-agent-msg}
FUZZ_AGENT_REQ=${FUZZ_AGENT_REQ:-$REPO/build/fuzz/fuzz-agent-req}
FUZZ_CLONE_MSG=${FUZZ_CLONE_MSG:-$REPO/build/fuzz/fuzz-clone-msg}

setup() {
	unset VCRUN_CDI_SPEC_DIRS
	[ -x "$VCRUN" ] || {
		echo "runtime $VCRUN is not built (make)"
		return 1
	}
}

vcrun() {
	"$VCRUN" --root "$BATS_TEST_TMPDIR/root" "$@"
}

load fuzz

# The stderr lines of the last `run --separate-stderr`.
stderr_count() {
	if [ -z "$stderr" ]; then
		echo 0
	else
		printf '%s\n' "$stderr" | wc -l
	fi
}

@test "cdi list: the resolvable names, sorted, and every spec problem on stderr" {
	run --separate-stderr vcrun cdi list --spec-dir "$ETC" --spec-dir "$RUN"
	[ "$status" -eq 0 ]
	[ "$output" = "example.com/dup=w
example.com/dup=z
vendor.com/gpu=gpu0
vendor.com/gpu=gpu1
vendor.com/gpu=gpu2
vendor.com/nic=eth0" ]
	echo "$stderr"
	[ "$(stderr_count)" -eq 6 ]
	[[ "$stderr" == *"$ETC/broken.yaml: line 4, column 1: "* ]]
	[[ "$stderr" == *"$ETC/invalid.json: devices[0]: unknown field \"extra\""* ]]
	[[ "$stderr" == *"$ETC/conflict-a.yaml: conflicting device \"example.com/dup=x\": also defined in $ETC/conflict-b.json"* ]]
	[[ "$stderr" == *"$ETC/conflict-b.json: conflicting device \"example.com/dup=x\": also defined in $ETC/conflict-a.yaml"* ]]
}

@test "cdi list: a later --spec-dir wins; missing directories are skipped" {
	# etc/ last: its conflict on dup=z is now on top, so z resolves nowhere.
	run --separate-stderr vcrun cdi list --spec-dir "$RUN" --spec-dir "$BATS_TEST_TMPDIR/none" --spec-dir "$ETC"
	[ "$status" -eq 0 ]
	[[ "$output" != *"example.com/dup=z"* ]]
	[[ "$output" == *"vendor.com/gpu=gpu2"* ]]
	[[ "$stderr" != *none* ]]

	run --separate-stderr vcrun cdi list --spec-dir "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "cdi list: VCRUN_CDI_SPEC_DIRS replaces the default directories" {
	VCRUN_CDI_SPEC_DIRS="$ETC:$RUN" run --separate-stderr vcrun cdi list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 6 ]
	[ "${lines[4]}" = "vendor.com/gpu=gpu2" ]
	# --spec-dir wins over the environment.
	VCRUN_CDI_SPEC_DIRS="$ETC:$RUN" run --separate-stderr vcrun cdi list --spec-dir "$FIX/valid"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 9 ]
	[ "${lines[0]}" = "a/b=x" ]
}

@test "cdi validate: valid files pass silently" {
	run --separate-stderr vcrun cdi validate "$FIX"/valid/*
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "cdi validate: one line per problem, naming the file and the field; exit 1" {
	run --separate-stderr vcrun cdi validate "$FIX/valid/gpu.yaml" "$FIX/invalid/many-problems.yaml"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	echo "$stderr"
	[ "$(stderr_count)" -eq 5 ]
	[[ "$stderr" == *"many-problems.yaml: devices[0].name: invalid device name \"-bad\""* ]]
	[[ "$stderr" == *"many-problems.yaml: devices[0].containerEdits.env[0]: invalid environment variable \"NOEQUALS\""* ]]
	[[ "$stderr" == *"many-problems.yaml: devices[1].containerEdits: no edits"* ]]
	[[ "$stderr" == *"many-problems.yaml: devices[2].containerEdits.hooks[0].hookName: invalid hook name \"preStart\""* ]]
	[[ "$stderr" == *"many-problems.yaml: devices[2].containerEdits.hooks[0].path: \"relative/hook\" is not an absolute path"* ]]

	# Every invalid fixture fails, each with at least one line naming it.
	for f in "$FIX"/invalid/*; do
		run --separate-stderr vcrun cdi validate "$f"
		[ "$status" -eq 1 ] || { echo "$f passed"; return 1; }
		[[ "$stderr" == "$f: "* ]] || { echo "$f: $stderr"; return 1; }
	done

	run --separate-stderr vcrun cdi validate "$BATS_TEST_TMPDIR/nope.yaml"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$BATS_TEST_TMPDIR/nope.yaml: cannot read: No such file or directory" ]
}

@test "cdi validate: a file is required" {
	run --separate-stderr vcrun cdi validate
	[ "$status" -eq 1 ]
	[[ "$output" == "Incorrect Usage."* ]]
	[[ "$stderr" == *'cdi validate\" takes at least one argument'* ]]
}

@test "cdi apply: the edited config, tab-indented; untouched fields pass through" {
	cat >"$BATS_TEST_TMPDIR/config.json" <<-'EOF'
		{"process": {"env": ["PATH=/bin", "GPU1=old"], "unknownProcessField": 1},
		 "annotations": {"cdi.k8s.io/b": "vendor.com/gpu=gpu0", "other": "x"},
		 "futureField": {"nested": [1, 2.50, "x", null, true]}}
	EOF
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/config.json" \
		--spec-dir "$ETC" --spec-dir "$RUN" --device vendor.com/gpu=gpu1 --device vendor.com/gpu=gpu0
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[0]}" = "{" ]
	[ "${lines[1]}" = $'\t"process": {' ]
	# gpu0 (annotation) first: etc's spec-wide env, then gpu0's; then gpu1 from run/.
	[ "$(jq -c .process <<<"$output")" = '{"env":["PATH=/bin","GPU1=run","GPU_SPEC=run","GPU0=yes"],"unknownProcessField":1}' ]
	[ "$(jq -c .futureField <<<"$output")" = '{"nested":[1,2.5,"x",null,true]}' ]
	[[ "$output" == *$'\t\t\t2.50,\n'* ]] # numbers exactly as written
	[ "$(jq -c .annotations <<<"$output")" = '{"cdi.k8s.io/b":"vendor.com/gpu=gpu0","other":"x"}' ]
	[ "$(jq -c .linux <<<"$output")" = '{"devices":[{"path":"/dev/vendor-gpu0","type":"c","major":195,"minor":0}],"resources":{"devices":[{"allow":true,"type":"c","major":195,"minor":0,"access":"rwm"}]}}' ]
	[ "$(jq -c 'keys_unsorted' <<<"$output")" = '["process","annotations","futureField","linux"]' ]
}

@test "cdi apply: a partial config with only process.env" {
	echo '{"process":{"env":["A=1"]}}' >"$BATS_TEST_TMPDIR/partial.json"
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/partial.json" \
		--spec-dir "$FIX/valid" --device a/b=x --device a/b=x
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"process":{"env":["A=1","X=1"]}}' ]

	# Nothing requested: the config comes back as it was.
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/partial.json" --spec-dir "$FIX/valid"
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"process":{"env":["A=1"]}}' ]
}

@test "cdi apply: unresolvable names fail the request, all of them named, nothing printed" {
	echo '{"annotations":{"cdi.k8s.io/x":"vendor.com/gpu=gpu9"}}' >"$BATS_TEST_TMPDIR/c.json"
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/c.json" \
		--spec-dir "$ETC" --device vendor.com/gpu=gpu0 --device example.com/dup=x --device nope
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	# shellcheck disable=SC2016 # the backquotes are part of the message
	[[ "$stderr" == *'level=error msg="unresolvable CDI devices: vendor.com/gpu=gpu9, example.com/dup=x, nope (the CDI specs have 6 problems: see `vcrun cdi list`)"'* ]]

	echo '{"annotations":{"cdi.k8s.io/x":"gpu0"}}' >"$BATS_TEST_TMPDIR/c.json"
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/c.json" --spec-dir "$ETC"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'annotations.cdi.k8s.io/x: invalid CDI device name: unqualified device \"gpu0\"'* ]]
}

@test "cdi apply: --config - reads standard input" {
	run --separate-stderr vcrun cdi apply --config - --spec-dir "$FIX/valid" --device a/b=x <<<'{"x":1}'
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"x":1,"process":{"env":["X=1"]}}' ]
}

@test "cdi apply: --config is required; a bad config names the file" {
	run --separate-stderr vcrun cdi apply --spec-dir "$FIX/valid"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cdi apply: --config is required"* ]]

	echo '{"a":' >"$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/bad.json"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/bad.json: parse error at byte"* ]]

	echo '[1]' >"$BATS_TEST_TMPDIR/arr.json"
	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/arr.json"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/arr.json: expected a JSON object"* ]]

	run --separate-stderr vcrun cdi apply --config "$BATS_TEST_TMPDIR/missing.json"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"missing.json"* ]]
}

@test "cdi: help, a missing or unknown command, a wrong option" {
	run --separate-stderr vcrun cdi
	[ "$status" -eq 1 ]
	[[ "$output" == *"list "*"validate "*"apply "* ]]
	[[ "$stderr" == *"cdi: a command is required"* ]]

	run --separate-stderr vcrun cdi frob
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cdi: unknown command 'frob'"* ]]

	run --separate-stderr vcrun cdi list --frob
	[ "$status" -eq 1 ]
	[[ "$output" == "Incorrect Usage: flag provided but not defined: -frob"* ]]

	run --separate-stderr vcrun cdi apply --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--device value"* ]]

	run --separate-stderr vcrun help cdi
	[ "$status" -eq 0 ]
	[[ "$output" == *"vcrun cdi - list, validate and apply CDI device specs"* ]]
}

@test "fuzz-cdi: 20 s of libFuzzer on the spec parser finds nothing" {
	fuzz "$FUZZ_CDI" "${FUZZ_CDI_SECONDS:-20}" 8192 "$FIX"
}

@test "fuzz-monitor: 5 s of libFuzzer on the monitor protocol's decoders find nothing" {
	fuzz "$FUZZ_MONITOR" "${FUZZ_MONITOR_SECONDS:-5}" 4096 "$REPO/tests/fuzz/corpus/monitor"
}

@test "fuzz-agent-msg: 5 s of libFuzzer on the host's decoders of the agent's answers find nothing" {
	fuzz "$FUZZ_AGENT_MSG" "${FUZZ_AGENT_MSG_SECONDS:-5}" 4096 "$REPO/tests/fuzz/corpus/agent-msg"
}

@test "fuzz-agent-req: 5 s of libFuzzer on the agent's decoders of the host's requests find nothing" {
	fuzz "$FUZZ_AGENT_REQ" "${FUZZ_AGENT_REQ_SECONDS:-5}" 4096 "$REPO/tests/fuzz/corpus/agent-req"
}

@test "fuzz-clone-msg: 5 s of libFuzzer on the agent's decoder of CloneSetup find nothing" {
	fuzz "$FUZZ_CLONE_MSG" "${FUZZ_CLONE_MSG_SECONDS:-5}" 4096 "$REPO/tests/fuzz/corpus/clone-msg"
}
