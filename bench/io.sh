#!/usr/bin/env bash
# bench/io.sh [-n N] [--seq MIB] [--rand OPS]: I/O in the container's own rootfs,
# vcrun's three ways of giving it to the VM against runc on the host's filesystem.
#
# One busybox bundle whose process is bench/io-helper.c (built static here and copied
# into the rootfs): in one process it writes a file of MIB MiB (default 64) in 1 MiB
# blocks and fsyncs, reads it back, then writes and reads OPS blocks of 4 KiB (default
# 2000) at random offsets of it (fsync after the writes); before each read pass it
# drops the file's cached pages (fdatasync, POSIX_FADV_DONTNEED). Rows:
#   runc            runc, rootfs a directory on the host's filesystem (/tmp)
#   vcrun 9p        vcrun, "shared_fs": "9p": the rootfs directory over virtio-9p
#   vcrun virtio-fs vcrun, "shared_fs": "virtio-fs": the same over virtiofsd
#   vcrun block     vcrun, the rootfs an ext4 image (in /tmp) on a loop device mounted
#                   at the bundle's rootfs, with io.vcrun.block-rootfs=true: the VM
#                   gets the loop device as virtio-blk
# N rounds (default 1 or $BENCH_N), each running the four in that order; the medians
# in MB/s, then each vcrun row as a ratio to runc. Numbers only: it never fails on
# speed. Under TCG (no usable KVM) every guest instruction is emulated, the guest's
# filesystem code and virtio drivers included.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-1}
seq_mib=64
rand_ops=2000
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
	-n | --seq | --rand)
		bench_num_arg "$@"
		case $1 in
		-n) n=$2 ;;
		--seq) seq_mib=$2 ;;
		--rand) rand_ops=$2 ;;
		esac
		shift 2
		;;
	*) bench_other_arg "$1" 2,18 "$0" ;;
	esac
done

bench_check_n
runc=${RUNC:-/usr/sbin/runc}
cc=${CC:-gcc}
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"
[ -x "$runc" ] || die "runc is not installed (run scripts/install-deps.sh)"
for c in jq mkfs.ext4 losetup mountpoint "$cc"; do
	command -v "$c" >/dev/null || die "$c is not installed (run scripts/install-deps.sh)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (loop devices, mounts, containers)"

work=$(mktemp -d /tmp/vciobench.XXXXXX)
loop=
cleanup() {
	bench_delete_all "$vcrun" "$work/vroot"
	bench_delete_all "$runc" "$work/rroot"
	while mountpoint -q "$work/block/rootfs" 2>/dev/null; do
		umount "$work/block/rootfs" || break
	done
	[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
	bench_reap "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bundles: one rootfs, copied per row -----------------------------------
"$cc" -O2 -static -o "$work/io-helper" "$repo/bench/io-helper.c" || die "cannot build io-helper"
RUNTIME=$vcrun "$repo/scripts/mkbundle.sh" "$work/share" /bin/io-helper /io.dat "$seq_mib" "$rand_ops" >/dev/null
cp "$work/io-helper" "$work/share/rootfs/bin/io-helper"
jq '.root.readonly = false' "$work/share/config.json" >"$work/share/config.json.new"
mv "$work/share/config.json.new" "$work/share/config.json"
cp -a "$work/share" "$work/runc"
cp -a "$work/share" "$work/block"
jq '.annotations["io.vcrun.block-rootfs"] = "true"' "$work/block/config.json" >"$work/block/config.json.new"
mv "$work/block/config.json.new" "$work/block/config.json"
# Room for the file and ext4's own: twice the file plus 64 MiB.
truncate -s $((seq_mib * 2 + 64))M "$work/block.img"
mkfs.ext4 -q -F -d "$work/block/rootfs" "$work/block.img"
rm -rf "$work/block/rootfs"
mkdir "$work/block/rootfs"
loop=$(losetup -f --show "$work/block.img")
mkdir -p "$work/vroot" "$work/rroot"
bench_config "$work/9p.json" '.shared_fs = "9p"'
bench_config "$work/virtiofs.json" '.shared_fs = "virtio-fs"'
bench_config "$work/block.json" '.shared_fs = "9p"'

rows=(runc 9p virtiofs block)
declare -A label=([runc]="runc (host fs)" [9p]="vcrun 9p" [virtiofs]="vcrun virtio-fs" [block]="vcrun block")
metrics=(seq_write seq_read rand_write rand_read)
declare -A got

# run_row ROW ROUND: one run; its four figures appended to got[ROW.METRIC].
run_row() {
	local row=$1 id="io$1$2" out=$work/$1.$2.out rc=0
	case $row in
	runc) "$runc" --root "$work/rroot" run --bundle "$work/runc" "$id" </dev/null >"$out" 2>&1 || rc=$? ;;
	*)
		local bundle=$work/share
		if [ "$row" = block ]; then
			# Mounted just before, as an engine does: a mount namespace made while
			# it is mounted (a rootless container's, elsewhere on the host) keeps a
			# copy that vcrun's unmount cannot reach, and vcrun then refuses it.
			bundle=$work/block
			mount "$loop" "$bundle/rootfs"
			mount --make-shared "$bundle/rootfs"
		fi
		VCRUN_CONFIG=$work/$row.json "$vcrun" --root "$work/vroot" run --bundle "$bundle" "$id" \
			</dev/null >"$out" 2>&1 || rc=$?
		[ "$row" != block ] || umount "$bundle/rootfs"
		;;
	esac
	[ "$rc" -eq 0 ] || die "${label[$row]}: run failed ($rc): $(head -c 2000 "$out")"
	local m v
	for m in "${metrics[@]}"; do
		v=$(awk -v m="$m" '$1 == m { print $2 }' "$out")
		[ -n "$v" ] || die "${label[$row]}: no $m figure in: $(head -c 2000 "$out")"
		got[$row.$m]+="$v "
	done
}

median() {
	tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for ((round = 1; round <= n; round++)); do
	for row in "${rows[@]}"; do
		run_row "$row" "$round"
	done
done

declare -A med
echo "rootfs I/O in the container: ${seq_mib} MiB sequential (1 MiB blocks), ${rand_ops} x 4 KiB random; median of $n; MB/s"
echo
printf '| %-24s | %10s | %10s | %10s | %10s |\n' row "seq write" "seq read" "rand write" "rand read"
printf '|%s|%s|%s|%s|%s|\n' -------------------------- ------------ ------------ ------------ ------------
for row in "${rows[@]}"; do
	line=$(printf '| %-24s |' "${label[$row]}")
	for m in "${metrics[@]}"; do
		med[$row.$m]=$(median "${got[$row.$m]}")
		line+=$(printf ' %10.2f |' "${med[$row.$m]}")
	done
	echo "$line"
done
for row in 9p virtiofs block; do
	line=$(printf '| %-24s |' "${label[$row]} / runc")
	for m in "${metrics[@]}"; do
		line+=$(awk -v a="${med[$row.$m]}" -v b="${med[runc.$m]}" 'BEGIN { printf " %10.3f |", (b > 0 ? a / b : 0) }')
	done
	echo "$line"
done
