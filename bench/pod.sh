#!/usr/bin/env bash
# bench/pod.sh [-n N] [--strict]: a pod (one VM, several containers) against one VM each.
#
# One table from one run:
#   container start   median wall time over N (default 5, or $BENCH_N) of `vcrun run`
#                     of `true` as a member of a running pod (CRI annotations) against
#                     `vcrun run` of `true` in a VM of its own, interleaved; the ratio
#                     against its goal (<= 0.15), printed, not enforced
#   host memory       PSS (/proc/PID/smaps_rollup) of QEMU, the monitor and the
#                     stand-ins for 4 containers running `sleep`: one pod (sandbox + 3
#                     members) against 4 VMs of their own, and the ratio
#   QEMUs per pod     must be 1: the script exits 1 when it is not
# See bench/README.md. --strict: also exit 1 when the start-up goal is missed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-5}
members=3   # the memory pod: its sandbox container and this many members
goal=0.15   # member start / cold start
settle=2    # seconds between the last start and reading PSS: the guests finish booting
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

bench_args 2,14 "$0" "$@"

bench_check_n
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"
command -v jq >/dev/null || die "jq is not installed (run scripts/install-deps.sh)"
[ "$(id -u)" -eq 0 ] || die "needs root (vcrun creates namespaces and VMs)"

work=$(mktemp -d /tmp/vcbench.XXXXXX)
# Three roots, so that a count of the pod's QEMUs cannot include a cold run's QEMU that
# is still exiting, nor a single VM's.
proot=$work/pod  # the pod: sandbox container `pod` and its members
croot=$work/cold # cold starts, one VM each
oroot=$work/own  # the memory comparison: one VM per container
mkdir -p "$proot" "$croot" "$oroot"

# delete_all ROOT: members before the pod's sandbox container, whose end ends them too.
delete_all() {
	local id
	for id in $("$vcrun" --root "$1" list -q 2>/dev/null); do
		[ "$id" = pod ] || "$vcrun" --root "$1" delete --force "$id" >/dev/null 2>&1 || true
	done
	"$vcrun" --root "$1" delete --force pod >/dev/null 2>&1 || true
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local r
	for r in "$proot" "$croot" "$oroot"; do
		delete_all "$r"
	done
	bench_reap "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bundle DIR TYPE ARGS...: a busybox bundle; TYPE sandbox or container puts it in the
# pod (containerd's CRI annotations), none leaves it on its own.
bundle() {
	local dir=$1 type=$2
	shift 2
	RUNTIME=$vcrun "$repo/scripts/mkbundle.sh" "$dir" "$@" >/dev/null
	[ "$type" != none ] || return 0
	jq --arg t "$type" '.annotations = {"io.kubernetes.cri.container-type": $t,
		"io.kubernetes.cri.sandbox-id": "pod"}' "$dir/config.json" >"$work/config.json"
	mv "$work/config.json" "$dir/config.json"
}
bundle "$work/b-sandbox" sandbox sleep 100000
bundle "$work/b-member-true" container true
bundle "$work/b-member-sleep" container sleep 100000
bundle "$work/b-true" none true
bundle "$work/b-sleep" none sleep 100000

# vc ROOT ARGS...: vcrun in ROOT; dies with its stderr when it fails.
vc() {
	local root=$1
	shift
	"$vcrun" --root "$root" "$@" </dev/null >/dev/null 2>"$work/err" ||
		die "vcrun $* failed: $(cat "$work/err")"
}

# up ROOT BUNDLE ID: create and start a container that keeps running.
up() {
	vc "$1" create --bundle "$2" "$3"
	vc "$1" start "$3"
}

# qemus ROOT: the QEMU processes that ROOT's containers started.
qemus() {
	local p
	for p in $(procs_under "$1"); do
		[[ "$(cat 2>/dev/null <"/proc/$p/comm")" != qemu* ]] || echo "$p"
	done
}

# pss ROOT: "QEMU_KIB OTHER_KIB QEMUS OTHERS": PSS summed over ROOT's QEMUs and over its
# other processes (monitors, stand-ins, any helper that names ROOT), and their counts.
pss() {
	local p kib q=0 o=0 nq=0 no=0
	for p in $(procs_under "$1"); do
		kib=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$kib" ] || continue
		if [[ "$(cat 2>/dev/null <"/proc/$p/comm")" == qemu* ]]; then
			q=$((q + kib)) nq=$((nq + 1))
		else
			o=$((o + kib)) no=$((no + 1))
		fi
	done
	echo "$q $o $nq $no"
}

