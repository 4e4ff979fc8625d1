/* The agent's typed answers: the one place where the host reads the JSON the guest
 * answers with (rules in agent-msg.h and docs/agent-protocol.md, "Typed answers"). */
#include "agent-proto/agent-msg.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

static const char *const names[VC_AA_N] = {
	[VC_AA_CHECK] = VC_M_CHECK,
	[VC_AA_GUEST_DETAILS] = VC_M_GET_GUEST_DETAILS,
	[VC_AA_PID] = VC_M_CREATE_CONTAINER,
	[VC_AA_EXIT] = VC_M_WAIT_PROCESS,
	[VC_AA_PIDS] = VC_M_LIST_PROCESSES,
	[VC_AA_STATS] = VC_M_STATS_CONTAINER,
	[VC_AA_IFACE] = VC_M_UPDATE_INTERFACE,
	[VC_AA_CPUS] = VC_M_ONLINE_CPUS,
};

const char *vc_agent_answer_name(enum vc_agent_answer a)
{
	return (unsigned)a < VC_AA_N ? names[a] : NULL;
}

/* ---- field readers; what is "Method: result" or deeper ---- */

static int bad(struct vc_error *err, const char *what, const char *key, const char *why)
{
	return vc_error_set(err, EBADMSG, "%s.%s: %s", what, key, why);
}

/* The member key of o: NULL when absent or null (and not required), else of type t. */
static int member(const struct vc_json *o, const char *what, const char *key, bool required,
		  enum vc_json_type t, const struct vc_json **out, struct vc_error *err)
{
	static const char *const want[] = {
		[VC_JSON_OBJECT] = "an object",
		[VC_JSON_ARRAY] = "an array",
		[VC_JSON_STRING] = "a string",
		[VC_JSON_NUMBER] = "a number",
	};
	const struct vc_json *v = vc_json_get(o, key);
	*out = NULL;
	if (!v || v->type == VC_JSON_NULL)
		return required ? vc_error_set(err, EBADMSG, "%s.%s is required", what, key) : 0;
	if (v->type != t)
		return vc_error_set(err, EBADMSG, "%s.%s: must be %s, not %s", what, key, want[t],
				    vc_json_type_name(v->type));
	*out = v;
	return 0;
}

static int int_in(const struct vc_json *v, const char *what, const char *key, int64_t min,
		  int64_t max, int64_t *out, struct vc_error *err)
{
	if (vc_json_to_i64(v, out) < 0 || *out < min || *out > max)
		return vc_error_set(err, EBADMSG, "%s.%s: must be an integer from %lld to %lld",
				    what, key, (long long)min, (long long)max);
	return 0;
}

static int get_int(const struct vc_json *o, const char *what, const char *key, int64_t min,
		   int64_t max, int64_t *out, struct vc_error *err)
{
	const struct vc_json *v;
	int r = member(o, what, key, true, VC_JSON_NUMBER, &v, err);
	return r < 0 ? r : int_in(v, what, key, min, max, out, err);
}

/* Optional: sets bit in *has when present. */
static int get_u64(const struct vc_json *o, const char *what, const char *key, unsigned bit,
		   unsigned *has, uint64_t *out, struct vc_error *err)
{
	const struct vc_json *v;
	int r = member(o, what, key, false, VC_JSON_NUMBER, &v, err);
	if (r < 0 || !v)
		return r;
	if (vc_json_to_u64(v, out) < 0)
		return bad(err, what, key, "must be an unsigned 64-bit integer");
	*has |= bit;
	return 0;
}

/* Printable ASCII only: these end up in logs and messages. An interface name is what
 * the kernel takes (no space, no '/', below IFNAMSIZ). */
static bool str_ok(const char *s, size_t len, bool ifname)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || (ifname && (s[i] == ' ' || s[i] == '/')))
			return false;
	return true;
}

