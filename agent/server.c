/* The agent's server: one poll loop over the channel, the SIGCHLD signalfd and
 * every process's stdio. Frames to the host wait in a queue that the loop
 * flushes without blocking; while it is long, process output is not read, so
 * a slow host slows the processes instead of growing the guest's memory. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Above this many queued bytes, process output waits. */
#define OUT_HIGH_WATER (1u << 20)
/* Stdin the process has not read yet; past this it is dropped (logged). */
#define IN_MAX (16u << 20)

struct out_frame {
	struct out_frame *next;
	size_t len, off;
	uint8_t data[];
};

int agent_queue_frame(struct agent *a, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		      size_t len)
{
	if (len > VC_PROTO_MAX_BODY)
		return -EMSGSIZE;
	if (agent_hostile_outgoing(a, type, flags, id, body, len))
		return 0;
	struct out_frame *f = malloc(sizeof(*f) + VC_PROTO_HDR_LEN + len);
	if (!f) {
		agent_err("out of memory queueing a frame of %zu bytes", len);
		return -ENOMEM;
	}
	f->next = NULL;
	f->len = VC_PROTO_HDR_LEN + len;
	f->off = 0;
	vc_frame_header_encode(f->data, type, flags, id, (uint32_t)len);
	if (len)
		memcpy(f->data + VC_PROTO_HDR_LEN, body, len);
	if (a->out_tail)
		a->out_tail->next = f;
	else
		a->out_head = f;
	a->out_tail = f;
	a->out_bytes += f->len;
	return 0;
}

int agent_queue_error(struct agent *a, uint32_t req_id, int code, const char *msg)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	if (code <= 0)
		code = EIO;
	agent_dbg("request %u failed: %s", req_id, msg);
	int r = vc_proto_response_encode_error(code, msg, &body, &len);
	if (r < 0)
		return r;
	return agent_queue_frame(a, VC_FRAME_RESPONSE, 0, req_id, body, len);
}

static void out_pop(struct agent *a)
{
	struct out_frame *f = a->out_head;
	a->out_head = f->next;
	if (!a->out_head)
		a->out_tail = NULL;
	a->out_bytes -= f->len;
	free(f);
}

static void out_free_all(struct agent *a)
{
	while (a->out_head)
		out_pop(a);
}

static void channel_lost(struct agent *a, bool bad_frame, const char *why);

/* Writes what the channel takes now. */
static void flush_some(struct agent *a)
{
	while (a->out_head && a->chan >= 0 && !a->chan_down) {
		struct out_frame *f = a->out_head;
		ssize_t n = write(a->chan, f->data + f->off, f->len - f->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				channel_lost(a, false, strerror(errno));
			return;
		}
		f->off += (size_t)n;
		if (f->off == f->len)
			out_pop(a);
	}
}

void agent_flush(struct agent *a, int timeout_ms)
{
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
	while (a->out_head && a->chan >= 0 && vc_now_ns() < deadline) {
		struct pollfd pfd = {.fd = a->chan, .events = POLLOUT};
		if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
			return;
		if (a->chan_down && !(pfd.revents & POLLHUP))
			a->chan_down = false;
		if (pfd.revents & POLLOUT)
			flush_some(a);
	}
}

static void channel_lost(struct agent *a, bool bad_frame, const char *why)
{
	vc_frame_reader_free(&a->rd);
	vc_frame_reader_init(&a->rd);
	/* a frame cut in the middle would desynchronise the next connection */
	if (a->out_head && a->out_head->off > 0)
		out_pop(a);
	if (a->opts->hangup_is_transient && !bad_frame) {
		if (!a->chan_down)
			agent_info("host disconnected (%s); waiting for it", why);
		a->chan_down = true;
		return;
	}
	agent_info("channel closed: %s", why);
	if (a->chan >= 0)
		close(a->chan);
	a->chan = -1;
	a->chan_down = false;
	if (!a->opts->reopen) {
		a->quit = true;
		return;
	}
	struct vc_error err = {0};
	int fd = a->opts->reopen(a->opts->reopen_ctx, &err);
	if (fd < 0) {
		agent_err("cannot reopen the channel: %s", err.msg);
		a->quit = true;
		return;
	}
	vc_set_nonblock(fd, true);
	a->chan = fd;
}