# --- Start-up: a member of the running pod against a VM of its own, interleaved. ---
echo "bench: starting the pod" >&2
up "$proot" "$work/b-sandbox" pod
declare -a t_member t_cold
for ((i = 1; i <= n; i++)); do
	echo "bench: round $i of $n" >&2
	t0=${EPOCHREALTIME//[!0-9]/}
	vc "$proot" run --bundle "$work/b-member-true" "m$i"
	t_member+=($((${EPOCHREALTIME//[!0-9]/} - t0)))

	t0=${EPOCHREALTIME//[!0-9]/}
	vc "$croot" run --bundle "$work/b-true" "c$i"
	t_cold+=($((${EPOCHREALTIME//[!0-9]/} - t0)))
done

# --- Memory and the QEMU count: the pod with its members, then one VM each. ---
echo "bench: $members members join the pod" >&2
for ((i = 1; i <= members; i++)); do
	up "$proot" "$work/b-member-sleep" "s$i"
done
sleep "$settle"
for ((i = 1; i <= members; i++)); do
	sb=$("$vcrun" --root "$proot" state "s$i" | jq -r '.annotations["io.vcrun.sandbox"] // ""')
	[ "$sb" = pod ] || die "member s$i is in sandbox '$sb', not pod"
done
mapfile -t pod_qemus < <(qemus "$proot")
read -r pod_q pod_o pod_nq pod_no < <(pss "$proot")
delete_all "$proot"

total=$((members + 1))
echo "bench: $total containers in VMs of their own" >&2
for ((i = 1; i <= total; i++)); do
	up "$oroot" "$work/b-sleep" "o$i"
done
sleep "$settle"
read -r own_q own_o own_nq own_no < <(pss "$oroot")
[ "$own_nq" -eq "$total" ] || die "$total containers in VMs of their own run $own_nq QEMUs"
delete_all "$oroot"

# median US...: in seconds, 3 decimals.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e6 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}
mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

m_member=$(median "${t_member[@]}")
m_cold=$(median "${t_cold[@]}")
start_ratio=$(ratio "$m_member" "$m_cold")
pod_t=$((pod_q + pod_o)) own_t=$((own_q + own_o))

row='%-40s %12s %12s %8s %8s\n'
echo
echo "vcrun pods: $total containers in one VM against one VM each (start: median of $n runs)"
# shellcheck disable=SC2059 # the format is the table's, kept in one place
{
	printf "$row" "what" "in the pod" "own VMs" "ratio" "goal"
	printf "$row" "container start (run true)" "${m_member}s" "${m_cold}s" "$start_ratio" "<= $goal"
	printf "$row" "host PSS, $total containers running sleep" "$(mib "$pod_t")" "$(mib "$own_t")" \
		"$(ratio "$pod_t" "$own_t")" ""
	printf "$row" "  QEMU" "$(mib "$pod_q")" "$(mib "$own_q")" "$(ratio "$pod_q" "$own_q")" ""
	printf "$row" "  monitors, stand-ins" "$(mib "$pod_o")" "$(mib "$own_o")" \
		"$(ratio "$pod_o" "$own_o")" ""
	printf "$row" "QEMU processes" "${#pod_qemus[@]}" "$own_nq" "" "1 per pod"
} | sed 's/ *$//'
echo "(vcrun processes besides QEMU: $pod_no in the pod, $own_no for the own VMs)"
echo

status=0
if [ "${#pod_qemus[@]}" -eq 1 ] && [ "$pod_nq" -eq 1 ]; then
	echo "one QEMU for the pod: yes"
else
	echo "one QEMU for the pod: NO (${#pod_qemus[@]}: ${pod_qemus[*]})"
	status=1
fi
if awk -v r="$start_ratio" -v g="$goal" 'BEGIN { exit !(r <= g) }'; then
	echo "member start within $goal of a cold start: yes ($start_ratio)"
else
	echo "member start within $goal of a cold start: NO ($start_ratio)"
	! $strict || status=1
fi
exit "$status"
