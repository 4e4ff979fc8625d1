#!/usr/bin/env bash
# bench/soak.sh [-p N] [-s M] [-m K] [-k E]: hundreds of cycles, counting failures and leaks.
#
#   -p N   N create/start/kill/delete cycles at once (default 50)
#   -s M   M `vcrun run` of `true`, one after the other (default 300)
#   -m K   K pod members created, started, killed and deleted in a loop inside one
#          long-lived pod VM (default 200)
#   -k E   sample the pod monitor's fd count and VmRSS every E member cycles (default 10)
#
# After each phase every leak check of tests/integration/helpers.bash runs (processes,
# state dirs, `list`, mounts, sandbox shares, netns pins, cgroups). Prints the failures
# and leaks of each phase, then the monitor's fd count and VmRSS: first (after one
# warm-up member), last, max and the slope per 100 cycles. Exit status 1 when a cycle
# failed or anything leaked; never on speed or on the monitor's figures (29-soak.bats
# asserts those). See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
par=50 seq=300 members=200 every=10
while [ $# -gt 0 ]; do
	case $1 in
	-p | -s | -m | -k)
		if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
			echo "bench: $1 needs a number" >&2
			exit 2
		fi
		case $1 in
		-p) par=$2 ;;
		-s) seq=$2 ;;
		-m) members=$2 ;;
		-k) every=$2 ;;
		esac
		shift
		;;
	-h | --help)
		sed -n '2,15s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "bench: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done
[ "$every" -ge 1 ] || every=1

# The leak checks are helpers.bash's own: it wants $T (everything the run makes lives
# there), $ROOT and the bats directory it sits in.
BATS_TEST_DIRNAME=$repo/tests/integration
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
# shellcheck source=tests/integration/helpers.bash
. "$repo/tests/integration/helpers.bash"
[ "$(id -u)" -eq 0 ] || die "needs root (vcrun creates namespaces and VMs)"
command -v jq >/dev/null || die "jq is not installed"

# Under TCG on 2 cores a boot takes 1-2 s of CPU; parallel boots share the cores.
echo "bench: $par parallel cycles, $seq sequential runs, $members pod member cycles;" \
	"expect about $((par * 3 / 2 + seq * 2 + members + 10)) s on a 2-core TCG host" >&2

common_setup # $T (/tmp/vct.XXXXXX), $ROOT and the lists the leak checks read
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	cleanup_containers
	bench_reap "$T"
	cgroups_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_bundle "$T/sleep" sleep 600
make_bundle "$T/true" true
cri() {
	# shellcheck disable=SC2016 # jq's $t
	spec_edit "$1" '.annotations = {"io.kubernetes.cri.container-type": $t,
		"io.kubernetes.cri.sandbox-id": "pod"}' --arg t "$2"
}
cp -r "$T/sleep" "$T/pod" && cri "$T/pod" sandbox
cp -r "$T/sleep" "$T/member" && cri "$T/member" container

now() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# cycle ID BUNDLE: create, start, kill, wait for stopped, delete; the first step that
# fails goes to $T/fail.ID.
cycle() {
	local id=$1 bundle=$2 step
	for step in create start kill wait delete; do
		case $step in
		create) vcrun create --bundle "$bundle" "$id" ;;
		start) vcrun start "$id" ;;
		kill) vcrun kill "$id" KILL ;;
		wait) VC_TIMEOUT=120 wait_status "$id" stopped 2>&1 ;;
		delete) vcrun delete "$id" ;;
		esac </dev/null >/dev/null 2>"$T/err.$id" || {
			echo "$id: $step: $(head -c 300 "$T/err.$id")" >"$T/fail.$id"
			return 1
		}
	done
	rm -f "$T/err.$id"
}

