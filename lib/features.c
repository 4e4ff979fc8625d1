/* `vcrun features`: the runtime-spec features document, saying what vcrun really
 * does. The container runs in a guest kernel: cgroup v2 only, no host LSMs, no time
 * namespaces (the agent refuses them); hooks run on the host. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>

#include "common/cleanup.h"
#include "lib/vcrun.h"
#include "oci/json.h"
#include "oci/spec.h"

static void strings(struct vc_jgen *g, const char *key, const char *const *v)
{
	vc_jgen_key(g, key);
	vc_jgen_array_open(g);
	for (; *v; v++)
		vc_jgen_string(g, *v);
	vc_jgen_array_close(g);
}

int vc_features_json(char **out, struct vc_error *err)
{
	static const char *const hooks[] = {"prestart",
					    "createRuntime",
					    "createContainer",
					    "startContainer",
					    "poststart",
					    "poststop",
					    NULL};
	/* What the agent's mount-option parser knows (agent/mounts.c). */
	static const char *const mount_options[] = {
		"async",      "atime",	     "bind",	   "defaults",	    "dev",
		"diratime",   "dirsync",     "exec",	   "lazytime",	    "loud",
		"mand",	      "noatime",     "nodev",	   "nodiratime",    "noexec",
		"nolazytime", "nomand",	     "norelatime", "nostrictatime", "nosuid",
		"private",    "rbind",	     "rdev",	   "rdiratime",	    "relatime",
		"remount",    "rexec",	     "rnoatime",   "rnodev",	    "rnodiratime",
		"rnoexec",    "rnosuid",     "ro",	   "rprivate",	    "rrelatime",
		"rro",	      "rrw",	     "rshared",	   "rslave",	    "rstrictatime",
		"rsuid",      "runbindable", "rw",	   "shared",	    "silent",
		"slave",      "strictatime", "suid",	   "sync",	    "unbindable",
		NULL,
	};
	static const char *const namespaces[] = {"cgroup", "ipc",  "mount", "network",
						 "pid",	   "user", "uts",   NULL};
	static const char *const actions[] = {
		"SCMP_ACT_ALLOW",	 "SCMP_ACT_ERRNO",	 "SCMP_ACT_KILL",
		"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
		"SCMP_ACT_TRACE",	 "SCMP_ACT_TRAP",	 NULL,
	};
	static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
						"SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
						"SCMP_CMP_NE", NULL};
	/* The guest is x86_64: these are the ABIs its kernel runs. */
	static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
					    NULL};

	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new_indent("    ");
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "ociVersionMin", "1.0.0");
	vc_jgen_kv_string(g, "ociVersionMax", VC_OCI_VERSION);
	strings(g, "hooks", hooks);
	strings(g, "mountOptions", mount_options);
	vc_jgen_key(g, "linux");
	vc_jgen_object_open(g);
	strings(g, "namespaces", namespaces);
	vc_jgen_key(g, "capabilities");
	vc_jgen_array_open(g);
	for (int cap = 0; cap < 64; cap++)
		if (vc_oci_cap_name(cap))
			vc_jgen_string(g, vc_oci_cap_name(cap));
	vc_jgen_array_close(g);
	vc_jgen_key(g, "cgroup");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "v1", false);
	vc_jgen_kv_bool(g, "v2", true);
	vc_jgen_kv_bool(g, "systemd", false);
	vc_jgen_kv_bool(g, "systemdUser", false);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "seccomp");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "enabled", true);
	strings(g, "actions", actions);
	strings(g, "operators", operators);
	strings(g, "archs", archs);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "apparmor");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "enabled", false);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "selinux");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "enabled", false);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "annotations");
	vc_jgen_object_open(g);
	const struct scmp_version *v = seccomp_version();
	char ver[32];
	snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
	vc_jgen_kv_string(g, "io.github.seccomp.libseccomp.version", ver);
	vc_jgen_kv_string(g, "org.opencontainers.runc.checkpoint.enabled", "false");
	vc_jgen_kv_string(g, "run.vcrun.vm", "true");
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, out, NULL, err);
}
