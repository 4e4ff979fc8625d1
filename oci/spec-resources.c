/* config.json "linux.resources". The VM's own cgroup (or the guest's) applies
 * these; the model carries the fields vcrun acts on and type-checks the rest, which
 * reach the guest through `raw`. */
#include "oci/spec.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/parse-util.h"
#include "oci/spec-internal.h"

enum kind { K_I64, K_U64, K_BOOL, K_STR };

/* A scalar member; off / has_off are offsets into struct vc_oci_resources, or NONE
 * for a field that is only type-checked. */
struct field {
	const char *key;
	enum kind kind;
	size_t off, has_off;
};

#define NONE SIZE_MAX
#define STORED(k, kind, f, has)                                \
	{                                                      \
		k, kind, offsetof(struct vc_oci_resources, f), \
			offsetof(struct vc_oci_resources, has) \
	}
#define STORED_STR(k, f)                                             \
	{                                                            \
		k, K_STR, offsetof(struct vc_oci_resources, f), NONE \
	}
#define CHECKED(k, kind)            \
	{                           \
		k, kind, NONE, NONE \
	}

static const struct field memory_fields[] = {
	STORED("limit", K_I64, memory_limit, has_memory_limit),
	STORED("reservation", K_I64, memory_reservation, has_memory_reservation),
	STORED("swap", K_I64, memory_swap, has_memory_swap),
	STORED("swappiness", K_U64, memory_swappiness, has_memory_swappiness),
	CHECKED("kernel", K_I64),
	CHECKED("kernelTCP", K_I64),
	CHECKED("disableOOMKiller", K_BOOL),
	CHECKED("useHierarchy", K_BOOL),
	CHECKED("checkBeforeUpdate", K_BOOL),
};

static const struct field cpu_fields[] = {
	STORED("shares", K_U64, cpu_shares, has_cpu_shares),
	STORED("quota", K_I64, cpu_quota, has_cpu_quota),
	STORED("period", K_U64, cpu_period, has_cpu_period),
	STORED_STR("cpus", cpu_cpus),
	STORED_STR("mems", cpu_mems),
	CHECKED("burst", K_U64),
	CHECKED("realtimeRuntime", K_I64),
	CHECKED("realtimePeriod", K_U64),
	CHECKED("idle", K_I64),
};

static int parse_fields(const struct vc_json *o, const char *path, const struct field *fields,
			size_t n, struct vc_oci_resources *res, struct vc_error *err)
{
	char *base = (char *)res;
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		union {
			int64_t i;
			uint64_t u;
			bool b;
			char *s;
		} scratch = {0};
		void *dst = f->off == NONE ? (void *)&scratch : base + f->off;
		int r;
		switch (f->kind) {
		case K_I64:
			r = pu_i64(o, path, f->key, 0, dst, err);
			break;
		case K_U64:
			r = pu_u64(o, path, f->key, 0, dst, err);
			break;
		case K_BOOL:
			r = pu_bool(o, path, f->key, 0, dst, err);
			break;
		default:
			r = pu_string(o, path, f->key, 0, dst, err);
			if (f->off == NONE)
				free(scratch.s);
			break;
		}
		if (r < 0)
			return r;
		if (r > 0 && f->has_off != NONE)
			*(bool *)(base + f->has_off) = true;
	}
	return 0;
}

/* An optional member object whose scalars are described by fields. */
static int parse_group(const struct vc_json *v, const char *path, const char *key,
		       const struct field *fields, size_t n, struct vc_oci_resources *res,
		       struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(v, path, key, 0, &o, err);
	if (r <= 0)
		return r;
	char gp[PU_PATH_MAX];
	pu_path_key(gp, path, key);
	return parse_fields(o, gp, fields, n, res, err);
}

static int parse_device_rule(const struct vc_json *o, const char *path, void *elem,
			     struct vc_error *err)
{
	struct vc_oci_device_cgroup *d = elem;
	_cleanup_free_ char *type = NULL;
	int r;
	if ((r = pu_bool(o, path, "allow", PU_REQUIRED, &d->allow, err)) < 0 ||
	    (r = pu_string(o, path, "type", 0, &type, err)) < 0)
		return r;
	if (type) {
		if (strlen(type) != 1 || !strchr("acb", type[0]))
			return pu_fail(err, path, "type", "unknown device type \"%s\"", type);
		d->type = type[0];
	}
	if ((r = pu_i64(o, path, "major", 0, &d->major, err)) < 0)
		return r;
	d->has_major = r > 0;
	if ((r = pu_i64(o, path, "minor", 0, &d->minor, err)) < 0)
		return r;
	d->has_minor = r > 0;
	if ((r = pu_string(o, path, "access", 0, &d->access, err)) < 0)
		return r;
	/* runc (specconv) refuses only an empty access; letters other than r, w and m
	 * ("rwa") are ignored by its device filters, and so by the guest's. */
	if (d->access && !d->access[0])
		return pu_fail(err, path, "access", "cannot be empty");
	return 0;
}

