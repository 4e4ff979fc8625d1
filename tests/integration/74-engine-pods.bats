#!/usr/bin/env bats
# Pods as real clients build them: podman's pods, docker's `--network container:X`,
# and a pod as containerd's CRI lays it out (through ctr and the runc v2 shim). Each
# pod is one VM: the later containers join the first one's sandbox (lib/sandbox.c)
# and reach it on 127.0.0.1.

load helpers
load engines

teardown() {
	stop_dockerd
	teardown_podman
	stop_containerd
	common_teardown
}

setup() {
	common_setup
}

U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# pod_qemus DIR ID...: QEMU processes running in the state dir DIR/ID of any of the
# containers named (a sandbox's QEMU runs in its first container's state dir).
pod_qemus() {
	local dir=$1 p id n=0
	shift
	for p in $(pgrep -f qemu-system || true); do
		for id in "$@"; do
			qemu_serves "$p" "$dir/$id" && n=$((n + 1))
		done
	done
	echo "$n"
}

# no_pod_qemus DIR ID...: none (a predicate for wait_for).
no_pod_qemus() {
	[ "$(pod_qemus "$@")" -eq 0 ]
}

# no_shares_left IDS...: no sandbox share of these containers is left on the host.
no_shares_left() {
	local id
	for id in "$@"; do
		if compgen -G "/run/vcrun/shared/*-$id" >/dev/null; then
			echo "share of $id left: $(echo /run/vcrun/shared/*-"$id")"
			return 1
		fi
	done
}

@test "pods: podman pod create, two members reach each other on 127.0.0.1, one VM, pod stop and rm leave nothing" {
	command -v catatonit >/dev/null || fail "catatonit is not installed (scripts/install-deps.sh)"
	setup_podman
	prun pod create --name p1 --network none
	[ "$status" -eq 0 ] || fail "pod create: $stderr"
	prun run -d --pod p1 "${U[@]}" --name web localhost/bb httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "run --pod (web): $stderr"
	web=$output
	prun run --rm --pod p1 "${U[@]}" localhost/bb sh -c \
		'wget -q -O- http://127.0.0.1:8080/passwd; uname -r'
	[ "$status" -eq 0 ] || fail "run --pod (client): $status $stderr"
	[[ $output == root:x:0:0:* ]] || fail "the client did not get web's file: '$output'"
	[[ $output == *6.1.* ]] || fail "not in the guest: '$output'"
	infra=$("${PODMAN[@]}" pod inspect -f '{{.InfraContainerID}}' p1)
	[ "$(pod_qemus /run/vcrun "$infra" "$web")" -eq 1 ] ||
		fail "QEMUs of the pod: $(pod_qemus /run/vcrun "$infra" "$web"), want 1"
	# Each member keeps its own entry, and says which sandbox it lives in.
	sb=$(jq -r '.annotations["io.vcrun.sandbox"]' "/run/vcrun/$web/state.json")
	[ "$sb" = "$infra" ] || fail "web's sandbox: '$sb', want the infra container $infra"
	prun pod stop -t 2 p1
	[ "$status" -eq 0 ] || fail "pod stop: $stderr"
	prun pod rm p1
	[ "$status" -eq 0 ] || fail "pod rm: $stderr"
	wait_for 20 no_pod_qemus /run/vcrun "$infra" "$web" || fail "QEMU left"
	[ ! -e "/run/vcrun/$infra" ] && [ ! -e "/run/vcrun/$web" ] || fail "state dirs left"
	no_shares_left "$infra" "$web" || fail "share left"
}

@test "pods: docker --network container:X reaches X's httpd on 127.0.0.1 in X's VM" {
	start_dockerd
	drun run -d --runtime vcrun "${U[@]}" --name web localhost/bb httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "docker run web: $stderr"
	web=$output
	drun run -d --runtime vcrun "${U[@]}" --network container:web --name cli localhost/bb \
		sh -c 'wget -q -O- http://127.0.0.1:8080/passwd; sleep 600'
	[ "$status" -eq 0 ] || fail "docker run --network container:web: $stderr"
	cli=$output
	wait_for 30 bash -c "docker logs cli 2>&1 | grep -q '^root:x:0:0:'" ||
		fail "cli did not reach web: $(docker logs cli 2>&1)"
	# docker's state root for the runtime: where web's state dir is
	root=$(dirname "$(echo "$DK"/exec/runtime-*/moby/"$web")")
	[ "$(pod_qemus "$root" "$web" "$cli")" -eq 1 ] ||
		fail "QEMUs: $(pod_qemus "$root" "$web" "$cli"), want 1"
	drun rm -f cli
	[ "$status" -eq 0 ] || fail "rm cli: $stderr"
	# web's VM outlives its member, and still serves.
	drun exec web wget -q -O- http://127.0.0.1:8080/group
	[ "$status" -eq 0 ] && [ "$output" = root:x:0: ] || fail "web after cli left: $output $stderr"
	drun rm -f web
	[ "$status" -eq 0 ] || fail "rm web: $stderr"
	wait_for 20 no_pod_qemus "$root" "$web" "$cli" || fail "QEMU left"
	no_shares_left "$web" "$cli" || fail "share left"
}

