#!/usr/bin/env bash
# mkbundle.sh [--hostname NAME] DIR [ARGS...]
#
# Builds an OCI bundle in DIR: DIR/rootfs is a busybox-static tree with the applets
# the tests use, DIR/config.json is `$RUNTIME spec` edited with jq (terminal false,
# process.args = ARGS, default `sh`). RUNTIME defaults to the repo's bin/vcrun; set
# RUNTIME=/usr/sbin/runc to build a bundle without vcrun.
set -euo pipefail

die() {
	echo "mkbundle: $*" >&2
	exit 1
}

usage() {
	echo "usage: mkbundle.sh [--hostname NAME] DIR [ARGS...]" >&2
	exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime=${RUNTIME:-${VCRUN:-$repo/bin/vcrun}}
hostname=

while [ $# -gt 0 ]; do
	case $1 in
	--hostname)
		[ $# -ge 2 ] || usage
		hostname=$2
		shift 2
		;;
	--hostname=*)
		hostname=${1#--hostname=}
		shift
		;;
	-h | --help) usage ;;
	--)
		shift
		break
		;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
dir=$1
shift
[ $# -gt 0 ] || set -- sh

# The static build matters: the rootfs has no libc, and the guest has nothing else.
busybox=/bin/busybox
dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q '^install ok installed$' ||
	die "package busybox-static is not installed (run scripts/install-deps.sh)"
[ -x "$busybox" ] || die "$busybox is missing although busybox-static is installed"
command -v jq >/dev/null || die "jq is not installed (run scripts/install-deps.sh)"
# `spec` runs in DIR: a relative runtime path must not depend on the caller's cwd.
case $runtime in
/*) ;;
*/*) runtime=$PWD/$runtime ;;
*) runtime=$(command -v "$runtime") || die "runtime $runtime is not in PATH" ;;
esac
[ -x "$runtime" ] || die "runtime $runtime is not executable (build it or set RUNTIME=/usr/sbin/runc)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs=$dir/rootfs
[ ! -e "$rootfs" ] || die "$rootfs already exists"
rm -f "$dir/config.json"

mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
applets="sh echo cat true false sleep uname hostname id ls ps head sha256sum wc kill mount httpd wget readlink
	 touch dd env grep mkdir rm pwd"
for a in $applets; do
	ln -s busybox "$rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

spec_out=$(cd "$dir" && "$runtime" spec 2>&1) || die "$runtime spec failed: $spec_out"
[ -s "$dir/config.json" ] || die "$runtime spec wrote no $dir/config.json"

args_json=$(jq -n '$ARGS.positional' --args -- "$@")
tmp=$(mktemp "$dir/.config.json.XXXXXX")
if ! jq --argjson args "$args_json" --arg hostname "$hostname" '
	.process.terminal = false
	| .process.args = $args
	| if $hostname != "" then .hostname = $hostname else . end
' "$dir/config.json" >"$tmp"; then
	rm -f "$tmp"
	die "jq could not edit $dir/config.json"
fi
mv "$tmp" "$dir/config.json"
