/* The sandbox API (lib/vcrun.h), in virtcontainers' shape: a handle names a
 * sandbox by its owner, each call on a container checks that the container is a
 * member and then acts through lib/container.c, control.c and exec.c. Nothing here
 * is cached across calls: the --root store and the monitor are the truth, since
 * another vcrun call may change either at any time. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/container.h"
#include "lib/log.h"
#include "lib/state.h"
#include "lib/vcrun.h"

struct vc_sandbox {
	struct vc_ctx ctx;
	char *root;
	char *owner;  /* the sandbox's id */
	char *key;    /* CRI sandbox id, or NULL */
	char *opened; /* the container it was opened by: known to be a member */
};

void vc_sandbox_close(struct vc_sandbox *sb)
{
	if (!sb)
		return;
	free(sb->root);
	free(sb->owner);
	free(sb->key);
	free(sb->opened);
	free(sb);
}

const char *vc_sandbox_id(const struct vc_sandbox *sb)
{
	return sb->owner;
}

const char *vc_sandbox_key(const struct vc_sandbox *sb)
{
	return sb->key;
}

static int sandbox_new(const struct vc_ctx *ctx, const char *owner, const char *key,
		       const char *opened, struct vc_sandbox **out, struct vc_error *err)
{
	_cleanup_sandbox_ struct vc_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb || !(sb->root = strdup(ctx->root)) || !(sb->owner = strdup(owner)) ||
	    (key && *key && !(sb->key = strdup(key))) || (opened && !(sb->opened = strdup(opened))))
		return vc_error_set(err, ENOMEM, "out of memory");
	sb->ctx = *ctx;
	sb->ctx.root = sb->root;
	*out = steal_ptr(sb);
	return 0;
}

int vc_sandbox_open(const struct vc_ctx *ctx, const char *id, struct vc_sandbox **out,
		    struct vc_error *err)
{
	*out = NULL;
	int r = vc_id_validate(id, err);
	if (r < 0)
		return r;
	struct vc_state st;
	struct vc_error serr = {0};
	if (vc_state_read(ctx->root, id, &st, &serr) == 0) {
		const char *owner = st.sandbox && *st.sandbox ? st.sandbox : id;
		r = sandbox_new(ctx, owner, st.sandbox_key, id, out, err);
		vc_state_release(&st);
		return r;
	}
	/* A state dir without its state.json: a create under way or one that failed
	 * half-way, or a sandbox's owner deleted while members still run in its VM.
	 * Only delete means something for it, and it needs the id alone. */
	_cleanup_free_ char *dir = vc_state_dir(ctx->root, id);
	struct stat sbuf;
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (lstat(dir, &sbuf) < 0) {
		if (errno == ENOENT)
			return vc_error_set(err, ENOENT, "container does not exist");
		return vc_error_sys(err, errno, "stat `%s`", dir);
	}
	return sandbox_new(ctx, id, NULL, id, out, err);
}

/* Container id is in sb: its state names sb's owner (or it is the owner). */
static int member_check(const struct vc_sandbox *sb, const char *id, struct vc_error *err)
{
	int r = vc_id_validate(id, err);
	if (r < 0 || (sb->opened && !strcmp(sb->opened, id)) || !strcmp(sb->owner, id))
		return r;
	struct vc_state st;
	if ((r = vc_state_read(sb->root, id, &st, err)) < 0)
		return r;
	bool member = st.sandbox && !strcmp(st.sandbox, sb->owner);
	if (!member)
		r = vc_error_set(err, EINVAL, "container %s is not in sandbox %s (it runs in %s)",
				 id, sb->owner, st.sandbox && *st.sandbox ? st.sandbox : id);
	vc_state_release(&st);
	return r;
}