@test "pods: containerd's CRI layout (pause container, two app containers with the sandbox-id and its namespaces) is one VM" {
	start_containerd
	# ctr's --rootfs is a flag: the path comes first among the arguments.
	local rt=(--runc-binary "$RUNTIME")
	local fs=(--rootfs "$T/ct-rootfs")
	crun_ctr run -d "${rt[@]}" --annotation io.kubernetes.cri.container-type=sandbox \
		--annotation io.kubernetes.cri.sandbox-id=pause1 "${fs[@]}" pause1 sleep 100000
	[ "$status" -eq 0 ] || fail "pause: $stderr"
	ppid=$("${CTR[@]}" task ls | awk '$1 == "pause1" {print $2}')
	[ -n "$ppid" ] || fail "no pid for the pause container"
	ns=(--with-ns "network:/proc/$ppid/ns/net" --with-ns "ipc:/proc/$ppid/ns/ipc"
		--with-ns "uts:/proc/$ppid/ns/uts")
	app=(--annotation io.kubernetes.cri.container-type=container
		--annotation io.kubernetes.cri.sandbox-id=pause1)
	crun_ctr run -d "${rt[@]}" "${app[@]}" "${ns[@]}" "${fs[@]}" app1 httpd -f -p 8080 -h /etc
	[ "$status" -eq 0 ] || fail "app1: $stderr"
	crun_ctr run --rm "${rt[@]}" "${app[@]}" "${ns[@]}" "${fs[@]}" app2 wget -q -O- http://127.0.0.1:8080/passwd
	[ "$status" -eq 0 ] || fail "app2: $status $stderr"
	[[ $output == root:x:0:0:* ]] || fail "app2 did not reach app1: '$output'"
	# The members are in the pause container's ipc namespace in the guest too.
	crun_ctr task exec --exec-id e1 pause1 ls -l /proc/1/ns/ipc
	pause_ipc=${output##*-> }
	[[ $pause_ipc == ipc:* ]] || fail "pause's ipc namespace: '$output'"
	crun_ctr task exec --exec-id e2 app1 ls -l /proc/1/ns/ipc
	[ "${output##*-> }" = "$pause_ipc" ] || fail "app1's ipc '${output##*-> }' is not the pause's '$pause_ipc'"
	root=/run/containerd/runc/default
	[ "$(pod_qemus "$root" pause1 app1)" -eq 1 ] || fail "QEMUs: $(pod_qemus "$root" pause1 app1), want 1"
	# A container naming a sandbox that does not exist is refused, naming it.
	crun_ctr run --rm "${rt[@]}" --annotation io.kubernetes.cri.container-type=container \
		--annotation io.kubernetes.cri.sandbox-id=nosuch "${fs[@]}" app3 true
	[ "$status" -ne 0 ] && [[ $stderr == *nosuch* ]] || fail "unknown sandbox: $status $stderr"
	# Killing the pause container ends the pod: app1 goes with it, then the VM.
	crun_ctr task kill -s KILL pause1
	[ "$status" -eq 0 ] || fail "kill pause1: $stderr"
	wait_for 30 bash -c "! ${CTR[*]} task ls 2>/dev/null | grep -q 'RUNNING'" ||
		fail "still running: $("${CTR[@]}" task ls)"
	wait_for 20 no_pod_qemus "$root" pause1 app1 || fail "QEMU left after the pod's end"
	for c in app1 pause1; do
		crun_ctr task delete "$c"
		[ "$status" -eq 0 ] || fail "task delete $c: $stderr"
		crun_ctr container delete "$c"
	done
	no_shares_left pause1 app1 || fail "share left"
}
