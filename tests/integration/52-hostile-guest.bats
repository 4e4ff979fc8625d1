#!/usr/bin/env bats
# A hostile guest (issue 12, item 2): the agent misbehaves on purpose
# (agent/hostile.c, turned on by `vcrun.hostile=MODE` on the guest's kernel command
# line, which this file's vcrun config adds through `kernel_params`). For each mode:
# the CLI call that meets it ends within a bound with a clear error (or succeeds where
# the lie is harmless), the stand-in ends non-zero, `delete --force` cleans up (the
# teardown's leak checks), a neighbour VM started first keeps working, no file outside
# the hostile container's state dir changes, and a host pid the guest names is never
# signalled. Bounds: see tests/README.md ("Hostile guest").

load helpers

# The agent's answers are waited for this long (the plan's boot timeout).
AGENT_TIMEOUT_S=20
# The flood: how much the agent sends, and the monitor's RSS bound meanwhile (its
# stand-in backlog cap, 32 MiB, plus a frame buffer and its own few MiB).
FLOOD_BYTES=$((256 << 20))
MONITOR_RSS_MAX_KB=$((80 << 10))

setup() {
	common_setup
	is_vm_runtime || fail "a hostile agent needs vcrun's VM"
	CANARY=
}

teardown() {
	[ -z "${CANARY:-}" ] || kill "$CANARY" 2>/dev/null || true
	common_teardown
}

# hostile_config WORDS...: the vcrun config of the hostile VM.
hostile_config() {
	jq -n --arg p "$*" --argjson t "$AGENT_TIMEOUT_S" \
		'{kernel_params: $p, boot_timeout_seconds: $t}' >"$T/hostile.json"
}

# The neighbour: a normal VM, running before the hostile one exists; a host
# `sleep` whose pid the liar may name; the listing of the host files to compare.
start_neighbour() {
	make_bundle "$T/nb" sleep 600
	NID=$(new_id neighbour)
	vcrun create --bundle "$T/nb" "$NID" </dev/null >/dev/null 2>"$T/nb.err" ||
		fail "neighbour create: $(cat "$T/nb.err")"
	vcrun start "$NID"
	sleep 600 </dev/null >/dev/null 2>&1 &
	CANARY=$!
}

# host_listing HID: every file of the test's state root and both bundles but the
# hostile container's state dir and its rootfs (the container's own to write): type,
# mode, path; size and mtime of files that are not logs.
host_listing() {
	find "$ROOT" "$T/nb" "$T/hb" \( -path "$ROOT/$1" -o -path "$T/hb/rootfs" \) -prune -o \
		-printf '%y %m %p %s %T@\n' 2>/dev/null |
		awk '$1 != "f" || $3 ~ /\.log$/ { print $1, $2, $3; next } { print }' | sort
}

# hostile_create HID [create options...]: `create` under reap.py, a subreaper that
# waits for the stand-in once create returns and writes how it ended to
# $T/reap.out. The stand-in's stdout is $HOUT (default $T/h.out).
hostile_create() {
	local hid=$1
	shift
	make_bundle "$T/hb" sh -c 'echo hello; sleep 600'
	host_listing "$hid" >"$T/before"
	(
		close_test_fds
		export VCRUN_CONFIG=$T/hostile.json
		# shellcheck disable=SC2016
		exec timeout 600 "$REPO/tests/integration/reap.py" "$T/hpid" \
			sh -c 'exec "$@" >"$0"' "${HOUT:-$T/h.out}" \
			"$RUNTIME" --root "$ROOT" create --bundle "$T/hb" --pid-file "$T/hpid" "$@" "$hid"
	) </dev/null >"$T/reap.out" 2>"$T/h.err" &
	REAP=$!
	echo "$REAP" >>"$T/bg.pids"
}

