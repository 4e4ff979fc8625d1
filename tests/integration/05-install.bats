#!/usr/bin/env bats
# What a user installs: the man pages against the binary's own help, `make install`
# and `make uninstall` into a DESTDIR, the installed vcrun running a container from
# there (one boot), bash completion, and the Debian package (`make deb`, about 1.5
# minutes here) with lintian.

bats_require_minimum_version 1.5.0

load helpers

VERSION=$(sed -n 's/^AC_INIT(\[vcrun\], \[\([^]]*\)\].*/\1/p' "$REPO/configure.ac")

# help_options WORD...: the option names of `vcrun WORD... --help`, one a line
# ("--bundle", "-b"), from its OPTIONS (or GLOBAL OPTIONS) table.
help_options() {
	"$REPO/bin/vcrun" "$@" --help | sed -n 's/^   \(-[^ ].*\)$/\1/p' | sed 's/  .*//' |
		tr ',' '\n' | sed -n 's/^ *\(-[-a-zA-Z0-9]*\).*/\1/p'
}

# help_commands: the commands of `vcrun --help` but help itself.
help_commands() {
	"$REPO/bin/vcrun" --help | sed -n '/^COMMANDS:/,/^[A-Z]/s/^   \([a-z][-a-z]*\)[, ].*/\1/p' |
		grep -vx help
}

# sub_commands CMD: "list validate apply" for a command whose usage is
# "vcrun cdi list|validate|apply ..."; nothing for others.
sub_commands() {
	"$REPO/bin/vcrun" "$1" --help | sed -n "s/^   vcrun $1 \([a-z]*|[a-z|]*\).*/\1/p" | tr '|' ' '
}

# page_options PAGE: the options the page's OPTIONS section names in bold.
page_options() {
	sed -n '/^# .*OPTIONS$/,/^# /p' "$1" | grep -oE '\*\*--?[a-zA-Z][-a-zA-Z0-9]*\*\*' | tr -d '*' | sort -u
}

