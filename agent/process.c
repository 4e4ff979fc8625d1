/* Processes as the agent sees them: stdio pipes or a pty, spawning a child into
 * new or existing namespaces, exit status, parked WaitProcess requests, and the
 * process requests (ExecProcess, SignalProcess, WaitProcess, TtyWinResize). */
#include "agent-proto/agent-msg.h"
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

#define SETUP_TIMEOUT_MS 120000

int agent_stdio_open(struct agent_stdio *s, bool tty, bool stdin_open, struct vc_error *err)
{
	*s = (struct agent_stdio){.tty = tty,
				  .stdin_open = stdin_open,
				  .child_in = -1,
				  .child_out = -1,
				  .child_err = -1,
				  .in_fd = -1,
				  .out_fd = -1,
				  .err_fd = -1};
	if (tty)
		return 0; /* the child opens the pty inside the container */
	int p[2];
	if (stdin_open) {
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		s->child_in = p[0], s->in_fd = p[1];
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	s->out_fd = p[0], s->child_out = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	s->err_fd = p[0], s->child_err = p[1];
	return 0;
fail:;
	int e = errno;
	agent_stdio_close(s);
	return vc_error_sys(err, e, "pipe");
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void agent_stdio_close_child(struct agent_stdio *s)
{
	close_fd(&s->child_in);
	close_fd(&s->child_out);
	close_fd(&s->child_err);
}

void agent_stdio_close(struct agent_stdio *s)
{
	agent_stdio_close_child(s);
	close_fd(&s->in_fd);
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
}

struct agent_process *agent_process_find(struct agent *a, struct agent_container *c,
					 const char *exec_id)
{
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->ctr != c)
			continue;
		if (!exec_id ? !p->exec_id : (p->exec_id && !strcmp(p->exec_id, exec_id)))
			return p;
	}
	return NULL;
}

struct agent_process *agent_process_by_stream(struct agent *a, uint32_t stream_id)
{
	/* a finished process no longer owns its stream id */
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->stream_id == stream_id && !agent_process_done(p))
			return p;
	}
	return NULL;
}

struct agent_process *agent_process_by_pid(struct agent *a, pid_t pid)
{
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->pid == pid && !p->exited)
			return p;
	}
	return NULL;
}

static void close_stdin(struct agent_process *p)
{
	close_fd(&p->in_fd);
	free(p->in_buf);
	p->in_buf = NULL;
	p->in_len = p->in_cap = 0;
}

void agent_process_exited(struct agent *a, struct agent_process *p, int status)
{
	p->exited = true;
	if (WIFSIGNALED(status)) {
		p->exit_signal = WTERMSIG(status);
		p->exit_code = 128 + p->exit_signal;
	} else {
		p->exit_code = WEXITSTATUS(status);
		p->exit_signal = 0;
	}
	agent_dbg("process %d (%s/%s) exited: code %d signal %d", (int)p->pid, p->ctr->id,
		  p->exec_id ? p->exec_id : "init", p->exit_code, p->exit_signal);
	close_stdin(p);
	close_fd(&p->sync_fd);
	if (!p->exec_id && p->ctr->state != AGENT_CTR_STOPPED)
		p->ctr->state = AGENT_CTR_STOPPED;
	agent_process_answer_waiters(a, p);
}

static void queue_wait_result(struct agent *a, uint32_t req_id, const struct agent_process *p)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	const struct vc_agent_exit e = {.exit_code = p->exit_code, .signal = p->exit_signal};
	/* A waiter must hear back, even when the answer cannot be written. */
	if (vc_agent_answer_encode(VC_AA_EXIT, &e, &body, &len, &err) < 0 &&
	    vc_proto_response_encode_error(err.code, err.msg, &body, &len) < 0)
		return;
	agent_queue_frame(a, VC_FRAME_RESPONSE, 0, req_id, body, len);
}

bool agent_process_done(const struct agent_process *p)
{
	return p->exited && p->out_fd < 0 && p->err_fd < 0;
}

void agent_process_answer_waiters(struct agent *a, struct agent_process *p)
{
	if (!agent_process_done(p))
		return;
	while (p->waiters) {
		struct agent_waiter *w = p->waiters;
		p->waiters = w->next;
		queue_wait_result(a, w->req_id, p);
		free(w);
		p->answered = true;
	}
}

void agent_process_free(struct agent *a, struct agent_process *p)
{
	for (struct agent_process **pp = &a->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	while (p->waiters) {
		struct agent_waiter *w = p->waiters;
		p->waiters = w->next;
		free(w);
	}
	close_stdin(p);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->sync_fd);
	free(p->exec_id);
	free(p);
}

void agent_reap(struct agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		struct agent_process *p = agent_process_by_pid(a, pid);
		if (p)
			agent_process_exited(a, p, status);
		else
			agent_dbg("reaped orphan %d", (int)pid);
	}
}

void agent_reap_pid(struct agent *a, pid_t pid)
{
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	struct agent_process *p = agent_process_by_pid(a, pid);
	if (r == pid && p)
		agent_process_exited(a, p, status);
}

