# Shared by the bats files that smoke-run libFuzzer targets (50-cdi, 51-fuzz).
# shellcheck disable=SC2154

# fuzz FUZZER SECONDS MAX_LEN SEEDS: libFuzzer for SECONDS on a copy of the seed
# directory (it adds what it finds to its first corpus directory); passes when it
# ran to the end and left no crash artifact.
fuzz() {
	local bin=$1 seconds=$2 max_len=$3 seeds=$4
	[ -x "$bin" ] || {
		echo "$bin is not built: install clang and libclang-rt-14-dev (scripts/install-deps.sh), then make"
		return 1
	}
	mkdir -p "$BATS_TEST_TMPDIR/corpus" "$BATS_TEST_TMPDIR/artifacts"
	cp -r "$seeds"/. "$BATS_TEST_TMPDIR/corpus/"
	run "$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$BATS_TEST_TMPDIR/artifacts/" "$BATS_TEST_TMPDIR/corpus"
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	[[ "$output" == *"Done "*" runs in "* ]]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/artifacts")" ]
}