@test "man: every command of vcrun --help has a page naming each of its options, and no other" {
	local cmd sub page o missing=() extra=() cmds
	cmds=$(help_commands)
	[ "$(wc -w <<<"$cmds")" -ge 20 ] || fail "only these commands in --help: $cmds"
	for cmd in $cmds; do
		page=$REPO/man/vcrun-$cmd.8.md
		[ -f "$page" ] || { missing+=("$cmd: no man/vcrun-$cmd.8.md"); continue; }
		local opts
		opts=$(help_options "$cmd")
		for sub in $(sub_commands "$cmd"); do
			grep -q "\*\*vcrun $cmd $sub\*\*\|^\*\*$sub\*\*" "$page" ||
				missing+=("$cmd $sub: not described in $page")
			opts+=$'\n'$(help_options "$cmd" "$sub")
		done
		for o in $(sort -u <<<"$opts"); do
			grep -qF -- "**$o**" "$page" || missing+=("$cmd: option $o not in $page")
		done
		# Every command takes --help and -h, which its table does not list.
		for o in $(page_options "$page"); do
			grep -qxF -- "$o" <<<"$opts"$'\n--help\n-h' ||
				extra+=("$cmd: $page names $o, which $cmd lacks")
		done
	done
	for o in $(help_options); do
		grep -qF -- "**$o**" "$REPO/man/vcrun.8.md" || missing+=("global option $o not in vcrun.8.md")
	done
	for cmd in $cmds; do
		grep -qF "**vcrun-$cmd**(8)" "$REPO/man/vcrun.8.md" || missing+=("vcrun.8.md does not list $cmd")
	done
	[ ${#missing[@]} -eq 0 ] && [ ${#extra[@]} -eq 0 ] ||
		fail "$(printf '%s\n' "${missing[@]}" "${extra[@]}")"
}

@test "man: vcrun-config(5) and the example config.json name every key lib/config.c reads; the example changes nothing" {
	local keys k missing=()
	keys=$(grep -oE '(take_string|take_uint|take_bool)\(doc, "[a-z_]+"|vc_json_get\(doc, "[a-z_]+"' \
		"$REPO/lib/config.c" | sed 's/.*"\([a-z_]*\)"/\1/' | sort -u)
	[ "$(wc -w <<<"$keys")" -ge 14 ] || fail "found only these keys in lib/config.c: $keys"
	for k in $keys; do
		grep -qF "**$k** (" "$REPO/man/vcrun-config.5.md" || missing+=("vcrun-config.5.md: $k")
		jq -e --arg k "#$k" 'has($k)' "$REPO/contrib/config.json" >/dev/null ||
			missing+=("contrib/config.json: #$k")
	done
	[ ${#missing[@]} -eq 0 ] || fail "missing: ${missing[*]}"

	# The example, and the example with every literal default uncommented, give the
	# VM that no config gives; a bad value is read and refused (the file is used).
	make_bundle "$T/b" true
	run -0 "$REPO/bin/vcrun" --root "$ROOT" plan --bundle "$T/b"
	local want
	want=$(jq -c .hypervisor.argv <<<"$output")
	VCRUN_CONFIG=$REPO/contrib/config.json run -0 "$REPO/bin/vcrun" --root "$ROOT" plan --bundle "$T/b"
	[ "$(jq -c .hypervisor.argv <<<"$output")" = "$want" ] || fail "the example changes the VM"
	jq 'with_entries(select(.key | startswith("#")) | select(.value | tostring | startswith("(") | not)
		| .key |= ltrimstr("#")) | del(.[""])' "$REPO/contrib/config.json" >"$T/defaults.json"
	[ "$(jq length "$T/defaults.json")" -ge 10 ] || fail "few literal defaults: $(cat "$T/defaults.json")"
	VCRUN_CONFIG=$T/defaults.json run -0 "$REPO/bin/vcrun" --root "$ROOT" plan --bundle "$T/b"
	[ "$(jq -c .hypervisor.argv <<<"$output")" = "$want" ] ||
		fail "the example's defaults are not vcrun's: $(diff <(jq . <<<"$want") <(jq .hypervisor.argv <<<"$output"))"
	echo '{"#memory_mib": 512, "memory_mib": 0}' >"$T/bad.json"
	VCRUN_CONFIG=$T/bad.json run -1 --separate-stderr "$REPO/bin/vcrun" --root "$ROOT" plan --bundle "$T/b"
	[[ $stderr == *"$T/bad.json: memory_mib: must be an integer"* ]] || fail "stderr: $stderr"
}

@test "man: every page renders with man --warnings and no warning" {
	make -C "$REPO" man >"$T/make.log" 2>&1 || fail "make man: $(cat "$T/make.log")"
	local page n=0 w
	for page in "$REPO"/man/*.[158].md; do
		local out=$REPO/build/man/$(basename "$page" .md)
		[ -s "$out" ] || fail "$out was not built"
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$out" 2>&1 >"$T/page.txt") ||
			fail "man -l $out failed: $w"
		[ -z "$w" ] || fail "$out: $w"
		grep -q '^NAME' "$T/page.txt" || fail "$out has no NAME section"
		n=$((n + 1))
	done
	[ "$n" -ge 24 ] || fail "only $n pages"
}

@test "make install DESTDIR prefix: the file list, a config.json kept, uninstall leaves nothing of ours" {
	local d=$T/inst p=/opt/vct
	make -C "$REPO" install DESTDIR="$d" prefix="$p" >"$T/install.log" 2>&1 ||
		fail "make install: $(tail -20 "$T/install.log")"
	{
		echo "$p/bin/vcrun"
		echo "$p/share/vcrun/vmlinuz"
		echo "$p/share/vcrun/initramfs.img"
		echo "$p/share/bash-completion/completions/vcrun"
		echo /etc/vcrun/config.json
		echo /etc/containers/containers.conf.d/vcrun.conf
		for m in "$REPO"/man/*.[158].md; do
			m=$(basename "$m" .md)
			echo "$p/share/man/man${m##*.}/$m"
		done
		# libvcrun, where the tree has it (mk/libvcrun.mk: install-lib).
		if [ -f "$REPO/include/vcrun.h" ]; then
			echo "$p/include/vcrun.h"
			echo "$p/lib/pkgconfig/vcrun.pc"
			for m in "$REPO"/build/so/libvcrun.so*; do
				echo "$p/lib/${m##*/}"
			done
		fi
	} | sort >"$T/want"
	(cd "$d" && find . ! -type d | sed 's/^\.//' | sort) >"$T/got"
	diff "$T/want" "$T/got" >"$T/diff" || fail "installed files differ: $(cat "$T/diff")"
	[ -x "$d$p/bin/vcrun" ]
	cmp "$REPO/share/vcrun/vmlinuz" "$d$p/share/vcrun/vmlinuz"
	cmp "$REPO/contrib/config.json" "$d/etc/vcrun/config.json"
	# podman's drop-in names the installed binary.
	run -0 python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["engine"]["runtimes"]["vcrun"])' \
		"$d/etc/containers/containers.conf.d/vcrun.conf"
	[ "$output" = "['$p/bin/vcrun']" ] || fail "engine.runtimes.vcrun: $output"
	# podman reads it so (pointed at the DESTDIR binary; CONTAINERS_CONF: that file
	# only; storage of its own, vfs: overlay would leave a mount).
	sed "s|\"$p/bin/vcrun\"|\"$d$p/bin/vcrun\"|" "$d/etc/containers/containers.conf.d/vcrun.conf" >"$T/podman.conf"
	CONTAINERS_CONF=$T/podman.conf run -0 --separate-stderr podman --root "$T/podman/root" \
		--runroot "$T/podman/run" --storage-driver vfs --runtime vcrun info --format '{{.Host.OCIRuntime.Path}}'
	[ "$output" = "$d$p/bin/vcrun" ] || fail "podman's runtime vcrun: $output"
	# man finds the pages in the installed tree.
	run -0 man -M "$d$p/share/man" -w vcrun-run
	[ "$output" = "$d$p/share/man/man8/vcrun-run.8" ]

	# An existing config.json is the admin's: neither install nor uninstall touches it.
	echo '{"memory_mib": 1024}' >"$d/etc/vcrun/config.json"
	make -C "$REPO" install DESTDIR="$d" prefix="$p" >"$T/install.log" 2>&1 || fail "second install"
	grep -q "keeping $d/etc/vcrun/config.json" "$T/install.log" || fail "no 'keeping' line"
	[ "$(cat "$d/etc/vcrun/config.json")" = '{"memory_mib": 1024}' ]
	make -C "$REPO" uninstall DESTDIR="$d" prefix="$p" >"$T/uninstall.log" 2>&1 ||
		fail "make uninstall: $(cat "$T/uninstall.log")"
	run -0 find "$d" ! -type d
	[ "$output" = "$d/etc/vcrun/config.json" ] || fail "left after uninstall: $output"
	# The example itself goes, and with it the directories that were only ours.
	cp "$REPO/contrib/config.json" "$d/etc/vcrun/config.json"
	make -C "$REPO" uninstall DESTDIR="$d" prefix="$p" >"$T/uninstall.log" 2>&1 || fail "uninstall"
	run -0 find "$d" ! -type d
	[ -z "$output" ] || fail "left after uninstall: $output"
	[ ! -e "$d$p/share/vcrun" ] && [ ! -e "$d/etc/vcrun" ] || fail "vcrun's directories left"
}

