#!/usr/bin/env bash
# tests/run-all.sh [--no-unit] [--no-integration] [BATS-FILE...]
#
# Runs every unit-test program (build/utests/, then the ASan/UBSan build in
# build-asan/utests/) and every tests/integration/*.bats in file order, all as TAP;
# counts ok / not ok / skip, repeats each failure at the end and ends with one line
# "N passed, N failed, N skipped". Exits 1 if anything failed.
#
# A skip counts as skipped only when its reason starts with "hardware:" (no working
# KVM, VFIO, vhost-vsock); any other skip is a failure. A missing unit-test program,
# a crash, a short TAP plan or a timeout is a failure too. `make check` runs this with
# no arguments; the options are for working on one part.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

run_unit=true
run_integration=true
bats_files=()
for arg in "$@"; do
	case $arg in
	--no-unit) run_unit=false ;;
	--no-integration) run_integration=false ;;
	-h | --help)
		sed -n '2,12s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*)
		echo "run-all: unknown option $arg" >&2
		exit 2
		;;
	*) bats_files+=("$arg") ;;
	esac
done

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
BATS_TIMEOUT=${BATS_TIMEOUT:-600}
export VCRUN=${VCRUN:-$repo/bin/vcrun}

passed=0
failed=0
skipped=0
failures=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/vcrun-check.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

fail_with() {
	failed=$((failed + 1))
	failures+=("$1")
}

# parse_tap SUITE LOG RC: count LOG's TAP lines; RC is the producer's exit status.
parse_tap() {
	local suite=$1 log=$2 rc=$3 line plan="" seen=0 not_ok=0 rest reason
	while IFS= read -r line; do
		if [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
		elif [[ $line =~ ^not\ ok\ [0-9]+\ ?(.*)$ ]]; then
			seen=$((seen + 1))
			not_ok=$((not_ok + 1))
			fail_with "$suite: ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^ok\ [0-9]+\ ?(.*)$ ]]; then
			seen=$((seen + 1))
			rest=${BASH_REMATCH[1]}
			shopt -s nocasematch
			if [[ $rest =~ (^|[[:space:]])#[[:space:]]*skip[[:space:]]*(.*)$ ]]; then
				reason=${BASH_REMATCH[2]}
				shopt -u nocasematch
				if [[ $reason == hardware:* ]]; then
					skipped=$((skipped + 1))
				else
					fail_with "$suite: $rest (skipped without a 'hardware:' reason: counted as a failure)"
				fi
			else
				shopt -u nocasematch
				passed=$((passed + 1))
			fi
		fi
	done <"$log"

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail_with "$suite: timed out"
	fi
	if [ -z "$plan" ]; then
		fail_with "$suite: no TAP plan (exit status $rc)"
	elif [ "$seen" -lt "$plan" ]; then
		fail_with "$suite: $((plan - seen)) of $plan tests never reported (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$not_ok" -eq 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
		fail_with "$suite: exited $rc although every test passed"
	fi
}

# run_suite SUITE TIMEOUT CMD...: run, show the output as it comes, then count it.
run_suite() {
	local suite=$1 limit=$2 log rc=0 start=$SECONDS
	shift 2
	log=$logdir/$(echo "$suite" | tr '/ ' '__').tap
	echo "=== $suite"
	set +e
	timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	# what each suite costs, for keeping the whole run inside CI's budget
	echo "# $suite: $((SECONDS - start)) s"
	parse_tap "$suite" "$log" "$rc"
}

# LeakSanitizer needs ptrace-free /proc access; some sandboxes break it. Probe once
# with a name that selects no test, so only the runtime's own startup is checked.
asan_options() {
	local probe=$1 out
	out=$(ASAN_OPTIONS=detect_leaks=1 "$probe" __run_all_probe__ 2>&1) && {
		echo detect_leaks=1
		return
	}
	if grep -q LeakSanitizer <<<"$out"; then
		echo "run-all: LeakSanitizer does not work here; running without leak checks" >&2
		echo detect_leaks=0
	else
		echo detect_leaks=1
	fi
}

run_unit_dir() {
	local dir=$1 label=$2 src name bin progs=()
	for src in tests/unit/test-*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		[ -x "$dir/$name" ] || fail_with "$label/$name: not built ($dir/$name is missing)"
	done
	for bin in "$dir"/*; do
		[ -f "$bin" ] && [ -x "$bin" ] && progs+=("$bin")
	done
	[ ${#progs[@]} -gt 0 ] || return 0
	if [ "$label" = unit-asan ]; then
		ASAN_OPTIONS=$(asan_options "${progs[0]}")
		export ASAN_OPTIONS
		export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	fi
	for bin in "${progs[@]}"; do
		run_suite "$label/$(basename "$bin")" "$UNIT_TIMEOUT" "$bin"
	done
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

# The lean kernel for 48-lean-kernel.bats, in build/lean (not share/vcrun: the other
# suites keep Debian's kernel). Cached by its config's hash, so only the first run
# on a machine compiles (guest/README.md has the time it takes).
build_lean_kernel() {
	local start=$SECONDS
	echo "=== lean kernel (make guest-kernel LEAN_OUT=build/lean)"
	make -s guest-kernel LEAN_OUT=build/lean || return 1
	echo "lean kernel ready in $((SECONDS - start)) s"
}

if $run_unit; then
	run_unit_dir build/utests unit
	run_unit_dir build-asan/utests unit-asan
fi

if $run_integration; then
	if [ ${#bats_files[@]} -eq 0 ]; then
		mapfile -t bats_files < <(LC_ALL=C ls tests/integration/*.bats 2>/dev/null)
	fi
	if ! command -v bats >/dev/null; then
		fail_with "integration: bats is not installed (run scripts/install-deps.sh)"
	elif [ ${#bats_files[@]} -eq 0 ]; then
		fail_with "integration: no tests/integration/*.bats found"
	else
		for f in "${bats_files[@]}"; do
			if [ "$(basename "$f")" = 48-lean-kernel.bats ] && ! build_lean_kernel; then
				fail_with "48-lean-kernel.bats: make guest-kernel failed (its output is above)"
				continue
			fi
			run_suite "$(basename "$f")" "$BATS_TIMEOUT" bats --tap "$f"
		done
	fi
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "Failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
