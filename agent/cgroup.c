/* cgroup v2 in the guest: one directory per container below the agent's cgroup
 * root, linux.resources written as v2 knobs (with runc's v1 -> v2 conversions),
 * freeze/thaw, the pid list and a few stats. Resources are best effort: the
 * guest kernel may lack a controller, and that is a warning, not a failure. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int knob_write(const char *dir, const char *file, const char *value, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, file);
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "open %s", path);
	if (vc_write_all(fd, value, strlen(value)) < 0)
		return vc_error_sys(err, errno, "write `%s` to %s", value, path);
	return 0;
}

static void knob_try(const char *dir, const char *file, const char *value)
{
	struct vc_error err = {0};
	if (knob_write(dir, file, value, &err) < 0)
		agent_warn("cgroup: %s", err.msg);
}

static char *knob_read(const char *dir, const char *file)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, file);
	char *out = NULL;
	if (!path || vc_read_file(path, 1 << 20, &out, NULL, NULL) < 0)
		return NULL;
	return out;
}

/* Controllers must be enabled in every ancestor's subtree_control for a knob
 * to exist in the leaf. */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *avail = knob_read(dir, "cgroup.controllers");
	if (!avail)
		return;
	static const char *const wanted[] = {"cpu", "memory", "pids", "cpuset", "io"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(wanted); i++) {
		char word[16];
		snprintf(word, sizeof(word), "+%s", wanted[i]);
		for (char *t = avail; (t = strstr(t, wanted[i])); t++) {
			size_t n = strlen(wanted[i]);
			if ((t == avail || t[-1] == ' ') &&
			    (t[n] == ' ' || t[n] == '\n' || !t[n])) {
				if (knob_write(dir, "cgroup.subtree_control", word, NULL) < 0)
					agent_dbg("cgroup: cannot enable %s in %s", wanted[i], dir);
				break;
			}
		}
	}
}

int agent_cgroup_create(const char *root, const char *id, char **path, struct vc_error *err)
{
	*path = NULL;
	if (!root)
		return 0;
	struct vc_error e = {0};
	if (vc_mkdir_p(root, 0755, &e) < 0) {
		agent_warn("cgroups disabled for %s: %s", id, e.msg);
		return 0;
	}
	_cleanup_free_ char *parent = strdup(root);
	if (!parent)
		return vc_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		enable_controllers(parent);
	}
	enable_controllers(root);
	_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", root, id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		agent_warn("cgroups disabled for %s: mkdir %s: %s", id, dir, strerror(errno));
		return 0;
	}
	*path = steal_ptr(dir);
	return 0;
}

/* runc's conversion of cpu.shares [2, 262144] to cpu.weight [1, 10000] */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static void apply_unified(const char *path, const struct vc_json *raw)
{
	const struct vc_json *u = vc_json_get(raw, "unified");
	if (!u || u->type != VC_JSON_OBJECT)
		return;
	for (size_t i = 0; i < u->u.object.len; i++) {
		const char *key = u->u.object.members[i].key;
		const char *val = vc_json_str(u->u.object.members[i].value);
		if (!val || strchr(key, '/') || key[0] == '.' || key[0] == '\0') {
			agent_warn("cgroup: linux.resources.unified.%s: ignored", key);
			continue;
		}
		knob_try(path, key, val);
	}
}

void agent_cgroup_apply(const char *path, const struct vc_oci_resources *res)
{
	char v[64];
	if (!path || !res)
		return;
	if (res->has_memory_limit) {
		if (res->memory_limit > 0)
			snprintf(v, sizeof(v), "%" PRId64, res->memory_limit);
		else
			snprintf(v, sizeof(v), "max");
		knob_try(path, "memory.max", v);
	}
	if (res->has_memory_reservation && res->memory_reservation >= 0) {
		snprintf(v, sizeof(v), "%" PRId64, res->memory_reservation);
		knob_try(path, "memory.low", v);
	}
	if (res->has_memory_swap) {
		/* v1 counts memory+swap, v2 swap alone */
		if (res->memory_swap < 0)
			knob_try(path, "memory.swap.max", "max");
		else if (res->has_memory_limit && res->memory_limit > 0 &&
			 res->memory_swap >= res->memory_limit) {
			snprintf(v, sizeof(v), "%" PRId64, res->memory_swap - res->memory_limit);
			knob_try(path, "memory.swap.max", v);
		}
	}
	if (res->has_cpu_quota || res->has_cpu_period) {
		uint64_t period = res->has_cpu_period && res->cpu_period ? res->cpu_period : 100000;
		if (res->has_cpu_quota && res->cpu_quota > 0)
			snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, res->cpu_quota, period);
		else
			snprintf(v, sizeof(v), "max %" PRIu64, period);
		knob_try(path, "cpu.max", v);
	}
	if (res->has_cpu_shares && res->cpu_shares) {
		snprintf(v, sizeof(v), "%" PRIu64, shares_to_weight(res->cpu_shares));
		knob_try(path, "cpu.weight", v);
	}
	if (res->cpu_cpus && *res->cpu_cpus)
		knob_try(path, "cpuset.cpus", res->cpu_cpus);
	if (res->cpu_mems && *res->cpu_mems)
		knob_try(path, "cpuset.mems", res->cpu_mems);
	if (res->has_pids_limit) {
		if (res->pids_limit > 0)
			snprintf(v, sizeof(v), "%" PRId64, res->pids_limit);
		else
			snprintf(v, sizeof(v), "max");
		knob_try(path, "pids.max", v);
	}
	if (res->raw)
		apply_unified(path, res->raw);
}

