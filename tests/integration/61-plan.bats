#!/usr/bin/env bats
# vcrun plan: what create would do, shown against fake sysfs and /dev trees
# (VCRUN_SYSFS_ROOT, VCRUN_DEV_ROOT), without starting anything; create against the
# same fakes; and one VM in vfio mode (the virtual IOMMU must not break its boot).

load helpers

# fake_host: an IOMMU-enabled host with vfio-pci loaded, in $SYS and $DEV.
fake_host() {
	SYS=$T/sys DEV=$T/dev
	mkdir -p "$SYS/class/iommu/dmar0" "$SYS/kernel/iommu_groups" "$SYS/bus/pci/drivers/vfio-pci" \
		"$DEV/vfio"
	: >"$SYS/bus/pci/drivers_probe"
	: >"$SYS/bus/pci/drivers/vfio-pci/bind"
	: >"$SYS/bus/pci/drivers/vfio-pci/unbind"
	: >"$DEV/vfio/vfio"
	export VCRUN_SYSFS_ROOT=$SYS VCRUN_DEV_ROOT=$DEV
}

# fake_pci BDF GROUP CLASS DRIVER: one PCI function, linked as the kernel links it.
fake_pci() {
	local bdf=$1 group=$2 class=$3 drv=$4 d=$SYS/devices/pci0000:00/$1
	mkdir -p "$d" "$SYS/bus/pci/devices" "$SYS/kernel/iommu_groups/$group/devices" \
		"$SYS/bus/pci/drivers/$drv"
	echo 0x10de >"$d/vendor"
	echo 0x1eb8 >"$d/device"
	echo "$class" >"$d/class"
	: >"$d/driver_override"
	touch "$SYS/bus/pci/drivers/$drv/bind" "$SYS/bus/pci/drivers/$drv/unbind"
	ln -sfn "../../../bus/pci/drivers/$drv" "$d/driver"
	ln -sfn "../../../kernel/iommu_groups/$group" "$d/iommu_group"
	ln -sfn "../../../devices/pci0000:00/$bdf" "$SYS/bus/pci/devices/$bdf"
	ln -sfn "../../../../devices/pci0000:00/$bdf" "$SYS/kernel/iommu_groups/$group/devices/$bdf"
	: >"$DEV/vfio/$group"
}

# bundle_with_groups N...: a bundle ($BUNDLE, default $T/b) whose linux.devices asks
# for /dev/vfio/N each.
bundle_with_groups() {
	local b=${BUNDLE:-$T/b}
	rm -rf "$b"
	make_bundle "$b" true
	local g
	for g in "$@"; do
		spec_edit "$b" '.linux.devices += [{"path": ("/dev/vfio/" + $g), "type": "c", "major": 240, "minor": ($g | tonumber)}]' --arg g "$g"
	done
}

