#!/usr/bin/env bats
# The lean guest kernel (guest/lean.config, `make guest-kernel`): vcrun boots it when
# it is beside the executable, `vcrun check` says so, and the config's "kernel"
# ("debian", "lean", a path) is obeyed. Containers on it: run, exec, a CDI device, a
# network namespace (ping, TCP, a NIC hot-plugged through a PCIe root port) and a pod
# member's memory and vCPU hot-plug. Three VMs.
#
# tests/run-all.sh builds the kernel first (`make guest-kernel LEAN_OUT=build/lean`,
# cached by the config's hash); the tests run a copy of vcrun in $T/inst/bin with
# share/vcrun beside it holding both kernels, so the rest of the suite keeps Debian's.
# Network: namespaces vc48p-N (peer) and vc48c-N (container), veths vc48e<N>/vc48q<N>
# and vc48m<N>/vc48o<N>, addresses 10.48.N.0/24 and 10.48.1N.0/24.

load helpers

LEAN_DIR=${VCRUN_LEAN_DIR:-$REPO/build/lean}
CRI_TYPE=io.kubernetes.cri.container-type
CRI_SB=io.kubernetes.cri.sandbox-id

setup() {
	common_setup
	[ -f "$LEAN_DIR/vmlinux-lean" ] && [ -f "$LEAN_DIR/initramfs-lean.img" ] ||
		fail "no lean kernel in $LEAN_DIR: make guest-kernel LEAN_OUT=$LEAN_DIR (tests/run-all.sh does)"
	is_vm_runtime || fail "the lean kernel is a VM's: run with vcrun, not $RUNTIME"
	inst "$T/inst" lean
	RUNTIME=$T/inst/bin/vcrun
	# No config file: the choice is vcrun's own.
	export VCRUN_CONFIG=$T/config.json
	n=$BATS_TEST_NUMBER
	peer_ns=vc48p-$n ctr_ns=vc48c-$n
}

teardown() {
	netns_gone "$peer_ns" "$ctr_ns"
	common_teardown
}

# inst DIR [lean]: DIR/bin/vcrun, a copy of the runtime (it finds its guest image in
# ../share/vcrun from its own path), with Debian's kernel there and, with `lean`, the
# lean one too.
inst() {
	mkdir -p "$1/bin" "$1/share/vcrun"
	cp "$RUNTIME" "$1/bin/vcrun"
	ln -s "$VCRUN_SHARE/vmlinuz" "$VCRUN_SHARE/initramfs.img" "$1/share/vcrun/"
	if [ "${2:-}" = lean ]; then
		ln -s "$LEAN_DIR/vmlinux-lean" "$LEAN_DIR/initramfs-lean.img" "$1/share/vcrun/"
	fi
}

check_kernel_line() {
	vcrun check 2>/dev/null | sed -n 's/^guest kernel: //p'
}

@test "lean kernel: taken when it is there, said by check; \"debian\", \"lean\" and tcg_tb_size_mib in the config obeyed" {
	# Installed with its PVH note and without the symbol table QEMU would copy into
	# every VM's heap (guest/build-kernel.sh).
	readelf -n "$LEAN_DIR/vmlinux-lean" | grep -Eq 'Xen.*(0x00000012|PHYS32_ENTRY)' ||
		fail "no PVH note: $(readelf -n "$LEAN_DIR/vmlinux-lean")"
	! readelf -S "$LEAN_DIR/vmlinux-lean" | grep -Eq '\.(symtab|strtab)' ||
		fail "a symbol table: $(readelf -S "$LEAN_DIR/vmlinux-lean" | grep -E 'symtab|strtab')"
	share=$T/inst/bin/../share/vcrun
	[ "$(check_kernel_line)" = "lean, $share/vmlinux-lean with $share/initramfs-lean.img (auto: the lean kernel is there)" ] ||
		fail "auto with a lean kernel: $(check_kernel_line)"
	echo '{"kernel": "debian"}' >"$VCRUN_CONFIG"
	[ "$(check_kernel_line)" = "debian, $share/vmlinuz with $share/initramfs.img (set in vcrun's config)" ] ||
		fail "debian: $(check_kernel_line)"
	echo '{"kernel": "lean", "initrd": "/x/y.img"}' >"$VCRUN_CONFIG"
	[ "$(check_kernel_line)" = "lean, $share/vmlinux-lean with /x/y.img (set in vcrun's config)" ] ||
		fail "lean with an initrd: $(check_kernel_line)"

	# Without one, auto is Debian's, and "lean" fails create naming the file.
	inst "$T/deb"
	RUNTIME=$T/deb/bin/vcrun
	rm "$VCRUN_CONFIG"
	share=$T/deb/bin/../share/vcrun
	[ "$(check_kernel_line)" = "debian, $share/vmlinuz with $share/initramfs.img (auto: no lean kernel; make guest-kernel builds one)" ] ||
		fail "auto without a lean kernel: $(check_kernel_line)"
	echo '{"kernel": "lean"}' >"$VCRUN_CONFIG"
	[[ $(check_kernel_line) == "unknown (the config is unusable)" ]] || fail "$(check_kernel_line)"
	make_bundle "$T/b" true
	vc_capture create --bundle "$T/b" "$(new_id nolean)"
	[ "$status" -ne 0 ] && [[ $stderr == *"$VCRUN_CONFIG: kernel: "*lean*"\`$share/vmlinux-lean\`: No such file or directory (make guest-kernel builds it)"* ]] ||
		fail "lean missing: $status $stderr"
	[ "$(echo "$stderr" | wc -l)" -eq 1 ] || fail "more than one line: $stderr"
	for bad in '-1' '"64"' '16385' '1.5'; do
		echo "{\"tcg_tb_size_mib\": $bad}" >"$VCRUN_CONFIG"
		vc_capture create --bundle "$T/b" "$(new_id badtb)"
		[ "$status" -ne 0 ] && [[ $stderr == *"$VCRUN_CONFIG: tcg_tb_size_mib: must be an integer from 0"* ]] ||
			fail "tcg_tb_size_mib $bad: $status $stderr"
	done
	[ -z "$(vcrun list -q)" ] || fail "left: $(vcrun list -q)"
}

