/* include/vcrun.h over the sandbox API (lib/vcrun.h): the public, stable names
 * (vcrun_*, the only symbols libvcrun.so exports: lib/libvcrun.map), opaque
 * handles and options objects, and errors read back from the context. Nothing here
 * decides anything the command would decide differently: a container made here is
 * one `vcrun` sees, and the reverse. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "include/vcrun.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/vcrun.h"

#ifndef VC_BINDIR
#define VC_BINDIR "/usr/local/bin"
#endif

struct vcrun_ctx {
	struct vc_ctx ctx;
	char *root, *program;
	struct vc_error err;
};

struct vcrun_container {
	vcrun_ctx *ctx;
	char *id, *sandbox;
	pid_t child; /* the stand-in, when this process created the container; else 0 */
};

struct vcrun_process {
	vcrun_ctx *ctx;
	pid_t pid;
	bool reaped;
	int status;
};

struct stdio3 {
	bool set;
	int fd[3];
};

struct vcrun_create_opts {
	char *bundle, *sandbox;
	struct stdio3 stdio;
};

struct vcrun_spawn_opts {
	char **args, **env;
	char *cwd, *user;
	struct stdio3 stdio;
};

/* Each entry point starts with a clean error (fresh) and fails through
 * vc_error_set on ctx->err, read back with vcrun_ctx_error. */
static struct vc_error *fresh(vcrun_ctx *ctx)
{
	ctx->err.code = 0;
	ctx->err.msg[0] = '\0';
	return &ctx->err;
}

/* A program beside the library, for installs that move as a tree:
 * PREFIX/lib[/ARCH]/libvcrun.so.0 → PREFIX/bin/vcrun. */
