/* What a process gives up between StartContainer and execve: capabilities
 * (libcap), no_new_privileges, and the spec's seccomp profile (libseccomp). The
 * order follows runc: without no_new_privileges the filter must be loaded while
 * CAP_SYS_ADMIN is still effective; with it, as late as possible. */
#include "agent/agent.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "common/cleanup.h"

static void cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}
#define _cleanup_cap_ __attribute__((cleanup(cap_freep)))

static void scmp_freep(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}
#define _cleanup_scmp_ __attribute__((cleanup(scmp_freep)))

/* Unknown names are skipped with a warning, as runc does, so a newer profile
 * still runs on an older kernel. */
static bool cap_in(char *const *list, cap_value_t v)
{
	for (size_t i = 0; list && list[i]; i++) {
		cap_value_t c;
		if (cap_from_name(list[i], &c) == 0 && c == v)
			return true;
	}
	return false;
}

static void warn_unknown_caps(char *const *list)
{
	for (size_t i = 0; list && list[i]; i++) {
		cap_value_t c;
		if (cap_from_name(list[i], &c) < 0 || c >= cap_max_bits())
			agent_warn("unknown capability `%s`: ignored", list[i]);
	}
}

/* After a uid change with PR_SET_KEEPCAPS only the permitted set survives;
 * dropping the bounding set and loading seccomp need them effective again. */
static int raise_effective(struct vc_error *err)
{
	_cleanup_cap_ cap_t c = cap_get_proc();
	if (!c)
		return vc_error_sys(err, errno, "cap_get_proc");
	for (cap_value_t v = 0; v < cap_max_bits(); v++) {
		cap_flag_value_t on = CAP_CLEAR;
		if (cap_get_flag(c, v, CAP_PERMITTED, &on) == 0 && on == CAP_SET)
			cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	if (cap_set_proc(c) < 0)
		return vc_error_sys(err, errno, "cap_set_proc");
	return 0;
}

int agent_caps_apply(const struct vc_oci_capabilities *caps, struct vc_error *err)
{
	if (!caps)
		return 0; /* as runc: no capabilities object, no change */
	char **sets[] = {caps->bounding, caps->effective, caps->permitted, caps->inheritable,
			 caps->ambient};
	for (size_t i = 0; i < VC_ARRAY_SIZE(sets); i++)
		warn_unknown_caps(sets[i]);

	for (cap_value_t v = 0; v < cap_max_bits(); v++) {
		if (!cap_in(caps->bounding, v) && cap_drop_bound(v) < 0 && errno != EINVAL)
			return vc_error_sys(err, errno, "drop capability %d from the bounding set",
					    (int)v);
	}
	_cleanup_cap_ cap_t c = cap_init();
	if (!c)
		return vc_error_sys(err, errno, "cap_init");
	for (cap_value_t v = 0; v < cap_max_bits(); v++) {
		if (cap_in(caps->effective, v))
			cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
		if (cap_in(caps->permitted, v))
			cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
		if (cap_in(caps->inheritable, v))
			cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET);
	}
	if (cap_set_proc(c) < 0)
		return vc_error_sys(err, errno, "set capabilities");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return vc_error_sys(err, errno, "reset ambient capabilities");
	for (size_t i = 0; caps->ambient && caps->ambient[i]; i++) {
		cap_value_t v;
		/* runc ignores this: a cap not in permitted+inheritable cannot be ambient */
		if (cap_from_name(caps->ambient[i], &v) == 0 && v < cap_max_bits() &&
		    cap_set_ambient(v, CAP_SET) < 0)
			agent_dbg("ambient %s: %s", caps->ambient[i], strerror(errno));
	}
	return 0;
}

