/* config.json "linux.seccomp". Names are checked here, on the host, so a typo is
 * reported by `vcrun create` with its JSON path instead of failing in the guest;
 * the agent maps them to libseccomp values. */
#include "oci/spec.h"

#include <string.h>

#include "common/cleanup.h"
#include "oci/parse-util.h"
#include "oci/spec-internal.h"

static const char *const actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",	   "SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW", "SCMP_ACT_LOG",	   "SCMP_ACT_NOTIFY",
};

static const char *const architectures[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",    "SCMP_ARCH_SH",	   "SCMP_ARCH_SHEB",
};

static const char *const operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

static const char *const flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

void oci_seccomp_free(struct vc_oci_seccomp *s)
{
	if (!s)
		return;
	free(s->default_action);
	pu_strv_free(s->architectures);
	pu_strv_free(s->flags);
	free(s->listener_path);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		struct vc_oci_seccomp_syscall *sc = &s->syscalls[i];
		pu_strv_free(sc->names);
		free(sc->action);
		for (size_t j = 0; j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
	free(s);
}

static int parse_arg(const struct vc_json *o, const char *path, void *elem, struct vc_error *err)
{
	struct vc_oci_seccomp_arg *a = elem;
	int r;
	if ((r = pu_u32(o, path, "index", PU_REQUIRED, &a->index, err)) < 0 ||
	    (r = pu_u64(o, path, "value", PU_REQUIRED, &a->value, err)) < 0 ||
	    (r = pu_u64(o, path, "valueTwo", 0, &a->value_two, err)) < 0 ||
	    (r = pu_string(o, path, "op", PU_REQUIRED, &a->op, err)) < 0)
		return r;
	return 0;
}

static int parse_syscall(const struct vc_json *o, const char *path, void *elem,
			 struct vc_error *err)
{
	struct vc_oci_seccomp_syscall *sc = elem;
	int r;
	if ((r = pu_strv(o, path, "names", PU_NONEMPTY, &sc->names, err)) < 0 ||
	    (r = pu_string(o, path, "action", PU_REQUIRED, &sc->action, err)) < 0 ||
	    (r = pu_u32(o, path, "errnoRet", 0, &sc->errno_ret, err)) < 0)
		return r;
	sc->has_errno_ret = r > 0;
	r = PU_OBJECT_ARRAY(o, path, "args", 0, &sc->args, &sc->n_args, parse_arg, err);
	return r < 0 ? r : 0;
}

int oci_seccomp_parse(const struct vc_json *v, const char *path, struct vc_oci_seccomp *s,
		      struct vc_error *err)
{
	int r;
	if ((r = pu_string(v, path, "defaultAction", PU_REQUIRED, &s->default_action, err)) < 0 ||
	    (r = pu_u32(v, path, "defaultErrnoRet", 0, &s->default_errno_ret, err)) < 0)
		return r;
	s->has_default_errno_ret = r > 0;
	if ((r = pu_strv(v, path, "architectures", 0, &s->architectures, err)) < 0 ||
	    (r = pu_strv(v, path, "flags", 0, &s->flags, err)) < 0 ||
	    (r = pu_string(v, path, "listenerPath", 0, &s->listener_path, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(v, path, "syscalls", 0, &s->syscalls, &s->n_syscalls,
				 parse_syscall, err)) < 0)
		return r;
	return 0;
}

static int check_action(const char *action, const char *parent, const char *key,
			struct vc_error *err)
{
	return pu_check_known(action, actions, VC_ARRAY_SIZE(actions), "action", parent, key, err);
}

int oci_seccomp_validate(const struct vc_oci_seccomp *s, const char *path, struct vc_error *err)
{
	int r;
	if ((r = check_action(s->default_action, path, "defaultAction", err)) < 0 ||
	    (r = pu_check_known_strv(s->architectures, architectures, VC_ARRAY_SIZE(architectures),
				     "architecture", path, "architectures", err)) < 0 ||
	    (r = pu_check_known_strv(s->flags, flags, VC_ARRAY_SIZE(flags), "flag", path, "flags",
				     err)) < 0)
		return r;
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct vc_oci_seccomp_syscall *sc = &s->syscalls[i];
		char sp[PU_PATH_MAX];
		pu_path_index(sp, path, "syscalls", i);
		if (!sc->names || !sc->names[0])
			return pu_fail(err, sp, "names", "must be a non-empty array");
		if ((r = check_action(sc->action, sp, "action", err)) < 0)
			return r;
		for (size_t j = 0; j < sc->n_args; j++) {
			char ap[PU_PATH_MAX];
			pu_path_index(ap, sp, "args", j);
			r = pu_check_known(sc->args[j].op, operators, VC_ARRAY_SIZE(operators),
					   "operator", ap, "op", err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
