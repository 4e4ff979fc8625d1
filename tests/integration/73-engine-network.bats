#!/usr/bin/env bats
# The engines' own networks, bridged into the VM: docker's default bridge with a
# published port, a docker network whose containers find each other by name (docker's
# embedded DNS, reached through the agent's relay), and podman's netavark likewise.
# Each engine runs inside a network namespace this test makes, so its bridge, port
# proxies and firewall rules never touch the host's network; "the host" below is that
# namespace, and 127.0.0.1 is its loopback.

load helpers
load engines

setup() {
	common_setup
	NS=vc73-$BATS_TEST_NUMBER
	ip netns add "$NS" || fail "ip netns add $NS"
	ip -n "$NS" link set lo up
}

teardown() {
	stop_dockerd
	# rootful podman keeps its network definitions in /etc/containers/networks
	[ -z "${PM:-}" ] || "${PODMAN[@]}" network rm -f vc73pn >/dev/null 2>&1 || true
	teardown_podman
	ip netns del "$NS" 2>/dev/null || true
	common_teardown
}

# in_ns CMD...: CMD in the engine's namespace (nsenter keeps the mounts, unlike
# `ip netns exec`).
in_ns() {
	nsenter "--net=/run/netns/$NS" "$@"
}

# fetch URL: busybox wget from the engine's namespace, retried while the server in
# the VM starts; the body in $output.
fetch() {
	local i
	for i in $(seq 1 40); do
		if output=$(in_ns timeout 5 busybox wget -q -O- "$1" 2>&1); then
			return 0
		fi
		sleep 0.25
	done
	fail "wget $1: $output"
}

# engine_pin ID: the namespace vcrun pinned for an engine's container, whatever
# --root the engine gave (its ids are 64 hex digits, so the pattern is exact).
engine_pin() {
	compgen -G "/run/vcrun/netns/*-$1" || true
}

# no_net_leftovers ID...: vcrun pinned no namespace for these containers any more.
no_net_leftovers() {
	local id
	for id in "$@"; do
		[ -z "$(engine_pin "$id")" ] || fail "network namespace pin of $id left behind"
	done
}

U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

@test "docker: -p 18080:8080 on the default bridge reaches busybox httpd in the VM" {
	start_dockerd "$NS"
	drun run -d --runtime vcrun "${U[@]}" -p 18080:8080 localhost/bb httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "docker run: $stderr"
	cid=$output
	[ -n "$(engine_pin "$cid")" ] || fail "docker's new namespace is not pinned by vcrun"
	fetch http://127.0.0.1:18080/passwd
	[[ $output == root:x:0:0:* ]] || fail "body: '$output'"
	# The container's kernel is the guest's, and its eth0 has docker's address.
	drun exec "$cid" sh -c 'uname -r; cat /sys/class/net/eth0/address'
	[[ ${output%%$'\n'*} == 6.1.* ]] || fail "exec: '$output'"
	mac=$(docker inspect -f '{{.NetworkSettings.MacAddress}}' "$cid")
	[ "${output##*$'\n'}" = "$mac" ] || fail "guest MAC '${output##*$'\n'}', docker's '$mac'"
	drun rm -f "$cid"
	[ "$status" -eq 0 ] || fail "docker rm: $stderr"
	no_net_leftovers "$cid"
	[ -z "$(vm_procs_under "$DK")" ] || fail "VM processes left: $(vm_procs_under "$DK")"
}

@test "docker: two containers on one docker network reach each other by name" {
	start_dockerd "$NS"
	drun network create vc73net
	[ "$status" -eq 0 ] || fail "network create: $stderr"
	drun run -d --runtime vcrun "${U[@]}" --network vc73net --name srv localhost/bb \
		httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "docker run srv: $stderr"
	srv=$output
	drun run --rm --runtime vcrun "${U[@]}" --network vc73net localhost/bb sh -c \
		'cat /etc/resolv.conf; for i in 1 2 3 4 5 6 7 8 9 10; do
			wget -q -O- http://srv:8080/passwd && exit 0; sleep 0.5; done; exit 1'
	[ "$status" -eq 0 ] || fail "by name: $status '$output' '$stderr'"
	[[ $output == *"nameserver 127.0.0.11"* ]] || fail "not docker's embedded DNS: '$output'"
	[[ $output == *root:x:0:0:* ]] || fail "body: '$output'"
	drun rm -f srv
	no_net_leftovers "$srv"
}

@test "podman (netavark): -p 18081:8080 reaches busybox httpd in the VM" {
	setup_podman "$NS"
	prun run -d "${U[@]}" -p 18081:8080 localhost/bb httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "podman run: $stderr"
	cid=$output
	netns=$("${PODMAN[@]}" inspect -f '{{.NetworkSettings.SandboxKey}}' "$cid")
	[ -e "$netns" ] || fail "podman's namespace '$netns' not found"
	fetch http://127.0.0.1:18081/passwd
	[[ $output == root:x:0:0:* ]] || fail "body: '$output'"
	prun exec "$cid" sh -c 'ls /sys/class/net'
	[[ $output == *eth0* ]] || fail "no eth0 in the guest: '$output'"
	# While it runs, vcrun's tap and redirect sit next to podman's veth.
	links=$(ip -n "${netns##*/}" -o link show)
	[[ $links == *tap0_vc* ]] || fail "no tap in podman's namespace: $links"
	prun rm -f -t 0 "$cid"
	[ "$status" -eq 0 ] || fail "podman rm: $stderr"
	[ -z "$(vm_procs_under "$PM")" ] || fail "VM processes left: $(vm_procs_under "$PM")"
}

@test "podman (netavark): two containers on one podman network reach each other by name" {
	setup_podman "$NS"
	prun network create vc73pn
	[ "$status" -eq 0 ] || fail "network create: $stderr"
	prun run -d "${U[@]}" --network vc73pn --name srv localhost/bb httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "podman run srv: $stderr"
	prun run --rm "${U[@]}" --network vc73pn localhost/bb sh -c \
		'for i in 1 2 3 4 5 6 7 8 9 10; do
			wget -q -O- http://srv:8080/passwd && exit 0; sleep 0.5; done; exit 1'
	[ "$status" -eq 0 ] || fail "by name: $status '$output' '$stderr'"
	[[ $output == *root:x:0:0:* ]] || fail "body: '$output'"
	prun rm -f -t 0 srv
	prun network rm vc73pn
}
