#!/usr/bin/env bats
# The container's network namespace bridged into its VM (netns/README.md): a namespace
# joined by path, one vcrun makes and a hook fills (as docker's libnetwork-setkey), no
# namespace at all; traffic both ways, MAC/MTU/name/routes carried, cleanup, errors.
# Each test boots at most one VM. Everything it makes on the host is named vc45*:
# namespaces vc45p-N (the peer) and vc45c-N (the container's, JOIN mode), veths
# vc45e<N> (container side) / vc45q<N> (peer side) / vc45h<N> (made on the host, NEW
# mode), addresses 10.45.N.0/24, all removed by teardown. With VCRUN=/usr/sbin/runc the
# VM-only checks (taps, filters, the pin, a guest with only lo) are left out.

load helpers

# Where vcrun pins the namespaces it makes (netns/netns.h VC_NETNS_RUN_DIR).
VC_NETNS_DIR=/run/vcrun/netns

setup() {
	common_setup
	n=$BATS_TEST_NUMBER
	peer_ns=vc45p-$n
	ctr_ns=vc45c-$n
	ctr_if=vc45e$n
	peer_if=vc45q$n
	host_if=vc45h$n
	peer_ip=10.45.$n.1
	ctr_ip=10.45.$n.2
}

teardown() {
	# The peer namespace only holds what this test started there (httpd, wget).
	netns_gone "$peer_ns" "$ctr_ns"
	ip link del "$host_if" 2>/dev/null || true
	common_teardown
}

# peer_netns: the peer namespace with its end of a veth, $peer_ip/24, up. With
# CTR_NS, the other end goes in that namespace as $ctr_if; else it stays on the host
# as $host_if (for a hook to move).
peer_netns() {
	ip netns add "$peer_ns"
	ip -n "$peer_ns" link set lo up
	if [ -n "${1:-}" ]; then
		ip -n "$1" link add "$ctr_if" type veth peer name "$peer_if" netns "$peer_ns"
	else
		ip link add "$host_if" type veth peer name "$peer_if" netns "$peer_ns"
	fi
	ip -n "$peer_ns" addr add "$peer_ip/24" dev "$peer_if"
	ip -n "$peer_ns" link set "$peer_if" up
}

# join_netns: the container's namespace vc45c-N, as podman/CNI would leave it: the
# veth end $ctr_if with $ctr_ip/24, up, and the peer on the other end.
join_netns() {
	ip netns add "$ctr_ns"
	ip -n "$ctr_ns" link set lo up
	peer_netns "$ctr_ns"
	ip -n "$ctr_ns" addr add "$ctr_ip/24" dev "$ctr_if"
	ip -n "$ctr_ns" link set "$ctr_if" up
}

# net_bundle DIR ARGS...: a bundle with the network applets and CAP_NET_RAW (busybox
# ping opens a raw socket, as with runc).
net_bundle() {
	local dir=$1 a
	shift
	make_bundle "$dir" "$@"
	for a in ping ip timeout; do # wget, httpd: mkbundle.sh has them
		ln -s busybox "$dir/rootfs/bin/$a"
	done
	spec_edit "$dir" '.process.capabilities |= (.bounding += ["CAP_NET_RAW"]
		| .effective += ["CAP_NET_RAW"] | .permitted += ["CAP_NET_RAW"])'
}

# join_spec DIR: the spec's network namespace is the path of vc45c-N.
join_spec() {
	spec_edit "$1" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/run/netns/$ctr_ns"
	jq -e --arg p "/run/netns/$ctr_ns" '.linux.namespaces | any(.type == "network" and .path == $p)' \
		"$1/config.json" >/dev/null
}

# peer_httpd [ADDR]: busybox httpd in the peer namespace serving $T/peerwww/hello.txt
# on ADDR:8080 (default $peer_ip); returns once it answers.
peer_httpd() {
	local addr=${1:-$peer_ip}
	mkdir -p "$T/peerwww"
	echo "hello from peer $n" >"$T/peerwww/hello.txt"
	(
		close_test_fds
		exec ip netns exec "$peer_ns" /bin/busybox httpd -f -p "$addr:8080" -h "$T/peerwww"
	) </dev/null >"$T/peer-httpd-$addr.log" 2>&1 &
	echo $! >>"$T/bg.pids"
	wait_for 10 ip netns exec "$peer_ns" wget -q -t 1 -T 2 -O /dev/null \
		"http://$addr:8080/hello.txt" ||
		fail "httpd in $peer_ns does not answer: $(cat "$T/peer-httpd-$addr.log")"
}

