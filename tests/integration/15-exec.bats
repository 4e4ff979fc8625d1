#!/usr/bin/env bats
# exec: new processes in a running container, inline and with --process, in the
# foreground and detached. One VM for all checks.

load helpers

@test "exec: output, exit codes, stdin, env, user, --process, detach, errors" {
	make_bundle "$T/b" sleep 600
	id=$(new_id ex)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	vcrun start "$id"

	# stdout and stderr separate, the exit code passed through
	vc_capture exec "$id" sh -c 'echo out; echo err >&2; exit 7'
	[ "$status" -eq 7 ] || fail "exec exited $status, want 7: $stderr"
	[ "$output" = out ] || fail "stdout: '$output'"
	[ "$stderr" = err ] || fail "stderr: '$stderr'"

	# it runs in the container's pid namespace, beside its init
	vc_capture exec "$id" ps -o pid,args
	[ "$status" -eq 0 ]
	grep -Eq '^ *1 +sleep 600' "$T/out" || fail "no container init in exec's ps: $output"

	# stdin reaches the process and EOF ends it
	printf 'line1\nline2\n' >"$T/in"
	VC_STDIN=$T/in vc_capture exec "$id" cat
	[ "$status" -eq 0 ] && [ "$output" = "$(printf 'line1\nline2')" ] || fail "cat: '$output'"

	# --env replaces or adds; --cwd; --user uid:gid
	vc_capture exec --env FOO=bar --env PATH=/bin --cwd /tmp --user 1000:1001 "$id" \
		sh -c 'echo "$FOO $PATH $(pwd) $(id -u):$(id -g)"'
	[ "$output" = "bar /bin /tmp 1000:1001" ] || fail "inline options: '$output' ($stderr)"

	# --process: a whole process object, validated like config.json's
	jq '.process | .args = ["sh", "-c", "echo from-process-file; exit 4"]' \
		"$T/b/config.json" >"$T/process.json"
	vc_capture exec --process "$T/process.json" "$id"
	[ "$status" -eq 4 ] && [ "$output" = from-process-file ] || fail "--process: $status '$output' $stderr"
	echo '{"args": [], "cwd": "/"}' >"$T/bad.json"
	vc_capture exec --process "$T/bad.json" "$id"
	[ "$status" -ne 0 ] && [[ $stderr == *process.args* ]] || fail "bad process: $status $stderr"

	# a command that does not exist: runc's message, a non-zero exit
	vc_capture exec "$id" no-such-command
	[ "$status" -ne 0 ] && [[ $stderr == *no-such-command* ]] || fail "missing command: $status $stderr"

	# --detach --pid-file: the stand-in's pid; a signal to it reaches the process
	vc_capture exec --detach --pid-file "$T/xpid" "$id" sleep 300
	[ "$status" -eq 0 ] || fail "detached exec: $stderr"
	xpid=$(cat "$T/xpid")
	[[ $xpid =~ ^[0-9]+$ ]] && pid_alive "$xpid" || fail "exec pid file '$xpid'"
	kill -TERM "$xpid"
	wait_for 20 bash -c "! kill -0 $xpid 2>/dev/null" || fail "stand-in $xpid did not end after SIGTERM"

	# exec in a stopped container is refused
	vcrun kill "$id" KILL
	wait_status "$id" stopped
	vc_capture exec "$id" true
	[ "$status" -ne 0 ] && [[ $stderr == *stopped* ]] || fail "exec in stopped: $status $stderr"
}