static int get_str(const struct vc_json *o, const char *what, const char *key, char *dst,
		   size_t cap, bool ifname, struct vc_error *err)
{
	const struct vc_json *v;
	int r = member(o, what, key, true, VC_JSON_STRING, &v, err);
	if (r < 0)
		return r;
	size_t len = v->u.string.len;
	if (len >= cap || (ifname && len == 0))
		return vc_error_set(err, EBADMSG, "%s.%s: must be %s%zu bytes at most (got %zu)",
				    what, key, ifname ? "1 to " : "", cap - 1, len);
	if (!str_ok(v->u.string.ptr, len, ifname))
		return bad(err, what, key,
			   ifname ? "must be printable ASCII without spaces or '/'"
				  : "must be printable ASCII");
	memcpy(dst, v->u.string.ptr, len);
	dst[len] = '\0';
	return 0;
}

/* "Method: result", after checking that result is an object. */
static int start(const struct vc_json *result, const char *method, char *what, size_t cap, void *m,
		 size_t size, struct vc_error *err)
{
	memset(m, 0, size);
	snprintf(what, cap, "%s: result", method);
	if (!result || result->type != VC_JSON_OBJECT)
		return vc_error_set(err, EBADMSG, "%s: must be an object", what);
	return 0;
}

/* On failure the struct is left zeroed, as promised. */
static int done(int r, void *m, size_t size)
{
	if (r < 0)
		memset(m, 0, size);
	return r;
}

#define WHAT_MAX 96