# e1000e_qemu: vcrun's QEMU becomes a wrapper that puts an emulated e1000e where the
# fake host's 0000:02:00.0 is cold-plugged, so that a guest with it boots.
e1000e_qemu() {
	cat >"$T/qemu" <<'EOT'
#!/bin/bash
args=()
for a in "$@"; do
	[[ $a == vfio-pci,host=0000:02:00.0,* ]] && a=e1000e,${a#vfio-pci,host=0000:02:00.0,}
	args+=("$a")
done
exec qemu-system-x86_64 "${args[@]}"
EOT
	chmod +x "$T/qemu"
	jq -n --arg q "$T/qemu" '{qemu: $q}' >"$T/vcrun.json"
	export VCRUN_CONFIG=$T/vcrun.json
}

@test "plan: a plain bundle: spec, no VFIO, the QEMU argv; nothing is started" {
	make_bundle "$T/b" true
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	jq -e '.spec.process.args == ["true"]' "$T/out" >/dev/null || fail "spec: $output"
	jq -e '.vfio.groups == [] and .vfio.placement.pci == []' "$T/out" >/dev/null || fail "vfio: $output"
	jq -e '.hypervisor.argv | index("-kernel") != null' "$T/out" >/dev/null || fail "argv: $output"
	[ -z "$(ls "$ROOT")" ] || fail "plan left state in $ROOT: $(ls "$ROOT")"
}

@test "plan: a GPU and its audio function share one guest slot; a NIC gets its own port" {
	fake_host
	fake_pci 0000:01:00.0 16 0x030000 vfio-pci
	fake_pci 0000:01:00.1 16 0x040300 vfio-pci
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	bundle_with_groups 16 17
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	[ "$(jq '.vfio.groups | length' "$T/out")" = 2 ] || fail "groups: $output"
	argv=$(jq -r '.hypervisor.argv | join(" ")' "$T/out")
	[[ $argv == *"host=0000:01:00.0"*"multifunction=on"* ]] || fail "GPU function 0 not multifunction: $argv"
	gpu_bus=$(jq -r '.hypervisor.argv[]' "$T/out" | grep 'host=0000:01:00.0' | grep -o 'bus=[^,]*')
	audio_bus=$(jq -r '.hypervisor.argv[]' "$T/out" | grep 'host=0000:01:00.1' | grep -o 'bus=[^,]*')
	nic_bus=$(jq -r '.hypervisor.argv[]' "$T/out" | grep 'host=0000:02:00.0' | grep -o 'bus=[^,]*')
	[ -n "$gpu_bus" ] && [ "$gpu_bus" = "$audio_bus" ] || fail "GPU and audio on $gpu_bus / $audio_bus"
	[ "$nic_bus" != "$gpu_bus" ] || fail "the NIC shares the GPU's port"
	# Two ports for the devices, then the spare ones for hot-plug (hotplug_root_ports,
	# 4 by default), numbered after them, without an I/O window.
	[ "$(jq -r '.hypervisor.argv[]' "$T/out" | grep pcie-root-port | grep -vc io-reserve=0)" -eq 2 ] ||
		fail "root ports: $argv"
	[ "$(jq -r '.hypervisor.argv[]' "$T/out" | grep -c 'pcie-root-port,id=rp[3-6],chassis=[3-6],slot=[3-6],bus=pcie.0,io-reserve=0')" -eq 4 ] ||
		fail "spare root ports: $argv"
}

@test "plan: no IOMMU, a group on a host driver, a missing group: errors that name them" {
	fake_host
	rm -rf "$SYS/class/iommu"
	bundle_with_groups 16
	vc_capture plan --bundle "$T/b"
	[ "$status" -ne 0 ] && [[ $stderr == *IOMMU* ]] || fail "no IOMMU: $status $stderr"

	fake_host
	fake_pci 0000:03:00.0 20 0x020000 e1000e
	bundle_with_groups 20
	vc_capture plan --bundle "$T/b"
	[ "$status" -ne 0 ] && [[ $stderr == *0000:03:00.0* && $stderr == *e1000e* ]] ||
		fail "host driver: $status $stderr"

	bundle_with_groups 99
	vc_capture plan --bundle "$T/b"
	[ "$status" -ne 0 ] && [[ $stderr == *99* ]] || fail "missing group: $status $stderr"
}

@test "create: VFIO devices reach QEMU as vfio-pci on their root ports; nothing is left" {
	fake_host
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	bundle_with_groups 17
	id=$(new_id vf)
	# QEMU gets the device and refuses it (the tree is fake): create fails with
	# QEMU's reason, and the failed create leaves nothing behind.
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *0000:02:00.0* ]] || fail "create: $status $stderr"
	vc_capture state "$id"
	[ "$status" -ne 0 ] || fail "a failed create left a container"
}

