#!/usr/bin/env bash
# bench/cli.sh [-n N] [--strict] [--hide-cgroup2]: vcrun's quick commands next to runc, crun.
#
# Median wall time over N interleaved rounds (default 30, or $BENCH_N), for vcrun, runc
# and crun on the same bundle, of `state ID`, `list` with 20 containers in the root and
# `exec ID true`, and the time one /bin/true takes inside the container (fork, exec,
# wait, clocked by the container's own /proc/timer_list): exec minus that is what exec
# adds. crun's column reads n/a when it cannot create containers here; --hide-cgroup2
# runs everything in a private mount namespace without the cgroup2 mount of a hybrid
# host, where crun works. See bench/README.md. --strict: exit 1 when a target is missed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo/bench/cli.sh
argv=("$@")
n=${BENCH_N:-30}
hide_cg2=false
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

# bench_flag FLAG: cli.sh's own flag, for bench_args.
bench_flag() {
	[ "$1" = --hide-cgroup2 ] || return 1
	hide_cg2=true
}
bench_args 2,10 "$self" "$@"


bench_check_n

# crun refuses a hybrid host whose cgroup2 mount holds controllers. Unmounting it in a
# mount namespace of our own leaves the host alone, and all three runtimes then run in
# that namespace, so they still see the same machine.
if $hide_cg2 && [ -z "${VCBENCH_CG2_HIDDEN:-}" ]; then
	command -v unshare >/dev/null || die "--hide-cgroup2 needs unshare (util-linux)"
	exec unshare --mount --propagation private env VCBENCH_CG2_HIDDEN=1 bash "$self" "${argv[@]}"
fi
if [ -n "${VCBENCH_CG2_HIDDEN:-}" ] && mountpoint -q /sys/fs/cgroup/unified; then
	umount /sys/fs/cgroup/unified ||
		die "cannot unmount /sys/fs/cgroup/unified in the private mount namespace"
fi

runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-/usr/bin/crun}
count=20 # containers in each root for `list`
spawns=10 # /bin/true runs per in-container measurement
vm_mib=128 # 20 VMs of vcrun's default 512 MiB would not fit many build hosts
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"
[ -x "$runc" ] || die "$runc is not installed (run scripts/install-deps.sh)"
command -v jq >/dev/null || die "jq is not installed (run scripts/install-deps.sh)"
avail_kib=$(sed -n 's/^MemAvailable:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
[ "${avail_kib:-0}" -ge $((count * (vm_mib + 160) * 1024)) ] ||
	die "$count VMs of $vm_mib MiB need about $((count * (vm_mib + 160))) MiB, only $((${avail_kib:-0} / 1024)) MiB available"

work=$(mktemp -d /tmp/vcbench.XXXXXX)
runtimes=(vcrun runc crun)
for r in "${runtimes[@]}"; do
	mkdir -p "$work/root-$r"
done


# rt RUNTIME ARGS...: RUNTIME with its own --root (and, for vcrun, the small-VM config).
rt() {
	local r=$1
	shift
	case $r in
	vcrun) VCRUN_CONFIG=$work/vcrun.json "$vcrun" --root "$work/root-vcrun" "$@" ;;
	runc) "$runc" --root "$work/root-runc" "$@" ;;
	crun) "$crun" --root "$work/root-crun" "$@" ;;
	esac
}

cleanup() {
	local r id
	for r in "${runtimes[@]}"; do
		[ -x "${!r}" ] || continue
		for id in $(rt "$r" list -q 2>/dev/null); do
			rt "$r" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	bench_reap "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# vcrun keeps the host's own settings (qemu, kernel, accel) but boots small VMs.
bench_config "$work/vcrun.json" '.memory_mib = $m' --argjson m "$vm_mib"

# One bundle for all: the container sleeps so that it can be exec'ed into, and
# /proc/timer_list, the clock the in-container script reads with shell builtins only, is
# unmasked.
bundle=$work/bundle
RUNTIME=$runc "$repo/scripts/mkbundle.sh" "$bundle" sleep 100000
jq '.linux.maskedPaths -= ["/proc/timer_list"]
	| .process.rlimits = [.process.rlimits[]? | .soft = ([.soft, 1024] | min)
		| .hard = ([.hard, 1024] | min)]' \
	"$bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$bundle/config.json"

# c01 runs (state and exec use it); c02..c20 are only created: `list` reads them all.
declare -A na=()
for r in "${runtimes[@]}"; do
	if [ "$r" = crun ] && [ ! -x "$crun" ]; then
		na[$r]="$crun is not installed"
		continue
	fi
	echo "bench: creating $count $r containers" >&2
	for ((i = 1; i <= count; i++)); do
		id=$(printf 'c%02d' "$i")
		if ! rt "$r" create --bundle "$bundle" "$id" </dev/null >/dev/null 2>"$work/create.err"; then
			if [ "$r" != crun ] || [ "$i" -ne 1 ]; then
				die "$r create $id failed: $(cat "$work/create.err")"
			fi
			na[$r]="create fails: $(head -n1 "$work/create.err")"
			[ -n "${VCBENCH_CG2_HIDDEN:-}" ] || na[$r]+=" (try --hide-cgroup2)"
			break
		fi
		if [ "$i" -eq 1 ]; then
			rt "$r" start c01 </dev/null >/dev/null 2>"$work/start.err" ||
				die "$r start c01 failed: $(cat "$work/start.err")"
		fi
	done
done
active=()
for r in "${runtimes[@]}"; do
	[ -n "${na[$r]:-}" ] || active+=("$r")
done

# Run in the container by `exec ID sh -c`: prints the mean nanoseconds of one /bin/true
# (fork, exec, exit, wait) over $1 runs, clocked with builtins so that reading the clock
# spawns nothing.
# shellcheck disable=SC2016 # expanded by the container's shell
inside='now() {
	while read -r a b c d; do
		if [ "$a $b" = "now at" ]; then t=$c; return 0; fi
	done </proc/timer_list
	return 1
}
now || exit 3
s=$t
i=0
while [ $i -lt $1 ]; do /bin/true; i=$((i + 1)); done
now || exit 3
echo $(((t - s) / $1))'

