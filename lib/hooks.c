#include "lib/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "oci/state.h"

#define HOOK_STDERR_MAX	       4096
#define HOOK_DEFAULT_TIMEOUT_S 120

static const char *const stage_names[] = {
	[VC_HOOK_PRESTART] = "prestart",
	[VC_HOOK_CREATE_RUNTIME] = "createRuntime",
	[VC_HOOK_CREATE_CONTAINER] = "createContainer",
	[VC_HOOK_START_CONTAINER] = "startContainer",
	[VC_HOOK_POSTSTART] = "poststart",
	[VC_HOOK_POSTSTOP] = "poststop",
};

static void stage_hooks(const struct vc_oci_hooks *h, enum vc_hook_stage stage,
			const struct vc_oci_hook **list, size_t *n)
{
	switch (stage) {
	case VC_HOOK_PRESTART:
		*list = h->prestart, *n = h->n_prestart;
		break;
	case VC_HOOK_CREATE_RUNTIME:
		*list = h->create_runtime, *n = h->n_create_runtime;
		break;
	case VC_HOOK_CREATE_CONTAINER:
		*list = h->create_container, *n = h->n_create_container;
		break;
	case VC_HOOK_START_CONTAINER:
		*list = h->start_container, *n = h->n_start_container;
		break;
	case VC_HOOK_POSTSTART:
		*list = h->poststart, *n = h->n_poststart;
		break;
	case VC_HOOK_POSTSTOP:
		*list = h->poststop, *n = h->n_poststop;
		break;
	}
}

int vc_hooks_check_runnable(const struct vc_oci_spec *spec, struct vc_error *err)
{
	if (!spec->hooks)
		return 0;
	for (int stage = VC_HOOK_PRESTART; stage <= VC_HOOK_POSTSTOP; stage++) {
		const struct vc_oci_hook *list = NULL;
		size_t n = 0;
		stage_hooks(spec->hooks, stage, &list, &n);
		for (size_t i = 0; i < n; i++)
			if (access(list[i].path, X_OK) < 0)
				return vc_error_sys(err, errno, "hooks.%s[%zu] `%s`",
						    stage_names[stage], i, list[i].path);
	}
	return 0;
}

static void exec_hook(const struct vc_oci_hook *h, int in_fd, int err_fd)
{
	int devnull = open("/dev/null", O_WRONLY);
	dup2(in_fd, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	close_range(3, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *const fallback[] = {h->path, NULL};
	char *const empty_env[] = {NULL};
	execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : empty_env);
	dprintf(STDERR_FILENO, "exec %s: %s", h->path, strerror(errno));
	_exit(127);
}

/* Runs one hook; its stderr (the end of it) goes into the error. */
static int run_hook(const struct vc_oci_hook *h, const char *stage, const char *state,
		    struct vc_error *err)
{
	int in[2], errp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return vc_error_sys(err, errno, "%s hook %s: pipe", stage, h->path);
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return vc_error_sys(err, errno, "%s hook %s: pipe", stage, h->path);
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_hook(h, in[0], errp[1]);
	close(in[0]);
	close(errp[1]);
	if (pid < 0) {
		close(in[1]);
		close(errp[0]);
		return vc_error_sys(err, errno, "%s hook %s: fork", stage, h->path);
	}
	/* A hook that does not read its stdin must not block us: SIGPIPE is ignored by
	 * writing with the pipe in non-blocking mode and giving up on EAGAIN/EPIPE. */
	vc_set_nonblock(in[1], true);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	(void)!write(in[1], state, strlen(state));
	signal(SIGPIPE, old);
	close(in[1]);

	char buf[HOOK_STDERR_MAX + 1];
	size_t got = 0;
	int timeout_ms = (h->has_timeout ? h->timeout : HOOK_DEFAULT_TIMEOUT_S) * 1000;
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
	bool timed_out = false;
	for (;;) {
		unsigned long long now = vc_now_ns();
		if (now >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p = {.fd = errp[0], .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1) <= 0)
			continue;
		char tmp[512];
		ssize_t r = read(errp[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		/* Keep the end: that is where the reason usually is. */
		size_t n = (size_t)r;
		if (got + n > HOOK_STDERR_MAX) {
			size_t drop = got + n - HOOK_STDERR_MAX;
			if (drop > got)
				drop = got;
			memmove(buf, buf + drop, got - drop);
			got -= drop;
		}
		memcpy(buf + got, tmp, n > HOOK_STDERR_MAX ? HOOK_STDERR_MAX : n);
		got += n > HOOK_STDERR_MAX ? HOOK_STDERR_MAX : n;
	}
	close(errp[0]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	if (timed_out)
		return vc_error_set(err, ETIMEDOUT, "%s hook %s: timed out after %d s", stage,
				    h->path, timeout_ms / 1000);
	if (WIFSIGNALED(ws))
		return vc_error_set(err, EIO, "%s hook %s: killed by signal %d%s%s", stage, h->path,
				    WTERMSIG(ws), got ? ": " : "", buf);
	if (WEXITSTATUS(ws) != 0)
		return vc_error_set(err, EIO, "%s hook %s: exit status %d%s%s", stage, h->path,
				    WEXITSTATUS(ws), got ? ": " : "", buf);
	return 0;
}

int vc_hooks_run(const struct vc_oci_spec *spec, enum vc_hook_stage stage,
		 const struct vc_state *st, const char *status, struct vc_error *err)
{
	if (!spec || !spec->hooks)
		return 0;
	const struct vc_oci_hook *list = NULL;
	size_t n = 0;
	stage_hooks(spec->hooks, stage, &list, &n);
	if (n == 0)
		return 0;
	struct vc_oci_state os = {
		.id = st->id,
		.pid = st->standin_pid,
		.status = status,
		.bundle = st->bundle,
		.rootfs = st->rootfs,
		.created = st->created,
		.owner = st->owner,
		.annotations = st->annotations,
		.n_annotations = st->n_annotations,
	};
	_cleanup_free_ char *json = NULL;
	int r = vc_oci_state_to_hook_json(&os, &json, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		vc_debug("running %s hook %s", stage_names[stage], list[i].path);
		if ((r = run_hook(&list[i], stage_names[stage], json, err)) < 0)
			return r;
	}
	return 0;
}

int vc_hooks_save_spec(const char *root, const char *id, const struct vc_oci_spec *spec,
		       struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_free_ char *path = vc_state_path(root, id, "config.json");
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_json_serialize(spec->raw, false, &text, &len, err) < 0)
		return -EINVAL;
	return vc_write_file_atomic(path, text, len, 0600, err);
}

int vc_hooks_load_spec(const char *root, const char *id, struct vc_oci_spec **spec,
		       struct vc_error *err)
{
	*spec = NULL;
	_cleanup_free_ char *path = vc_state_path(root, id, "config.json");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct vc_error rerr = {0};
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_read_file(path, 64 << 20, &text, &len, &rerr) < 0)
		return rerr.code == ENOENT ? 0 : vc_error_set(err, rerr.code, "%s", rerr.msg);
	return vc_oci_spec_parse(text, len, path, spec, err);
}
