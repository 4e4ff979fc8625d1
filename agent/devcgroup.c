/* The device cgroup in the guest. cgroup v2 has no devices.allow: the kernel asks
 * an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the container's
 * cgroup, for every open and mknod of a device node. The program is built from
 * linux.resources.devices with runc 1.1.5's semantics:
 *
 * - the spec's rules, then runc's default devices (AllowedDevices: mknod of any
 *   node, null, zero, full, random, urandom, tty, /dev/pts/N, ptmx, tun), the ones
 *   with a path only when linux.devices does not list that path;
 * - applied in order the way cgroup v1 would (runc's devices emulator): a rule of
 *   type `a` resets everything to allow-all or deny-all (the start is deny-all);
 *   other rules add or remove exceptions; removing part of a wildcard exception is
 *   an error, since v1 would silently ignore it;
 * - the exceptions left, sorted by major, minor and type, become one block of
 *   instructions each (type, access, major, minor compared), then the default.
 *
 * Loaded with raw bpf(2) calls (the agent is static: no libbpf) and attached with
 * BPF_F_ALLOW_MULTI. A kernel without it is a warning, once: best effort, as the
 * other resources (agent/cgroup.c). */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define RWM	  (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)
#define RULES_MAX 4096 /* distinct exceptions; a block is at most 8 instructions */
#define ANY	  (-1)

static const struct {
	const char *path; /* NULL: always added */
	char type;
	int64_t major, minor;
	unsigned access;
} runc_defaults[] = {
	{NULL, 'c', ANY, ANY, BPF_DEVCG_ACC_MKNOD},
	{NULL, 'b', ANY, ANY, BPF_DEVCG_ACC_MKNOD},
	{"/dev/null", 'c', 1, 3, RWM},
	{"/dev/random", 'c', 1, 8, RWM},
	{"/dev/full", 'c', 1, 7, RWM},
	{"/dev/tty", 'c', 5, 0, RWM},
	{"/dev/zero", 'c', 1, 5, RWM},
	{"/dev/urandom", 'c', 1, 9, RWM},
	{NULL, 'c', 136, ANY, RWM}, /* /dev/pts/N */
	{NULL, 'c', 5, 2, RWM},	    /* /dev/ptmx */
	{NULL, 'c', 10, 200, RWM},  /* /dev/net/tun */
};

void agent_devfilter_free(struct agent_devfilter *f)
{
	free(f->rules);
	f->rules = NULL;
	f->n = 0;
}

static struct agent_devrule *find(struct agent_devfilter *f, char type, int64_t major,
				  int64_t minor)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rules[i].type == type && f->rules[i].major == major &&
		    f->rules[i].minor == minor)
			return &f->rules[i];
	return NULL;
}

static int add(struct agent_devfilter *f, const struct agent_devrule *r, struct vc_error *err)
{
	struct agent_devrule *e = find(f, r->type, r->major, r->minor);
	if (e) {
		e->access |= r->access;
		return 0;
	}
	if (f->n == RULES_MAX)
		return vc_error_set(err, E2BIG, "more than %d distinct device rules", RULES_MAX);
	struct agent_devrule *n = realloc(f->rules, (f->n + 1) * sizeof(*n));
	if (!n)
		return vc_error_set(err, ENOMEM, "out of memory");
	f->rules = n;
	f->rules[f->n++] = *r;
	return 0;
}

static const char *access_str(unsigned a, char buf[4])
{
	size_t k = 0;
	if (a & BPF_DEVCG_ACC_READ)
		buf[k++] = 'r';
	if (a & BPF_DEVCG_ACC_WRITE)
		buf[k++] = 'w';
	if (a & BPF_DEVCG_ACC_MKNOD)
		buf[k++] = 'm';
	buf[k] = '\0';
	return buf;
}

static void num_str(int64_t v, char buf[24])
{
	if (v == ANY)
		snprintf(buf, 24, "*");
	else
		snprintf(buf, 24, "%lld", (long long)v);
}

