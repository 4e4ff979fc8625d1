#!/usr/bin/env bats
# CDI requests through create: a device's env, spec-wide edits and mounts reach the
# guest process; device nodes a VM cannot take are refused, naming the device; an
# unresolvable name fails the whole request. One VM.

load helpers

setup() {
	common_setup
	export VCRUN_CDI_SPEC_DIRS=$T/cdi
	mkdir -p "$T/cdi" "$T/data"
	echo hello-cdi >"$T/data/f"
	cat >"$T/cdi/vendor.json" <<EOT
{"cdiVersion": "0.6.0", "kind": "example.com/gpu",
 "devices": [
   {"name": "env0", "containerEdits": {"env": ["GPU=env0"],
     "mounts": [{"hostPath": "$T/data", "containerPath": "/cdi-data", "options": ["ro", "bind"]}]}},
   {"name": "node0", "containerEdits": {"deviceNodes": [{"path": "/dev/null"}]}},
   {"name": "vfio0", "containerEdits": {"deviceNodes": [{"path": "/dev/vfio/42", "type": "c", "major": 240, "minor": 0}]}}
 ],
 "containerEdits": {"env": ["VENDOR=example"]}}
EOT
}

@test "cdi: annotation requests are applied in the VM; nodes and unknown names are refused" {
	make_bundle "$T/b" sh -c 'echo "$GPU $VENDOR"; cat /cdi-data/f; touch /cdi-data/x 2>/dev/null || echo read-only'
	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/vcrun-test": "example.com/gpu=env0"}'
	id=$(new_id cdi)
	vc_capture run --bundle "$T/b" "$id"
	[ "$status" -eq 0 ] || fail "run: $stderr"
	[ "$output" = "$(printf 'env0 example\nhello-cdi\nread-only')" ] || fail "in the guest: '$output'"

	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/vcrun-test": "example.com/gpu=node0"}'
	vc_capture run --bundle "$T/b" "$id-node"
	[ "$status" -ne 0 ] && [[ $stderr == *example.com/gpu=node0* && $stderr == *"only VFIO"* ]] ||
		fail "device node: $status $stderr"

	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/vcrun-test": "example.com/gpu=vfio0"}'
	vc_capture run --bundle "$T/b" "$id-vfio"
	[ "$status" -ne 0 ] && [[ $stderr == */dev/vfio/42* ]] || fail "vfio node: $status $stderr"

	spec_edit "$T/b" '.annotations = {"cdi.k8s.io/a": "example.com/gpu=nope,example.com/gpu=env0", "cdi.k8s.io/b": "other.org/x=y"}'
	vc_capture run --bundle "$T/b" "$id-missing"
	[ "$status" -ne 0 ] && [[ $stderr == *example.com/gpu=nope* && $stderr == *other.org/x=y* ]] ||
		fail "unresolvable: $status $stderr"
	vc_capture state "$id-missing"
	[ "$status" -ne 0 ] || fail "a failed create left a container"
}
