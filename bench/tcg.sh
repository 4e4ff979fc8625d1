#!/usr/bin/env bash
# bench/tcg.sh [-n N] [--sizes "32 64 128 256 0"]: TCG's translation cache size
# (`tcg_tb_size_mib`, QEMU's `-accel tcg,tb-size=N`; 0 is QEMU's default, 1 GiB in
# 7.2) against what a container costs. Per size, over N rounds (default 3, or $BENCH_N),
# the rounds interleaving the sizes:
#   - `vcrun run true` (median wall time),
#   - the RSS and PSS of the QEMU of a container that runs `sleep`, 3 s after start
#     (median), and the same after the loop below,
#   - `exec` of a shell loop (busybox sh, 20000 iterations of arithmetic and `test`,
#     then 200 runs of `/bin/true`) in that container (median wall time).
# See bench/README.md. Only meaningful where QEMU runs TCG (no usable KVM).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-3}
sizes="32 64 128 256 0"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

bench_flag() {
	case $1 in
	--sizes=*) sizes=${1#--sizes=} ;;
	*) return 1 ;;
	esac
}
bench_args 2,11 "$0" "$@"
bench_check_n
for s in $sizes; do
	[[ $s =~ ^[0-9]+$ ]] || die "--sizes: '$s' is not a size in MiB"
done
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"

work=$(mktemp -d /tmp/vcbench.XXXXXX)
vroot=$work/vroot
mkdir -p "$vroot"
cleanup() {
	bench_delete_all "$vcrun" "$vroot"
	bench_reap "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_bundles "$work"
for s in $sizes; do
	bench_config "$work/tb$s.json" '.tcg_tb_size_mib = $s' --argjson s "$s"
done
loop='i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); [ $((i % 7)) -eq 0 ] && j=$i; done
	k=0; while [ $k -lt 200 ]; do /bin/true; k=$((k + 1)); done; echo $i'

now_ns() {
	date +%s%N
}

# mem_kib PID: "RSS PSS" in KiB, from smaps_rollup.
mem_kib() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r, p }' "/proc/$1/smaps_rollup"
}

declare -A t_run t_loop rss pss rss2 pss2
for ((i = 1; i <= n; i++)); do
	for s in $sizes; do
		echo "bench: round $i of $n, tb-size $s" >&2
		export VCRUN_CONFIG=$work/tb$s.json
		t0=$(now_ns)
		"$vcrun" --root "$vroot" run --bundle "$work/true" "t$i-$s" </dev/null >/dev/null \
			2>"$work/err" || die "vcrun run failed: $(cat "$work/err")"
		t_run[$s]+=" $(($(now_ns) - t0))"

		"$vcrun" --root "$vroot" run -d --bundle "$work/sleep" "s$i-$s" </dev/null \
			>/dev/null 2>"$work/err" || die "vcrun run -d failed: $(cat "$work/err")"
		q=$(bench_qemu_of "$vroot")
		[ -n "$q" ] || die "no QEMU for s$i-$s"
		if [ "$s" != 0 ]; then
			grep -qzx "tcg,tb-size=$s" "/proc/$q/cmdline" ||
				die "QEMU was not given tb-size=$s: $(tr '\0' ' ' <"/proc/$q/cmdline")"
		fi
		sleep 3
		read -r r p < <(mem_kib "$q")
		rss[$s]+=" $r" pss[$s]+=" $p"

		t0=$(now_ns)
		"$vcrun" --root "$vroot" exec "s$i-$s" sh -c "$loop" </dev/null >"$work/out" \
			2>"$work/err" || die "exec failed: $(cat "$work/err")"
		t_loop[$s]+=" $(($(now_ns) - t0))"
		[ "$(cat "$work/out")" = 20000 ] || die "the loop printed '$(cat "$work/out")'"
		read -r r p < <(mem_kib "$q")
		rss2[$s]+=" $r" pss2[$s]+=" $p"
		"$vcrun" --root "$vroot" delete --force "s$i-$s" >/dev/null 2>&1 ||
			die "delete --force s$i-$s failed"
	done
done

# median V...: the median of the numbers.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "TCG translation cache size, median of $n rounds"
printf '%-10s %12s %12s %12s %12s %12s %12s\n' tb-size "run true" "RSS idle" "PSS idle" \
	"exec loop" "RSS after" "PSS after"
for s in $sizes; do
	label="$s MiB"
	[ "$s" != 0 ] || label=default
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	printf '%-10s %11.3fs %8d MiB %8d MiB %11.3fs %8d MiB %8d MiB\n' "$label" \
		"$(awk -v v="$(median ${t_run[$s]})" 'BEGIN { print v / 1e9 }')" \
		$(($(median ${rss[$s]}) / 1024)) $(($(median ${pss[$s]}) / 1024)) \
		"$(awk -v v="$(median ${t_loop[$s]})" 'BEGIN { print v / 1e9 }')" \
		$(($(median ${rss2[$s]}) / 1024)) $(($(median ${pss2[$s]}) / 1024))
done
