#!/usr/bin/env bats
# The container runs on the guest kernel from share/vcrun/vmlinuz, not the host's, and
# the runtime says so when it has to fall back to TCG. One VM boot.

load helpers

@test "guest: uname -r is the Debian guest kernel's; a TCG warning shows once when QEMU uses TCG" {
	[ -f "$VCRUN_SHARE/vmlinuz" ] || fail "no guest kernel at $VCRUN_SHARE/vmlinuz (make guest)"
	want=$(kernel_version_of "$VCRUN_SHARE/vmlinuz") ||
		fail "cannot read the version from $VCRUN_SHARE/vmlinuz"
	make_bundle "$T/b" sh -c 'uname -r; read go'
	id=$(new_id guest)

	# The first run in this fresh --root; it waits on stdin so QEMU's argv can be read.
	bg_run g "$id" "$T/b"
	bg_expect g '^[0-9]'
	mapfile -t qemus < <(qemu_pids)
	[ ${#qemus[@]} -eq 1 ] || fail "expected 1 qemu process, found ${#qemus[@]}: ${qemus[*]}"
	accel=$(qemu_accel "${qemus[0]}")
	bg_send g go
	bg_wait "$BG_PID"
	[ "$BG_STATUS" -eq 0 ] || fail "run exited $BG_STATUS: $(cat "$T/g.err")"

	guest=$(head -n1 "$T/g.out")
	host=$(uname -r)
	echo "# host $host, guest $guest, vmlinuz $want, accel $accel" >&3
	[ "$guest" != "$host" ] || fail "the container reports the host's kernel $host"
	[[ $guest =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]] || fail "'$guest' is not a Debian amd64 kernel"
	[ "$guest" = "$want" ] || fail "guest runs $guest, share/vcrun/vmlinuz is $want"

	# A host whose /dev/kvm cannot run guests (this build machine) gets TCG and one
	# warning line about it; a host with working KVM gets neither.
	[ -e /dev/kvm ] || [ "$accel" = tcg ] || fail "no /dev/kvm, yet qemu runs with accel $accel"
	n_tcg=$(grep -ci tcg "$T/g.err" || true)
	case $accel in
	tcg)
		[ "$n_tcg" -eq 1 ] || fail "$n_tcg lines mention TCG on stderr, not 1: $(cat "$T/g.err")"
		grep -i tcg "$T/g.err" | grep -qi warn ||
			fail "the TCG line is not a warning: $(grep -i tcg "$T/g.err")"
		;;
	kvm)
		[ "$n_tcg" -eq 0 ] || fail "KVM in use, yet stderr mentions TCG: $(cat "$T/g.err")"
		;;
	*) fail "qemu's accelerator is '$accel' ($(cmdline_of "${qemus[0]}"))" ;;
	esac
}
