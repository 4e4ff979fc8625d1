#!/bin/bash
# Builds the guest image: OUT/vmlinuz (Debian's kernel, from the package that
# linux-image-amd64 depends on) and OUT/initramfs.img (the static agent as /init,
# the modules of guest/modules.list and their dependencies); with --lean, only
# OUT/initramfs-lean.img, without modules, for the lean kernel (guest/build-kernel.sh),
# which has them built in. See guest/README.md.
set -euo pipefail

prog=build-image
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=guest/lib.sh
. "$here/lib.sh"

usage() {
	cat <<EOF
usage: $0 --agent PATH --out DIR [options]
  --agent PATH           static agent binary, becomes /init
  --out DIR              where vmlinuz and initramfs.img are written
  --cache DIR            kernel package cache (default /var/cache/vcrun if writable,
                         else ./build/cache)
  --modules FILE         module list (default guest/modules.list)
  --compress KIND        none|gzip|zstd (default: none, see guest/README.md)
  --kernel-format KIND   pvh: the decompressed ELF, booted through its PVH entry
                         (default, boots 3 s faster under TCG); bzimage: Debian's as is
  --kernel-package NAME  a linux-image package instead of linux-image-amd64's dependency
  --extra DIR            copy DIR's tree into the initramfs too (debug images)
  --lean                 only OUT/initramfs-lean.img, with no modules, for the lean
                         kernel (no kernel package is needed)
EOF
	exit 2
}

agent="" out="" cache="" modules="$here/modules.list" compress=none kformat=pvh kpkg="" extra=""
lean=false
while [ $# -gt 0 ]; do
	case $1 in
	--agent | --out | --cache | --modules | --compress | --kernel-format | --kernel-package | \
		--extra)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--agent) agent=$2 ;;
		--out) out=$2 ;;
		--cache) cache=$2 ;;
		--modules) modules=$2 ;;
		--compress) compress=$2 ;;
		--kernel-format) kformat=$2 ;;
		--kernel-package) kpkg=$2 ;;
		--extra) extra=$2 ;;
		esac
		shift 2
		;;
	--lean)
		lean=true
		shift
		;;
	-h | --help) usage ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
if [ -z "$agent" ] || [ -z "$out" ]; then
	usage
fi
[ -f "$agent" ] || die "agent '$agent' does not exist"
[ -f "$modules" ] || die "module list '$modules' does not exist"
[ -z "$extra" ] || [ -d "$extra" ] || die "extra tree '$extra' is not a directory"
case $compress in
none | gzip | zstd) ;;
*) die "--compress must be none, gzip or zstd, not '$compress'" ;;
esac
case $kformat in
pvh | bzimage) ;;
*) die "--kernel-format must be pvh or bzimage, not '$kformat'" ;;
esac
for tool in apt-cache apt-get dpkg objcopy cpio; do
	command -v "$tool" >/dev/null || die "'$tool' not found: run scripts/install-deps.sh"
done
[ "$compress" != zstd ] || command -v zstd >/dev/null || die "'zstd' not found"

# Fixed timestamps make the image byte-for-byte reproducible.
epoch=${SOURCE_DATE_EPOCH:-0}
is_root=false
[ "$(id -u)" = 0 ] && is_root=true

[ -n "$cache" ] || cache=$(default_cache)
mkdir -p "$cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/vcrun-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

if $lean; then
	# Everything below up to the initramfs reads the kernel package.
	order=() sets=()
	declare -A set_order=()