# peer_fetch URL: wget from the peer namespace into $T/fetched. GNU wget, for its
# timeout: busybox 1.35's (Debian 1:1.35.0-4+deb12u1) `wget -T` segfaults.
peer_fetch() {
	ip netns exec "$peer_ns" wget -q -t 1 -T 3 -O "$T/fetched" "$1"
}

# no_pin ID: vcrun has no pinned namespace (file or mount) for ID.
no_pin() {
	[ -z "$(pin_of "$1")" ] || fail "$(pin_of "$1") exists"
	! grep -q " $VC_NETNS_DIR/$(host_name_of "$1") " /proc/self/mountinfo ||
		fail "the pin of $1 is still mounted"
}

@test "network JOIN: the container reaches the peer namespace by ping and TCP" {
	join_netns
	peer_httpd
	net_bundle "$T/b" sh -c "ping -c 3 -w 30 $peer_ip; echo ping-rc=\$?
		timeout 30 wget -q -O - http://$peer_ip:8080/hello.txt; echo wget-rc=\$?"
	join_spec "$T/b"
	id=$(new_id join)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run exited $status: $stderr"
	[[ $output == *"ping-rc=0"* ]] || fail "ping failed: $output"
	[[ $output == *"64 bytes from $peer_ip"* ]] || fail "no ping reply: $output"
	[[ $output =~ 3\ packets\ transmitted,\ [1-3]\ packets\ received ]] ||
		fail "ping statistics: $output"
	[[ $output == *"hello from peer $n"*"wget-rc=0"* ]] || fail "wget from the peer: $output"
}

@test "network JOIN: the peer reaches an httpd in the container" {
	join_netns
	net_bundle "$T/b" httpd -f -p 8080 -h /www
	mkdir "$T/b/rootfs/www"
	echo "served from the guest $n" >"$T/b/rootfs/www/c.txt"
	join_spec "$T/b"
	id=$(new_id serve)
	rc=0
	vcrun create --bundle "$T/b" "$id" </dev/null >"$T/c.out" 2>"$T/c.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "create exited $rc: $(cat "$T/c.err")"
	vcrun start "$id"
	wait_for "$VC_TIMEOUT" peer_fetch "http://$ctr_ip:8080/c.txt" ||
		fail "the peer could not fetch from $ctr_ip:8080 in ${VC_TIMEOUT}s (status $(state_status "$id")): $(cat "$T/c.out" "$T/c.err")"
	[ "$(cat "$T/fetched")" = "served from the guest $n" ] || fail "fetched: $(cat "$T/fetched")"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
	# Back in the namespace's own stack, nothing listens on 8080.
	! peer_fetch "http://$ctr_ip:8080/c.txt" || fail "something still answers on $ctr_ip:8080 after delete"
}

@test "network NEW: vcrun pins a namespace, a createRuntime hook moves a veth in as docker does" {
	peer_netns
	peer_httpd
	cat >"$T/setkey.sh" <<-EOF
		# As docker's libnetwork-setkey: the state on stdin names the pid whose
		# namespace is the container's.
		set -eu
		PATH=/usr/sbin:/usr/bin:/sbin:/bin
		pid=\$(jq -r .pid)
		ip link set "$host_if" netns "\$pid"
		nsenter -t "\$pid" -n ip link set "$host_if" name eth0
		nsenter -t "\$pid" -n ip addr add "$ctr_ip/24" dev eth0
		nsenter -t "\$pid" -n ip link set eth0 up
		nsenter -t "\$pid" -n ip route add default via "$peer_ip"
	EOF
	net_bundle "$T/b" sh -c "ls /sys/class/net; ip route
		timeout 30 wget -q -O - http://$peer_ip:8080/hello.txt; echo wget-rc=\$?; sleep 600"
	jq -e '.linux.namespaces | any(.type == "network" and (has("path") | not))' "$T/b/config.json" \
		>/dev/null || fail "the spec has no network namespace without a path"
	spec_edit "$T/b" '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", $s]}]' \
		--arg s "$T/setkey.sh"
	id=$(new_id "vc45new$n")
	no_pin "$id"

	rc=0
	vcrun create --bundle "$T/b" --pid-file "$T/pid" "$id" </dev/null >"$T/c.out" 2>"$T/c.err" ||
		rc=$?
	[ "$rc" -eq 0 ] || fail "create exited $rc: $(cat "$T/c.err")"
	pid=$(cat "$T/pid")
	[ "$(vcrun state "$id" | jq -r .pid)" = "$pid" ]
	nsenter --net="/proc/$pid/ns/net" ip -o link show eth0 >/dev/null ||
		fail "no eth0 in the namespace of pid $pid"
	! ip link show "$host_if" >/dev/null 2>&1 || fail "the hook did not move $host_if"
	ip -n "$peer_ns" link show "$peer_if" >/dev/null
	pin=$(pin_of "$id")
	if is_vm_runtime; then
		# The stand-in (state's pid), where the hook put the veth, is in the pinned namespace.
		[ -e "$pin" ] || fail "no pin $pin after create"
		[ "$(readlink "/proc/$pid/ns/net")" = "net:[$(stat -L -c %i "$pin")]" ] ||
			fail "stand-in $pid is in $(readlink "/proc/$pid/ns/net"), the pin is inode $(stat -L -c %i "$pin")"
	fi

	vcrun start "$id"
	wait_output "$T/c.out" "wget-rc="
	out=$(cat "$T/c.out")
	[[ $out == *"hello from peer $n"*"wget-rc=0"* ]] || fail "wget from the peer: $out $(cat "$T/c.err")"
	[[ $out == *eth0* ]] || fail "the guest has no eth0: $out"
	[[ $out == *"default via $peer_ip dev eth0"* ]] || fail "the default route was not carried: $out"
	[ "$(state_status "$id")" = running ]
	! is_vm_runtime || [ -e "$pin" ] || fail "the pin $pin is gone while the container runs"

	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
	no_pin "$id"
}

