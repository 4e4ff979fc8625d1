#!/usr/bin/env bash
# bench/start.sh [-n N] [--strict]: start-up cost of vcrun against its floor.
#
# Median wall time over N runs (default 5, or $BENCH_N) of
#   (a) `vcrun run` of `true`,
#   (b) a bare QEMU boot of the same kernel and initramfs with vcrun's machine flags,
#       to /init and power-off (vcrun.poweroff=1): the floor vcrun cannot beat,
#   (c) `runc run` of the same bundle,
#   (d) `vcrun run` of `true` as a clone of a VM template ("template": true),
#   (e) (a) and (b) again with the lean kernel (`make guest-kernel`), when it is built,
# then the vcrun/floor ratio and the host RSS of the stand-in and the monitor while a
# container runs `sleep`; with templates, the PSS per idle container (cold and clone)
# and 20 creates in parallel against one. See bench/README.md. --strict: exit 1 when a
# target is missed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-5}
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

bench_args 2,14 "$0" "$@"


bench_check_n
runc=${RUNC:-$(command -v runc || true)}
qemu=${QEMU:-qemu-system-x86_64}
share=${VCRUN_SHARE:-$repo/share/vcrun}
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"
[ -n "$runc" ] && [ -x "$runc" ] || die "runc is not installed (run scripts/install-deps.sh)"
command -v "$qemu" >/dev/null || die "$qemu is not installed (run scripts/install-deps.sh)"
for f in vmlinuz initramfs.img; do
	[ -f "$share/$f" ] || die "$share/$f is missing (run make guest)"
done
# The lean kernel's rows: share/vcrun's (make guest-kernel) or VCRUN_LEAN_DIR's
# (build/lean, which tests/run-all.sh builds).
lean_dir=${VCRUN_LEAN_DIR:-$share}
[ -f "$lean_dir/vmlinux-lean" ] || [ ! -f "$repo/build/lean/vmlinux-lean" ] ||
	lean_dir=$repo/build/lean
lean=false
if [ -f "$lean_dir/vmlinux-lean" ] && [ -f "$lean_dir/initramfs-lean.img" ]; then
	lean=true
else
	echo "bench: no lean kernel in $lean_dir (make guest-kernel): its rows are left out" >&2
fi

work=$(mktemp -d /tmp/vcbench.XXXXXX)
vroot=$work/vroot
rroot=$work/rroot
mkdir -p "$vroot" "$rroot"


cleanup() {
	local id
	bench_delete_all "$vcrun" "$vroot"
	for id in $(tvcrun list -q 2>/dev/null); do
		tvcrun delete --force "$id" >/dev/null 2>&1 || true
	done
	bench_delete_all "$runc" "$rroot"
	bench_reap "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_bundles "$work"

# The same configuration with templates on (lib/template.h), and its own root, so
# that the cold runs stay cold.
troot=$work/troot
mkdir -p "$troot"
# Each kernel named, so that a lean kernel beside vcrun does not take the Debian rows.
bench_config "$work/debian.json" '.kernel = $k | .initrd = $i' \
	--arg k "$share/vmlinuz" --arg i "$share/initramfs.img"
bench_config "$work/template.json" '.kernel = $k | .initrd = $i | .template = true' \
	--arg k "$share/vmlinuz" --arg i "$share/initramfs.img"
bench_config "$work/lean.json" '.kernel = $k | .initrd = $i' \
	--arg k "$lean_dir/vmlinux-lean" --arg i "$lean_dir/initramfs-lean.img"
export VCRUN_CONFIG=$work/debian.json
tvcrun() {
	VCRUN_CONFIG=$work/template.json "$vcrun" --root "$troot" "$@"
}

now_ns() {
	date +%s%N
}

rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null
}

arg1_of() {
	local args=()
	mapfile -d '' args 2>/dev/null <"/proc/$1/cmdline" || return 1
	echo "${args[1]:-}"
}

# --- RSS while a container sleeps; QEMU's machine flags come from the same VM. ---
echo "bench: measuring RSS with one container running sleep" >&2
"$vcrun" --root "$vroot" create --bundle "$work/sleep" --pid-file "$work/rss.pid" rss \
	</dev/null >/dev/null 2>"$work/rss.err" || die "vcrun create failed: $(cat "$work/rss.err")"
"$vcrun" --root "$vroot" start rss 2>>"$work/rss.err" || die "vcrun start failed: $(cat "$work/rss.err")"
standin=$(cat "$work/rss.pid")

monitor=""
if [ -f "$vroot/rss/state.json" ]; then
	monitor=$(jq -r '.monitor_pid // empty' "$vroot/rss/state.json" 2>/dev/null || true)
