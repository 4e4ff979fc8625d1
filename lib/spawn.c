#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "lib/console.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "lib/vcrun.h"
#include "lib/state.h"

static void child_exec(char *const argv[], const int stdio[3], int sync_fd, bool new_session)
{
	if (new_session)
		setsid();
	int devnull = open("/dev/null", O_RDWR);
	int fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = stdio[i] >= 0 ? stdio[i] : devnull;
	/* Move everything above 3 first so dup2 onto 0..3 cannot clobber a source.
	 * Just above: F_DUPFD refuses a floor at or past RLIMIT_NOFILE (a low
	 * `ulimit -n` would lose the sync fd, and the reason with it). */
	int hi[4];
	for (int i = 0; i < 3; i++)
		hi[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD, 4) : -1;
	hi[3] = sync_fd >= 0 ? fcntl(sync_fd, F_DUPFD, 4) : -1;
	for (int i = 0; i < 4; i++)
		if (hi[i] >= 0)
			dup2(hi[i], i);
	close_range(sync_fd >= 0 ? 4 : 3, ~0U, 0);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	execv(vc_self_exe(), argv);
	_exit(127);
}

static char *self_exe;

const char *vc_self_exe(void)
{
	return self_exe ? self_exe : "/proc/self/exe";
}

int vc_self_exe_set(const char *path)
{
	char *copy = path ? strdup(path) : NULL;
	if (path && !copy)
		return -ENOMEM;
	free(self_exe);
	self_exe = copy;
	return 0;
}

int vc_spawn_self(char *const argv[], const int stdio[3], int sync_fd, bool new_session, pid_t *pid,
		  struct vc_error *err)
{
	pid_t p = fork();
	if (p < 0)
		return vc_error_sys(err, errno, "fork %s", argv[1]);
	if (p == 0)
		child_exec(argv, stdio, sync_fd, new_session);
	*pid = p;
	return 0;
}

/* A helper's report (newline already cut): `want` -> 0; "error: MSG" -> MSG in
 * err; anything else (EOF first) -> an error naming `who`. */
static int sync_report(const char *buf, const char *want, const char *who, struct vc_error *err)
{
	if (!strcmp(buf, want))
		return 0;
	if (!strncmp(buf, "error: ", 7))
		return vc_error_set(err, EIO, "%s", buf + 7);
	return vc_error_set(err, EIO, "%s exited before it was ready", who);
}

int vc_sync_read(int fd, const char *who, struct vc_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct vc_error rerr = {0};
	if (vc_read_fd(fd, 64 << 10, &buf, &len, &rerr) < 0)
		return vc_error_set(err, EIO, "%s: %s", who, rerr.msg);
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return sync_report(buf, "ok", who, err);
}

void vc_sync_write_ok(int fd)
{
	if (fd >= 0)
		vc_write_all(fd, "ok\n", 3);
}

void vc_sync_write_error(int fd, const struct vc_error *err)
{
	if (fd < 0)
		return;
	_cleanup_free_ char *line =
		vc_strdup_printf("error: %s\n", err->msg[0] ? err->msg : "failed");
	if (line)
		vc_write_all(fd, line, strlen(line));
}

int vc_wait_exit(pid_t pid, bool is_child, int timeout_ms, int *status)
{
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
	for (;;) {
		if (is_child) {
			int st;
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid || (r < 0 && errno == ECHILD)) {
				if (status && r == pid)
					*status = st;
				return 1;
			}
		} else if (!vc_proc_alive(pid, 0)) {
			return 1;
		}
		if (vc_now_ns() >= deadline)
			return 0;
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int vc_monitor_connect(const char *root, const char *id, int timeout_ms, struct vc_error *err)
{
	/* A container that joined a sandbox is served by the monitor in the state dir
	 * of the container that booted it. */
	struct vc_state st;
	_cleanup_free_ char *owner = NULL;
	if (vc_state_read(root, id, &st, NULL) == 0) {
		owner = steal_ptr(st.sandbox);
		vc_state_release(&st);
	}
	_cleanup_free_ char *dir = vc_state_dir(root, owner && *owner ? owner : id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vc_error_sys(err, errno, "open `%s`", dir);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/monitor.sock", dfd);
	int fd = vc_transport_connect_unix(path, timeout_ms, err);
	if (fd < 0)
		return vc_error_wrap(err, "connect to the monitor of `%s`", id);
	return fd;
}

int vc_helper_args_parse(int argc, char **argv, const char *log_default, struct vc_helper_args *a)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"id", required_argument, NULL, 'i'},
		{"stream", required_argument, NULL, 's'},
		{"sync-fd", required_argument, NULL, 'y'},
		{"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"tty", no_argument, NULL, 't'},
		{"ns", required_argument, NULL, 'n'},
		{"tty-inherit", no_argument, NULL, 'T'},
		{"uid-map", required_argument, NULL, 'u'},
		{"gid-map", required_argument, NULL, 'g'},
		{0},
	};
	enum vc_log_format fmt = VC_LOG_TEXT;
	int c;
	memset(a, 0, sizeof(*a));
	a->sync_fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->root = optarg;
			break;
		case 'i':
			a->id = optarg;
			break;
		case 's':
			a->stream = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'y':
			a->sync_fd = atoi(optarg);
			break;
		case 'l':
			a->log_path = optarg;
			break;
		case 'f':
			fmt = !strcmp(optarg, "json") ? VC_LOG_JSON : VC_LOG_TEXT;
			break;
		case 'd':
			a->debug = true;
			break;
		case 't':
			a->tty = true;
			break;
		case 'n':
			if (a->n_ns == VC_ARRAY_SIZE(a->ns))
				return -EINVAL;
			a->ns[a->n_ns++] = optarg;
			break;
		case 'T':
			a->tty_inherit = true;
			break;
		case 'u':
			a->uid_map = optarg;
			break;
		case 'g':
			a->gid_map = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	vc_log_init(a->log_path ? a->log_path : log_default, fmt, a->debug);
	if (!a->root || !a->id) {
		struct vc_error err = {0};
		vc_error_set(&err, EINVAL, "%s needs --root and --id", argv[0]);
		vc_sync_write_error(a->sync_fd, &err);
		return -EINVAL;
	}
	return 0;
}

