#!/usr/bin/env bats
# A block-backed rootfs (issue 16): a bundle whose rootfs is a loop-mounted ext4 image
# reaches the VM as that disk (virtio-blk) with the annotation io.vcrun.block-rootfs,
# never mounted on both sides at once: create unmounts the host's mount, delete (or a
# failed create) mounts it back as it was. Seven VMs; the sixth test, a pod member's disk,
# needs the hot-plug of disks (vc_hv_hotplug_blk, branch h-host).

load helpers

ANNOT=io.vcrun.block-rootfs

# block_bundle DIR ARGS...: a bundle whose rootfs is an ext4 image (built from the
# usual test rootfs) on a loop device, mounted at DIR/rootfs. Sets LOOP.
block_bundle() {
	local dir=$1
	shift
	make_bundle "$dir" "$@"
	mv "$dir/rootfs" "$dir/rootfs.src"
	mkdir "$dir/rootfs"
	truncate -s 32M "$dir.img"
	mkfs.ext4 -q -F -d "$dir/rootfs.src" "$dir.img" || fail "mkfs.ext4 failed"
	rm -rf "$dir/rootfs.src"
	LOOP=$(losetup -f --show "$dir.img") || fail "losetup failed"
	echo "$LOOP" >>"$T/loops"
	echo "$dir/rootfs" >>"$T/rootfs-mounts"
	mount -o nodev "$LOOP" "$dir/rootfs" || fail "mount $LOOP failed"
	# As under systemd, whose / is shared: the copies that mount namespaces made
	# meanwhile (other tests' stand-ins, rslave) then lose it with the host's unmount.
	mount --make-shared "$dir/rootfs"
}

# host_mount PATH: what the host has mounted at PATH ("SOURCE FSTYPE OPTIONS"), empty
# when nothing.
host_mount() {
	findmnt -n -o SOURCE,FSTYPE,OPTIONS --mountpoint "$1" || true
}

# holder_stop: the process the test started to hold the rootfs ($T/holder.pid) ends.
holder_stop() {
	[ -f "$T/holder.pid" ] || return 0
	kill "$(cat "$T/holder.pid")" 2>/dev/null || true
	wait "$(cat "$T/holder.pid")" 2>/dev/null || true
	rm "$T/holder.pid"
}

# pod_start: a running pod "pod" (containerd's annotations, sleep 600) from $T/p.
pod_start() {
	make_bundle "$T/p" sleep 600
	spec_edit "$T/p" '.annotations += {"io.kubernetes.cri.container-type": "sandbox",
		"io.kubernetes.cri.sandbox-id": "pod"}'
	vcrun create --bundle "$T/p" "$(new_id pod)" </dev/null >/dev/null 2>"$T/err" || fail "pod: $(cat "$T/err")"
	vcrun start pod
}

# pod_end: the pod is still running, and then goes.
pod_end() {
	[ "$(state_status pod)" = running ] || fail "the pod went with its member"
	vcrun kill pod KILL
	wait_status pod stopped
	vcrun delete pod
}

teardown() {
	# Containers first: deleting one puts its rootfs back, which then goes here.
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		cleanup_containers
		local m l
		if [ -f "$T/rootfs-mounts" ]; then
			while read -r m; do
				while mountpoint -q "$m"; do umount "$m" || break; done
			done <"$T/rootfs-mounts"
		fi
		if [ -f "$T/loops" ]; then
			while read -r l; do losetup -d "$l" 2>/dev/null || true; done <"$T/loops"
		fi
		holder_stop
	fi
	common_teardown
}

@test "block rootfs: the container runs on the disk, writes to it, and delete gives it back" {
	is_vm_runtime || fail "a block rootfs is a VM's disk: run with vcrun, not $RUNTIME"
	block_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.annotations[$a] = "true" | .root.readonly = false' --arg a "$ANNOT"
	before=$(host_mount "$T/b/rootfs")
	[[ $before == "$LOOP ext4 "* ]] || fail "host mount before: '$before'"
	id=$(new_id blk)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	[[ $stderr == *"unmounted \`$T/b/rootfs\`"* ]] || fail "create did not say it unmounted the rootfs: $stderr"
	# Never mounted on both sides: the host's mount is gone while the VM has it.
	[ -z "$(host_mount "$T/b/rootfs")" ] || fail "still mounted on the host: $(host_mount "$T/b/rootfs")"
	vcrun start "$id"
	vc_capture exec "$id" cat /proc/mounts
	[ "$status" -eq 0 ] || fail "exec: $stderr"
	root_line=$(awk '$2 == "/"' <<<"$output")
	[[ $root_line =~ ^/dev/vd[a-z]+\ /\ ext4\ rw ]] || fail "/ in the container: '$root_line' (all: $output)"
	[[ $root_line == *nodev* ]] || fail "the host mount's options did not travel: '$root_line'"
	vc_capture exec "$id" sh -c 'echo written-in-the-vm >/from-vm && cat /from-vm'
	[ "$status" -eq 0 ] && [ "$output" = written-in-the-vm ] || fail "write: $status $output $stderr"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vc_capture delete "$id"
	[ "$status" -eq 0 ] || fail "delete: $stderr"
	[[ $stderr == *"mounted back at \`$T/b/rootfs\`"* ]] || fail "delete did not say it mounted the rootfs back: $stderr"
	# Back exactly as it was, once, with what the container wrote.
	after=$(host_mount "$T/b/rootfs")
	[ "$after" = "$before" ] || fail "host mount after delete: '$after', before: '$before'"
	[ "$(cat "$T/b/rootfs/from-vm")" = written-in-the-vm ] || fail "the file is not on the host"
	vcrun delete --force "$id"
	[ "$(findmnt -n --mountpoint "$T/b/rootfs" | wc -l)" -eq 1 ] || fail "mounted twice: $(findmnt --mountpoint "$T/b/rootfs")"
}

