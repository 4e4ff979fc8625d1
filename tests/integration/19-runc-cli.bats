#!/usr/bin/env bats
# runc's contract on the corners of its CLI, measured against runc 1.1.5: ps with ps's
# options, list order, exec into a created container, kill -a / ps of a stopped one,
# run --keep, update -r -, resource validation, exec's exit status 255, --debug.
# Every test passes against runc too (VCRUN=/usr/sbin/runc).

load helpers

FULL_HEAD='UID        PID  PPID  C STIME TTY          TIME CMD'

# pid_column FILE COL: the COL-th field of every line but the header, sorted.
pid_column() {
	tail -n +2 "$1" | awk -v c="$2" '{ print $c }' | sort -n
}

# only_init ID: the container has one process left.
only_init() {
	[ "$(vcrun ps --format json "$1" | jq length)" -eq 1 ]
}

# sleeper NAME [started]: sets id to a new container NAME running `sleep 600` from
# the bundle $T/b, created, and started when asked.
sleeper() {
	[ -e "$T/b/config.json" ] || make_bundle "$T/b" sleep 600
	id=$(new_id "$1")
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create $id: $stderr"
	[ "${2:-}" != started ] || vcrun start "$id"
}

# A running container with its init and one exec'd sleep.
ps_setup() {
	sleeper ps started
	vc_capture exec --detach "$id" sleep 777
	[ "$status" -eq 0 ] || fail "exec: $stderr"
}

@test "ps: procps' table for -ef (the default), -e -x, aux and -o, the pids json, unsupported options" {
	ps_setup
	vc_capture ps --format json "$id"
	[ "$status" -eq 0 ] || fail "ps json: $stderr"
	pids=$(jq -r '.[]' <<<"$output" | sort -n)
	[ "$(wc -l <<<"$pids")" -ge 2 ] || fail "ps json: '$output'"

	# the default is -ef: procps' header, one line per container process
	for args in "" "-ef"; do
		# shellcheck disable=SC2086
		vc_capture ps "$id" $args
		[ "$status" -eq 0 ] || fail "ps $args: $stderr"
		[ "$(head -n1 "$T/out")" = "$FULL_HEAD" ] || fail "ps $args header: $output"
		[ "$(pid_column "$T/out" 2)" = "$pids" ] || fail "ps $args pids: $output (json: $pids)"
		grep -Eq '^[^ ]+ +[0-9]+ +[0-9]+ +[0-9]+ [0-9A-Za-z:]+ \? +[0-9:-]+ sleep 777$' "$T/out" ||
			fail "ps $args: no line for the exec'd sleep: $output"
	done

	# BSD forms: -e -x (refused before), aux
	vc_capture ps "$id" -e -x
	[ "$status" -eq 0 ] || fail "ps -e -x: $stderr"
	[ "$(head -n1 "$T/out")" = '  PID TTY      STAT   TIME COMMAND' ] || fail "ps -e -x: $output"
	[ "$(pid_column "$T/out" 1)" = "$pids" ] || fail "ps -e -x pids: $output"
	grep -Eq '^ *[0-9]+ \? +[RSD][^ ]* +[0-9]+:[0-9]{2} sleep 777' "$T/out" || fail "ps -e -x: $output"
	vc_capture ps "$id" aux
	[ "$status" -eq 0 ] || fail "ps aux: $stderr"
	[ "$(head -n1 "$T/out")" = 'USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND' ] ||
		fail "ps aux: $output"
	[ "$(pid_column "$T/out" 2)" = "$pids" ] || fail "ps aux pids: $output"

	# -o: procps' headers, comm and args
	vc_capture ps "$id" -o pid,comm,args
	[ "$status" -eq 0 ] || fail "ps -o: $stderr"
	[ "$(head -n1 "$T/out")" = '  PID COMMAND         COMMAND' ] || fail "ps -o header: $output"
	grep -Eq '^ *[0-9]+ sleep {11}sleep 777$' "$T/out" || fail "ps -o pid,comm,args: $output"

	# no PID column: runc's own error
	vc_capture ps "$id" -o comm
	[ "$status" -eq 1 ] && [[ $stderr == *"couldn't find PID field in ps output"* ]] ||
		fail "ps -o comm: $status $stderr"
	# an option vcrun does not know is named
	vc_capture ps "$id" --no-such-option
	[ "$status" -eq 1 ] || fail "ps --no-such-option accepted: $output"
	if is_vm_runtime; then
		[[ $stderr == *--no-such-option* ]] || fail "ps --no-such-option: the option is not named: $stderr"
	fi
	vc_capture ps --format yaml "$id"
	[ "$status" -eq 1 ] && [[ $stderr == *"invalid format option"* ]] || fail "ps yaml: $stderr"
}