fi
qemu_pid=""
for p in $(procs_under "$vroot"); do
	[ -n "$monitor" ] || [ "$(arg1_of "$p")" != __monitor ] || monitor=$p
	[[ "$(cat 2>/dev/null <"/proc/$p/comm")" != qemu* ]] || qemu_pid=$p
done
[ -n "$monitor" ] || die "no monitor process (argv[1] __monitor) found for $vroot"
standin_rss=$(rss_kib "$standin")
monitor_rss=$(rss_kib "$monitor")
[ -n "$standin_rss" ] || die "stand-in $standin (from --pid-file) is not running"
[ -n "$monitor_rss" ] || die "monitor $monitor is not running"
qemu_rss=""
[ -z "$qemu_pid" ] || qemu_rss=$(rss_kib "$qemu_pid")

# The floor uses vcrun's own -M/-cpu/-m/-smp and kernel command line when its QEMU
# can be read, so both boot the same kernel the same way.
machine=q35,accel=tcg cpu=max mem=512 smp=1 append="console=ttyS0 panic=-1 reboot=k quiet"
accel=()
if [ -n "$qemu_pid" ]; then
	mapfile -d '' qargs <"/proc/$qemu_pid/cmdline"
	for ((i = 0; i + 1 < ${#qargs[@]}; i++)); do
		case ${qargs[i]} in
		-M | -machine) machine=${qargs[i + 1]} ;;
		-accel) accel=(-accel "${qargs[i + 1]}") ;;
		-cpu) cpu=${qargs[i + 1]} ;;
		-m) mem=${qargs[i + 1]} ;;
		-smp) smp=${qargs[i + 1]} ;;
		-append) append=${qargs[i + 1]} ;;
		esac
	done
else
	echo "bench: no QEMU process found; the floor uses the default flags" >&2
fi
"$vcrun" --root "$vroot" delete --force rss >/dev/null 2>&1 || die "vcrun delete --force rss failed"


# The lean kernel's QEMU while a container sleeps, for reference.
lean_qemu_rss=""
if $lean; then
	VCRUN_CONFIG=$work/lean.json "$vcrun" --root "$vroot" run -d --bundle "$work/sleep" lrss \
		</dev/null >/dev/null 2>"$work/lrss.err" || die "vcrun run (lean) failed: $(cat "$work/lrss.err")"
	p=$(bench_qemu_of "$vroot")
	[ -z "$p" ] || lean_qemu_rss=$(rss_kib "$p")
	"$vcrun" --root "$vroot" delete --force lrss >/dev/null 2>&1 || die "vcrun delete --force lrss failed"
fi

floor_cmd=("$qemu" -M "$machine" "${accel[@]}" -cpu "$cpu" -m "$mem" -smp "$smp" -nodefaults
	-no-user-config -display none -no-reboot -serial "file:$work/floor-console.log"
	-kernel "$share/vmlinuz" -initrd "$share/initramfs.img"
	-append "$append vcrun.poweroff=1")