int vc_agent_check_from_json(const struct vc_json *result, struct vc_agent_check *m,
			     struct vc_error *err)
{
	char what[WHAT_MAX];
	int64_t v = 0;
	int r = start(result, VC_M_CHECK, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = get_int(result, what, "version", 0, UINT32_MAX, &v, err);
	if (r == 0) {
		m->version = (uint32_t)v;
		r = get_str(result, what, "agent_version", m->agent_version,
			    sizeof(m->agent_version), false, err);
	}
	return done(r, m, sizeof(*m));
}

int vc_agent_guest_details_from_json(const struct vc_json *result, struct vc_agent_guest_details *m,
				     struct vc_error *err)
{
	char what[WHAT_MAX];
	int r = start(result, VC_M_GET_GUEST_DETAILS, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = get_str(result, what, "kernel_release", m->kernel_release,
			    sizeof(m->kernel_release), false, err);
	if (r == 0)
		r = get_str(result, what, "agent_version", m->agent_version,
			    sizeof(m->agent_version), false, err);
	return done(r, m, sizeof(*m));
}

int vc_agent_pid_from_json(const char *method, const struct vc_json *result, struct vc_agent_pid *m,
			   struct vc_error *err)
{
	char what[WHAT_MAX];
	int64_t v = 0;
	int r = start(result, method ? method : VC_M_CREATE_CONTAINER, what, sizeof(what), m,
		      sizeof(*m), err);
	if (r == 0 && (r = get_int(result, what, "pid", 1, INT_MAX, &v, err)) == 0)
		m->pid = (int)v;
	return done(r, m, sizeof(*m));
}

int vc_agent_exit_from_json(const struct vc_json *result, struct vc_agent_exit *m,
			    struct vc_error *err)
{
	char what[WHAT_MAX];
	int64_t code = 0, sig = 0;
	int r = start(result, VC_M_WAIT_PROCESS, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = get_int(result, what, "exit_code", 0, 255, &code, err);
	if (r == 0)
		r = get_int(result, what, "signal", 0, NSIG - 1, &sig, err);
	if (r == 0)
		*m = (struct vc_agent_exit){.exit_code = (int)code, .signal = (int)sig};
	return done(r, m, sizeof(*m));
}

int vc_agent_pids_from_json(const struct vc_json *result, struct vc_agent_pids *m,
			    struct vc_error *err)
{
	char what[WHAT_MAX];
	const struct vc_json *a = NULL;
	int r = start(result, VC_M_LIST_PROCESSES, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = member(result, what, "pids", true, VC_JSON_ARRAY, &a, err);
	if (r < 0)
		return done(r, m, sizeof(*m));
	size_t n = a->u.array.len;
	if (n > VC_AGENT_PIDS_MAX)
		return vc_error_set(err, EBADMSG, "%s.pids: more than %u processes (%zu)", what,
				    VC_AGENT_PIDS_MAX, n);
	_cleanup_free_ pid_t *pids = calloc(n + 1, sizeof(*pids));
	if (!pids)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int64_t v = 0;
		char key[32];
		snprintf(key, sizeof(key), "pids[%zu]", i);
		if ((r = int_in(a->u.array.items[i], what, key, 1, INT_MAX, &v, err)) < 0)
			return r;
		pids[i] = (pid_t)v;
	}
	m->pids = steal_ptr(pids);
	m->n = n;
	return 0;
}

void vc_agent_pids_release(struct vc_agent_pids *m)
{
	free(m->pids);
	*m = (struct vc_agent_pids){0};
}

/* cgroup_stats' groups and members, with their bits (encode writes the same). */
static const struct stat_field {
	const char *group, *key;
	unsigned bit;
	size_t off;
} stat_fields[] = {
	{"memory", "usage", VC_AS_MEM_USAGE, offsetof(struct vc_agent_stats, mem_usage)},
	{"memory", "limit", VC_AS_MEM_LIMIT, offsetof(struct vc_agent_stats, mem_limit)},
	{"memory", "oom_kill", VC_AS_OOM_KILL, offsetof(struct vc_agent_stats, oom_kill)},
	{"cpu", "usage_usec", VC_AS_CPU_USAGE, offsetof(struct vc_agent_stats, cpu_usage_usec)},
	{"cpu", "user_usec", VC_AS_CPU_USER, offsetof(struct vc_agent_stats, cpu_user_usec)},
	{"cpu", "system_usec", VC_AS_CPU_SYSTEM, offsetof(struct vc_agent_stats, cpu_system_usec)},
	{"pids", "current", VC_AS_PIDS_CURRENT, offsetof(struct vc_agent_stats, pids_current)},
	{"pids", "limit", VC_AS_PIDS_LIMIT, offsetof(struct vc_agent_stats, pids_limit)},
};

static uint64_t *stat_slot(const struct vc_agent_stats *m, const struct stat_field *f)
{
	return (uint64_t *)((char *)m + f->off);
}

int vc_agent_stats_from_json(const struct vc_json *result, struct vc_agent_stats *m,
			     struct vc_error *err)
{
	char what[WHAT_MAX], sub[WHAT_MAX + 32];
	const struct vc_json *cg = NULL, *g = NULL;
	int r = start(result, VC_M_STATS_CONTAINER, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = member(result, what, "cgroup_stats", true, VC_JSON_OBJECT, &cg, err);
	snprintf(what + strlen(what), sizeof(what) - strlen(what), ".cgroup_stats");
	for (size_t i = 0; r == 0 && i < VC_ARRAY_SIZE(stat_fields); i++) {
		const struct stat_field *f = &stat_fields[i];
		if ((r = member(cg, what, f->group, false, VC_JSON_OBJECT, &g, err)) < 0 || !g)
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", what, f->group);
		r = get_u64(g, sub, f->key, f->bit, &m->has, stat_slot(m, f), err);
	}
	return done(r, m, sizeof(*m));
}

int vc_agent_iface_from_json(const struct vc_json *result, struct vc_agent_iface *m,
			     struct vc_error *err)
{
	char what[WHAT_MAX];
	int64_t v = 0;
	int r = start(result, VC_M_UPDATE_INTERFACE, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0)
		r = get_str(result, what, "name", m->name, sizeof(m->name), true, err);
	if (r == 0 && (r = get_int(result, what, "ifindex", 1, INT_MAX, &v, err)) == 0)
		m->ifindex = (int)v;
	return done(r, m, sizeof(*m));
}

int vc_agent_cpus_from_json(const struct vc_json *result, struct vc_agent_cpus *m,
			    struct vc_error *err)
{
	char what[WHAT_MAX];
	int64_t v = 0;
	int r = start(result, VC_M_ONLINE_CPUS, what, sizeof(what), m, sizeof(*m), err);
	if (r == 0 && (r = get_int(result, what, "online", 1, VC_AGENT_CPUS_MAX, &v, err)) == 0)
		m->online = (uint32_t)v;
	return done(r, m, sizeof(*m));
}

/* ---- encoders ---- */

static int refuse(struct vc_error *err, enum vc_agent_answer a, const char *key, const char *why)
{
	return vc_error_set(err, EINVAL, "%s: result.%s: %s", names[a], key, why);
}

int vc_agent_check_encode(const struct vc_agent_check *m, struct vc_jgen *g, struct vc_error *err)
{
	if (!str_ok(m->agent_version, strlen(m->agent_version), false))
		return refuse(err, VC_AA_CHECK, "agent_version", "must be printable ASCII");
	vc_jgen_key(g, "version");
	vc_jgen_uint(g, m->version);
	vc_jgen_kv_string(g, "agent_version", m->agent_version);
	return 0;
}

int vc_agent_guest_details_encode(const struct vc_agent_guest_details *m, struct vc_jgen *g,
				  struct vc_error *err)
{
	if (!str_ok(m->kernel_release, strlen(m->kernel_release), false) ||
	    !str_ok(m->agent_version, strlen(m->agent_version), false))
		return refuse(err, VC_AA_GUEST_DETAILS, "kernel_release",
			      "must be printable ASCII");
	vc_jgen_kv_string(g, "kernel_release", m->kernel_release);
	vc_jgen_kv_string(g, "agent_version", m->agent_version);
	return 0;
}

int vc_agent_pid_encode(const struct vc_agent_pid *m, struct vc_jgen *g, struct vc_error *err)
{
	if (m->pid < 1)
		return refuse(err, VC_AA_PID, "pid", "must be positive");
	vc_jgen_kv_int(g, "pid", m->pid);
	return 0;
}

int vc_agent_exit_encode(const struct vc_agent_exit *m, struct vc_jgen *g, struct vc_error *err)
{
	if (m->exit_code < 0 || m->exit_code > 255 || m->signal < 0 || m->signal >= NSIG)
		return refuse(err, VC_AA_EXIT, "exit_code", "out of range (or signal)");
	vc_jgen_kv_int(g, "exit_code", m->exit_code);
	vc_jgen_kv_int(g, "signal", m->signal);
	return 0;
}

int vc_agent_pids_encode(const struct vc_agent_pids *m, struct vc_jgen *g, struct vc_error *err)
{
	if (m->n > VC_AGENT_PIDS_MAX)
		return refuse(err, VC_AA_PIDS, "pids", "too many");
	for (size_t i = 0; i < m->n; i++)
		if (m->pids[i] < 1)
			return refuse(err, VC_AA_PIDS, "pids", "must be positive");
	vc_jgen_key(g, "pids");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < m->n; i++)
		vc_jgen_int(g, m->pids[i]);
	vc_jgen_array_close(g);
	return 0;
}

int vc_agent_stats_encode(const struct vc_agent_stats *m, struct vc_jgen *g, struct vc_error *err)
{
	vc_jgen_key(g, "cgroup_stats");
	vc_jgen_object_open(g);
	const char *open = NULL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(stat_fields); i++) {
		const struct stat_field *f = &stat_fields[i];
		if (!open || strcmp(open, f->group)) {
			if (open)
				vc_jgen_object_close(g);
			/* Every group is written, empty or not: what the agent always sent. */
			vc_jgen_key(g, f->group);
			vc_jgen_object_open(g);
			open = f->group;
		}
		if (m->has & f->bit) {
			vc_jgen_key(g, f->key);
			vc_jgen_uint(g, *stat_slot(m, f));
		}
	}
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return 0;
}

int vc_agent_iface_encode(const struct vc_agent_iface *m, struct vc_jgen *g, struct vc_error *err)
{
	size_t len = strnlen(m->name, sizeof(m->name));
	if (len == 0 || len >= sizeof(m->name) || !str_ok(m->name, len, true))
		return refuse(err, VC_AA_IFACE, "name", "not an interface name");
	if (m->ifindex < 1)
		return refuse(err, VC_AA_IFACE, "ifindex", "must be positive");
	vc_jgen_kv_string(g, "name", m->name);
	vc_jgen_kv_int(g, "ifindex", m->ifindex);
	return 0;
}

int vc_agent_cpus_encode(const struct vc_agent_cpus *m, struct vc_jgen *g, struct vc_error *err)
{
	if (m->online < 1 || m->online > VC_AGENT_CPUS_MAX)
		return refuse(err, VC_AA_CPUS, "online", "out of range");
	vc_jgen_key(g, "online");
	vc_jgen_uint(g, m->online);
	return 0;
}

/* ---- whole bodies ---- */

int vc_agent_answer_encode(enum vc_agent_answer a, const void *m, char **body, size_t *len,
			   struct vc_error *err)
{
	*body = NULL;
	if ((unsigned)a >= VC_AA_N)
		return vc_error_set(err, EINVAL, "unknown agent answer %d", (int)a);
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "result");
	vc_jgen_object_open(g);
	int r;
	switch (a) {
	case VC_AA_CHECK:
		r = vc_agent_check_encode(m, g, err);
		break;
	case VC_AA_GUEST_DETAILS:
		r = vc_agent_guest_details_encode(m, g, err);
		break;
	case VC_AA_PID:
		r = vc_agent_pid_encode(m, g, err);
		break;
	case VC_AA_EXIT:
		r = vc_agent_exit_encode(m, g, err);
		break;
	case VC_AA_PIDS:
		r = vc_agent_pids_encode(m, g, err);
		break;
	case VC_AA_STATS:
		r = vc_agent_stats_encode(m, g, err);
		break;
	case VC_AA_IFACE:
		r = vc_agent_iface_encode(m, g, err);
		break;
	default:
		r = vc_agent_cpus_encode(m, g, err);
		break;
	}
	if (r < 0)
		return r;
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, body, len, err);
}

