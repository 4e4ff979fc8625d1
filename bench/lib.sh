# Shared by the bench/*.sh scripts: sourced, not run.
# shellcheck shell=bash

die() {
	echo "bench: $*" >&2
	exit 1
}

# bench_other_arg ARG LINES SCRIPT: the last arm of every script's option loop:
# --help prints SCRIPT's header comment (sed line range LINES), anything else is an
# error.
bench_other_arg() {
	case $1 in
	-h | --help)
		sed -n "${2}s/^# \{0,1\}//p" "$3"
		exit 0
		;;
	esac
	echo "bench: unknown argument $1 (try --help)" >&2
	exit 2
}

# bench_check_n: after the option loop; sets vcrun to the runtime under test.
bench_check_n() {
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "-n must be a positive number, not '$n'"
	vcrun=${VCRUN:-$repo/bin/vcrun}
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
