/* oci/spec.h and oci/state.h: every field of a full config.json lands in the
 * model, every required field and type is enforced with its JSON path, the
 * runtime checks catch what the schema cannot, load() resolves bundles, the
 * default spec is runc's, and state JSON is runc's byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "tests/unit/unit.h"

static const char FULL_SPEC[] = R"({
	"ociVersion": "1.2.0",
	"process": {
		"terminal": true,
		"consoleSize": {"height": 25, "width": 80},
		"user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 4294967295],
			 "username": "winuser"},
		"args": ["/bin/sh", "-c", "echo hi"],
		"env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
		"cwd": "/work",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
			"inheritable": [],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_SYS_ADMIN"],
			"ambient": ["CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [
			{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512},
			{"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
		],
		"noNewPrivileges": true,
		"apparmorProfile": "vcrun-default",
		"oomScoreAdj": -500,
		"selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
		"ioPriority": {"class": "IOPRIO_CLASS_IDLE"},
		"futureProcessField": [1, 2, 3]
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "box",
	"domainname": "example.org",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro"]},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		 "options": ["nosuid", "mode=755"]},
		{"destination": "/bare"}
	],
	"hooks": {
		"prestart": [{"path": "/usr/bin/pre", "args": ["pre", "-v"], "env": ["A=1"], "timeout": 5}],
		"createRuntime": [{"path": "/usr/bin/cr1"}, {"path": "/usr/bin/cr2"}],
		"createContainer": [{"path": "/usr/bin/cc"}],
		"startContainer": [{"path": "/usr/bin/sc"}],
		"poststart": [{"path": "/usr/bin/ps", "timeout": 30}],
		"poststop": [{"path": "/usr/bin/stop"}]
	},
	"annotations": {"org.example.key": "value", "vcrun-test": "1", "org.example.key": "last"},
	"linux": {
		"namespaces": [
			{"type": "pid"}, {"type": "network", "path": "/var/run/netns/n1"},
			{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"},
			{"type": "cgroup"}, {"type": "time"}
		],
		"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
		"gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1},
				{"containerID": 1, "hostID": 300000, "size": 10}],
		"devices": [
			{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
			 "uid": 0, "gid": 0},
			{"path": "/dev/myfifo", "type": "p"},
			{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}
		],
		"resources": {
			"devices": [
				{"allow": false, "access": "rwm"},
				{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
			],
			"memory": {"limit": 536870912, "reservation": 268435456, "swap": -1,
				   "swappiness": 60, "kernel": -1, "disableOOMKiller": false},
			"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1",
				"mems": "0", "realtimeRuntime": 0},
			"pids": {"limit": 100},
			"blockIO": {"weight": 10},
			"hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
			"network": {"classID": 1},
			"unified": {"memory.high": "max"}
		},
		"cgroupsPath": "/vcrun/test",
		"sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"},
		"seccomp": {
			"defaultAction": "SCMP_ACT_ERRNO",
			"defaultErrnoRet": 1,
			"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
			"flags": ["SECCOMP_FILTER_FLAG_LOG"],
			"listenerPath": "/run/seccomp.sock",
			"syscalls": [
				{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
				{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
				 "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
					  {"index": 1, "value": 255, "op": "SCMP_CMP_MASKED_EQ"}]}
			]
		},
		"rootfsPropagation": "rslave",
		"maskedPaths": ["/proc/kcore", "/sys/firmware"],
		"readonlyPaths": ["/proc/sys"],
		"mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0",
		"intelRdt": {"closID": "x"}
	},
	"vcrunTestUnknown": {"kept": true}
})";

static int parse_spec(const char *text, struct vc_oci_spec **out, struct vc_error *err)
{
	return vc_oci_spec_parse(text, strlen(text), "cfg.json", out, err);
}

VC_TEST(full_spec_process_and_root)
{
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	CHECK(parse_spec(FULL_SPEC, &s, &err) == 0);
	CHECK(vc_oci_spec_validate(s, &err) == 0);
	CHECK_STR(s->oci_version, "1.2.0");
	const struct vc_oci_process *p = s->process;
	CHECK(p && p->terminal);
	CHECK(p->has_console_size && p->console_size.height == 25 && p->console_size.width == 80);
	CHECK(p->user.uid == 1000 && p->user.gid == 1001);
	CHECK(p->user.has_umask && p->user.umask == 18);
	CHECK(p->user.n_additional_gids == 2);
	CHECK(p->user.additional_gids[0] == 5 && p->user.additional_gids[1] == 4294967295u);
	CHECK_STR(p->user.username, "winuser");
	CHECK(vc_strv_len(p->args) == 3);
	CHECK_STR(p->args[2], "echo hi");
	CHECK(vc_strv_len(p->env) == 2);
	CHECK_STR(p->env[1], "TERM=xterm");
	CHECK_STR(p->cwd, "/work");
	CHECK(p->capabilities);
	CHECK(vc_strv_len(p->capabilities->bounding) == 3);
	CHECK_STR(p->capabilities->bounding[2], "CAP_CHECKPOINT_RESTORE");
	CHECK(vc_strv_len(p->capabilities->effective) == 2);
	CHECK(p->capabilities->inheritable && !p->capabilities->inheritable[0]);
	CHECK_STR(p->capabilities->permitted[2], "CAP_SYS_ADMIN");
	CHECK_STR(p->capabilities->ambient[0], "CAP_NET_BIND_SERVICE");
	CHECK(p->n_rlimits == 2);
	CHECK_STR(p->rlimits[0].type, "RLIMIT_NOFILE");
	CHECK(p->rlimits[0].hard == 1024 && p->rlimits[0].soft == 512);
	CHECK(p->rlimits[1].hard == UINT64_MAX && p->rlimits[1].soft == 0);
	CHECK(p->no_new_privileges);
	CHECK_STR(p->apparmor_profile, "vcrun-default");
	CHECK(p->has_oom_score_adj && p->oom_score_adj == -500);
	CHECK_STR(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
	CHECK(s->root && s->root->readonly);
	CHECK_STR(s->root->path, "rootfs");
	CHECK_STR(s->hostname, "box");
	CHECK_STR(s->domainname, "example.org");
	CHECK(s->bundle == NULL && s->rootfs_abs == NULL);
}

VC_TEST(full_spec_mounts_hooks_annotations_and_unknown_fields)
{
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	CHECK(parse_spec(FULL_SPEC, &s, &err) == 0);
	CHECK(s->n_mounts == 4);
	CHECK_STR(s->mounts[0].type, "proc");
	CHECK(s->mounts[1].type == NULL);
	CHECK_STR(s->mounts[1].source, "/srv/data");
	CHECK_STR(s->mounts[1].options[1], "ro");
	CHECK(s->mounts[1].options[2] == NULL);
	CHECK_STR(s->mounts[2].destination, "/dev");
	CHECK(s->mounts[3].source == NULL && s->mounts[3].options == NULL);

	const struct vc_oci_hooks *h = s->hooks;
	CHECK(h);
	CHECK(h->n_prestart == 1 && h->n_create_runtime == 2 && h->n_create_container == 1 &&
	      h->n_start_container == 1 && h->n_poststart == 1 && h->n_poststop == 1);
	CHECK_STR(h->prestart[0].path, "/usr/bin/pre");
	CHECK_STR(h->prestart[0].args[1], "-v");
	CHECK_STR(h->prestart[0].env[0], "A=1");
	CHECK(h->prestart[0].has_timeout && h->prestart[0].timeout == 5);
	CHECK_STR(h->create_runtime[1].path, "/usr/bin/cr2");
	CHECK(!h->create_runtime[1].has_timeout && h->create_runtime[1].args == NULL);
	CHECK_STR(h->create_container[0].path, "/usr/bin/cc");
	CHECK_STR(h->start_container[0].path, "/usr/bin/sc");
	CHECK(h->poststart[0].timeout == 30);
	CHECK_STR(h->poststop[0].path, "/usr/bin/stop");

	CHECK(s->n_annotations == 3);
	CHECK_STR(vc_oci_spec_annotation(s, "org.example.key"), "last");
	CHECK_STR(vc_oci_spec_annotation(s, "vcrun-test"), "1");
	CHECK(vc_oci_spec_annotation(s, "absent") == NULL);

	/* Unknown fields stay in the document the spec owns. */
	CHECK(s->raw);
	const struct vc_json *unknown = vc_json_get(s->raw, "vcrunTestUnknown");
	CHECK(unknown && vc_json_get(unknown, "kept"));
	CHECK(vc_json_get(vc_json_get(s->raw, "process"), "futureProcessField"));
	CHECK(vc_json_get(vc_json_get(s->raw, "linux"), "intelRdt"));
}

