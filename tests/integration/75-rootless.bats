#!/usr/bin/env bats
# Rootless podman (issue 15): an ordinary user with subuid/subgid ranges runs podman
# with --runtime vcrun, its own storage under the test's dir, XDG_RUNTIME_DIR a dir it
# owns. vcrun then runs inside podman's user namespace as "root" that owns nothing of
# the host (common/rootless.h). The user is made here when missing and removed by
# teardown only when made here; every process of that user is gone after each test.

load helpers
load engines
load loops

RL_USER=vcrun-rl
RL_RANGE=300000:65536

rl_setup_user() {
	RL_MADE_USER=
	RL_MADE_SUB=
	command -v newuidmap >/dev/null ||
		fail "newuidmap is missing: rootless podman needs it (scripts/install-deps.sh installs uidmap)"
	if ! id "$RL_USER" >/dev/null 2>&1; then
		useradd -M -d /nonexistent -s /bin/sh "$RL_USER" || fail "useradd $RL_USER"
		RL_MADE_USER=1
	fi
	if ! grep -q "^$RL_USER:" /etc/subuid; then
		echo "$RL_USER:$RL_RANGE" >>/etc/subuid
		echo "$RL_USER:$RL_RANGE" >>/etc/subgid
		RL_MADE_SUB=1
	fi
}

setup() {
	common_setup
	rl_setup_user
	# the user reaches its own dir through $T (root's, 0700 from mktemp)
	chmod 0711 "$T"
	RL=$T/rl
	mkdir -p "$RL/xdg" "$RL/tmp" "$RL/home"
	engine_image_tar "$RL/bb.tar"
	chown -R "$RL_USER:" "$RL"
	chmod 0700 "$RL" "$RL/xdg"
	RPODMAN=(podman --root "$RL/storage" --runroot "$RL/run" --storage-driver vfs
		--cgroup-manager cgroupfs --events-backend file --tmpdir "$RL/tmp"
		--runtime "$RUNTIME")
	rlrun import "$RL/bb.tar" localhost/bb
	[ "$status" -eq 0 ] || fail "rootless podman import: $stderr"
}

# podman as the user, in a fresh login-like environment
rlrun() {
	status=0
	(cd "$RL" && runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$RL/home" USER="$RL_USER" XDG_RUNTIME_DIR="$RL/xdg" "${RPODMAN[@]}" "$@") \
		</dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

# The user's processes: podman's pause process (catatonit -P, which keeps its user
# namespace) is podman's own; anything of vcrun's (monitor, stand-in, QEMU) is a leak.
rl_vm_procs() {
	local p
	for p in $(pgrep -u "$RL_USER"); do
		case "$(cmdline_of "$p")" in
		*__monitor* | *__standin* | *qemu-system* | *conmon*) echo "$p" ;;
		esac
	done
}

# Container state left in the rootless root: anything but the per-user files.
rl_state_left() {
	local e
	for e in "$RL/xdg/vcrun"/*; do
		[ -e "$e" ] || continue
		case "${e##*/}" in
		accel.cache | cgroup-undelegated) ;;
		shared | netns) [ -z "$(ls -A "$e")" ] || echo "$e: $(ls -A "$e")" ;;
		*) echo "$e" ;;
		esac
	done
}

teardown() {
	local left p loops rc=0
	mapfile -t loops < <(loops_of_test)
	if [ -n "${RL:-}" ]; then
		rlrun rm -af -t 0
		left=$(rl_vm_procs)
		[ -z "$left" ] || echo "# left behind by the user: $left" >&2
		for p in $(pgrep -u "$RL_USER"); do kill -KILL "$p" 2>/dev/null || true; done
		wait_for 10 test -z "$(pgrep -u "$RL_USER")" || true
		umount_under "$RL"
	fi
	[ -z "${RL_MADE_SUB:-}" ] || sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	[ -z "${RL_MADE_USER:-}" ] || userdel "$RL_USER" 2>/dev/null || true
	common_teardown || rc=$?
	loops_detach "${loops[@]}"
	[ -z "${left:-}" ] && [ "$rc" -eq 0 ]
}

@test "rootless: vcrun check says rootless inside a user namespace, not as root" {
	run "$RUNTIME" check
	[[ $output == *"rootless: no (euid 0 in the initial user namespace)"* ]] || fail "$output"
	run runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL/xdg" "$RUNTIME" check
	[[ $output == *"rootless: yes (euid $(id -u "$RL_USER") is not 0)"* ]] || fail "$output"
	run runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL/xdg" "$RUNTIME" --debug list
	[[ $output == *"default root $RL/xdg/vcrun (rootless: "* ]] || fail "$output"
	# podman's own namespace: euid 0 there, still rootless; the root follows
	rlrun unshare "$RUNTIME" --debug list
	[[ $stderr$output == *"default root $RL/xdg/vcrun (rootless: euid 0 inside a user namespace"* ]] ||
		fail "in podman unshare: $output $stderr"
}

