#!/usr/bin/env bash
# bench/net.sh [-n N] [-t SECONDS] [-c COUNT]: container networking, vcrun against runc.
#
# Each runtime runs the same busybox bundle, with iperf3 and its libraries copied in,
# whose process is `iperf3 -s`, in a network namespace joined by path (JOIN mode, as
# podman/CNI leave it): a veth to a peer namespace, one /24 each. From the peer, per
# round (N rounds, default 3 or $BENCH_N; vcrun then runc in each round):
#   TCP peer -> container   iperf3 -c for SECONDS (default 4, after 1 s left out)
#   TCP container -> peer   the same with -R
#   ping RTT                busybox ping -c COUNT (default 20) -i 0.1, its avg
# then the medians, in a table with the vcrun/runc ratio. About 90 s with the defaults.
#
# What limits vcrun here: the machine has no usable KVM, so the guest runs under TCG
# (QEMU translating every guest instruction, one vCPU): the guest's TCP stack and
# virtio-net driver run emulated; and there is no vhost-net (/dev/vhost-net is absent),
# so every frame also crosses QEMU's userspace virtio-net backend (a read or write on
# the tap, a notification through QEMU's main loop), besides the tc mirred hop
# veth <-> tap. TSO/GSO through the tap's vnet header keep bulk TCP tolerable (one
# large segment per crossing); round trips of small packets pay the whole cost each
# time. runc's container is the veth itself, in the host kernel.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${BENCH_N:-3}
secs=4
count=20
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
	-n | -t | -c)
		bench_num_arg "$@"
		case $1 in
		-n) n=$2 ;;
		-t) secs=$2 ;;
		-c) count=$2 ;;
		esac
		shift 2
		;;
	*) bench_other_arg "$1" 2,20 "$0" ;;
	esac
done


bench_check_n
runc=${RUNC:-/usr/sbin/runc}
iperf3=${IPERF3:-$(command -v iperf3 || true)}
busybox=/bin/busybox
[ -x "$vcrun" ] || die "$vcrun is not built (run make)"
[ -x "$runc" ] || die "runc is not installed (run scripts/install-deps.sh)"
if [ -z "$iperf3" ] || [ ! -x "$iperf3" ]; then
	die "iperf3 is not installed (apt-get install iperf3)"
fi
for c in ip jq ldd; do
	command -v "$c" >/dev/null || die "$c is not installed"
done
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"

work=$(mktemp -d /tmp/vcnetbench.XXXXXX)
# Names unique to this run: two container namespaces, one peer, a veth pair to each.
tag=$$
peer_ns=vcnb-p-$tag
declare -A ctr_ns=([vcrun]=vcnb-v-$tag [runc]=vcnb-r-$tag)
declare -A ctr_if=([vcrun]=vcnbv$tag [runc]=vcnbr$tag)
declare -A peer_if=([vcrun]=vcnbpv$tag [runc]=vcnbpr$tag)
declare -A subnet=([vcrun]=10.46.1 [runc]=10.46.2)
declare -A rt_bin=([vcrun]=$vcrun [runc]=$runc)
declare -A rt_root=([vcrun]=$work/vroot [runc]=$work/rroot)

