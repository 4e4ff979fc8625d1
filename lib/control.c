/* Short calls that the monitor forwards to the agent: pause, resume, ps, update.
 * Each checks the container exists (runc's words if not) and lets the monitor
 * judge whether its state allows the call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "lib/hostcgroup.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/vcrun.h"
#include "oci/json.h"
#include "oci/spec.h"

static int call(const struct vc_ctx *ctx, const char *id, const char *method,
		const struct vc_json *params, struct vc_json **result, struct vc_error *err)
{
	enum vc_status s;
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0)
		return r;
	if (s == VC_STATUS_STOPPED)
		return vc_error_set(err, ESRCH, "container not running");
	return vc_monitor_call(ctx->root, id, method, params, result, err);
}

int vc_container_pause(const struct vc_ctx *ctx, const char *id, struct vc_error *err)
{
	return call(ctx, id, "pause", NULL, NULL, err);
}

int vc_container_resume(const struct vc_ctx *ctx, const char *id, struct vc_error *err)
{
	return call(ctx, id, "resume", NULL, NULL, err);
}

int vc_container_ps(const struct vc_ctx *ctx, const char *id, pid_t **pids, size_t *n,
		    struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = NULL;
	int r = call(ctx, id, "ps", NULL, &res, err);
	if (r < 0)
		return r;
	const struct vc_json *a = vc_json_get(res, "pids");
	if (!a || a->type != VC_JSON_ARRAY)
		return vc_error_set(err, EPROTO, "ListProcesses: the agent's answer has no pids");
	*pids = calloc(a->u.array.len + 1, sizeof(**pids));
	if (!*pids)
		return vc_error_set(err, ENOMEM, "out of memory");
	*n = 0;
	for (size_t i = 0; i < a->u.array.len; i++) {
		int64_t v;
		if (vc_json_to_i64(a->u.array.items[i], &v) == 0 && v > 0)
			(*pids)[(*n)++] = (pid_t)v;
	}
	return 0;
}

int vc_container_update(const struct vc_ctx *ctx, const char *id, const char *resources_json,
			const char *source, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	if (vc_json_parse(resources_json, strlen(resources_json), source, &doc, err) < 0)
		return -EINVAL;
	/* The same checks as linux.resources in config.json. */
	struct vc_oci_resources *model = NULL;
	if (vc_oci_resources_from_json(doc, "resources", &model, err) < 0)
		return vc_error_wrap(err, "%s", source);
	_cleanup_json_ struct vc_json *p = vc_json_new_object();
	int r = !p || vc_json_object_set(p, "resources", vc_json_clone(doc)) < 0
			? vc_error_set(err, ENOMEM, "out of memory")
			: call(ctx, id, "update", p, NULL, err);
	/* The guest's cgroup holds the container; the host's holds its VM. */
	if (r == 0)
		r = vc_host_cgroup_update(ctx->root, id, model, err);
	vc_oci_resources_free(model);
	return r;
}

static uint64_t u64_at(const struct vc_json *obj, const char *a, const char *b)
{
	uint64_t v = 0;
	vc_json_to_u64(vc_json_get(vc_json_get(obj, a), b), &v);
	return v;
}

/* runc's event data: cpu times in nanoseconds, memory and pids as cgroup v2 has them. */
int vc_container_stats_event(const struct vc_ctx *ctx, const char *id, char **line,
			     struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = NULL;
	int r = call(ctx, id, "stats", NULL, &res, err);
	if (r < 0)
		return r;
	const struct vc_json *cg = vc_json_get(res, "cgroup_stats");
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "type", "stats");
	vc_jgen_kv_string(g, "id", id);
	vc_jgen_key(g, "data");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "cpu");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "usage");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "total");
	vc_jgen_uint(g, u64_at(cg, "cpu", "usage_usec") * 1000);
	vc_jgen_key(g, "kernel");
	vc_jgen_uint(g, u64_at(cg, "cpu", "system_usec") * 1000);
	vc_jgen_key(g, "user");
	vc_jgen_uint(g, u64_at(cg, "cpu", "user_usec") * 1000);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "memory");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "usage");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "usage");
	vc_jgen_uint(g, u64_at(cg, "memory", "usage"));
	vc_jgen_key(g, "limit");
	vc_jgen_uint(g, u64_at(cg, "memory", "limit"));
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "pids");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "current");
	vc_jgen_uint(g, u64_at(cg, "pids", "current"));
	vc_jgen_key(g, "limit");
	vc_jgen_uint(g, u64_at(cg, "pids", "limit"));
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, line, NULL, err);
}