@test "network: the guest NIC has the interface's name, MAC, MTU and address" {
	join_netns
	ip -n "$ctr_ns" link set "$ctr_if" mtu 1400 address 02:45:00:00:00:2d
	ip -n "$peer_ns" link set "$peer_if" mtu 1400
	net_bundle "$T/b" sh -c "ls /sys/class/net; echo mtu=\$(cat /sys/class/net/$ctr_if/mtu)
		echo mac=\$(cat /sys/class/net/$ctr_if/address); ip -o -4 addr show dev $ctr_if"
	join_spec "$T/b"
	id=$(new_id mtu)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run exited $status: $stderr"
	[ "$(grep -vE '^(mtu|mac)=|inet' <<<"$output" | sort | tr '\n' ' ')" = "lo $ctr_if " ] ||
		fail "the guest's interfaces are not lo and $ctr_if: $output"
	grep -qx mtu=1400 <<<"$output" || fail "MTU: $output"
	grep -qx mac=02:45:00:00:00:2d <<<"$output" || fail "MAC: $output"
	[[ $output == *"$ctr_if"*"inet $ctr_ip/24"* ]] || fail "address: $output"
}

@test "network JOIN: delete leaves no tap, qdisc or filter; the engine's veth keeps its address" {
	join_netns
	net_bundle "$T/b" true
	join_spec "$T/b"
	id=$(new_id cleanup)
	rc=0
	vcrun create --bundle "$T/b" "$id" </dev/null >"$T/c.out" 2>"$T/c.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "create exited $rc: $(cat "$T/c.err")"
	if is_vm_runtime; then
		# Present while the container exists, so their absence below means something.
		links=$(ip -n "$ctr_ns" -o link show)
		[[ $links =~ tap0_vc ]] || fail "no tap0_vc after create: $links"
		[[ $(tc -n "$ctr_ns" qdisc show dev "$ctr_if") == *ingress* ]] ||
			fail "no ingress qdisc on $ctr_if"
		[[ $(tc -n "$ctr_ns" filter show dev "$ctr_if" ingress) == *"mirred (Egress Redirect to device tap0_vc)"* ]] ||
			fail "no redirect filter on $ctr_if: $(tc -n "$ctr_ns" filter show dev "$ctr_if" ingress)"
	fi
	vcrun start "$id"
	wait_status "$id" stopped
	vcrun delete "$id"

	links=$(ip -n "$ctr_ns" -o link show)
	! [[ $links =~ tap[0-9]+_vc ]] || fail "a tap is left: $links"
	qdiscs=$(tc -n "$ctr_ns" qdisc show)
	[[ $qdiscs != *ingress* ]] || fail "an ingress qdisc is left: $qdiscs"
	filters=$(tc -n "$ctr_ns" filter show dev "$ctr_if" ingress 2>&1)
	[ -z "$filters" ] || fail "filters left on $ctr_if: $filters"
	link=$(ip -n "$ctr_ns" -o link show "$ctr_if") || fail "$ctr_if is gone"
	[[ $link == *"state UP"* ]] || fail "$ctr_if is not up: $link"
	[[ $(ip -n "$ctr_ns" -o -4 addr show dev "$ctr_if") == *"inet $ctr_ip/24"* ]] ||
		fail "$ctr_if lost its address: $(ip -n "$ctr_ns" -o addr show dev "$ctr_if")"
	no_pin "$id"
}

