#!/usr/bin/env bats
# User namespaces: a bundle whose rootfs belongs to host uid/gid 100000, run with
# uidMappings/gidMappings 0 -> 100000 (65536 ids) and a user namespace. Inside, the
# process is root and owns the image (9p, security_model=none, shows the guest the
# host's owners as they are); what it writes to a host directory belongs to 100000.
# The same file runs against runc (VCRUN=/usr/sbin/runc), and the first test also
# compares vcrun's output with runc's on the same bundle.

load helpers
load engines

teardown() {
	teardown_podman
	common_teardown
}

MAP='[{"containerID":0,"hostID":100000,"size":65536}]'

# userns_bundle DIR ARGS...: a mkbundle bundle chowned to 100000:100000 with a user
# namespace and the mappings, and $T/vol (owned likewise) bound at /vol.
userns_bundle() {
	local dir=$1
	shift
	make_bundle "$dir" "$@"
	chown -R 100000:100000 "$dir/rootfs"
	mkdir -p "$T/vol"
	chown 100000:100000 "$T/vol"
	chmod 1777 "$T/vol"
	# runc's init runs as 100000 on this host and walks down to its rootfs
	chmod 0711 "$T"
	spec_edit "$dir" '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = $map | .linux.gidMappings = $map
		| .linux.sysctl = {"net.ipv4.ping_group_range": "0 0"}
		| .mounts += [{"destination":"/vol","type":"bind","source":$vol,
			"options":["rbind","nosuid"]}]' --argjson map "$MAP" --arg vol "$T/vol"
}

SCRIPT='id; ls -nd /bin/busybox /; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups
	touch /vol/made && ls -n /vol/made; cat /proc/sys/net/ipv4/ping_group_range; echo mounts:
	grep -E " /(proc|sys|dev/pts|dev/mqueue|dev/shm) " /proc/self/mounts'

@test "userns: root inside owns the image; what it writes is the mapping's outside" {
	userns_bundle "$T/b" sh -c "$SCRIPT"
	id=$(new_id userns)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run exited $status: $stderr"
	[[ $output == "uid=0(root) gid=0(root)"* ]] || fail "id: $output"
	grep -Eq '^-rwxr-xr-x +1 0 +0 .* /bin/busybox$' <<<"$output" ||
		fail "busybox is not root's inside: $output"
	grep -Eq '^drwx.* 0 +0 .* /$' <<<"$output" || fail "/ is not root's inside: $output"
	[ "$(grep -Ec '^ +0 +100000 +65536$' <<<"$output")" -eq 2 ] ||
		fail "uid_map/gid_map: $output"
	grep -qx allow <<<"$output" || fail "setgroups: $output"
	# a network sysctl: the VM's network is the guest root's, so the agent writes it
	grep -qx $'0\t0' <<<"$output" || fail "net.ipv4.ping_group_range: $output"
	grep -Eq '^-.* 0 +0 .* /vol/made$' <<<"$output" || fail "/vol/made inside: $output"
	[ "$(stat -c %u:%g "$T/vol/made")" = 100000:100000 ] ||
		fail "on the host /vol/made is $(stat -c %u:%g "$T/vol/made")"
	mounts=$(sed '1,/^mounts:$/d' <<<"$output" | awk '{print $2, $3}')
	for m in "/proc proc" "/sys sysfs" "/dev/pts devpts" "/dev/mqueue mqueue" "/dev/shm tmpfs"; do
		grep -qx "$m" <<<"$mounts" || fail "no '$m' mount: $output"
	done
	# the image itself was not touched
	[ "$(stat -c %u:%g "$T/b/rootfs/bin/busybox")" = 100000:100000 ]
	if is_vm_runtime; then
		rm "$T/vol/made"
		mkdir -p "$T/runc"
		rc=0
		(close_test_fds && exec /usr/sbin/runc --root "$T/runc" run --bundle "$T/b" "$id-runc") \
			</dev/null >"$T/runc.out" 2>"$T/runc.err" || rc=$?
		[ "$rc" -eq 0 ] || fail "runc exited $rc: $(cat "$T/runc.err")"
		# the same lines up to the mounts, but the sizes and dates of ls
		norm() { sed -E '/^mounts:$/,$d; s/^([-dlrwxst]+ +[0-9]+ +[0-9]+ +[0-9]+) .* (\/[^ ]*)$/\1 \2/' "$@"; }
		diff <(norm "$T/runc.out") <(norm <<<"$output") ||
			fail "vcrun and runc differ (runc <, vcrun >)"
		[ "$(stat -c %u:%g "$T/vol/made")" = 100000:100000 ]
	fi
}

@test "userns: exec joins the container's user namespace" {
	userns_bundle "$T/b" sleep 100
	id=$(new_id usernsexec)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	vc_capture start "$id"
	[ "$status" -eq 0 ] || fail "start: $stderr"
	vc_capture exec "$id" sh -c 'readlink /proc/self/ns/user; readlink /proc/1/ns/user; id -u
		cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "exec: $stderr"
	mapfile -t l <<<"$output"
	[[ ${l[0]} == user:\[* ]] && [ "${l[0]}" = "${l[1]}" ] || fail "user namespaces: $output"
	[ "${l[0]}" != "$(readlink /proc/self/ns/user)" ] || fail "the host's user namespace"
	[ "${l[2]}" = 0 ] && [[ ${l[3]} =~ ^\ +0\ +100000\ +65536$ ]] || fail "exec: $output"
	vc_capture exec --user 1000:1000 "$id" sh -c 'touch /vol/e && ls -n /vol/e'
	[ "$status" -eq 0 ] || fail "exec --user: $stderr"
	[ "$(stat -c %u:%g "$T/vol/e")" = 101000:101000 ] ||
		fail "on the host /vol/e is $(stat -c %u:%g "$T/vol/e")"
	vc_capture kill "$id" KILL
	wait_status "$id" stopped
}

@test "userns: runc's checks on the mappings; a user namespace path is refused" {
	# runc 1.1.5 ignores mappings without a user namespace
	make_bundle "$T/b" cat /proc/self/uid_map
	spec_edit "$T/b" '.linux.uidMappings = $map | .linux.gidMappings = $map' --argjson map "$MAP"
	id=$(new_id nouserns)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $stderr"
	[[ $output =~ ^\ +0\ +0\ +4294967295$ ]] || fail "uid_map: $output"

	spec_edit "$T/b" '.linux.namespaces += [{"type":"user"}] | del(.linux.uidMappings)'
	vc_capture run --bundle "$T/b" "$id"
	assert_error "User namespaces enabled, but no uid mappings found."

	if is_vm_runtime; then
		spec_edit "$T/b" '.linux.uidMappings = $map
			| (.linux.namespaces[] | select(.type == "user")) += {"path":"/proc/1/ns/user"}' \
			--argjson map "$MAP"
		vc_capture run --bundle "$T/b" "$id"
		assert_error "joining a user namespace (\`/proc/1/ns/user\`) is not supported"
	fi
}

@test "userns: podman run --uidmap" {
	setup_podman
	prun run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
		--uidmap 0:100000:65536 --gidmap 0:100000:65536 localhost/bb \
		sh -c 'id -u; ls -nd /bin/busybox; cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "podman run: $stderr"
	mapfile -t l <<<"$output"
	[ "${l[0]}" = 0 ] || fail "id: $output"
	[[ ${l[1]} =~ ^-[-rwx]+\ +1\ +0\ +0\  ]] || fail "busybox inside: $output"
	[[ ${l[2]} =~ ^\ +0\ +100000\ +65536$ ]] || fail "uid_map: $output"
}