else
	# --- kernel package -------------------------------------------------------------

	# Prints "PACKAGE VERSION" of the kernel to use, from apt's lists (no network).
	resolve_kernel() {
		local pkg=$kpkg ver
		if [ -z "$pkg" ]; then
			pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n 1)
			[ -n "$pkg" ] || return 1
		fi
		ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' |
			head -n 1)
		[ -n "$ver" ] || return 1
		echo "$pkg $ver"
	}

	# The newest complete extraction in the cache, as "PACKAGE VERSION".
	newest_cached() {
		local d best=""
		for d in "$cache"/linux-image-*/.complete; do
			[ -e "$d" ] || continue
			d=${d%/.complete}
			best=$(printf '%s\n%s\n' "$best" "${d##*/}" | sed '/^$/d' | sort -V | tail -n 1)
		done
		[ -n "$best" ] || return 1
		echo "${best%%_*} ${best#*_}"
	}

	# Downloads PACKAGE=VERSION into the cache unless it is there already.
	fetch_deb() {
		local deb="$cache/${1}_${2}.deb" dl
		[ -s "$deb" ] && return 0
		note "downloading $1 $2 into $cache"
		dl=$(mktemp -d "$cache/download.XXXXXX")
		local opts=(-q)
		# As root apt drops to _apt, which cannot write into our 0700 temp dir.
		$is_root && opts+=(-o APT::Sandbox::User=root)
		if ! (cd "$dl" && apt-get download "${opts[@]}" "$1=$2" >&2); then
			rm -rf "$dl"
			return 1
		fi
		mv "$dl"/*.deb "$deb"
		rm -rf "$dl"
	}

	kernel=""
	if ! kernel=$(resolve_kernel); then
		if [ -z "$kpkg" ] && kernel=$(newest_cached); then
			note "apt knows no linux-image-amd64; using the cached ${kernel% *} ${kernel#* }"
		elif $is_root; then
			note "apt knows no ${kpkg:-linux-image-amd64}: running apt-get update"
			apt-get update -qq
			kernel=$(resolve_kernel) || die "apt knows no ${kpkg:-linux-image-amd64} even after apt-get update"
		else
			die "apt knows no ${kpkg:-linux-image-amd64} (empty package lists?): run 'apt-get update' as root, then build again"
		fi
	fi
	pkg=${kernel% *} ver=${kernel#* }
	kdir="$cache/${pkg}_${ver}"

	if [ ! -e "$kdir/.complete" ]; then
		if ! fetch_deb "$pkg" "$ver"; then
			# Stale lists name a version the mirror no longer has (security updates
			# replace the kernel ABI package): refresh once and resolve again.
			$is_root || die "cannot download $pkg $ver: run 'apt-get update' as root, then build again"
			note "download failed: running apt-get update and retrying"
			apt-get update -qq
			kernel=$(resolve_kernel) || die "apt knows no ${kpkg:-linux-image-amd64} after apt-get update"
			pkg=${kernel% *} ver=${kernel#* }
			kdir="$cache/${pkg}_${ver}"
			fetch_deb "$pkg" "$ver" || die "cannot download $pkg $ver"
		fi
	fi
	if [ ! -e "$kdir/.complete" ]; then
		x=$(mktemp -d "$kdir.XXXXXX")
		dpkg -x "$cache/${pkg}_${ver}.deb" "$x"
		touch "$x/.complete"
		# A concurrent build may have won the race: keep its copy.
		mv -T "$x" "$kdir" 2>/dev/null || rm -rf "$x"
	fi

	set -- "$kdir"/lib/modules/*/
	if [ $# != 1 ] || [ ! -d "$1" ]; then
		die "$kdir: expected exactly one lib/modules/RELEASE directory"
	fi
	moddir=${1%/}
	krel=${moddir##*/}
	vmlinuz="$kdir/boot/vmlinuz-$krel"
	[ -f "$vmlinuz" ] || die "$vmlinuz does not exist"

	# --- modules ----------------------------------------------------------------------

	# Module names use '_' where file names may use '-'; no subshell per module (thousands).
	declare -A kopath=() builtin=() state=()
	while IFS= read -r f; do
		b=${f##*/} && b=${b%%.ko*}
		kopath[${b//-/_}]=$f
	done < <(find "$moddir/kernel" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \
		-o -name '*.ko.gz' \))
	if [ -f "$moddir/modules.builtin" ]; then
		while IFS= read -r f; do
			b=${f##*/} && b=${b%%.ko*}
			builtin[${b//-/_}]=1
		done <"$moddir/modules.builtin"
	fi

	mkdir -p "$work/ko"
	# Copies module NAME (decompressed) to $work/ko/NAME.ko.
	ko_prepare() {
		local src=${kopath[$1]} dst="$work/ko/$1.ko"
		case $src in
		*.ko.xz) xz -dc "$src" >"$dst" ;;
		*.ko.zst) zstd -dcq "$src" >"$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" ;;
		*) cp "$src" "$dst" ;;
		esac
	}

	# The module names in NAME's `depends=` (its .modinfo section).
	ko_depends() {
		objcopy -O binary --only-section=.modinfo "$work/ko/$1.ko" "$work/modinfo" ||
			die "module $1: cannot read its .modinfo section"
		tr '\0' '\n' <"$work/modinfo" | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d;s/-/_/g'
	}

	order=()
	# Depth-first: a module is appended after everything it depends on.
	visit() {
		local m=$1 d deps
		case ${state[$m]:-} in
		finished) return ;;
		visiting) die "module dependency cycle through $m" ;;
		esac
		if [ -n "${builtin[$m]:-}" ]; then
			state[$m]=finished
			note "module $m is built into $krel: skipped"
			return
		fi
		[ -n "${kopath[$m]:-}" ] || die "module $m: $pkg has it neither as a module nor built in"
		state[$m]=visiting
		ko_prepare "$m"
		deps=$(ko_depends "$m")
		for d in $deps; do
			visit "$d"
		done
		state[$m]=finished
		order+=("$m")
	}

	# Names after a `[SET]` line form an on-demand set: not loaded at boot, but listed
	# in /lib/modules/SET.load-order (dependencies first, without what boot loads) for
	# the agent to load when a container needs them (vfio: agent/vfio.c).
	declare -A set_names=() set_order=()
	sets=() section=""
	section_re='^[[:space:]]*\[([A-Za-z0-9_]+)\][[:space:]]*$'
	while read -r line; do
		line=${line%%#*}
		if [[ $line =~ $section_re ]]; then
			section=${BASH_REMATCH[1]}
			[ "$section" != load ] || die "$modules: [load] is not a set name (load-order is boot's)"
			[ -n "${set_names[$section]+x}" ] || sets+=("$section")
			set_names[$section]+=""
			continue
		fi
		for m in $line; do
			if [ -z "$section" ]; then
				visit "${m//-/_}"
			else
				set_names[$section]+=" ${m//-/_}"
			fi
		done
	done <"$modules"
	[ ${#order[@]} -gt 0 ] || die "$modules names no module"
	boot_order=("${order[@]}")
	for s in "${sets[@]}"; do
		order=()
		for m in ${set_names[$s]}; do
			visit "$m"
		done
		set_order[$s]="${order[*]}"
	done
	order=("${boot_order[@]}")
fi # ! $lean

# --- initramfs --------------------------------------------------------------------

root="$work/root"
mkdir -p "$root/lib/modules" "$root/proc" "$root/sys" "$root/run" "$root/tmp" "$root/mnt"
cp "$agent" "$root/init"
for m in "${order[@]}"; do
	cp "$work/ko/$m.ko" "$root/lib/modules/$m.ko"
done
# No load-order at all in the lean image: the agent then loads nothing.
[ ${#order[@]} -eq 0 ] || printf '%s.ko\n' "${order[@]}" >"$root/lib/modules/load-order"
for s in "${sets[@]}"; do
	: >"$root/lib/modules/$s.load-order"
	for m in ${set_order[$s]}; do
		cp "$work/ko/$m.ko" "$root/lib/modules/$m.ko"
		printf '%s.ko\n' "$m" >>"$root/lib/modules/$s.load-order"
	done
done
if [ -n "$extra" ]; then
	cp -a "$extra/." "$root/"
fi
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/init"
chmod 1777 "$root/tmp"
if [ -n "$extra" ]; then
	# Keep the execute bits the debug tree had.
	(cd "$extra" && find . -type f -perm -u+x -printf '%P\0') |
		(cd "$root" && xargs -0 -r chmod 0755)
fi
find "$root" -exec touch -h -d "@$epoch" {} +

# One newc entry with no data (directories and device nodes), as cpio writes it.
# The nodes are written by hand so that building needs no root for mknod.
newc_entry() { # NAME MODE(octal) RDEV_MAJOR RDEV_MINOR INO
	local namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$5" "$((8#$2))" 0 0 1 "$epoch" 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$1"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}
{
	newc_entry dev 040755 0 0 1
	newc_entry dev/console 020600 5 1 2
	newc_entry dev/null 020666 1 3 3
	newc_entry 'TRAILER!!!' 0 0 0 0
} >"$work/nodes.cpio"
# Pad to cpio's 512-byte blocks, so `cpio -i` twice in a row reads both archives.
size=$(wc -c <"$work/nodes.cpio")
head -c $(((512 - size % 512) % 512)) /dev/zero >>"$work/nodes.cpio"
(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$work/root.cpio"

mkdir -p "$out"
# The kernel unpacks concatenated archives in one stream: nodes (with /dev) first.
cat "$work/nodes.cpio" "$work/root.cpio" >"$work/initramfs.cpio"
image=initramfs.img
$lean && image=initramfs-lean.img
case $compress in
none) cp "$work/initramfs.cpio" "$out/$image.tmp" ;;
gzip) gzip -9 -n -c "$work/initramfs.cpio" >"$out/$image.tmp" ;;
zstd) zstd -q -19 -c "$work/initramfs.cpio" >"$out/$image.tmp" ;;
esac
if $lean; then
	mv -f "$out/$image.tmp" "$out/$image"
	note "$out/$image: no modules (lean kernel), $compress, $(wc -c <"$out/$image") bytes"
	exit 0
fi

# --- kernel -----------------------------------------------------------------------

# Writes the ELF inside a bzImage to $work/vmlinux if it has a PVH entry note
# (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12), which QEMU's -kernel boots directly: under
# TCG, decompressing Debian's XZ payload is 3 of the 5 seconds a boot takes.
extract_pvh() {
	local magic cmd off
	for magic in '\xfd7zXZ\x00:xz -dcq --single-stream' '\x28\xb5\x2f\xfd:zstd -dcq' \
		'\x1f\x8b\x08:gzip -dcq'; do
		cmd=${magic#*:} magic=${magic%%:*}
		command -v "${cmd%% *}" >/dev/null || continue
		# shellcheck disable=SC2013 # byte offsets, one word each
		for off in $(LC_ALL=C grep -obUaP "$magic" "$1" | cut -d: -f1); do
			# Trailing data after the stream makes some decompressors complain;
			# what counts is whether an ELF with the note came out.
			tail -c "+$((off + 1))" "$1" | $cmd >"$work/vmlinux" 2>/dev/null || true
			if readelf -n "$work/vmlinux" 2>/dev/null |
				grep -Eq 'Xen.*(\(0x00000012\)|PHYS32_ENTRY)'; then
				return 0
			fi
		done
	done
	return 1
}

kernel_out=$vmlinuz
if [ "$kformat" = pvh ]; then
	if extract_pvh "$vmlinuz"; then
		kernel_out=$work/vmlinux
	else
		note "no PVH-capable ELF found in $vmlinuz: using the bzImage as is"
		kformat=bzimage
	fi
fi

cp "$kernel_out" "$out/vmlinuz.tmp"
mv -f "$out/vmlinuz.tmp" "$out/vmlinuz"
mv -f "$out/initramfs.img.tmp" "$out/initramfs.img"
note "$out/vmlinuz: $pkg $ver ($krel), $kformat, $(wc -c <"$out/vmlinuz") bytes"
note "$out/initramfs.img: ${#order[@]} modules, $compress, $(wc -c <"$out/initramfs.img") bytes"
for s in "${sets[@]}"; do
	note "  on demand ($s): ${set_order[$s]:-none}"
done
