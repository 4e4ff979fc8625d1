#!/usr/bin/env bats
# linux.devices under a VM (issue 16, lib/plan-devices.c): a host block device (a loop
# device the test makes) reaches the container as a virtio-blk disk, at boot or
# hot-plugged into a running pod, read-only when the cgroup rule says so, under the
# spec's path, mode and owner; char devices the guest kernel lacks are refused unless
# io.vcrun.devices.guest-only asks for the node alone; a privileged spec attaches
# nothing; and no process keeps the host device open once the container is gone.

load helpers
load loops

teardown() {
	local loops rc=0
	mapfile -t loops < <(loops_of_test)
	common_teardown || rc=$?
	loops_detach "${loops[@]}"
	return $rc
}

HOST_DATA=host-data-123
GUEST_DATA=guest-data-456

# loop_with_data: a fresh loop device whose first bytes are $HOST_DATA.
loop_with_data() {
	local dev
	dev=$(new_loop) || return 1
	printf '%s' "$HOST_DATA" | dd of="$dev" conv=notrunc status=none
	echo "$dev"
}

# sector1 DEV: the first 14 bytes of its second sector.
sector1() {
	dd if="$1" bs=512 skip=1 count=1 status=none | head -c 14
}

# qemu_holds DEV: one of this test's QEMUs has DEV open.
qemu_holds() {
	local p q
	for p in $(holders_of "$1"); do
		for q in $(qemu_pids); do
			[ "$p" != "$q" ] || return 0
		done
	done
	return 1
}

# guest_only BUNDLE VALUE: the io.vcrun.devices.guest-only annotation.
guest_only() {
	spec_edit "$1" '.annotations["io.vcrun.devices.guest-only"] = $v' --arg v "$2"
}

@test "block devices: vcrun plan: a host block device becomes a disk, read-only from the rule; its entry stays for the agent" {
	is_vm_runtime || fail "vcrun plan is vcrun's: run with vcrun"
	dev=$(new_loop)
	dev2=$(new_loop)
	read -r maj min <<<"$(devnum "$dev")"
	make_bundle "$T/b" true
	add_blk "$T/b" "$dev" /dev/xvda rwm
	add_blk "$T/b" "$dev2" /dev/xvdb r
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	jq -e --arg d "$dev" --arg d2 "$dev2" '[.disks[] | [.path, .readonly, .target]] ==
		[[$d, false, "/dev/xvda"], [$d2, true, "/dev/xvdb"]]' "$T/out" >/dev/null ||
		fail "disks: $(jq -c .disks "$T/out")"
	# Both on the command line, each found by its serial in the guest; a confined
	# QEMU gets each disk as an fd set of one (-add-fd) that vcrun opened.
	id=$(jq -r '.disks[1].id' "$T/out")
	jq -e --arg id "$id" --arg d "$dev2" '.hypervisor.argv | (map(select(startswith("{\"driver\":\"host_device\""))) | length == 2)
		and (index("virtio-blk-pci,drive=d\($id),id=\($id),serial=\($id)") != null)
		and (map(select(test("\"filename\":\"(\($d)|/dev/fdset/[0-9]+)\",\"read-only\":true"))) | length == 1)' \
		"$T/out" >/dev/null || fail "argv: $(jq -c .hypervisor.argv "$T/out")"
	# The agent rewrites the host's numbers: they stay in the guest's spec.
	jq -e --argjson ma "$maj" --argjson mi "$min" '[.guest_spec.linux.devices[] |
		select(.type == "b" and .major == $ma and .minor == $mi) | .path] == ["/dev/xvda"]' \
		"$T/out" >/dev/null || fail "guest spec devices: $(jq -c .guest_spec.linux.devices "$T/out")"
}

