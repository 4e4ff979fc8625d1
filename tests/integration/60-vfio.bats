#!/usr/bin/env bats
# `vcrun check`: one line per capability of this host, and the IOMMU/VFIO and
# vhost-vsock answers against fake /sys and /dev trees (VCRUN_SYSFS_ROOT,
# VCRUN_DEV_ROOT). This host has no IOMMU and no VFIO, so the usable side is only
# seen through the fakes. Nothing here boots a VM.

bats_require_minimum_version 1.5.0

VCRUN=${VCRUN:-$BATS_TEST_DIRNAME/../../bin/vcrun}

setup() {
	ROOT="$BATS_TEST_TMPDIR/root"
	SYS="$BATS_TEST_TMPDIR/sys"
	DEV="$BATS_TEST_TMPDIR/dev"
	mkdir -p "$ROOT" "$SYS" "$DEV"
}

vcrun() {
	"$VCRUN" --root "$ROOT" "$@"
}

# fake_pci BDF GROUP DRIVER: a device in an IOMMU group, linked as the kernel does.
fake_pci() {
	local bdf=$1 group=$2 driver=$3 dir="$SYS/devices/pci0000:00/$1"
	mkdir -p "$dir" "$SYS/bus/pci/devices" "$SYS/kernel/iommu_groups/$group/devices" \
		"$SYS/bus/pci/drivers/$driver"
	printf '0x8086\n' >"$dir/vendor"
	printf '0x10d3\n' >"$dir/device"
	printf '0x020000\n' >"$dir/class"
	ln -s "../../../bus/pci/drivers/$driver" "$dir/driver"
	ln -s "../../../kernel/iommu_groups/$group" "$dir/iommu_group"
	ln -s "../../../devices/pci0000:00/$bdf" "$SYS/bus/pci/devices/$bdf"
	ln -s "../../../../devices/pci0000:00/$bdf" "$SYS/kernel/iommu_groups/$group/devices/$bdf"
}

# The line for NAME in $output.
line_of() {
	local l
	for l in "${lines[@]}"; do
		if [[ $l == "$1: "* ]]; then
			echo "$l"
			return 0
		fi
	done
	return 1
}

@test "check: one line per capability, each usable or not usable with why; exit 0" {
	run --separate-stderr vcrun check
	[ "$status" -eq 0 ] || { echo "stderr: $stderr"; return 1; }
	[ "${#lines[@]}" -eq 9 ] || { printf '%s\n' "${lines[@]}"; return 1; }
	local name l
	for name in kvm vhost-vsock iommu vfio confinement; do
		l=$(line_of "$name") || { echo "no $name line in: $output"; return 1; }
		[[ $l =~ ^$name:\ (usable\ \(.+\)|not\ usable:\ .+)$ ]] || { echo "bad line: $l"; return 1; }
	done
	[[ $(line_of accelerator) =~ ^accelerator:\ (kvm|tcg) ]]
	[[ $(line_of "agent channel") =~ ^agent\ channel:\ (vsock|virtio-serial) ]]
	[[ $(line_of rootless) =~ ^rootless:\ (yes|no)\ \(.+\)$ ]]
	[[ $(line_of "guest kernel") =~ ^guest\ kernel:\ (debian|lean|path),\ /.+\ with\ /.+\ \(.+\)$ ]]
	# The accelerator follows the KVM line (unless vcrun's config sets one).
	if [[ $(line_of kvm) == "kvm: not usable:"* ]] && [[ $(line_of accelerator) != *config* ]]; then
		[ "$(line_of accelerator)" = "accelerator: tcg (KVM is not usable)" ]
	fi
	[ -z "$stderr" ]
}

@test "check: a host without an IOMMU says so and what to do" {
	VCRUN_SYSFS_ROOT=$SYS VCRUN_DEV_ROOT=$DEV run --separate-stderr vcrun check
	[ "$status" -eq 0 ]
	[[ $(line_of iommu) == "iommu: not usable: no IOMMU is enabled (\`$SYS/kernel/iommu_groups\` is empty or missing)"* ]]
	[[ $(line_of iommu) == *"intel_iommu=on"* ]]
	[[ $(line_of vfio) == "vfio: not usable: the vfio-pci driver is not loaded"*"modprobe vfio-pci" ]]
	[[ $(line_of vhost-vsock) == "vhost-vsock: not usable: $DEV/vhost-vsock does not exist"* ]]
	[ "$(line_of "agent channel")" = "agent channel: virtio-serial (no vhost-vsock)" ]
}

@test "check: an IOMMU the firmware offers but the kernel did not turn on" {
	mkdir -p "$SYS/class/iommu/dmar0" "$SYS/kernel/iommu_groups"
	VCRUN_SYSFS_ROOT=$SYS VCRUN_DEV_ROOT=$DEV run vcrun check
	[ "$status" -eq 0 ]
	[[ $(line_of iommu) == "iommu: not usable: no IOMMU groups in"*"lists an IOMMU"* ]]
}

@test "check: IOMMU groups, vfio-pci and vhost-vsock in fake trees are usable" {
	mkdir -p "$SYS/class/iommu/dmar0" "$DEV/vfio"
	fake_pci 0000:03:00.0 7 e1000e
	fake_pci 0000:01:00.0 16 vfio-pci
	: >"$DEV/vfio/vfio"
	: >"$DEV/vfio/16"
	: >"$DEV/vhost-vsock"
	VCRUN_SYSFS_ROOT=$SYS VCRUN_DEV_ROOT=$DEV run --separate-stderr vcrun check
	[ "$status" -eq 0 ]
	[ "$(line_of iommu)" = "iommu: usable (2 IOMMU groups in $SYS/kernel/iommu_groups)" ]
	[ "$(line_of vfio)" = "vfio: usable (vfio-pci is loaded, $DEV/vfio/vfio exists)" ]
	[ "$(line_of vhost-vsock)" = "vhost-vsock: usable ($DEV/vhost-vsock)" ]
	[ "$(line_of "agent channel")" = "agent channel: vsock" ]

	# vfio-pci loaded but no container node: not usable, naming the node.
	rm "$DEV/vfio/vfio"
	VCRUN_SYSFS_ROOT=$SYS VCRUN_DEV_ROOT=$DEV run vcrun check
	[ "$status" -eq 0 ]
	[ "$(line_of vfio)" = "vfio: not usable: the VFIO container node \`$DEV/vfio/vfio\` does not exist: modprobe vfio" ]
}

@test "check: takes no arguments" {
	run --separate-stderr vcrun check extra
	[ "$status" -eq 1 ]
	[[ $stderr == *'check'*'requires exactly 0 argument(s)'* ]]
}