/* Runs one request against the container's monitor. */
int vc_monitor_call(const char *root, const char *id, const struct vc_mon_request *req,
		    struct vc_json **result, struct vc_error *err)
{
	_cleanup_close_ int fd = vc_monitor_connect(root, id, VC_MONITOR_CALL_TIMEOUT_MS, err);
	if (fd < 0)
		return fd;
	struct vc_mon_request named = *req;
	named.container_id = (char *)id;
	_cleanup_json_ struct vc_json *p = NULL;
	int r = vc_mon_request_params(&named, &p, err);
	if (r < 0)
		return r;
	_cleanup_json_ struct vc_json *res = NULL;
	r = vc_proto_call(fd, vc_mon_method_name(req->method), p, &res, err);
	if (r < 0)
		return r;
	if (result)
		*result = steal_ptr(res);
	return 0;
}

int vc_write_pid_file(const char *path, pid_t pid, struct vc_error *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	_cleanup_free_ char *abs = NULL;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return vc_error_sys(err, errno, "getcwd");
		abs = vc_strdup_printf("%s/%s", cwd, path);
		path = abs;
	}
	if (vc_write_file_atomic(path, buf, (size_t)n, 0644, err) < 0)
		return vc_error_wrap(err, "--pid-file");
	return 0;
}

/* argv for a helper mode: vcrun MODE --root R --id ID [extra...] [--log ...] */
bool vc_helper_is(pid_t pid, const char *mode, const char *root, const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (vc_read_file(path, 64 << 10, &text, &len, NULL) < 0)
		return false;
	/* vcrun MODE --root R --id ID ...: vc_helper_argv's order */
	const char *argv[6] = {0};
	size_t n = 0;
	for (size_t off = 0; off < len && n < VC_ARRAY_SIZE(argv); off += strlen(text + off) + 1)
		argv[n++] = text + off;
	return n == VC_ARRAY_SIZE(argv) && !strcmp(argv[1], mode) && !strcmp(argv[2], "--root") &&
	       (!root || !strcmp(argv[3], root)) && !strcmp(argv[4], "--id") &&
	       !strcmp(argv[5], id);
}

char **vc_helper_argv(const struct vc_ctx *ctx, const char *mode, const char *root, const char *id,
		      const char *extra_key, const char *extra_val)
{
	char **v = NULL;
	const char *items[] = {"vcrun", mode, "--root", root, "--id", id, "--sync-fd", "3"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(items); i++)
		if (vc_strv_push(&v, items[i]) < 0)
			goto fail;
	if (extra_key && (vc_strv_push(&v, extra_key) < 0 || vc_strv_push(&v, extra_val) < 0))
		goto fail;
	if (vc_log_path() &&
	    (vc_strv_push(&v, "--log") < 0 || vc_strv_push(&v, vc_log_path()) < 0 ||
	     vc_strv_push(&v, "--log-format") < 0 ||
	     vc_strv_push(&v, vc_log_format_get() == VC_LOG_JSON ? "json" : "text") < 0))
		goto fail;
	if (ctx->debug && vc_strv_push(&v, "--debug") < 0)
		goto fail;
	return v;
fail:
	vc_strv_freep(&v);
	return NULL;
}

