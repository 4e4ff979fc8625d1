/* Short calls that the monitor forwards to the agent: pause, resume, ps, update,
 * stats, and the events stream built on stats.
 * Each checks the container exists (runc's words if not) and lets the monitor
 * judge whether its state allows the call. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/monitor-msg.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/ps.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/container.h"
#include "lib/vcrun.h"
#include "oci/json.h"
#include "oci/spec.h"

static int call(const struct vc_ctx *ctx, const char *id, const struct vc_mon_request *req,
		struct vc_json **result, struct vc_error *err)
{
	enum vc_status s;
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0)
		return r;
	if (s == VC_STATUS_STOPPED)
		return vc_error_set(err, ESRCH, "container not running");
	return vc_monitor_call(ctx->root, id, req, result, err);
}

int vc_container_pause(const struct vc_ctx *ctx, const char *id, struct vc_error *err)
{
	return call(ctx, id, &(struct vc_mon_request){.method = VC_MON_PAUSE}, NULL, err);
}

int vc_container_resume(const struct vc_ctx *ctx, const char *id, struct vc_error *err)
{
	return call(ctx, id, &(struct vc_mon_request){.method = VC_MON_RESUME}, NULL, err);
}

/* ListProcesses through the monitor. A stopped container has no processes: runc's
 * ps answers with its header (or null), so *res stays NULL and it is no error. */
static int ps_call(const struct vc_ctx *ctx, const char *id, const struct vc_mon_request *req,
		   struct vc_json **res, struct vc_error *err)
{
	enum vc_status s;
	*res = NULL;
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0 || s == VC_STATUS_STOPPED)
		return r;
	r = vc_monitor_call(ctx->root, id, req, res, err);
	/* The container may have stopped (and its VM gone) since the state said not. */
	if (r < 0 && vc_state_live(ctx->root, id, &s, NULL) == 0 && s == VC_STATUS_STOPPED) {
		*err = (struct vc_error){0};
		return 0;
	}
	return r;
}

int vc_container_ps(const struct vc_ctx *ctx, const char *id, pid_t **pids, size_t *n,
		    struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = NULL;
	*pids = NULL;
	*n = 0;
	int r = ps_call(ctx, id, &(struct vc_mon_request){.method = VC_MON_PS}, &res, err);
	if (r < 0 || !res)
		return r;
	struct vc_agent_pids ps;
	if ((r = vc_agent_pids_from_json(res, &ps, err)) < 0)
		return r;
	*pids = ps.pids;
	*n = ps.n;
	return 0;
}

int vc_container_ps_table(const struct vc_ctx *ctx, const char *id, char *const *ps_args,
			  char **table, struct vc_error *err)
{
	__attribute__((cleanup(vc_ps_format_freep))) struct vc_ps_format *f = NULL;
	enum vc_status s;
	/* runc looks the container up before it runs ps with the options */
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0 || (r = vc_ps_format_parse(ps_args, &f, err)) < 0)
		return r;
	struct vc_mon_request ps = {
		.method = VC_MON_PS, .details = true, .environ = vc_ps_format_environ(f)};
	_cleanup_json_ struct vc_json *res = NULL;
	if ((r = ps_call(ctx, id, &ps, &res, err)) < 0)
		return r;
	const struct vc_json *procs = vc_json_get(res, "processes");
	vc_debug("ps %s: %zu processes described by the guest", id,
		 procs && procs->type == VC_JSON_ARRAY ? procs->u.array.len : (size_t)0);
	return vc_ps_format_table(f, res, table, err);
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
	vc_debug("update %s: resources from %s: %s", id, source, resources_json);
	struct vc_mon_request update = {.method = VC_MON_UPDATE, .resources = doc};
	int r = call(ctx, id, &update, NULL, err);
	/* The guest's cgroup holds the container; the host's holds its VM. */
	if (r == 0)
		r = vc_host_cgroup_update(ctx->root, id, model, err);
	vc_oci_resources_free(model);
	return r;
}

/* runc's event data: cpu times in nanoseconds, memory and pids as cgroup v2 has them.
 * stopped_too asks a stopped container as well (its cgroup in the guest lives until
 * delete); *oom_kills (may be NULL) gets the cgroup's OOM kill count. */