# hostile_begin NAME WORDS...: the neighbour, the hostile config (WORDS; @CANARY@
# is the host sleep's pid), then the hostile container NAME created (HID) under
# reap.py, the call back. Its stand-in's stdout is $HOUT (default $T/h.out).
hostile_begin() {
	local name=$1
	shift
	start_neighbour
	hostile_config "${@//@CANARY@/$CANARY}"
	HID=$(new_id "hostile-$name")
	hostile_create "$HID"
	wait_for "$VC_TIMEOUT" created
	[ -s "$T/hpid" ] || fail "create: $(cat "$T/h.err")"
}

# hostile_start: `start` of HID succeeds.
hostile_start() {
	timed 30 start "$HID"
	[ "$status" -eq 0 ] || fail "start: $stderr"
}

# The create under reap.py has returned: its pid file exists, or it failed.
created() {
	[ -s "$T/hpid" ] || ! pid_alive "$REAP" || file_has "$T/h.err" error
}

# timed SECONDS ARGS...: vc_capture bounded by timeout; fails when the bound was hit.
timed() {
	local bound=$1
	shift
	status=0
	(
		close_test_fds
		exec timeout "$bound" "$RUNTIME" --root "$ROOT" "$@"
	) </dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
	[ "$status" -ne 124 ] || fail "vcrun $* still running after ${bound}s"
}

monitor_pid() {
	jq -r .monitor_pid "$ROOT/$1/state.json" 2>/dev/null
}

# After the misbehaviour: delete --force within a bound; the stand-in ended non-zero;
# the neighbour still answers; the canary lives; no host file changed.
hostile_finish() {
	local hid=$1
	timed 60 delete --force "$hid"
	[ "$status" -eq 0 ] || fail "delete --force: status $status: $stderr"
	[ ! -e "$ROOT/$hid" ] || fail "state dir $ROOT/$hid left after delete --force"
	wait_for 30 eval '! pid_alive '"$REAP" || fail "the stand-in outlived delete --force"
	wait "$REAP" || true
	local how
	how=$(tail -n 1 "$T/reap.out")
	[[ $how == "signal "* || ($how == "exit "* && $how != "exit 0") || $how == "no pid file" ]] ||
		fail "the stand-in ended '$how', not non-zero"
	echo "# stand-in: $how" >&3

	timed 60 exec "$NID" echo alive
	[ "$status" -eq 0 ] && [ "$output" = alive ] ||
		fail "the neighbour's exec: status $status, '$output', $stderr"
	[ "$(state_status "$NID")" = running ] || fail "the neighbour is $(state_status "$NID")"
	pid_alive "$CANARY" || fail "host process $CANARY (named by the guest) was killed"
	host_listing "$hid" >"$T/after"
	diff "$T/before" "$T/after" >&2 || fail "host files outside $ROOT/$hid changed"
}

@test "hostile oversized: a frame announcing 4 GiB at start: start fails at once, named" {
	hostile_begin oversized vcrun.hostile=oversized
	hid=$HID

	timed 30 start "$hid"
	[ "$status" -ne 0 ] || fail "start succeeded against a bad frame"
	[[ $stderr == *"bad frame from the guest agent"*"exceeds the maximum"* ]] ||
		fail "start said: $stderr"
	wait_status "$hid" stopped
	timed 30 exec "$hid" true
	[ "$status" -ne 0 ] && [[ $stderr == *stopped* ]] || fail "exec said ($status): $stderr"
	hostile_finish "$hid"
}

@test "hostile truncated: half a frame, then silence: start and ps time out, named" {
	hostile_begin truncated vcrun.hostile=truncated
	hid=$HID

	local bound=$((AGENT_TIMEOUT_S + 20))
	timed "$bound" start "$hid"
	[ "$status" -ne 0 ] || fail "start succeeded against half a frame"
	[[ $stderr == *"StartContainer: the guest agent did not answer within ${AGENT_TIMEOUT_S} s"* ]] ||
		fail "start said: $stderr"
	timed "$bound" ps "$hid"
	[ "$status" -ne 0 ] && [[ $stderr == *"ListProcesses: the guest agent did not answer"* ]] ||
		fail "ps said ($status): $stderr"
	# the VM is still there: the state is the last one the host knows
	[ "$(state_status "$hid")" = created ]
	kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$(monitor_pid "$hid")/status")
	[ "$kb" -lt "$MONITOR_RSS_MAX_KB" ] || fail "monitor RSS $kb kB"
	hostile_finish "$hid"
}

