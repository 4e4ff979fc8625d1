#!/usr/bin/env bats
# The vcrun command line as runc 1.1.5 presents it: option syntax, usage errors,
# messages, streams and exit codes. Nothing here boots a VM.

bats_require_minimum_version 1.5.0

VCRUN=${VCRUN:-$BATS_TEST_DIRNAME/../../bin/vcrun}

setup() {
	ROOT="$BATS_TEST_TMPDIR/root"
	mkdir -p "$ROOT"
}

vcrun() {
	"$VCRUN" --root "$ROOT" "$@"
}

# A logrus text line on stderr: time="..." level=error msg="MSG"
assert_error_line() {
	local want="$1"
	[[ "$stderr" =~ ^time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[+-][0-9]{2}:[0-9]{2})\"\ level=error\ msg= ]] ||
		{ echo "stderr: $stderr"; return 1; }
	[[ "$stderr" == *"$want"* ]] || { echo "stderr: $stderr"; return 1; }
}

@test "--version prints the version, commit, spec and libseccomp lines" {
	run --separate-stderr "$VCRUN" --version
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" =~ ^vcrun\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "${lines[1]}" =~ ^commit:\ .+ ]]
	[ "${lines[2]}" = "spec: 1.2.0" ]
	[[ "${lines[3]}" =~ ^libseccomp:\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	[ -z "$stderr" ]

	run "$VCRUN" -v
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "vcrun version "* ]]
}

@test "--help and no arguments show the command list" {
	for args in --help -h ""; do
		run --separate-stderr "$VCRUN" $args
		[ "$status" -eq 0 ]
		[[ "$output" == *"USAGE:"* ]]
		[[ "$output" == *"COMMANDS:"* ]]
		[[ "$output" == *"GLOBAL OPTIONS:"* ]]
		for cmd in create start state kill delete run list spec; do
			[[ "$output" == *"   $cmd "* ]]
		done
		[ -z "$stderr" ]
	done
}

@test "help for one command: help CMD, CMD --help, CMD -h" {
	for args in "help kill" "kill --help" "kill -h" "h kill"; do
		run --separate-stderr "$VCRUN" $args
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "NAME:" ]
		[[ "${lines[1]}" == *"kill - kill sends the specified signal"* ]]
		[[ "$output" == *"--all, -a"* ]]
	done
	# urfave moves a known option written after the arguments to the front.
	run vcrun state nope --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"state - output the state of a container"* ]]
}

@test "an unknown global flag is a usage error" {
	run --separate-stderr "$VCRUN" --foo state nope
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Incorrect Usage. flag provided but not defined: -foo" ]
	[[ "$output" == *"GLOBAL OPTIONS:"* ]]
	assert_error_line 'msg="flag provided but not defined: -foo"'
}

@test "an unknown command flag is a usage error" {
	run --separate-stderr vcrun state --foo nope
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Incorrect Usage: flag provided but not defined: -foo" ]
	[[ "$output" == *" state - output the state of a container"* ]]
	assert_error_line 'flag provided but not defined: -foo'
}

@test "an unknown command exits 3" {
	run --separate-stderr vcrun nosuchcmd
	[ "$status" -eq 3 ]
	assert_error_line "No help topic for 'nosuchcmd'"
	run --separate-stderr vcrun help nosuchcmd
	[ "$status" -eq 3 ]
}

@test "wrong argument counts name the command and the rule" {
	run --separate-stderr vcrun start
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Incorrect Usage." ]
	assert_error_line '\"start\" requires exactly 1 argument(s)'

	run --separate-stderr vcrun state a b
	[ "$status" -eq 1 ]
	assert_error_line '\"state\" requires exactly 1 argument(s)'

	run --separate-stderr vcrun delete a b
	[ "$status" -eq 1 ]
	assert_error_line '\"delete\" requires exactly 1 argument(s)'

	run --separate-stderr vcrun kill
	[ "$status" -eq 1 ]
	assert_error_line '\"kill\" requires a minimum of 1 argument(s)'

	run --separate-stderr vcrun kill a KILL extra
	[ "$status" -eq 1 ]
	assert_error_line '\"kill\" requires a maximum of 2 argument(s)'

	run --separate-stderr vcrun list extra
	[ "$status" -eq 1 ]
	assert_error_line '\"list\" requires exactly 0 argument(s)'

	for cmd in create run checkpoint restore; do
		run --separate-stderr vcrun $cmd
		[ "$status" -eq 1 ]
		assert_error_line "\\\"$cmd\\\" requires exactly 1 argument(s)"
	done
}

@test "option values: missing value, bad int, bad bool, two forms of one flag" {
	run --separate-stderr vcrun list --format
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Incorrect Usage: flag needs an argument: -format" ]

	run --separate-stderr vcrun create --preserve-fds abc c1
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = 'Incorrect Usage: invalid value "abc" for flag -preserve-fds: parse error' ]

	run --separate-stderr vcrun create --preserve-fds=99999999999999999999 c1
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == *"value out of range" ]]

	run --separate-stderr vcrun delete --force=yes nope
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = 'Incorrect Usage: invalid boolean value "yes" for -force: parse error' ]

	run --separate-stderr vcrun delete -f --force nope
	[ "$status" -eq 1 ]
	assert_error_line "Cannot use two forms of the same flag: f force"
}