@test "block rootfs: root.readonly gives a read-only disk" {
	is_vm_runtime || fail "a block rootfs is a VM's disk: run with vcrun, not $RUNTIME"
	block_bundle "$T/b" sh -c 'grep " / " /proc/mounts; touch /x 2>/dev/null && echo WROTE || echo READONLY'
	spec_edit "$T/b" '.annotations[$a] = "true" | .root.readonly = true' --arg a "$ANNOT"
	before=$(host_mount "$T/b/rootfs")
	id=$(new_id blkro)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	[[ $output =~ /dev/vd[a-z]+\ /\ ext4\ ro ]] || fail "/ is not a read-only ext4: $output"
	[[ $output == *READONLY* ]] || fail "the container wrote: $output"
	vcrun delete --force "$id"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount after: '$(host_mount "$T/b/rootfs")'"
	[ ! -e "$T/b/rootfs/x" ] || fail "x exists on the host"
}

@test "block rootfs: off by default and with the annotation false, the share is used" {
	is_vm_runtime || fail "a block rootfs is a VM's disk: run with vcrun, not $RUNTIME"
	block_bundle "$T/b" sh -c 'grep " / " /proc/mounts'
	before=$(host_mount "$T/b/rootfs")
	id=$(new_id blkoff)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	[[ $output == *" / 9p "* || $output == *" / virtiofs "* ]] || fail "/ is not the share: $output"
	vcrun delete --force "$id"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount after: '$(host_mount "$T/b/rootfs")'"

	# A bad value names the annotation; nothing is made.
	spec_edit "$T/b" '.annotations[$a] = "yes"' --arg a "$ANNOT"
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *"$ANNOT"*yes* ]] || fail "bad annotation: $status $stderr"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount changed"
	# A rootfs that is no block device's mount, with the annotation: the share.
	make_bundle "$T/plain" sh -c 'grep " / " /proc/mounts'
	spec_edit "$T/plain" '.annotations[$a] = "true"' --arg a "$ANNOT"
	id2=$(new_id blkplain)
	vc_capture --debug run --bundle "$T/plain" "$id2"
	[ "$status" -eq 0 ] || fail "run: $status $stderr"
	[[ $output == *" / 9p "* || $output == *" / virtiofs "* ]] || fail "/ is not the share: $output"
	[[ $stderr == *"goes through the share, not as a disk"* ]] || fail "no debug line saying why: $stderr"
}

@test "block rootfs: a rootfs held on the host or in another namespace is refused, and a failed create mounts it back" {
	is_vm_runtime || fail "a block rootfs is a VM's disk: run with vcrun, not $RUNTIME"
	block_bundle "$T/b" true
	spec_edit "$T/b" '.annotations[$a] = "true"' --arg a "$ANNOT"
	before=$(host_mount "$T/b/rootfs")
	# A process on the host with its working directory in the rootfs.
	(cd "$T/b/rootfs" && exec sleep 600) </dev/null >/dev/null 2>&1 &
	echo $! >"$T/holder.pid"
	id=$(new_id blkbusy)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded with the rootfs busy"
	[[ $stderr == *"$T/b/rootfs"* && $stderr == *"something on the host holds it"* ]] ||
		fail "error: $stderr"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount: '$(host_mount "$T/b/rootfs")'"
	[ ! -e "$ROOT/$id" ] || fail "state dir left"
	holder_stop

	# A mount namespace that keeps a private copy of the filesystem: refused, naming
	# a process that has it, and left mounted.
	(cd / && exec unshare -m --propagation private sleep 600) </dev/null >/dev/null 2>&1 &
	echo $! >"$T/holder.pid"
	wait_for 10 grep -q " $T/b/rootfs " "/proc/$(cat "$T/holder.pid")/mountinfo" || fail "unshare did not start"
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded with the filesystem mounted in another namespace"
	[[ $stderr == *"still mounted on the host in another mount namespace (pid $(cat "$T/holder.pid"), sleep"* ]] ||
		fail "error: $stderr"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount: '$(host_mount "$T/b/rootfs")'"
	[ ! -e "$ROOT/$id" ] || fail "state dir left"
	holder_stop

	# A failing prestart hook runs after the unmount: create fails and mounts it back.
	spec_edit "$T/b" '.hooks.prestart = [{"path": "/bin/sh", "args": ["sh", "-c", "mountpoint -q \"$0\" && echo MOUNTED >&2; exit 3", $r]}]' \
		--arg r "$T/b/rootfs"
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded"
	[[ $stderr != *MOUNTED* ]] || fail "the hook saw the rootfs mounted on the host: $stderr"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount after a failed create: '$(host_mount "$T/b/rootfs")'"
	[ "$(findmnt -n --mountpoint "$T/b/rootfs" | wc -l)" -eq 1 ] || fail "mounted twice"
}