cleanup() {
	local rt id ns peer_pids
	for rt in vcrun runc; do
		for id in $("${rt_bin[$rt]}" --root "${rt_root[$rt]}" list -q 2>/dev/null); do
			"${rt_bin[$rt]}" --root "${rt_root[$rt]}" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	# The peer holds only this script's iperf3 and ping clients.
	mapfile -t peer_pids < <(ip netns pids "$peer_ns" 2>/dev/null)
	bench_reap "$work" "${peer_pids[@]}"
	for ns in "$peer_ns" "${ctr_ns[@]}"; do
		[ ! -e "/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bundle: busybox plus iperf3 with the libraries ldd names, at their paths ---
RUNTIME=$vcrun "$repo/scripts/mkbundle.sh" "$work/vcrun" iperf3 -s
rootfs=$work/vcrun/rootfs
cp "$iperf3" "$rootfs/bin/iperf3"
while read -r lib; do
	mkdir -p "$rootfs$(dirname "$lib")"
	cp -L "$lib" "$rootfs$lib"
done < <(ldd "$iperf3" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
# The spec's root is read-only: iperf3's buffer files go to the /dev/shm tmpfs.
jq '.process.env += ["TMPDIR=/dev/shm"]' "$work/vcrun/config.json" >"$work/vcrun/config.json.new"
mv "$work/vcrun/config.json.new" "$work/vcrun/config.json"
mkdir -p "$work/vroot" "$work/rroot"
cp -a "$work/vcrun" "$work/runc"

# --- the namespaces: the peer, and per runtime a container namespace joined by path ---
ip netns add "$peer_ns"
ip -n "$peer_ns" link set lo up
for rt in vcrun runc; do
	ip netns add "${ctr_ns[$rt]}"
	ip -n "${ctr_ns[$rt]}" link set lo up
	ip -n "${ctr_ns[$rt]}" link add "${ctr_if[$rt]}" type veth peer name "${peer_if[$rt]}" \
		netns "$peer_ns"
	ip -n "${ctr_ns[$rt]}" addr add "${subnet[$rt]}.2/24" dev "${ctr_if[$rt]}"
	ip -n "${ctr_ns[$rt]}" link set "${ctr_if[$rt]}" up
	ip -n "$peer_ns" addr add "${subnet[$rt]}.1/24" dev "${peer_if[$rt]}"
	ip -n "$peer_ns" link set "${peer_if[$rt]}" up
	jq --arg p "/run/netns/${ctr_ns[$rt]}" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		"$work/$rt/config.json" >"$work/$rt/config.json.new"
	mv "$work/$rt/config.json.new" "$work/$rt/config.json"
done

in_peer() {
	ip netns exec "$peer_ns" "$@"
}

# --- both containers up, each serving iperf3 -s ---
for rt in vcrun runc; do
	echo "bench: starting the $rt container" >&2
	"${rt_bin[$rt]}" --root "${rt_root[$rt]}" create --bundle "$work/$rt" "s$rt" </dev/null \
		>"$work/$rt.out" 2>"$work/$rt.err" || die "$rt create failed: $(cat "$work/$rt.err")"
	"${rt_bin[$rt]}" --root "${rt_root[$rt]}" start "s$rt" 2>>"$work/$rt.err" ||
		die "$rt start failed: $(cat "$work/$rt.err")"
done
# The server is up once a 1 s test goes through (a VM boots in a few seconds under TCG).
for rt in vcrun runc; do
	deadline=$((SECONDS + 120))
	until in_peer "$iperf3" -c "${subnet[$rt]}.2" -t 1 --connect-timeout 3000 >"$work/probe.out" 2>&1; do
		[ $SECONDS -lt $deadline ] ||
			die "iperf3 in the $rt container does not answer: $(tail -n3 "$work/probe.out"); container: $(tail -n5 "$work/$rt.out" "$work/$rt.err")"
		sleep 0.5
	done
done

# iperf_mbps RT [iperf3 args]: receiver's Mbit/s of one test against RT's container.
iperf_mbps() {
	local rt=$1
	shift
	in_peer "$iperf3" -c "${subnet[$rt]}.2" -t "$secs" -O 1 -J "$@" >"$work/iperf.json" 2>&1 ||
		die "iperf3 against $rt failed: $(jq -r '.error // empty' "$work/iperf.json" 2>/dev/null || tail -n3 "$work/iperf.json")"
	jq -r '.end.sum_received.bits_per_second' "$work/iperf.json" |
		awk '{ printf "%.1f", $1 / 1e6 }'
}

# ping_ms RT: busybox ping's average RTT in ms; every packet must come back.
ping_ms() {
	in_peer "$busybox" ping -c "$count" -i 0.1 "${subnet[$1]}.2" >"$work/ping.out" 2>&1 ||
		die "ping of the $1 container failed: $(tail -n3 "$work/ping.out")"
	grep -q " $count packets received" "$work/ping.out" ||
		die "ping of the $1 container lost packets: $(grep 'packets transmitted' "$work/ping.out")"
	sed -n 's|^round-trip min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$work/ping.out"
}

declare -A up down rtt
for ((i = 1; i <= n; i++)); do
	echo "bench: round $i of $n" >&2
	for rt in vcrun runc; do
		up[$rt]+="$(iperf_mbps "$rt") "
		down[$rt]+="$(iperf_mbps "$rt" -R) "
		rtt[$rt]+="$(ping_ms "$rt") "
	done
done

# median DIGITS VALUES...: printed with DIGITS decimals.
median() {
	local digits=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v d="$digits" '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%." d "f", m }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}

# row WHAT UNIT DIGITS VCRUN-VALUES RUNC-VALUES
row() {
	local what=$1 unit=$2 digits=$3 v r
	# shellcheck disable=SC2086 # space-separated numbers
	v=$(median "$digits" $4)
	# shellcheck disable=SC2086
	r=$(median "$digits" $5)
	printf '%-24s %18s %18s %11s\n' "$what" "$v $unit" "$r $unit" "$(ratio "$v" "$r")"
}

echo
echo "container <-> peer namespace over a veth (JOIN mode), median of $n rounds"
echo "(iperf3 -t $secs -O 1 from the peer to iperf3 -s in the container; busybox ping -c $count -i 0.1)"
printf '%-24s %18s %18s %11s\n' "what" "vcrun" "runc" "vcrun/runc"
row "TCP peer -> container" Mbit/s 1 "${up[vcrun]}" "${up[runc]}"
row "TCP container -> peer" Mbit/s 1 "${down[vcrun]}" "${down[runc]}"
row "ping RTT (avg)" ms 3 "${rtt[vcrun]}" "${rtt[runc]}"
echo
echo "all rounds, Mbit/s up | down | ms:"
for rt in vcrun runc; do
	printf '  %-6s %s| %s| %s\n' "$rt" "${up[$rt]}" "${down[$rt]}" "${rtt[$rt]}"
done
