/* config.json "process": user, capabilities, rlimits, console size. Also the
 * standalone process object of `exec --process`. */
#include "oci/spec.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "oci/parse-util.h"
#include "oci/spec-internal.h"

/* Indexed by the kernel's number, so lookups give the value to pass to it. */
#define NAMED(x) [x] = #x
static const char *const rlimit_names[RLIMIT_NLIMITS] = {
	NAMED(RLIMIT_CPU),	NAMED(RLIMIT_FSIZE), NAMED(RLIMIT_DATA),   NAMED(RLIMIT_STACK),
	NAMED(RLIMIT_CORE),	NAMED(RLIMIT_RSS),   NAMED(RLIMIT_NPROC),  NAMED(RLIMIT_NOFILE),
	NAMED(RLIMIT_MEMLOCK),	NAMED(RLIMIT_AS),    NAMED(RLIMIT_LOCKS),  NAMED(RLIMIT_SIGPENDING),
	NAMED(RLIMIT_MSGQUEUE), NAMED(RLIMIT_NICE),  NAMED(RLIMIT_RTPRIO), NAMED(RLIMIT_RTTIME),
};

static const char *const cap_names[CAP_CHECKPOINT_RESTORE + 1] = {
	NAMED(CAP_CHOWN),
	NAMED(CAP_DAC_OVERRIDE),
	NAMED(CAP_DAC_READ_SEARCH),
	NAMED(CAP_FOWNER),
	NAMED(CAP_FSETID),
	NAMED(CAP_KILL),
	NAMED(CAP_SETGID),
	NAMED(CAP_SETUID),
	NAMED(CAP_SETPCAP),
	NAMED(CAP_LINUX_IMMUTABLE),
	NAMED(CAP_NET_BIND_SERVICE),
	NAMED(CAP_NET_BROADCAST),
	NAMED(CAP_NET_ADMIN),
	NAMED(CAP_NET_RAW),
	NAMED(CAP_IPC_LOCK),
	NAMED(CAP_IPC_OWNER),
	NAMED(CAP_SYS_MODULE),
	NAMED(CAP_SYS_RAWIO),
	NAMED(CAP_SYS_CHROOT),
	NAMED(CAP_SYS_PTRACE),
	NAMED(CAP_SYS_PACCT),
	NAMED(CAP_SYS_ADMIN),
	NAMED(CAP_SYS_BOOT),
	NAMED(CAP_SYS_NICE),
	NAMED(CAP_SYS_RESOURCE),
	NAMED(CAP_SYS_TIME),
	NAMED(CAP_SYS_TTY_CONFIG),
	NAMED(CAP_MKNOD),
	NAMED(CAP_LEASE),
	NAMED(CAP_AUDIT_WRITE),
	NAMED(CAP_AUDIT_CONTROL),
	NAMED(CAP_SETFCAP),
	NAMED(CAP_MAC_OVERRIDE),
	NAMED(CAP_MAC_ADMIN),
	NAMED(CAP_SYSLOG),
	NAMED(CAP_WAKE_ALARM),
	NAMED(CAP_BLOCK_SUSPEND),
	NAMED(CAP_AUDIT_READ),
	NAMED(CAP_PERFMON),
	NAMED(CAP_BPF),
	NAMED(CAP_CHECKPOINT_RESTORE),
};

static const struct {
	const char *key;
	size_t off;
} cap_sets[] = {
	{"bounding", offsetof(struct vc_oci_capabilities, bounding)},
	{"effective", offsetof(struct vc_oci_capabilities, effective)},
	{"inheritable", offsetof(struct vc_oci_capabilities, inheritable)},
	{"permitted", offsetof(struct vc_oci_capabilities, permitted)},
	{"ambient", offsetof(struct vc_oci_capabilities, ambient)},
};

static char ***cap_set(struct vc_oci_capabilities *c, size_t i)
{
	return (char ***)((char *)c + cap_sets[i].off);
}

int vc_oci_rlimit_from_name(const char *name)
{
	int i = name ? pu_lookup(name, rlimit_names, VC_ARRAY_SIZE(rlimit_names)) : -1;
	return i < 0 ? -EINVAL : i;
}