VC_TEST(full_spec_linux)
{
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	CHECK(parse_spec(FULL_SPEC, &s, &err) == 0);
	const struct vc_oci_linux *l = s->linux;
	CHECK(l && l->n_namespaces == 8);
	static const enum vc_oci_ns_type order[] = {VC_NS_PID,	  VC_NS_NETWORK, VC_NS_MOUNT,
						    VC_NS_IPC,	  VC_NS_UTS,	 VC_NS_USER,
						    VC_NS_CGROUP, VC_NS_TIME};
	for (size_t i = 0; i < VC_ARRAY_SIZE(order); i++)
		CHECK(l->namespaces[i].type == order[i]);
	CHECK_STR(l->namespaces[1].path, "/var/run/netns/n1");
	CHECK(l->namespaces[0].path == NULL);
	const struct vc_oci_namespace *net = vc_oci_spec_namespace(s, VC_NS_NETWORK);
	CHECK(net && net == &l->namespaces[1]);
	CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == 100000 &&
	      l->uid_mappings[0].size == 65536);
	CHECK(l->n_gid_mappings == 2 && l->gid_mappings[1].container_id == 1 &&
	      l->gid_mappings[1].host_id == 300000 && l->gid_mappings[1].size == 10);

	CHECK(l->n_devices == 3);
	const struct vc_oci_device *d = &l->devices[0];
	CHECK_STR(d->path, "/dev/fuse");
	CHECK(d->type == 'c' && d->has_major && d->major == 10 && d->has_minor && d->minor == 229);
	CHECK(d->has_file_mode && d->file_mode == 438 && d->has_uid && d->has_gid);
	CHECK(l->devices[1].type == 'p' && !l->devices[1].has_major && !l->devices[1].has_uid);
	CHECK(l->devices[2].type == 'b' && l->devices[2].major == 8);

	const struct vc_oci_resources *r = l->resources;
	CHECK(r && r->n_devices == 2);
	CHECK(!r->devices[0].allow && r->devices[0].type == 0 && !r->devices[0].has_major);
	CHECK_STR(r->devices[0].access, "rwm");
	CHECK(r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].minor == 229);
	CHECK(r->has_memory_limit && r->memory_limit == 536870912);
	CHECK(r->has_memory_reservation && r->memory_reservation == 268435456);
	CHECK(r->has_memory_swap && r->memory_swap == -1);
	CHECK(r->has_memory_swappiness && r->memory_swappiness == 60);
	CHECK(r->has_cpu_shares && r->cpu_shares == 1024);
	CHECK(r->has_cpu_quota && r->cpu_quota == 50000);
	CHECK(r->has_cpu_period && r->cpu_period == 100000);
	CHECK_STR(r->cpu_cpus, "0-1");
	CHECK_STR(r->cpu_mems, "0");
	CHECK(r->has_pids_limit && r->pids_limit == 100);
	CHECK(r->raw && vc_json_get(r->raw, "unified"));

	CHECK_STR(l->cgroups_path, "/vcrun/test");
	CHECK(l->n_sysctl == 2);
	CHECK_STR(l->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_STR(l->sysctl[1].value, "4096");

	const struct vc_oci_seccomp *sc = l->seccomp;
	CHECK(sc);
	CHECK_STR(sc->default_action, "SCMP_ACT_ERRNO");
	CHECK(sc->has_default_errno_ret && sc->default_errno_ret == 1);
	CHECK_STR(sc->architectures[1], "SCMP_ARCH_X86");
	CHECK_STR(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	CHECK_STR(sc->listener_path, "/run/seccomp.sock");
	CHECK(sc->n_syscalls == 2);
	CHECK_STR(sc->syscalls[0].names[1], "write");
	CHECK(!sc->syscalls[0].has_errno_ret && sc->syscalls[0].n_args == 0);
	CHECK(sc->syscalls[1].has_errno_ret && sc->syscalls[1].errno_ret == 38);
	CHECK(sc->syscalls[1].n_args == 2);
	CHECK(sc->syscalls[1].args[0].value == 8);
	CHECK(sc->syscalls[1].args[1].index == 1 && sc->syscalls[1].args[1].value == 255);
	CHECK_STR(sc->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");

	CHECK_STR(l->rootfs_propagation, "rslave");
	CHECK(vc_strv_len(l->masked_paths) == 2);
	CHECK_STR(l->readonly_paths[0], "/proc/sys");
	CHECK_STR(l->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0");
}

VC_TEST(minimal_spec_leaves_optional_fields_empty)
{
	static const char text[] = R"({"ociVersion": "1.0.0",
		"process": {"user": {"uid": 0, "gid": 0}, "args": ["x"], "cwd": "/",
			    "oomScoreAdj": null, "terminal": null}})";
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	CHECK(parse_spec(text, &s, &err) == 0);
	CHECK(vc_oci_spec_validate(s, &err) == 0);
	CHECK(s->root == NULL && s->linux == NULL && s->hooks == NULL && s->mounts == NULL);
	CHECK(s->hostname == NULL && s->n_annotations == 0);
	CHECK(s->process->env && s->process->env[0] == NULL);
	CHECK(!s->process->has_oom_score_adj && !s->process->terminal);
	CHECK(s->process->capabilities == NULL && s->process->n_rlimits == 0);
	CHECK(!s->process->has_console_size && !s->process->user.has_umask);
	CHECK(vc_oci_spec_namespace(s, VC_NS_PID) == NULL);
}

/* ---- mutations of FULL_SPEC: each must fail with an exact message ---- */

/* Follows "a.b[2].c" to the parent of its last step; *key / *index name the step. */
static struct vc_json *walk(struct vc_json *doc, const char *path, char *key, long *index)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	struct vc_json *cur = doc, *parent = NULL;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');
		long idx = -1;
		if (br) {
			idx = strtol(br + 1, NULL, 10);
			*br = '\0';
		}
		parent = cur;
		snprintf(key, 128, "%s", tok);
		*index = -1;
		cur = vc_json_get(cur, tok);
		if (idx >= 0) {
			if (!cur || cur->type != VC_JSON_ARRAY || (size_t)idx >= cur->u.array.len)
				return NULL;
			parent = cur;
			*index = idx;
			cur = cur->u.array.items[idx];
		}
	}
	return parent;
}