static int rm(struct agent_devfilter *f, const struct agent_devrule *r, struct vc_error *err)
{
	/* v1 ignores the removal of part of a wildcard exception: refuse it rather
	 * than leave the device reachable (runc's emulator does the same) */
	const int64_t partial[3][2] = {{ANY, r->minor}, {r->major, ANY}, {ANY, ANY}};
	for (size_t i = 0; i < 3; i++) {
		if (partial[i][0] == r->major && partial[i][1] == r->minor)
			continue;
		const struct agent_devrule *w = find(f, r->type, partial[i][0], partial[i][1]);
		if (w && (w->access & r->access)) {
			char a[4], b[4], m1[24], n1[24], m2[24], n2[24];
			num_str(r->major, m1);
			num_str(r->minor, n1);
			num_str(w->major, m2);
			num_str(w->minor, n2);
			return vc_error_set(err, EINVAL,
					    "%c %s:%s %s cannot be taken out of the wildcard "
					    "rule %c %s:%s %s",
					    r->type, m1, n1, access_str(r->access, a), w->type, m2,
					    n2, access_str(w->access, b));
		}
	}
	struct agent_devrule *e = find(f, r->type, r->major, r->minor);
	if (e) {
		e->access &= ~r->access;
		if (!e->access)
			*e = f->rules[--f->n];
	}
	return 0;
}

/* One rule, as cgroup v1's devices.allow / devices.deny would take it. */
static int apply(struct agent_devfilter *f, bool allow, const struct agent_devrule *r,
		 struct vc_error *err)
{
	if (r->type == 'a') {
		agent_devfilter_free(f);
		f->default_allow = allow;
		return 0;
	}
	/* an exception is the opposite of the default */
	return allow != f->default_allow ? add(f, r, err) : rm(f, r, err);
}

static bool listed(const struct vc_oci_linux *l, const char *path)
{
	for (size_t i = 0; l && i < l->n_devices; i++)
		if (l->devices[i].path && !strcmp(l->devices[i].path, path))
			return true;
	return false;
}

static int by_number(const void *pa, const void *pb)
{
	const struct agent_devrule *a = pa, *b = pb;
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	return (a->type > b->type) - (a->type < b->type);
}

int agent_devfilter_build(const struct vc_oci_resources *res, const struct vc_oci_linux *l,
			  struct agent_devfilter *f, struct vc_error *err)
{
	*f = (struct agent_devfilter){0}; /* the start is deny-all */
	for (size_t i = 0; res && i < res->n_devices; i++) {
		const struct vc_oci_device_cgroup *d = &res->devices[i];
		struct agent_devrule r = {
			.type = d->type ? d->type : 'a',
			.major = d->has_major ? d->major : ANY,
			.minor = d->has_minor ? d->minor : ANY,
		};
		int rc = 0;
		if (!d->access || !d->access[0])
			rc = vc_error_set(err, EINVAL, "access: must not be empty");
		for (const char *p = d->access; rc == 0 && *p; p++) {
			if (*p == 'r')
				r.access |= BPF_DEVCG_ACC_READ;
			else if (*p == 'w')
				r.access |= BPF_DEVCG_ACC_WRITE;
			else if (*p == 'm')
				r.access |= BPF_DEVCG_ACC_MKNOD;
			/* Any other letter is ignored, as runc 1.1.5 reads a rule's
			 * permissions (its toSet): docker users write "rwa", and runc
			 * creates that container (19-runc-cli.bats). */
		}
		if (rc == 0 && r.type != 'a' && r.type != 'b' && r.type != 'c')
			rc = vc_error_set(err, EINVAL, "type: `%c` is not a, b or c", r.type);
		if (rc == 0 && (r.major < ANY || r.major > UINT32_MAX || r.minor < ANY ||
				r.minor > UINT32_MAX))
			rc = vc_error_set(err, EINVAL, "major/minor: out of range");
		if (rc == 0)
			rc = apply(f, d->allow, &r, err);
		if (rc < 0) {
			agent_devfilter_free(f);
			return vc_error_wrap(err, "linux.resources.devices[%zu]", i);
		}
	}
	for (size_t i = 0; i < VC_ARRAY_SIZE(runc_defaults); i++) {
		if (runc_defaults[i].path && listed(l, runc_defaults[i].path))
			continue;
		struct agent_devrule r = {runc_defaults[i].type, runc_defaults[i].major,
					  runc_defaults[i].minor, runc_defaults[i].access};
		int rc = apply(f, true, &r, err);
		if (rc < 0) {
			agent_devfilter_free(f);
			return vc_error_wrap(err, "runc's default device rules");
		}
	}
	if (f->n > 1)
		qsort(f->rules, f->n, sizeof(*f->rules), by_number);
	return 0;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, k)  insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, k)
