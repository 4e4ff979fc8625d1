#!/usr/bin/env bats
# The state root under pressure (issue 12, items 5 and 7): a --root on a tiny tmpfs
# (mounted on the test's own $ROOT) that is full fails create with ENOSPC named and
# nothing left, and never leaves a truncated state.json behind a status change; the
# modes of everything vcrun makes under --root and /run/vcrun; a caller without the
# rights it needs (an unprivileged user, a read-only --root) is told what it lacks
# in one line, exit 1, and no container is made.

load helpers

setup() {
	common_setup
	TMPFS=""
}

teardown() {
	# The containers go while the tmpfs is still there (with room); then it goes, so
	# that the leak check sees no mount of ours.
	if [ -n "$TMPFS" ]; then
		rm -f "$ROOT"/fill*
		cleanup_containers
		umount "$ROOT" 2>/dev/null || umount -l "$ROOT"
	fi
	common_teardown
}

# mount_root SIZE: a tmpfs of SIZE on $ROOT.
mount_root() {
	mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$ROOT"
	TMPFS=$ROOT
}

# fill_root [PAGES]: takes all the tmpfs's room but PAGES pages (default 0).
fill_root() {
	rm -f "$ROOT"/fill*
	local free
	free=$(stat -f -c '%a*%S' "$ROOT")
	fallocate -l $(($free - ${1:-0} * 4096)) "$ROOT/fill"
	# fallocate rounds; whatever is left goes to a second file
	[ "${1:-0}" -gt 0 ] || dd if=/dev/zero of="$ROOT/fill2" bs=4k 2>/dev/null || true
}

# One stderr line naming ENOSPC and the state root, exit 1.
assert_enospc() {
	[ "$status" -eq 1 ] || fail "status $status: $stderr"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "more than one line: $stderr"
	[[ $stderr == *"No space left on device"* ]] || fail "no ENOSPC: $stderr"
	[[ $stderr == *"$ROOT/"* ]] || fail "the path is not named: $stderr"
}

# nothing_of ID: no state dir, process, share, pin or mount of ID (the tmpfs aside).
nothing_of() {
	[ ! -e "$ROOT/$1" ] || fail "state dir $ROOT/$1 left"
	wait_for 10 no_procs_left || fail "processes left: $(procs_under "$T")"
	[ ! -e "$(share_of "$1")" ] || fail "share $(share_of "$1") left"
	[ ! -e "/run/vcrun/netns/$(host_name_of "$1")" ] || fail "netns pin of $1 left"
	[ "$(mounts_under "$T" | grep -vx "$ROOT" || true)" = "" ] ||
		fail "mounts left: $(mounts_under "$T")"
}

# state_whole ID STATUS: state.json parses and says STATUS.
state_whole() {
	local s
	s=$(jq -r .status "$ROOT/$1/state.json") || fail "state.json of $1 does not parse: $(cat "$ROOT/$1/state.json")"
	[ "$s" = "$2" ] || fail "state.json of $1 says $s, not $2"
}

@test "a full state root: create fails with ENOSPC named at each step and leaves nothing" {
	make_bundle "$T/b" sleep 100
	mount_root 1m
	local id pages done=false
	id=$(new_id full)
	# From no room at all up to enough: each failure is clean, whatever write hit it
	# (config.json, state.json, plan.json, cgroup.json, the monitor's first state).
	for pages in 0 1 2 3 4 5 6 7 8; do
		fill_root "$pages"
		vc_capture create --bundle "$T/b" "$id"
		if [ "$status" -eq 0 ]; then
			done=true
			break
		fi
		echo "# $pages pages: $stderr" >&3
		assert_enospc
		nothing_of "$id"
	done
	[ "$pages" -ge 1 ] || fail "create succeeded on a full disk"
	$done || fail "create never succeeded with $pages pages free"
	# What succeeded is recorded: `state` finds the monitor it names.
	[ "$(state_status "$id")" = created ] || fail "state says $(state_status "$id") after create"
	rm -f "$ROOT"/fill*
	vcrun delete --force "$id"
	nothing_of "$id"
}

@test "a full state root: status changes fail first, state.json is never truncated, delete cleans up" {
	make_bundle "$T/b" sleep 100
	mount_root 1m
	local id size
	id=$(new_id c1)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	state_whole "$id" created
	size=$(stat -c %s "$ROOT/$id/state.json")

	fill_root
	# start would change the status state.json holds: refused before anything runs.
	vc_capture start "$id"
	assert_enospc
	state_whole "$id" created
	[ "$(stat -c %s "$ROOT/$id/state.json")" -eq "$size" ]
	[ "$(state_status "$id")" = created ]
	[ -z "$(ls "$ROOT/$id" | grep '\.tmp\.' || true)" ] || fail "a temporary file left: $(ls "$ROOT/$id")"

	rm -f "$ROOT"/fill*
	vc_capture start "$id"
	[ "$status" -eq 0 ] || fail "start with room: $stderr"
	state_whole "$id" running

	fill_root
	vc_capture pause "$id"
	assert_enospc
	state_whole "$id" running
	[ "$(state_status "$id")" = running ]
	# A signal changes no file; the exit it causes cannot be recorded yet, and what
	# is recorded stays whole.
	vc_capture kill "$id" KILL
	[ "$status" -eq 0 ] || fail "kill: $stderr"
	sleep 2
	state_whole "$id" running
	# Room again: the monitor records the exit by itself.
	rm -f "$ROOT"/fill*
	wait_for 10 eval '[ "$(jq -r .status "$ROOT/$id/state.json")" = stopped ]' ||
		fail "state.json still says $(jq -r .status "$ROOT/$id/state.json")"
	[ "$(jq -r .exit_code "$ROOT/$id/state.json")" = 137 ]

	# delete --force needs no room.
	fill_root
	vc_capture delete --force "$id"
	[ "$status" -eq 0 ] || fail "delete on a full disk: $stderr"
	nothing_of "$id"
}