static char *program_beside_library(void)
{
	Dl_info info;
	if (!dladdr((void *)program_beside_library, &info) || !info.dli_fname)
		return NULL;
	_cleanup_free_ char *lib = realpath(info.dli_fname, NULL);
	if (!lib)
		return NULL;
	char *dir = dirname(lib);
	for (int up = 1; up <= 2; up++) {
		char *p = vc_strdup_printf("%s/%s../bin/vcrun", dir, up == 2 ? "../" : "");
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int set_program(vcrun_ctx *ctx, const char *path)
{
	if (access(path, X_OK) < 0)
		return vc_error_sys(&ctx->err, errno, "vcrun program `%s`", path);
	char *copy = strdup(path);
	if (!copy || vc_self_exe_set(path) < 0) {
		free(copy);
		return vc_error_set(&ctx->err, ENOMEM, "out of memory");
	}
	free(ctx->program);
	ctx->program = copy;
	return 0;
}

int vcrun_ctx_new(const char *root, vcrun_ctx **out)
{
	*out = NULL;
	vcrun_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	/* the CLI's default, rootless included (common/rootless.h) */
	ctx->root = root ? strdup(root) : vc_default_root(NULL, 0);
	if (!ctx->root) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->ctx.root = ctx->root;
	ctx->ctx.argv0 = "vcrun";
	const char *env = getenv("VCRUN_PROGRAM");
	_cleanup_free_ char *beside = env && *env ? NULL : program_beside_library();
	const char *program = env && *env ? env : beside ? beside : VC_BINDIR "/vcrun";
	/* A missing program is reported by the first call that needs it. */
	if (access(program, X_OK) == 0)
		set_program(ctx, program);
	*out = ctx;
	return 0;
}

void vcrun_ctx_free(vcrun_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->root);
	free(ctx->program);
	free(ctx);
}

const char *vcrun_ctx_error(const vcrun_ctx *ctx)
{
	return ctx ? ctx->err.msg : "no context";
}

int vcrun_ctx_set_program(vcrun_ctx *ctx, const char *path)
{
	fresh(ctx);
	return path ? set_program(ctx, path)
		    : vc_error_set(&ctx->err, EINVAL, "program: NULL path");
}

void vcrun_ctx_set_debug(vcrun_ctx *ctx, int on)
{
	ctx->ctx.debug = on != 0;
	vc_log_init(NULL, VC_LOG_TEXT, on != 0);
}

/* The helper processes run the program; a context without one cannot start any. */
static int need_program(vcrun_ctx *ctx)
{
	if (ctx->program)
		return vc_self_exe_set(ctx->program) < 0
			       ? vc_error_set(&ctx->err, ENOMEM, "out of memory")
			       : 0;
	return vc_error_set(&ctx->err, ENOENT,
			    "no vcrun program: set $VCRUN_PROGRAM or call vcrun_ctx_set_program "
			    "(looked beside the library and in " VC_BINDIR ")");
}

static int set_str(char **dst, const char *s)
{
	char *copy = s ? strdup(s) : NULL;
	if (s && !copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static int set_strv(char ***dst, const char *const *v)
{
	char **copy = NULL;
	for (size_t i = 0; v && v[i]; i++)
		if (vc_strv_push(&copy, v[i]) < 0) {
			vc_strv_freep(&copy);
			return -ENOMEM;
		}
	vc_strv_freep(dst);
	*dst = copy;
	return 0;
}

static int set_stdio(struct stdio3 *s, int in, int out, int err)
{
	const int fds[3] = {in, out, err};
	for (int i = 0; i < 3; i++)
		if (fds[i] < -1 || (fds[i] >= 0 && fcntl(fds[i], F_GETFD) < 0))
			return -EBADF;
	memcpy(s->fd, fds, sizeof(fds));
	s->set = true;
	return 0;
}

int vcrun_create_opts_new(vcrun_create_opts **opts)
{
	*opts = calloc(1, sizeof(**opts));
	return *opts ? 0 : -ENOMEM;
}

void vcrun_create_opts_free(vcrun_create_opts *opts)
{
	if (!opts)
		return;
	free(opts->bundle);
	free(opts->sandbox);
	free(opts);
}

int vcrun_create_opts_set_bundle(vcrun_create_opts *opts, const char *dir)
{
	return set_str(&opts->bundle, dir);
}

int vcrun_create_opts_set_stdio(vcrun_create_opts *opts, int in, int out, int err)
{
	return set_stdio(&opts->stdio, in, out, err);
}

int vcrun_create_opts_set_sandbox(vcrun_create_opts *opts, const char *sandbox_id)
{
	return set_str(&opts->sandbox, sandbox_id);
}

static int container_new(vcrun_ctx *ctx, const char *id, const char *sandbox, pid_t child,
			 vcrun_container **out)
{
	vcrun_container *c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(id)) || !(c->sandbox = strdup(sandbox))) {
		if (c)
			free(c->id);
		free(c);
		return vc_error_set(&ctx->err, ENOMEM, "out of memory");
	}
	c->ctx = ctx;
	c->child = child;
	*out = c;
	return 0;
}

int vcrun_container_create(vcrun_ctx *ctx, const char *id, const vcrun_create_opts *opts,
			   vcrun_container **out)
{
	*out = NULL;
	struct vc_error *err = fresh(ctx);
	int r = need_program(ctx);
	if (r < 0)
		return r;
	if (!id)
		return vc_error_set(&ctx->err, EINVAL, "container id: NULL");
	struct vc_create_opts o = {
		.bundle = opts ? opts->bundle : NULL,
		.stdio = opts && opts->stdio.set ? opts->stdio.fd : NULL,
		.sandbox = opts ? opts->sandbox : NULL,
	};
	struct vc_container_config *cfg = NULL;
	if ((r = vc_container_config_load(&ctx->ctx, id, &o, &cfg, err)) < 0)
		return r;
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	const char *joins = vc_container_config_sandbox(cfg);
	pid_t pid = 0;
	if (!joins)
		r = vc_sandbox_create(&ctx->ctx, cfg, &sb, &pid, err);
	else if ((r = vc_sandbox_open(&ctx->ctx, joins, &sb, err)) == 0)
		r = vc_sandbox_create_container(sb, cfg, &pid, err);
	vc_container_config_free(cfg);
	if (r < 0)
		return r;
	return container_new(ctx, id, vc_sandbox_id(sb), pid, out);
}

int vcrun_container_open(vcrun_ctx *ctx, const char *id, vcrun_container **out)
{
	*out = NULL;
	struct vc_error *err = fresh(ctx);
	if (!id)
		return vc_error_set(&ctx->err, EINVAL, "container id: NULL");
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = vc_sandbox_open(&ctx->ctx, id, &sb, err);
	return r < 0 ? r : container_new(ctx, id, vc_sandbox_id(sb), 0, out);
}

void vcrun_container_free(vcrun_container *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->sandbox);
	free(c);
}

const char *vcrun_container_id(const vcrun_container *c)
{
	return c->id;
}

const char *vcrun_container_sandbox(const vcrun_container *c)
{
	return c->sandbox;
}