/* FULL_SPEC with path set to value (JSON text), or removed when value is NULL;
 * then parse (and validate when parse succeeds). Returns the error message. */
static const char *mutated_error(const char *path, const char *value, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	vc_error_clear(err);
	if (vc_json_parse(FULL_SPEC, strlen(FULL_SPEC), "full", &doc, err) < 0)
		return "FULL_SPEC does not parse";
	char key[128];
	long index = -1;
	struct vc_json *parent = walk(doc, path, key, &index);
	if (!parent)
		return "path not found";
	struct vc_json *nv = NULL;
	if (value && vc_json_parse(value, strlen(value), "value", &nv, err) < 0)
		return "bad value";
	if (index >= 0 && nv) {
		vc_json_free(parent->u.array.items[index]);
		parent->u.array.items[index] = nv;
	} else if (index >= 0) {
		return "cannot remove an array item";
	} else if (nv) {
		if (vc_json_object_set(parent, key, nv) < 0)
			return "set failed";
	} else if (!vc_json_object_remove(parent, key)) {
		return "key not found";
	}
	_cleanup_free_ char *text = NULL;
	if (vc_json_serialize(doc, false, &text, NULL, err) < 0)
		return "serialise failed";
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	if (parse_spec(text, &s, err) < 0)
		return err->msg;
	if (vc_oci_spec_validate(s, err) < 0)
		return err->msg;
	return "no error";
}

struct mutation {
	const char *path, *value, *msg;
};

static int check_mutations(const struct mutation *m, size_t n, const char *prefix)
{
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct vc_error err = {0};
		const char *got = mutated_error(m[i].path, m[i].value, &err);
		char want[600];
		snprintf(want, sizeof(want), "%s%s", prefix, m[i].msg);
		if (strcmp(got, want)) {
			fprintf(stderr, "# %s = %s: got `%s`, want `%s`\n", m[i].path,
				m[i].value ? m[i].value : "(removed)", got, want);
			failed++;
		}
	}
	return failed;
}

VC_TEST(required_fields_missing_are_named)
{
	static const struct mutation cases[] = {
		{"ociVersion", NULL, "ociVersion: is required"},
		{"process.user.uid", NULL, "process.user.uid: is required"},
		{"process.user.gid", NULL, "process.user.gid: is required"},
		{"process.args", NULL, "process.args: must be a non-empty array"},
		{"process.cwd", NULL, "process.cwd: is required"},
		{"process.consoleSize.height", NULL, "process.consoleSize.height: is required"},
		{"process.consoleSize.width", NULL, "process.consoleSize.width: is required"},
		{"process.rlimits[1].type", NULL, "process.rlimits[1].type: is required"},
		{"process.rlimits[0].hard", NULL, "process.rlimits[0].hard: is required"},
		{"process.rlimits[0].soft", NULL, "process.rlimits[0].soft: is required"},
		{"root.path", NULL, "root.path: is required"},
		{"mounts[3].destination", NULL, "mounts[3].destination: is required"},
		{"hooks.prestart[0].path", NULL, "hooks.prestart[0].path: is required"},
		{"hooks.createRuntime[1].path", NULL, "hooks.createRuntime[1].path: is required"},
		{"linux.namespaces[4].type", NULL, "linux.namespaces[4].type: is required"},
		{"linux.uidMappings[0].containerID", NULL,
		 "linux.uidMappings[0].containerID: is required"},
		{"linux.gidMappings[1].hostID", NULL, "linux.gidMappings[1].hostID: is required"},
		{"linux.gidMappings[0].size", NULL, "linux.gidMappings[0].size: is required"},
		{"linux.devices[0].path", NULL, "linux.devices[0].path: is required"},
		{"linux.devices[1].type", NULL, "linux.devices[1].type: is required"},
		{"linux.resources.devices[1].allow", NULL,
		 "linux.resources.devices[1].allow: is required"},
		{"linux.resources.pids.limit", NULL, "linux.resources.pids.limit: is required"},
		{"linux.seccomp.defaultAction", NULL, "linux.seccomp.defaultAction: is required"},
		{"linux.seccomp.syscalls[0].names", NULL,
		 "linux.seccomp.syscalls[0].names: must be a non-empty array"},
		{"linux.seccomp.syscalls[1].action", NULL,
		 "linux.seccomp.syscalls[1].action: is required"},
		{"linux.seccomp.syscalls[1].args[0].index", NULL,
		 "linux.seccomp.syscalls[1].args[0].index: is required"},
		{"linux.seccomp.syscalls[1].args[1].value", NULL,
		 "linux.seccomp.syscalls[1].args[1].value: is required"},
		{"linux.seccomp.syscalls[1].args[0].op", NULL,
		 "linux.seccomp.syscalls[1].args[0].op: is required"},
		/* null reads as absent, as in Go */
		{"process.cwd", "null", "process.cwd: is required"},
	};
	CHECK(check_mutations(cases, VC_ARRAY_SIZE(cases), "cfg.json: ") == 0);
}

