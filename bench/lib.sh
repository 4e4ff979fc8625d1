# Shared by the bench/*.sh scripts: sourced, not run.
# shellcheck shell=bash

die() {
	echo "bench: $*" >&2
	exit 1
}

# procs_under DIR: processes a benchmark started, which name DIR in their argv (roots,
# bundles, logs) or run in it (QEMU runs in its state dir).
procs_under() {
	local f p cwd args=()
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
		mapfile -d '' args 2>/dev/null <"$f" || continue
		cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || cwd=""
		[[ "${args[*]}" == *"$1"* || $cwd == "$1"/* ]] && echo "$p"
	done
	return 0
}