# complete WORD...: runs the completion function on the line WORD... (the last word
# is the one being completed); COMPREPLY sorted, one a line, in $output.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_vcrun
	output=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort)
}

@test "bash completion: commands, sub-commands, each command's options and their values" {
	# shellcheck source=/dev/null
	source "$REPO/contrib/bash-completion/vcrun"
	local v=$REPO/bin/vcrun
	complete_line "$v" ""
	[ "$output" = "$({ help_commands; echo help; } | sort)" ] || fail "commands: $output"
	complete_line "$v" --root "$T/r" li
	[ "$output" = list ] || fail "li: $output"
	complete_line "$v" --log-format json ch
	[ "$output" = "$(printf 'check\ncheckpoint')" ] || fail "ch: $output"
	complete_line "$v" run --
	[ "$output" = "$(help_options run | grep -- '^--' | sort)" ] || fail "run --: $output"
	complete_line "$v" --debug exec -
	[ "$output" = "$(help_options exec | sort)" ] || fail "exec -: $output"
	complete_line "$v" list -f ""
	[ "$output" = "$(printf 'json\ntable')" ] || fail "list -f: $output"
	complete_line "$v" --log-format ""
	[ "$output" = "$(printf 'json\ntext')" ] || fail "--log-format: $output"
	complete_line "$v" cdi ""
	[ "$output" = "$(printf 'apply\nlist\nvalidate')" ] || fail "cdi: $output"
	complete_line "$v" cdi apply --
	[ "$output" = "$(help_options cdi apply | sort)" ] || fail "cdi apply --: $output"
	complete_line "$v" sandbox ""
	[ "$output" = "$(printf 'list\nrm')" ] || fail "sandbox: $output"
	mkdir -p "$T/bundles/one" "$T/bundles/two"
	complete_line "$v" create --bundle "$T/bundles/t"
	[ "$output" = "$T/bundles/two" ] || fail "--bundle: $output"
	complete_line "$v" kill someid K
	[ "$output" = KILL ] || fail "kill signal: $output"
	# An unknown command completes nothing rather than failing.
	complete_line "$v" nosuchcommand ""
	[ -z "$output" ] || fail "nosuchcommand: $output"
}