const char *vc_oci_rlimit_name(int resource)
{
	return resource >= 0 && (size_t)resource < VC_ARRAY_SIZE(rlimit_names)
		       ? rlimit_names[resource]
		       : NULL;
}

int vc_oci_cap_from_name(const char *name)
{
	int i = name ? pu_lookup(name, cap_names, VC_ARRAY_SIZE(cap_names)) : -1;
	return i < 0 ? -EINVAL : i;
}

const char *vc_oci_cap_name(int cap)
{
	return cap >= 0 && (size_t)cap < VC_ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

void vc_oci_process_free(struct vc_oci_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	pu_strv_free(p->args);
	pu_strv_free(p->env);
	free(p->cwd);
	if (p->capabilities) {
		for (size_t i = 0; i < VC_ARRAY_SIZE(cap_sets); i++)
			pu_strv_free(*cap_set(p->capabilities, i));
		free(p->capabilities);
	}
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p);
}

static void process_freep(struct vc_oci_process **p)
{
	vc_oci_process_free(*p);
}

static int parse_user(const struct vc_json *proc, const char *path, struct vc_oci_user *u,
		      struct vc_error *err)
{
	/* runc and crun run a process without "user" as root; but inside a "user",
	 * uid and gid are required (spec prose), so a misspelt "UID" cannot quietly
	 * mean root. */
	const struct vc_json *o = NULL;
	int r = pu_object(proc, path, "user", 0, &o, err);
	if (r <= 0)
		return r;
	char up[PU_PATH_MAX];
	pu_path_key(up, path, "user");
	if ((r = pu_u32(o, up, "uid", PU_REQUIRED, &u->uid, err)) < 0 ||
	    (r = pu_u32(o, up, "gid", PU_REQUIRED, &u->gid, err)) < 0 ||
	    (r = pu_u32(o, up, "umask", 0, &u->umask, err)) < 0)
		return r;
	u->has_umask = r > 0;
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits on Linux");
	uint32_t *gids = NULL;
	r = pu_u32_array(o, up, "additionalGids", 0, &gids, &u->n_additional_gids, err);
	u->additional_gids = (gid_t *)gids;
	if (r < 0)
		return r;
	r = pu_string(o, up, "username", 0, &u->username, err);
	return r < 0 ? r : 0;
}

static int parse_console_size(const struct vc_json *proc, const char *path,
			      struct vc_oci_process *p, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(proc, path, "consoleSize", 0, &o, err);
	if (r <= 0)
		return r;
	char cp[PU_PATH_MAX];
	pu_path_key(cp, path, "consoleSize");
	if ((r = pu_u32(o, cp, "height", PU_REQUIRED, &p->console_size.height, err)) < 0 ||
	    (r = pu_u32(o, cp, "width", PU_REQUIRED, &p->console_size.width, err)) < 0)
		return r;
	p->has_console_size = true;
	return 0;
}

