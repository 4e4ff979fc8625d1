#!/usr/bin/env bats
# The runc lifecycle: create/start/state/kill/delete/run, exit statuses, stdio.
# Each test boots one VM under vcrun; checks are grouped to keep boots few.

load helpers

@test "lifecycle: create, start, exit, delete, with state JSON at each step" {
	make_bundle "$T/b" sh -c 'read line; echo "got $line"'
	id=$(new_id lifecycle)
	open_fifo "$T/in" in_fd

	# create's stdio is kept by the stand-in: files, never a pipe we wait on.
	rc=0
	vcrun create --bundle "$T/b" --pid-file "$T/pid" "$id" <"$T/in" >"$T/c.out" 2>"$T/c.err" ||
		rc=$?
	[ "$rc" -eq 0 ] || fail "create exited $rc: $(cat "$T/c.err")"

	pid=$(cat "$T/pid")
	[[ $pid =~ ^[0-9]+$ ]] || fail "pid file holds '$pid', not digits"
	[ "$(wc -c <"$T/pid")" -eq "${#pid}" ] || fail "pid file has more than the digits (newline?)"
	pid_alive "$pid" || fail "pid $pid from --pid-file is not alive after create"

	vcrun state "$id" >"$T/state.json"
	jq -e . "$T/state.json" >/dev/null || fail "state is not JSON: $(cat "$T/state.json")"
	for key in ociVersion id pid status bundle rootfs created owner; do
		jq -e --arg k "$key" 'has($k)' "$T/state.json" >/dev/null ||
			fail "state has no '$key': $(cat "$T/state.json")"
	done
	[ "$(jq -r .status "$T/state.json")" = created ]
	[ "$(jq -r .id "$T/state.json")" = "$id" ]
	[ -n "$(jq -r .ociVersion "$T/state.json")" ]
	[ "$(jq -r .pid "$T/state.json")" = "$pid" ] || fail "state pid differs from the pid file $pid"
	[ "$(jq -r .bundle "$T/state.json")" = "$T/b" ]
	[ "$(jq -r .rootfs "$T/state.json")" = "$T/b/rootfs" ]
	[ "$(jq -r '.owner | type' "$T/state.json")" = string ]
	created=$(jq -r .created "$T/state.json")
	is_rfc3339nano "$created" || fail "created '$created' is not RFC3339Nano"

	vcrun start "$id"
	[ "$(state_status "$id")" = running ]

	# The process waits for a line on stdin, so "running" above was not a race.
	echo go >&"$in_fd"
	exec {in_fd}>&-
	wait_status "$id" stopped
	wait_output "$T/c.out" "got go"
	[ "$(vcrun state "$id" | jq -r .pid)" = 0 ] || fail "a stopped container's pid is not 0"
	wait_for "$VC_TIMEOUT" eval '! pid_alive '"$pid" || fail "pid $pid is alive after stop"

	vcrun delete "$id"
	vc_capture state "$id"
	[ "$status" -ne 0 ]
	[[ $stderr == *"does not exist"* ]] || fail "state after delete said: $stderr"
}

@test "run: exit status 3; 1 MiB stdout and stderr arrive complete and separate" {
	make_bundle "$T/b" sh -c 'cat /data; cat /errdata >&2; exit 3'
	head -c 1048576 /dev/urandom >"$T/b/rootfs/data"
	for i in $(seq 1 4000); do echo "stderr line $i"; done >"$T/b/rootfs/errdata"
	id=$(new_id output)

	# --log keeps runtime messages (the TCG warning) out of the container's stderr.
	rc=0
	vcrun --log "$T/runtime.log" run --bundle "$T/b" "$id" </dev/null >"$T/run.out" \
		2>"$T/run.err" || rc=$?
	[ "$rc" -eq 3 ] || fail "run exited $rc, not 3: $(head -c 2000 "$T/run.err")"

	want=$(sha256sum <"$T/b/rootfs/data")
	got=$(sha256sum <"$T/run.out")
	[ "$got" = "$want" ] || fail "stdout: $(wc -c <"$T/run.out") bytes, sha256 differs"
	want=$(sha256sum <"$T/b/rootfs/errdata")
	got=$(sha256sum <"$T/run.err")
	[ "$got" = "$want" ] || fail "stderr differs: $(diff "$T/b/rootfs/errdata" "$T/run.err" | head)"
	# run deletes the container it made.
	[ ! -e "$ROOT/$id" ]
}

@test "run: the process killed by 'kill ID KILL' makes run exit 137" {
	make_bundle "$T/b" sleep 100
	id=$(new_id killed)
	bg_run k "$id" "$T/b"
	wait_status "$id" running k
	vcrun kill "$id" KILL
	bg_wait "$BG_PID"
	[ "$BG_STATUS" -eq 137 ] || fail "run exited $BG_STATUS, not 137: $(cat "$T/k.err")"
}

@test "kill: SIGTERM by name (TERM, SIGTERM) and by number (15) reaches the process" {
	make_bundle "$T/b" sh /trap.sh
	# PID 1 of a pid namespace only gets signals it handles: the trap counts them.
	cat >"$T/b/rootfs/trap.sh" <<-'EOF'
		n=0
		trap 'n=$((n + 1)); echo "term$n"; [ "$n" -lt 3 ] || exit 43' TERM
		echo ready
		while :; do
			sleep 1 &
			wait $!
		done
	EOF
	id=$(new_id term)
	bg_run t "$id" "$T/b"
	bg_expect t ready
	vcrun kill "$id" TERM
	bg_expect t term1
	vcrun kill "$id" SIGTERM
	bg_expect t term2
	vcrun kill "$id" 15
	bg_wait "$BG_PID"
	[ "$BG_STATUS" -eq 43 ] || fail "run exited $BG_STATUS, not 43: $(cat "$T/t.out" "$T/t.err")"
	grep -qx term3 "$T/t.out"
}