VC_TEST(wrong_types_name_path_and_expected_type)
{
	static const struct mutation cases[] = {
		{"ociVersion", "1", "ociVersion: must be a string"},
		{"process", "[]", "process: must be an object"},
		{"process.terminal", "\"yes\"", "process.terminal: must be a boolean"},
		{"process.args", "[]", "process.args: must be a non-empty array"},
		{"process.args", "\"sh\"", "process.args: must be a non-empty array"},
		{"process.args[1]", "1", "process.args[1]: must be a string"},
		{"process.env[1]", "null", "process.env[1]: must be a string"},
		{"process.env", "{}", "process.env: must be an array"},
		{"process.cwd", "\"/a\\u0000b\"", "process.cwd: must not contain NUL bytes"},
		{"process.user", "0", "process.user: must be an object"},
		{"process.user.uid", "-1", "process.user.uid: must be an unsigned 32-bit integer"},
		{"process.user.uid", "4294967296",
		 "process.user.uid: must be an unsigned 32-bit integer"},
		{"process.user.uid", "1.5", "process.user.uid: must be an unsigned 32-bit integer"},
		{"process.user.gid", "\"0\"",
		 "process.user.gid: must be an unsigned 32-bit integer"},
		{"process.user.umask", "true",
		 "process.user.umask: must be an unsigned 32-bit integer"},
		{"process.user.additionalGids[1]", "\"x\"",
		 "process.user.additionalGids[1]: must be an unsigned 32-bit integer"},
		{"process.consoleSize.width", "\"80\"",
		 "process.consoleSize.width: must be an unsigned 32-bit integer"},
		{"process.capabilities", "[]", "process.capabilities: must be an object"},
		{"process.capabilities.bounding", "\"CAP_KILL\"",
		 "process.capabilities.bounding: must be an array"},
		{"process.capabilities.ambient[0]", "{}",
		 "process.capabilities.ambient[0]: must be a string"},
		{"process.rlimits", "{}", "process.rlimits: must be an array"},
		{"process.rlimits[1]", "\"x\"", "process.rlimits[1]: must be an object"},
		{"process.rlimits[0].hard", "-1",
		 "process.rlimits[0].hard: must be an unsigned 64-bit integer"},
		{"process.rlimits[0].soft", "18446744073709551616",
		 "process.rlimits[0].soft: must be an unsigned 64-bit integer"},
		{"process.rlimits[0].type", "7", "process.rlimits[0].type: must be a string"},
		{"process.noNewPrivileges", "1", "process.noNewPrivileges: must be a boolean"},
		{"process.oomScoreAdj", "2147483648",
		 "process.oomScoreAdj: must be a 32-bit integer"},
		{"process.apparmorProfile", "[]", "process.apparmorProfile: must be a string"},
		{"root", "\"rootfs\"", "root: must be an object"},
		{"root.path", "1", "root.path: must be a string"},
		{"root.readonly", "\"true\"", "root.readonly: must be a boolean"},
		{"hostname", "[]", "hostname: must be a string"},
		{"domainname", "false", "domainname: must be a string"},
		{"mounts", "{}", "mounts: must be an array"},
		{"mounts[1]", "[]", "mounts[1]: must be an object"},
		{"mounts[2].destination", "5", "mounts[2].destination: must be a string"},
		{"mounts[2].options", "\"ro\"", "mounts[2].options: must be an array"},
		{"mounts[2].options[0]", "5", "mounts[2].options[0]: must be a string"},
		{"hooks", "[]", "hooks: must be an object"},
		{"hooks.poststop", "{}", "hooks.poststop: must be an array"},
		{"hooks.prestart[0].timeout", "1.5",
		 "hooks.prestart[0].timeout: must be a 32-bit integer"},
		{"hooks.prestart[0].args", "\"pre\"", "hooks.prestart[0].args: must be an array"},
		{"annotations", "[]", "annotations: must be an object"},
		{"annotations.vcrun-test", "1", "annotations.vcrun-test: must be a string"},
		{"linux", "1", "linux: must be an object"},
		{"linux.namespaces", "{}", "linux.namespaces: must be an array"},
		{"linux.namespaces[1].type", "\"foo\"",
		 "linux.namespaces[1].type: unknown namespace type \"foo\""},
		{"linux.namespaces[1].path", "1", "linux.namespaces[1].path: must be a string"},
		{"linux.uidMappings[0].size", "-5",
		 "linux.uidMappings[0].size: must be an unsigned 32-bit integer"},
		{"linux.devices[0].type", "\"x\"",
		 "linux.devices[0].type: unknown device type \"x\""},
		{"linux.devices[0].type", "\"cb\"",
		 "linux.devices[0].type: unknown device type \"cb\""},
		{"linux.devices[0].major", "\"1\"",
		 "linux.devices[0].major: must be a 64-bit integer"},
		{"linux.devices[0].fileMode", "-1",
		 "linux.devices[0].fileMode: must be an unsigned 32-bit integer"},
		{"linux.resources", "[]", "linux.resources: must be an object"},
		{"linux.resources.memory.limit", "\"1g\"",
		 "linux.resources.memory.limit: must be a 64-bit integer"},
		{"linux.resources.memory.kernel", "true",
		 "linux.resources.memory.kernel: must be a 64-bit integer"},
		{"linux.resources.memory.disableOOMKiller", "1",
		 "linux.resources.memory.disableOOMKiller: must be a boolean"},
		{"linux.resources.memory.swappiness", "-1",
		 "linux.resources.memory.swappiness: must be an unsigned 64-bit integer"},
		{"linux.resources.cpu.shares", "-1",
		 "linux.resources.cpu.shares: must be an unsigned 64-bit integer"},
		{"linux.resources.cpu.cpus", "0", "linux.resources.cpu.cpus: must be a string"},
		{"linux.resources.pids.limit", "\"x\"",
		 "linux.resources.pids.limit: must be a 64-bit integer"},
		{"linux.resources.devices[1].type", "\"z\"",
		 "linux.resources.devices[1].type: unknown device type \"z\""},
		{"linux.resources.devices[1].access", "\"\"",
		 "linux.resources.devices[1].access: cannot be empty"},
		{"linux.resources.cpu.period", "500",
		 "linux.resources.cpu.period: must be between 1000 and 1000000 microseconds, not "
		 "500"},
		{"linux.resources.cpu.period", "1000001",
		 "linux.resources.cpu.period: must be between 1000 and 1000000 microseconds, not "
		 "1000001"},
		{"linux.resources.cpu.quota", "999",
		 "linux.resources.cpu.quota: must be at least 1000 microseconds (or -1: no limit), "
		 "not 999"},
		{"linux.resources.hugepageLimits", "{}",
		 "linux.resources.hugepageLimits: must be an array"},
		{"linux.resources.unified", "[]", "linux.resources.unified: must be an object"},
		{"linux.cgroupsPath", "{}", "linux.cgroupsPath: must be a string"},
		{"linux.sysctl", "{\"kernel.domainname\": 5}",
		 "linux.sysctl.kernel.domainname: must be a string"},
		{"linux.seccomp", "true", "linux.seccomp: must be an object"},
		{"linux.seccomp.defaultErrnoRet", "-1",
		 "linux.seccomp.defaultErrnoRet: must be an unsigned 32-bit integer"},
		{"linux.seccomp.architectures", "\"SCMP_ARCH_X86\"",
		 "linux.seccomp.architectures: must be an array"},
		{"linux.seccomp.syscalls[0].names", "[]",
		 "linux.seccomp.syscalls[0].names: must be a non-empty array"},
		{"linux.seccomp.syscalls[1].errnoRet", "\"EPERM\"",
		 "linux.seccomp.syscalls[1].errnoRet: must be an unsigned 32-bit integer"},
		{"linux.seccomp.syscalls[1].args[0].value", "-1",
		 "linux.seccomp.syscalls[1].args[0].value: must be an unsigned 64-bit integer"},
		{"linux.maskedPaths[0]", "1", "linux.maskedPaths[0]: must be a string"},
		{"linux.rootfsPropagation", "1", "linux.rootfsPropagation: must be a string"},
	};
	CHECK(check_mutations(cases, VC_ARRAY_SIZE(cases), "cfg.json: ") == 0);
}