@test "option spellings: -root, --root=, -flag, --flag=false, --, options after the id" {
	run --separate-stderr "$VCRUN" -root "$ROOT" state nope
	[ "$status" -eq 1 ]
	assert_error_line 'msg="container does not exist"'
	run --separate-stderr "$VCRUN" --root="$ROOT" state nope
	assert_error_line 'msg="container does not exist"'

	for args in "-force nope" "--force=true nope" "-f=1 nope" "nope --force" "nope -f" "--force -- nope"; do
		run --separate-stderr vcrun delete $args
		[ "$status" -eq 0 ]
	done
	# --force=false: an ordinary delete of a missing container fails.
	run --separate-stderr vcrun delete --force=false nope
	[ "$status" -eq 1 ]
	# After "--" nothing is an option.
	run --separate-stderr vcrun delete -- --force
	[ "$status" -eq 1 ]
	assert_error_line "does not exist"
}

@test "spec writes a config.json that parses and refuses to overwrite it" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr vcrun spec
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(jq -r .ociVersion config.json)" = "1.2.0" ]
	[ "$(jq -r '.process.args[0]' config.json)" = "sh" ]
	[ "$(jq -r '.root.path' config.json)" = "rootfs" ]
	jq -e '.linux.namespaces | map(.type) | index("mount")' config.json
	before=$(sha256sum config.json)

	run --separate-stderr vcrun spec
	[ "$status" -eq 1 ]
	assert_error_line 'msg="File config.json exists. Remove it first"'
	[ "$(sha256sum config.json)" = "$before" ]

	mkdir b
	run --separate-stderr vcrun spec -b b
	[ "$status" -eq 0 ]
	jq -e . b/config.json >/dev/null
	run --separate-stderr vcrun spec --bundle b
	[ "$status" -eq 1 ]

	run --separate-stderr vcrun spec --bundle "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 1 ]
	assert_error_line "chdir $BATS_TEST_TMPDIR/none"

	run --separate-stderr vcrun spec extra
	[ "$status" -eq 1 ]
	assert_error_line '\"spec\" requires exactly 0 argument(s)'
}

@test "spec --rootless adds a user namespace and id mappings" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr vcrun spec --rootless
	[ "$status" -eq 0 ]
	jq -e '.linux.namespaces | map(.type) | index("user")' config.json
	[ "$(jq '.linux.uidMappings | length' config.json)" -ge 1 ]
	[ "$(jq '.linux.gidMappings | length' config.json)" -ge 1 ]
	jq -e '.linux.namespaces | map(.type) | index("network") | not' config.json
}

@test "state, kill, start and delete of an unknown id: container does not exist" {
	for args in "state nope" "kill nope" "kill nope KILL" "start nope" "delete nope"; do
		run --separate-stderr vcrun $args
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		assert_error_line 'msg="container does not exist"'
		[ "${#stderr_lines[@]}" -eq 1 ]
	done
}

@test "delete --force of an unknown id succeeds quietly" {
	run --separate-stderr vcrun delete --force nope
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "kill with a bad signal name" {
	run --separate-stderr vcrun kill nope NOSUCHSIG
	[ "$status" -eq 1 ]
	assert_error_line 'msg="unknown signal \"NOSUCHSIG\""'
}

@test "list on an empty root: table header, quiet, json null" {
	run --separate-stderr vcrun list
	[ "$status" -eq 0 ]
	[ "$output" = "ID          PID         STATUS      BUNDLE      CREATED     OWNER" ]

	run --separate-stderr vcrun list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	run --separate-stderr vcrun list --format json
	[ "$status" -eq 0 ]
	[ "$output" = "null" ]

	run --separate-stderr vcrun list -f xml
	[ "$status" -eq 1 ]
	assert_error_line 'msg="invalid format option"'

	# A root that does not exist yet is an empty list too.
	run --separate-stderr "$VCRUN" --root "$BATS_TEST_TMPDIR/absent" list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "--log-format json --log FILE: a json error line in the file, the message on stderr" {
	log="$BATS_TEST_TMPDIR/log.json"
	run --separate-stderr "$VCRUN" --root "$ROOT" --log "$log" --log-format json state nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "container does not exist" ]
	[ "$(wc -l <"$log")" -eq 1 ]
	[ "$(jq -r .level "$log")" = "error" ]
	[ "$(jq -r .msg "$log")" = "container does not exist" ]
	jq -e '.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$")' "$log"
	[ "$(jq -r 'keys | join(",")' "$log")" = "level,msg,time" ]

	# Lines are appended; usage errors are logged too.
	run --separate-stderr "$VCRUN" --root "$ROOT" --log "$log" --log-format=json start
	[ "$status" -eq 1 ]
	[ "$(wc -l <"$log")" -eq 2 ]
	[[ "$(tail -n1 "$log" | jq -r .msg)" == *'"start" requires exactly 1 argument(s)' ]]

	# A message that needs escaping stays one valid JSON line.
	run --separate-stderr "$VCRUN" --root "$ROOT" --log "$log" --log-format json kill nope $'a"b\\c\nd'
	[ "$status" -eq 1 ]
	[ "$(wc -l <"$log")" -eq 3 ]
	[ "$(tail -n1 "$log" | jq -r .msg)" = $'unknown signal "a"b\\c\nd"' ]
}

@test "--log-format json without --log writes the json line on stderr" {
	run --separate-stderr vcrun --log-format json state nope
	[ "$status" -eq 1 ]
	[ "$(jq -r .msg <<<"$stderr")" = "container does not exist" ]
	[ "$(jq -r .level <<<"$stderr")" = "error" ]
}

@test "--log FILE in text format" {
	log="$BATS_TEST_TMPDIR/log.txt"
	run --separate-stderr "$VCRUN" --root "$ROOT" --log "$log" state nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "container does not exist" ]
	grep -Eq '^time="[^"]+" level=error msg="container does not exist"$' "$log"
}