@test "list: sorted by id in the table, with -q and as JSON" {
	# made in this order, ext4's hashed directory gives them back as b1, a1
	sleeper a1
	sleeper b1
	vc_capture list -q
	[ "$output" = "$(printf 'a1\nb1')" ] || fail "list -q: $output"
	vc_capture list
	[ "$(tail -n +2 "$T/out" | awk '{ print $1 }' | paste -sd,)" = a1,b1 ] || fail "list: $output"
	vc_capture list --format json
	[ "$(jq -r '.[].id' <<<"$output" | paste -sd,)" = a1,b1 ] || fail "list json: $output"
}

@test "exec: into a created container, before start" {
	sleeper cre
	vc_capture exec "$id" sh -c 'echo from-exec; exit 5'
	[ "$status" -eq 5 ] && [ "$output" = from-exec ] || fail "exec in created: $status '$output' $stderr"
	vc_capture exec --detach --pid-file "$T/xpid" "$id" sleep 300
	[ "$status" -eq 0 ] || fail "detached exec in created: $stderr"
	pid_alive "$(cat "$T/xpid")" || fail "exec's pid file: $(cat "$T/xpid")"
	[ "$(state_status "$id")" = created ] || fail "exec started the container: $(state_status "$id")"
	vc_capture ps --format json "$id"
	[ "$(jq length <<<"$output")" -eq 2 ] || fail "ps after exec in created: $output"
	vcrun start "$id"
	[ "$(state_status "$id")" = running ] || fail "start after exec: $(state_status "$id")"
}

@test "kill -a and ps on a stopped container succeed; kill without -a does not" {
	sleeper stp started
	vcrun kill "$id" KILL
	wait_status "$id" stopped

	vc_capture ps "$id"
	[ "$status" -eq 0 ] && [ "$output" = "$FULL_HEAD" ] || fail "ps of stopped: $status '$output' $stderr"
	vc_capture ps "$id" -e -x
	[ "$status" -eq 0 ] && [ "$output" = '  PID TTY      STAT   TIME COMMAND' ] ||
		fail "ps -e -x of stopped: $status '$output' $stderr"
	vc_capture ps --format json "$id"
	[ "$status" -eq 0 ] && [ "$output" = null ] || fail "ps json of stopped: $status '$output' $stderr"
	for sig in 0 KILL TERM; do
		vc_capture kill -a "$id" "$sig"
		[ "$status" -eq 0 ] || fail "kill -a $sig of stopped: $status $stderr"
		vc_capture kill "$id" "$sig"
		[ "$status" -eq 1 ] && [[ $stderr == *"container not running"* ]] ||
			fail "kill $sig of stopped: $status $stderr"
	done
	vc_capture exec "$id" true
	[ "$status" -eq 255 ] && [[ $stderr == *"cannot exec in a stopped container"* ]] ||
		fail "exec in stopped: $status $stderr"
}

@test "run --keep: the stopped container stays until delete" {
	make_bundle "$T/b" sh -c 'echo kept; exit 3'
	id=$(new_id keep)
	vc_capture run --keep --bundle "$T/b" "$id"
	[ "$status" -eq 3 ] && [ "$output" = kept ] || fail "run --keep: $status '$output' $stderr"
	[ "$(state_status "$id")" = stopped ] || fail "state after run --keep: $(state_status "$id")"
	vc_capture list -q
	[ "$output" = "$id" ] || fail "list after run --keep: '$output'"
	vc_capture delete "$id"
	[ "$status" -eq 0 ] || fail "delete: $stderr"
	vc_capture state "$id"
	[ "$status" -eq 1 ] || fail "state after delete: $output"

	# without --keep, run still deletes it
	id2=$(new_id nokeep)
	vc_capture run --bundle "$T/b" "$id2"
	[ "$status" -eq 3 ] || fail "run: $status $stderr"
	vc_capture state "$id2"
	[ "$status" -eq 1 ] || fail "run without --keep left the container: $output"
}