int vc_agent_answer_decode(enum vc_agent_answer a, const void *body, size_t len, void *m,
			   struct vc_error *err)
{
	if ((unsigned)a >= VC_AA_N)
		return vc_error_set(err, EINVAL, "unknown agent answer %d", (int)a);
	_cleanup_json_ struct vc_json *res = NULL;
	int r = vc_proto_response_decode(body, len, &res, err);
	/* Zeroed whatever comes: the caller may release it. */
	switch (a) {
	case VC_AA_CHECK:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_check))
			     : vc_agent_check_from_json(res, m, err);
	case VC_AA_GUEST_DETAILS:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_guest_details))
			     : vc_agent_guest_details_from_json(res, m, err);
	case VC_AA_PID:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_pid))
			     : vc_agent_pid_from_json(NULL, res, m, err);
	case VC_AA_EXIT:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_exit))
			     : vc_agent_exit_from_json(res, m, err);
	case VC_AA_PIDS:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_pids))
			     : vc_agent_pids_from_json(res, m, err);
	case VC_AA_STATS:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_stats))
			     : vc_agent_stats_from_json(res, m, err);
	case VC_AA_IFACE:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_iface))
			     : vc_agent_iface_from_json(res, m, err);
	default:
		return r < 0 ? done(r, m, sizeof(struct vc_agent_cpus))
			     : vc_agent_cpus_from_json(res, m, err);
	}
}

void vc_agent_answer_release(enum vc_agent_answer a, void *m)
{
	if (a == VC_AA_PIDS)
		vc_agent_pids_release(m);
}
