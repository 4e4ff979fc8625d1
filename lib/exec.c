/* `exec`: a new process in a running container. The process object is built here
 * (from --process, or from the container's own process with the inline options
 * applied), validated like config.json's, and handed to the monitor, which starts it
 * in the guest; a stand-in of its own carries its stdio and its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-proto/monitor-msg.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/fault.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/container.h"
#include "lib/vcrun.h"
#include "oci/json.h"
#include "oci/spec.h"

static int read_json_file(const char *path, struct vc_json **out, struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (vc_read_file(path, 16 << 20, &text, &len, err) < 0)
		return -EINVAL;
	return vc_json_parse(text, len, path, out, err);
}

static struct vc_json *strv_json(char **v)
{
	struct vc_json *a = vc_json_new_array();
	for (size_t i = 0; a && v && v[i]; i++)
		if (vc_json_array_append(a, vc_json_new_string(v[i])) < 0) {
			vc_json_free(a);
			return NULL;
		}
	return a;
}

/* KEY=VALUE entries replace the same key in place, else are appended (runc's rule). */
static int merge_env(struct vc_json *process, char **env, struct vc_error *err)
{
	struct vc_json *cur = vc_json_get(process, "env");
	if (!cur) {
		if (vc_json_object_set(process, "env", vc_json_new_array()) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		cur = vc_json_get(process, "env");
	}
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			return vc_error_set(err, EINVAL, "--env `%s`: must be KEY=VALUE", env[i]);
		size_t klen = (size_t)(eq - env[i]) + 1;
		bool replaced = false;
		for (size_t k = 0; k < cur->u.array.len && !replaced; k++) {
			const char *e = vc_json_str(cur->u.array.items[k]);
			if (e && !strncmp(e, env[i], klen)) {
				vc_json_free(cur->u.array.items[k]);
				cur->u.array.items[k] = vc_json_new_string(env[i]);
				replaced = true;
			}
		}
		if (!replaced && vc_json_array_append(cur, vc_json_new_string(env[i])) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int parse_id(const char *s, const char *what, uint32_t *out, struct vc_error *err)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX)
		return vc_error_set(err, EINVAL,
				    "%s `%s`: must be numeric (names are resolved inside the VM, "
				    "which vcrun does not do yet)",
				    what, s);
	*out = (uint32_t)v;
	return 0;
}

static int apply_user(struct vc_json *process, const char *user, char **gids, struct vc_error *err)
{
	struct vc_json *u = vc_json_get(process, "user");
	if (!u) {
		if (vc_json_object_set(process, "user", vc_json_new_object()) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		u = vc_json_get(process, "user");
	}
	if (user) {
		_cleanup_free_ char *copy = strdup(user);
		if (!copy)
			return vc_error_set(err, ENOMEM, "out of memory");
		char *colon = strchr(copy, ':');
		if (colon)
			*colon++ = '\0';
		uint32_t uid = 0, gid = 0;
		if (parse_id(copy, "--user", &uid, err) < 0 ||
		    (colon && parse_id(colon, "--user group", &gid, err) < 0))
			return -EINVAL;
		if (vc_json_object_set(u, "uid", vc_json_new_uint(uid)) < 0 ||
		    vc_json_object_set(u, "gid", vc_json_new_uint(gid)) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (gids && gids[0]) {
		struct vc_json *a = vc_json_new_array();
		for (size_t i = 0; a && gids[i]; i++) {
			uint32_t g;
			if (parse_id(gids[i], "--additional-gids", &g, err) < 0) {
				vc_json_free(a);
				return -EINVAL;
			}
			if (vc_json_array_append(a, vc_json_new_uint(g)) < 0)
				a = NULL;
		}
		if (vc_json_object_set(u, "additionalGids", a) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int add_caps(struct vc_json *process, char **caps, struct vc_error *err)
{
	if (!caps || !caps[0])
		return 0;
	struct vc_json *c = vc_json_get(process, "capabilities");
	if (!c) {
		if (vc_json_object_set(process, "capabilities", vc_json_new_object()) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		c = vc_json_get(process, "capabilities");
	}
	static const char *const sets[] = {"bounding", "effective", "permitted"};
	for (size_t s = 0; s < VC_ARRAY_SIZE(sets); s++) {
		struct vc_json *set = vc_json_get(c, sets[s]);
		if (!set || set->type != VC_JSON_ARRAY) {
			if (vc_json_object_set(c, sets[s], vc_json_new_array()) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
			set = vc_json_get(c, sets[s]);
		}
		for (size_t i = 0; caps[i]; i++)
			if (vc_json_array_append(set, vc_json_new_string(caps[i])) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* The inline form: the container's process with the options applied on top. */
static int inline_process(const char *bundle, const struct vc_exec_opts *o, struct vc_json **out,
			  struct vc_error *err)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/config.json", bundle);
	_cleanup_json_ struct vc_json *config = NULL;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (read_json_file(path, &config, err) < 0)
		return -EINVAL;
	_cleanup_json_ struct vc_json *p = vc_json_clone(vc_json_get(config, "process"));
	if (!p)
		p = vc_json_new_object();
	if (!p || p->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: process: must be an object", path);
	if (!o->args || !o->args[0])
		return vc_error_set(err, EINVAL, "exec: no command given (and no --process)");
	if (vc_json_object_set(p, "args", strv_json(o->args)) < 0 ||
	    vc_json_object_set(p, "terminal", vc_json_new_bool(o->tty)) < 0 ||
	    (o->cwd && vc_json_object_set(p, "cwd", vc_json_new_string(o->cwd)) < 0) ||
	    (o->no_new_privs &&
	     vc_json_object_set(p, "noNewPrivileges", vc_json_new_bool(true)) < 0))
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_json_object_remove(p, "consoleSize");
	if (merge_env(p, o->env, err) < 0 || apply_user(p, o->user, o->additional_gids, err) < 0 ||
	    add_caps(p, o->caps, err) < 0)
		return -EINVAL;
	*out = steal_ptr(p);
	return 0;
}

static int build_process(const char *bundle, const struct vc_exec_opts *o, struct vc_json **out,
			 struct vc_error *err)
{
	_cleanup_json_ struct vc_json *p = NULL;
	int r = o->process_file ? read_json_file(o->process_file, &p, err)
				: inline_process(bundle, o, &p, err);
	if (r < 0)
		return r;
	/* The same checks as config.json's process, before anything is started. */
	struct vc_oci_process *model = NULL;
	r = vc_oci_process_from_json(p, "process", &model, err);
	if (r < 0)
		return o->process_file ? vc_error_wrap(err, "%s", o->process_file) : r;
	bool terminal = model->terminal;
	vc_oci_process_free(model);
	if (terminal && !o->console_socket && o->detach)
		return vc_error_set(err, EINVAL,
				    "process.terminal: a detached terminal needs --console-socket");
	*out = steal_ptr(p);
	return 0;
}

static bool same_ns(pid_t a, pid_t b)
{
	char pa[64], pb[64];
	struct stat sa, sb;
	snprintf(pa, sizeof(pa), "/proc/%d/ns/pid", (int)a);
	snprintf(pb, sizeof(pb), "/proc/%d/ns/pid", (int)b);
	return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* exec's stand-in joins the pid namespace of the container's (as runc's exec joins
 * the container's), when that one holds its own: "pid:/proc/PID/ns/pid", or NULL
 * (ENOMEM aside) when it is the host's. */
static char *exec_pid_ns_arg(pid_t standin)
{
	if (standin <= 0 || same_ns(standin, getpid()))
		return NULL;
	return vc_strdup_printf("pid:/proc/%d/ns/pid", (int)standin);
}

/* The namespace joined by path was the container stand-in's: still there (not a
 * pid reused since), and what ours holds. */
static int exec_pid_ns_check(pid_t standin, pid_t ctr_standin, const char *id, struct vc_error *err)
{
	if (!same_ns(standin, ctr_standin) || !vc_helper_is(ctr_standin, "__standin", NULL, id))
		return vc_error_set(err, ESRCH, "container not running");
	return 0;
}

int vc_container_exec(const struct vc_ctx *ctx, const char *id, const struct vc_exec_opts *opts,
		      pid_t *pid, int *status, struct vc_error *err)
{
	struct vc_state st;
	int r = vc_id_validate(id, err);
	if (r < 0 || (r = vc_state_read(ctx->root, id, &st, err)) < 0)
		return r;
	enum vc_status live = vc_state_live_status(&st);
	_cleanup_json_ struct vc_json *process = NULL;
	if (live == VC_STATUS_STOPPED)
		r = vc_error_set(err, EINVAL, "cannot exec in a stopped container");
	else if (live == VC_STATUS_PAUSED)
		r = vc_error_set(err, EINVAL, "cannot exec in a paused container");
	else if (opts->preserve_fds > 0)
		r = vc_error_set(err, ENOTSUP,
				 "--preserve-fds %d: file descriptors cannot be passed into the "
				 "container's VM",
				 opts->preserve_fds);
	else if (opts->tty && !opts->console_socket && opts->detach)
		r = vc_error_set(err, EINVAL,
				 "cannot allocate tty if vcrun will detach without setting console "
				 "socket");
	else if (opts->console_socket && !opts->tty && !opts->process_file)
		r = vc_error_set(err, EINVAL, "--console-socket: given without --tty");
	else
		r = build_process(st.bundle, opts, &process, err);
	pid_t ctr_standin = st.standin_pid;
	vc_state_release(&st);
	if (r < 0 || (r = vc_host_cgroup_exec_check(ctx->root, id, opts->cgroups, err)) < 0)
		return r;

	const struct vc_json *t = vc_json_get(process, "terminal");
	bool terminal = t && t->type == VC_JSON_BOOL && t->u.boolean;
	__attribute__((cleanup(vc_mon_request_release))) struct vc_mon_request exec = {
		.method = VC_MON_EXEC, .process = steal_ptr(process)};
	_cleanup_json_ struct vc_json *res = NULL;
	vc_debug("exec %s: asking the monitor for a process (terminal %s)", id,
		 terminal ? "yes" : "no");
	struct vc_mon_stream sid;
	if ((r = vc_monitor_call(ctx->root, id, &exec, &res, err)) < 0)
		return r;
	if (vc_mon_stream_from_json(res, &sid, NULL) < 0)
		return vc_error_set(err, EPROTO,
				    "the monitor did not name the new process's stream");
	vc_fault_point("exec.asked");

	char stream[16];
	snprintf(stream, sizeof(stream), "%u", sid.stream_id);
	_cleanup_strv_ char **argv =
		vc_helper_argv(ctx, "__standin", ctx->root, id, "--stream", stream);
	_cleanup_free_ char *pid_ns = exec_pid_ns_arg(ctr_standin);
	if (!argv ||
	    (pid_ns && (vc_strv_push(&argv, "--ns") < 0 || vc_strv_push(&argv, pid_ns) < 0)))
		return vc_error_set(err, ENOMEM, "out of memory");
	pid_t standin = 0;
	bool foreground_tty = !opts->console_socket && !opts->detach && terminal;
	if ((r = vc_spawn_standin(argv, opts->console_socket, NULL, foreground_tty, opts->stdio,
				  &standin, err)) < 0 ||
	    (r = vc_host_cgroup_add_pid(ctx->root, id, opts->cgroups, standin, err)) < 0 ||
	    (pid_ns && (r = exec_pid_ns_check(standin, ctr_standin, id, err)) < 0) ||
	    (opts->pid_file && (r = vc_write_pid_file(opts->pid_file, standin, err)) < 0)) {
		/* Its stand-in gone, the monitor kills the process. */
		if (standin > 0) {
			kill(standin, SIGKILL);
			waitpid(standin, NULL, 0);
		}
		return r;
	}
	vc_fault_point("exec.standin");
	vc_debug("exec %s: stream %s, stand-in pid %d%s", id, stream, (int)standin,
		 opts->detach ? ", detached" : "");
	if (pid)
		*pid = standin;
	*status = 0;
	if (!opts->detach)
		*status = vc_wait_standin(standin);
	return 0;
}