/* Closes one output stream and tells the host. A pty has no stderr of its own:
 * its stderr EOF goes out with stdout's. */
static void stream_eof(struct agent *a, struct agent_process *p, bool err_stream)
{
	int *fd = err_stream ? &p->err_fd : &p->out_fd;
	close(*fd);
	*fd = -1;
	agent_queue_frame(a, err_stream ? VC_FRAME_STDERR : VC_FRAME_STDOUT, VC_FRAME_F_EOF,
			  p->stream_id, NULL, 0);
	if (p->tty && !err_stream)
		agent_queue_frame(a, VC_FRAME_STDERR, VC_FRAME_F_EOF, p->stream_id, NULL, 0);
}

/* One read from a process's stdout or stderr: 1 data, 0 EOF, -1 nothing now. */
int agent_process_pump(struct agent *a, struct agent_process *p, bool err_stream)
{
	static char buf[VC_PROTO_STREAM_CHUNK];
	int *fd = err_stream ? &p->err_fd : &p->out_fd;
	if (*fd < 0)
		return 0;
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n > 0) {
		agent_queue_frame(a, err_stream ? VC_FRAME_STDERR : VC_FRAME_STDOUT, 0,
				  p->stream_id, buf, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	/* a pty master reads EIO once the last slave fd is closed */
	if (n < 0 && errno != EIO)
		agent_warn("read output of %d: %s", (int)p->pid, strerror(errno));
	stream_eof(a, p, err_stream);
	agent_process_answer_waiters(a, p);
	return 0;
}

void agent_process_drain(struct agent *a, struct agent_process *p)
{
	for (int s = 0; s < 2; s++) {
		int r;
		while ((r = agent_process_pump(a, p, s == 1)) == 1)
			;
		/* nothing now but no EOF: a writer outside the container holds it */
		if (r < 0)
			stream_eof(a, p, s == 1);
	}
	agent_process_answer_waiters(a, p);
}

static void close_stdin_fd(struct agent_process *p)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	free(p->in_buf);
	p->in_buf = NULL;
	p->in_len = p->in_cap = 0;
}

static void stdin_write(struct agent_process *p)
{
	while (p->in_fd >= 0 && p->in_len > 0) {
		ssize_t n = write(p->in_fd, p->in_buf, p->in_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				agent_dbg("stdin of %d: %s", (int)p->pid, strerror(errno));
				close_stdin_fd(p);
			}
			return;
		}
		memmove(p->in_buf, p->in_buf + n, p->in_len - (size_t)n);
		p->in_len -= (size_t)n;
	}
	/* a pty has no half-close: its stdin EOF is ignored (the host can send ^D) */
	if (p->in_fd >= 0 && p->in_eof && p->in_len == 0 && !p->tty)
		close_stdin_fd(p);
}

static void handle_stdin(struct agent *a, const struct vc_frame *f)
{
	struct agent_process *p = agent_process_by_stream(a, f->id);
	if (!p || p->in_fd < 0) {
		agent_dbg("stdin for stream %u dropped: no open stdin", f->id);
		return;
	}
	if (f->len) {
		if (p->in_len + f->len > IN_MAX) {
			agent_warn("stdin of %d: %u bytes dropped (the process is not reading)",
				   (int)p->pid, f->len);
		} else {
			if (p->in_len + f->len > p->in_cap) {
				size_t cap = p->in_cap ? p->in_cap : 4096;
				while (cap < p->in_len + f->len)
					cap *= 2;
				char *nb = realloc(p->in_buf, cap);
				if (!nb) {
					agent_err("out of memory for stdin of %d", (int)p->pid);
					return;
				}
				p->in_buf = nb;
				p->in_cap = cap;
			}
			memcpy(p->in_buf + p->in_len, f->body, f->len);
			p->in_len += f->len;
		}
	}
	if (f->flags & VC_FRAME_F_EOF)
		p->in_eof = true;
	stdin_write(p);
}