@test "update -r -: the resources JSON from stdin" {
	sleeper upd started
	echo '{"pids": {"limit": 33}}' >"$T/res.json"
	VC_STDIN=$T/res.json vc_capture update -r - "$id"
	[ "$status" -eq 0 ] || fail "update -r -: $stderr"
	vc_capture events --stats "$id"
	[ "$(jq -r .data.pids.limit <<<"$output")" = 33 ] || fail "pids limit after update -r -: $output"
	echo '{"pids": {"limit": 44}}' >"$T/res.json"
	VC_STDIN=$T/res.json vc_capture update --resources - "$id"
	[ "$status" -eq 0 ] || fail "update --resources -: $stderr"
	vc_capture events --stats "$id"
	[ "$(jq -r .data.pids.limit <<<"$output")" = 44 ] || fail "pids limit after --resources -: $output"
}

@test "validation: a CPU period out of the kernel's range is named; device access rwa is accepted" {
	make_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.linux.resources.cpu = {"period": 500, "quota": 1000}'
	id=$(new_id per)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 1 ] && [[ $stderr == *period* ]] || fail "create with period 500: $status $stderr"
	if is_vm_runtime; then
		[[ $stderr == *linux.resources.cpu.period* ]] || fail "the field is not named: $stderr"
	fi
	vc_capture state "$id"
	[ "$status" -eq 1 ] || fail "a refused create left state: $output"

	spec_edit "$T/b" 'del(.linux.resources.cpu) |
		.linux.resources.devices = [{"allow": false, "access": "rwm"},
			{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwa"},
			{"allow": true, "type": "c", "major": 1, "minor": 5, "access": "mr"}]'
	id=$(new_id dev)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create with access rwa: $stderr"

	for p in 500 2000000; do
		vc_capture update --cpu-period "$p" "$id"
		[ "$status" -eq 1 ] && [[ $stderr == *period* ]] || fail "update --cpu-period $p: $status $stderr"
	done
	vc_capture update --cpu-period 100000 --cpu-quota 50000 "$id"
	[ "$status" -eq 0 ] || fail "a valid --cpu-period: $stderr"
}

@test "exec --pid-file in a directory that does not exist: status 255, nothing left running" {
	sleeper pf started
	for d in "" --detach; do
		# shellcheck disable=SC2086
		vc_capture exec $d --pid-file "$T/nodir/x.pid" "$id" sleep 301
		[ "$status" -eq 255 ] && [[ $stderr == *"exec failed: "*nodir* ]] ||
			fail "exec $d --pid-file nodir: $status $stderr"
	done
	wait_for 20 only_init "$id" || fail "the exec'd process outlived its failure: $(vcrun ps "$id")"
	# the usage check stays status 1 (runc's checkArgs)
	vc_capture exec
	[ "$status" -eq 1 ] || fail "exec without arguments: $status"
}

@test "--debug: level=debug lines on stderr, or in --log" {
	make_bundle "$T/b" sleep 600
	id=$(new_id dbg)
	vc_capture --debug create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	grep -Eq '^time="[^"]+" level=debug msg=' "$T/err" || fail "no debug line on stderr: $stderr"
	vc_capture --debug --log "$T/debug.log" exec "$id" true
	[ "$status" -eq 0 ] || fail "exec: $stderr"
	grep -Eq '^time="[^"]+" level=debug msg=' "$T/debug.log" ||
		fail "no debug line in --log: $(cat "$T/debug.log")"
	! grep -q 'level=debug' "$T/err" || fail "debug lines on stderr with --log: $stderr"
	vc_capture --log "$T/quiet.log" exec "$id" true
	! grep -q 'level=debug' "$T/quiet.log" || fail "debug lines without --debug: $(cat "$T/quiet.log")"
}

@test "terminal rules: runc's checks on --console-socket and process.terminal, in its words" {
	make_bundle "$T/b" true
	# a console socket for a process without a terminal, or for a run in the foreground
	vc_capture create --bundle "$T/b" --console-socket "$T/nosock" "$(new_id t1)"
	[ "$status" -eq 1 ] && [[ $stderr == *"cannot use console socket if "*" will not detach or allocate tty"* ]] ||
		fail "create, no terminal: $status $stderr"
	spec_edit "$T/b" '.process.terminal = true'
	vc_capture run --bundle "$T/b" --console-socket "$T/nosock" t1
	[ "$status" -eq 1 ] && [[ $stderr == *"cannot use console socket if "*" will not detach or allocate tty"* ]] ||
		fail "run in the foreground with a console socket: $status $stderr"
	# a terminal for a detached process without a console socket
	vc_capture create --bundle "$T/b" t1
	[ "$status" -eq 1 ] && [[ $stderr == *"cannot allocate tty if "*" will detach without setting console socket"* ]] ||
		fail "create, terminal without a console socket: $status $stderr"
	[ ! -e "$ROOT/t1" ] || fail "state dir left"
}