VC_TEST(validation_catches_what_the_schema_cannot)
{
	static const struct mutation cases[] = {
		{"process.cwd", "\"work\"", "process.cwd: must be an absolute path"},
		{"mounts[2].destination", "\"dev\"",
		 "mounts[2].destination: must be an absolute path"},
		{"process.rlimits[0].type", "\"RLIMIT_FOO\"",
		 "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
		{"process.rlimits[1].type", "\"RLIMIT_NOFILE\"",
		 "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
		{"process.rlimits[0].soft", "2048",
		 "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"},
		{"process.capabilities.effective[1]", "\"CAP_FOO\"",
		 "process.capabilities.effective[1]: unknown capability \"CAP_FOO\""},
		{"process.capabilities.ambient[0]", "\"NET_ADMIN\"",
		 "process.capabilities.ambient[0]: unknown capability \"NET_ADMIN\""},
		{"root.path", "\"\"", "root.path: must not be empty"},
		{"hooks.prestart[0].path", "\"pre\"",
		 "hooks.prestart[0].path: must be an absolute path"},
		{"hooks.poststart[0].timeout", "0",
		 "hooks.poststart[0].timeout: must be greater than zero"},
		{"hooks.poststart[0].timeout", "-3",
		 "hooks.poststart[0].timeout: must be greater than zero"},
		{"linux.namespaces[3].type", "\"pid\"",
		 "linux.namespaces[3].type: duplicate namespace type \"pid\""},
		{"linux.namespaces[1].path", "\"netns\"",
		 "linux.namespaces[1].path: must be an absolute path"},
		{"linux.uidMappings[0].size", "0",
		 "linux.uidMappings[0].size: must be greater than zero"},
		{"linux.devices[0].major", NULL,
		 "linux.devices[0].major: is required for device type \"c\""},
		{"linux.devices[2].minor", NULL,
		 "linux.devices[2].minor: is required for device type \"b\""},
		{"linux.devices[1].path", "\"dev/x\"",
		 "linux.devices[1].path: must be an absolute path"},
		{"linux.seccomp.defaultAction", "\"SCMP_ACT_FOO\"",
		 "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
		{"linux.seccomp.syscalls[1].action", "\"allow\"",
		 "linux.seccomp.syscalls[1].action: unknown action \"allow\""},
		{"linux.seccomp.architectures[1]", "\"SCMP_ARCH_Z80\"",
		 "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
		{"linux.seccomp.flags[0]", "\"SECCOMP_FILTER_FLAG_FOO\"",
		 "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
		{"linux.seccomp.syscalls[1].args[1].op", "\"SCMP_CMP_FOO\"",
		 "linux.seccomp.syscalls[1].args[1].op: unknown operator \"SCMP_CMP_FOO\""},
		{"linux.maskedPaths[1]", "\"sys/firmware\"",
		 "linux.maskedPaths[1]: must be an absolute path"},
		{"linux.readonlyPaths[0]", "\"\"",
		 "linux.readonlyPaths[0]: must be an absolute path"},
		{"linux.rootfsPropagation", "\"sideways\"",
		 "linux.rootfsPropagation: unknown propagation \"sideways\""},
	};
	/* Validation messages carry no source: load() adds the file name. */
	CHECK(check_mutations(cases, VC_ARRAY_SIZE(cases), "") == 0);

	/* And these are fine. */
	static const struct mutation fine[] = {
		{"linux.namespaces[1].path", NULL, "no error"},
		{"process.user", NULL, "no error"},
		{"linux.rootfsPropagation", "\"\"", "no error"},
		{"process.capabilities.bounding[0]", "\"CAP_BPF\"", "no error"},
		{"process.rlimits[0].type", "\"RLIMIT_RTTIME\"", "no error"},
		{"hooks.prestart[0].timeout", "null", "no error"},
		{"linux.seccomp.architectures[0]", "\"SCMP_ARCH_RISCV64\"", "no error"},
	};
	CHECK(check_mutations(fine, VC_ARRAY_SIZE(fine), "") == 0);
}

/* Every node of FULL_SPEC replaced by every kind of JSON value: parsing and
 * validating never crash (the sanitizer build checks memory too) and every
 * failure is an EINVAL whose message names a path. */
struct sweep {
	struct vc_json *root;
	struct vc_json *repl[13];
	size_t runs, bad;
};

static void sweep_slot(struct sweep *sw, struct vc_json **slot)
{
	struct vc_json *orig = *slot;
	for (size_t i = 0; i < VC_ARRAY_SIZE(sw->repl); i++) {
		*slot = sw->repl[i];
		struct vc_json *copy = vc_json_clone(sw->root);
		struct vc_oci_spec *s = NULL;
		struct vc_error err = {0};
		sw->runs++;
		if (vc_oci_spec_from_json(copy, &s, &err) == 0) {
			if (vc_oci_spec_validate(s, &err) < 0 &&
			    (err.code != EINVAL || !strstr(err.msg, ": ")))
				sw->bad++;
			vc_oci_spec_free(s);
			continue;
		}
		vc_json_free(copy);
		if (err.code != EINVAL || !strstr(err.msg, ": ")) {
			fprintf(stderr, "# unexpected error %d `%s`\n", err.code, err.msg);
			sw->bad++;
		}
	}
	*slot = orig;
	if (orig->type == VC_JSON_ARRAY)
		for (size_t i = 0; i < orig->u.array.len; i++)
			sweep_slot(sw, &orig->u.array.items[i]);
	else if (orig->type == VC_JSON_OBJECT)
		for (size_t i = 0; i < orig->u.object.len; i++)
			sweep_slot(sw, &orig->u.object.members[i].value);
}

VC_TEST(any_value_anywhere_fails_cleanly)
{
	static const char *const repl[] = {
		"null",	 "true", "0",  "-1",	  "4294967296", "1.5",	     "\"\"",
		"\"x\"", "[]",	 "{}", "[\"x\"]", "[{}]",	"{\"a\":1}",
	};
	struct sweep sw = {0};
	struct vc_error err = {0};
	_cleanup_json_ struct vc_json *root = NULL;
	CHECK(vc_json_parse(FULL_SPEC, strlen(FULL_SPEC), "full", &root, &err) == 0);
	sw.root = root;
	_Static_assert(VC_ARRAY_SIZE(repl) == VC_ARRAY_SIZE(sw.repl), "one slot per value");
	for (size_t i = 0; i < VC_ARRAY_SIZE(repl); i++)
		CHECK(vc_json_parse(repl[i], strlen(repl[i]), "r", &sw.repl[i], &err) == 0);
	for (size_t i = 0; i < root->u.object.len; i++)
		sweep_slot(&sw, &root->u.object.members[i].value);
	for (size_t i = 0; i < VC_ARRAY_SIZE(repl); i++)
		vc_json_free(sw.repl[i]);
	fprintf(stderr, "# %zu mutated specs\n", sw.runs);
	CHECK(sw.runs > 3000);
	CHECK(sw.bad == 0);
}

VC_TEST(validate_checks_hand_built_models)
{
	struct vc_oci_process p = {0};
	char *args[] = {"ls", NULL};
	struct vc_error err = {0};
	CHECK(vc_oci_process_validate(&p, "process", &err) == -EINVAL);
	CHECK_STR(err.msg, "process.args: must be a non-empty array");
	p.args = args;
	CHECK(vc_oci_process_validate(&p, "process", &err) == -EINVAL);
	CHECK_STR(err.msg, "process.cwd: must be an absolute path");
	p.cwd = "/";
	CHECK(vc_oci_process_validate(&p, "process", &err) == 0);

	struct vc_oci_spec s = {0};
	CHECK(vc_oci_spec_validate(&s, &err) == -EINVAL);
	CHECK_STR(err.msg, "ociVersion: is required");
}

VC_TEST(a_large_spec_parses_quickly)
{
	/* 20000 env entries and 5000 annotations: well over 1 MiB. */
	size_t cap = 4 << 20, n = 0;
	_cleanup_free_ char *text = malloc(cap);
	CHECK(text);
	n += (size_t)snprintf(
		text + n, cap - n,
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
		"\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[");
	for (int i = 0; i < 20000; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "%s\"VAR_%05d=some value of moderate length %d\"",
				      i ? "," : "", i, i);
	n += (size_t)snprintf(text + n, cap - n, "]},\"annotations\":{");
	for (int i = 0; i < 5000; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s\"org.example.key%d\":\"value %d\"",
				      i ? "," : "", i, i);
	n += (size_t)snprintf(text + n, cap - n, "}}");
	CHECK(n > (1 << 20) && n < cap);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	CHECK(vc_oci_spec_parse(text, n, "big.json", &s, &err) == 0);
	CHECK(vc_oci_spec_validate(s, &err) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "# %zu bytes parsed and validated in %.3f s\n", n, secs);
	/* Generous for sanitizer builds; an unoptimised O(n^2) path would take minutes. */
	CHECK(secs < 3.0);
	CHECK(vc_strv_len(s->process->env) == 20000);
	CHECK_STR(s->process->env[19999], "VAR_19999=some value of moderate length 19999");
	CHECK(s->n_annotations == 5000);
	CHECK_STR(vc_oci_spec_annotation(s, "org.example.key4999"), "value 4999");
}

/* ---- the default spec ---- */

/* Runs `runc spec [--rootless]` in dir; false when runc is not there. */
static bool runc_spec(const char *dir, bool rootless)
{
	if (access("/usr/sbin/runc", X_OK) < 0)
		return false;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		char *argv[] = {"runc", "spec", rootless ? "--rootless" : NULL, NULL};
		int null = open("/dev/null", O_WRONLY);
		if (chdir(dir) < 0 || null < 0 || dup2(null, 2) < 0)
			_exit(127);
		execv("/usr/sbin/runc", argv);
		_exit(127);
	}
	int status = 0;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* text with the string value of the first "key": replaced by value. */
static char *replace_value(const char *text, const char *key, const char *value)
{
	_cleanup_free_ char *needle = vc_strdup_printf("\"%s\": \"", key);
	const char *start = needle ? strstr(text, needle) : NULL;
	if (!start)
		return NULL;
	start += strlen(needle);
	const char *end = strchr(start, '"');
	return vc_strdup_printf("%.*s%s%s", (int)(start - text), text, value, end);
}

VC_TEST(default_spec_is_runcs_with_vcrun_hostname)
{
	for (int rootless = 0; rootless <= 1; rootless++) {
		_cleanup_free_ char *json = NULL;
		struct vc_error err = {0};
		CHECK(vc_oci_spec_default_json(rootless, &json, &err) == 0);
		CHECK(json[strlen(json) - 1] == '}');
		CHECK(strstr(
			json,
			"{\n\t\"ociVersion\": \"1.2.0\",\n\t\"process\": {\n\t\t\"terminal\""));

		_cleanup_spec_ struct vc_oci_spec *s = NULL;
		CHECK(parse_spec(json, &s, &err) == 0);
		CHECK(vc_oci_spec_validate(s, &err) == 0);
		CHECK_STR(s->hostname, "vcrun");
		CHECK_STR(s->oci_version, VC_OCI_VERSION);
		CHECK_STR(s->process->args[0], "sh");
		CHECK(s->process->terminal && s->process->no_new_privileges);
		CHECK_STR(s->root->path, "rootfs");
		CHECK(s->n_mounts == 7);
		CHECK_STR(s->linux->masked_paths[9], "/proc/scsi");
		bool has_net = vc_oci_spec_namespace(s, VC_NS_NETWORK) != NULL;
		bool has_user = vc_oci_spec_namespace(s, VC_NS_USER) != NULL;
		CHECK(has_net == !rootless && has_user == !!rootless);
		CHECK((s->linux->resources != NULL) == !rootless);
		CHECK_STR(s->mounts[5].type, rootless ? "none" : "sysfs");
		CHECK((strstr(json, "\"gid=5\"") != NULL) == !rootless);
		if (rootless) {
			CHECK(s->linux->n_uid_mappings == 1 && s->linux->n_gid_mappings == 1);
			CHECK(s->linux->uid_mappings[0].host_id == geteuid());
			CHECK(s->linux->gid_mappings[0].host_id == getegid());
		}

		/* Byte for byte what runc writes, but for the two values vcrun changes. */
		_cleanup_free_ char *dir =
			vc_strdup_printf("%s/runc-spec-%d", vc_unit_tmpdir(), rootless);
		CHECK(dir && mkdir(dir, 0700) == 0);
		if (!runc_spec(dir, rootless)) {
			fprintf(stderr, "# runc not found: comparison with `runc spec` skipped\n");
			continue;
		}
		_cleanup_free_ char *path = vc_strdup_printf("%s/config.json", dir);
		_cleanup_free_ char *runc = NULL;
		CHECK(vc_read_file(path, 1 << 20, &runc, NULL, &err) == 0);
		_cleanup_free_ char *v1 = replace_value(runc, "ociVersion", VC_OCI_VERSION);
		CHECK(v1);
		_cleanup_free_ char *expected = replace_value(v1, "hostname", "vcrun");
		CHECK_STR(json, expected);
	}
}

/* ---- load() ---- */

/* A bundle directory under the test tmpdir holding config (if non-NULL) and,
 * when with_rootfs, an empty rootfs/. */
static char *make_bundle(const char *name, const char *config, bool with_rootfs)
{
	char *dir = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	struct vc_error err = {0};
	if (!dir || vc_mkdir_p(dir, 0755, &err) < 0)
		return NULL;
	if (config) {
		_cleanup_free_ char *path = vc_strdup_printf("%s/config.json", dir);
		if (vc_write_file(path, config, strlen(config), &err) < 0)
			return NULL;
	}
	if (with_rootfs) {
		_cleanup_free_ char *rootfs = vc_strdup_printf("%s/rootfs", dir);
		if (mkdir(rootfs, 0755) < 0)
			return NULL;
	}
	return dir;
}

VC_TEST(load_resolves_bundle_and_rootfs)
{
	_cleanup_free_ char *dir = make_bundle("good", FULL_SPEC, true);
	CHECK(dir);
	_cleanup_free_ char *real = realpath(dir, NULL);
	_cleanup_free_ char *real_rootfs = vc_strdup_printf("%s/rootfs", real);

	/* A relative bundle path comes back absolute. */
	_cleanup_close_ int cwd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(cwd >= 0 && chdir(vc_unit_tmpdir()) == 0);
	_cleanup_spec_ struct vc_oci_spec *s = NULL;
	struct vc_error err = {0};
	int r = vc_oci_spec_load("good", &s, &err);
	CHECK(fchdir(cwd) == 0);
	CHECK(r == 0);
	CHECK_STR(s->bundle, real);
	CHECK_STR(s->rootfs_abs, real_rootfs);
	CHECK_STR(s->root->path, "rootfs");

	/* An absolute root.path, through a symlink, is used as given but resolved. */
	_cleanup_free_ char *link = vc_strdup_printf("%s/link-to-rootfs", vc_unit_tmpdir());
	CHECK(symlink(real_rootfs, link) == 0);
	_cleanup_free_ char *cfg = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"%s\"},\"process\":{\"user\":"
		"{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}}",
		link);
	_cleanup_free_ char *dir2 = make_bundle("abs-root", cfg, false);
	CHECK(dir2);
	_cleanup_spec_ struct vc_oci_spec *s2 = NULL;
	CHECK(vc_oci_spec_load(dir2, &s2, &err) == 0);
	CHECK_STR(s2->rootfs_abs, real_rootfs);
}

VC_TEST(load_errors_name_bundle_file_and_field)
{
	_cleanup_free_ char *tmp = realpath(vc_unit_tmpdir(), NULL);
	CHECK(tmp);
	_cleanup_free_ char *missing = vc_strdup_printf("%s/nope", tmp);
	_cleanup_free_ char *file_bundle = make_bundle("file-bundle", "{}", false);
	_cleanup_free_ char *a_file = vc_strdup_printf("%s/config.json", file_bundle);
	_cleanup_free_ char *no_config = make_bundle("no-config", NULL, true);
	_cleanup_free_ char *malformed = make_bundle("malformed", "{\"ociVersion\": ", true);
	_cleanup_free_ char *no_rootfs = make_bundle("no-rootfs", FULL_SPEC, false);
	_cleanup_free_ char *file_rootfs = make_bundle("file-rootfs", FULL_SPEC, false);
	_cleanup_free_ char *file_rootfs_path = vc_strdup_printf("%s/rootfs", file_rootfs);
	struct vc_error err = {0};
	CHECK(vc_write_file(file_rootfs_path, "x", 1, &err) == 0);
	_cleanup_free_ char *no_process = make_bundle(
		"no-process", "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}}", true);
	_cleanup_free_ char *no_root =
		make_bundle("no-root",
			    "{\"ociVersion\":\"1.2.0\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
			    "\"args\":[\"sh\"],\"cwd\":\"/\"}}",
			    true);
	_cleanup_free_ char *invalid = make_bundle(
		"invalid",
		"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"user\":"
		"{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"tmp\"}}",
		true);

	struct {
		const char *bundle;
		int code;
		char *msg;
	} cases[] = {
		{missing, -ENOENT,
		 vc_strdup_printf("bundle `%s`: No such file or directory", missing)},
		{a_file, -ENOTDIR, vc_strdup_printf("bundle `%s`: Not a directory", a_file)},
		{no_config, -ENOENT,
		 vc_strdup_printf("open `%s/config.json`: No such file or directory", no_config)},
		{malformed, -EINVAL,
		 vc_strdup_printf("%s/config.json: parse error at byte 15: premature EOF",
				  malformed)},
		{no_rootfs, -ENOENT,
		 vc_strdup_printf("%s/config.json: root.path: rootfs `%s/rootfs` does not exist",
				  no_rootfs, no_rootfs)},
		{file_rootfs, -ENOTDIR,
		 vc_strdup_printf(
			 "%s/config.json: root.path: rootfs `%s/rootfs` is not a directory",
			 file_rootfs, file_rootfs)},
		{no_process, -EINVAL,
		 vc_strdup_printf("%s/config.json: process: is required", no_process)},
		{no_root, -EINVAL, vc_strdup_printf("%s/config.json: root: is required", no_root)},
		{invalid, -EINVAL,
		 vc_strdup_printf("%s/config.json: process.cwd: must be an absolute path",
				  invalid)},
	};
	int failed = 0;
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		struct vc_oci_spec *s = NULL;
		vc_error_clear(&err);
		int r = vc_oci_spec_load(cases[i].bundle, &s, &err);
		if (r != cases[i].code || s || !cases[i].msg || strcmp(err.msg, cases[i].msg)) {
			fprintf(stderr, "# load(%s) = %d `%s`, want %d `%s`\n", cases[i].bundle, r,
				err.msg, cases[i].code, cases[i].msg);
			failed++;
		}
		vc_oci_spec_free(s);
		free(cases[i].msg);
	}
	CHECK(failed == 0);
}

/* ---- process objects, name tables ---- */

VC_TEST(process_from_json_prefixes_errors_and_validates)
{
	static const struct {
		const char *text, *prefix, *msg;
	} cases[] = {
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"ls\"],\"cwd\":\"/\"}", "", NULL},
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"ls\"]}", "", "cwd: is required"},
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"ls\"]}", "process",
		 "process.cwd: is required"},
		{"{\"user\":{\"uid\":1},\"args\":[\"ls\"],\"cwd\":\"/\"}", "exec",
		 "exec.user.gid: is required"},
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"ls\"],\"cwd\":\"x\"}", "process",
		 "process.cwd: must be an absolute path"},
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[],\"cwd\":\"/\"}", "process",
		 "process.args: must be a non-empty array"},
		{"{\"user\":{\"uid\":1,\"gid\":2},\"args\":[\"ls\"],\"cwd\":\"/\",\"capabilities\":"
		 "{\"bounding\":[\"CAP_NOPE\"]}}",
		 "process", "process.capabilities.bounding[0]: unknown capability \"CAP_NOPE\""},
		{"[]", "process", "process: must be an object"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_json_ struct vc_json *v = NULL;
		struct vc_error err = {0};
		CHECK(vc_json_parse(cases[i].text, strlen(cases[i].text), "p", &v, &err) == 0);
		struct vc_oci_process *p = NULL;
		int r = vc_oci_process_from_json(v, cases[i].prefix, &p, &err);
		if (!cases[i].msg) {
			CHECK(r == 0 && p);
			CHECK(p->user.uid == 1 && p->user.gid == 2 && p->env && !p->env[0]);
			vc_oci_process_free(p);
			continue;
		}
		CHECK(r == -EINVAL && p == NULL);
		CHECK_STR(err.msg, cases[i].msg);
	}
}