#define MOV32_X(dst, src)    insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JNE_K(dst, k, off)   insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, k)
#define JNE_X(dst, src, off) insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT()		     insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

int agent_devfilter_program(const struct agent_devfilter *f, struct bpf_insn **out, size_t *n_out,
			    struct vc_error *err)
{
	/* 6 to read the context, at most 8 per rule, 2 for the default */
	size_t cap = 6 + 8 * f->n + 2, n = 0;
	_cleanup_free_ struct bpf_insn *p = calloc(cap, sizeof(*p));
	if (!p)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* struct bpf_cgroup_dev_ctx: access_type (type in the low 16 bits, access in
	 * the high ones), major, minor; R2 type, R3 access, R4 major, R5 minor */
	p[n++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
	p[n++] = ALU32_K(BPF_AND, BPF_REG_2, 0xFFFF);
	p[n++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
	p[n++] = ALU32_K(BPF_RSH, BPF_REG_3, 16);
	p[n++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
	p[n++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);
	for (size_t i = 0; i < f->n; i++) {
		const struct agent_devrule *r = &f->rules[i];
		bool some = r->access != RWM, major = r->major != ANY, minor = r->minor != ANY;
		/* each failed comparison jumps past the block's end */
		int16_t left = (int16_t)(1 + 3 * some + major + minor + 2);
		int32_t type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
		p[n++] = JNE_K(BPF_REG_2, type, --left);
		if (some) {
			/* the access asked for must be within the rule's */
			p[n++] = MOV32_X(BPF_REG_1, BPF_REG_3);
			left--;
			p[n++] = ALU32_K(BPF_AND, BPF_REG_1, (int32_t)r->access);
			left--;
			p[n++] = JNE_X(BPF_REG_1, BPF_REG_3, --left);
		}
		if (major)
			p[n++] = JNE_K(BPF_REG_4, (int32_t)r->major, --left);
		if (minor)
			p[n++] = JNE_K(BPF_REG_5, (int32_t)r->minor, --left);
		p[n++] = ALU32_K(BPF_MOV, BPF_REG_0, !f->default_allow);
		p[n++] = EXIT();
	}
	p[n++] = ALU32_K(BPF_MOV, BPF_REG_0, f->default_allow);
	p[n++] = EXIT();
	*out = steal_ptr(p);
	*n_out = n;
	return 0;
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* Loads the program and attaches it to dir; -errno of the step that failed. */
static int load_attach(const struct bpf_insn *insns, size_t n, const char *dir, int *prog,
		       const char **step)
{
	static const char license[] = "Apache";
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)license;
	*step = "load the program";
	_cleanup_close_ int fd = bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return -errno;
	*step = "open the cgroup";
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	*step = "attach the program";
	if (bpf(BPF_PROG_ATTACH, &a) < 0)
		return -errno;
	*prog = steal_fd(fd);
	return 0;
}

static void detach(const char *dir, int prog)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	if (dfd < 0 || bpf(BPF_PROG_DETACH, &a) < 0)
		agent_warn("device cgroup: detach the old program from %s: %s", dir,
			   strerror(errno));
}

int agent_devcgroup_apply(const char *cgroup, const struct vc_oci_spec *spec, int *prog_fd,
			  struct vc_error *err)
{
	static bool warned;
	if (!cgroup)
		return 0;
	const struct vc_oci_linux *l = spec->linux;
	struct agent_devfilter f __attribute__((cleanup(agent_devfilter_free))) = {0};
	int r = agent_devfilter_build(l ? l->resources : NULL, l, &f, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n = 0;
	if ((r = agent_devfilter_program(&f, &insns, &n, err)) < 0)
		return r;
	int prog = -1;
	const char *step = "";
	r = load_attach(insns, n, cgroup, &prog, &step);
	if (r < 0) {
		/* no BPF in this kernel (or not for cgroups): the VM is the boundary */
		if (!warned)
			agent_warn("device cgroup: cannot %s (%s): device rules are not enforced",
				   step, strerror(-r));
		warned = true;
		return 0;
	}
	/* the new program runs beside the old one (both must allow) until the old
	 * one is gone: no moment without a filter */
	if (*prog_fd >= 0) {
		detach(cgroup, *prog_fd);
		close(*prog_fd);
	}
	*prog_fd = prog;
	agent_dbg("device cgroup: %zu rules (default %s), %zu instructions on %s", f.n,
		  f.default_allow ? "allow" : "deny", n, cgroup);
	return 0;
}
