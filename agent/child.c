/* The forked child of the agent, from fork to execve: a container's init (new
 * namespaces, rootfs, then a wait for StartContainer) or an exec'd process
 * (joins the init's namespaces). It reports "ready" or the error over a
 * SOCK_SEQPACKET sync socket, with the pty master attached when it opened one. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int agent_sync_send(int fd, int code, const char *msg, int pass_fd)
{
	struct agent_sync_msg m = {.code = code};
	snprintf(m.msg, sizeof(m.msg), "%s", msg ? msg : "");
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (pass_fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int agent_sync_recv(int fd, int timeout_ms, int *pty_master, struct vc_error *err)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int pr;
	while ((pr = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (pr == 0)
		return vc_error_set(err, ETIMEDOUT, "container process setup timed out");
	struct agent_sync_msg m;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return vc_error_sys(err, errno, "read from container process");
	int got_fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&got_fd, CMSG_DATA(c), sizeof(int));
	}
	if (n == 0)
		return vc_error_set(err, EIO, "container process exited during setup");
	if ((size_t)n != sizeof(m)) {
		if (got_fd >= 0)
			close(got_fd);
		return vc_error_set(err, EIO, "short message from container process");
	}
	if (m.code != 0) {
		if (got_fd >= 0)
			close(got_fd);
		m.msg[sizeof(m.msg) - 1] = '\0';
		return vc_error_set(err, m.code, "%s", m.msg);
	}
	if (pty_master)
		*pty_master = got_fd;
	else if (got_fd >= 0)
		close(got_fd);
	return 0;
}

static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	}
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Until execve the child holds copies of every agent fd; an init waiting for
 * StartContainer would keep other processes' pipes open (no EOF for them), so
 * everything but what the child needs is closed now. */
static void close_fds_except(int *keep, size_t n)
{
	qsort(keep, n, sizeof(int), cmp_int);
	unsigned int from = 3;
	for (size_t i = 0; i <= n; i++) {
		unsigned int to = i < n ? (unsigned int)keep[i] : ~0U;
		if (i < n && keep[i] < 3)
			continue;
		if (to > from) {
			unsigned int last = i < n ? to - 1 : ~0U;
			if (syscall(SYS_close_range, from, last, 0) < 0) {
				unsigned int max = last > 65535 ? 65535 : last;
				for (unsigned int fd = from; fd <= max; fd++)
					close((int)fd);
			}
		}
		if (i < n)
			from = to + 1;
	}
}

static int setup_stdio(const struct agent_child_cfg *cfg, struct vc_error *err)
{
	const struct agent_stdio *s = cfg->stdio;
	int src[3] = {s->child_in, s->child_out, s->child_err};
	for (int i = 0; i < 3; i++) {
		if (src[i] < 0)
			src[i] = cfg->devnull;
		/* a source below 3 would be overwritten by an earlier dup2 */
		if (src[i] < 3) {
			src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
			if (src[i] < 0)
				return vc_error_sys(err, errno, "dup stdio");
		}
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(src[i], i) < 0)
			return vc_error_sys(err, errno, "dup2 stdio");
	}
	return 0;
}

static int join_cgroup(const char *cgroup, struct vc_error *err)
{
	if (!cgroup)
		return 0;
	_cleanup_free_ char *procs = vc_strdup_printf("%s/cgroup.procs", cgroup);
	if (!procs)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_write_file(procs, "0", 1, err);
}

static int join_namespaces(const struct agent_child_cfg *cfg, struct vc_error *err)
{
	/* user first: it owns the others (runc's order); mnt last: it changes what
	 * the paths above resolve to */
	static const int order[] = {VC_NS_USER, VC_NS_CGROUP, VC_NS_IPC, VC_NS_UTS, VC_NS_MOUNT};
	for (size_t i = 0; i < VC_ARRAY_SIZE(order); i++) {
		int fd = cfg->ns_fds[order[i]];
		if (fd >= 0 && setns(fd, 0) < 0)
			return vc_error_sys(err, errno, "join the container's %s namespace",
					    vc_oci_ns_name(order[i]));
	}
	return 0;
}