@test "block devices: host data read in the container, its writes read on the host, under a renamed node with the spec's mode and owner; QEMU holds the device only while the container lives" {
	dev=$(loop_with_data)
	make_bundle "$T/b" sh -c 'ls -ln /dev/xvda; head -c 13 /dev/xvda; echo;
		printf guest-data-456 | dd of=/dev/xvda bs=512 seek=1 conv=notrunc,sync,fsync 2>/dev/null &&
		echo wrote; sleep 600'
	# Owned by another user: root without CAP_DAC_OVERRIDE (the default capabilities)
	# gets the "other" bits, as under runc.
	add_blk "$T/b" "$dev" /dev/xvda rwm 422 1000 1001
	vcrun create --bundle "$T/b" "$(new_id blk)" </dev/null >"$T/blk.out" 2>"$T/err" ||
		fail "create: $(cat "$T/err")"
	if is_vm_runtime; then
		qemu_holds "$dev" || fail "no QEMU of this test has $dev open (holders: $(holders_of "$dev"))"
	fi
	vcrun start blk
	wait_output "$T/blk.out" wrote
	grep -q "^brw-r--rw- *1 1000 *1001 " "$T/blk.out" || fail "node: $(head -1 "$T/blk.out")"
	grep -qx "$HOST_DATA" "$T/blk.out" || fail "the container read: $(cat "$T/blk.out")"
	[ "$(sector1 "$dev")" = "$GUEST_DATA" ] || fail "the host reads '$(sector1 "$dev")' in sector 1"
	vcrun kill blk KILL
	wait_status blk stopped
	vcrun delete blk
	wait_for 10 not_held "$dev" || fail "$dev still open after delete: $(holders_of "$dev")"
	[ "$(sector1 "$dev")" = "$GUEST_DATA" ] || fail "after delete the host reads '$(sector1 "$dev")'"
}

@test "block devices: a rule without w: the container reads, its write fails, the drive is read-only, the host's data is unchanged" {
	dev=$(loop_with_data)
	make_bundle "$T/b" sh -c 'head -c 13 /dev/xvda; echo;
		if printf xxxx | dd of=/dev/xvda conv=notrunc,fsync 2>/dev/null; then echo write-ok; else echo write-failed; fi
		cat /sys/block/vd*/ro'
	add_blk "$T/b" "$dev" /dev/xvda r
	vc_capture run --bundle "$T/b" "$(new_id ro)"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	grep -qx "$HOST_DATA" "$T/out" || fail "the container read: $output"
	grep -qx write-failed "$T/out" || fail "the write: $output"
	if is_vm_runtime; then
		# The guest's own view: its only disk is read-only (QEMU's read-only drive).
		[ "$(tail -1 "$T/out")" = 1 ] || fail "/sys/block/vd*/ro: $output"
	fi
	[ "$(head -c 13 "$dev")" = "$HOST_DATA" ] || fail "the host's data changed: $(head -c 13 "$dev")"
	wait_for 10 not_held "$dev" || fail "$dev still open: $(holders_of "$dev")"
}

@test "block devices: a CDI device's block node becomes a disk like --device's; its permissions without w make it read-only" {
	dev=$(loop_with_data)
	export VCRUN_CDI_SPEC_DIRS=$T/cdi
	mkdir -p "$T/cdi"
	cat >"$T/cdi/disk.json" <<EOT
{"cdiVersion": "0.6.0", "kind": "example.com/disk",
 "devices": [{"name": "d0", "containerEdits": {"deviceNodes": [{"path": "/dev/xvdc", "hostPath": "$dev", "permissions": "r"}]}}]}
EOT
	make_bundle "$T/b" sh -c 'head -c 13 /dev/xvdc; echo'
	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/vcrun-test": "example.com/disk=d0"}'
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	jq -e --arg d "$dev" '[.disks[] | [.path, .readonly, .target]] == [[$d, true, "/dev/xvdc"]]' "$T/out" >/dev/null ||
		fail "disks: $(jq -c .disks "$T/out")"
	vc_capture run --bundle "$T/b" "$(new_id cdi)"
	[ "$status" -eq 0 ] && [ "$output" = "$HOST_DATA" ] || fail "run: $status '$output' $stderr"
}

