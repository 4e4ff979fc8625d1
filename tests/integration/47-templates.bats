#!/usr/bin/env bats
# VM templates (lib/template.h, README.md "VM templates"): with "template": true in
# vcrun's config, the first create of a kind builds a template VM and every container
# starts as a clone of it. Clones must be machines of their own (boot_id, CRNG, MAC,
# clock); faults in the template's files mean a cold boot and one warning; stale
# templates are never used; `template list|rm`. Each test has its own --root, so its
# own templates. Network: namespaces vc47c-N-{a,b} with a veth pair each, addresses
# 10.47.N.0/24, removed by teardown.

load helpers

setup() {
	common_setup
	is_vm_runtime || fail "VM templates are vcrun's: run with vcrun"
	n=$BATS_TEST_NUMBER
	echo '{"template": true}' >"$T/config.json"
	export VCRUN_CONFIG=$T/config.json
}

teardown() {
	local ns
	for ns in vc47c-$n-a vc47c-$n-b vc47p-$n-a vc47p-$n-b; do
		[ ! -e "/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || true
	done
	common_teardown
}

# tlog ARGS...: vcrun with the debug log in $T/log.
tlog() {
	vcrun --log "$T/log" --debug "$@"
}

templates() {
	vcrun template list | tail -n +2
}

# clones_in_log ID: the monitor of ID restored a clone.
is_clone() {
	grep -q "container $1: clone of template" "$T/log"
}

@test "templates: the first create builds one, every container is a clone, delete leaves it" {
	make_bundle "$T/b" true
	a=$(new_id tpa)
	b=$(new_id tpb)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$a"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	[ "$(grep -c 'building it' "$T/log")" -eq 1 ] || fail "not built once: $(cat "$T/log")"
	is_clone "$a" || fail "$a is not a clone"
	[ "$(templates | wc -l)" -eq 1 ] || fail "templates: $(vcrun template list)"
	[[ $(templates) =~ ^[0-9a-f]{32}\ +[0-9T:-]+Z\ +[0-9.]+MiB\ +0\ +ok$ ]] ||
		fail "list: $(vcrun template list)"
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$b"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	is_clone "$b" || fail "$b is not a clone"
	[ "$(grep -c 'building it' "$T/log")" -eq 1 ] || fail "built again"
	# Both were deleted (run): the template stays, with no clone.
	[[ $(templates) == *" 0 "*ok ]] || fail "after delete: $(vcrun template list)"
}

@test "templates: the annotation turns them off (and on); a bad value names it" {
	make_bundle "$T/b" true
	spec_edit "$T/b" '.annotations["io.vcrun.template"] = "false"'
	id=$(new_id tpoff)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	! is_clone "$id" || fail "cloned although the annotation says false"
	[ -z "$(templates)" ] || fail "a template was built: $(templates)"
	echo '{}' >"$T/config.json"
	spec_edit "$T/b" '.annotations["io.vcrun.template"] = "true"'
	id=$(new_id tpon)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	is_clone "$id" || fail "not a clone although the annotation says true"
	spec_edit "$T/b" '.annotations["io.vcrun.template"] = "yes"'
	id=$(new_id tpbad)
	vc_capture create --bundle "$T/b" "$id"
	assert_error 'io.vcrun.template: `yes` is neither'
}

# thp_of ID: THP_enabled (1 or 0) of the QEMU of container ID.
thp_of() {
	local pid
	pid=$(jq -r '.hv_pid' "$ROOT/$1/state.json") || return 1
	sed -n 's/^THP_enabled:[[:space:]]*//p' "/proc/$pid/status"
}

@test "templates: a clone's QEMU has no transparent huge pages and still runs containers; a cold VM's has" {
	make_bundle "$T/b" sleep 1000
	id=$(new_id tpthp)
	tlog run -d --bundle "$T/b" "$id"
	is_clone "$id" || fail "not a clone"
	[ "$(thp_of "$id")" = 0 ] || fail "clone QEMU: THP_enabled $(thp_of "$id")"
	# No huge page anywhere in it (QEMU's small RAM blocks were 2 MiB pages).
	pid=$(jq -r '.hv_pid' "$ROOT/$id/state.json")
	huge=$(awk '/^AnonHugePages:/ { print $2 }' "/proc/$pid/smaps_rollup")
	[ "$huge" -eq 0 ] || fail "clone QEMU: AnonHugePages $huge kB"
	vc_capture exec "$id" sh -c 'echo hello; head -c 300000 /dev/urandom | wc -c'
	[ "$status" -eq 0 ] && [ "$output" = "hello
300000" ] || fail "exec: $status, '$output'"
	vcrun delete --force "$id"
	spec_edit "$T/b" '.annotations["io.vcrun.template"] = "false"'
	cold=$(new_id tpcold)
	tlog run -d --bundle "$T/b" "$cold"
	! is_clone "$cold" || fail "cloned although the annotation says false"
	[ "$(thp_of "$cold")" = 1 ] || fail "cold QEMU: THP_enabled $(thp_of "$cold")"
	vcrun delete --force "$cold"
}

# clone_ns X: namespace vc47c-N-X with a veth to vc47p-N-X, 10.47.N.2/24 inside.
clone_ns() {
	ip netns add "vc47c-$n-$1"
	ip netns add "vc47p-$n-$1"
	ip -n "vc47c-$n-$1" link add eth0 type veth peer name vc47q$n$1 netns "vc47p-$n-$1"
	ip -n "vc47c-$n-$1" addr add "10.47.$n.2/24" dev eth0
	ip -n "vc47c-$n-$1" link set eth0 up
	ip -n "vc47p-$n-$1" link set "vc47q$n$1" up
}

@test "templates: more interfaces than spare root ports means a cold boot, and the debug log says why" {
	echo '{"template": true, "hotplug_root_ports": 0}' >"$T/config.json"
	clone_ns a
	make_bundle "$T/b" cat /sys/class/net/eth0/address
	spec_edit "$T/b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/run/netns/vc47c-$n-a"
	id=$(new_id tpnic)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	[ "$output" = "$(ip -n "vc47c-$n-a" -br link show eth0 | awk '{print $3}')" ] ||
		fail "eth0: $output"
	grep -q "container $id: cold boot, no template fits: .*hotplug_root_ports" "$T/log" ||
		fail "no reason in the log: $(cat "$T/log")"
	! is_clone "$id" || fail "cloned"
	[ -z "$(templates)" ] || fail "a template was built: $(templates)"
	! grep -q level=warning "$T/log" || fail "warned: $(cat "$T/log")"
}

@test "templates: two clones differ in boot_id, urandom and MAC; their clocks are the host's" {
	make_bundle "$T/b0" true
	first=$(new_id tpfirst)
	vc_capture --log "$T/log" --debug run --bundle "$T/b0" "$first"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	# The template's clock stood still from its save: a clone that kept it would be
	# this far behind.
	sleep 3
	for x in a b; do
		clone_ns $x
		make_bundle "$T/b$x" sh -c 'cat /proc/sys/kernel/random/boot_id
			head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"; echo
			cat /sys/class/net/eth0/address; date +%s'
		spec_edit "$T/b$x" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
			--arg p "/run/netns/vc47c-$n-$x"
		id=$(new_id "tpc$x")
		before=$(date +%s)
		vc_capture --log "$T/log" --debug run --bundle "$T/b$x" "$id"
		after=$(date +%s)
		[ "$status" -eq 0 ] || fail "run $id: $status: $stderr"
		is_clone "$id" || fail "$id is not a clone"
		mapfile -t out_$x <<<"$output"
		eval "guest=\${out_$x[3]}"
		[ "$guest" -ge $((before - 1)) ] && [ "$guest" -le $((after + 1)) ] ||
			fail "$id's clock says $guest, the host's was $before..$after"
		eval "mac=\${out_$x[2]}"
		[ "$mac" = "$(ip -n "vc47c-$n-$x" -br link show eth0 | awk '{print $3}')" ] ||
			fail "$id's eth0 has MAC $mac, not its namespace interface's: $output"
	done
	[[ ${out_a[0]} =~ ^[0-9a-f-]{36}$ ]] && [[ ${out_a[1]} =~ ^[0-9a-f]{64}$ ]] ||
		fail "output: ${out_a[*]}"
	[ "${out_a[0]}" != "${out_b[0]}" ] || fail "same boot_id ${out_a[0]}"
	[ "${out_a[1]}" != "${out_b[1]}" ] || fail "same urandom bytes ${out_a[1]}"
	[ "${out_a[2]}" != "${out_b[2]}" ] || fail "same MAC ${out_a[2]}"
}

@test "templates: exec and exit codes in a clone; rm refuses while it runs, --force does not stop it" {
	make_bundle "$T/b" sleep 1000
	id=$(new_id tpexec)
	tlog create --bundle "$T/b" "$id"
	vcrun start "$id"
	is_clone "$id" || fail "not a clone"
	vc_capture exec "$id" sh -c 'echo hello; exit 7'
	[ "$status" -eq 7 ] && [ "$output" = hello ] || fail "exec: $status, '$output'"
	key=$(templates | awk '{print $1}')
	[[ $(templates) == *" 1 "*ok ]] || fail "list does not count the clone: $(templates)"
	vc_capture template rm "$key"
	assert_error "used by 1 running clone"
	[ -d "$ROOT/templates/$key" ] || fail "removed anyway"
	vc_capture template rm --force "$key"
	[ "$status" -eq 0 ] || fail "rm --force: $status: $stderr"
	[ ! -e "$ROOT/templates/$key" ] && [ -z "$(templates)" ] || fail "still there"
	# The clone's memory was a private mapping of the removed file.
	vc_capture exec "$id" sh -c 'head -c 100000 /dev/urandom | wc -c'
	[ "$status" -eq 0 ] && [ "$output" -eq 100000 ] || fail "exec after rm: $status '$output'"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vcrun delete "$id"
	vc_capture template rm 0123456789abcdef0123456789abcdef
	assert_error "does not exist"
	vc_capture template rm
	assert_error "give template keys or --all"
}

@test "templates: a truncated, missing or foreign state file means a cold boot with one warning, then a rebuild" {
	make_bundle "$T/b" sh -c 'echo works'
	id=$(new_id tptr1)
	vc_capture --log "$T/log" run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	key=$(templates | awk '{print $1}')
	truncate -s 1000 "$ROOT/templates/$key/state"
	id=$(new_id tptr2)
	: >"$T/log"
	vc_capture --log "$T/log" run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] && [ "$output" = works ] || fail "run: $status '$output': $stderr"
	[ "$(grep -c 'level=warning' "$T/log")" -eq 1 ] || fail "warnings: $(cat "$T/log")"
	grep -q "template $key: .*booting it cold" "$T/log" || fail "log: $(cat "$T/log")"
	# The next create builds it afresh and is a clone again.
	id=$(new_id tptr3)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] && [ "$output" = works ] || fail "run: $status '$output': $stderr"
	is_clone "$id" || fail "not a clone after the rebuild: $(cat "$T/log")"
	# A state file that is missing altogether, or another machine's (random
	# bytes): the same, and each time the next create is a clone again.
	for fault in missing foreign; do
		if [ $fault = missing ]; then
			rm "$ROOT/templates/$key/state"
		else
			head -c 4096 /dev/urandom >"$ROOT/templates/$key/state"
		fi
		: >"$T/log"
		id=$(new_id "tptr-$fault")
		vc_capture --log "$T/log" run --bundle "$T/b" "$id"
		[ "$status" -eq 0 ] && [ "$output" = works ] || fail "$fault: $status '$output': $stderr"
		[ "$(grep -c 'level=warning' "$T/log")" -eq 1 ] || fail "$fault: $(cat "$T/log")"
		id=$(new_id "tptr-$fault-2")
		vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
		[ "$status" -eq 0 ] && is_clone "$id" || fail "$fault: no clone after: $(cat "$T/log")"
	done
	# Another template's state file, which QEMU could load: the saved checksum
	# tells them apart (a clone would otherwise resume on the wrong memory).
	echo '{"template": true, "memory_mib": 256}' >"$T/config.json"
	id=$(new_id tptr-small)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	other=$(templates | awk -v k="$key" '$1 != k { print $1 }')
	[ -n "$other" ] || fail "no second template: $(templates)"
	cp "$ROOT/templates/$other/state" "$ROOT/templates/$key/state"
	echo '{"template": true}' >"$T/config.json"
	: >"$T/log"
	id=$(new_id tptr-other)
	vc_capture --log "$T/log" run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] && [ "$output" = works ] || fail "other: $status '$output': $stderr"
	[ "$(grep -c 'level=warning' "$T/log")" -eq 1 ] || fail "other: $(cat "$T/log")"
	grep -q "template $key: its state or memory file is not the one it saved" "$T/log" ||
		fail "other: $(cat "$T/log")"
}