@test "the installed vcrun runs a container from its DESTDIR (guest image through ../share/vcrun); completion offers its id" {
	local d=$T/inst p=/usr
	make -C "$REPO" install DESTDIR="$d" prefix="$p" >"$T/install.log" 2>&1 ||
		fail "make install: $(tail -20 "$T/install.log")"
	RUNTIME=$d$p/bin/vcrun
	# The installed binary boots the installed image, not the build tree's.
	make_bundle "$T/b" sh -c 'echo installed-ok; uname -r'
	run -0 --separate-stderr "$RUNTIME" --root "$ROOT" plan --bundle "$T/b"
	local kernel
	kernel=$(jq -r '.hypervisor.argv as $a | $a | index("-kernel") as $i | $a[$i + 1]' <<<"$output")
	[ "$(readlink -f "$kernel")" = "$d$p/share/vcrun/vmlinuz" ] || fail "kernel: $kernel"

	local id
	id=$(new_id installed)
	vcrun create --bundle "$T/b" --pid-file "$T/pid" "$id" </dev/null >"$T/c.out" 2>"$T/c.err" ||
		fail "create: $(cat "$T/c.err")"
	# shellcheck source=/dev/null
	source "$d$p/share/bash-completion/completions/vcrun"
	complete_line "$RUNTIME" --root "$ROOT" start ""
	[ "$output" = "$id" ] || fail "ids under --root: '$output'"
	complete_line "$RUNTIME" --root="$ROOT" state ins
	[ "$output" = "$id" ] || fail "ids under --root=: '$output'"
	complete_line "$RUNTIME" --root "$T/elsewhere" start ""
	[ -z "$output" ] || fail "ids under another root: '$output'"

	vcrun start "$id" || fail "start failed"
	wait_status "$id" stopped
	wait_output "$T/c.out" installed-ok
	grep -qx "$(kernel_version_of "$d$p/share/vcrun/vmlinuz")" "$T/c.out" ||
		fail "the guest did not run the installed kernel: $(cat "$T/c.out")"
	vcrun delete "$id"
}

@test "versions agree: configure.ac, debian/changelog, vcrun --version" {
	[ -n "$VERSION" ]
	run -0 dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version
	[ "$output" = "$VERSION" ] || fail "debian/changelog $output, configure.ac $VERSION"
	run -0 "$REPO/bin/vcrun" --version
	[ "${lines[0]}" = "vcrun version $VERSION" ] || fail "${lines[0]}"
}