pid_t vcrun_container_pid(const vcrun_container *c)
{
	struct vc_state st;
	if (vc_state_read(c->ctx->root, c->id, &st, NULL) < 0)
		return 0;
	pid_t pid = vc_state_live_status(&st) == VC_STATUS_STOPPED ? 0 : st.standin_pid;
	vc_state_release(&st);
	return pid;
}

const char *vcrun_container_status(vcrun_container *c)
{
	enum vc_status s;
	if (vc_state_live(c->ctx->root, c->id, &s, fresh(c->ctx)) < 0)
		return NULL;
	return vc_status_name(s);
}

/* Opens c's sandbox for one call. */
static int with_sandbox(vcrun_container *c, struct vc_sandbox **sb)
{
	return vc_sandbox_open(&c->ctx->ctx, c->id, sb, fresh(c->ctx));
}

int vcrun_container_start(vcrun_container *c)
{
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = need_program(c->ctx);
	if (r < 0 || (r = with_sandbox(c, &sb)) < 0)
		return r;
	return vc_sandbox_start_container(sb, c->id, &c->ctx->err);
}

int vcrun_container_kill(vcrun_container *c, int sig)
{
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = with_sandbox(c, &sb);
	if (r < 0)
		return r;
	if (sig < 0 || sig >= NSIG)
		return vc_error_set(&c->ctx->err, EINVAL, "signal %d: out of range", sig);
	return vc_sandbox_kill_container(sb, c->id, sig, false, &c->ctx->err);
}

/* waitpid without signal handlers of our own: a library must not take the
 * caller's signals. */
