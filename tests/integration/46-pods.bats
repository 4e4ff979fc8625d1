#!/usr/bin/env bats
# Sandboxes through vcrun's own CLI (lib/sandbox.c): which sandbox a container joins
# (CRI annotations, CRI-O without an infra container, a namespace held by another
# container's stand-in), what each container keeps of its own, the pod's end with
# its sandbox container, and errors that leave nothing behind. The engines' pods
# are in 74-engine-pods.bats.

load helpers

CRI_TYPE=io.kubernetes.cri.container-type
CRI_SB=io.kubernetes.cri.sandbox-id
CRIO_TYPE=io.kubernetes.cri-o.ContainerType
CRIO_SB=io.kubernetes.cri-o.SandboxID

# annotate BUNDLE KEY=VALUE...: sets the spec's annotations.
annotate() {
	local b=$1 kv a='{}'
	shift
	for kv in "$@"; do
		a=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$a")
	done
	spec_edit "$b" '.annotations = $a' --argjson a "$a"
}

# sandbox_of ID: the io.vcrun.sandbox annotation of its state.
sandbox_of() {
	vcrun state "$1" | jq -r '.annotations["io.vcrun.sandbox"]'
}

# vm_count: QEMUs of this test; no_vms: none (a predicate for wait_for).
vm_count() {
	qemu_pids | wc -l
}

no_vms() {
	[ "$(vm_count)" -eq 0 ]
}

@test "pods: containerd's annotations; members keep their own state, pid and list entry; one VM; localhost; members first, then the sandbox" {
	make_bundle "$T/p" httpd -f -p 8080 -h /etc
	annotate "$T/p" "$CRI_TYPE=sandbox" "$CRI_SB=$(new_id pod)"
	vcrun create --bundle "$T/p" pod </dev/null >/dev/null 2>"$T/err" || fail "pod: $(cat "$T/err")"
	vcrun start pod
	make_bundle "$T/a" sh -c 'wget -q -O- http://127.0.0.1:8080/passwd; grep " /data " /proc/self/mountinfo'
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=pod"
	mkdir "$T/data"
	spec_edit "$T/a" '.mounts += [{"destination": "/data", "type": "bind", "source": $s,
		"options": ["rbind", "ro"]}]' --arg s "$T/data"
	vcrun create --bundle "$T/a" "$(new_id app)" </dev/null >"$T/app.out" 2>"$T/err" ||
		fail "app: $(cat "$T/err")"
	[ "$(vm_count)" -eq 1 ] || fail "$(vm_count) VMs for one pod"
	[ "$(state_status app)" = created ] && [ "$(state_status pod)" = running ]
	[ "$(sandbox_of app)" = pod ] && [ "$(sandbox_of pod)" = pod ] || fail "sandbox annotations"
	pod_pid=$(vcrun state pod | jq .pid) app_pid=$(vcrun state app | jq .pid)
	[ "$pod_pid" != "$app_pid" ] && [ "$app_pid" -gt 0 ] || fail "pids: $pod_pid $app_pid"
	[ "$(vcrun list -q | sort | tr '\n' ' ')" = "app pod " ] || fail "list: $(vcrun list -q)"
	vcrun start app
	wait_status app stopped
	file_has "$T/app.out" 'root:x:0:0:' || fail "app did not reach the pod's httpd: $(cat "$T/app.out")"
	# Its mounts come through the pod's one share; mountinfo names the host directory.
	grep -q "^[0-9]* [0-9]* [0-9:]* /app/m1-data /data ro,.* - 9p sandbox " "$T/app.out" ||
		fail "mountinfo of /data: $(grep /data "$T/app.out")"
	vcrun delete app
	[ ! -e "$ROOT/app" ] || fail "app's state dir left"
	[ "$(vm_count)" -eq 1 ] && [ "$(state_status pod)" = running ] || fail "the pod went with its member"
	vcrun exec pod true || fail "exec in the pod after its member left"
	vcrun kill pod KILL
	wait_status pod stopped
	vcrun delete pod
	wait_for 10 no_vms || fail "the VM outlived the pod"
}