@test "create with vfio_bind: devices go to vfio-pci and come back to their driver" {
	fake_host
	fake_pci 0000:03:00.0 20 0x020000 e1000e
	bundle_with_groups 20
	echo '{"vfio_bind": true}' >"$T/vcrun.json"
	export VCRUN_CONFIG=$T/vcrun.json
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan with binding: $stderr"
	jq -e '.vfio.bind == true' "$T/out" >/dev/null || fail "plan: $output"
	id=$(new_id vfb)
	vc_capture --debug --log "$T/vcrun.log" create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded on a fake device"
	# It was taken from e1000e for vfio-pci, QEMU got it (and refused the fake), and the
	# failed create gave it back (the restore writes themselves are checked in
	# test-vfio: a fake tree has no kernel to move the driver link).
	grep -q 0000:03:00.0 "$SYS/bus/pci/drivers/e1000e/unbind" || fail "never unbound from e1000e"
	grep -q vfio-pci "$SYS/devices/pci0000:00/0000:03:00.0/driver_override" || fail "no driver_override"
	[[ $stderr == *"vfio-pci,host=0000:03:00.0"* ]] || fail "QEMU never got the device: $stderr"
	grep -q "VFIO group 20 given back" "$T/vcrun.log" || fail "not given back: $(cat "$T/vcrun.log")"
	vc_capture state "$id"
	[ "$status" -ne 0 ] || fail "a failed create left a container"
}

# vfio_mode_bundle MODE: the GPU+audio group 16 and the NIC group 17 of a fake host,
# asked for by a bundle whose io.vcrun.vfio-mode annotation is MODE.
vfio_mode_bundle() {
	fake_host
	fake_pci 0000:01:00.0 16 0x030000 vfio-pci
	fake_pci 0000:01:00.1 16 0x040300 vfio-pci
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	bundle_with_groups 16 17
	spec_edit "$T/b" '.annotations["io.vcrun.vfio-mode"] = $m' --arg m "$1"
}

@test "plan: vfio mode keeps /dev/vfio/N for the guest, says where each group went, adds a virtual IOMMU" {
	vfio_mode_bundle vfio
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	jq -e '.vfio.mode == "vfio"' "$T/out" >/dev/null || fail "mode: $(jq -c .vfio "$T/out")"
	jq -e '[.guest_spec.linux.devices[].path] == ["/dev/vfio/16", "/dev/vfio/17"]' "$T/out" >/dev/null ||
		fail "guest devices: $(jq -c .guest_spec.linux.devices "$T/out")"
	jq -e '.guest_spec.annotations["io.vcrun.vfio.group.16"] == "1.0,1.1" and
		.guest_spec.annotations["io.vcrun.vfio.group.17"] == "2.0"' "$T/out" >/dev/null ||
		fail "placement annotations: $(jq -c .guest_spec.annotations "$T/out")"
	argv=$(jq -r '.hypervisor.argv[]' "$T/out")
	iommu=$(grep -n -x 'intel-iommu,intremap=on,caching-mode=on' <<<"$argv" | cut -d: -f1)
	port=$(grep -n '^pcie-root-port' <<<"$argv" | head -n 1 | cut -d: -f1)
	[ -n "$iommu" ] && [ -n "$port" ] && [ "$iommu" -lt "$port" ] ||
		fail "intel-iommu (line ${iommu:-none}) must precede the root ports (line ${port:-none})"
	jq -e '.hypervisor.argv | index("-append") as $i | .[$i + 1] | test(" intel_iommu=on( |$)")' \
		"$T/out" >/dev/null || fail "kernel command line: $(jq -r '.hypervisor.argv' "$T/out")"
	grep -q -x 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off' <<<"$argv" ||
		fail "ACPI hot-plug left on the root ports (the guest's slots would not be named by port)"

	# the default: the guest kernel drives them, the nodes stay on the host
	vfio_mode_bundle guest-kernel
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	jq -e '.vfio.mode == "guest-kernel" and ([.guest_spec.linux.devices[]?] == [])' "$T/out" >/dev/null ||
		fail "guest-kernel: $(jq -c '[.vfio.mode, .guest_spec.linux.devices]' "$T/out")"
	! jq -r '.hypervisor.argv[]' "$T/out" | grep -q -e intel-iommu -e intel_iommu ||
		fail "a virtual IOMMU in guest-kernel mode"
}

