# Real container engines started by the tests themselves: dockerd on a private socket,
# data root and exec root (stopped by its pid), podman with private storage, and
# containerd's ctr. Images come from a busybox tarball the tests build: no registry.
# shellcheck shell=bash

# engine_image_tar OUT: a busybox-static root filesystem as a tarball for `import`.
engine_image_tar() {
	local dir=$T/img a
	mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
	cp /bin/busybox "$dir/bin/busybox"
	for a in sh echo cat uname sleep true false ls id hostname ps kill trap wc head \
		httpd wget nslookup; do
		ln -sf busybox "$dir/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
	tar -C "$dir" -cf "$1" .
}

# umount_under DIR: what an engine left mounted below DIR (overlays, netns pins).
umount_under() {
	local m
	for m in $(awk -v d="$1" '$5 ~ "^"d {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

# start_dockerd [NETNS]: a private dockerd with vcrun registered as a runtime; sets
# DOCKER_HOST. Without NETNS it has no network (--bridge none); with NETNS (a namespace
# under /run/netns that the test made) it runs there with its default bridge, so that
# docker0, its port proxies and its iptables rules stay inside the test's namespace.
# nsenter, not `ip netns exec`: that one remounts /sys, and dockerd needs the cgroups.
start_dockerd() {
	DK=$T/dk
	mkdir -p "$DK"
	local in=() net=(--bridge none)
	if [ -n "${1:-}" ]; then
		in=(nsenter "--net=/run/netns/$1")
		net=()
	fi
	(
		close_test_fds
		exec "${in[@]}" dockerd --data-root "$DK/data" -H "unix://$DK/docker.sock" \
			--exec-root "$DK/exec" --pidfile "$DK/pid" --add-runtime "vcrun=$RUNTIME" \
			--default-ulimit nofile=1024:1024 --default-ulimit nproc=1024:1024 \
			"${net[@]}" --iptables=false --ip6tables=false
	) </dev/null >"$DK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	export DOCKER_HOST=unix://$DK/docker.sock
	wait_for 60 docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
		fail "dockerd did not come up: $(tail -n 20 "$DK/dockerd.log")"
	engine_image_tar "$T/bb.tar"
	docker import "$T/bb.tar" localhost/bb >/dev/null || fail "docker import failed"
}

# stop_dockerd: stop it by pid, then make sure nothing of it is left.
stop_dockerd() {
	[ -n "${DOCKERD_PID:-}" ] || return 0
	docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
	kill -TERM "$DOCKERD_PID" 2>/dev/null || true
	local deadline=$((SECONDS + 30))
	while kill -0 "$DOCKERD_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	kill -KILL "$DOCKERD_PID" 2>/dev/null || true
	DOCKERD_PID=
	umount_under "$DK"
}

# drun ARGS...: docker with stdin from /dev/null, output in $T/out and $T/err.
drun() {
	status=0
	docker "$@" </dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

# vm_procs_under DIR: vcrun's own processes (monitor, stand-in, QEMU) that belong to
# DIR; the engine's daemons, which also name DIR, do not count.
vm_procs_under() {
	local p
	for p in $(procs_under "$1"); do
		case "$(cmdline_of "$p")" in
		*__monitor* | *__standin* | *qemu-system*) echo "$p" ;;
		esac
	done
}

# podman with private storage and run root, vcrun as its runtime (by path, as a user
# would with `podman --runtime /usr/bin/vcrun`). Sets PODMAN (an array). With NETNS,
# podman (and so netavark, its bridge and firewall rules) works inside that namespace.
setup_podman() {
	PM=$T/pm
	mkdir -p "$PM/tmp"
	local in=()
	[ -z "${1:-}" ] || in=(nsenter "--net=/run/netns/$1")
	PODMAN=("${in[@]}" podman --root "$PM/storage" --runroot "$PM/run" --storage-driver vfs
		--cgroup-manager cgroupfs --events-backend file --tmpdir "$PM/tmp" --runtime "$RUNTIME"
		--network-backend netavark)
	engine_image_tar "$T/bb.tar"
	"${PODMAN[@]}" import "$T/bb.tar" localhost/bb >/dev/null 2>&1 || fail "podman import failed"
}

teardown_podman() {
	[ -n "${PM:-}" ] || return 0
	"${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1 || true
	umount_under "$PM"
}

# prun ARGS...: podman with stdin from /dev/null, output in $T/out and $T/err.
prun() {
	status=0
	"${PODMAN[@]}" "$@" </dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

# start_containerd: a private containerd (its own root, state and socket); sets CTR.
start_containerd() {
	CT=$T/ct
	mkdir -p "$CT"
	cat >"$CT/config.toml" <<EOT
version = 2
root = "$CT/root"
state = "$CT/state"
[grpc]
  address = "$CT/containerd.sock"
[ttrpc]
  address = "$CT/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    disable_cgroup = true
EOT
	(
		close_test_fds
		exec containerd --config "$CT/config.toml"
	) </dev/null >"$CT/containerd.log" 2>&1 &
	CONTAINERD_PID=$!
	CTR=(ctr --address "$CT/containerd.sock")
	wait_for 60 "${CTR[@]}" version >/dev/null 2>&1 ||
		fail "containerd did not come up: $(tail -n 20 "$CT/containerd.log")"
	mkdir -p "$T/ct-rootfs"
	engine_image_tar "$T/bb.tar"
	tar -C "$T/ct-rootfs" -xf "$T/bb.tar"
}

stop_containerd() {
	[ -n "${CONTAINERD_PID:-}" ] || return 0
	local t
	for t in $("${CTR[@]}" task ls -q 2>/dev/null); do
		"${CTR[@]}" task kill -s KILL "$t" >/dev/null 2>&1 || true
		"${CTR[@]}" task delete -f "$t" >/dev/null 2>&1 || true
	done
	for t in $("${CTR[@]}" container ls -q 2>/dev/null); do
		"${CTR[@]}" container delete "$t" >/dev/null 2>&1 || true
	done
	kill -TERM "$CONTAINERD_PID" 2>/dev/null || true
	local deadline=$((SECONDS + 30))
	while kill -0 "$CONTAINERD_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	kill -KILL "$CONTAINERD_PID" 2>/dev/null || true
	CONTAINERD_PID=
	umount_under "$CT"
}

# crun_ctr ARGS...: ctr with stdin from /dev/null, output in $T/out and $T/err.
crun_ctr() {
	status=0
	"${CTR[@]}" "$@" </dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}