# mode_is MODE PATH...: each path has that octal mode.
mode_is() {
	local want=$1 p
	shift
	for p in "$@"; do
		[ "$(stat -c %a "$p")" = "$want" ] || fail "$p is $(stat -c %a "$p"), not $want"
	done
}

@test "permissions: --root, state dirs, files, sockets and logs are 0700/0600; /run/vcrun too" {
	make_bundle "$T/b" sleep 100
	ROOT=$T/made/root # vcrun makes it
	local id f
	id=$(new_id perms)
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	mode_is 700 "$ROOT" "$ROOT/$id" /run/vcrun /run/vcrun/shared /run/vcrun/netns
	[ -S "$ROOT/$id/monitor.sock" ] && [ -S "$ROOT/$id/qmp.sock" ]
	for f in "$ROOT/$id"/*; do
		[ ! -d "$f" ] || fail "a directory in the state dir: $f"
		mode_is 600 "$f"
	done
	for f in monitor.log console.log qemu.log state.json plan.json config.json lock; do
		[ -e "$ROOT/$id/$f" ] || fail "$f is missing"
	done
	for f in /run/vcrun/accel.cache /run/vcrun/vfio.lock; do
		[ ! -e "$f" ] || mode_is 600 "$f"
	done
	# The sandbox share is 0711 (the guest's users cross it), inside a 0700 dir.
	mode_is 711 "$(share_of "$id")"
	# The pin is a bind mount of the namespace, in a 0700 dir.
	[ -e "/run/vcrun/netns/$(host_name_of "$id")" ]
	vcrun delete --force "$id"
}

# as_nobody ARGS...: vcrun as uid/gid 65534 without groups, from /.
as_nobody() {
	status=0
	(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$RUNTIME" "$@") \
		</dev/null >"$T/out" 2>"$T/err" || status=$?
	output=$(cat "$T/out")
	stderr=$(cat "$T/err")
}

# One stderr line containing TEXT, exit 1.
assert_one_error() {
	[ "$status" -eq 1 ] || fail "status $status: $stderr"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "more than one line: $stderr"
	[[ $stderr == *"$1"* ]] || fail "'$1' not in: $stderr"
}

@test "permissions: an unprivileged caller and a read-only --root are told what they lack, and nothing is made" {
	make_bundle "$T/b" sleep 100
	chmod 755 "$T"
	chmod -R a+rX "$T/b"
	local id before
	id=$(new_id lacks)
	before=$(ls -A "$ROOT")

	# A root-owned --root: an unprivileged create needs root, list and state need
	# the root's rights.
	as_nobody --root "$ROOT" create --bundle "$T/b" "$id"
	assert_one_error "needs root"
	as_nobody --root "$ROOT" run --bundle "$T/b" "$id"
	assert_one_error "needs root"
	chmod 700 "$ROOT"
	as_nobody --root "$ROOT" list
	assert_one_error "$ROOT"
	[[ $stderr == *"Permission denied"* ]]
	as_nobody --root "$ROOT" state "$id"
	assert_one_error "Permission denied"
	as_nobody --root "$ROOT" delete "$id"
	assert_one_error "Permission denied"
	[ "$(ls -A "$ROOT")" = "$before" ] || fail "the root changed: $(ls -A "$ROOT")"
	# An unprivileged user's own --root does not help.
	mkdir "$T/own"
	chown 65534:65534 "$T/own"
	as_nobody --root "$T/own" create --bundle "$T/b" "$id"
	assert_one_error "needs root"
	[ -z "$(ls -A "$T/own")" ] || fail "made in the user's root: $(ls -A "$T/own")"

	# A read-only --root, as root.
	mkdir -p "$T/ro"
	mount --bind "$T/ro" "$T/ro"
	mount -o remount,bind,ro "$T/ro"
	status=0
	"$RUNTIME" --root "$T/ro" create --bundle "$T/b" "$id" </dev/null >"$T/out" 2>"$T/err" ||
		status=$?
	stderr=$(cat "$T/err")
	umount "$T/ro"
	assert_one_error "Read-only file system"
	[[ $stderr == *"$T/ro/$id"* ]] || fail "the path is not named: $stderr"
	[ -z "$(ls -A "$T/ro")" ] || fail "made in the read-only root: $(ls -A "$T/ro")"
	nothing_of "$id"
}