static int parse_pids(const struct vc_json *v, const char *path, struct vc_oci_resources *res,
		      struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(v, path, "pids", 0, &o, err);
	if (r <= 0)
		return r;
	char pp[PU_PATH_MAX];
	pu_path_key(pp, path, "pids");
	if ((r = pu_i64(o, pp, "limit", PU_REQUIRED, &res->pids_limit, err)) < 0)
		return r;
	res->has_pids_limit = true;
	return 0;
}

/* The kernel's bounds for CFS bandwidth (cpu.max, cpu.cfs_*_us): a period of 1 ms
 * to 1 s and a quota of at least 1 ms. runc passes the values on and fails with
 * the kernel's EINVAL; here the field is named before anything starts. 0 is unset. */
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000
#define CFS_QUOTA_MIN  1000

static int check_cfs(const char *path, const struct vc_oci_resources *res, struct vc_error *err)
{
	char cp[PU_PATH_MAX];
	pu_path_key(cp, path, "cpu");
	if (res->has_cpu_period && res->cpu_period &&
	    (res->cpu_period < CFS_PERIOD_MIN || res->cpu_period > CFS_PERIOD_MAX))
		return pu_fail(err, cp, "period",
			       "must be between %d and %d microseconds, not %" PRIu64,
			       CFS_PERIOD_MIN, CFS_PERIOD_MAX, res->cpu_period);
	if (res->has_cpu_quota && res->cpu_quota > 0 && res->cpu_quota < CFS_QUOTA_MIN)
		return pu_fail(err, cp, "quota",
			       "must be at least %d microseconds (or -1: no limit), not %" PRId64,
			       CFS_QUOTA_MIN, res->cpu_quota);
	return 0;
}

int oci_resources_parse(const struct vc_json *v, const char *path, struct vc_oci_resources *res,
			struct vc_error *err)
{
	const struct vc_json *unused = NULL;
	int r;
	if ((r = PU_OBJECT_ARRAY(v, path, "devices", 0, &res->devices, &res->n_devices,
				 parse_device_rule, err)) < 0 ||
	    (r = parse_group(v, path, "memory", memory_fields, VC_ARRAY_SIZE(memory_fields), res,
			     err)) < 0 ||
	    (r = parse_group(v, path, "cpu", cpu_fields, VC_ARRAY_SIZE(cpu_fields), res, err)) <
		    0 ||
	    (r = check_cfs(path, res, err)) < 0 || (r = parse_pids(v, path, res, err)) < 0 ||
	    (r = pu_object(v, path, "blockIO", 0, &unused, err)) < 0 ||
	    (r = pu_array(v, path, "hugepageLimits", 0, &unused, err)) < 0 ||
	    (r = pu_object(v, path, "network", 0, &unused, err)) < 0 ||
	    (r = pu_object(v, path, "rdma", 0, &unused, err)) < 0 ||
	    (r = pu_object(v, path, "unified", 0, &unused, err)) < 0)
		return r;
	res->raw = v;
	return 0;
}

void vc_oci_resources_free(struct vc_oci_resources *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_devices; i++)
		free(res->devices[i].access);
	free(res->devices);
	free(res->cpu_cpus);
	free(res->cpu_mems);
	free(res);
}

static void resources_freep(struct vc_oci_resources **r)
{
	vc_oci_resources_free(*r);
}

int vc_oci_resources_from_json(const struct vc_json *v, const char *path,
			       struct vc_oci_resources **out, struct vc_error *err)
{
	if (!v || v->type != VC_JSON_OBJECT)
		return pu_fail(err, path && path[0] ? path : "resources", NULL,
			       "must be an object");
	__attribute__((cleanup(resources_freep))) struct vc_oci_resources *res =
		calloc(1, sizeof(*res));
	if (!res)
		return pu_oom(err);
	int r = oci_resources_parse(v, path, res, err);
	if (r < 0)
		return r;
	*out = steal_ptr(res);
	return 0;
}