/* fork() copies the agent's stack, so the child keeps using cfg; a raw clone
 * (not glibc's clone()) behaves like fork and lets the child start in new
 * namespaces, which is what PID 1 of a pid namespace needs. */
static pid_t clone_child(unsigned long flags)
{
	if (!flags)
		return fork();
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* A new init in a new user namespace waits for its parent (runc's nsexec does the
 * same): what needs the guest's root is done here, from outside. Its cgroup too:
 * the ancestors' cgroup.procs are the guest root's, and the container's own may be
 * the container root's already (agent_cgroup_chown). */
static int map_userns(int sync_fd, pid_t pid, const struct agent_child_cfg *cfg,
		      struct vc_error *err)
{
	int r = 0;
	if (cfg->cgroup) {
		_cleanup_free_ char *procs = vc_strdup_printf("%s/cgroup.procs", cfg->cgroup);
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		r = procs ? vc_write_file(procs, buf, (size_t)n, err)
			  : vc_error_set(err, ENOMEM, "out of memory");
		if (r < 0)
			return vc_error_wrap(err, "join cgroup");
	}
	r = agent_process_limits(pid, cfg->process, err);
	if (r == 0)
		r = agent_setup_net_sysctls(cfg->spec, err);
	if (r == 0)
		r = agent_userns_map(pid, cfg->spec->linux, err);
	if (r < 0)
		return r;
	char c = AGENT_SYNC_MAPPED;
	if (send(sync_fd, &c, 1, MSG_NOSIGNAL) != 1)
		return vc_error_sys(err, errno, "release the container process");
	return 0;
}

/* Starts a child; returns its pid after it reported ready, with the agent end
 * of the sync socket in *sync_out (init) or closed (exec). */
static int spawn(struct agent *a, struct agent_child_cfg *cfg, unsigned long flags, int pidns_fd,
		 pid_t *pid_out, int *pty_out, int *sync_out, struct vc_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vc_error_sys(err, errno, "socketpair");
	_cleanup_close_ int mine = sv[0];
	_cleanup_close_ int theirs = sv[1];
	cfg->sync_fd = theirs;
	cfg->pdeathsig = a->opts->not_pid1;

	if (pidns_fd >= 0 && setns(pidns_fd, CLONE_NEWPID) < 0)
		return vc_error_sys(err, errno, "join the container's pid namespace");
	pid_t pid = clone_child(flags);
	int fork_errno = errno;
	if (pid == 0) {
		close(mine);
		agent_child_main(cfg);
	}
	/* back to our own pid namespace for the next child, even on failure */
	if (pidns_fd >= 0 && setns(a->own_pidns, CLONE_NEWPID) < 0)
		agent_err("cannot return to the agent's pid namespace: %s", strerror(errno));
	if (pid < 0)
		return vc_error_sys(err, fork_errno, "clone");
	close_fd(&theirs);
	agent_stdio_close_child(cfg->stdio);
	int r = 0;
	if (cfg->is_init && cfg->new_ns[VC_NS_USER])
		r = map_userns(mine, pid, cfg, err);
	if (r == 0)
		r = agent_sync_recv(mine, SETUP_TIMEOUT_MS, pty_out, err);
	if (r < 0) {
		kill(pid, SIGKILL);
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	*pid_out = pid;
	if (sync_out)
		*sync_out = steal_fd(mine);
	return 0;
}

int agent_process_spawn(struct agent *a, struct agent_container *c, struct agent_child_cfg *cfg,
			unsigned long clone_flags, int pidns_fd, const char *exec_id,
			uint32_t stream_id, struct agent_process **out, struct vc_error *err)
{
	struct agent_stdio *s = cfg->stdio;
	_cleanup_free_ struct agent_process *p = calloc(1, sizeof(*p));
	_cleanup_free_ char *eid = exec_id ? strdup(exec_id) : NULL;
	if (!p || (exec_id && !eid))
		return vc_error_set(err, ENOMEM, "out of memory");
	int pty = -1, sync = -1;
	pid_t pid = -1;
	int r = spawn(a, cfg, clone_flags, pidns_fd, &pid, &pty, cfg->is_init ? &sync : NULL, err);
	if (r < 0)
		return r;
	p->ctr = c;
	p->exec_id = steal_ptr(eid);
	p->stream_id = stream_id;
	p->pid = pid;
	p->tty = s->tty;
	p->sync_fd = sync;
	if (s->tty) {
		p->out_fd = pty;
		p->in_fd = s->stdin_open ? fcntl(pty, F_DUPFD_CLOEXEC, 0) : -1;
		p->err_fd = -1;
		/* no stderr stream of its own: its EOF goes out with stdout's */
	} else {
		p->out_fd = steal_fd(s->out_fd);
		p->err_fd = steal_fd(s->err_fd);
		p->in_fd = steal_fd(s->in_fd);
	}
	int fds[] = {p->in_fd, p->out_fd, p->err_fd};
	for (size_t i = 0; i < VC_ARRAY_SIZE(fds); i++) {
		if (fds[i] >= 0)
			vc_set_nonblock(fds[i], true);
	}
	p->next = a->procs;
	a->procs = p;
	*out = steal_ptr(p);
	return 0;
}

int agent_open_ns(pid_t pid, enum vc_oci_ns_type t, int *fd, struct vc_error *err)
{
	static const char *const files[VC_NS__COUNT] = {
		[VC_NS_PID] = "pid",   [VC_NS_MOUNT] = "mnt",	  [VC_NS_IPC] = "ipc",
		[VC_NS_UTS] = "uts",   [VC_NS_CGROUP] = "cgroup", [VC_NS_NETWORK] = "net",
		[VC_NS_USER] = "user", [VC_NS_TIME] = "time",
	};
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, files[t]);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return vc_error_sys(err, errno, "open %s", path);
	return 0;
}

static void close_ns_fds(int *fds)
{
	for (int i = 0; i < VC_NS__COUNT; i++)
		close_fd(&fds[i]);
}

int agent_h_exec_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			 struct vc_error *err)
{
	struct agent_container *c = r->ctr;
	if (c->init->exited)
		return vc_error_set(err, ESRCH, "%s: container %s is not running", r->method,
				    c->id);
	struct agent_child_cfg cfg = {.is_init = false,
				      .spec = c->spec,
				      .process = r->process,
				      .cgroup = c->cgroup,
				      .devnull = a->devnull};
	for (int i = 0; i < VC_NS__COUNT; i++)
		cfg.ns_fds[i] = -1;
	/* always its mount namespace: the container's rootfs lives only there */
	int rc = agent_open_ns(c->init->pid, VC_NS_MOUNT, &cfg.ns_fds[VC_NS_MOUNT], err);
	static const enum vc_oci_ns_type others[] = {VC_NS_PID, VC_NS_IPC, VC_NS_UTS, VC_NS_CGROUP,
						     VC_NS_USER};
	for (size_t i = 0; rc == 0 && i < VC_ARRAY_SIZE(others); i++) {
		if (c->new_ns[others[i]])
			rc = agent_open_ns(c->init->pid, others[i], &cfg.ns_fds[others[i]], err);
	}
	struct agent_stdio s;
	if (rc == 0)
		rc = agent_stdio_open(&s, r->process->terminal, r->rq->u.exec.stdin, err);
	if (rc < 0) {
		close_ns_fds(cfg.ns_fds);
		return vc_error_wrap(err, "%s", r->method);
	}
	cfg.stdio = &s;
	/* the pid namespace is entered by the agent itself (for its next child),
	 * not by the child: setns(CLONE_NEWPID) never moves the caller */
	int pidns = cfg.ns_fds[VC_NS_PID];
	cfg.ns_fds[VC_NS_PID] = -1;
	struct agent_process *p;
	rc = agent_process_spawn(a, c, &cfg, 0, pidns, r->rq->u.exec.exec_id,
				 r->rq->u.exec.stream_id, &p, err);
	/* a finished process of the same id is replaced (its status is gone) */
	if (rc == 0 && r->proc)
		agent_process_free(a, r->proc);
	cfg.ns_fds[VC_NS_PID] = pidns;
	close_ns_fds(cfg.ns_fds);
	agent_stdio_close(&s);
	if (rc < 0)
		return rc;
	return vc_agent_pid_encode(&(struct vc_agent_pid){.pid = p->pid}, res, err);
}