@test "make deb: the package builds, has vcrun's files and no maintainer scripts, lintian is clean, its vcrun runs" {
	local start=$SECONDS deb
	make -C "$REPO" deb DEB_DIR="$T/deb" >"$T/deb.log" 2>&1 || fail "make deb: $(tail -30 "$T/deb.log")"
	echo "# make deb: $((SECONDS - start)) s" >&3
	deb=$T/deb/vcrun_${VERSION}_amd64.deb
	[ -s "$deb" ] || fail "no $deb: $(ls "$T/deb")"
	# The tree stays clean: the build ran in the copy.
	[ ! -e "$REPO/debian/vcrun" ] && [ ! -e "$REPO/debian/files" ] || fail "debian/ build files in the tree"

	dpkg-deb -c "$deb" | awk '{print $6}' >"$T/files"
	local f
	for f in ./usr/bin/vcrun ./usr/share/vcrun/vmlinuz ./usr/share/vcrun/initramfs.img \
		./usr/share/man/man8/vcrun.8.gz ./usr/share/man/man8/vcrun-run.8.gz \
		./usr/share/man/man5/vcrun-config.5.gz ./usr/share/man/man8/vcrun-agent.8.gz \
		./usr/share/bash-completion/completions/vcrun ./etc/vcrun/config.json \
		./etc/containers/containers.conf.d/vcrun.conf ./usr/share/doc/vcrun/copyright; do
		grep -qxF "$f" "$T/files" || fail "$f not in the package"
	done
	run -0 dpkg-deb -f "$deb" Depends
	[[ $output == *qemu-system-x86* ]] || fail "Depends: $output"
	dpkg-deb -e "$deb" "$T/control"
	for f in preinst postinst prerm postrm config triggers; do
		[ ! -e "$T/control/$f" ] || fail "the package has a $f"
	done
	grep -qx /etc/vcrun/config.json "$T/control/conffiles" || fail "config.json is not a conffile"

	# The library's packages, where the tree has it (else make deb builds with the
	# profile pkg.vcrun.nolib).
	if [ -f "$REPO/include/vcrun.h" ]; then
		dpkg-deb -c "$T/deb/libvcrun0_${VERSION}_amd64.deb" | grep -q '/libvcrun\.so\.0 ' ||
			fail "libvcrun0 has no libvcrun.so.0"
		dpkg-deb -c "$T/deb/libvcrun-dev_${VERSION}_amd64.deb" | awk '{print $6}' >"$T/dev-files"
		grep -qx ./usr/include/vcrun.h "$T/dev-files" && grep -q '/pkgconfig/vcrun\.pc$' "$T/dev-files" ||
			fail "libvcrun-dev: $(cat "$T/dev-files")"
		! grep -q 'libvcrun\|include' "$T/files" || fail "library files in the vcrun package"
	else
		[ ! -e "$T/deb/libvcrun0_${VERSION}_amd64.deb" ] || fail "a libvcrun0 package without a library"
	fi

	run lintian "$T/deb/vcrun_${VERSION}_amd64.changes"
	echo "$output" | grep -v 'running with root privileges' >"$T/lintian.txt" || true
	! grep -q '^[EW]: ' "$T/lintian.txt" || fail "lintian: $(cat "$T/lintian.txt")"

	# Unpacked in a throwaway root, its vcrun runs and finds its own guest image.
	dpkg -x "$deb" "$T/root-fs"
	run -0 "$T/root-fs/usr/bin/vcrun" --version
	[ "${lines[0]}" = "vcrun version $VERSION" ] || fail "${lines[0]}"
	[ "$(cat "$T/root-fs/etc/containers/containers.conf.d/vcrun.conf" | sed -n 's/^vcrun = //p')" = '["/usr/bin/vcrun"]' ]
	make_bundle "$T/b" true
	run -0 --separate-stderr "$T/root-fs/usr/bin/vcrun" --root "$ROOT" plan --bundle "$T/b"
	[[ $output == *"\"$T/root-fs/usr/bin/../share/vcrun/vmlinuz\""* ]] ||
		fail "the unpacked vcrun does not use its own image"
	cmp "$REPO/share/vcrun/vmlinuz" "$T/root-fs/usr/share/vcrun/vmlinuz" || fail "the kernel changed in packaging"
}