@test "block devices: a char device the guest lacks is refused naming it and the ways out, leaving nothing; guest-only makes its node" {
	is_vm_runtime || fail "runc passes any host device: run with vcrun"
	make_bundle "$T/b" ls -l /dev/loop-control
	spec_edit "$T/b" '.linux.devices += [{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rwm"}]'
	vc_capture run --bundle "$T/b" "$(new_id lc)"
	[ "$status" -ne 0 ] || fail "run succeeded: $output"
	[[ $stderr == *"linux.devices[0] /dev/loop-control (char 10:237): a host character device cannot reach the container's VM"* ]] ||
		fail "message: $stderr"
	[[ $stderr == *"CDI or VFIO"* && $stderr == *"io.vcrun.devices.guest-only"* ]] || fail "no way out named: $stderr"
	[ ! -e "$ROOT/lc" ] || fail "state dir left"
	[ -z "$(qemu_pids)" ] || fail "a VM started"
	# A block device the host does not have: refused the same way.
	cp "$T/b/config.json" "$T/config.json"
	spec_edit "$T/b" '.linux.devices = [{"path": "/dev/sdz", "type": "b", "major": 4095, "minor": 1048575}]'
	vc_capture run --bundle "$T/b" "$(new_id nodev)"
	[ "$status" -ne 0 ] && [[ $stderr == *"linux.devices[0] /dev/sdz: no host block device 4095:1048575"* ]] ||
		fail "unknown block device: $status $stderr"
	# A path the annotation names that is no entry's.
	cp "$T/config.json" "$T/b/config.json"
	guest_only "$T/b" /dev/loop-contro1
	vc_capture run --bundle "$T/b" "$(new_id typo)"
	[ "$status" -ne 0 ] && [[ $stderr == *"io.vcrun.devices.guest-only: \`/dev/loop-contro1\` is not the path of a linux.devices entry"* ]] ||
		fail "annotation typo: $status $stderr"
	guest_only "$T/b" /dev/loop-control
	vc_capture run --bundle "$T/b" "$(new_id lc2)"
	[ "$status" -eq 0 ] || fail "guest-only run: $status $stderr"
	[[ $output == crw*" 10, 237 "*/dev/loop-control ]] || fail "node: $output"
}

@test "block devices: a privileged spec (every device allowed and listed) runs; nothing attached, nothing refused, and it says so" {
	dev=$(loop_with_data)
	read -r maj min <<<"$(devnum "$dev")"
	make_bundle "$T/b" sh -c 'ls -l /dev/loop-control >/dev/null && echo ctl-ok; head -c 13 '"$dev"' | wc -c'
	# docker --privileged: every host device listed, one rule allowing all.
	spec_edit "$T/b" '.linux.devices = [{"path": $d, "type": "b", "major": $ma, "minor": $mi},
		{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237}]
		| .linux.resources.devices = [{"allow": true, "access": "rwm"}]' \
		--arg d "$dev" --argjson ma "$maj" --argjson mi "$min"
	vcrun create --bundle "$T/b" "$(new_id priv)" </dev/null >"$T/priv.out" 2>"$T/err" ||
		fail "create: $(cat "$T/err")"
	if is_vm_runtime; then
		jq -e '.blk == []' "$ROOT/priv/plan.json" >/dev/null || fail "disks: $(jq -c .blk "$ROOT/priv/plan.json")"
		grep -q "privileged (every device allowed)" "$T/err" || fail "not said: $(cat "$T/err")"
		not_held "$dev" || fail "$dev is open: $(holders_of "$dev")"
	fi
	vcrun start priv
	wait_status priv stopped
	grep -qx ctl-ok "$T/priv.out" || fail "output: $(cat "$T/priv.out")"
	# Its node names the guest's own loop device: empty, not the host's data.
	if is_vm_runtime; then want=0; else want=13; fi
	[ "$(tail -1 "$T/priv.out" | tr -d ' ')" = "$want" ] || fail "read $(tail -1 "$T/priv.out") bytes, want $want"
}

