#!/usr/bin/env bats
# vcrun plan: what create would do, shown against fake sysfs and /dev trees
# (VCRUN_SYSFS_ROOT, VCRUN_DEV_ROOT), without starting anything. No VM.

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

# bundle_with_groups N...: a bundle whose linux.devices asks for /dev/vfio/N each.
bundle_with_groups() {
	rm -rf "$T/b"
	make_bundle "$T/b" true
	local g
	for g in "$@"; do
		spec_edit "$T/b" '.linux.devices += [{"path": ("/dev/vfio/" + $g), "type": "c", "major": 240, "minor": ($g | tonumber)}]' --arg g "$g"
	done
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
	[ "$(jq -r '.hypervisor.argv[]' "$T/out" | grep -c pcie-root-port)" -eq 2 ] || fail "root ports: $argv"
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