@test "network: no network namespace in the spec means the host's, and the guest gets only lo" {
	net_bundle "$T/b" ls /sys/class/net
	spec_edit "$T/b" '.linux.namespaces |= map(select(.type != "network"))'
	id=$(new_id host)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run exited $status: $stderr"
	if is_vm_runtime; then
		[ "$output" = lo ] || fail "the guest's interfaces: $output"
	else
		# runc's container is in the host's namespace: it sees the host's interfaces.
		[ "$output" = "$(ls /sys/class/net)" ] || fail "the container's interfaces: $output"
	fi
	no_pin "$id"
}

@test "network errors: a namespace path that does not exist fails create, names it, leaves nothing" {
	missing=/run/netns/vc45-missing-$n
	[ ! -e "$missing" ]
	make_bundle "$T/b" true
	spec_edit "$T/b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "$missing"
	id=$(new_id "vc45bad$n")
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded"
	[[ $stderr == *"$missing"* ]] || fail "the error does not name $missing: $stderr"
	vc_capture state "$id"
	[ "$status" -ne 0 ] || fail "the container exists after the failed create"
	[ ! -e "$ROOT/$id" ] || fail "state dir $ROOT/$id is left"
	no_pin "$id"
}

# late_veth: a second veth between the namespaces, as `podman network connect` would
# add after start: vc45m<N> in the container's (10.45.1<N>.2/24), vc45o<N> in the
# peer's (10.45.1<N>.1/24).
late_veth() {
	late_if=vc45m$n
	late_ip=10.45.1$n.2
	late_peer=10.45.1$n.1
	ip -n "$ctr_ns" link add "$late_if" type veth peer name vc45o$n netns "$peer_ns"
	ip -n "$ctr_ns" addr add "$late_ip/24" dev "$late_if"
	ip -n "$peer_ns" addr add "$late_peer/24" dev vc45o$n
	ip -n "$peer_ns" link set vc45o$n up
	ip -n "$ctr_ns" link set "$late_if" up
}

@test "network: an interface added after the VM started reaches the guest (hot-plugged NIC), and goes again" {
	join_netns
	net_bundle "$T/b" sleep 600
	join_spec "$T/b"
	id=$(new_id late)
	vc_capture --debug --log "$T/vcrun.log" run -d --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	late_veth
	peer_httpd "$late_peer"
	wait_for 30 grep -q "interface $late_if (.*) hot-plugged as NIC" "$T/vcrun.log" ||
		fail "not hot-plugged: $(cat "$T/vcrun.log")"
	if is_vm_runtime; then
		ip -n "$ctr_ns" link show tap1_vc >/dev/null || fail "no tap for $late_if"
	fi
	# The agent waits for the NIC, names it and gives it the address.
	wait_for 30 vcrun exec "$id" ip addr show "$late_if" >"$T/addr" 2>&1 ||
		fail "no $late_if in the guest: $(cat "$T/addr"; cat "$T/vcrun.log")"
	wait_for 10 grep -q "inet $late_ip/24" <(vcrun exec "$id" ip addr show "$late_if") ||
		fail "no address on $late_if: $(vcrun exec "$id" ip addr)"
	vc_capture exec "$id" ping -c 2 -w 30 "$late_peer"
	[ "$status" -eq 0 ] || fail "ping across $late_if: $output $stderr"
	[[ $output == *"64 bytes from $late_peer"* ]] || fail "no ping reply: $output"
	vc_capture exec "$id" timeout 30 wget -q -O - "http://$late_peer:8080/hello.txt"
	[ "$status" -eq 0 ] && [ "$output" = "hello from peer $n" ] ||
		fail "TCP across $late_if: $output $stderr"
	# The boot's NIC still works.
	vc_capture exec "$id" ping -c 1 -w 30 "$peer_ip"
	[ "$status" -eq 0 ] || fail "ping across the boot NIC: $output $stderr"
	# The agent's answers about the NIC decode (agent-proto/agent-msg.c).
	! grep -q "hot-plug:" "$T/vcrun.log" || fail "agent's answer refused: $(cat "$T/vcrun.log")"
	# Said once, not at every later change of the same link.
	ip -n "$ctr_ns" link set "$late_if" mtu 1400
	sleep 1
	[ "$(grep -c "hot-plugged as NIC" "$T/vcrun.log")" -eq 1 ] ||
		fail "plugged more than once: $(cat "$T/vcrun.log")"
	# podman network disconnect: the NIC and its tap go.
	ip -n "$ctr_ns" link del "$late_if"
	wait_for 30 grep -q "interface $late_if left its network namespace: NIC .* unplugged" \
		"$T/vcrun.log" || fail "not unplugged: $(cat "$T/vcrun.log")"
	if is_vm_runtime; then
		! ip -n "$ctr_ns" link show tap1_vc >/dev/null 2>&1 || fail "tap1_vc left behind"
	fi
	vc_capture exec "$id" ls /sys/class/net
	[ "$(echo $output)" = "lo $ctr_if" ] || fail "guest interfaces after the unplug: '$output'"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
	! ip -n "$ctr_ns" link show tap0_vc >/dev/null 2>&1 || fail "tap0_vc left after delete"
}

