#!/usr/bin/env bats
# OCI hooks on the host: every stage in the runtime-spec's order, the state JSON on
# stdin, failures and timeouts. Two VMs (the failing create never gets that far... it
# boots one, then tears it down).

load helpers

# hooks_json LOG: a hooks object whose every stage appends "stage status pid" to LOG.
hooks_json() {
	local log=$1 stage hooks="{}"
	for stage in prestart createRuntime createContainer startContainer poststart poststop; do
		hooks=$(jq --arg s "$stage" --arg log "$log" \
			'.[$s] = [{"path": "/bin/sh", "args": ["sh", "-c",
			  "read -r state; echo \"" + $s + " $(echo \"$state\" | jq -r \".status + \\\" \\\" + (.pid|tostring) + \\\" \\\" + .id\")\" >> " + $log]}]' \
			<<<"$hooks")
	done
	echo "$hooks"
}

@test "hooks: all six stages, in order, with the state on stdin" {
	make_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.hooks = $h' --argjson h "$(hooks_json "$T/hooks.log")"
	id=$(new_id hk)
	vc_capture create --bundle "$T/b" --pid-file "$T/pid" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	pid=$(cat "$T/pid")
	vcrun start "$id"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
	# prestart and createRuntime run while the container is still being created
	# (runc says "creating" there too); the VM boots after them.
	expected="prestart creating $pid $id
createRuntime creating $pid $id
createContainer created $pid $id
startContainer created $pid $id
poststart running $pid $id
poststop stopped $pid $id"
	[ "$(cat "$T/hooks.log")" = "$expected" ] || fail "hook log:
$(cat "$T/hooks.log")
want:
$expected"
}

@test "hooks: a failing createRuntime hook fails create, names the hook, leaves nothing" {
	make_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "echo no network for you >&2; exit 3"]}]'
	id=$(new_id hkfail)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create succeeded"
	[[ $stderr == *createRuntime* && $stderr == *"no network for you"* && $stderr == *"exit status 3"* ]] ||
		fail "error does not name the hook: $stderr"
	vc_capture state "$id"
	[ "$status" -ne 0 ] || fail "the container still exists"

	spec_edit "$T/b" '.hooks = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}'
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *"timed out"* ]] || fail "hook timeout: $status $stderr"
}
