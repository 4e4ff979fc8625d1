#!/usr/bin/env bash
# scripts/demo.sh: runs `uname -r` in a busybox container with bin/vcrun and prints
# the host's and the guest's kernel side by side. Exits non-zero if the run failed or
# the container saw the host's kernel. `make demo` builds first, then runs this.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
vcrun=${VCRUN:-$repo/bin/vcrun}
bundle=build/demo-bundle
root=$repo/build/demo-root
id=demo-$$

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$vcrun" ] || die "$vcrun is not built (run make)"

cleanup() {
	"$vcrun" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$bundle"
RUNTIME=$vcrun scripts/mkbundle.sh "$bundle" uname -r
mkdir -p "$root"

rc=0
guest=$("$vcrun" --root "$root" run --bundle "$bundle" "$id" </dev/null) || rc=$?
[ "$rc" -eq 0 ] || die "vcrun run exited $rc"
host=$(uname -r)
echo "host kernel: $host"
echo "guest kernel: $guest"
[ -n "$guest" ] || die "the container printed nothing"
[ "$guest" != "$host" ] || die "the container runs on the host's kernel"