# phase_end NAME: count its failures and leaks, then forget its ids.
phase_end() {
	local f fails=0 nleak=0
	for f in "$T"/fail.*; do
		[ -e "$f" ] || continue
		echo "bench: $1: failed: $(cat "$f")" >&2
		fails=$((fails + 1))
		rm -f "$f"
	done
	cleanup_containers
	if ! check_no_leaks; then
		nleak=${#VC_LEFT[@]}
		printf 'bench: %s: left behind: %s\n' "$1" "${VC_LEFT[@]}" >&2
		force_cleanup
	fi
	cgroups_cleanup
	: >"$T/ids"
	: >"$T/cgroups"
	total_fail=$((total_fail + fails))
	total_leak=$((total_leak + nleak))
	printf '| %s | %s | %d | %d |\n' "$1" "$(secs "$t0" "$(now)")" "$fails" "$nleak"
}

total_fail=0 total_leak=0
echo "| phase | wall s | failures | leaks |"
echo "|---|---|---|---|"

# --- N cycles at once ---
t0=$(now)
pids=()
for ((i = 1; i <= par; i++)); do
	new_id "p$i" >/dev/null
	cycle "p$i" "$T/sleep" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
phase_end "$par parallel create/start/kill/delete"

# --- M runs one after the other ---
t0=$(now)
for ((i = 1; i <= seq; i++)); do
	new_id "s$i" >/dev/null
	vcrun run --bundle "$T/true" "s$i" </dev/null >/dev/null 2>"$T/err.s" ||
		echo "s$i: run exited $?: $(head -c 300 "$T/err.s")" >"$T/fail.s$i"
done
phase_end "$seq sequential run true"

# --- K members through one pod VM, its monitor sampled ---
t0=$(now)
new_id pod >/dev/null
if ! vcrun create --bundle "$T/pod" pod </dev/null >/dev/null 2>"$T/err.pod" ||
	! vcrun start pod 2>>"$T/err.pod"; then
	die "pod: $(cat "$T/err.pod")"
fi
mon=$(jq -r .monitor_pid "$ROOT/pod/state.json")
pid_alive "$mon" || die "pod monitor $mon is not running"
sample() { # sample CYCLE: "CYCLE FDS RSS_KIB" to $T/samples
	local fds
	fds=$(find "/proc/$mon/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	echo "$1 $fds $(awk '/^VmRSS:/ { print $2 }' "/proc/$mon/status")" >>"$T/samples"
}
: >"$T/samples"
new_id m0 >/dev/null
cycle m0 "$T/member" || true # warm-up: what the first member allocates for good
sample 0
for ((i = 1; i <= members; i++)); do
	new_id "m$i" >/dev/null
	cycle "m$i" "$T/member" || true
	if [ $((i % every)) -eq 0 ] || [ "$i" -eq "$members" ]; then sample "$i"; fi
done
pid_alive "$mon" || echo "m: the pod's monitor died" >"$T/fail.monitor"
vcrun delete --force pod >/dev/null 2>&1 || echo "pod: delete failed" >"$T/fail.pod"
phase_end "$members pod member cycles"

echo
# first/last/max and a least-squares slope (per 100 cycles) of each column.
awk '{ c[NR] = $1; f[NR] = $2; r[NR] = $3 }
function stats(name, unit, v,   i, mx, sx, sy, sxy, sxx, n, slope) {
	n = NR; mx = v[1]
	for (i = 1; i <= n; i++) {
		if (v[i] > mx) mx = v[i]
		sx += c[i]; sy += v[i]; sxy += c[i] * v[i]; sxx += c[i] * c[i]
	}
	slope = (n > 1 && n * sxx - sx * sx) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) * 100 : 0
	printf "monitor %s: first %d, last %d, max %d, slope %.2f%s per 100 cycles (%d samples)\n",
		name, v[1], v[n], mx, slope, unit, n
}
END { if (NR) { stats("fds", "", f); stats("VmRSS KiB", " KiB", r) } }' "$T/samples"
echo "failures: $total_fail, leaks: $total_leak"
[ "$total_fail" -eq 0 ] && [ "$total_leak" -eq 0 ]