declare -A us=() # "runtime:row" -> microseconds, one per round
# timed RUNTIME ROW ARGS...: wall time of `RUNTIME ARGS...`, output in $work/out.
timed() {
	local r=$1 row=$2 t0 t1
	shift 2
	t0=${EPOCHREALTIME//[!0-9]/}
	rt "$r" "$@" </dev/null >"$work/out" 2>"$work/err" || die "$r $* failed: $(cat "$work/err")"
	t1=${EPOCHREALTIME//[!0-9]/}
	us[$r:$row]+=" $((t1 - t0))"
}

# --- Interleaved rounds: drift in the host's load falls on every runtime alike. ---
for ((i = 1; i <= n; i++)); do
	echo "bench: round $i of $n" >&2
	for r in "${active[@]}"; do
		timed "$r" state state c01
		out=$(<"$work/out")
		[[ $out =~ \"status\":\ *\"running\" ]] || die "$r state c01 is not running: $out"

		timed "$r" list list
		mapfile -t lines <"$work/out"
		[ "${#lines[@]}" -eq $((count + 1)) ] ||
			die "$r list shows $((${#lines[@]} - 1)) containers, not $count"

		timed "$r" exec exec c01 true

		rt "$r" exec c01 sh -c "$inside" sh "$spawns" </dev/null >"$work/out" 2>"$work/err" ||
			die "$r exec of the in-container clock failed: $(cat "$work/err")"
		out=$(<"$work/out")
		[[ $out =~ ^[0-9]+$ ]] || die "$r: the in-container clock printed '$out'"
		us[$r:inside]+=" $((out / 1000))"
	done
done

# median US...: in milliseconds, 2 decimals.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m / 1e3 }'
}

declare -A ms=()
for r in "${active[@]}"; do
	for row in state list exec inside; do
		# shellcheck disable=SC2086 # the samples are space-separated numbers
		ms[$r:$row]=$(median ${us[$r:$row]})
	done
	ms[$r:adds]=$(awk -v a="${ms[$r:exec]}" -v b="${ms[$r:inside]}" 'BEGIN { printf "%.2f", a - b }')
done

cell() {
	if [ -n "${na[$1]:-}" ]; then
		echo "n/a"
	else
		echo "${ms[$1:$2]}"
	fi
}

echo
echo "vcrun, runc and crun commands, median of $n rounds, in ms ($count containers per root;"
echo "vcrun VMs of $vm_mib MiB; 'inside': one /bin/true in the container, mean of $spawns)"
printf '%-34s %10s %10s %10s\n' "what" vcrun runc crun
printf '%-34s %10s %10s %10s\n' "state ID" "$(cell vcrun state)" "$(cell runc state)" "$(cell crun state)"
printf '%-34s %10s %10s %10s\n' "list ($count containers)" "$(cell vcrun list)" "$(cell runc list)" \
	"$(cell crun list)"
printf '%-34s %10s %10s %10s\n' "exec ID true" "$(cell vcrun exec)" "$(cell runc exec)" \
	"$(cell crun exec)"
printf '%-34s %10s %10s %10s\n' "/bin/true inside the container" "$(cell vcrun inside)" \
	"$(cell runc inside)" "$(cell crun inside)"
printf '%-34s %10s %10s %10s\n' "exec adds (exec - inside)" "$(cell vcrun adds)" "$(cell runc adds)" \
	"$(cell crun adds)"
for r in "${runtimes[@]}"; do
	[ -z "${na[$r]:-}" ] || echo "$r: n/a: ${na[$r]}"
done
echo

missed=0
# vcrun's state and list are held to crun's, the fastest runc-compatible runtime here;
# when crun cannot run, to runc's.
ref=crun
[ -z "${na[crun]:-}" ] || ref=runc
note=""
[ "$ref" = crun ] || note=" (crun n/a)"
for row in state list; do
	target "vcrun $row no slower than $ref's$note" "${ms[vcrun:$row]} <= ${ms[$ref:$row]}" \
		"${ms[vcrun:$row]} ms vs ${ms[$ref:$row]} ms"
done
target "vcrun exec true adds under 20 ms" "${ms[vcrun:adds]} < 20" "${ms[vcrun:adds]} ms"
! $strict || [ "$missed" -eq 0 ]