@test "rootless podman: run shows the guest kernel; exit codes" {
	rlrun run --rm --network none localhost/bb uname -r
	[ "$status" -eq 0 ] || fail "rootless podman run: $stderr"
	[ "$output" != "$(uname -r)" ] && [[ $output == 6.1.* ]] || fail "guest kernel: '$output'"
	rlrun run --rm --network none localhost/bb sh -c 'echo out; echo err >&2; exit 42'
	[ "$status" -eq 42 ] || fail "exit status $status, want 42: $stderr"
	[ "$output" = out ] && [[ $stderr == *err* ]] || fail "stdio: '$output' / '$stderr'"
	# per user, not /run/vcrun: the probe cache and the shares
	[ -f "$RL/xdg/vcrun/accel.cache" ] || fail "no per-user accel cache: $(ls -la "$RL/xdg/vcrun")"
	[ "$(stat -c %U "$RL/xdg/vcrun")" = "$RL_USER" ] || fail "root dir owner"
	# runuser makes no systemd user session: no delegated cgroup, said once per user
	[ -f "$RL/xdg/vcrun/cgroup-undelegated" ] || fail "no word about host cgroups"
	wait_for 10 test -z "$(rl_vm_procs)" || fail "left after run --rm: $(rl_vm_procs)"
	[ -z "$(rl_state_left)" ] || fail "state left: $(rl_state_left)"
}

@test "rootless podman: run -d, exec, stop, rm" {
	rlrun run -d --network none localhost/bb sh -c 'while :; do sleep 0.2; done'
	[ "$status" -eq 0 ] || fail "run -d: $stderr"
	cid=$output
	rlrun exec "$cid" sh -c 'echo exec-ok; exit 3'
	[ "$status" -eq 3 ] && [ "$output" = exec-ok ] || fail "exec: $status '$output' $stderr"
	rlrun exec "$cid" id -u
	[ "$output" = 0 ] || fail "exec id: '$output' $stderr"
	rlrun stop -t 2 "$cid"
	[ "$status" -eq 0 ] || fail "stop: $stderr"
	rlrun rm "$cid"
	[ "$status" -eq 0 ] || fail "rm: $stderr"
	wait_for 10 test -z "$(rl_vm_procs)" || fail "left after podman rm: $(rl_vm_procs)"
	[ -z "$(rl_state_left)" ] || fail "state left: $(rl_state_left)"
}

@test "rootless: a network namespace the user does not own is refused, nothing left" {
	make_bundle "$T/b" true
	# a namespace of the host's user namespace, pinned under the test's dir
	touch "$T/hostns"
	unshare --net="$T/hostns" true || fail "pin a network namespace"
	spec_edit "$T/b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "$T/hostns"
	# euid 0 in a user namespace of its own, as under rootless podman
	run unshare -r sh -c 'cd "$1" && exec "$2" --root "$3" run rl-netns' sh "$T/b" "$RUNTIME" "$ROOT"
	umount "$T/hostns"
	[ "$status" -ne 0 ] || fail "ran in a foreign network namespace"
	[[ $output == *"rootless (euid 0 inside a user namespace"*"network namespace $T/hostns belongs to a user namespace this user does not own"* ]] ||
		fail "error: $output"
	[ -z "$(ls -A "$ROOT")" ] || fail "left in the root: $(ls -A "$ROOT")"
}

@test "rootless: VFIO binding is refused, nothing left" {
	make_bundle "$T/b" true
	echo '{"vfio_bind": true}' >"$T/vcrun.json"
	spec_edit "$T/b" '.linux.devices = [{"path": "/dev/vfio/7", "type": "c", "major": 243, "minor": 7}]'
	run unshare -r env VCRUN_CONFIG="$T/vcrun.json" sh -c 'cd "$1" && exec "$2" --root "$3" run rl-vfio' \
		sh "$T/b" "$RUNTIME" "$ROOT"
	[ "$status" -ne 0 ] || fail "bound VFIO rootless"
	[[ $output == *"rootless (euid 0 inside a user namespace"*"linux.devices /dev/vfio/7: binding a device to vfio-pci needs root"* ]] ||
		fail "error: $output"
	[ -z "$(ls -A "$ROOT")" ] || fail "left in the root: $(ls -A "$ROOT")"
}

@test "rootless: a host block device the user cannot open is refused at create, naming it; nothing left" {
	dev=$(new_loop)
	make_bundle "$T/b" true
	add_blk "$T/b" "$dev" /dev/xvda
	mkdir "$RL/root"
	chown "$RL_USER:" "$RL/root"
	# euid 0 in a user namespace of the user's, as under rootless podman
	run runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$RL/xdg" \
		unshare -r sh -c 'cd "$1" && exec "$2" --root "$3" run rl-blk' sh "$T/b" "$RUNTIME" "$RL/root"
	[ "$status" -ne 0 ] || fail "ran with a device the user cannot open"
	[[ $output == *"linux.devices[0] /dev/xvda: host block device $dev ("*") cannot be opened for reading and writing: Permission denied"* ]] ||
		fail "error: $output"
	[ -z "$(ls -A "$RL/root")" ] || fail "left in the root: $(ls -A "$RL/root")"
}

@test "rootless: networking needs /dev/net/tun usable by the user" {
	# slirp4netns/pasta open /dev/net/tun as the user; with it 0600 root-only rootless
	# networking cannot work on this host (not vcrun's doing): said, not skipped.
	if ! runuser -u "$RL_USER" -- sh -c 'exec 3<>/dev/net/tun' 2>/dev/null; then
		echo "# /dev/net/tun is $(stat -c '%a %U' /dev/net/tun): not usable by $RL_USER;" \
			"rootless -p networking is not covered on this host" >&3
		rlrun run --rm --network slirp4netns localhost/bb true
		[ "$status" -ne 0 ] || fail "slirp4netns ran without /dev/net/tun"
		return 0
	fi
	rlrun run --rm --network slirp4netns localhost/bb true
	[ "$status" -eq 0 ] || fail "run with slirp4netns: $stderr"
}