static int child_setup(struct agent_child_cfg *cfg, int *pty, char ***env, char **exe,
		       void **seccomp, struct vc_error *err)
{
	int r = setup_stdio(cfg, err);
	if (r < 0)
		return r;
	int keep[VC_NS__COUNT + 1];
	size_t nkeep = 0;
	keep[nkeep++] = cfg->sync_fd;
	for (int i = 0; i < VC_NS__COUNT; i++) {
		if (cfg->ns_fds[i] >= 0)
			keep[nkeep++] = cfg->ns_fds[i];
	}
	close_fds_except(keep, nkeep);

	/* What needs the guest's root is done from outside a user namespace, like
	 * runc's parent does it: for a new one the agent puts the init in its cgroup
	 * and sets its limits while it waits here; an exec joins its cgroup and sets
	 * its limits before it joins the namespace. */
	bool new_userns = cfg->is_init && cfg->new_ns[VC_NS_USER];
	if (new_userns)
		r = agent_userns_wait(cfg->sync_fd, err);
	else if ((r = join_cgroup(cfg->cgroup, err)) < 0)
		vc_error_wrap(err, "join cgroup");
	if (r < 0)
		return r;
	bool limits_set = false;
	if (new_userns) {
		r = agent_userns_become_root(err);
		if (r < 0)
			return r;
		limits_set = true;
	} else if (cfg->ns_fds[VC_NS_USER] >= 0) {
		r = agent_process_limits(0, cfg->process, err);
		if (r < 0)
			return r;
		limits_set = true;
	}
	if (cfg->is_init) {
		/* a pod's namespaces shared with another container of the sandbox */
		r = join_namespaces(cfg, err);
		if (r < 0)
			return r;
		if (cfg->new_ns[VC_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
			return vc_error_sys(err, errno, "unshare cgroup namespace");
		bool dev_tmpfs;
		r = agent_setup_rootfs(cfg->spec, &dev_tmpfs, err);
		if (r == 0)
			r = agent_setup_after_pivot(cfg->spec, err);
	} else {
		r = join_namespaces(cfg, err);
	}
	if (r < 0)
		return r;
	const struct vc_oci_linux *l = cfg->spec->linux;
	r = agent_seccomp_build(l ? l->seccomp : NULL, seccomp, err);
	if (r == 0 && !limits_set)
		r = agent_process_limits(0, cfg->process, err);
	if (r < 0)
		return r;
	return agent_setup_process(cfg->process, cfg->is_init, pty, env, exe, err);
}

void agent_child_main(struct agent_child_cfg *cfg)
{
	struct vc_error err = {0};
	int pty = -1;
	char **env = NULL;
	char *exe = NULL;
	void *seccomp = NULL;

	reset_signals();
	umask(0);
	int r = child_setup(cfg, &pty, &env, &exe, &seccomp, &err);
	/* after the user change, which clears it */
	if (r == 0 && cfg->pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		r = vc_error_sys(&err, errno, "prctl(PR_SET_PDEATHSIG)");
	if (r < 0) {
		agent_sync_send(cfg->sync_fd, err.code ? err.code : EIO, err.msg, -1);
		_exit(1);
	}
	if (agent_sync_send(cfg->sync_fd, 0, NULL, pty) < 0)
		_exit(1);
	if (pty >= 0)
		close(pty);
	if (cfg->is_init) {
		/* blocked here between CreateContainer and StartContainer */
		char c;
		ssize_t n;
		while ((n = read(cfg->sync_fd, &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(1);
	}
	r = agent_security_finish(cfg->process, seccomp, &err);
	if (r == 0) {
		execve(exe, cfg->process->args, env);
		vc_error_sys(&err, errno, "exec \"%s\"", cfg->process->args[0]);
	}
	char line[VC_ERROR_MSG_MAX + 32];
	int n = snprintf(line, sizeof(line), "vcrun-agent: %s\n", err.msg);
	if (n > 0)
		(void)vc_write_all(STDERR_FILENO, line,
				   (size_t)n > sizeof(line) ? sizeof(line) : (size_t)n);
	_exit(127);
}