@test "pods: CRI-O without an infra container: the first member starts the sandbox, it outlives that member, the last one out removes it" {
	make_bundle "$T/b" sleep 600
	annotate "$T/b" "$CRIO_TYPE=container" "$CRIO_SB=sbx"
	vcrun create --bundle "$T/b" "$(new_id m1)" </dev/null >/dev/null 2>"$T/err" || fail "m1: $(cat "$T/err")"
	vcrun create --bundle "$T/b" "$(new_id m2)" </dev/null >/dev/null 2>"$T/err" || fail "m2: $(cat "$T/err")"
	[ "$(vm_count)" -eq 1 ] || fail "$(vm_count) VMs"
	[ "$(sandbox_of m2)" = m1 ] || fail "m2 is in sandbox '$(sandbox_of m2)'"
	vcrun start m1
	vcrun start m2
	vcrun kill m1 KILL
	wait_status m1 stopped
	vcrun delete m1
	# m1 is gone for every caller; its VM still runs m2.
	run vcrun state m1
	[ "$status" -ne 0 ] && [[ $output == *"does not exist"* ]] || fail "state m1: $output"
	[ "$(vcrun list -q)" = m2 ] || fail "list: $(vcrun list -q)"
	[ "$(state_status m2)" = running ] && [ "$(vm_count)" -eq 1 ] || fail "m2 lost its VM"
	run vcrun exec m2 echo still-here
	[ "$status" -eq 0 ] && [ "$output" = still-here ] || fail "exec m2: $output"
	vcrun delete --force m2
	wait_for 10 no_vms || fail "the VM outlived its last container"
	[ ! -e "$ROOT/m1" ] && [ ! -e "$ROOT/m2" ] || fail "state dirs left: $(ls "$ROOT")"
}

@test "pods: a namespace held by another container's stand-in joins its sandbox; the guest shares that namespace" {
	make_bundle "$T/x" sleep 600
	vcrun create --bundle "$T/x" "$(new_id x)" </dev/null >/dev/null 2>"$T/err" || fail "x: $(cat "$T/err")"
	vcrun start x
	xpid=$(vcrun state x | jq .pid)
	# The stand-in holds the spec's namespaces, as runc's process would.
	for ns in ipc uts mnt; do
		[ "$(readlink "/proc/$xpid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] ||
			fail "the stand-in is in the host's $ns namespace"
	done
	make_bundle "$T/y" sh -c 'ls -l /proc/self/ns/ipc /proc/self/ns/uts; sleep 600'
	spec_edit "$T/y" '.linux.namespaces |= map(if .type == "ipc" or .type == "uts" then
		.path = "/proc/\($p)/ns/\(.type)" else . end)' --arg p "$xpid"
	vcrun create --bundle "$T/y" "$(new_id y)" </dev/null >"$T/y.out" 2>"$T/err" || fail "y: $(cat "$T/err")"
	[ "$(sandbox_of y)" = x ] || fail "y is in sandbox '$(sandbox_of y)'"
	ypid=$(vcrun state y | jq .pid)
	for ns in ipc uts; do
		[ "$(readlink "/proc/$ypid/ns/$ns")" = "$(readlink "/proc/$xpid/ns/$ns")" ] ||
			fail "y's stand-in did not join x's $ns namespace"
	done
	vcrun start y
	x_ipc=$(vcrun exec x readlink /proc/1/ns/ipc)
	[[ $x_ipc == ipc:* ]] || fail "x's ipc namespace: '$x_ipc'"
	wait_for 30 grep -qF -- "-> $x_ipc" "$T/y.out" ||
		fail "y's ipc namespace is not x's ($x_ipc): $(cat "$T/y.out")"
	[ "$(vm_count)" -eq 1 ] || fail "$(vm_count) VMs"
	vcrun delete --force y
	vcrun delete --force x
}

