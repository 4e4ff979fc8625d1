#include "lib/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/vcrun.h"
#include "oci/json.h"

static const char *const status_names[] = {
	[VC_STATUS_CREATING] = "creating", [VC_STATUS_CREATED] = "created",
	[VC_STATUS_RUNNING] = "running",   [VC_STATUS_PAUSED] = "paused",
	[VC_STATUS_STOPPED] = "stopped",
};

const char *vc_status_name(enum vc_status s)
{
	return (unsigned)s < VC_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

static int status_from_name(const char *s)
{
	for (size_t i = 0; s && i < VC_ARRAY_SIZE(status_names); i++)
		if (!strcmp(s, status_names[i]))
			return (int)i;
	return -EINVAL;
}

char *vc_state_dir(const char *root, const char *id)
{
	return vc_strdup_printf("%s/%s", root, id);
}

char *vc_state_path(const char *root, const char *id, const char *name)
{
	return vc_strdup_printf("%s/%s/%s", root, id, name);
}

void vc_state_release(struct vc_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	free(st->sandbox);
	free(st->sandbox_key);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	memset(st, 0, sizeof(*st));
}

static char *dup_str(const struct vc_json *obj, const char *key)
{
	const char *s = vc_json_str(vc_json_get(obj, key));
	return strdup(s ? s : "");
}

/* An integer field: absent or not an integer reads as 0 (older state files); one
 * outside [min, max] is refused, never cut to fit (a pid cut to 1 is init's). */
static int get_int(const struct vc_json *obj, const char *key, int64_t min, int64_t max,
		   const char *path, int64_t *out, struct vc_error *err)
{
	*out = 0;
	if (vc_json_to_i64(vc_json_get(obj, key), out) < 0) {
		*out = 0;
		return 0;
	}
	if (*out < min || *out > max)
		return vc_error_set(err, EINVAL, "%s: %s: %lld is out of range", path, key,
				    (long long)*out);
	return 0;
}

int vc_state_read(const char *root, const char *id, struct vc_state *st, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_state_path(root, id, "state.json");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	memset(st, 0, sizeof(*st));
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct vc_error rerr = {0};
	if (vc_read_file(path, 16 << 20, &buf, &len, &rerr) < 0) {
		if (rerr.code == ENOENT)
			return vc_error_set(err, ENOENT, "container does not exist");
		return vc_error_set(err, rerr.code, "%s", rerr.msg);
	}
	return vc_state_parse(buf, len, path, st, err);
}

int vc_state_parse(const char *buf, size_t len, const char *path, struct vc_state *st,
		   struct vc_error *err)
{
	memset(st, 0, sizeof(*st));
	_cleanup_json_ struct vc_json *doc = NULL;
	if (vc_json_parse(buf, len, path, &doc, err) < 0)
		return -EINVAL;
	int status = status_from_name(vc_json_str(vc_json_get(doc, "status")));
	if (status < 0)
		return vc_error_set(err, EINVAL, "%s: status: unknown value", path);
	st->status = (enum vc_status)status;
	st->id = dup_str(doc, "id");
	st->bundle = dup_str(doc, "bundle");
	st->rootfs = dup_str(doc, "rootfs");
	st->created = dup_str(doc, "created");
	st->owner = dup_str(doc, "owner");
	int64_t standin = 0, monitor = 0, start = 0, hv = 0, code = 0, sig = 0;
	if (get_int(doc, "standin_pid", 0, INT_MAX, path, &standin, err) < 0 ||
	    get_int(doc, "monitor_pid", 0, INT_MAX, path, &monitor, err) < 0 ||
	    get_int(doc, "monitor_start", 0, INT64_MAX, path, &start, err) < 0 ||
	    get_int(doc, "hv_pid", 0, INT_MAX, path, &hv, err) < 0 ||
	    get_int(doc, "exit_code", INT_MIN, INT_MAX, path, &code, err) < 0 ||
	    get_int(doc, "exit_signal", INT_MIN, INT_MAX, path, &sig, err) < 0) {
		vc_state_release(st);
		return -EINVAL;
	}
	st->standin_pid = (pid_t)standin;
	st->monitor_pid = (pid_t)monitor;
	st->monitor_start = (unsigned long long)start;
	st->hv_pid = (pid_t)hv;
	st->exit_code = (int)code;
	st->exit_signal = (int)sig;
	st->sandbox = dup_str(doc, "sandbox");
	st->sandbox_key = dup_str(doc, "sandbox_key");
	const struct vc_json *ps = vc_json_get(doc, "pod_sandbox");
	st->pod_sandbox = ps && ps->type == VC_JSON_BOOL && ps->u.boolean;
	/* Older state (or a container that booted its own VM): its own sandbox. */
	if (st->sandbox && !st->sandbox[0]) {
		free(st->sandbox);
		st->sandbox = st->id ? strdup(st->id) : NULL;
	}
	const struct vc_json *ann = vc_json_get(doc, "annotations");
	if (ann && ann->type == VC_JSON_OBJECT && ann->u.object.len > 0) {
		st->annotations = calloc(ann->u.object.len, sizeof(*st->annotations));
		if (!st->annotations) {
			vc_state_release(st);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < ann->u.object.len; i++) {
			const char *v = vc_json_str(ann->u.object.members[i].value);
			st->annotations[i].key = strdup(ann->u.object.members[i].key);
			st->annotations[i].value = strdup(v ? v : "");
			st->n_annotations++;
			if (!st->annotations[i].key || !st->annotations[i].value) {
				vc_state_release(st);
				return vc_error_set(err, ENOMEM, "out of memory");
			}
		}
	}
	if (!st->id || !st->bundle || !st->rootfs || !st->created || !st->owner || !st->sandbox ||
	    !st->sandbox_key) {
		vc_state_release(st);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int vc_state_write(const char *root, const struct vc_state *st, struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "id", st->id);
	vc_jgen_kv_string(g, "status", vc_status_name(st->status));
	vc_jgen_kv_string(g, "bundle", st->bundle);
	vc_jgen_kv_string(g, "rootfs", st->rootfs);
	vc_jgen_kv_string(g, "created", st->created);
	vc_jgen_kv_string(g, "owner", st->owner ? st->owner : "");
	vc_jgen_kv_int(g, "standin_pid", st->standin_pid);
	vc_jgen_kv_int(g, "monitor_pid", st->monitor_pid);
	vc_jgen_kv_int(g, "monitor_start", (int64_t)st->monitor_start);
	vc_jgen_kv_int(g, "hv_pid", st->hv_pid);
	vc_jgen_kv_int(g, "exit_code", st->exit_code);
	vc_jgen_kv_int(g, "exit_signal", st->exit_signal);
	vc_jgen_kv_string(g, "sandbox", st->sandbox ? st->sandbox : st->id);
	vc_jgen_kv_string(g, "sandbox_key", st->sandbox_key ? st->sandbox_key : "");
	vc_jgen_kv_bool(g, "pod_sandbox", st->pod_sandbox);
	vc_jgen_key(g, "annotations");
	vc_jgen_object_open(g);
	for (size_t i = 0; i < st->n_annotations; i++)
		vc_jgen_kv_string(g, st->annotations[i].key, st->annotations[i].value);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (vc_jgen_finish(g, &text, &len, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *path = vc_state_path(root, st->id, "state.json");
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_write_file_atomic(path, text, len, 0600, err);
}

int vc_state_lock(const char *root, const char *id, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_state_path(root, id, "lock");
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ENOENT)
			return vc_error_set(err, ENOENT, "container does not exist");
		return vc_error_sys(err, errno, "open `%s`", path);
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return vc_error_sys(err, errno, "lock `%s`", path);
	return steal_fd(fd);
}

unsigned long long vc_proc_starttime(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *buf = NULL;
	if (pid <= 0 || vc_read_file(path, 4096, &buf, NULL, NULL) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* field 3 (state) is the first after ')'; starttime is field 22. */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	/* A zombie has exited: treat it as gone. */
	char *st = strrchr(buf, ')') + 2;
	if (*st == 'Z' || *st == 'X')
		return 0;
	return strtoull(p + 1, NULL, 10);
}

bool vc_proc_alive(pid_t pid, unsigned long long starttime)
{
	if (pid <= 0)
		return false;
	unsigned long long now = vc_proc_starttime(pid);
	return now != 0 && (starttime == 0 || now == starttime);
}

enum vc_status vc_state_live_status(const struct vc_state *st)
{
	if (st->status == VC_STATUS_STOPPED)
		return VC_STATUS_STOPPED;
	if (!vc_proc_alive(st->monitor_pid, st->monitor_start))
		return VC_STATUS_STOPPED;
	if (st->status == VC_STATUS_CREATING)
		return VC_STATUS_CREATED;
	return st->status;
}

int vc_state_live(const char *root, const char *id, enum vc_status *status, struct vc_error *err)
{
	struct vc_state st;
	int r = vc_id_validate(id, err);
	if (r < 0 || (r = vc_state_read(root, id, &st, err)) < 0)
		return r;
	*status = vc_state_live_status(&st);
	vc_state_release(&st);
	return 0;
}