@test "hostile unknown: unknown methods, ids and streams are shrugged off; an unknown frame type ends the VM, named" {
	hostile_begin unknown vcrun.hostile=unknown vcrun.hostile_at=ExecProcess
	hid=$HID

	hostile_start
	wait_output "$T/h.out" hello
	timed 30 ps "$hid"
	[ "$status" -eq 0 ] && [[ $output == *"sleep 600"* ]] || fail "ps: $status '$output' $stderr"
	! grep -q "output of nobody" "$T/h.out" || fail "another stream's output reached the stand-in"

	timed 30 exec "$hid" echo never
	[ "$status" -eq 255 ] || fail "exec exited $status on a frame of unknown type"
	[[ $stderr == *"bad frame from the guest agent"*"type: unknown value"* ]] ||
		fail "exec said: $stderr"
	wait_status "$hid" stopped
	hostile_finish "$hid"
}

@test "hostile flood: ${FLOOD_BYTES} bytes of output at a stopped reader: the monitor stays under its RSS bound, nothing is lost" {
	# the stand-in writes into a fifo nobody reads yet
	open_fifo "$T/flood" flood_fd
	HOUT=$T/flood hostile_begin flood vcrun.hostile=flood "vcrun.hostile_bytes=$FLOOD_BYTES"
	hid=$HID
	mon=$(monitor_pid "$hid")
	hostile_start

	# 15 s of a stopped reader: without a bound the whole flood sits in the monitor
	max=0
	for _ in $(seq 1 30); do
		kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$mon/status")
		[ "$kb" -le "$max" ] || max=$kb
		sleep 0.5
	done
	echo "# monitor VmRSS at most $max kB while the flood waited" >&3
	[ "$max" -lt "$MONITOR_RSS_MAX_KB" ] ||
		fail "monitor RSS reached $max kB (bound $MONITOR_RSS_MAX_KB kB)"

	# the reader starts: every byte arrives (hello, then the flood)
	got=$(timeout 120 head -c $((FLOOD_BYTES + 6)) <&"$flood_fd" | wc -c)
	[ "$got" -eq $((FLOOD_BYTES + 6)) ] || fail "the reader got $got bytes"
	timed 30 kill "$hid" KILL
	[ "$status" -eq 0 ] || fail "kill: $stderr"
	wait_status "$hid" stopped
	exec {flood_fd}>&-
	hostile_finish "$hid"
	[[ $(tail -n 1 "$T/reap.out") == "signal 9" ]] || fail "stand-in: $(tail -n 1 "$T/reap.out")"
}

@test "hostile unsolicited: answers to requests never sent and duplicate answers are dropped; the container works" {
	hostile_begin unsolicited vcrun.hostile=unsolicited "vcrun.hostile_pid=1"
	hid=$HID

	hostile_start
	wait_output "$T/h.out" hello
	for i in 1 2 3; do
		timed 30 exec "$hid" echo "exec-$i"
		[ "$status" -eq 0 ] && [ "$output" = "exec-$i" ] || fail "exec $i: $status '$output' $stderr"
	done
	timed 30 ps "$hid"
	[ "$status" -eq 0 ] && [[ $output == *"sleep 600"* ]] || fail "ps: $status $output $stderr"
	[ "$(state_status "$hid")" = running ]
	timed 30 kill "$hid" KILL
	[ "$status" -eq 0 ] || fail "kill: $stderr"
	wait_status "$hid" stopped
	hostile_finish "$hid"
}

