#!/usr/bin/env bats
# --console-socket: the pty master is sent with SCM_RIGHTS, as runc sends it, and the
# terminal works both ways, for create and for exec; the pty belongs to the process's
# user. One VM per test.

load helpers

@test "terminal: create and exec with --console-socket; size, input and echo" {
	make_bundle "$T/b" sh -c 'tty; stty size; read x; echo got:$x; sleep 600'
	spec_edit "$T/b" '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
	id=$(new_id tty)

	# terminal: true without a console socket is an error, as with runc
	vc_capture create --bundle "$T/b" "$id-x"
	[ "$status" -ne 0 ] && [[ $stderr == *console-socket* ]] || fail "no socket: $status $stderr"

	recv_console "$T/c.sock" "$T/c.out" $'hello\n'
	vc_capture create --console-socket "$T/c.sock" --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	vcrun start "$id"
	wait_for 30 grep -q 'got:hello' "$T/c.out" || fail "terminal output: $(cat -A "$T/c.out")"
	grep -q '^/dev/pts/0' "$T/c.out" || fail "not a pty: $(cat -A "$T/c.out")"
	grep -q '^30 100' "$T/c.out" || fail "console size: $(cat -A "$T/c.out")"
	# the guest's pty echoes once; the host's side is raw and adds nothing
	[ "$(grep -c '^hello' "$T/c.out")" -eq 1 ] || fail "echo: $(cat -A "$T/c.out")"

	# exec --tty with its own console socket
	recv_console "$T/e.sock" "$T/e.out" $'world\n'
	vc_capture exec --tty --console-socket "$T/e.sock" --detach "$id" sh -c 'read y; echo exec:$y; tty'
	[ "$status" -eq 0 ] || fail "exec -t: $stderr"
	wait_for 30 grep -q 'exec:world' "$T/e.out" || fail "exec terminal: $(cat -A "$T/e.out")"
	grep -q '^/dev/pts/' "$T/e.out" || fail "exec not on a pty: $(cat -A "$T/e.out")"

	vc_capture exec --tty --detach "$id" true
	[ "$status" -ne 0 ] && [[ $stderr == *"console socket"* ]] || fail "exec -t -d without socket: $stderr"

	# exec -t in the foreground: the caller's own terminal (here script's pty)
	status=0
	(sleep 3; printf 'xyz\n') | (close_test_fds; timeout 60 script -qec \
		"$RUNTIME --root $ROOT exec -t $id sh -c 'tty; read y; echo exec-fg:\$y'" "$T/fg.log") \
		>/dev/null 2>&1 || status=$?
	[ "$status" -eq 0 ] || fail "exec -t in the foreground exited $status: $(cat -A "$T/fg.log")"
	grep -aq 'exec-fg:xyz' "$T/fg.log" || fail "exec -t foreground: $(cat -A "$T/fg.log")"
	grep -aq '/dev/pts/' "$T/fg.log" || fail "exec -t not on a pty: $(cat -A "$T/fg.log")"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
}

@test "terminal: run in the foreground uses the caller's terminal, as runc does" {
	make_bundle "$T/b" sh -c 'tty; read x; echo got:$x; exit 4'
	spec_edit "$T/b" '.process.terminal = true'
	id=$(new_id fg)
	status=0
	(sleep 4; printf 'abc\n') | (close_test_fds; timeout 60 script -qec \
		"$RUNTIME --root $ROOT run --bundle $T/b $id" "$T/run.log") >/dev/null 2>&1 || status=$?
	[ "$status" -eq 4 ] || fail "run exited $status, want 4: $(cat -A "$T/run.log")"
	grep -aq 'got:abc' "$T/run.log" || fail "terminal: $(cat -A "$T/run.log")"
	# one echo of the input: the guest's pty; the caller's terminal was raw
	[ "$(grep -ac 'abc' "$T/run.log")" -eq 2 ] || fail "echo: $(cat -A "$T/run.log")"
}

@test "terminal: a uid 1000 process owns its pty (gid tty), as with runc; a read-only /dev; no stray first byte" {
	make_bundle "$T/b" sh -c 'tty; ls -ln "$(tty)" /dev/console; grep " /dev " /proc/mounts;
		touch /dev/x; ls /dev/pts; echo done; sleep 600'
	# runc's spec: devpts with gid=5; the /dev tmpfs made read-only ("ro")
	spec_edit "$T/b" '.process.terminal = true | .process.user = {"uid": 1000, "gid": 1000}
		| (.mounts[] | select(.destination == "/dev") | .options) += ["ro"]'
	id=$(new_id own)

	recv_console "$T/c.sock" "$T/c.out"
	vc_capture create --console-socket "$T/c.sock" --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create with a read-only /dev: $stderr"
	vcrun start "$id"
	wait_for 30 grep -q '^done' "$T/c.out" || fail "terminal output: $(cat -A "$T/c.out")"

	# the first bytes are the process's own (no NUL or other byte ahead of them)
	[ "$(head -c 9 "$T/c.out")" = /dev/pts/ ] || fail "first bytes: $(head -c 16 "$T/c.out" | od -c)"
	# the pty, and /dev/console bound to it: the process's uid, devpts's gid
	read -r _ _ owner group _ < <(grep -a '/dev/pts/' "$T/c.out" | grep -a '^c') ||
		fail "no ls line for the pty: $(cat -A "$T/c.out")"
	[ "$owner:$group" = 1000:5 ] || fail "pty owned by $owner:$group, not 1000:5: $(cat -A "$T/c.out")"
	read -r _ _ owner group _ < <(grep -a '/dev/console' "$T/c.out") ||
		fail "no /dev/console: $(cat -A "$T/c.out")"
	[ "$owner:$group" = 1000:5 ] || fail "/dev/console is $owner:$group: $(cat -A "$T/c.out")"
	# /dev read-only, its sub-mounts made before that and still working
	grep -aq '^tmpfs /dev tmpfs ro,' "$T/c.out" || fail "/dev not read-only: $(cat -A "$T/c.out")"
	grep -aq 'touch: /dev/x: Read-only file system' "$T/c.out" ||
		fail "a file was made in /dev: $(cat -A "$T/c.out")"
	grep -aqw ptmx "$T/c.out" || fail "/dev/pts not mounted: $(cat -A "$T/c.out")"

	# exec -t --user 1000: its new pty is the user's too
	recv_console "$T/e.sock" "$T/e.out"
	vc_capture exec --tty --console-socket "$T/e.sock" --detach --user 1000:1000 "$id" \
		sh -c 'ls -ln "$(tty)"; echo done'
	[ "$status" -eq 0 ] || fail "exec -t --user 1000: $stderr"
	wait_for 30 grep -q '^done' "$T/e.out" || fail "exec terminal: $(cat -A "$T/e.out")"
	read -r _ _ owner group _ < <(grep -a '/dev/pts/' "$T/e.out") ||
		fail "no ls line: $(cat -A "$T/e.out")"
	[ "$owner:$group" = 1000:5 ] || fail "exec pty owned by $owner:$group: $(cat -A "$T/e.out")"
	vcrun kill "$id" KILL
	wait_status "$id" stopped
}