static int wait_child(vcrun_ctx *ctx, pid_t pid, int *status)
{
	int ws;
	pid_t r;
	while ((r = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return vc_error_sys(&ctx->err, errno, "wait for pid %d", (int)pid);
	*status = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
	return 0;
}

int vcrun_container_wait(vcrun_container *c, int *status)
{
	fresh(c->ctx);
	if (!c->child)
		return vc_error_set(
			&c->ctx->err, ECHILD,
			"container %s was not created by this process: its process is not "
			"ours to wait for",
			c->id);
	int r = wait_child(c->ctx, c->child, status);
	if (r == 0)
		c->child = 0;
	return r;
}

int vcrun_container_destroy(vcrun_container *c)
{
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = with_sandbox(c, &sb);
	if (r < 0)
		return r;
	r = vc_sandbox_delete_container(sb, c->id, true, &c->ctx->err);
	/* Its stand-in exits with the container: reap it rather than leave a zombie. */
	if (r == 0 && c->child) {
		if (!vc_wait_exit(c->child, true, 10000, NULL)) {
			kill(c->child, SIGKILL);
			vc_wait_exit(c->child, true, 2000, NULL);
		}
		c->child = 0;
	}
	return r;
}

int vcrun_spawn_opts_new(vcrun_spawn_opts **opts)
{
	*opts = calloc(1, sizeof(**opts));
	return *opts ? 0 : -ENOMEM;
}

void vcrun_spawn_opts_free(vcrun_spawn_opts *opts)
{
	if (!opts)
		return;
	vc_strv_freep(&opts->args);
	vc_strv_freep(&opts->env);
	free(opts->cwd);
	free(opts->user);
	free(opts);
}

int vcrun_spawn_opts_set_args(vcrun_spawn_opts *opts, const char *const *argv)
{
	return argv && argv[0] ? set_strv(&opts->args, argv) : -EINVAL;
}

int vcrun_spawn_opts_set_env(vcrun_spawn_opts *opts, const char *const *env)
{
	for (size_t i = 0; env && env[i]; i++)
		if (!strchr(env[i], '=') || env[i][0] == '=')
			return -EINVAL;
	return set_strv(&opts->env, env);
}

int vcrun_spawn_opts_set_cwd(vcrun_spawn_opts *opts, const char *cwd)
{
	return cwd && cwd[0] != '/' ? -EINVAL : set_str(&opts->cwd, cwd);
}

int vcrun_spawn_opts_set_user(vcrun_spawn_opts *opts, unsigned uid, unsigned gid)
{
	_cleanup_free_ char *u = vc_strdup_printf("%u:%u", uid, gid);
	return u ? set_str(&opts->user, u) : -ENOMEM;
}

int vcrun_spawn_opts_set_stdio(vcrun_spawn_opts *opts, int in, int out, int err)
{
	return set_stdio(&opts->stdio, in, out, err);
}

int vcrun_container_spawn(vcrun_container *c, const vcrun_spawn_opts *opts, vcrun_process **out)
{
	*out = NULL;
	vcrun_ctx *ctx = c->ctx;
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = need_program(ctx);
	if (r < 0 || (r = with_sandbox(c, &sb)) < 0)
		return r;
	if (!opts || !opts->args)
		return vc_error_set(&ctx->err, EINVAL,
				    "spawn: no program (vcrun_spawn_opts_set_args)");
	struct vc_exec_opts o = {
		.args = opts->args,
		.env = opts->env,
		.cwd = opts->cwd,
		.user = opts->user,
		.detach = true,
		.stdio = opts->stdio.set ? opts->stdio.fd : NULL,
	};
	vcrun_process *p = calloc(1, sizeof(*p));
	if (!p)
		return vc_error_set(&ctx->err, ENOMEM, "out of memory");
	int status = 0;
	if ((r = vc_sandbox_exec(sb, c->id, &o, &p->pid, &status, &ctx->err)) < 0) {
		free(p);
		return r;
	}
	p->ctx = ctx;
	*out = p;
	return 0;
}

pid_t vcrun_process_pid(const vcrun_process *p)
{
	return p->reaped ? 0 : p->pid;
}

int vcrun_process_kill(vcrun_process *p, int sig)
{
	fresh(p->ctx);
	if (p->reaped)
		return vc_error_set(&p->ctx->err, ESRCH, "process %d has ended", (int)p->pid);
	/* The stand-in sends what it gets on to the process in the guest; SIGKILL ends
	 * the stand-in itself, and the monitor then kills the process. */
	if (kill(p->pid, sig) < 0)
		return vc_error_sys(&p->ctx->err, errno, "signal %d to process %d", sig,
				    (int)p->pid);
	return 0;
}

int vcrun_process_wait(vcrun_process *p, int *status)
{
	fresh(p->ctx);
	if (!p->reaped) {
		int r = wait_child(p->ctx, p->pid, &p->status);
		if (r < 0)
			return r;
		p->reaped = true;
	}
	*status = p->status;
	return 0;
}

void vcrun_process_free(vcrun_process *p)
{
	/* A process still running keeps running; its stand-in is reaped by whoever
	 * inherits it. Kill and wait first to end it. */
	free(p);
}

struct vcrun_sandbox {
	vcrun_ctx *ctx;
	struct vc_sandbox *sb;
};

int vcrun_sandbox_open(vcrun_ctx *ctx, const char *id, vcrun_sandbox **out)
{
	*out = NULL;
	struct vc_error *err = fresh(ctx);
	if (!id)
		return vc_error_set(&ctx->err, EINVAL, "sandbox id: NULL");
	vcrun_sandbox *s = calloc(1, sizeof(*s));
	if (!s)
		return vc_error_set(&ctx->err, ENOMEM, "out of memory");
	int r = vc_sandbox_open(&ctx->ctx, id, &s->sb, err);
	if (r < 0) {
		free(s);
		return r;
	}
	s->ctx = ctx;
	*out = s;
	return 0;
}

void vcrun_sandbox_free(vcrun_sandbox *sb)
{
	if (!sb)
		return;
	vc_sandbox_close(sb->sb);
	free(sb);
}

const char *vcrun_sandbox_id(const vcrun_sandbox *sb)
{
	return vc_sandbox_id(sb->sb);
}

int vcrun_sandbox_containers(vcrun_sandbox *sb, char ***ids)
{
	size_t n = 0;
	*ids = NULL;
	int r = vc_sandbox_members(sb->sb, ids, &n, fresh(sb->ctx));
	if (r == 0 && !*ids && !(*ids = calloc(1, sizeof(char *))))
		return vc_error_set(&sb->ctx->err, ENOMEM, "out of memory");
	return r;
}

void vcrun_strv_free(char **v)
{
	vc_strv_freep(&v);
}

int vcrun_sandbox_create_container(vcrun_sandbox *sb, const char *id, const vcrun_create_opts *opts,
				   vcrun_container **c)
{
	vcrun_create_opts o = {0};
	if (opts)
		o = *opts;
	o.sandbox = (char *)vc_sandbox_id(sb->sb);
	return vcrun_container_create(sb->ctx, id, &o, c);
}

int vcrun_sandbox_destroy(vcrun_sandbox *sb, int force)
{
	return vc_sandbox_destroy(sb->sb, force != 0, fresh(sb->ctx));
}