int vc_sandbox_create(const struct vc_ctx *ctx, struct vc_container_config *cfg,
		      struct vc_sandbox **out, pid_t *pid, struct vc_error *err)
{
	*out = NULL;
	const char *id = vc_container_config_id(cfg);
	if (vc_container_config_sandbox(cfg))
		return vc_error_set(err, EINVAL,
				    "container %s joins the running sandbox %s: it cannot boot one",
				    id, vc_container_config_sandbox(cfg));
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	pid_t standin = 0;
	int r = sandbox_new(ctx, id, NULL, id, &sb, err);
	if (r < 0 || (r = vc_container_create_cfg(ctx, cfg, &standin, err)) < 0)
		return r;
	if (pid)
		*pid = standin;
	*out = steal_ptr(sb);
	return 0;
}

int vc_sandbox_create_container(struct vc_sandbox *sb, struct vc_container_config *cfg, pid_t *pid,
				struct vc_error *err)
{
	const char *joins = vc_container_config_sandbox(cfg);
	if (!joins || strcmp(joins, sb->owner))
		return vc_error_set(err, EINVAL, "container %s belongs in %s, not in sandbox %s",
				    vc_container_config_id(cfg),
				    joins ? joins : "a sandbox of its own", sb->owner);
	pid_t standin = 0;
	int r = vc_container_create_cfg(&sb->ctx, cfg, &standin, err);
	if (r == 0 && pid)
		*pid = standin;
	return r;
}

int vc_sandbox_start_container(struct vc_sandbox *sb, const char *id, struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_start(&sb->ctx, id, err);
}

int vc_sandbox_kill_container(struct vc_sandbox *sb, const char *id, int sig, bool all,
			      struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_kill(&sb->ctx, id, sig, all, err);
}

int vc_sandbox_pause_container(struct vc_sandbox *sb, const char *id, struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_pause(&sb->ctx, id, err);
}

int vc_sandbox_resume_container(struct vc_sandbox *sb, const char *id, struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_resume(&sb->ctx, id, err);
}

int vc_sandbox_update_container(struct vc_sandbox *sb, const char *id, const char *resources_json,
				const char *source, struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_update(&sb->ctx, id, resources_json, source, err);
}

int vc_sandbox_exec(struct vc_sandbox *sb, const char *id, const struct vc_exec_opts *opts,
		    pid_t *pid, int *status, struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_exec(&sb->ctx, id, opts, pid, status, err);
}

int vc_sandbox_delete_container(struct vc_sandbox *sb, const char *id, bool force,
				struct vc_error *err)
{
	int r = member_check(sb, id, err);
	return r < 0 ? r : vc_container_delete(&sb->ctx, id, force, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every sandbox of root, with its members, from one pass over the state dirs. A
 * sandbox whose owner was deleted while members run is known by its members. */
struct sb_entry {
	char *owner, *key;
	pid_t hv;
	char **members;
};

static void entries_free(struct sb_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].owner);
		free(v[i].key);
		vc_strv_freep(&v[i].members);
	}
	free(v);
}

