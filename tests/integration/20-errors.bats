#!/usr/bin/env bats
# Bad input: one line on stderr naming the cause, exit status 1, nothing left behind
# (checked right after the failing call, before teardown's delete --force could hide it).

load helpers

# assert_nothing_left ID: no state dir, no process naming the test dir, no mount.
assert_nothing_left() {
	[ ! -e "$ROOT/$1" ] || fail "state dir $ROOT/$1 was left: $(ls -la "$ROOT/$1")"
	[ -z "$(procs_under "$T")" ] || fail "processes left: $(procs_under "$T")"
	[ -z "$(mounts_under "$T")" ] || fail "mounts left: $(mounts_under "$T")"
	[ -z "$(vcrun list -q)" ] || fail "list shows: $(vcrun list -q)"
}

@test "errors: a bundle that does not exist" {
	id=$(new_id nobundle)
	vc_capture create --bundle "$T/no-such-bundle" "$id"
	assert_error "$T/no-such-bundle"
	assert_nothing_left "$id"
}

@test "errors: malformed config.json" {
	make_bundle "$T/b" true
	head -c 200 "$T/b/config.json" >"$T/b/config.json.cut"
	mv "$T/b/config.json.cut" "$T/b/config.json"
	id=$(new_id badjson)
	vc_capture create --bundle "$T/b" "$id"
	assert_error config.json
	assert_nothing_left "$id"
}

@test "errors: a rootfs that does not exist" {
	make_bundle "$T/b" true
	spec_edit "$T/b" '.root.path = "no-such-rootfs"'
	id=$(new_id norootfs)
	vc_capture create --bundle "$T/b" "$id"
	assert_error no-such-rootfs
	assert_nothing_left "$id"
}

@test "errors: an id with '/' in it" {
	make_bundle "$T/b" true
	vc_capture create --bundle "$T/b" a/b
	assert_error a/b
	[ ! -e "$ROOT/a" ] || fail "$ROOT/a was made"
	assert_nothing_left a/b
}

@test "errors: an id already in use; the first container is unharmed" {
	make_bundle "$T/b" sleep 100
	id=$(new_id inuse)
	rc=0
	vcrun create --bundle "$T/b" "$id" </dev/null >"$T/first.out" 2>"$T/first.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "first create exited $rc: $(cat "$T/first.err")"
	qemus=$(qemu_pids)

	vc_capture create --bundle "$T/b" "$id"
	assert_error "$id"
	[ "$(state_status "$id")" = created ] || fail "the first container is now $(state_status "$id")"
	[ "$(qemu_pids)" = "$qemus" ] || fail "qemu processes changed: '$qemus' -> '$(qemu_pids)'"
	[ "$(vcrun list -q)" = "$id" ]
}
