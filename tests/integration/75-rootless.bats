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
	rl_restore_tun
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

@test "rootless: a hook the user cannot run and a missing XDG_RUNTIME_DIR are refused, nothing left" {
	make_bundle "$T/b" true
	printf '#!/bin/sh\nexit 0\n' >"$T/root-hook"
	chmod 0700 "$T/root-hook"
	spec_edit "$T/b" '.hooks = {"prestart": [{"path": $h}]}' --arg h "$T/root-hook"
	chmod -R a+rX "$T/b"
	mkdir -p "$RL/root"
	chown "$RL_USER:" "$RL/root"
	# as podman runs it: euid 0 in the user's own user and mount namespaces
	run runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL/xdg" unshare -rm \
		sh -c 'cd "$1" && exec "$2" --root "$3" run rl-hook' sh "$T/b" "$RUNTIME" "$RL/root"
	[ "$status" -ne 0 ] || fail "ran a hook only root may run"
	[[ $output == *"rootless (euid 0 inside a user namespace"*"a hook this user cannot run"*"hooks.prestart[0] \`$T/root-hook\`: Permission denied"* ]] ||
		fail "error: $output"
	[ -z "$(ls -A "$RL/root" | grep -v accel.cache)" ] || fail "left in the root: $(ls -A "$RL/root")"
	spec_edit "$T/b" 'del(.hooks)'
	run runuser -u "$RL_USER" -- env -u XDG_RUNTIME_DIR unshare -rm \
		sh -c 'cd "$1" && exec "$2" --root "$3" run rl-xdg' sh "$T/b" "$RUNTIME" "$RL/root"
	[ "$status" -ne 0 ] || fail "ran without XDG_RUNTIME_DIR"
	[[ $output == *'$XDG_RUNTIME_DIR is not set'* ]] || fail "error: $output"
	[ -z "$(ls -A "$RL/root" | grep -v accel.cache)" ] || fail "left in the root: $(ls -A "$RL/root")"
}

# slirp4netns opens /dev/net/tun as the user: on a host where it is root-only (this
# build machine ships it 0600), the test opens it for its duration and restores it.
rl_open_tun() {
	TUN_MODE=$(stat -c %a /dev/net/tun)
	runuser -u "$RL_USER" -- sh -c 'exec 3<>/dev/net/tun' 2>/dev/null || chmod 0666 /dev/net/tun
}

rl_restore_tun() {
	[ -z "${TUN_MODE:-}" ] || chmod "$TUN_MODE" /dev/net/tun
}

@test "rootless podman: slirp4netns networking, and -p publishes a port into the VM" {
	rl_open_tun
	mkdir -p "$RL/home/.config/containers/containers.conf.d"
	printf '[engine]\nnetwork_cmd_options = ["port_handler=slirp4netns"]\n' \
		>"$RL/home/.config/containers/containers.conf.d/vcrun.conf"
	chown -R "$RL_USER:" "$RL/home"
	rlrun run --rm --network slirp4netns localhost/bb sh -c 'uname -r; ip -4 -o addr show'
	[ "$status" -eq 0 ] || fail "run with slirp4netns: $stderr"
	[[ $output == 6.1.*"10.0.2.100/24"* ]] && [[ $output != "$(uname -r)"* ]] ||
		fail "guest network: $output"
	local port=$((20000 + RANDOM % 20000))
	rlrun run -d --network slirp4netns -p "127.0.0.1:$port:80" localhost/bb \
		sh -c 'mkdir /www && echo "hello from $(uname -r)" >/www/index.html && exec httpd -f -p 80 -h /www'
	local cid=$output st=$status
	[ "$st" -eq 0 ] || fail "run -d -p: $stderr"
	local got=
	wait_for 30 sh -c "wget -qO- -T 2 http://127.0.0.1:$port/ >'$T/page' 2>/dev/null" &&
		got=$(cat "$T/page")
	rlrun rm -f -t 0 "$cid"
	[[ $got == "hello from 6.1."* ]] && [ "$got" != "hello from $(uname -r)" ] ||
		fail "published port answered '$got'"
	wait_for 10 test -z "$(rl_vm_procs)" || fail "left after podman rm: $(rl_vm_procs)"
	[ -z "$(rl_state_left)" ] || fail "state left: $(rl_state_left)"
}

@test "rootless: a delegated cgroup v2 subtree holds the VM; what it lacks is said" {
	local v2 cg
	v2=$(findmnt -rn -t cgroup2 -o TARGET | head -1)
	[ -n "$v2" ] || fail "no cgroup2 hierarchy mounted on this host"
	# what systemd's Delegate=yes gives user@UID.service: a cgroup the user owns
	cg=$v2/vcrun-rl-deleg-$$
	mkdir "$cg"
	chown "$RL_USER:" "$cg" "$cg/cgroup.procs" "$cg/cgroup.subtree_control" "$cg/cgroup.threads"
	make_bundle "$T/b" sh -c 'sleep 3'
	spec_edit "$T/b" '.linux.cgroupsPath = $p | .linux.resources.pids = {"limit": 77}' \
		--arg p "/${cg##*/}/ctr"
	chmod -R a+rX "$T/b"
	mkdir -p "$RL/root"
	chown "$RL_USER:" "$RL/root"
	# the user's shell starts in the delegated cgroup, as a login session's does
	(
		echo $BASHPID >"$cg/cgroup.procs"
		cd "$T/b" && exec runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL/xdg" \
			VCRUN_CGROUP_ROOT="$v2" unshare -rm "$RUNTIME" --root "$RL/root" run rl-cg
	) >"$T/out" 2>&1 &
	local pid=$!
	# while it runs: who is in the container's cgroup (QEMU comes last)
	cg_procs() {
		local p
		for p in $(cat "$cg/ctr/cgroup.procs" 2>/dev/null); do cmdline_of "$p"; echo; done
	}
	wait_for 60 sh -c "grep -q qemu-system /proc/\$(tail -1 '$cg/ctr/cgroup.procs' 2>/dev/null)/cmdline 2>/dev/null" || true
	local procs
	procs=$(cg_procs)
	wait "$pid" || { rmdir "$cg/ctr" "$cg" 2>/dev/null; fail "rootless run: $(cat "$T/out")"; }
	echo "$$" >"$v2/cgroup.procs" 2>/dev/null || true
	rmdir "$cg/ctr" 2>/dev/null || true
	[ ! -d "$cg/ctr" ] || fail "the container's cgroup is left: $(cat "$cg/ctr/cgroup.procs")"
	rmdir "$cg"
	[[ $procs == *__standin* && $procs == *__monitor* && $procs == *qemu-system* ]] ||
		fail "the delegated cgroup held: $procs"
	# a controller the delegation lacks (this hybrid host's v2 has no pids) is said
	if ! grep -qw pids "$v2/cgroup.controllers"; then
		grep -q "rootless: the delegated cgroup has no pids controller" "$T/out" ||
			fail "no word about the missing controller: $(cat "$T/out")"
	fi
	[ -z "$(ls -A "$RL/root" | grep -v accel.cache)" ] || fail "left in the root: $(ls -A "$RL/root")"
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