@test "network: with no spare root port left, a late interface is named in vcrun's log, once" {
	join_netns
	net_bundle "$T/b" sleep 600
	join_spec "$T/b"
	echo '{"hotplug_root_ports": 0}' >"$T/config.json"
	id=$(new_id late)
	VCRUN_CONFIG=$T/config.json vc_capture --log "$T/vcrun.log" run -d --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	ip -n "$ctr_ns" link add vc45m$n type veth peer name vc45o$n
	wait_for 10 grep -q "interface vc45m$n was added" "$T/vcrun.log" ||
		fail "no warning about vc45m$n: $(cat "$T/vcrun.log")"
	grep -q "no spare PCIe root port is left for a NIC (the VM booted with 0: hotplug_root_ports" \
		"$T/vcrun.log" || fail "the warning does not say why: $(cat "$T/vcrun.log")"
	ip -n "$ctr_ns" link set vc45m$n up
	sleep 1
	[ "$(grep -c "interface vc45m$n was added" "$T/vcrun.log")" -eq 1 ] ||
		fail "warned more than once: $(cat "$T/vcrun.log")"
	! ip -n "$ctr_ns" link show tap1_vc >/dev/null 2>&1 || fail "a tap without a NIC"
	vc_capture exec "$id" ls /sys/class/net
	[ "$(echo $output)" = "lo $ctr_if" ] || fail "guest interfaces: '$output'"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
}

@test "network: a container on an already bridged namespace joins that VM and shares its NIC" {
	join_netns
	net_bundle "$T/b" httpd -f -p 8080 -h /www
	mkdir "$T/b/rootfs/www"
	echo "first $n" >"$T/b/rootfs/www/c.txt"
	join_spec "$T/b"
	net_bundle "$T/b2" sleep 600
	join_spec "$T/b2"
	first=$(new_id first)
	second=$(new_id second)
	vc_capture run -d --bundle "$T/b" "$first"
	[ "$status" -eq 0 ] || fail "run first: $stderr"
	wait_for "$VC_TIMEOUT" peer_fetch "http://$ctr_ip:8080/c.txt" || fail "first not reachable"
	qemus=$(qemu_pids)
	# A pod's second container (or --network container:X) names the same namespace:
	# it goes into the first one's VM (lib/sandbox.c), whose NIC it shares.
	vc_capture --log "$T/second.log" run -d --bundle "$T/b2" "$second"
	[ "$status" -eq 0 ] || fail "run second: $stderr"
	[ "$(qemu_pids)" = "$qemus" ] || fail "a second VM: '$qemus' -> '$(qemu_pids)'"
	[ "$(vcrun state "$second" | jq -r '.annotations["io.vcrun.sandbox"]')" = "$first" ] ||
		fail "second is not in first's sandbox"
	! grep -q "was added to its network namespace" "$T/second.log" ||
		fail "the first container's interface reported as late: $(cat "$T/second.log")"
	vc_capture exec "$second" wget -q -O- "http://127.0.0.1:8080/c.txt"
	[ "$output" = "first $n" ] || fail "second did not reach first on localhost: '$output' $stderr"
	vc_capture exec "$second" ls /sys/class/net
	[[ $output == *"$ctr_if"* ]] || fail "second guest interfaces: '$output'"
	vcrun delete -f "$second"
	# The first still has its tap and its traffic.
	ip -n "$ctr_ns" link show tap0_vc >/dev/null || fail "the first container's tap is gone"
	peer_fetch "http://$ctr_ip:8080/c.txt" || fail "first unreachable after the second left"
	[ "$(cat "$T/fetched")" = "first $n" ]
	vcrun delete -f "$first"
	! ip -n "$ctr_ns" link show tap0_vc >/dev/null 2>&1 || fail "tap left after the first left"
}