static void handle_frame(struct agent *a, const struct vc_frame *f)
{
	switch (f->type) {
	case VC_FRAME_REQUEST:
		if (!agent_hostile_request(a, f->id, f->body, f->len))
			agent_handle_request(a, f->id, f->body, f->len);
		break;
	case VC_FRAME_STDIN:
		handle_stdin(a, f);
		break;
	case VC_FRAME_DNS:
		agent_dns_from_host(a, f);
		break;
	default:
		agent_warn("unexpected frame type %u from the host: ignored", f->type);
		break;
	}
}

static void channel_read(struct agent *a)
{
	int n = vc_frame_reader_fill(&a->rd, a->chan);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n == 0 || n < 0) {
		channel_lost(a, false, n == 0 ? "end of file" : strerror(-n));
		return;
	}
	for (;;) {
		struct vc_frame f;
		struct vc_error err = {0};
		int r = vc_frame_reader_next(&a->rd, &f, &err);
		if (r == 0)
			return;
		if (r < 0) {
			agent_err("bad frame from the host: %s", err.msg);
			channel_lost(a, true, "bad frame");
			return;
		}
		handle_frame(a, &f);
		if (a->chan < 0 || a->chan_down || a->quit)
			return;
	}
}

static void drain_signalfd(struct agent *a)
{
	struct signalfd_siginfo si;
	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	agent_reap(a);
}

/* Finished exec processes are kept so that a WaitProcess can be repeated (after a
 * host reconnect, say), but only the newest few per container whose status was
 * already given out. */
#define KEEP_FINISHED_EXECS 32

static void gc_processes(struct agent *a)
{
	for (struct agent_container *c = a->containers; c; c = c->next) {
		unsigned kept = 0;
		struct agent_process *p = a->procs; /* newest first */
		while (p) {
			struct agent_process *next = p->next;
			if (p->ctr == c && p->exec_id && p->answered && !p->waiters &&
			    agent_process_done(p) && ++kept > KEEP_FINISHED_EXECS)
				agent_process_free(a, p);
			p = next;
		}
	}
}

enum slot_kind { SLOT_CHAN, SLOT_SIG, SLOT_OUT, SLOT_ERR, SLOT_IN, SLOT_DNS };
struct slot {
	enum slot_kind kind;
	struct agent_process *p;
};

struct pollset {
	struct pollfd *fds;
	struct slot *slots;
	size_t n, cap;
};

static int pollset_add(struct pollset *ps, int fd, short events, enum slot_kind kind,
		       struct agent_process *p)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct pollfd *nf = realloc(ps->fds, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		ps->fds = nf;
		struct slot *ns = realloc(ps->slots, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		ps->slots = ns;
		ps->cap = cap;
	}
	ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = events};
	ps->slots[ps->n] = (struct slot){.kind = kind, .p = p};
	ps->n++;
	return 0;
}

static int pollset_build(struct agent *a, struct pollset *ps)
{
	int r = 0;
	ps->n = 0;
	if (a->chan >= 0 && !a->chan_down)
		r = pollset_add(ps, a->chan, (short)(POLLIN | (a->out_head ? POLLOUT : 0)),
				SLOT_CHAN, NULL);
	if (r == 0)
		r = pollset_add(ps, a->sigfd, POLLIN, SLOT_SIG, NULL);
	if (r == 0 && a->dns_fd >= 0 && a->out_bytes < OUT_HIGH_WATER)
		r = pollset_add(ps, a->dns_fd, POLLIN, SLOT_DNS, NULL);
	bool read_output = a->out_bytes < OUT_HIGH_WATER;
	for (struct agent_process *p = a->procs; p && r == 0; p = p->next) {
		if (read_output && p->out_fd >= 0)
			r = pollset_add(ps, p->out_fd, POLLIN, SLOT_OUT, p);
		if (r == 0 && read_output && p->err_fd >= 0)
			r = pollset_add(ps, p->err_fd, POLLIN, SLOT_ERR, p);
		if (r == 0 && p->in_fd >= 0 && p->in_len > 0)
			r = pollset_add(ps, p->in_fd, POLLOUT, SLOT_IN, p);
	}
	return r;
}

