#!/bin/bash
# Builds the lean guest kernel from Debian's linux-source package: tinyconfig, the
# fragment guest/lean.config on top, every option of the fragment checked, no modules.
# The ELF vmlinux (PVH entry: QEMU's -kernel boots it directly) is cached under
# CACHE/lean-kernel/SOURCEVERSION-HASH/, HASH being the fragment's, so a second build
# with the same fragment and source compiles nothing. See guest/README.md.
set -euo pipefail

prog=build-kernel
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=guest/lib.sh
. "$here/lib.sh"

usage() {
	cat <<EOF
usage: $0 --out FILE [options]
  --out FILE       where the vmlinux is copied, without its symbol table (the cached
                   one keeps it and is not moved)
  --cache DIR      cache (default /var/cache/vcrun if writable, else ./build/cache)
  --config FILE    config fragment (default guest/lean.config)
  --source FILE    linux-source tarball (default /usr/src/linux-source-*.tar.xz, the
                   newest, from Debian's linux-source package)
  --jobs N         parallel compile jobs (default: the CPU count)
  --print-key      print the cache key (SOURCEVERSION-HASH) and exit
EOF
	exit 2
}

out="" cache="" fragment="$here/lean.config" source="" jobs=$(nproc) print_key=false
while [ $# -gt 0 ]; do
	case $1 in
	--out | --cache | --config | --source | --jobs)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--out) out=$2 ;;
		--cache) cache=$2 ;;
		--config) fragment=$2 ;;
		--source) source=$2 ;;
		--jobs) jobs=$2 ;;
		esac
		shift 2
		;;
	--print-key)
		print_key=true
		shift
		;;
	-h | --help) usage ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
[ -n "$out" ] || $print_key || usage
[ -f "$fragment" ] || die "config fragment '$fragment' does not exist"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive number, not '$jobs'"

if [ -z "$source" ]; then
	for f in /usr/src/linux-source-*.tar.xz; do
		[ -e "$f" ] || continue
		source=$(printf '%s\n%s\n' "$source" "$f" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$source" ] || die "no /usr/src/linux-source-*.tar.xz: run scripts/install-deps.sh (package linux-source)"
fi
[ -f "$source" ] || die "kernel source '$source' does not exist"
# The package's version names the source (6.1.192-3); a tarball from elsewhere is
# named by its own hash.
srcpkg=$(basename "$source" .tar.xz)
srcver=$(dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null || true)
if [ -z "$srcver" ] || ! dpkg-query -L "$srcpkg" 2>/dev/null | grep -qxF "$source"; then
	srcver=$(sha256sum "$source" | cut -c1-16)
fi
hash=$(sha256sum "$fragment" | cut -c1-16)
key="${srcpkg#linux-source-}_${srcver}-$hash"
if $print_key; then
	echo "$key"
	exit 0
fi

[ -n "$cache" ] || cache=$(default_cache)
dir="$cache/lean-kernel/$key"
mkdir -p "$cache/lean-kernel"

# Installed without its symbol table (the cache keeps it, for debugging): QEMU's ELF
# loader copies .symtab and .strtab into every VM's heap (for its disassembler), about
# 2 MiB of private memory per VM that nothing reads (bench/README.md, "Clones after
# issue 11"). The PVH note and the loaded segments stay.
install_out() {
	command -v objcopy >/dev/null || die "'objcopy' not found: run scripts/install-deps.sh"
	mkdir -p "$(dirname "$out")"
	objcopy --strip-all "$dir/vmlinux" "$out.tmp"
	mv -f "$out.tmp" "$out"
	note "$out: $(cat "$dir/release"), $(wc -c <"$out") bytes (cached in $dir)"
}

if [ -e "$dir/.complete" ]; then
	install_out
	exit 0
fi

for tool in make gcc ld bc flex bison tar xz readelf; do
	command -v "$tool" >/dev/null || die "'$tool' not found: run scripts/install-deps.sh"
done
[ -e /usr/include/libelf.h ] || die "libelf.h not found (libelf-dev): run scripts/install-deps.sh"

# One build per key at a time: a second caller waits, then finds it cached.
exec 9>"$cache/lean-kernel/$key.lock"
flock 9
if [ -e "$dir/.complete" ]; then
	install_out
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vcrun-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
note "unpacking $source"
tar -xJf "$source" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$src/Makefile" ] || die "$source: no kernel tree inside"

# A fixed banner (`uname -v`, /proc/version): the same source and fragment build the
# same kernel.
kmake=(make -C "$src" ARCH=x86_64 KBUILD_BUILD_USER=vcrun KBUILD_BUILD_HOST=vcrun
	KBUILD_BUILD_TIMESTAMP="$(date -u -d "@${SOURCE_DATE_EPOCH:-0}")")
# tinyconfig merges its own fragments and lists every override: kept in a log.
if ! { "${kmake[@]}" -s tinyconfig &&
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" &&
	"${kmake[@]}" -s olddefconfig; } >"$work/config.log" 2>&1; then
	cat "$work/config.log" >&2
	die "configuring the kernel failed (the log is above)"
fi

# Every line of the fragment must be in the result: Kconfig drops an option whose
# dependencies are unmet without a word, and the kernel would then lack it.
lost=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		name=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		name=${BASH_REMATCH[1]} want=n
	else
		continue
	fi
	got=$(sed -n "s/^$name=//p" "$src/.config")
	[ -n "$got" ] || got=n
	[ "$got" = "$want" ] || lost+=("$name (asked $want, got $got)")
done <"$fragment"
if [ ${#lost[@]} -gt 0 ]; then
	printf '%s: not set as %s asks (unmet dependencies?):\n' "$prog" "$fragment" >&2
	printf '  %s\n' "${lost[@]}" >&2
	exit 1
fi

note "compiling ($jobs jobs)"
if ! "${kmake[@]}" -s -j"$jobs" vmlinux >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	die "kernel build failed (the last lines are above)"
fi
readelf -n "$src/vmlinux" | grep -Eq 'Xen.*(\(0x00000012\)|PHYS32_ENTRY)' ||
	die "the vmlinux built has no PVH entry note (CONFIG_PVH)"

x=$(mktemp -d "$dir.XXXXXX")
chmod 0755 "$x"
cp "$src/vmlinux" "$x/vmlinux"
cp "$src/.config" "$x/config"
cp "$fragment" "$x/lean.config"
"${kmake[@]}" -s kernelrelease >"$x/release"
echo "$(($(date +%s) - start))" >"$x/build-seconds"
touch "$x/.complete"
mv -T "$x" "$dir" 2>/dev/null || rm -rf "$x"
note "built $(cat "$dir/release") in $(cat "$dir/build-seconds") s"
install_out
