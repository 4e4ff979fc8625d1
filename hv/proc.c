/* Processes the hypervisor backend starts (QEMU, virtiofsd, the accel probe):
 * spawning with a clean fd table and signal state, waiting with a deadline. */
#include "hv/internal.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

long long hv_now_ms(void)
{
	return (long long)(vc_now_ns() / 1000000ull);
}

int hv_left_ms(long long deadline_ms)
{
	long long left = deadline_ms - hv_now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int hv_find_program(const char *name, char **path, struct vc_error *err)
{
	if (!name || !*name)
		return vc_error_set(err, EINVAL, "empty program name");
	if (strchr(name, '/')) {
		*path = strdup(name);
		return *path ? 0 : vc_error_set(err, ENOMEM, "out of memory");
	}
	const char *env = getenv("PATH");
	_cleanup_free_ char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return vc_error_set(err, ENOMEM, "out of memory");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = vc_strdup_printf("%s/%s", d, name);
		if (!p)
			return vc_error_set(err, ENOMEM, "out of memory");
		if (access(p, X_OK) == 0) {
			*path = steal_ptr(p);
			return 0;
		}
	}
	return vc_error_set(err, ENOENT, "`%s` not found in PATH", name);
}

/* Everything below runs in the forked child: async-signal-safe calls only, since
 * the caller (the monitor) may have threads. */
static void child_cloexec_from(int first)
{
	if (close_range((unsigned)first, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (int)rl.rlim_cur
									       : 1 << 20;
	for (int fd = first; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void __attribute__((noreturn)) child_fail(int errpipe, int e)
{
	/* A short write is harmless: the parent then reports EIO. */
	ssize_t w = write(errpipe, &e, sizeof(e));
	(void)w;
	_exit(127);
}

static void __attribute__((noreturn))
child_exec(char *const argv[], const struct hv_spawn_opts *o, pid_t bound_to, int errpipe)
{
	/* Kept across execve: see no_thp. Only memory is at stake, so a kernel
	 * that refuses it (before 3.15) runs the VM as before. */
	if (o->no_thp)
		(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	/* Bound: killed when the spawner goes, even by SIGKILL (a template's builder). */
	if (bound_to && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(errpipe, errno);
	if (bound_to && getppid() != bound_to) /* it went before the prctl */
		child_fail(errpipe, ESRCH);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_fail(errpipe, errno);
	/* Only this child moves: the caller stays where it is. */
	if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) < 0)
		child_fail(errpipe, errno);

	/* Move what we keep above the fds we are about to fill: just above, since
	 * F_DUPFD refuses a floor at or past RLIMIT_NOFILE (a low `ulimit -n`). */
	int hi = 3 + (int)o->n_fds;
	if (errpipe < hi)
		errpipe = fcntl(errpipe, F_DUPFD_CLOEXEC, hi);
	if (errpipe < 0)
		_exit(127);
	int out_fd = o->out_fd;
	if (out_fd >= 0 && (out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, hi)) < 0)
		child_fail(errpipe, errno);
	int moved[HV_SPAWN_FDS_MAX];
	for (size_t i = 0; i < o->n_fds; i++)
		if ((moved[i] = fcntl(o->fds[i], F_DUPFD_CLOEXEC, hi)) < 0)
			child_fail(errpipe, errno);

	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0 && null < hi)
		null = fcntl(null, F_DUPFD_CLOEXEC, hi); /* dup2 onto itself keeps CLOEXEC */
	if (null < 0)
		child_fail(errpipe, errno);
	int out = out_fd >= 0 ? out_fd : null;
	if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		child_fail(errpipe, errno);
	for (size_t i = 0; i < o->n_fds; i++)
		if (dup2(moved[i], 3 + (int)i) < 0)
			child_fail(errpipe, errno);
	/* dup2 clears CLOEXEC on 0 to 3+n-1; everything else goes at exec, errpipe
	 * included, which is how the parent learns that exec worked. */
	child_cloexec_from(3 + (int)o->n_fds);
	if (o->jail) {
		int r = hv_jail_enter(o->jail);
		if (r < 0)
			child_fail(errpipe, -r);
		/* A change of uid cleared the parent-death signal. */
		if (bound_to && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			child_fail(errpipe, errno);
		if (bound_to && getppid() != bound_to)
			child_fail(errpipe, ESRCH);
	}
	execv(argv[0], argv);
	child_fail(errpipe, errno);
}

int hv_spawn_with(char *const argv[], const struct hv_spawn_opts *o, pid_t *pid,
		  struct vc_error *err)
{
	if (o->n_fds > HV_SPAWN_FDS_MAX)
		return vc_error_set(err, EMFILE, "`%s`: %zu fds to pass, at most %d", argv[0],
				    o->n_fds, HV_SPAWN_FDS_MAX);
	pid_t self = getpid();
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return vc_error_sys(err, errno, "pipe2");
	_cleanup_close_ int rd = p[0];
	_cleanup_close_ int wr = p[1];

	pid_t child = fork();
	if (child < 0)
		return vc_error_sys(err, errno, "fork for `%s`", argv[0]);
	if (child == 0)
		child_exec(argv, o, o->bound ? self : 0, wr);

	vc_closep(&wr);
	wr = -1;
	int e = 0;
	ssize_t n = vc_read_all(rd, &e, sizeof(e));
	if (n == 0) {
		*pid = child;
		return 0;
	}
	int st;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(e) || e <= 0)
		e = EIO;
	return vc_error_sys(err, e, o->jail ? "confine and exec `%s`" : "exec `%s`", argv[0]);
}

int hv_spawn(char *const argv[], int out_fd, int keep_fd, pid_t *pid, struct vc_error *err)
{
	return hv_spawn_in(argv, out_fd, keep_fd, -1, pid, err);
}

int hv_spawn_in(char *const argv[], int out_fd, int keep_fd, int netns_fd, pid_t *pid,
		struct vc_error *err)
{
	struct hv_spawn_opts o = {.out_fd = out_fd,
				  .fds = &keep_fd,
				  .n_fds = keep_fd >= 0 ? 1 : 0,
				  .netns_fd = netns_fd};
	return hv_spawn_with(argv, &o, pid, err);
}

bool hv_wait_gone(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = hv_now_ms() + timeout_ms;
	for (;;) {
		int st = 0;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status)
				*status = st;
			return true;
		}
		if (r < 0 && errno == ECHILD) {
			/* Not our child (someone else reaps it): it is gone when it
			 * cannot be signalled any more. */
			if (kill(pid, 0) < 0 && errno == ESRCH) {
				if (status)
					*status = -1;
				return true;
			}
		} else if (r < 0 && errno != EINTR) {
			return false;
		}
		int left = hv_left_ms(deadline);
		if (left == 0)
			return false;
		sleep_ms(left < 5 ? left : 5);
	}
}