static int stats_event(const struct vc_ctx *ctx, const char *id, bool stopped_too, char **line,
		       uint64_t *oom_kills, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = NULL;
	const struct vc_mon_request stats = {.method = VC_MON_STATS};
	int r = stopped_too ? vc_monitor_call(ctx->root, id, &stats, &res, err)
			    : call(ctx, id, &stats, &res, err);
	if (r < 0)
		return r;
	struct vc_agent_stats st;
	if ((r = vc_agent_stats_from_json(res, &st, err)) < 0)
		return r;
	if (oom_kills)
		*oom_kills = st.oom_kill;
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
	vc_jgen_uint(g, st.cpu_usage_usec * 1000);
	vc_jgen_key(g, "kernel");
	vc_jgen_uint(g, st.cpu_system_usec * 1000);
	vc_jgen_key(g, "user");
	vc_jgen_uint(g, st.cpu_user_usec * 1000);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "memory");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "usage");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "usage");
	vc_jgen_uint(g, st.mem_usage);
	vc_jgen_key(g, "limit");
	vc_jgen_uint(g, st.mem_limit);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "pids");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "current");
	vc_jgen_uint(g, st.pids_current);
	vc_jgen_key(g, "limit");
	vc_jgen_uint(g, st.pids_limit);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, line, NULL, err);
}

/* The most oom events one interval gives (a cgroup's kills in that time). */
#define OOM_EVENTS_MAX 64u

static int oom_events(const char *id, uint64_t *seen, uint64_t now, vc_event_fn emit, void *arg,
		      struct vc_error *err)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "type", "oom");
	vc_jgen_kv_string(g, "id", id);
	vc_jgen_object_close(g);
	int r = vc_jgen_finish(g, &line, NULL, err);
	if (r < 0)
		return r;
	/* One event per kill since the last look, but the count is the guest's word:
	 * a lie of 2^64 kills must not become 2^64 lines. More than OOM_EVENTS_MAX
	 * in one interval are said once and counted as seen. */
	uint64_t n = now > *seen ? now - *seen : 0;
	if (n > OOM_EVENTS_MAX) {
		vc_warn("events: container %s: the guest reports %llu OOM kills since the last "
			"look; %u events given",
			id, (unsigned long long)n, OOM_EVENTS_MAX);
		n = OOM_EVENTS_MAX;
	}
	for (uint64_t i = 0; i < n; i++)
		emit(line, arg);
	*seen = now;
	return 0;
}

static void sleep_ms(unsigned long long ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int vc_container_events(const struct vc_ctx *ctx, const char *id, unsigned long long interval_ms,
			bool once, vc_event_fn emit, void *arg, struct vc_error *err)
{
	/* the state is a file read: looked at often, so that the stream ends soon
	 * after the container; the guest is asked once per interval */
	const unsigned long long tick_ms = interval_ms < 500 ? interval_ms : 500;
	enum vc_status st;
	int r = vc_state_live(ctx->root, id, &st, err);
	if (r < 0)
		return r;
	if (st == VC_STATUS_STOPPED)
		return vc_error_set(err, ESRCH, "container with id %s is not running", id);
	uint64_t seen = 0;
	_cleanup_free_ char *first = NULL;
	if ((r = stats_event(ctx, id, false, &first, &seen, err)) < 0)
		return r;
	if (once) {
		emit(first, arg);
		return 0;
	}
	unsigned long long next = vc_now_ns() / 1000000 + interval_ms;
	for (;;) {
		unsigned long long now = vc_now_ns() / 1000000;
		sleep_ms(next > now && next - now < tick_ms ? next - now : tick_ms);
		struct vc_error lerr = {0};
		uint64_t kills = seen;
		/* stopped, deleted, or its VM gone: the stream ends, as runc's does once
		 * the cgroup is empty; a monitor still there tells the last kills */
		struct vc_state cur;
		if (vc_state_read(ctx->root, id, &cur, &lerr) < 0)
			return 0;
		st = vc_state_live_status(&cur);
		bool monitor = vc_proc_alive(cur.monitor_pid, cur.monitor_start);
		vc_state_release(&cur);
		if (st == VC_STATUS_STOPPED) {
			_cleanup_free_ char *last = NULL;
			if (monitor && stats_event(ctx, id, true, &last, &kills, &lerr) == 0)
				oom_events(id, &seen, kills, emit, arg, err);
			return 0;
		}
		now = vc_now_ns() / 1000000;
		if (now < next)
			continue;
		next = now + interval_ms; /* after a slow answer: no burst of catch-up lines */
		_cleanup_free_ char *line = NULL;
		r = stats_event(ctx, id, false, &line, &kills, &lerr);
		if (r == -ESRCH)
			continue; /* it stopped just now: the next tick ends the stream */
		if (r < 0) {
			/* as runc: said, and the stream goes on */
			vc_err("events: %s", lerr.msg);
			continue;
		}
		if ((r = oom_events(id, &seen, kills, emit, arg, err)) < 0)
			return r;
		emit(line, arg);
	}
}
