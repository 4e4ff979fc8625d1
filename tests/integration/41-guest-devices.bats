#!/usr/bin/env bats
# The device cgroup inside the VM (agent/devcgroup.c, an eBPF program on the
# container's cgroup v2 directory) follows runc 1.1.5's rules: docker's deny-all
# plus runc's own default devices, which leave out a device whose path
# linux.devices lists. So with /dev/zero listed, deny-all refuses it; an allow of
# c 1:5 r gives reads, not writes; /dev/null stays usable throughout. `update` does
# not change device rules (runc's update skips them). Runs against runc too
# (VCRUN=/usr/sbin/runc): the same output. Three VM boots.

load helpers

# The container's view of /dev/zero and /dev/null, one line per step.
probe='head -c1 /dev/zero | wc -c; echo x >/dev/zero && echo wrote; head -c1 /dev/null && echo null'

# zero_bundle DIR RULES-JSON: a bundle whose linux.devices lists /dev/zero and whose
# device rules are RULES.
zero_bundle() {
	make_bundle "$1" sh -c "$probe"
	spec_edit "$1" '.linux.devices = [{"path": "/dev/zero", "type": "c", "major": 1,
		"minor": 5, "fileMode": 438, "uid": 0, "gid": 0}] |
		.linux.resources.devices = $rules' --argjson rules "$2"
}

@test "devices: deny-all refuses a listed /dev/zero, an allow of c 1:5 r reads but does not write, /dev/null stays" {
	zero_bundle "$T/deny" '[{"allow": false, "access": "rwm"}]'
	vc_capture run --bundle "$T/deny" "$(new_id deny)"
	[ "$status" -eq 0 ] || fail "run (deny): status $status: $stderr"
	all="$output
$stderr"
	echo "$all" | grep -q '^0$' || fail "deny-all: a byte was read from /dev/zero: $all"
	echo "$all" | grep -q 'head: /dev/zero: Operation not permitted' ||
		fail "deny-all: the read was not refused with EPERM: $all"
	echo "$all" | grep -q "can't create /dev/zero: Operation not permitted" ||
		fail "deny-all: the write was not refused with EPERM: $all"
	echo "$all" | grep -qx null || fail "deny-all: /dev/null is not usable: $all"

	zero_bundle "$T/read" '[{"allow": false, "access": "rwm"},
		{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}]'
	vc_capture run --bundle "$T/read" "$(new_id read)"
	[ "$status" -eq 0 ] || fail "run (read): status $status: $stderr"
	[ "$(head -n1 "$T/out")" = 1 ] || fail "c 1:5 r: no byte read from /dev/zero: $output $stderr"
	grep -q "can't create /dev/zero: Operation not permitted" "$T/err" ||
		fail "c 1:5 r: the write was not refused: $output $stderr"
	! grep -qx wrote "$T/out" || fail "c 1:5 r: the write went through: $output"
	grep -qx null "$T/out" || fail "c 1:5 r: /dev/null is not usable: $output"
}

@test "devices: update with device rules changes nothing (runc's update skips devices)" {
	zero_bundle "$T/b" '[{"allow": false, "access": "rwm"}]'
	spec_edit "$T/b" '.process.args = ["sleep", "300"]'
	id=$(new_id upd)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	vcrun start "$id"
	cat >"$T/res.json" <<-'EOF'
		{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}],
		 "pids": {"limit": 200}}
	EOF
	vc_capture update -r "$T/res.json" "$id"
	[ "$status" -eq 0 ] || fail "update: status $status: $stderr"
	vc_capture exec "$id" sh -c 'head -c1 /dev/zero | wc -c'
	grep -qx 0 "$T/out" || fail "after update: /dev/zero readable: $output"
	grep -q 'head: /dev/zero: Operation not permitted' "$T/err" ||
		fail "after update: the read was not refused with EPERM: $output $stderr"
	vcrun delete --force "$id"
}