bool hv_terminate(pid_t pid, int timeout_ms)
{
	if (pid <= 0)
		return true;
	if (hv_wait_gone(pid, timeout_ms, NULL))
		return true;
	if (kill(pid, SIGKILL) < 0 && errno == ESRCH) {
		hv_wait_gone(pid, 0, NULL); /* reaps it if it was our zombie */
		return true;
	}
	return hv_wait_gone(pid, 5000, NULL);
}

int hv_unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Non-blocking: a listener with a full backlog (QEMU accepts one client per
	 * chardev) answers EAGAIN instead of blocking us. */
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return steal_fd(fd);
}

char *hv_file_tail(const char *path, int lines)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* Only the end matters; a chatty log must not cost a big read. */
		off_t size = lseek(fd, 0, SEEK_END);
		off_t from = size > 8192 ? size - 8192 : 0;
		if (size >= 0 && lseek(fd, from, SEEK_SET) == from)
			vc_read_fd(fd, 8192, &buf, &len, NULL);
	}
	if (!buf)
		return strdup("");
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	size_t start = len;
	for (int n = 0; start > 0; start--) {
		if (buf[start - 1] == '\n' && ++n == lines)
			break;
	}
	/* One line, separators shown, so the tail fits in an error message. */
	char *out = strdup(buf + start);
	for (char *p = out; p && *p; p++) {
		if (*p == '\n')
			*p = '|';
		else if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
	return out;
}
