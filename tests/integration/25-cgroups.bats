#!/usr/bin/env bats
# Host cgroups, as runc makes them, with the VM inside: the --pid-file pid, the
# monitor, QEMU (and virtiofsd) in linux.cgroupsPath; the limits readable there
# (memory and pids with the VM's room, cgroup/README.md); update; exec and
# exec --cgroup; delete removes the directory. The real /sys/fs/cgroup. Runs against
# runc too (VCRUN=/usr/sbin/runc), except the systemd test: runc needs systemd.

load helpers

MiB=1048576

# cg_file PATH CONTROLLER FILE: a control file of cgroupsPath PATH.
cg_file() {
	local d mnt
	for d in $(cgroup_dirs "$1"); do
		mnt=${d#/sys/fs/cgroup/}
		mnt=,${mnt%%/*},
		if [ -e "$d/$3" ] && [[ $mnt == *,$2,* || $d == "/sys/fs/cgroup$1" ]]; then
			cat "$d/$3"
			return 0
		fi
	done
	echo "no $2 file $3 for $1" >&2
	return 1
}

# in_cgroup PID CONTROLLER PATH: /proc/PID/cgroup puts PID at PATH in that hierarchy.
in_cgroup() {
	local line
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup") || return 1
	[ "${line#*:*:}" = "$3" ] || {
		echo "# pid $1 ($(cmdline_of "$1")) is in ${line#*:*:}, not $3" >&2
		return 1
	}
}

# The host memory limit vcrun writes for a container limit L (bytes): the whole
# VM (its RAM and QEMU's own), never below L plus the VM's fixed part.
vm_memory_limit() {
	local L=$1 id=$2 ram overhead by_limit tb
	ram=$(($(jq .memory_mib "$ROOT/$id/plan.json") * MiB))
	overhead=$((256 * MiB))
	# Under TCG, QEMU's translation cache: tcg_tb_size_mib, or QEMU's 1 GiB (0).
	tb=$(jq -r '.tcg_tb_size_mib // 0' "$ROOT/$id/plan.json")
	[ "$tb" -gt 0 ] || tb=1024
	[ "$(jq -r .accel "$ROOT/$id/plan.json")" != tcg ] || overhead=$((overhead + tb * MiB))
	by_limit=$((L + 128 * MiB + overhead))
	echo $((ram + overhead > by_limit ? ram + overhead : by_limit))
}

vm_pids_limit() {
	echo $(($1 + 128 + $(jq .vcpus "$ROOT/$2/plan.json")))
}

@test "cgroups: the container's processes, QEMU included, in cgroupsPath with its limits; update; exec; delete removes it" {
	cg=$(new_cgroup "/vcrun-test-${T##*/}/c1")
	make_bundle "$T/b" sleep 600
	spec_edit "$T/b" '.linux.cgroupsPath = $cg | .linux.resources += {
		memory: {limit: 104857600, reservation: 52428800},
		cpu: {shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0"},
		pids: {limit: 77}}' --arg cg "$cg"
	id=$(new_id cg1)
	vc_capture create --bundle "$T/b" --pid-file "$T/pid" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	pid=$(cat "$T/pid")
	# every hierarchy, as runc: cgroup v1 controllers, name=systemd, cgroup2 (hybrid)
	[ "$(grep -vc ":$cg\$" "/proc/$pid/cgroup")" = 0 ] ||
		fail "pid-file pid's cgroups: $(cat "/proc/$pid/cgroup")"

	[ "$(cg_file "$cg" cpu cpu.shares)" = 512 ] || fail "cpu.shares: $(cg_file "$cg" cpu cpu.shares)"
	[ "$(cg_file "$cg" cpu cpu.cfs_quota_us)" = 50000 ] || fail "cfs quota"
	[ "$(cg_file "$cg" cpu cpu.cfs_period_us)" = 100000 ] || fail "cfs period"
	[ "$(cg_file "$cg" cpuset cpuset.cpus)" = 0 ] || fail "cpuset.cpus: $(cg_file "$cg" cpuset cpuset.cpus)"
	mem=$(cg_file "$cg" memory memory.limit_in_bytes)
	pids=$(cg_file "$cg" pids pids.max)
	if is_vm_runtime; then
		[ "$mem" = "$(vm_memory_limit 104857600 "$id")" ] || fail "memory limit $mem"
		[ "$pids" = "$(vm_pids_limit 77 "$id")" ] || fail "pids.max $pids"
		# nothing of the VM outside: stand-in, monitor, QEMU, virtiofsd
		procs=$(procs_under "$T")
		[ "$(wc -w <<<"$procs")" -ge 3 ] || fail "processes: $procs"
		[ -n "$(qemu_pids)" ] || fail "no QEMU"
		for p in $procs; do
			in_cgroup "$p" pids "$cg" && in_cgroup "$p" memory "$cg" && in_cgroup "$p" cpu "$cg" ||
				fail "process $p outside the container's cgroup"
		done
	else
		[ "$mem" = 104857600 ] || fail "memory limit $mem"
		[ "$pids" = 77 ] || fail "pids.max $pids"
	fi

	vcrun start "$id"
	# exec: its pid-file pid joins the container's cgroup; --cgroup a sub-cgroup of it
	vc_capture exec --detach --pid-file "$T/epid" "$id" sleep 600
	[ "$status" -eq 0 ] || fail "exec: $stderr"
	in_cgroup "$(cat "$T/epid")" pids "$cg" || fail "exec's pid outside the cgroup"
	mkdir "$(cgroup_dirs "$cg" | grep /pids/)/sub"
	vc_capture exec --detach --cgroup pids:sub --pid-file "$T/spid" "$id" sleep 600
	[ "$status" -eq 0 ] || fail "exec --cgroup pids:sub: $stderr"
	in_cgroup "$(cat "$T/spid")" pids "$cg/sub" && in_cgroup "$(cat "$T/spid")" memory "$cg" ||
		fail "exec --cgroup pids:sub: $(cat "/proc/$(cat "$T/spid")/cgroup")"
	vc_capture exec --cgroup sub "$id" true
	[ "$status" -ne 0 ] && [[ $stderr == */sub* ]] || fail "a missing sub-cgroup: $status $stderr"
	vc_capture exec --cgroup pids:../x "$id" true
	[ "$status" -ne 0 ] && [[ $stderr == *"../x is not a sub cgroup path"* ]] ||
		fail "a path out of the cgroup: $status $stderr"

	vcrun update --memory 209715200 --cpu-quota 20000 --pids-limit 50 "$id"
	[ "$(cg_file "$cg" cpu cpu.cfs_quota_us)" = 20000 ] || fail "cfs quota after update"
	mem=$(cg_file "$cg" memory memory.limit_in_bytes)
	pids=$(cg_file "$cg" pids pids.max)
	if is_vm_runtime; then
		[ "$mem" = "$(vm_memory_limit 209715200 "$id")" ] || fail "memory after update $mem"
		[ "$pids" = "$(vm_pids_limit 50 "$id")" ] || fail "pids.max after update $pids"
		vc_capture exec "$id" cat "/sys/fs/cgroup/vcrun/$id/memory.max"
		[ "$output" = 209715200 ] || fail "the guest's limit: $output"
	else
		[ "$mem" = 209715200 ] && [ "$pids" = 50 ] || fail "after update: $mem $pids"
	fi

	vcrun delete --force "$id"
	[ -z "$(cgroup_dirs "$cg")" ] || fail "left after delete: $(cgroup_dirs "$cg")"
}

@test "cgroups: without cgroupsPath the id below the caller's own cgroup; a relative path the same way" {
	make_bundle "$T/b" sleep 600
	id=$(new_id "cg-${T##*/}")
	rel=$(new_cgroup "vcrun-rel-${T##*/}/x")
	vc_capture create --bundle "$T/b" --pid-file "$T/pid" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	mine=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
	in_cgroup "$(cat "$T/pid")" memory "${mine%/}/$id" || fail "default path"
	[ "$(cgroup_dirs "$id" | wc -l)" = "$(wc -l </proc/self/cgroup)" ] ||
		fail "hierarchies: $(cgroup_dirs "$id")"

	cp -r "$T/b" "$T/b2"
	spec_edit "$T/b2" '.linux.cgroupsPath = "../../" + $rel' --arg rel "$rel"
	id2=$(new_id "cg2-${T##*/}")
	vc_capture create --bundle "$T/b2" --pid-file "$T/pid2" "$id2"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	in_cgroup "$(cat "$T/pid2")" memory "${mine%/}/$rel" || fail "relative path"
	pids_own=$(sed -n 's/^[0-9]*:pids://p' /proc/self/cgroup)
	in_cgroup "$(cat "$T/pid2")" pids "${pids_own%/}/$rel" || fail "relative path (pids)"

	vcrun delete --force "$id"
	vcrun delete --force "$id2"
	[ -z "$(cgroup_dirs "$id")$(cgroup_dirs "$rel")" ] || fail "left: $(cgroup_dirs "$id") $(cgroup_dirs "$rel")"
}

@test "cgroups: --systemd-cgroup slice:prefix:name is <slice path>/<prefix>-<name>.scope, made directly without systemd" {
	is_vm_runtime || fail "runc needs a running systemd for --systemd-cgroup"
	make_bundle "$T/b" sleep 600
	slice="vcrunt${T##*/vct.}"
	slice=${slice//[^a-zA-Z0-9]/}
	id=$(new_id sd1)
	spec_edit "$T/b" '.linux.cgroupsPath = $s + "-a.slice:vct:" + $id' --arg s "$slice" --arg id "$id"
	path=$(new_cgroup "/$slice.slice/$slice-a.slice/vct-$id.scope")
	vc_capture --systemd-cgroup --debug create --bundle "$T/b" --pid-file "$T/pid" "$id"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	[[ $stderr == *"made directly through cgroupfs"* ]] || fail "debug log: $stderr"
	in_cgroup "$(cat "$T/pid")" pids "$path" && in_cgroup "$(cat "$T/pid")" name=systemd "$path" ||
		fail "systemd path: $(cat "/proc/$(cat "$T/pid")/cgroup")"
	vcrun delete --force "$id"
	[ -z "$(cgroup_dirs "$path")" ] || fail "left after delete"
}

@test "cgroups: a bad cgroupsPath or an impossible cpuset fails create naming the field, leaving nothing" {
	make_bundle "$T/b" sleep 600
	id=$(new_id bad1)
	spec_edit "$T/b" '.linux.cgroupsPath = "/not/a/systemd/path"'
	vc_capture --systemd-cgroup create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create with a bad systemd path succeeded"
	# runc stops earlier here: systemd does not run on this host
	if is_vm_runtime; then
		[[ $stderr == *'linux.cgroupsPath: expected cgroupsPath to be of format'*slice:prefix:name* ]] ||
			fail "systemd path: $stderr"
		[ "$(grep -c . <<<"$stderr")" = 1 ] || fail "one line: $stderr"
	fi

	cg=$(new_cgroup "/vcrun-test-${T##*/}/bad")
	spec_edit "$T/b" '.linux.cgroupsPath = $cg | .linux.resources.cpu.cpus = "4096"' --arg cg "$cg"
	vc_capture create --bundle "$T/b" "$id"
	[ "$status" -ne 0 ] || fail "create with cpus 4096 succeeded"
	is_vm_runtime || return 0
	[[ $stderr == *linux.resources.cpu.cpus*cpuset.cpus* ]] || fail "message: $stderr"
	[ -z "$(cgroup_dirs "$cg")" ] || fail "left after a failed create: $(cgroup_dirs "$cg")"
}