static void check_chan_up(struct agent *a)
{
	struct pollfd pfd = {.fd = a->chan, .events = POLLIN};
	if (poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP)) {
		agent_info("host connected");
		a->chan_down = false;
	}
}

static void serve_loop(struct agent *a)
{
	struct pollset ps = {0};
	while (!a->quit) {
		agent_hostile_tick(a);
		if (pollset_build(a, &ps) < 0) {
			agent_err("out of memory building the poll set");
			break;
		}
		/* No event says the host is back (the port only stops hanging up): look
		 * often, since a template clone's monitor waits on it. */
		int n = poll(ps.fds, ps.n, a->chan_down ? 5 : -1);
		if (n < 0 && errno != EINTR) {
			agent_err("poll: %s", strerror(errno));
			break;
		}
		/* processes first: channel requests may free them */
		for (size_t i = 0; n > 0 && i < ps.n; i++) {
			short re = ps.fds[i].revents;
			struct slot *s = &ps.slots[i];
			if (!re)
				continue;
			if (s->kind == SLOT_OUT || s->kind == SLOT_ERR)
				agent_process_pump(a, s->p, s->kind == SLOT_ERR);
			else if (s->kind == SLOT_IN)
				stdin_write(s->p);
			else if (s->kind == SLOT_SIG)
				drain_signalfd(a);
			else if (s->kind == SLOT_DNS)
				agent_dns_from_guest(a);
		}
		for (size_t i = 0; n > 0 && i < ps.n; i++) {
			short re = ps.fds[i].revents;
			if (ps.slots[i].kind != SLOT_CHAN || !re)
				continue;
			if (re & POLLOUT)
				flush_some(a);
			if (re & POLLIN)
				channel_read(a);
			else if (re & (POLLHUP | POLLERR | POLLNVAL))
				channel_lost(a, false, "hangup");
		}
		if (a->chan_down)
			check_chan_up(a);
		flush_some(a);
		gc_processes(a);
	}
	free(ps.fds);
	free(ps.slots);
}

static void teardown(struct agent *a)
{
	while (a->containers)
		agent_container_destroy(a, a->containers);
	agent_storages_release(a, a->sandbox_storages);
	vc_strv_freep(&a->sandbox_storages);
	agent_storages_unmount_all(a);
	while (a->procs)
		agent_process_free(a, a->procs);
}

int agent_serve(int channel_fd, const struct agent_options *opts)
{
	struct agent a = {.opts = opts,
			  .chan = channel_fd,
			  .sigfd = -1,
			  .own_pidns = -1,
			  .devnull = -1,
			  .dns_fd = -1};
	vc_frame_reader_init(&a.rd);
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	int rc = 0;
	if (opts->not_pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		agent_warn("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	a.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a.own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	a.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (a.sigfd < 0 || a.own_pidns < 0 || a.devnull < 0) {
		agent_err("agent start-up: %s", strerror(errno));
		rc = -errno;
	} else {
		vc_set_cloexec(a.chan, true);
		vc_set_nonblock(a.chan, true);
		agent_reap(&a); /* children that exited before the signalfd existed */
		serve_loop(&a);
	}
	if (a.quit && a.out_head)
		agent_flush(&a, 2000); /* DestroySandbox's response first */
	teardown(&a);
	if (a.chan >= 0)
		agent_flush(&a, 500);
	if (a.poweroff) {
		sync();
		agent_poweroff("sandbox destroyed");
	}
	out_free_all(&a);
	agent_dns_release(&a);
	vc_frame_reader_free(&a.rd);
	int fds[] = {a.chan, a.sigfd, a.own_pidns, a.devnull};
	for (size_t i = 0; i < VC_ARRAY_SIZE(fds); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(a.sandbox_id);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