# pod_up: a running pod sandbox `pod` whose monitor logs to $T/log; $before is the
# VM's MemTotal.
pod_up() {
	make_bundle "$T/p" sleep 600
	annotate "$T/p" "$CRI_TYPE=sandbox" "$CRI_SB=$(new_id pod)"
	# The monitor's log is the pod's (the container that booted the VM).
	vcrun --log "$T/log" create --bundle "$T/p" pod </dev/null >/dev/null 2>"$T/err" ||
		fail "pod: $(cat "$T/err")"
	vcrun start pod
	before=$(guest_mem_kib pod)
}

# guest_mem_kib ID: MemTotal of the VM, read through a member; guest_cpus ID: its
# online vCPUs (/sys/devices/system/cpu/online, "0" or "0-1").
guest_mem_kib() {
	vcrun exec "$1" sh -c "grep MemTotal /proc/meminfo" | awk '{print $2}'
}

guest_cpus() {
	vcrun exec "$1" cat /sys/devices/system/cpu/online
}

@test "pods: a member with a memory limit and a CPU quota grows the VM while it is there, update resizes it, its memory is given back at its delete" {
	pod_up
	[ "$(guest_cpus pod)" = 0 ] || fail "vCPUs at boot: $(guest_cpus pod)"
	make_bundle "$T/a" sleep 600
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=pod"
	# 200 MiB: the VM grows by whole 128 MiB blocks, 256 MiB.
	spec_edit "$T/a" '.linux.resources.memory = {"limit": 209715200}
		| .linux.resources.cpu = {"quota": 50000, "period": 100000}'
	vcrun --log "$T/log" create --bundle "$T/a" "$(new_id app)" </dev/null >/dev/null 2>"$T/err" ||
		fail "app: $(cat "$T/err")"
	during=$(guest_mem_kib pod)
	[ $((during - before)) -eq 262144 ] || fail "MemTotal $before kB -> $during kB"
	[ "$(guest_cpus pod)" = 0-1 ] || fail "vCPUs with the member: $(guest_cpus pod)"
	# OnlineCPUs' answer decodes (agent-proto/agent-msg.c).
	! grep -q "hot-plug:" "$T/log" || fail "agent's answer refused: $(cat "$T/log")"
	vcrun start app
	# update resizes the same way: a 384 MiB DIMM comes, then the 256 MiB one goes.
	vcrun update --memory 402653184 app || fail "update --memory"
	resized=$(guest_mem_kib pod)
	[ $((resized - before)) -eq 393216 ] || fail "MemTotal after update: $before kB -> $resized kB"
	grep -q "container app: 384 MiB of memory hot-plugged (mem-" "$T/log" &&
		grep -q "container app: memory mem-0 given back" "$T/log" || fail "$(cat "$T/log")"
	vcrun delete -f app
	after=$(guest_mem_kib pod)
	[ "$after" -eq "$before" ] || fail "MemTotal after the delete: $after kB, at boot $before kB"
	[ "$(grep -c "container app: memory mem-[0-9]* given back" "$T/log")" -eq 2 ] ||
		fail "$(cat "$T/log")"
	# Under TCG the vCPU stays (QEMU 7.2 crashes on its unplug), for the next member.
	if grep -q "unplug a vCPU under TCG" "$T/log"; then
		[ "$(guest_cpus pod)" = 0-1 ] || fail "the kept vCPU went offline"
		make_bundle "$T/b" sleep 600
		annotate "$T/b" "$CRI_TYPE=container" "$CRI_SB=pod"
		spec_edit "$T/b" '.linux.resources.cpu = {"quota": 100000, "period": 100000}'
		vcrun --log "$T/log" create --bundle "$T/b" "$(new_id b)" </dev/null >/dev/null 2>"$T/err" ||
			fail "b: $(cat "$T/err")"
		grep -q "container b: 1 vCPUs hot-plugged (1 of them kept" "$T/log" ||
			fail "the kept vCPU was not reused: $(cat "$T/log")"
		vcrun delete -f b
	else
		[ "$(guest_cpus pod)" = 0 ] || fail "the member's vCPU stayed: $(guest_cpus pod)"
	fi
	vcrun delete -f pod
}