@test "plan and create: an unknown io.vcrun.vfio-mode is refused by name; nothing is left" {
	vfio_mode_bundle dpdk
	vc_capture plan --bundle "$T/b"
	[ "$status" -ne 0 ] && [[ $stderr == *io.vcrun.vfio-mode* && $stderr == *dpdk* ]] ||
		fail "plan: $status $stderr"
	id=$(new_id vfm)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *io.vcrun.vfio-mode* && $stderr == *dpdk* ]] ||
		fail "create: $status $stderr"
	vc_capture state "$id"
	[ "$status" -ne 0 ] || fail "a failed create left a container"
}

@test "run: a VM in vfio mode without devices boots with the virtual IOMMU on" {
	make_bundle "$T/b" sh -c 'tr " " "\n" </proc/cmdline | grep -x intel_iommu=on; ls /sys/kernel/iommu_groups | wc -l'
	spec_edit "$T/b" '.annotations["io.vcrun.vfio-mode"] = "vfio"'
	id=$(new_id vfb)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	[ "$(sed -n 1p <<<"$output")" = intel_iommu=on ] || fail "guest command line: '$output'"
	[ "$(sed -n 2p <<<"$output")" -gt 0 ] || fail "the guest has no IOMMU groups: '$output'"
}

@test "run: vfio mode end to end: the guest moves the function to vfio-pci, the container gets /dev/vfio/G" {
	# The fake host's NIC is placed on root port 1; a QEMU wrapper puts an emulated
	# e1000e there in its stead, so the guest side runs for real: the agent finds
	# port 1's slot, binds the function to vfio-pci and hands the container the
	# guest's group node and /dev/vfio/vfio.
	fake_host
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	bundle_with_groups 17
	e1000e_qemu
	spec_edit "$T/b" '.annotations["io.vcrun.vfio-mode"] = "vfio" | .process.args = ["sh", "-c",
		"ls /dev/vfio; for d in /sys/bus/pci/devices/*; do [ \"$(cat $d/device)\" = 0x10d3 ] && echo $(basename $(readlink $d/driver)) $(basename $(readlink $d/iommu_group)); done; cat /proc/modules | cut -d\" \" -f1 | grep -x vfio_pci"]'
	id=$(new_id vfe)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	nodes=$(sed -n '1,2p' <<<"$output" | sort | tr '\n' ' ')
	read -r driver group < <(sed -n 3p <<<"$output")
	[ "$driver" = vfio-pci ] || fail "the e1000e is on '$driver': '$output'"
	[ "$nodes" = "$(printf '%s\n' "$group" vfio | sort | tr '\n' ' ')" ] ||
		fail "container nodes '$nodes', want the guest group $group and vfio: '$output'"
	[ "$(sed -n 4p <<<"$output")" = vfio_pci ] || fail "vfio_pci not loaded: '$output'"
}

# e1000e_guest_count ID: the emulated e1000e functions the guest of ID sees;
# e1000e_guest_has ID N: it sees N (a predicate for wait_for).
e1000e_guest_count() {
	vcrun exec "$1" sh -c 'grep -l 0x10d3 /sys/bus/pci/devices/*/device | wc -l'
}

e1000e_guest_has() {
	[ "$(e1000e_guest_count "$1")" -eq "$2" ]
}

