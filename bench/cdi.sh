#!/usr/bin/env bash
# bench/cdi.sh [-n N] [--specs M] [--strict]: the cost of CDI in `vcrun create`.
#
# Generates M spec files (default 1000, half JSON, half YAML, 4 devices each with
# env, device nodes, mounts, hooks and GIDs) in a temporary spec directory, then
# times, as the median wall time of N runs (default 11, or $BENCH_N):
#   (a) `vcrun cdi apply` of 8 devices from 8 different files: load the whole
#       registry, resolve, apply, print (the target: under 50 ms),
#   (b) `vcrun cdi list`: loading the registry alone,
#   (c) `vcrun cdi apply` with an empty spec directory: the process itself.
# --strict: exit 1 when the target is missed. See cdi/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-11}
specs=1000
strict=false
while [ $# -gt 0 ]; do
	case $1 in
	-n)
		n=${2:?-n needs a number}
		shift 2
		;;
	--specs)
		specs=${2:?--specs needs a number}
		shift 2
		;;
	--strict)
		strict=true
		shift
		;;
	-h | --help)
		sed -n '2,12s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "bench: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
done

VCRUN=${VCRUN:-$repo/bin/vcrun}
[ -x "$VCRUN" ] || {
	echo "bench: $VCRUN is not built (make)" >&2
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/vccdibench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/specs" "$work/empty"

# One spec file per vendor; devices d0..d3. Every node is fully specified except
# one that is completed from /dev/null, so apply does an lstat as it would for real.
for ((i = 0; i < specs; i++)); do
	if ((i % 2)); then
		cat >"$work/specs/vendor$i.yaml" <<-EOF
			cdiVersion: 0.7.0
			kind: vendor$i.example.com/gpu
			containerEdits:
			  env: [VENDOR$i=1, SHARED=$i]
			  mounts:
			    - {hostPath: /usr/lib/vendor$i, containerPath: /usr/lib/vendor$i, options: [ro, bind]}
			  hooks:
			    - {hookName: createContainer, path: /usr/bin/hook$i, args: [hook$i, --ldcache]}
			devices:
			  - name: d0
			    containerEdits:
			      deviceNodes: [{path: /dev/v$i-0, type: c, major: 195, minor: 0}]
			      env: [DEV=0]
			  - name: d1
			    containerEdits:
			      deviceNodes: [{path: /dev/v$i-1, hostPath: /dev/null}]
			      additionalGids: [44]
			  - name: d2
			    containerEdits:
			      deviceNodes: [{path: /dev/v$i-2, type: b, major: 8, minor: 2, permissions: rw}]
			  - name: d3
			    containerEdits:
			      mounts: [{hostPath: /srv/$i, containerPath: /data/$i/x}]
		EOF
	else
		cat >"$work/specs/vendor$i.json" <<-EOF
			{"cdiVersion": "0.7.0", "kind": "vendor$i.example.com/gpu",
			 "containerEdits": {"env": ["VENDOR$i=1", "SHARED=$i"],
			   "mounts": [{"hostPath": "/usr/lib/vendor$i", "containerPath": "/usr/lib/vendor$i", "options": ["ro", "bind"]}],
			   "hooks": [{"hookName": "createContainer", "path": "/usr/bin/hook$i", "args": ["hook$i", "--ldcache"]}]},
			 "devices": [
			  {"name": "d0", "containerEdits": {"deviceNodes": [{"path": "/dev/v$i-0", "type": "c", "major": 195, "minor": 0}], "env": ["DEV=0"]}},
			  {"name": "d1", "containerEdits": {"deviceNodes": [{"path": "/dev/v$i-1", "hostPath": "/dev/null"}], "additionalGids": [44]}},
			  {"name": "d2", "containerEdits": {"deviceNodes": [{"path": "/dev/v$i-2", "type": "b", "major": 8, "minor": 2, "permissions": "rw"}]}},
			  {"name": "d3", "containerEdits": {"mounts": [{"hostPath": "/srv/$i", "containerPath": "/data/$i/x"}]}}]}
		EOF
	fi
done

# runc's starter config is a realistic one to edit.
(cd "$work" && "$VCRUN" spec)
devices=()
for ((k = 0; k < 8; k++)); do
	i=$((k * specs / 8))
	devices+=(--device "vendor$i.example.com/gpu=d$((k % 4))")
done

now_ns() { date +%s%N; }

# median_ms CMD...: runs CMD n times (output discarded, failure fatal).
median_ms() {
	local t0 t1 times=()
	for ((r = 0; r < n; r++)); do
		t0=$(now_ns)
		"$@" >/dev/null || {
			echo "bench: failed: $*" >&2
			exit 1
		}
		t1=$(now_ns)
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" 'NR == int((n + 1) / 2) { printf "%.1f", $1 / 1000 }'
}

# The request must work before it is timed.
"$VCRUN" cdi apply --config "$work/config.json" --spec-dir "$work/specs" "${devices[@]}" >"$work/out.json"
resolved=$("$VCRUN" cdi list --spec-dir "$work/specs" 2>"$work/list.err" | wc -l)
[ ! -s "$work/list.err" ] || {
	echo "bench: spec problems:" >&2
	cat "$work/list.err" >&2
	exit 1
}

apply=$(median_ms "$VCRUN" cdi apply --config "$work/config.json" --spec-dir "$work/specs" "${devices[@]}")
list=$(median_ms "$VCRUN" cdi list --spec-dir "$work/specs")
bare=$(median_ms "$VCRUN" cdi apply --config "$work/config.json" --spec-dir "$work/empty")

printf '%-58s %10s\n' "median of $n runs, $specs spec files, $resolved devices" "ms"
printf '%-58s %10s\n' "(a) cdi apply: load registry + apply 8 devices + print" "$apply"
printf '%-58s %10s\n' "(b) cdi list: load registry" "$list"
printf '%-58s %10s\n' "(c) cdi apply, empty spec directory (process floor)" "$bare"
met=$(awk -v a="$apply" 'BEGIN { print (a < 50) ? "yes" : "NO" }')
echo "target: (a) under 50 ms: $met"
if $strict && [ "$met" != yes ]; then
	exit 1
fi