@test "a bad --log-format value or an unwritable --log is an error" {
	run --separate-stderr vcrun --log-format xml state nope
	[ "$status" -eq 1 ]
	assert_error_line 'msg="invalid log-format: xml"'

	run --separate-stderr vcrun --log "$BATS_TEST_TMPDIR/no/such/dir/log" state nope
	[ "$status" -eq 1 ]
	assert_error_line "open $BATS_TEST_TMPDIR/no/such/dir/log"
}

@test "--root / is refused" {
	run --separate-stderr "$VCRUN" --root / list
	[ "$status" -eq 1 ]
	assert_error_line "Option --root argument should not be set to /"
	run --separate-stderr "$VCRUN" --root /tmp/.. list
	[ "$status" -eq 1 ]
}

@test "global flags that runc takes are accepted" {
	run --separate-stderr "$VCRUN" --root "$ROOT" --debug --systemd-cgroup --rootless auto --criu /bin/false list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "checkpoint and restore are refused with a reason" {
	run --separate-stderr vcrun checkpoint --image-path /tmp/x c1
	[ "$status" -eq 1 ]
	assert_error_line "checkpoint is not supported"
	run --separate-stderr vcrun restore --detach c1
	[ "$status" -eq 1 ]
	assert_error_line "restore is not supported"
}

@test "create with a missing bundle fails with runc's prefix" {
	run --separate-stderr vcrun create --bundle "$BATS_TEST_TMPDIR/none" c1
	[ "$status" -eq 1 ]
	assert_error_line "vcrun create failed: "
	run --separate-stderr vcrun list -q
	[ -z "$output" ]
}

@test "on a terminal the text log is logrus's coloured short form" {
	command -v script >/dev/null
	run script -qec "'$VCRUN' --root '$ROOT' state nope" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == $'\e[31mERRO\e[0m[0000] container does not exist '* ]]
}

@test "concurrent vcrun calls sharing one --log write whole lines" {
	log="$BATS_TEST_TMPDIR/shared.json"
	for i in $(seq 1 24); do
		"$VCRUN" --root "$ROOT" --log "$log" --log-format json kill "nope$i" "BAD$i$(printf 'x%.0s' {1..300})" 2>/dev/null &
	done
	wait
	[ "$(wc -l <"$log")" -eq 24 ]
	[ "$(jq -s 'map(select(.level == "error" and (.msg | startswith("unknown signal")))) | length' "$log")" -eq 24 ]
}

@test "features: the runtime-spec features JSON, truthful for a VM" {
	run "$VCRUN" features
	[ "$status" -eq 0 ]
	jq -e . <<<"$output" >/dev/null
	[ "$(jq -r .ociVersionMax <<<"$output")" = 1.2.0 ]
	[ "$(jq -r .linux.cgroup.v2 <<<"$output")" = true ]
	[ "$(jq -r ".hooks | length" <<<"$output")" = 6 ]
	[ "$(jq -r .linux.cgroup.v1 <<<"$output")" = false ]
	[ "$(jq -r '.linux.namespaces | index("user")' <<<"$output")" != null ]
	[ "$(jq -r '.linux.namespaces | index("time")' <<<"$output")" = null ]
	[ "$(jq -r '.linux.namespaces | index("pid")' <<<"$output")" != null ]
	[ "$(jq -r '.linux.seccomp.actions | index("SCMP_ACT_NOTIFY")' <<<"$output")" = null ]
	[ "$(jq -r '.linux.capabilities | index("CAP_SYS_ADMIN")' <<<"$output")" != null ]
	[ "$(jq -r '.linux.apparmor.enabled' <<<"$output")" = false ]
}