int agent_h_signal_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err)
{
	int sig = (int)r->rq->u.signal.signal;
	if (r->rq->u.signal.all) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		int rc = agent_container_pids(a, r->ctr, &pids, &n, err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (kill(pids[i], sig) < 0 && errno != ESRCH)
				return vc_error_sys(err, errno, "%s: kill %d", r->method,
						    (int)pids[i]);
		}
		return 0;
	}
	struct agent_process *p = r->proc;
	if (p->exited)
		return vc_error_set(err, ESRCH, "%s: process %s of container %s has exited",
				    r->method, p->exec_id ? p->exec_id : "init", r->ctr->id);
	if (kill(p->pid, sig) < 0)
		return vc_error_sys(err, errno, "%s: kill %d", r->method, (int)p->pid);
	return 0;
}

int agent_h_wait_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			 struct vc_error *err)
{
	struct agent_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return vc_error_set(err, ENOMEM, "out of memory");
	w->req_id = r->id;
	w->next = r->proc->waiters;
	r->proc->waiters = w;
	/* answered at once when it already exited and its output is drained */
	agent_process_answer_waiters(a, r->proc);
	return AGENT_PARKED;
}

int agent_h_tty_win_resize(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err)
{
	struct agent_process *p = r->proc;
	if (!p->tty)
		return vc_error_set(err, EINVAL, "%s: the process has no terminal", r->method);
	int fd = p->out_fd >= 0 ? p->out_fd : p->in_fd;
	if (fd < 0 || p->exited)
		return vc_error_set(err, ESRCH, "%s: the process has exited", r->method);
	struct winsize ws = {.ws_row = (unsigned short)r->rq->u.resize.rows,
			     .ws_col = (unsigned short)r->rq->u.resize.cols};
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return vc_error_sys(err, errno, "%s: TIOCSWINSZ", r->method);
	return 0;
}