@test "lean kernel: run, exec and a CDI device; no modules; every cgroup controller and file system containers use" {
	export VCRUN_CDI_SPEC_DIRS=$T/cdi
	mkdir -p "$T/cdi" "$T/data"
	echo hello-cdi >"$T/data/f"
	cat >"$T/cdi/vendor.json" <<EOT
{"cdiVersion": "0.6.0", "kind": "example.com/gpu",
 "devices": [{"name": "env0", "containerEdits": {"env": ["GPU=env0"],
   "mounts": [{"hostPath": "$T/data", "containerPath": "/cdi-data", "options": ["ro", "bind"]}]}}]}
EOT
	make_bundle "$T/b" sh -c 'uname -r; echo "gpu=$GPU"; cat /cdi-data/f; echo ready; read go; exit 7'
	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/vcrun-test": "example.com/gpu=env0"}'
	id=$(new_id lean)
	bg_run r "$id" "$T/b"
	bg_expect r ready
	[ "$(head -n 3 "$T/r.out" | tr '\n' ' ')" = "$(kernel_version_of "$LEAN_DIR/vmlinux-lean") gpu=env0 hello-cdi " ] ||
		fail "the container's view: $(cat "$T/r.out")"
	[[ $(head -n 1 "$T/r.out") == *-vcrun-lean ]] || fail "not the lean kernel: $(head -n 1 "$T/r.out")"
	# QEMU booted the lean files, with the configured translation cache under TCG.
	q=$(qemu_pids)
	tr '\0' '\n' <"/proc/$q/cmdline" >"$T/qemu.argv"
	grep -qx "$T/inst/bin/../share/vcrun/vmlinux-lean" "$T/qemu.argv" &&
		grep -qx "$T/inst/bin/../share/vcrun/initramfs-lean.img" "$T/qemu.argv" ||
		fail "QEMU's kernel and initrd: $(cat "$T/qemu.argv")"
	if [ "$(qemu_accel "$q")" = tcg ]; then
		grep -qx "tcg,tb-size=32" "$T/qemu.argv" || fail "no tb-size: $(cat "$T/qemu.argv")"
	fi

	vc_capture exec "$id" sh -c 'echo exec-ok; ls /proc/modules 2>&1; cat /proc/filesystems;
		cat /sys/fs/cgroup/cgroup.controllers'
	[ "$status" -eq 0 ] || fail "exec: $status $stderr"
	[[ $output == exec-ok* ]] || fail "exec: $output"
	# CONFIG_MODULES=n: nothing to load, nothing loaded.
	[[ $output == *"/proc/modules: No such file or directory"* ]] || fail "modules: $output"
	for fs in 9p virtiofs fuse overlay tmpfs devtmpfs cgroup2 proc sysfs devpts mqueue; do
		grep -qE "[[:space:]]$fs\$" <<<"$output" || fail "no $fs in /proc/filesystems: $output"
	done
	for c in cpuset cpu io memory pids; do
		grep -qw "$c" <<<"$(tail -n 1 <<<"$output")" || fail "no cgroup controller $c: $output"
	done
	vc_capture exec "$id" sh -c 'exit 3'
	[ "$status" -eq 3 ] || fail "exec exit status: $status"
	bg_send r go
	bg_wait "$BG_PID"
	[ "$BG_STATUS" -eq 7 ] || fail "run exited $BG_STATUS: $(cat "$T/r.err")"
}