@test "block rootfs: delete --force of a create killed half-way mounts it back once" {
	is_vm_runtime || fail "a block rootfs is a VM's disk: run with vcrun, not $RUNTIME"
	block_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.annotations[$a] = "true" | .hooks.prestart = [{"path": "/bin/sh", "args": ["sh", "-c", "echo $$ >\"$0\"; exec sleep 600", $p]}]' \
		--arg a "$ANNOT" --arg p "$T/hook.pid"
	before=$(host_mount "$T/b/rootfs")
	id=$(new_id blkhalf)
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" create --bundle "$T/b" "$id"
	) </dev/null >"$T/create.out" 2>"$T/create.err" &
	create=$!
	echo "$create" >>"$T/bg.pids"
	wait_for 30 test -s "$T/hook.pid" || fail "the hook did not run: $(cat "$T/create.err")"
	[ -z "$(host_mount "$T/b/rootfs")" ] || fail "mounted on the host during create"
	kill -KILL "$create"
	wait "$create" 2>/dev/null || true
	kill -KILL "$(cat "$T/hook.pid")"
	vc_capture delete --force "$id"
	[ "$status" -eq 0 ] || fail "delete --force: $stderr"
	[ "$(host_mount "$T/b/rootfs")" = "$before" ] || fail "host mount: '$(host_mount "$T/b/rootfs")'"
	vc_capture delete --force "$id"
	[ "$(findmnt -n --mountpoint "$T/b/rootfs" | wc -l)" -eq 1 ] || fail "mounted twice"
}

@test "block rootfs: a pod member's disk is hot-plugged into the running sandbox, and its delete gives the rootfs back while the pod runs on" {
	is_vm_runtime || fail "pods are vcrun's: run with vcrun, not $RUNTIME"
	pod_start
	block_bundle "$T/m" sh -c 'grep " / " /proc/mounts; echo from-member >/member'
	spec_edit "$T/m" '.root.readonly = false | .annotations += {"io.kubernetes.cri.container-type": "container",
		"io.kubernetes.cri.sandbox-id": "pod", ($a): "true"}' --arg a "$ANNOT"
	before=$(host_mount "$T/m/rootfs")
	vcrun create --bundle "$T/m" "$(new_id member)" </dev/null >"$T/member.out" 2>"$T/err" ||
		fail "member: $(cat "$T/err")"
	[ -z "$(host_mount "$T/m/rootfs")" ] || fail "still mounted on the host: $(host_mount "$T/m/rootfs")"
	[ "$(qemu_pids | wc -l)" -eq 1 ] || fail "$(qemu_pids | wc -l) VMs for one pod"
	vcrun start member
	wait_status member stopped
	[[ $(cat "$T/member.out") =~ ^/dev/vd[a-z]+\ /\ ext4\ rw ]] || fail "/ in the member: $(cat "$T/member.out")"
	vcrun delete member
	[ "$(host_mount "$T/m/rootfs")" = "$before" ] || fail "host mount after the member: '$(host_mount "$T/m/rootfs")'"
	[ "$(cat "$T/m/rootfs/member")" = from-member ] || fail "the member's file is not on the host"
	vcrun exec pod true || fail "exec in the pod after its member left"
	pod_end
}

@test "block rootfs: a pod member whose create fails gets its rootfs back; the pod runs on" {
	is_vm_runtime || fail "pods are vcrun's: run with vcrun, not $RUNTIME"
	pod_start
	block_bundle "$T/m" true
	spec_edit "$T/m" '.annotations += {"io.kubernetes.cri.container-type": "container",
		"io.kubernetes.cri.sandbox-id": "pod", ($a): "true"}
		| .hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]' --arg a "$ANNOT"
	before=$(host_mount "$T/m/rootfs")
	vc_capture create --bundle "$T/m" "$(new_id member)"
	[ "$status" -ne 0 ] || fail "create succeeded"
	[[ $stderr != *"left unmounted"* ]] || fail "$stderr"
	[ "$(host_mount "$T/m/rootfs")" = "$before" ] || fail "host mount after the failed member: '$(host_mount "$T/m/rootfs")'"
	pod_end
}