/* "frozen 1" in cgroup.events once every task has stopped */
static bool events_say(const char *path, const char *key, int want)
{
	_cleanup_free_ char *ev = knob_read(path, "cgroup.events");
	if (!ev)
		return false;
	char *t = strstr(ev, key);
	return t && atoi(t + strlen(key)) == want;
}

int agent_cgroup_freeze(const char *path, bool frozen, struct vc_error *err)
{
	int r = knob_write(path, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0)
		return r;
	for (int i = 0; i < 500; i++) {
		if (events_say(path, "frozen ", frozen))
			return 0;
		sleep_ms(10);
	}
	return vc_error_set(err, ETIMEDOUT, "cgroup %s did not become %s", path,
			    frozen ? "frozen" : "thawed");
}

int agent_cgroup_pids(const char *path, pid_t **pids, size_t *n, struct vc_error *err)
{
	_cleanup_free_ char *procs = vc_strdup_printf("%s/cgroup.procs", path);
	_cleanup_free_ char *text = NULL;
	if (!procs)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_read_file(procs, 16 << 20, &text, NULL, err);
	if (r < 0)
		return r;
	size_t cap = 16, len = 0;
	_cleanup_free_ pid_t *out = malloc(cap * sizeof(pid_t));
	if (!out)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (char *s = text; *s;) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (len == cap) {
			pid_t *nb = realloc(out, (cap *= 2) * sizeof(pid_t));
			if (!nb)
				return vc_error_set(err, ENOMEM, "out of memory");
			out = nb;
		}
		out[len++] = (pid_t)v;
		s = end;
		while (*s == '\n')
			s++;
	}
	*pids = steal_ptr(out);
	*n = len;
	return 0;
}

void agent_cgroup_chown(const char *path, uid_t uid)
{
	if (!path)
		return;
	_cleanup_free_ char *list = NULL;
	if (vc_read_file("/sys/kernel/cgroup/delegate", 1 << 16, &list, NULL, NULL) < 0 &&
	    !(list = strdup("cgroup.procs\ncgroup.threads\ncgroup.subtree_control\n")))
		return;
	if (chown(path, uid, (gid_t)-1) < 0)
		agent_warn("cgroup: chown %s to %u: %s", path, (unsigned)uid, strerror(errno));
	char *save = NULL;
	for (char *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *p = vc_strdup_printf("%s/%s", path, f);
		/* a file of a controller that is not enabled here is simply absent */
		if (p && chown(p, uid, (gid_t)-1) < 0 && errno != ENOENT)
			agent_warn("cgroup: chown %s to %u: %s", p, (unsigned)uid, strerror(errno));
	}
}

void agent_cgroup_remove(const char *path)
{
	if (!path)
		return;
	/* a frozen cgroup would keep its tasks stopped: thaw, then kill */
	knob_write(path, "cgroup.freeze", "0", NULL);
	knob_write(path, "cgroup.kill", "1", NULL);
	for (int i = 0; i < 300; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY) {
			agent_warn("cgroup: rmdir %s: %s", path, strerror(errno));
			return;
		}
		sleep_ms(10);
	}
	agent_warn("cgroup: %s is still busy; left behind", path);
}

static bool stat_field(const char *text, const char *key, uint64_t *out)
{
	size_t n = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, n) && l[n] == ' ') {
			*out = strtoull(l + n + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

/* A knob holding one number; false when absent or "max". */
static bool u64_file(const char *dir, const char *file, uint64_t *v)
{
	_cleanup_free_ char *t = knob_read(dir, file);
	if (!t || t[0] < '0' || t[0] > '9')
		return false;
	*v = strtoull(t, NULL, 10);
	return true;
}

void agent_cgroup_stats(const char *path, struct vc_agent_stats *st)
{
	*st = (struct vc_agent_stats){0};
	st->has |= u64_file(path, "memory.current", &st->mem_usage) ? VC_AS_MEM_USAGE : 0;
	st->has |= u64_file(path, "memory.max", &st->mem_limit) ? VC_AS_MEM_LIMIT : 0;
	/* the host turns each increase into one "oom" event */
	_cleanup_free_ char *events = knob_read(path, "memory.events");
	if (events && stat_field(events, "oom_kill", &st->oom_kill))
		st->has |= VC_AS_OOM_KILL;
	_cleanup_free_ char *cpu = knob_read(path, "cpu.stat");
	if (cpu && stat_field(cpu, "usage_usec", &st->cpu_usage_usec))
		st->has |= VC_AS_CPU_USAGE;
	if (cpu && stat_field(cpu, "user_usec", &st->cpu_user_usec))
		st->has |= VC_AS_CPU_USER;
	if (cpu && stat_field(cpu, "system_usec", &st->cpu_system_usec))
		st->has |= VC_AS_CPU_SYSTEM;
	st->has |= u64_file(path, "pids.current", &st->pids_current) ? VC_AS_PIDS_CURRENT : 0;
	st->has |= u64_file(path, "pids.max", &st->pids_limit) ? VC_AS_PIDS_LIMIT : 0;
}