@test "pods: a VFIO group goes to one container: another sandbox's is refused by name; a member's device is hot-plugged and unplugged, QEMU's refusal is named and leaves nothing" {
	# The pod's sandbox holds group 17 (0000:02:00.0, cold-plugged: e1000e_qemu puts
	# an emulated e1000e in its place). Behind it, QMP goes through a proxy that
	# turns the hot-plug of 0000:03:00.0 (group 18) into an e1000e too, so that
	# the member's device reaches a real guest; 0000:04:00.0 (group 19) stays fake.
	fake_host
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	fake_pci 0000:03:00.0 18 0x020000 vfio-pci
	fake_pci 0000:04:00.0 19 0x020000 vfio-pci
	e1000e_qemu
	sed -i "s|^exec qemu-system-x86_64 |exec $BATS_TEST_DIRNAME/qmp-e1000e.py 0000:03:00.0 |" "$T/qemu"
	bundle_with_groups 17
	spec_edit "$T/b" '.process.args = ["sleep", "600"] | .annotations = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "vfpod"}'
	vcrun --log "$T/vcrun.log" create --bundle "$T/b" "$(new_id vfpod)" </dev/null >/dev/null 2>"$T/err" ||
		fail "pod: $(cat "$T/err")"
	vcrun start vfpod
	BUNDLE=$T/m # the others' bundles, apart from the running pod's
	[ "$(e1000e_guest_count vfpod)" -eq 1 ] || fail "the pod's own device: $(e1000e_guest_count vfpod)"
	# Another sandbox, and a member of this one, asking for the same group: refused,
	# naming the group and the sandbox that holds it.
	bundle_with_groups 17
	vc_capture create --bundle "$T/m" "$(new_id other)"
	[ "$status" -ne 0 ] && [[ $stderr == *"VFIO group 17 is held by sandbox vfpod (container vfpod)"* ]] ||
		fail "another sandbox: $status $stderr"
	member_of_vfpod() {
		BUNDLE=$T/$2 bundle_with_groups "$1"
		spec_edit "$T/$2" '.process.args = ["sleep", "600"] | .annotations = {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "vfpod"}'
		vc_capture create --bundle "$T/$2" "$(new_id "$2")"
	}
	member_of_vfpod 17 member
	[ "$status" -ne 0 ] && [[ $stderr == *"VFIO group 17 is held by sandbox vfpod"* ]] ||
		fail "a member: $status $stderr"
	# A member whose function QEMU refuses (the device is fake): the create fails
	# naming the device, and nothing of the member is left.
	member_of_vfpod 19 member2
	[ "$status" -ne 0 ] && [[ $stderr == *"hot-plug VFIO device vfio-"*" (0000:04:00.0)"* ]] ||
		fail "member2: $status $stderr"
	vc_capture state member2
	[ "$status" -ne 0 ] || fail "a failed create left member2"
	[ ! -e "$ROOT/member2" ] || fail "member2's state dir is left"
	[ "$(vcrun list -q)" = vfpod ] || fail "list: $(vcrun list -q)"
	# A member whose function QEMU takes: the guest sees it while the member lives.
	member_of_vfpod 18 member3
	[ "$status" -eq 0 ] || fail "member3: $stderr"
	grep -q "container member3: VFIO device 0000:03:00.0 (group 18) hot-plugged as vfio-" \
		"$T/vcrun.log" || fail "$(cat "$T/vcrun.log")"
	wait_for 30 e1000e_guest_has vfpod 2 ||
		fail "the guest does not see member3's device: $(e1000e_guest_count vfpod)"
	vcrun delete -f member3
	[ "$(e1000e_guest_count vfpod)" -eq 1 ] || fail "member3's device stayed: $(cat "$T/vcrun.log")"
	vcrun delete -f vfpod
}

@test "plan: /dev/vfio/vfio next to the groups (docker --device) is the container node, not a group" {
	fake_host
	fake_pci 0000:02:00.0 17 0x020000 vfio-pci
	bundle_with_groups 17
	spec_edit "$T/b" '.linux.devices += [{"path": "/dev/vfio/vfio", "type": "c", "major": 10, "minor": 196}]'
	vc_capture plan --bundle "$T/b"
	[ "$status" -eq 0 ] || fail "plan: $stderr"
	[ "$(jq '.vfio.groups | length' "$T/out")" = 1 ] || fail "groups: $output"
	# guest-kernel mode: the guest gets PCI devices, no host /dev/vfio node at all
	[ "$(jq '[.guest_spec.linux.devices[]? | select(.path | startswith("/dev/vfio"))] | length' "$T/out")" = 0 ] ||
		fail "guest spec devices: $(jq -c .guest_spec.linux.devices "$T/out")"
}