lean_floor_cmd=("${floor_cmd[@]}")
for ((i = 0; i < ${#lean_floor_cmd[@]}; i++)); do
	case ${lean_floor_cmd[i]} in
	"$share/vmlinuz") lean_floor_cmd[i]=$lean_dir/vmlinux-lean ;;
	"$share/initramfs.img") lean_floor_cmd[i]=$lean_dir/initramfs-lean.img ;;
	esac
done

# vcrun_run NAME CONFIG: one timed `vcrun run` of `true`, appended to the array NAME.
vcrun_run() {
	local t0
	t0=$(now_ns)
	VCRUN_CONFIG=$2 "$vcrun" --root "$vroot" run --bundle "$work/true" "a$i" </dev/null \
		>/dev/null 2>"$work/a.err" || die "vcrun run failed: $(cat "$work/a.err")"
	eval "$1+=($(($(now_ns) - t0)))"
}

# floor_run NAME CMD...: one timed bare boot, appended to the array NAME.
floor_run() {
	local t0 name=$1
	shift
	rm -f "$work/floor-console.log"
	t0=$(now_ns)
	timeout 120 "$@" </dev/null >"$work/floor.out" 2>&1 ||
		die "bare QEMU boot failed or did not power off: $(tail -n5 "$work/floor.out")"
	eval "$name+=($(($(now_ns) - t0)))"
	# -no-reboot makes QEMU exit 0 after a panic too: the console must show a power-off.
	! grep -q 'Kernel panic' "$work/floor-console.log" ||
		die "the bare boot panicked: $(grep -m1 'Kernel panic' "$work/floor-console.log")"
	grep -q 'reboot: Power down' "$work/floor-console.log" ||
		die "the bare boot did not power off: $(tail -n3 "$work/floor-console.log")"
}

# The template is built by the first templated create: not part of the timings.
echo "bench: building the VM template" >&2
t0=$(now_ns)
tvcrun run --bundle "$work/true" warm </dev/null >/dev/null 2>"$work/t.err" ||
	die "vcrun run with templates failed: $(cat "$work/t.err")"
t_build=$(($(now_ns) - t0))
[ -n "$(tvcrun template list | tail -n +2)" ] || die "no template was built"

# --- Timings, interleaved so that drift in the host's load hits all alike. ---
declare -a t_vcrun t_floor t_runc t_tmpl t_lvcrun t_lfloor
for ((i = 1; i <= n; i++)); do
	echo "bench: round $i of $n" >&2
	vcrun_run t_vcrun "$work/debian.json"
	floor_run t_floor "${floor_cmd[@]}"

	t0=$(now_ns)
	"$runc" --root "$rroot" run --bundle "$work/true" "c$i" </dev/null >/dev/null \
		2>"$work/c.err" || die "runc run failed: $(cat "$work/c.err")"
	t_runc+=($(($(now_ns) - t0)))

	t0=$(now_ns)
	tvcrun run --bundle "$work/true" "t$i" </dev/null >/dev/null 2>"$work/t.err" ||
		die "vcrun run (template clone) failed: $(cat "$work/t.err")"
	t_tmpl+=($(($(now_ns) - t0)))

	if $lean; then
		vcrun_run t_lvcrun "$work/lean.json"
		floor_run t_lfloor "${lean_floor_cmd[@]}"
	fi
done

# median NS...: in seconds, 3 decimals.
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e9 }'
}

m_vcrun=$(median "${t_vcrun[@]}")
m_floor=$(median "${t_floor[@]}")
m_runc=$(median "${t_runc[@]}")
m_tmpl=$(median "${t_tmpl[@]}")
ratio=$(awk -v a="$m_vcrun" -v b="$m_floor" 'BEGIN { printf "%.3f", a / b }')
t_ratio=$(awk -v a="$m_tmpl" -v b="$m_vcrun" 'BEGIN { printf "%.3f", a / b }')
t_floor_ratio=$(awk -v a="$m_tmpl" -v b="$m_floor" 'BEGIN { printf "%.3f", a / b }')

# --- PSS per idle container: QEMU + stand-in + monitor, from smaps_rollup. ---
# K containers of each kind run `sleep` at once: clones share the template's page
# cache, and PSS divides shared pages among the processes that map them.
pss_kib() {
	awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}
