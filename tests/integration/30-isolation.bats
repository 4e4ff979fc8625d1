#!/usr/bin/env bats
# Two containers at once, each in its own VM, sharing one rootfs: neither sees the
# other's /tmp, processes or hostname.

load helpers

@test "isolation: two containers in two VMs see neither each other's files, processes nor hostname" {
	make_bundle "$T/left" --hostname host-left sh /iso.sh left 1001
	# Both run the same rootfs; /tmp is a tmpfs, so a file there stays in its own VM.
	cat >"$T/left/rootfs/iso.sh" <<-'EOF'
		echo "hostname: $(hostname)"
		echo "$1" >"/tmp/only-$1"
		sleep "$2" &
		echo ready
		read go
		for f in /tmp/*; do echo "tmp: $f"; done
		ps
	EOF
	spec_edit "$T/left" '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs",
		options: ["nosuid", "nodev", "mode=1777"]}]'
	mkdir "$T/right"
	jq --arg rootfs "$T/left/rootfs" '.hostname = "host-right" | .root.path = $rootfs
		| .process.args = ["sh", "/iso.sh", "right", "1002"]' \
		"$T/left/config.json" >"$T/right/config.json"

	left=$(new_id iso-left)
	right=$(new_id iso-right)
	bg_run L "$left" "$T/left"
	left_pid=$BG_PID
	bg_run R "$right" "$T/right"
	right_pid=$BG_PID
	bg_expect L ready
	bg_expect R ready

	if is_vm_runtime; then
		mapfile -t qemus < <(qemu_pids)
		[ ${#qemus[@]} -eq 2 ] || fail "expected 2 qemu processes, found ${#qemus[@]}: ${qemus[*]}"
		for id in "$left" "$right"; do
			n=0
			for q in "${qemus[@]}"; do
				if qemu_serves "$q" "$ROOT/$id"; then
					n=$((n + 1))
				fi
			done
			[ "$n" -eq 1 ] || fail "$n qemu processes run in $id's state dir, not 1"
		done
	fi

	bg_send L go
	bg_send R go
	bg_wait "$left_pid"
	[ "$BG_STATUS" -eq 0 ] || fail "left exited $BG_STATUS: $(cat "$T/L.err")"
	bg_wait "$right_pid"
	[ "$BG_STATUS" -eq 0 ] || fail "right exited $BG_STATUS: $(cat "$T/R.err")"

	grep -qx 'hostname: host-left' "$T/L.out" || fail "left: $(cat "$T/L.out")"
	grep -qx 'hostname: host-right' "$T/R.out" || fail "right: $(cat "$T/R.out")"
	grep -qx 'tmp: /tmp/only-left' "$T/L.out"
	! grep -q 'only-right' "$T/L.out" || fail "left sees right's /tmp: $(cat "$T/L.out")"
	grep -qx 'tmp: /tmp/only-right' "$T/R.out"
	! grep -q 'only-left' "$T/R.out" || fail "right sees left's /tmp: $(cat "$T/R.out")"
	grep -q 'sleep 1001' "$T/L.out" || fail "left's ps lacks its own sleep: $(cat "$T/L.out")"
	! grep -q 'sleep 1002' "$T/L.out" || fail "left's ps lists right's process"
	grep -q 'sleep 1002' "$T/R.out" || fail "right's ps lacks its own sleep: $(cat "$T/R.out")"
	! grep -q 'sleep 1001' "$T/R.out" || fail "right's ps lists left's process"
}
