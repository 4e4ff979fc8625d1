#!/usr/bin/env bats
# libvcrun as an embedder sees it: the shared library exports vcrun_* only, its ABI
# is the one recorded in lib/libvcrun.abi (and a changed signature is caught), and
# examples/vcrun-hello.c, built against an installed tree with pkg-config, runs a
# container in a VM from its own program.

load helpers

LIB=$REPO/build/so/libvcrun.so.0

@test "libvcrun: exports vcrun_* only; its ABI is lib/libvcrun.abi's" {
	[ -e "$LIB" ] || fail "$LIB is not built (make)"
	# versioned names (vcrun_x@@VCRUN_0) without their version
	run bash -c "nm -D --defined-only '$LIB' | sed 's/@.*//'"
	[ "$status" -eq 0 ] || fail "nm: $output"
	others=$(awk '$2 != "A" && $3 !~ /^vcrun_/ {print $3}' <<<"$output")
	[ -z "$others" ] || fail "exported besides vcrun_*: $others"
	# every function of the header is there
	for f in $(grep -o '\bvcrun_[a-z_]*(' "$REPO/include/vcrun.h" | tr -d '(' | sort -u); do
		grep -q " T $f\$" <<<"$output" || fail "$f is declared but not exported"
	done
	[ "$(readelf -d "$LIB" | grep -o 'Library soname: \[[^]]*\]')" = "Library soname: [libvcrun.so.0]" ] ||
		fail "soname: $(readelf -d "$LIB" | grep soname)"
	run abidiff --headers-dir1 "$REPO/include" --headers-dir2 "$REPO/include" \
		--exported-interfaces-only "$REPO/lib/libvcrun.abi" "$LIB"
	[ "$status" -eq 0 ] || fail "the ABI changed under the same soname (make abi-baseline after a soname bump): $output"
}

@test "libvcrun: a changed signature fails the ABI check" {
	# vcrun_container_kill's signal as a long: the library built again with only that
	mkdir -p "$T/include"
	local from='int vcrun_container_kill(vcrun_container \*c, int sig)'
	local to='int vcrun_container_kill(vcrun_container *c, long sig)'
	sed "s/$from/$to/" "$REPO/include/vcrun.h" >"$T/include/vcrun.h"
	sed "s/$from/$to/" "$REPO/lib/libvcrun.c" >"$T/libvcrun.c"
	grep -q 'long sig' "$T/libvcrun.c" && grep -q 'long sig' "$T/include/vcrun.h" ||
		fail "the test's edit no longer applies: update it with the API"
	(cd "$REPO" && gcc -std=gnu11 -D_GNU_SOURCE -Ulinux -O2 -g -fPIC -I"$T" -I. -include config.h \
		-c "$T/libvcrun.c" -o "$T/libvcrun.o") || fail "compile"
	mapfile -t objs < <(find "$REPO/build/pic" -name '*.o' ! -path '*/lib/libvcrun.o')
	# shellcheck disable=SC2046
	gcc -shared -Wl,-soname,libvcrun.so.0 -Wl,--version-script="$REPO/lib/libvcrun.map" \
		-o "$T/libvcrun.so.0" "$T/libvcrun.o" "${objs[@]}" \
		$(pkg-config --libs yajl libcap libnl-3.0 libnl-route-3.0 libseccomp yaml-0.1) || fail "link"
	run abidiff --headers-dir1 "$REPO/include" --headers-dir2 "$T/include" \
		--exported-interfaces-only "$REPO/lib/libvcrun.abi" "$T/libvcrun.so.0"
	[ "$status" -ne 0 ] || fail "abidiff found no change: $output"
	[[ $output == *vcrun_container_kill* && $output == *"long int"* ]] || fail "$output"
}

@test "libvcrun: the example builds against an installed tree with pkg-config and runs a container in a VM" {
	local D=$T/dest
	make -s -C "$REPO" install DESTDIR="$D" prefix=/usr >"$T/install.log" 2>&1 ||
		fail "make install: $(tail -20 "$T/install.log")"
	for f in usr/lib/libvcrun.so.0 usr/lib/libvcrun.so usr/lib/pkgconfig/vcrun.pc usr/include/vcrun.h \
		usr/bin/vcrun; do
		[ -e "$D/$f" ] || fail "$f is not installed"
	done
	local pc=(env PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_LIBDIR="$D/usr/lib/pkgconfig" pkg-config)
	run "${pc[@]}" --cflags --libs vcrun
	[ "$status" -eq 0 ] && [[ $output == *"-I$D/usr/include"* && $output == *-lvcrun* ]] ||
		fail "pkg-config: $output"
	# shellcheck disable=SC2046
	cc -Wall -Wextra -Werror "$REPO/examples/vcrun-hello.c" $("${pc[@]}" --cflags --libs vcrun) \
		-o "$T/hello" || fail "the example does not build against the installed header"
	make_bundle "$T/b" sleep 600
	# the library finds the installed vcrun beside it (../bin), and the guest image
	# beside that (../share/vcrun)
	run env -u VCRUN_PROGRAM LD_LIBRARY_PATH="$D/usr/lib" "$T/hello" "$T/b" "$(new_id hello)" "$ROOT"
	new_id hello-2 >/dev/null
	[ "$status" -eq 0 ] || fail "vcrun-hello: $output"
	[[ $output == *"container hello runs in sandbox hello, host pid "[1-9]* ]] || fail "$output"
	guest=$(sed -n 's/^guest kernel: //p' <<<"$output")
	[ -n "$guest" ] && [ "$guest" != "$(uname -r)" ] || fail "the guest kernel is the host's: $output"
	[[ $output == *"uname exited 0"* && $output == *"container exited 137"* ]] || fail "$output"
	[[ $output == *"sandbox hello: hello hello-2"* ]] || fail "the second container is not in the sandbox: $output"
	[ -z "$(ls "$ROOT")" ] || fail "left in the root: $(ls "$ROOT")"
	# a usage error and a bundle that is not there
	run env LD_LIBRARY_PATH="$D/usr/lib" "$T/hello" "$T/nosuch" x "$ROOT"
	[ "$status" -eq 1 ] && [[ $output == *"create: "*"$T/nosuch"* ]] || fail "$output"
}