static int seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out,
			  struct vc_error *err)
{
	uint32_t e = has_errno ? errno_ret : EPERM;
	static const struct {
		const char *name;
		uint32_t act;
	} acts[] = {
		{"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
		{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
		{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
		{"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
		{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
		{"SCMP_ACT_LOG", SCMP_ACT_LOG},
	};
	if (!name)
		return vc_error_set(err, EINVAL, "missing seccomp action");
	for (size_t i = 0; i < VC_ARRAY_SIZE(acts); i++) {
		if (!strcmp(name, acts[i].name)) {
			*out = acts[i].act;
			return 0;
		}
	}
	if (!strcmp(name, "SCMP_ACT_ERRNO")) {
		*out = SCMP_ACT_ERRNO(e);
		return 0;
	}
	if (!strcmp(name, "SCMP_ACT_TRACE")) {
		*out = SCMP_ACT_TRACE(e);
		return 0;
	}
	if (!strcmp(name, "SCMP_ACT_NOTIFY"))
		return vc_error_set(err, ENOTSUP,
				    "seccomp action SCMP_ACT_NOTIFY is not supported "
				    "in the guest");
	return vc_error_set(err, EINVAL, "unknown seccomp action `%s`", name);
}

static int seccomp_op(const char *name, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{"SCMP_CMP_NE", SCMP_CMP_NE},
		{"SCMP_CMP_LT", SCMP_CMP_LT},
		{"SCMP_CMP_LE", SCMP_CMP_LE},
		{"SCMP_CMP_EQ", SCMP_CMP_EQ},
		{"SCMP_CMP_GE", SCMP_CMP_GE},
		{"SCMP_CMP_GT", SCMP_CMP_GT},
		{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};
	for (size_t i = 0; name && i < VC_ARRAY_SIZE(ops); i++) {
		if (!strcmp(name, ops[i].name)) {
			*out = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

static int seccomp_flags(scmp_filter_ctx ctx, char *const *flags, struct vc_error *err)
{
	for (size_t i = 0; flags && flags[i]; i++) {
		enum scmp_filter_attr attr;
		if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_TSYNC"))
			attr = SCMP_FLTATR_CTL_TSYNC;
		else if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_LOG"))
			attr = SCMP_FLTATR_CTL_LOG;
		else if (!strcmp(flags[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			attr = SCMP_FLTATR_CTL_SSB;
		else
			return vc_error_set(err, EINVAL, "linux.seccomp.flags: unknown flag `%s`",
					    flags[i]);
		int r = seccomp_attr_set(ctx, attr, 1);
		if (r < 0)
			return vc_error_sys(err, -r, "linux.seccomp.flags: %s", flags[i]);
	}
	return 0;
}

static int seccomp_archs(scmp_filter_ctx ctx, char *const *archs, struct vc_error *err)
{
	for (size_t i = 0; archs && archs[i]; i++) {
		const char *a = archs[i];
		char name[32];
		size_t j = 0;
		if (!strncmp(a, "SCMP_ARCH_", 10))
			a += 10;
		for (; a[j] && j < sizeof(name) - 1; j++)
			name[j] = (char)(a[j] >= 'A' && a[j] <= 'Z' ? a[j] - 'A' + 'a' : a[j]);
		name[j] = '\0';
		uint32_t arch = seccomp_arch_resolve_name(name);
		if (!arch) {
			agent_warn("unknown seccomp architecture `%s`: ignored", archs[i]);
			continue;
		}
		int r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return vc_error_sys(err, -r, "seccomp: add architecture %s", archs[i]);
	}
	return 0;
}

static int seccomp_rule(scmp_filter_ctx ctx, uint32_t def, const struct vc_oci_seccomp_syscall *s,
			struct vc_error *err)
{
	uint32_t act;
	int r = seccomp_action(s->action, s->has_errno_ret, s->errno_ret, &act, err);
	if (r < 0)
		return r;
	if (act == def)
		return 0; /* libseccomp refuses a rule that repeats the default */
	if (s->n_args > 6)
		return vc_error_set(err, EINVAL, "seccomp: more than 6 argument conditions");
	struct scmp_arg_cmp cmp[6];
	unsigned count[6] = {0};
	bool split = false;
	for (size_t i = 0; i < s->n_args; i++) {
		const struct vc_oci_seccomp_arg *a = &s->args[i];
		if (a->index > 5 || seccomp_op(a->op, &cmp[i].op) < 0)
			return vc_error_set(err, EINVAL,
					    "seccomp: bad argument condition (index %u, "
					    "op %s)",
					    a->index, a->op ? a->op : "none");
		cmp[i].arg = a->index;
		cmp[i].datum_a = a->value;
		cmp[i].datum_b = a->value_two;
		if (++count[a->index] > 1)
			split = true;
	}
	for (size_t n = 0; s->names && s->names[n]; n++) {
		int nr = seccomp_syscall_resolve_name(s->names[n]);
		if (nr == __NR_SCMP_ERROR) {
			agent_dbg("seccomp: unknown syscall `%s`: skipped", s->names[n]);
			continue;
		}
		/* Conditions on the same argument cannot share a rule (they would be
		 * ANDed); runc adds one rule per condition then, and so do we. */
		if (split) {
			for (size_t i = 0; i < s->n_args && r == 0; i++)
				r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
		} else {
			r = seccomp_rule_add_array(ctx, act, nr, (unsigned)s->n_args, cmp);
		}
		if (r < 0)
			return vc_error_sys(err, -r, "seccomp: add rule for %s", s->names[n]);
	}
	return 0;
}

int agent_seccomp_build(const struct vc_oci_seccomp *s, void **out, struct vc_error *err)
{
	*out = NULL;
	if (!s)
		return 0;
	if (s->listener_path)
		return vc_error_set(err, ENOTSUP,
				    "linux.seccomp.listenerPath is not supported in "
				    "the guest");
	uint32_t def;
	int r = seccomp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			       &def, err);
	if (r < 0)
		return vc_error_wrap(err, "linux.seccomp.defaultAction");
	_cleanup_scmp_ scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return vc_error_set(err, EINVAL, "seccomp_init failed");
	/* no_new_privileges is the spec's business, not libseccomp's */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return vc_error_sys(err, -r, "seccomp: clear NNP attribute");
	r = seccomp_archs(ctx, s->architectures, err);
	if (r == 0)
		r = seccomp_flags(ctx, s->flags, err);
	for (size_t i = 0; r == 0 && i < s->n_syscalls; i++) {
		r = seccomp_rule(ctx, def, &s->syscalls[i], err);
		if (r < 0)
			vc_error_wrap(err, "linux.seccomp.syscalls[%zu]", i);
	}
	if (r < 0)
		return r;
	*out = steal_ptr(ctx);
	return 0;
}

int agent_seccomp_load(void *ctx, struct vc_error *err)
{
	if (!ctx)
		return 0;
	int r = seccomp_load(ctx);
	if (r < 0)
		return vc_error_sys(err, -r, "load seccomp filter");
	return 0;
}

void agent_seccomp_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}

int agent_security_finish(const struct vc_oci_process *p, void *seccomp_ctx, struct vc_error *err)
{
	int r = raise_effective(err);
	if (r == 0 && !p->no_new_privileges)
		r = agent_seccomp_load(seccomp_ctx, err);
	if (r == 0)
		r = agent_caps_apply(p->capabilities, err);
	if (r == 0 && p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = vc_error_sys(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (r == 0 && p->no_new_privileges)
		r = agent_seccomp_load(seccomp_ctx, err);
	return r;
}