@test "templates: a half-built template (its builder was killed) is rebuilt, its VM gone" {
	make_bundle "$T/b" true
	id=$(new_id tphalf1)
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" create --bundle "$T/b" "$id"
	) </dev/null >"$T/c.out" 2>&1 &
	pc=$!
	# Kill the monitor while its template VM boots.
	wait_for 30 eval 'compgen -G "$ROOT/templates/*/qemu.log" >/dev/null' ||
		fail "no template VM started"
	mon=$(pgrep -f "__monitor --root $ROOT --id $id")
	[ -n "$mon" ] || fail "no monitor"
	kill -KILL "$mon"
	wait $pc && fail "create succeeded although its monitor was killed"
	vcrun delete --force "$id"
	wait_for 5 eval '[ -z "$(pgrep -f "$ROOT/templates/")" ]' ||
		fail "the template VM outlived its builder: $(pgrep -af "$ROOT/templates/")"
	[[ $(templates) == *incomplete ]] || fail "list: $(templates)"
	id=$(new_id tphalf2)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	grep -q "building it" "$T/log" || fail "not rebuilt"
	is_clone "$id" || fail "not a clone"
	[[ $(templates) == *" ok" ]] || fail "list: $(templates)"
	! grep -q level=warning "$T/log" || fail "warned: $(cat "$T/log")"
}