# pod_with_member BUNDLE: $T/p is a running pod "pod" (sleep 600) and BUNDLE a
# member's bundle (ARGS after it) that joins it.
pod_with_member() {
	local m=$1
	shift
	make_bundle "$T/p" sleep 600
	spec_edit "$T/p" '.annotations += {"io.kubernetes.cri.container-type": "sandbox",
		"io.kubernetes.cri.sandbox-id": "pod"}'
	vcrun create --bundle "$T/p" "$(new_id pod)" </dev/null >/dev/null 2>"$T/err" || fail "pod: $(cat "$T/err")"
	vcrun start pod
	make_bundle "$m" "$@"
	spec_edit "$m" '.annotations += {"io.kubernetes.cri.container-type": "container",
		"io.kubernetes.cri.sandbox-id": "pod"}'
}

@test "block devices: a pod member's disk is hot-plugged into the running sandbox and detached at its delete; the sandbox runs on" {
	is_vm_runtime || fail "pods are vcrun's: run with vcrun"
	dev=$(loop_with_data)
	pod_with_member "$T/m" sh -c 'head -c 13 /dev/xvda; echo;
		printf guest-data-456 | dd of=/dev/xvda bs=512 seek=1 conv=notrunc,sync,fsync 2>/dev/null && echo wrote'
	not_held "$dev" || fail "$dev open before the member: $(holders_of "$dev")"
	add_blk "$T/m" "$dev" /dev/xvda
	vcrun create --bundle "$T/m" "$(new_id member)" </dev/null >"$T/m.out" 2>"$T/err" ||
		fail "member: $(cat "$T/err")"
	[ "$(qemu_pids | wc -l)" -eq 1 ] || fail "$(qemu_pids | wc -l) VMs for one pod"
	qemu_holds "$dev" || fail "the pod's QEMU does not hold $dev (holders: $(holders_of "$dev"))"
	vcrun start member
	wait_status member stopped
	grep -qx "$HOST_DATA" "$T/m.out" && grep -qx wrote "$T/m.out" || fail "member: $(cat "$T/m.out")"
	[ "$(sector1 "$dev")" = "$GUEST_DATA" ] || fail "the host reads '$(sector1 "$dev")' in sector 1"
	vcrun delete member
	wait_for 20 not_held "$dev" || fail "$dev still open after the member's delete: $(holders_of "$dev")"
	[ "$(state_status pod)" = running ] && [ "$(qemu_pids | wc -l)" -eq 1 ] || fail "the pod went with its member"
	vcrun exec pod true || fail "exec in the pod after its member left"
	# Joins again: the same disk, plugged anew.
	vcrun create --bundle "$T/m" "$(new_id member2)" </dev/null >"$T/m2.out" 2>"$T/err" ||
		fail "member2: $(cat "$T/err")"
	vcrun start member2
	wait_status member2 stopped
	grep -qx "$HOST_DATA" "$T/m2.out" || fail "member2: $(cat "$T/m2.out")"
	vcrun delete member2
	vcrun kill pod KILL
	wait_status pod stopped
	vcrun delete pod
	wait_for 10 not_held "$dev" || fail "$dev still open after the pod: $(holders_of "$dev")"
}

@test "block devices: a member whose disk finds no spare root port is refused with the reason; nothing of it stays, the pod runs on" {
	is_vm_runtime || fail "pods are vcrun's: run with vcrun"
	echo '{"hotplug_root_ports": 0}' >"$T/config.json"
	export VCRUN_CONFIG=$T/config.json
	dev=$(loop_with_data)
	pod_with_member "$T/m" true
	add_blk "$T/m" "$dev" /dev/xvda
	vc_capture create --bundle "$T/m" "$(new_id member)"
	[ "$status" -ne 0 ] || fail "create succeeded"
	[[ $stderr == *"hot-plug disk "*" ($dev): no spare PCIe root port left (the VM booted with 0: hotplug_root_ports"* ]] ||
		fail "message: $stderr"
	[ ! -e "$ROOT/member" ] || fail "the member's state dir stayed"
	not_held "$dev" || fail "$dev is open: $(holders_of "$dev")"
	[ "$(state_status pod)" = running ] || fail "the pod went with its member"
	vcrun exec pod true || fail "exec in the pod"
}