VC_TEST(resources_from_json_stands_alone)
{
	static const char ok[] = R"({"memory": {"limit": 1048576}, "cpu": {"quota": -1},
				     "pids": {"limit": 5}, "unified": {"io.weight": "10"}})";
	_cleanup_json_ struct vc_json *v = NULL;
	struct vc_error err = {0};
	CHECK(vc_json_parse(ok, strlen(ok), "r", &v, &err) == 0);
	struct vc_oci_resources *r = NULL;
	CHECK(vc_oci_resources_from_json(v, "", &r, &err) == 0);
	CHECK(r->has_memory_limit && r->memory_limit == 1048576);
	CHECK(r->has_cpu_quota && r->cpu_quota == -1 && !r->has_cpu_shares);
	CHECK(r->has_pids_limit && r->pids_limit == 5 && r->raw == v);
	vc_oci_resources_free(r);

	static const struct {
		const char *text, *path, *msg;
	} bad[] = {
		{"{\"pids\":{}}", "linux.resources", "linux.resources.pids.limit: is required"},
		{"{\"memory\":{\"swap\":\"x\"}}", "", "memory.swap: must be a 64-bit integer"},
		{"[]", "", "resources: must be an object"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		_cleanup_json_ struct vc_json *b = NULL;
		CHECK(vc_json_parse(bad[i].text, strlen(bad[i].text), "r", &b, &err) == 0);
		r = NULL;
		CHECK(vc_oci_resources_from_json(b, bad[i].path, &r, &err) == -EINVAL && !r);
		CHECK_STR(err.msg, bad[i].msg);
	}
}