# veth NAME PEER ADDR PEER_ADDR: a veth from the container's namespace to the peer's.
veth() {
	ip -n "$ctr_ns" link add "$1" type veth peer name "$2" netns "$peer_ns"
	ip -n "$ctr_ns" addr add "$3/24" dev "$1"
	ip -n "$peer_ns" addr add "$4/24" dev "$2"
	ip -n "$peer_ns" link set "$2" up
	ip -n "$ctr_ns" link set "$1" up
}

@test "lean kernel: a network namespace bridged in (ping, TCP), and a late interface hot-plugged through a PCIe root port" {
	ip netns add "$peer_ns"
	ip netns add "$ctr_ns"
	ip -n "$peer_ns" link set lo up
	ip -n "$ctr_ns" link set lo up
	veth "vc48e$n" "vc48q$n" "10.48.$n.2" "10.48.$n.1"
	mkdir -p "$T/www"
	echo "hello lean $n" >"$T/www/hello.txt"
	(
		close_test_fds
		exec ip netns exec "$peer_ns" /bin/busybox httpd -f -p 8080 -h "$T/www"
	) </dev/null >"$T/httpd.log" 2>&1 &
	echo $! >>"$T/bg.pids"
	make_bundle "$T/b" sleep 600
	ln -s busybox "$T/b/rootfs/bin/ping"
	ln -s busybox "$T/b/rootfs/bin/ip"
	spec_edit "$T/b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
		| .process.capabilities |= (.bounding += ["CAP_NET_RAW"] | .effective += ["CAP_NET_RAW"]
		| .permitted += ["CAP_NET_RAW"])' --arg p "/run/netns/$ctr_ns"
	id=$(new_id net)
	vc_capture --debug --log "$T/vcrun.log" run -d --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	vc_capture exec "$id" ping -c 2 -w 30 "10.48.$n.1"
	[ "$status" -eq 0 ] && [[ $output == *"64 bytes from 10.48.$n.1"* ]] || fail "ping: $output $stderr"
	vc_capture exec "$id" wget -q -O - "http://10.48.$n.1:8080/hello.txt"
	[ "$status" -eq 0 ] && [ "$output" = "hello lean $n" ] || fail "TCP: $status $output $stderr"

	veth "vc48m$n" "vc48o$n" "10.48.1$n.2" "10.48.1$n.1"
	wait_for 30 grep -q "interface vc48m$n (.*) hot-plugged as NIC" "$T/vcrun.log" ||
		fail "not hot-plugged: $(cat "$T/vcrun.log")"
	wait_for 30 grep -q "inet 10.48.1$n.2/24" <(vcrun exec "$id" ip addr show "vc48m$n" 2>&1) ||
		fail "the hot-plugged NIC in the guest: $(vcrun exec "$id" ip addr 2>&1)"
	vc_capture exec "$id" ping -c 2 -w 30 "10.48.1$n.1"
	[ "$status" -eq 0 ] || fail "ping across the hot-plugged NIC: $output $stderr"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
}

@test "lean kernel: a pod member's memory limit and CPU quota hot-plug a DIMM and a vCPU" {
	make_bundle "$T/p" sleep 600
	spec_edit "$T/p" '.annotations = {($t): "sandbox", ($s): "pod"}' --arg t "$CRI_TYPE" --arg s "$CRI_SB"
	vcrun create --bundle "$T/p" "$(new_id pod)" </dev/null >/dev/null 2>"$T/err" ||
		fail "pod: $(cat "$T/err")"
	vcrun start pod
	mem() { vcrun exec pod sh -c "grep MemTotal /proc/meminfo" | awk '{print $2}'; }
	before=$(mem)
	[ "$(vcrun exec pod cat /sys/devices/system/cpu/online)" = 0 ] || fail "vCPUs at boot"
	make_bundle "$T/a" sleep 600
	spec_edit "$T/a" '.annotations = {($t): "container", ($s): "pod"}
		| .linux.resources.memory = {"limit": 209715200}
		| .linux.resources.cpu = {"quota": 50000, "period": 100000}' \
		--arg t "$CRI_TYPE" --arg s "$CRI_SB"
	vcrun create --bundle "$T/a" "$(new_id app)" </dev/null >/dev/null 2>"$T/err" ||
		fail "app: $(cat "$T/err")"
	during=$(mem)
	[ $((during - before)) -eq 262144 ] || fail "MemTotal $before kB -> $during kB"
	[ "$(vcrun exec pod cat /sys/devices/system/cpu/online)" = 0-1 ] ||
		fail "vCPUs with the member: $(vcrun exec pod cat /sys/devices/system/cpu/online)"
	vcrun delete -f app
	[ "$(mem)" -eq "$before" ] || fail "MemTotal after the delete: $(mem) kB, at boot $before kB"
	vcrun delete -f pod
}
