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

# bench_num_arg FLAG [VALUE...]: in an option loop, FLAG must be followed by a positive
# number; exits 2 saying so otherwise.
bench_num_arg() {
	if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
		echo "bench: $1 needs a positive number" >&2
		exit 2
	fi
}

# bench_args LINES SCRIPT ARGS...: the option loop that start.sh, cli.sh and pod.sh
# share: -n N sets n, --strict sets strict=true (false by default), anything else goes
# to the script's own bench_flag FLAG when it defines one (returning 1 for a flag it
# does not know), then to bench_other_arg.
# shellcheck disable=SC2034 # n and strict are the caller's
bench_args() {
	local lines=$1 script=$2
	shift 2
	strict=false
	while [ $# -gt 0 ]; do
		case $1 in
		-n)
			[ $# -ge 2 ] || {
				echo "bench: -n needs a number" >&2
				exit 2
			}
			n=$2
			shift
			;;
		--strict) strict=true ;;
		*)
			if ! declare -F bench_flag >/dev/null || ! bench_flag "$1"; then
				bench_other_arg "$1" "$lines" "$script"
			fi
			;;
		esac
		shift
	done
}

# bench_check_n: after the option loop; sets vcrun to the runtime under test.
bench_check_n() {
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "-n must be a positive number, not '$n'"
	vcrun=${VCRUN:-$repo/bin/vcrun}
}

# bench_config OUT JQ-FILTER [jq args...]: vcrun's config for a run: the host's own
# ($VCRUN_CONFIG or /etc/vcrun/config.json, so its qemu, accel and the rest stay)
# with FILTER applied, written to OUT.
bench_config() {
	local out=$1 filter=$2 base=${VCRUN_CONFIG:-/etc/vcrun/config.json}
	shift 2
	if [ -f "$base" ]; then
		jq "$@" "$filter" "$base" >"$out" || die "jq could not read $base"
	else
		jq -n "$@" "{} | $filter" >"$out"
	fi
}

# bench_bundles DIR: the busybox bundles DIR/true (process `true`) and DIR/sleep
# (`sleep 600`), made for $vcrun.
bench_bundles() {
	RUNTIME=$vcrun "$repo/scripts/mkbundle.sh" "$1/true" true
	RUNTIME=$vcrun "$repo/scripts/mkbundle.sh" "$1/sleep" sleep 600
}

# bench_delete_all RUNTIME ROOT: delete --force every container in ROOT (cleanups).
bench_delete_all() {
	local id
	for id in $("$1" --root "$2" list -q 2>/dev/null); do
		"$1" --root "$2" delete --force "$id" >/dev/null 2>&1 || true
	done
}

# bench_qemu_of DIR: the QEMU processes under DIR (procs_under).
bench_qemu_of() {
	local p
	for p in $(procs_under "$1"); do
		[[ "$(cat 2>/dev/null <"/proc/$p/comm")" != qemu* ]] || echo "$p"
	done
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

# bench_reap DIR [PID...]: the cleanups' last resort: kills the PIDs and every process
# that still names DIR (procs_under), saying what each was.
bench_reap() {
	local p dir=$1
	shift
	for p in "$@" $(procs_under "$dir"); do
		echo "bench: killing leftover process $p: $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" >&2
		kill -KILL "$p" 2>/dev/null || true
	done
}

# target NAME YES-WHEN-AWK-EXPR DETAIL: one yes/NO line under a table; a miss sets
# the caller's missed=1.
# shellcheck disable=SC2034 # missed is the caller's
target() {
	if awk "BEGIN { exit !($2) }"; then
		echo "$1: yes ($3)"
	else
		echo "$1: NO ($3)"
		missed=1
	fi
}