VC_TEST(name_tables)
{
	CHECK(vc_oci_rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE);
	CHECK(vc_oci_rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME);
	CHECK(vc_oci_rlimit_from_name("NOFILE") == -EINVAL);
	CHECK(vc_oci_rlimit_from_name(NULL) == -EINVAL);
	CHECK_STR(vc_oci_rlimit_name(RLIMIT_AS), "RLIMIT_AS");
	CHECK(vc_oci_rlimit_name(RLIMIT_NLIMITS) == NULL);
	CHECK(vc_oci_cap_from_name("CAP_CHOWN") == 0);
	CHECK(vc_oci_cap_from_name("CAP_SYS_ADMIN") == 21);
	CHECK(vc_oci_cap_from_name("CAP_CHECKPOINT_RESTORE") == 40);
	CHECK(vc_oci_cap_from_name("CAP_MAC_ADMIN") == 33);
	CHECK(vc_oci_cap_from_name("cap_chown") == -EINVAL);
	CHECK_STR(vc_oci_cap_name(39), "CAP_BPF");
	CHECK(vc_oci_cap_name(41) == NULL && vc_oci_cap_name(-1) == NULL);
	for (int t = 0; t < VC_NS__COUNT; t++)
		CHECK(vc_oci_ns_from_name(vc_oci_ns_name((enum vc_oci_ns_type)t)) == t);
	CHECK(vc_oci_ns_from_name("net") == -EINVAL);
	CHECK_STR(vc_oci_ns_name(VC_NS_NETWORK), "network");
}

