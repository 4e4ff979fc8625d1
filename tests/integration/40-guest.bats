#!/usr/bin/env bats
# The container runs on the guest kernel from share/vcrun/vmlinuz (or the lean one
# beside it, when `make guest-kernel` built it: `vcrun check` says which), not the
# host's, and the runtime says so, once, when it has to fall back to TCG. Two VM boots.

load helpers

@test "guest: uname -r is the guest kernel's (Debian's or the lean one); the TCG warning shows once, when the probe decides" {
	[ -f "$VCRUN_SHARE/vmlinuz" ] || fail "no guest kernel at $VCRUN_SHARE/vmlinuz (make guest)"
	# "guest kernel: KIND, PATH with INITRD (why)"
	kline=$(vcrun check 2>/dev/null | sed -n 's/^guest kernel: //p')
	kind=${kline%%,*} kfile=${kline#*, } kfile=${kfile%% with *}
	[ "$kind" = debian ] || [ "$kind" = lean ] || fail "check's guest kernel: '$kline'"
	want=$(kernel_version_of "$kfile") || fail "cannot read the version from $kfile"
	make_bundle "$T/b" sh -c 'uname -r; read go'
	id=$(new_id guest)

	# A private probe cache, empty: this first run is the one that decides. It waits
	# on stdin so QEMU's argv can be read.
	export VCRUN_ACCEL_CACHE=$T/accel.cache
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
	echo "# host $host, guest $guest, $kind kernel $want, accel $accel" >&3
	[ "$guest" != "$host" ] || fail "the container reports the host's kernel $host"
	if [ "$kind" = debian ]; then
		[[ $guest =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]] || fail "'$guest' is not a Debian amd64 kernel"
	else
		[[ $guest =~ ^[0-9]+\.[0-9]+\.[0-9]+-vcrun-lean$ ]] || fail "'$guest' is not the lean kernel"
	fi
	[ "$guest" = "$want" ] || fail "guest runs $guest, $kfile is $want"

	# A host whose /dev/kvm cannot run guests (this build machine) gets TCG and one
	# warning line about it from the call that probed; a host with working KVM gets
	# neither.
	[ -e /dev/kvm ] || [ "$accel" = tcg ] || fail "no /dev/kvm, yet qemu runs with accel $accel"
	[ -s "$VCRUN_ACCEL_CACHE" ] || fail "the probe wrote no cache at $VCRUN_ACCEL_CACHE"
	grep -qx "accel=$accel" "$VCRUN_ACCEL_CACHE" ||
		fail "the cache does not say $accel: $(cat "$VCRUN_ACCEL_CACHE")"
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

	# Decided and cached: a later create says nothing on stderr, TCG or not...
	id2=$(new_id later)
	vc_capture create --bundle "$T/b" "$id2"
	[ "$status" -eq 0 ] || fail "second create: $stderr"
	[ ! -s "$T/err" ] || fail "a create after the decision wrote to stderr: $(cat "$T/err")"
	vcrun delete --force "$id2"
	# ...the debug log still has it (plan resolves the accelerator as create does)...
	vcrun --debug --log "$T/plan.log" plan --bundle "$T/b" >/dev/null
	n_log=$(grep -i tcg "$T/plan.log" | grep -c 'level=debug' || true)
	case $accel in
	tcg) [ "$n_log" -eq 1 ] || fail "TCG at debug level in the log $n_log times: $(cat "$T/plan.log")" ;;
	kvm) [ "$n_log" -eq 0 ] || fail "KVM in use, yet the log mentions TCG: $(cat "$T/plan.log")" ;;
	esac
	# ...and `vcrun check` always says which accelerator and why.
	vc_capture check
	[ "$status" -eq 0 ] || fail "check: $stderr"
	grep -qx "accelerator: $accel.*" "$T/out" || fail "check does not say $accel: $output"
	if [ "$accel" = tcg ]; then
		grep -q '^kvm: not usable: ..*' "$T/out" || fail "check gives no reason for TCG: $output"
	fi
}