# pss_of ROOTDIR IDS...: mean PSS (KiB) of the containers' QEMU, stand-in and monitor.
pss_of() {
	local dir=$1 total=0 p
	shift
	for p in $(procs_under "$dir"); do
		total=$((total + $(pss_kib "$p")))
	done
	echo $((total / $#))
}
k=${BENCH_PSS_N:-4}
echo "bench: PSS of $k idle containers, cold and clones" >&2
cold_ids=() clone_ids=()
for ((i = 1; i <= k; i++)); do
	"$vcrun" --root "$vroot" run -d --bundle "$work/sleep" "p$i" </dev/null >/dev/null \
		2>"$work/p.err" || die "vcrun run -d failed: $(cat "$work/p.err")"
	cold_ids+=("p$i")
	tvcrun run -d --bundle "$work/sleep" "q$i" </dev/null >/dev/null 2>"$work/p.err" ||
		die "vcrun run -d (clone) failed: $(cat "$work/p.err")"
	clone_ids+=("q$i")
done
sleep 2 # idle: the guests have settled
pss_cold=$(pss_of "$vroot" "${cold_ids[@]}")
pss_clone=$(pss_of "$troot" "${clone_ids[@]}")
for id in "${cold_ids[@]}"; do "$vcrun" --root "$vroot" delete --force "$id" >/dev/null 2>&1; done
for id in "${clone_ids[@]}"; do tvcrun delete --force "$id" >/dev/null 2>&1; done

# --- 20 creates at once against one, with templates. ---
echo "bench: 20 creates in parallel (template clones)" >&2
t0=$(now_ns)
tvcrun create --bundle "$work/sleep" one </dev/null >/dev/null 2>"$work/c1.err" ||
	die "create failed: $(cat "$work/c1.err")"
t_one=$(($(now_ns) - t0))
tvcrun delete --force one >/dev/null 2>&1
pids=()
t0=$(now_ns)
for ((i = 1; i <= 20; i++)); do
	tvcrun create --bundle "$work/sleep" "par$i" </dev/null >/dev/null 2>"$work/par$i.err" &
	pids+=($!)
done
for ((i = 0; i < 20; i++)); do
	wait "${pids[i]}" || die "create par$((i + 1)) failed: $(cat "$work/par$((i + 1)).err")"
done
t_par=$(($(now_ns) - t0))
for ((i = 1; i <= 20; i++)); do tvcrun delete --force "par$i" >/dev/null 2>&1; done
s_one=$(awk -v a="$t_one" 'BEGIN { printf "%.3f", a / 1e9 }')
s_par=$(awk -v a="$t_par" 'BEGIN { printf "%.3f", a / 1e9 }')
s_build=$(awk -v a="$t_build" 'BEGIN { printf "%.3f", a / 1e9 }')
par_ratio=$(awk -v a="$t_par" -v b="$t_one" 'BEGIN { printf "%.2f", a / b }')
sum_rss=$((standin_rss + monitor_rss))

echo
echo "vcrun start-up, median of $n runs (floor: ${floor_cmd[*]:0:9} ...)"
printf '%-34s %12s\n' "what" "median"
printf '%-34s %11ss\n' "vcrun run true" "$m_vcrun"
printf '%-34s %11ss\n' "bare QEMU boot to /init (floor)" "$m_floor"
printf '%-34s %11ss\n' "runc run true" "$m_runc"
printf '%-34s %11ss\n' "vcrun run true, template clone" "$m_tmpl"
printf '%-34s %12s\n' "vcrun / floor" "$ratio"
printf '%-34s %12s\n' "clone / cold vcrun" "$t_ratio"
printf '%-34s %12s\n' "clone / floor" "$t_floor_ratio"
printf '%-34s %11ss\n' "template build (first create)" "$s_build"
printf '%-34s %8s KiB\n' "PSS per idle container, cold" "$pss_cold"
printf '%-34s %8s KiB\n' "PSS per idle container, clone" "$pss_clone"
printf '%-34s %11ss\n' "one create (clone)" "$s_one"
printf '%-34s %11ss\n' "20 creates in parallel (clones)" "$s_par"
printf '%-34s %12s\n' "20 parallel / one" "$par_ratio"
if $lean; then
	m_lvcrun=$(median "${t_lvcrun[@]}")
	m_lfloor=$(median "${t_lfloor[@]}")
	lratio=$(awk -v a="$m_lvcrun" -v b="$m_lfloor" 'BEGIN { printf "%.3f", a / b }')
	printf '%-34s %11ss\n' "vcrun run true, lean kernel" "$m_lvcrun"
	printf '%-34s %11ss\n' "bare QEMU boot, lean kernel (floor)" "$m_lfloor"
	printf '%-34s %12s\n' "lean vcrun / lean floor" "$lratio"
	printf '%-34s %12s\n' "lean floor / Debian floor" \
		"$(awk -v a="$m_lfloor" -v b="$m_floor" 'BEGIN { printf "%.3f", a / b }')"
fi
printf '%-34s %8s KiB\n' "stand-in RSS (pid $standin)" "$standin_rss"
printf '%-34s %8s KiB\n' "monitor RSS (pid $monitor)" "$monitor_rss"
printf '%-34s %8s KiB\n' "stand-in + monitor" "$sum_rss"
[ -z "$qemu_rss" ] || printf '%-34s %8s KiB\n' "QEMU RSS (for reference)" "$qemu_rss"
[ -z "$lean_qemu_rss" ] || printf '%-34s %8s KiB\n' "QEMU RSS, lean kernel" "$lean_qemu_rss"
echo

missed=0
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.15) }'; then
	echo "vcrun within 15% of the floor: yes ($ratio)"
else
	echo "vcrun within 15% of the floor: NO ($ratio)"
	missed=1
fi
if [ "$sum_rss" -lt 4096 ]; then
	echo "stand-in + monitor < 4 MiB: yes ($sum_rss KiB)"
else
	echo "stand-in + monitor < 4 MiB: NO ($sum_rss KiB)"
	missed=1
fi
target "template run <= 0.30 s" "$m_tmpl <= 0.30" "${m_tmpl} s"
target "template run <= 0.15 x cold" "$t_ratio <= 0.15" "$t_ratio"
target "PSS per idle clone <= 48 MiB" "$pss_clone <= 49152" "$pss_clone KiB"
target "20 parallel creates <= 3 x one" "$par_ratio <= 3" "$par_ratio"
! $strict || [ "$missed" -eq 0 ]