@test "hostile lies: pids, exit statuses, process lists and stats out of range; no host pid is signalled" {
	hostile_begin lies vcrun.hostile=lies vcrun.hostile_pid=@CANARY@
	hid=$HID

	# CreateContainer said the canary's pid: state shows the stand-in's
	[ "$(vcrun state "$hid" | jq -r .pid)" = "$(cat "$T/hpid")" ]
	hostile_start

	# the table keeps what is plausible and bounded (a 1 MiB comm is not printed)
	timed 30 ps "$hid"
	[ "$status" -eq 0 ] || fail "ps: $stderr"
	[ "${#output}" -lt 4096 ] || fail "ps printed ${#output} bytes"
	timed 30 ps --format json "$hid"
	[ "$status" -ne 0 ] && [[ $stderr == *"ListProcesses: result.pids[2]: must be an integer from 1"* ]] ||
		fail "ps --format json said ($status): $stderr"

	timed 30 exec "$hid" true
	[ "$status" -eq 255 ] && [[ $stderr == *"ExecProcess: result.pid: must be an integer from 1"* ]] ||
		fail "exec said ($status): $stderr"

	# stats at 2^64-1 and an OOM kill count that leaps to 2^64-1: bounded events
	(
		close_test_fds
		exec timeout 6 "$RUNTIME" --root "$ROOT" events --interval 1s "$hid"
	) </dev/null 2>"$T/ev.err" | head -c 1000000 >"$T/ev.out" || true
	n=$(grep -c '"type":"oom"' "$T/ev.out" || true)
	[ "$n" -le 64 ] || fail "events gave $n oom events for one lie"
	grep -q '"type":"stats"' "$T/ev.out" || fail "no stats event: $(cat "$T/ev.err")"

	# WaitProcess says exit 4242 by signal 999: the host takes it as killed
	timed 30 kill "$hid" KILL
	[ "$status" -eq 0 ] || fail "kill: $stderr"
	wait_status "$hid" stopped
	hostile_finish "$hid"
	[[ $(tail -n 1 "$T/reap.out") == "signal 9" ]] || fail "stand-in: $(tail -n 1 "$T/reap.out")"
}

@test "hostile silent: an agent that answers only Check fails create within its bound, named" {
	hostile_config vcrun.hostile=silent
	start_neighbour
	hid=$(new_id hostile-silent)
	SECONDS=0
	hostile_create "$hid"
	wait_for 120 eval '! pid_alive '"$REAP" || fail "create still running after 120 s"
	rc=0
	wait "$REAP" || rc=$?
	[ "$rc" -ne 0 ] || fail "create succeeded against a silent agent"
	echo "# create failed (status $rc) after ${SECONDS} s" >&3
	grep -q "CreateSandbox: the guest agent did not answer within 30 s" "$T/h.err" ||
		fail "create said: $(cat "$T/h.err")"
	vc_capture state "$hid"
	[ "$status" -ne 0 ]
	hostile_finish "$hid"
}

@test "hostile silent from ExecProcess on: exec and kill time out, named; delete --force still cleans up" {
	hostile_begin silent-exec vcrun.hostile=silent vcrun.hostile_at=ExecProcess
	hid=$HID
	hostile_start

	local bound=$((AGENT_TIMEOUT_S + 20))
	timed "$bound" exec "$hid" echo never
	[ "$status" -eq 255 ] &&
		[[ $stderr == *"ExecProcess: the guest agent did not answer within ${AGENT_TIMEOUT_S} s"* ]] ||
		fail "exec said ($status): $stderr"
	timed "$bound" kill "$hid" TERM
	[ "$status" -ne 0 ] && [[ $stderr == *"SignalProcess: the guest agent did not answer"* ]] ||
		fail "kill said ($status): $stderr"
	hostile_finish "$hid"
}