@test "templates: a stale template (its kernel changed) is never used" {
	cp "$VCRUN_SHARE/vmlinuz" "$T/vmlinuz"
	jq -n --arg k "$T/vmlinuz" '{template: true, kernel: $k}' >"$T/config.json"
	make_bundle "$T/b" true
	id=$(new_id tpst1)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	old=$(templates | awk '{print $1}')
	touch "$T/vmlinuz"
	[[ $(templates) == "$old"*stale ]] || fail "not stale: $(templates)"
	id=$(new_id tpst2)
	vc_capture --log "$T/log" --debug run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $status: $stderr"
	grep -q "building it" "$T/log" || fail "no new template built"
	! grep -q "clone of template $old" "$T/log" || fail "the stale template was used"
	is_clone "$id" || fail "not a clone of the new one"
	[ "$(templates | grep -c ' ok$')" -eq 1 ] && [ "$(templates | wc -l)" -eq 2 ] ||
		fail "list: $(templates)"
}

@test "templates: two creates at once build one template and both are clones" {
	make_bundle "$T/b" sleep 1000
	a=$(new_id tppa)
	b=$(new_id tppb)
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" --log "$T/log" --debug create --bundle "$T/b" "$a"
	) </dev/null >"$T/a.out" 2>&1 &
	pa=$!
	(
		close_test_fds
		exec "$RUNTIME" --root "$ROOT" --log "$T/log" --debug create --bundle "$T/b" "$b"
	) </dev/null >"$T/b.out" 2>&1 &
	pb=$!
	wait $pa || fail "create $a: $(cat "$T/a.out")"
	wait $pb || fail "create $b: $(cat "$T/b.out")"
	[ "$(grep -c 'building it' "$T/log")" -eq 1 ] || fail "built $(grep -c 'building it' "$T/log") times"
	is_clone "$a" && is_clone "$b" || fail "not both clones: $(cat "$T/log")"
	[[ $(templates) == *" 2 "*ok ]] || fail "list: $(templates)"
	vcrun delete --force "$a"
	vcrun delete --force "$b"
}
