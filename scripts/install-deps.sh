#!/bin/sh
# Installs every Debian package vcrun needs to build, run its guest and run its tests.
# Idempotent: only missing packages are asked for, so a machine that has them all
# needs no network at all.
set -eu

# go-md2man: the man pages (man/README.md); debhelper, dpkg-dev: `make deb`.
BUILD="gcc make autoconf automake pkg-config libc6-dev git
       libyajl-dev libcap-dev libnl-3-dev libnl-route-3-dev libseccomp-dev libyaml-dev
       go-md2man debhelper dpkg-dev"
# qemu-system-common has virtiofsd (shared_fs "virtio-fs"); bash-completion loads the
# installed completion; catatonit is the init of podman's pods' infra containers.
RUN="qemu-system-x86 qemu-system-common cpio busybox-static xz-utils binutils man-db
     bash-completion catatonit"
# uidmap (newuidmap), slirp4netns: rootless podman (75-rootless.bats). e2fsprogs
# (mkfs.ext4): the ext4 images of 63-block-rootfs.bats.
# lintian: tests/integration/05-install.bats checks the package with it; abigail-tools:
# the ABI check of libvcrun (80-libvcrun.bats, make abi-check).
# The lean guest kernel (`make guest-kernel`, guest/build-kernel.sh) is built from
# Debian's own source package.
KERNEL="linux-source bc flex bison libelf-dev libssl-dev"
TEST="bats jq runc crun iproute2 procps util-linux bsdutils clang-format python3 clang libclang-rt-14-dev
      docker.io containerd podman conmon netavark aardvark-dns iptables iperf3 wget lintian
      abigail-tools uidmap slirp4netns e2fsprogs"

missing=""
for p in $BUILD $RUN $KERNEL $TEST; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# An old package list may not know current versions; refresh it once.
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