@test "pods: a member whose limit does not fit the VM's room is said so in the log, and runs" {
	echo '{"hotplug_memory_mib": 128}' >"$T/config.json"
	export VCRUN_CONFIG=$T/config.json
	pod_up
	make_bundle "$T/a" sh -c 'echo ran'
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=pod"
	spec_edit "$T/a" '.linux.resources.memory = {"limit": 268435456}'
	vcrun --log "$T/log" create --bundle "$T/a" "$(new_id app)" </dev/null >"$T/app.out" 2>"$T/err" ||
		fail "app: $(cat "$T/err")"
	grep -q "hot-plug memory mem-0 (256 MiB): the VM has room for 128 MiB more" "$T/log" ||
		fail "no warning: $(cat "$T/log")"
	[ "$(guest_mem_kib pod)" -eq "$before" ] || fail "the VM grew anyway"
	vcrun start app
	wait_status app stopped
	file_has "$T/app.out" ran || fail "app did not run: $(cat "$T/app.out")"
	vcrun delete app
	vcrun delete -f pod
}

@test "pods: killing the pod's sandbox container ends every member (as SIGKILL) and the VM" {
	# a pause container: PID 1 of its namespace, it ends on TERM because it says so
	make_bundle "$T/p" sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
	annotate "$T/p" "$CRI_TYPE=sandbox" "$CRI_SB=$(new_id pod)"
	vcrun create --bundle "$T/p" pod </dev/null >/dev/null 2>"$T/err" || fail "pod: $(cat "$T/err")"
	vcrun start pod
	make_bundle "$T/a" sleep 600
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=pod"
	bg_run app "$(new_id app)" "$T/a"
	wait_status app running app
	vcrun kill pod TERM
	bg_wait "$VC_PID_app"
	[ "$BG_STATUS" -eq 137 ] || fail "the member's run exited $BG_STATUS, want 137"
	wait_status pod stopped
	wait_for 10 no_vms || fail "the VM outlived its pod"
	vcrun delete pod
}

@test "pods: sandbox list shows each VM with its containers; sandbox rm refuses running members, --force removes the pod members first" {
	make_bundle "$T/p" sleep 600
	annotate "$T/p" "$CRI_TYPE=sandbox" "$CRI_SB=$(new_id pod)"
	vcrun create --bundle "$T/p" pod </dev/null >/dev/null 2>"$T/err" || fail "pod: $(cat "$T/err")"
	make_bundle "$T/a" sleep 600
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=pod"
	vcrun create --bundle "$T/a" "$(new_id b2)" </dev/null >/dev/null 2>"$T/err" || fail "b2: $(cat "$T/err")"
	vcrun create --bundle "$T/a" "$(new_id a1)" </dev/null >/dev/null 2>"$T/err" || fail "a1: $(cat "$T/err")"
	make_bundle "$T/s" sleep 600
	vcrun create --bundle "$T/s" "$(new_id solo)" </dev/null >/dev/null 2>"$T/err" || fail "solo: $(cat "$T/err")"
	run vcrun sandbox list --format json
	[ "$status" -eq 0 ] || fail "sandbox list: $output"
	# the sandbox's own container first, then its members by id; one entry per VM
	[ "$(jq -c '[.[] | {id, containers}]' <<<"$output")" = \
		'[{"id":"pod","containers":["pod","a1","b2"]},{"id":"solo","containers":["solo"]}]' ] ||
		fail "sandbox list: $output"
	hv=$(jq '.[0].hypervisor_pid' <<<"$output")
	qemu_pids | grep -qx "$hv" || fail "hypervisor pid $hv is not a QEMU of this test: $(qemu_pids)"
	run vcrun sandbox list
	[ "$status" -eq 0 ] && [[ ${lines[0]} == SANDBOX* ]] && [[ $output == *"pod,a1,b2"* ]] ||
		fail "table: $output"
	# a member opens its sandbox too; running members are refused, nothing is deleted
	vcrun start a1
	vc_capture sandbox rm b2
	assert_error "a1"
	[[ $stderr == *running* ]] || fail "$stderr"
	[ "$(vcrun list -q | sort | tr '\n' ' ')" = "a1 b2 pod solo " ] || fail "list: $(vcrun list -q)"
	vc_capture sandbox rm nosuch
	assert_error "does not exist"
	vcrun sandbox rm --force pod
	[ "$(vcrun list -q)" = solo ] || fail "list after rm: $(vcrun list -q)"
	[ "$(vm_count)" -eq 1 ] || fail "$(vm_count) VMs after rm of the pod"
	vcrun sandbox rm solo
	wait_for 10 no_vms || fail "a VM outlived sandbox rm"
	run vcrun sandbox list --format json
	[ "$output" = "[]" ] || fail "sandbox list after rm: $output"
	run vcrun sandbox frob
	[ "$status" -ne 0 ] && [[ $output == *"unknown command 'frob'"* ]] || fail "$output"
}