/* ---- state JSON ---- */

VC_TEST(state_json_is_runcs)
{
	static const struct vc_oci_annotation ann[] = {
		{"org.b", "2"}, {"org.a", "1"}, {"org.b", "3"}, {"quote", "a\"b"}};
	struct vc_oci_state st = {
		.id = "c1",
		.pid = 4242,
		.status = "running",
		.bundle = "/run/b",
		.rootfs = "/run/b/rootfs",
		.created = "2024-01-02T03:04:05.123456789Z",
		.owner = "",
	};
	struct vc_error err = {0};
	_cleanup_free_ char *plain = NULL, *plain_compact = NULL;
	CHECK(vc_oci_state_to_json(&st, true, &plain, &err) == 0);
	CHECK_STR(plain, "{\n"
			 "  \"ociVersion\": \"1.2.0\",\n"
			 "  \"id\": \"c1\",\n"
			 "  \"pid\": 4242,\n"
			 "  \"status\": \"running\",\n"
			 "  \"bundle\": \"/run/b\",\n"
			 "  \"rootfs\": \"/run/b/rootfs\",\n"
			 "  \"created\": \"2024-01-02T03:04:05.123456789Z\",\n"
			 "  \"owner\": \"\"\n"
			 "}");
	CHECK(vc_oci_state_to_json(&st, false, &plain_compact, &err) == 0);
	CHECK_STR(plain_compact,
		  "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"pid\":4242,\"status\":\"running\","
		  "\"bundle\":\"/run/b\",\"rootfs\":\"/run/b/rootfs\","
		  "\"created\":\"2024-01-02T03:04:05.123456789Z\",\"owner\":\"\"}");

	/* Annotations sorted (a Go map), last duplicate wins, between created and owner. */
	st.annotations = ann;
	st.n_annotations = VC_ARRAY_SIZE(ann);
	st.pid = 0;
	st.status = "stopped";
	st.owner = NULL;
	st.oci_version = "1.0.2-dev";
	_cleanup_free_ char *with = NULL, *hook = NULL;
	CHECK(vc_oci_state_to_json(&st, true, &with, &err) == 0);
	CHECK_STR(with, "{\n"
			"  \"ociVersion\": \"1.0.2-dev\",\n"
			"  \"id\": \"c1\",\n"
			"  \"pid\": 0,\n"
			"  \"status\": \"stopped\",\n"
			"  \"bundle\": \"/run/b\",\n"
			"  \"rootfs\": \"/run/b/rootfs\",\n"
			"  \"created\": \"2024-01-02T03:04:05.123456789Z\",\n"
			"  \"annotations\": {\n"
			"    \"org.a\": \"1\",\n"
			"    \"org.b\": \"3\",\n"
			"    \"quote\": \"a\\\"b\"\n"
			"  },\n"
			"  \"owner\": \"\"\n"
			"}");

	/* Hooks get the runtime-spec State: no pid once stopped, no rootfs/created/owner. */
	CHECK(vc_oci_state_to_hook_json(&st, &hook, &err) == 0);
	CHECK_STR(hook, "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"c1\",\"status\":\"stopped\","
			"\"bundle\":\"/run/b\",\"annotations\":{\"org.a\":\"1\",\"org.b\":\"3\","
			"\"quote\":\"a\\\"b\"}}");
	st.pid = 7;
	st.n_annotations = 0;
	_cleanup_free_ char *hook2 = NULL;
	CHECK(vc_oci_state_to_hook_json(&st, &hook2, &err) == 0);
	CHECK_STR(hook2, "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"c1\",\"status\":\"stopped\","
			 "\"pid\":7,\"bundle\":\"/run/b\"}");
}

VC_TESTS(VC_T(full_spec_process_and_root),
	 VC_T(full_spec_mounts_hooks_annotations_and_unknown_fields), VC_T(full_spec_linux),
	 VC_T(minimal_spec_leaves_optional_fields_empty), VC_T(required_fields_missing_are_named),
	 VC_T(wrong_types_name_path_and_expected_type),
	 VC_T(validation_catches_what_the_schema_cannot), VC_T(any_value_anywhere_fails_cleanly),
	 VC_T(validate_checks_hand_built_models), VC_T(a_large_spec_parses_quickly),
	 VC_T(default_spec_is_runcs_with_vcrun_hostname), VC_T(load_resolves_bundle_and_rootfs),
	 VC_T(load_errors_name_bundle_file_and_field),
	 VC_T(process_from_json_prefixes_errors_and_validates),
	 VC_T(resources_from_json_stands_alone), VC_T(name_tables), VC_T(state_json_is_runcs))