static int parse_capabilities(const struct vc_json *proc, const char *path,
			      struct vc_oci_process *p, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(proc, path, "capabilities", 0, &o, err);
	if (r <= 0)
		return r;
	p->capabilities = calloc(1, sizeof(*p->capabilities));
	if (!p->capabilities)
		return pu_oom(err);
	char cp[PU_PATH_MAX];
	pu_path_key(cp, path, "capabilities");
	for (size_t i = 0; i < VC_ARRAY_SIZE(cap_sets); i++) {
		r = pu_strv(o, cp, cap_sets[i].key, 0, cap_set(p->capabilities, i), err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_rlimit(const struct vc_json *o, const char *path, void *elem, struct vc_error *err)
{
	struct vc_oci_rlimit *rl = elem;
	int r;
	if ((r = pu_string(o, path, "type", PU_REQUIRED, &rl->type, err)) < 0 ||
	    (r = pu_u64(o, path, "hard", PU_REQUIRED, &rl->hard, err)) < 0 ||
	    (r = pu_u64(o, path, "soft", PU_REQUIRED, &rl->soft, err)) < 0)
		return r;
	return 0;
}

int oci_process_parse(const struct vc_json *v, const char *path, struct vc_oci_process *p,
		      struct vc_error *err)
{
	int r;
	if ((r = pu_bool(v, path, "terminal", 0, &p->terminal, err)) < 0 ||
	    (r = parse_console_size(v, path, p, err)) < 0 ||
	    (r = parse_user(v, path, &p->user, err)) < 0 ||
	    (r = pu_strv(v, path, "args", PU_NONEMPTY, &p->args, err)) < 0 ||
	    (r = pu_strv(v, path, "env", 0, &p->env, err)) < 0 ||
	    (r = pu_string(v, path, "cwd", PU_REQUIRED, &p->cwd, err)) < 0 ||
	    (r = parse_capabilities(v, path, p, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(v, path, "rlimits", 0, &p->rlimits, &p->n_rlimits, parse_rlimit,
				 err)) < 0 ||
	    (r = pu_bool(v, path, "noNewPrivileges", 0, &p->no_new_privileges, err)) < 0 ||
	    (r = pu_string(v, path, "apparmorProfile", 0, &p->apparmor_profile, err)) < 0 ||
	    (r = pu_int(v, path, "oomScoreAdj", 0, &p->oom_score_adj, err)) < 0)
		return r;
	p->has_oom_score_adj = r > 0;
	if ((r = pu_string(v, path, "selinuxLabel", 0, &p->selinux_label, err)) < 0)
		return r;
	/* Callers iterate env without a NULL check: absent reads as empty. */
	if (!p->env && !(p->env = calloc(1, sizeof(*p->env))))
		return pu_oom(err);
	return 0;
}

static int validate_rlimits(const struct vc_oci_process *p, const char *path, struct vc_error *err)
{
	bool seen[RLIMIT_NLIMITS] = {false};
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct vc_oci_rlimit *rl = &p->rlimits[i];
		char rp[PU_PATH_MAX];
		pu_path_index(rp, path, "rlimits", i);
		int r = pu_check_known(rl->type, rlimit_names, VC_ARRAY_SIZE(rlimit_names),
				       "rlimit", rp, "type", err);
		if (r < 0)
			return r;
		int res = vc_oci_rlimit_from_name(rl->type);
		if (seen[res])
			return pu_fail(err, rp, "type", "duplicate rlimit \"%s\"", rl->type);
		seen[res] = true;
		/* setrlimit(2) would fail with a bare EINVAL inside the guest. */
		if (rl->soft > rl->hard)
			return pu_fail(err, rp, NULL, "soft limit %llu exceeds hard limit %llu",
				       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	}
	return 0;
}

int vc_oci_process_validate(const struct vc_oci_process *p, const char *path, struct vc_error *err)
{
	if (!p->args || !p->args[0])
		return pu_fail(err, path, "args", "must be a non-empty array");
	int r = pu_check_abs(p->cwd, path, "cwd", err);
	if (r < 0)
		return r;
	if ((r = validate_rlimits(p, path, err)) < 0)
		return r;
	if (p->capabilities) {
		char cp[PU_PATH_MAX];
		pu_path_key(cp, path, "capabilities");
		for (size_t i = 0; i < VC_ARRAY_SIZE(cap_sets); i++) {
			char **set = *cap_set(p->capabilities, i);
			r = pu_check_known_strv(set, cap_names, VC_ARRAY_SIZE(cap_names),
						"capability", cp, cap_sets[i].key, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int vc_oci_process_from_json(const struct vc_json *v, const char *path, struct vc_oci_process **out,
			     struct vc_error *err)
{
	if (!v || v->type != VC_JSON_OBJECT)
		return pu_fail(err, path && path[0] ? path : "process", NULL, "must be an object");
	__attribute__((cleanup(process_freep))) struct vc_oci_process *p = calloc(1, sizeof(*p));
	if (!p)
		return pu_oom(err);
	int r = oci_process_parse(v, path, p, err);
	if (r < 0)
		return r;
	if ((r = vc_oci_process_validate(p, path, err)) < 0)
		return r;
	*out = steal_ptr(p);
	return 0;
}