@test "pods: bad sandboxes are refused by name and leave nothing behind" {
	make_bundle "$T/a" true
	# containerd's sandbox container always comes first
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=nosuch"
	vc_capture create --bundle "$T/a" "$(new_id a1)"
	assert_error "$CRI_SB"
	[[ $stderr == *nosuch* ]] || fail "$stderr"
	annotate "$T/a" "$CRI_TYPE=box" "$CRI_SB=nosuch"
	vc_capture create --bundle "$T/a" a1
	assert_error "$CRI_TYPE"
	annotate "$T/a" "$CRI_TYPE=container"
	vc_capture create --bundle "$T/a" a1
	assert_error "$CRI_SB"

	# a sandbox whose VM is gone
	make_bundle "$T/s" sleep 600
	annotate "$T/s" "$CRI_TYPE=sandbox" "$CRI_SB=$(new_id dead)"
	vcrun create --bundle "$T/s" dead </dev/null >/dev/null 2>"$T/err" || fail "dead: $(cat "$T/err")"
	kill -9 "$(jq .monitor_pid "$ROOT/dead/state.json")"
	wait_for 10 status_is dead stopped
	annotate "$T/a" "$CRI_TYPE=container" "$CRI_SB=dead"
	vc_capture create --bundle "$T/a" a1
	assert_error "stopped"

	# namespaces of two different sandboxes
	make_bundle "$T/x" sleep 600
	vcrun create --bundle "$T/x" "$(new_id x1)" </dev/null >/dev/null 2>"$T/err" || fail "x1: $(cat "$T/err")"
	vcrun create --bundle "$T/x" "$(new_id x2)" </dev/null >/dev/null 2>"$T/err" || fail "x2: $(cat "$T/err")"
	p1=$(vcrun state x1 | jq .pid) p2=$(vcrun state x2 | jq .pid)
	make_bundle "$T/y" true
	spec_edit "$T/y" '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/\($a)/ns/ipc"
		elif .type == "uts" then .path = "/proc/\($b)/ns/uts" else . end)' --arg a "$p1" --arg b "$p2"
	qemus=$(qemu_pids)
	vc_capture create --bundle "$T/y" "$(new_id y1)"
	assert_error "linux.namespaces"
	[[ $stderr == *x1* && $stderr == *x2* ]] || fail "the error does not name both sandboxes: $stderr"
	[ "$(qemu_pids)" = "$qemus" ] || fail "QEMUs changed"
	[ ! -e "$ROOT/a1" ] && [ ! -e "$ROOT/y1" ] || fail "state dirs left: $(ls "$ROOT")"
}

@test "pods: a sandbox whose --root was removed under it stops its VM and removes what it made" {
	make_bundle "$T/b" sleep 600 # a new network namespace, which vcrun pins
	vcrun create --bundle "$T/b" "$(new_id orphan)" </dev/null >/dev/null 2>"$T/err" ||
		fail "create: $(cat "$T/err")"
	vcrun start orphan
	share=$(share_of orphan) pin=$(pin_of orphan)
	[ -d "$share" ] || fail "no share while it runs"
	[ -n "$pin" ] || fail "no namespace pin while it runs"
	rm -rf "$ROOT"
	wait_for 20 no_procs_left || fail "left running: $(procs_under "$T")"
	wait_for 10 test ! -e "$share" -a ! -e "$pin" || fail "left: $(ls "$share" "$pin" 2>&1)"
	mkdir -p "$ROOT"
}