static int scan(const char *root, const char *only, struct sb_entry **out, size_t *n,
		struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "open --root `%s`", root);
	struct sb_entry *v = NULL;
	size_t len = 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || vc_id_validate(de->d_name, NULL) < 0)
			continue;
		struct vc_state st;
		if (vc_state_read(root, de->d_name, &st, NULL) < 0)
			continue;
		const char *owner = st.sandbox && *st.sandbox ? st.sandbox : st.id;
		if (only && strcmp(owner, only)) {
			vc_state_release(&st);
			continue;
		}
		size_t i = 0;
		while (i < len && strcmp(v[i].owner, owner))
			i++;
		if (i == len) {
			struct sb_entry *nv = realloc(v, (len + 1) * sizeof(*nv));
			if (!nv || !(nv[len].owner = strdup(owner))) {
				if (nv)
					v = nv;
				r = -ENOMEM;
			} else {
				v = nv;
				v[len].key = NULL;
				v[len].hv = 0;
				v[len].members = NULL;
				len++;
			}
		}
		if (r == 0) {
			struct sb_entry *e = &v[i];
			if (!e->key && st.sandbox_key && *st.sandbox_key)
				e->key = strdup(st.sandbox_key);
			if (vc_proc_alive(st.monitor_pid, st.monitor_start))
				e->hv = st.hv_pid;
			if (vc_strv_push(&e->members, st.id) < 0)
				r = -ENOMEM;
		}
		vc_state_release(&st);
	}
	if (r < 0) {
		entries_free(v, len);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	/* Owner first, then the others by id; sandboxes by id. */
	for (size_t i = 0; i < len; i++) {
		size_t m = vc_strv_len(v[i].members);
		qsort(v[i].members, m, sizeof(char *), cmp_str);
		for (size_t j = 0; j < m; j++)
			if (!strcmp(v[i].members[j], v[i].owner)) {
				char *own = v[i].members[j];
				memmove(&v[i].members[1], &v[i].members[0], j * sizeof(char *));
				v[i].members[0] = own;
				break;
			}
	}
	qsort(v, len, sizeof(*v), cmp_str);
	*out = v;
	*n = len;
	return 0;
}

int vc_sandbox_members(const struct vc_sandbox *sb, char ***ids, size_t *n, struct vc_error *err)
{
	*ids = NULL;
	*n = 0;
	struct sb_entry *v = NULL;
	size_t len = 0;
	int r = scan(sb->root, sb->owner, &v, &len, err);
	if (r < 0)
		return r;
	if (len) {
		*ids = steal_ptr(v[0].members);
		*n = vc_strv_len(*ids);
	}
	entries_free(v, len);
	return 0;
}

int vc_sandbox_destroy(struct vc_sandbox *sb, bool force, struct vc_error *err)
{
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	int r = vc_sandbox_members(sb, &ids, &n, err);
	if (r < 0)
		return r;
	if (!force)
		for (size_t i = 0; i < n; i++) {
			enum vc_status s;
			if (vc_state_live(sb->root, ids[i], &s, NULL) == 0 &&
			    (s == VC_STATUS_RUNNING || s == VC_STATUS_PAUSED))
				return vc_error_set(err, EBUSY,
						    "sandbox %s: container %s is %s (--force "
						    "stops it)",
						    sb->owner, ids[i], vc_status_name(s));
		}
	/* ids is owner first: backwards is members first, the owner last (the CRI
	 * order; the VM goes with the owner once nobody else is in it). */
	for (size_t k = n; k-- > 0;)
		if ((r = vc_container_delete(&sb->ctx, ids[k], true, err)) < 0 && r != -ENOENT)
			return vc_error_wrap(err, "sandbox %s", sb->owner);
	/* An owner deleted earlier kept its dir while members ran: the last member's
	 * delete removed it. */
	return 0;
}

void vc_sandbox_info_free(struct vc_sandbox_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].id);
		free(list[i].key);
		vc_strv_freep(&list[i].members);
	}
	free(list);
}

int vc_sandbox_list(const struct vc_ctx *ctx, struct vc_sandbox_info **out, size_t *n,
		    struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	struct sb_entry *v = NULL;
	size_t len = 0;
	int r = scan(ctx->root, NULL, &v, &len, err);
	if (r < 0)
		return r;
	struct vc_sandbox_info *list = calloc(len ? len : 1, sizeof(*list));
	if (!list) {
		entries_free(v, len);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		list[i].id = steal_ptr(v[i].owner);
		list[i].key = v[i].key ? steal_ptr(v[i].key) : strdup("");
		list[i].hv_pid = v[i].hv;
		list[i].members = steal_ptr(v[i].members);
		if (!list[i].key) {
			entries_free(v, len);
			vc_sandbox_info_free(list, len);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	entries_free(v, len);
	*out = list;
	*n = len;
	return 0;
}