/* Starts a helper process and waits for its one-line readiness report. */
int vc_spawn_helper(char **argv, const int stdio[3], bool new_session, const char *who, pid_t *pid,
		    struct vc_error *err)
{
	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0)
		return vc_error_sys(err, errno, "pipe");
	int r = vc_spawn_self(argv, stdio, sync[1], new_session, pid, err);
	close(sync[1]);
	if (r == 0)
		r = vc_sync_read(sync[0], who, err);
	close(sync[0]);
	return r;
}

static pid_t foreground_child;

static void forward_to_child(int sig)
{
	if (foreground_child > 0)
		kill(foreground_child, sig);
}

int vc_wait_standin(pid_t standin)
{
	/* Signals sent to the foreground `vcrun` are the container's, as with runc. */
	foreground_child = standin;
	struct sigaction sa = {.sa_handler = forward_to_child};
	sigemptyset(&sa.sa_mask);
	static const int forwarded[] = {SIGHUP,	  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
					SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM};
	for (size_t i = 0; i < VC_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	int ws = 0;
	while (waitpid(standin, &ws, 0) < 0 && errno == EINTR)
		;
	foreground_child = 0;
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* "pid N" from the stand-in we started (first): N, once first is reaped, when N
 * is a child of ours; else 0. */
static pid_t standin_moved(const char *line, pid_t first)
{
	int pid = 0, end = 0;
	if (sscanf(line, "pid %d%n", &pid, &end) != 1 || line[end] || pid <= 0 || pid == first)
		return 0;
	while (waitpid(first, NULL, 0) < 0 && errno == EINTR)
		;
	/* 0: a child of ours that runs; anything else names no child of ours. */
	return waitpid(pid, NULL, WNOHANG) == 0 ? pid : 0;
}

int vc_standin_spawn_held(char **argv, const char *console_socket,
			  const struct vc_oci_process *process, bool foreground_tty,
			  const int *given, pid_t *pid, int *ctl, struct vc_error *err)
{
	/* stdio: the caller's (or those it gave), or the slave of a pty whose master
	 * goes to the console socket (held open here until the spawn) */
	int stdio[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
	if (given)
		memcpy(stdio, given, sizeof(stdio));
	_cleanup_close_ int slave = -1;
	_cleanup_strv_ char **v = NULL;
	*pid = 0;
	*ctl = -1;
	for (size_t i = 0; argv[i]; i++)
		if (vc_strv_push(&v, argv[i]) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	if (console_socket) {
		uint16_t rows = 0, cols = 0;
		if (process && process->has_console_size) {
			rows = (uint16_t)process->console_size.height;
			cols = (uint16_t)process->console_size.width;
		}
		int r = vc_console_send(console_socket, rows, cols, &slave, err);
		if (r < 0)
			return r;
		if (vc_strv_push(&v, "--tty") < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		stdio[0] = stdio[1] = stdio[2] = slave;
	} else if (foreground_tty && vc_strv_push(&v, "--tty-inherit") < 0) {
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vc_error_sys(err, errno, "socketpair");
	int r = vc_spawn_self(v, stdio, sv[1], false, pid, err);
	close(sv[1]);
	_cleanup_close_ int c = sv[0];
	if (r < 0)
		return r;
	/* "ready" when it sits in the container's namespaces, else its error; before
	 * that "pid N" when it entered a pid namespace: the stand-in proper is then
	 * N, our child too (CLONE_PARENT), and the one we started leaves. */
	char line[1024];
	for (;;) {
		size_t n = 0;
		while (n + 1 < sizeof(line)) {
			ssize_t k = read(c, line + n, 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0 || line[n] == '\n')
				break;
			n++;
		}
		line[n] = '\0';
		pid_t moved = standin_moved(line, *pid);
		if (moved <= 0)
			break;
		*pid = moved;
	}
	if ((r = sync_report(line, "ready", "the stand-in", err)) < 0) {
		waitpid(*pid, NULL, 0);
		*pid = 0;
		return r;
	}
	*ctl = steal_fd(c);
	return 0;
}

int vc_spawn_standin(char **argv, const char *console_socket, const struct vc_oci_process *process,
		     bool foreground_tty, const int *stdio, pid_t *pid, struct vc_error *err)
{
	int ctl = -1;
	int r = vc_standin_spawn_held(argv, console_socket, process, foreground_tty, stdio, pid,
				      &ctl, err);
	if (r == 0)
		r = vc_standin_release(ctl, err);
	if (ctl >= 0)
		close(ctl);
	return r;
}

int vc_standin_release(int ctl, struct vc_error *err)
{
	if (vc_write_all(ctl, "g", 1) < 0)
		return vc_error_sys(err, errno, "the stand-in went away");
	return vc_sync_read(ctl, "the stand-in", err);
}
