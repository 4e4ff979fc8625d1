/* The sandbox monitor: one per VM, started by `create` as `vcrun __monitor`. It is
 * the parent of QEMU, owns the agent channel, and serves the short-lived CLI calls
 * and the stand-ins on ROOT/ID/monitor.sock, multiplexing their requests and stdio
 * streams onto the one agent channel. It is the only writer of state.json once
 * `create` has handed over. It runs with its cwd in the state directory so every
 * socket path stays short whatever --root is (sun_path holds 108 bytes). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/chan.h"
#include "lib/log.h"
#include "lib/monitor.h"
#include "lib/plan.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/vcrun.h"

#define MAX_CONNS 128
#define MAX_WAITERS 16
#define AGENT_BACKLOG_MAX (4u << 20)
#define EARLY_OUTPUT_MAX (64u << 20)
#define DESTROY_TIMEOUT_MS 15000
#define INIT_STREAM 1

struct conn {
	struct vc_chan ch;
	uint32_t stream; /* attached stream, 0 if none */
	pid_t peer_pid;
};

struct waiter {
	struct conn *conn;
	uint32_t req;
};

struct stream {
	uint32_t id;
	struct conn *conn;    /* the attached stand-in */
	struct vc_chan early; /* output that arrived before the stand-in attached */
	bool exited;
	int exit_code, exit_signal;
	struct waiter waiters[MAX_WAITERS];
	size_t n_waiters;
};

enum pend_kind { PEND_FORWARD, PEND_START, PEND_WAIT, PEND_REMOVE, PEND_DESTROY };

struct pending {
	uint32_t agent_id;
	enum pend_kind kind;
	struct conn *conn;
	uint32_t conn_req;
};

struct monitor {
	const char *root, *id;
	int sync_fd;
	struct vc_plan plan;
	struct vc_hv hv;
	bool hv_running;
	struct vc_chan agent;
	int listen_fd, sig_fd;
	struct conn *conns[MAX_CONNS];
	size_t n_conns;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct stream init;
	uint32_t next_id;
	struct vc_state st;
	bool destroying, done;
	unsigned long long destroy_deadline;
	struct waiter destroyer;
};

static int save_state(struct monitor *m)
{
	struct vc_error err = { 0 };
	int r = vc_state_write(m->root, &m->st, &err);
	if (r < 0)
		vc_err("%s", err.msg);
	return r;
}

static struct vc_json *exit_json(const struct stream *s)
{
	struct vc_json *o = vc_json_new_object();
	if (o && (vc_json_object_set(o, "exit_code", vc_json_new_int(s->exit_code)) < 0 ||
		  vc_json_object_set(o, "signal", vc_json_new_int(s->exit_signal)) < 0)) {
		vc_json_free(o);
		return NULL;
	}
	return o;
}

static void respond_exit(struct conn *c, uint32_t req, const struct stream *s)
{
	_cleanup_json_ struct vc_json *o = exit_json(s);
	if (c && o)
		vc_chan_respond(&c->ch, req, o);
}

static void stream_exited(struct monitor *m, struct stream *s, int code, int sig)
{
	if (s->exited)
		return;
	s->exited = true;
	s->exit_code = code;
	s->exit_signal = sig;
	vc_debug("container %s: process exited (code %d, signal %d)", m->id, code, sig);
	for (size_t i = 0; i < s->n_waiters; i++)
		respond_exit(s->waiters[i].conn, s->waiters[i].req, s);
	s->n_waiters = 0;
	if (s->id == INIT_STREAM) {
		m->st.status = VC_STATUS_STOPPED;
		m->st.exit_code = code;
		m->st.exit_signal = sig;
		save_state(m);
	}
}

static struct stream *find_stream(struct monitor *m, uint32_t id)
{
	return id == INIT_STREAM ? &m->init : NULL;
}

static struct vc_json *params_for_container(struct monitor *m)
{
	struct vc_json *p = vc_json_new_object();
	if (p && vc_json_object_set(p, "container_id", vc_json_new_string(m->id)) < 0) {
		vc_json_free(p);
		return NULL;
	}
	return p;
}

/* Sends a request to the agent and remembers who gets the answer. Takes params. */
static int agent_send(struct monitor *m, const char *method, struct vc_json *params,
		      enum pend_kind kind, struct conn *conn, uint32_t conn_req)
{
	_cleanup_json_ struct vc_json *p = params;
	if (!p)
		return -ENOMEM;
	if (m->agent.eof)
		return -EPIPE;
	if (m->n_pend == m->cap_pend) {
		size_t cap = m->cap_pend ? m->cap_pend * 2 : 16;
		struct pending *n = realloc(m->pend, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->pend = n;
		m->cap_pend = cap;
	}
	uint32_t id = m->next_id++;
	int r = vc_chan_request(&m->agent, id, method, p);
	if (r < 0)
		return r;
	m->pend[m->n_pend++] = (struct pending){ id, kind, conn, conn_req };
	return 0;
}

static void finish_destroy(struct monitor *m)
{
	struct vc_error err = { 0 };
	if (m->hv_running) {
		if (vc_hv_stop(&m->hv, 5000, &err) < 0)
			vc_warn("stop VM: %s", err.msg);
		m->hv_running = false;
	}
	stream_exited(m, &m->init, 137, SIGKILL);
	if (m->destroyer.conn) {
		_cleanup_json_ struct vc_json *o = vc_json_new_object();
		vc_chan_respond(&m->destroyer.conn->ch, m->destroyer.req, o);
	}
	m->done = true;
}

static void start_destroy(struct monitor *m, struct conn *c, uint32_t req)
{
	if (m->destroying) {
		if (c)
			vc_chan_respond_error(&c->ch, req, EBUSY, "container is being deleted");
		return;
	}
	m->destroying = true;
	m->destroyer = (struct waiter){ c, req };
	m->destroy_deadline = vc_now_ns() + DESTROY_TIMEOUT_MS * 1000000ULL;
	if (agent_send(m, VC_M_REMOVE_CONTAINER, params_for_container(m), PEND_REMOVE, NULL, 0) <
	    0)
		finish_destroy(m);
}

/* The VM or its channel is gone: every process is gone with it. */
static void vm_gone(struct monitor *m, const char *why)
{
	if (m->destroying) {
		finish_destroy(m);
		return;
	}
	vc_warn("container %s: %s", m->id, why);
	if (m->hv_running) {
		struct vc_error err = { 0 };
		vc_hv_stop(&m->hv, 2000, &err);
		m->hv_running = false;
	}
	stream_exited(m, &m->init, 137, SIGKILL);
	m->done = true;
}

static void handle_agent_response(struct monitor *m, const struct vc_frame *f)
{
	size_t i;
	for (i = 0; i < m->n_pend && m->pend[i].agent_id != f->id; i++)
		;
	if (i == m->n_pend) {
		vc_debug("agent answered an unknown request %u", f->id);
		return;
	}
	struct pending p = m->pend[i];
	m->pend[i] = m->pend[--m->n_pend];

	_cleanup_json_ struct vc_json *result = NULL;
	struct vc_error rerr = { 0 };
	int r = vc_proto_response_decode(f->body, f->len, &result, &rerr);
	switch (p.kind) {
	case PEND_START:
		if (r == 0) {
			m->st.status = VC_STATUS_RUNNING;
			save_state(m);
		}
		__attribute__((fallthrough)); /* the caller gets the agent's answer */
	case PEND_FORWARD:
		if (p.conn)
			vc_chan_queue(&p.conn->ch, VC_FRAME_RESPONSE, 0, p.conn_req, f->body, f->len);
		break;
	case PEND_WAIT: {
		int64_t code = 137, sig = 0;
		if (r == 0) {
			vc_json_to_i64(vc_json_get(result, "exit_code"), &code);
			vc_json_to_i64(vc_json_get(result, "signal"), &sig);
		} else {
			vc_warn("WaitProcess: %s", rerr.msg);
		}
		stream_exited(m, &m->init, (int)code, (int)sig);
		break;
	}
	case PEND_REMOVE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (agent_send(m, VC_M_DESTROY_SANDBOX, vc_json_new_object(), PEND_DESTROY, NULL, 0) <
		    0)
			finish_destroy(m);
		break;
	case PEND_DESTROY:
		finish_destroy(m);
		break;
	}
}

static void route_output(struct monitor *m, const struct vc_frame *f)
{
	struct stream *s = find_stream(m, f->id);
	if (!s)
		return;
	struct vc_chan *dst = s->conn ? &s->conn->ch : &s->early;
	if (!s->conn && vc_chan_pending(dst) > EARLY_OUTPUT_MAX) {
		vc_warn("container %s: dropping output: no stand-in attached", m->id);
		return;
	}
	vc_chan_queue(dst, f->type, f->flags, f->id, f->body, f->len);
}

static void handle_agent(struct monitor *m)
{
	vc_chan_fill(&m->agent);
	for (;;) {
		struct vc_frame f;
		struct vc_error err = { 0 };
		int r = vc_frame_reader_next(&m->agent.rd, &f, &err);
		if (r < 0) {
			vm_gone(m, err.msg);
			return;
		}
		if (r == 0)
			break;
		if (f.type == VC_FRAME_RESPONSE)
			handle_agent_response(m, &f);
		else if (f.type == VC_FRAME_STDOUT || f.type == VC_FRAME_STDERR)
			route_output(m, &f);
	}
	if (m->agent.eof && !m->done)
		vm_gone(m, "the guest agent closed its channel");
}

static void handle_request(struct monitor *m, struct conn *c, const struct vc_frame *f)
{
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	struct vc_error err = { 0 };
	if (vc_proto_request_decode(f->body, f->len, &method, &params, &err) < 0) {
		vc_chan_respond_error(&c->ch, f->id, EINVAL, err.msg);
		return;
	}
	uint32_t sid = 0, sig = 0;
	if (!strcmp(method, "attach") || !strcmp(method, "wait")) {
		struct stream *s = NULL;
		if (vc_proto_get_u32(params, method, "stream_id", true, &sid, &err) < 0 ||
		    !(s = find_stream(m, sid))) {
			vc_chan_respond_error(&c->ch, f->id, ENOENT,
					      err.msg[0] ? err.msg : "no such process stream");
			return;
		}
		if (!strcmp(method, "wait")) {
			if (s->exited)
				respond_exit(c, f->id, s);
			else if (s->n_waiters < MAX_WAITERS)
				s->waiters[s->n_waiters++] = (struct waiter){ c, f->id };
			else
				vc_chan_respond_error(&c->ch, f->id, EBUSY, "too many waiters");
			return;
		}
		s->conn = c;
		c->stream = sid;
		/* Hand over what arrived before the stand-in did, in order. */
		if (vc_chan_pending(&s->early))
			vc_chan_queue_raw(&c->ch, s->early.out + s->early.out_off,
					  vc_chan_pending(&s->early));
		s->early.out_off = s->early.out_len = 0;
		if (sid == INIT_STREAM && m->st.status == VC_STATUS_CREATING) {
			m->st.standin_pid = c->peer_pid;
			m->st.status = VC_STATUS_CREATED;
			save_state(m);
		}
		_cleanup_json_ struct vc_json *o = vc_json_new_object();
		vc_chan_respond(&c->ch, f->id, o);
	} else if (!strcmp(method, "start")) {
		if (m->st.status != VC_STATUS_CREATED) {
			vc_chan_respond_error(&c->ch, f->id, EINVAL,
					      m->st.status == VC_STATUS_STOPPED
						      ? "cannot start a container that has stopped"
						      : "cannot start an already running container");
			return;
		}
		if (agent_send(m, VC_M_START_CONTAINER, params_for_container(m), PEND_START, c,
			       f->id) < 0)
			vc_chan_respond_error(&c->ch, f->id, EPIPE, "the guest agent is gone");
	} else if (!strcmp(method, "kill") || !strcmp(method, "signal")) {
		if (vc_proto_get_u32(params, method, "signal", true, &sig, &err) < 0) {
			vc_chan_respond_error(&c->ch, f->id, EINVAL, err.msg);
			return;
		}
		if (m->init.exited || m->destroying) {
			vc_chan_respond_error(&c->ch, f->id, ESRCH, "container not running");
			return;
		}
		struct vc_json *p = params_for_container(m);
		const struct vc_json *all = vc_json_get(params, "all");
		if (p && (vc_json_object_set(p, "signal", vc_json_new_uint(sig)) < 0 ||
			  vc_json_object_set(p, "all", vc_json_new_bool(all && all->type == VC_JSON_BOOL &&
									 all->u.boolean)) < 0)) {
			vc_json_free(p);
			p = NULL;
		}
		if (agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, c, f->id) < 0)
			vc_chan_respond_error(&c->ch, f->id, EPIPE, "the guest agent is gone");
	} else if (!strcmp(method, "destroy")) {
		start_destroy(m, c, f->id);
	} else {
		vc_chan_respond_error(&c->ch, f->id, ENOSYS, "unknown monitor request");
	}
}

static void handle_conn(struct monitor *m, struct conn *c)
{
	vc_chan_fill(&c->ch);
	for (;;) {
		struct vc_frame f;
		struct vc_error err = { 0 };
		int r = vc_frame_reader_next(&c->ch.rd, &f, &err);
		if (r < 0) {
			vc_warn("monitor client: %s", err.msg);
			c->ch.eof = true;
			return;
		}
		if (r == 0)
			return;
		if (f.type == VC_FRAME_REQUEST)
			handle_request(m, c, &f);
		else if (f.type == VC_FRAME_STDIN && c->stream == f.id && !m->agent.eof)
			vc_chan_queue(&m->agent, f.type, f.flags, f.id, f.body, f.len);
	}
}

static void conn_gone(struct monitor *m, struct conn *c)
{
	struct stream *s = find_stream(m, c->stream);
	if (s && s->conn == c) {
		s->conn = NULL;
		/* A stand-in that dies (SIGKILL) takes its guest process with it. */
		if (!s->exited && !m->destroying) {
			struct vc_json *p = params_for_container(m);
			if (p && vc_json_object_set(p, "signal", vc_json_new_int(SIGKILL)) < 0) {
				vc_json_free(p);
				p = NULL;
			}
			agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, NULL, 0);
		}
	}
	for (size_t i = 0; i < m->init.n_waiters; i++)
		if (m->init.waiters[i].conn == c)
			m->init.waiters[i--] = m->init.waiters[--m->init.n_waiters];
	for (size_t i = 0; i < m->n_pend; i++)
		if (m->pend[i].conn == c)
			m->pend[i].conn = NULL;
	if (m->destroyer.conn == c)
		m->destroyer.conn = NULL;
	vc_chan_close(&c->ch);
	free(c);
}

static void accept_conn(struct monitor *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (m->n_conns == MAX_CONNS) {
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		c->peer_pid = cred.pid;
	vc_chan_init(&c->ch, fd);
	m->conns[m->n_conns++] = c;
}

static void handle_signals(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* vc_hv_stop reaps QEMU itself while destroying. */
			if (m->hv_running && !m->destroying &&
			    waitpid(m->hv.pid, NULL, WNOHANG) == m->hv.pid) {
				m->hv_running = false;
				vm_gone(m, "the VM exited");
			}
		} else {
			start_destroy(m, NULL, 0);
		}
	}
}

static int serve(struct monitor *m)
{
	while (!m->done) {
		struct pollfd pfd[3 + MAX_CONNS];
		size_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = m->sig_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){
			.fd = m->agent.eof ? -1 : m->agent.fd,
			.events = POLLIN | (vc_chan_pending(&m->agent) ? POLLOUT : 0),
		};
		bool backlog = vc_chan_pending(&m->agent) > AGENT_BACKLOG_MAX;
		for (size_t i = 0; i < m->n_conns; i++) {
			struct conn *c = m->conns[i];
			pfd[n++] = (struct pollfd){
				.fd = c->ch.fd,
				.events = (backlog ? 0 : POLLIN) |
					  (vc_chan_pending(&c->ch) ? POLLOUT : 0),
			};
		}
		int timeout = -1;
		if (m->destroying) {
			unsigned long long now = vc_now_ns();
			if (now >= m->destroy_deadline) {
				vc_warn("container %s: the agent did not finish in time", m->id);
				finish_destroy(m);
				break;
			}
			timeout = (int)((m->destroy_deadline - now) / 1000000ULL) + 1;
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			handle_signals(m);
		if (pfd[1].revents & POLLIN)
			accept_conn(m);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			handle_agent(m);
		if (vc_chan_flush(&m->agent) < 0 && !m->done)
			vm_gone(m, "write to the guest agent failed");
		/* conns[] may have grown in accept_conn: only the polled ones have revents. */
		for (size_t i = 0; i + 3 < n && i < m->n_conns; i++)
			if (pfd[i + 3].revents & (POLLIN | POLLHUP | POLLERR))
				handle_conn(m, m->conns[i]);
		for (size_t i = 0; i < m->n_conns; i++) {
			struct conn *c = m->conns[i];
			vc_chan_flush(&c->ch);
			if (c->ch.eof) {
				conn_gone(m, c);
				m->conns[i--] = m->conns[--m->n_conns];
			}
		}
	}
	/* Let the stand-ins and the deleting CLI read their last answers. */
	for (size_t i = 0; i < m->n_conns; i++)
		vc_chan_drain(&m->conns[i]->ch, 2000);
	return 0;
}

/* A request answered before the event loop runs (boot phase: nothing else is on
 * the channel yet). Check is re-sent every second until the agent answers, since
 * bytes written before the guest opened its port may be dropped. */
static int agent_call_boot(struct monitor *m, const char *method, struct vc_json *params,
			   int timeout_ms, bool resend, struct vc_json **result,
			   struct vc_error *err)
{
	unsigned long long start = vc_now_ns();
	unsigned long long deadline = start + (unsigned long long)timeout_ms * 1000000ULL;
	unsigned long long next_send = 0;
	uint32_t first_id = m->next_id;
	for (;;) {
		unsigned long long now = vc_now_ns();
		if (now >= next_send) {
			int r = vc_chan_request(&m->agent, m->next_id++, method, params);
			if (r < 0)
				return vc_error_sys(err, -r, "send %s to the guest agent", method);
			next_send = resend ? now + 1000000000ULL : ~0ULL;
		}
		if (vc_chan_flush(&m->agent) < 0 || m->agent.eof)
			return vc_error_set(err, EPIPE,
					    "%s: the guest agent's channel closed (see %s/console.log)",
					    method, m->root);
		if (now >= deadline)
			return vc_error_set(err, ETIMEDOUT,
					    "%s: the guest agent did not answer within %d s "
					    "(guest console: %s/%s/console.log)",
					    method, timeout_ms / 1000, m->root, m->id);
		struct pollfd p = { .fd = m->agent.fd,
				    .events = POLLIN | (vc_chan_pending(&m->agent) ? POLLOUT : 0) };
		unsigned long long wake = next_send < deadline ? next_send : deadline;
		poll(&p, 1, (int)((wake - now) / 1000000ULL) + 1);
		if (m->hv_running && waitpid(m->hv.pid, NULL, WNOHANG) == m->hv.pid) {
			m->hv_running = false;
			return vc_error_set(err, EIO, "the VM exited during boot (see %s/%s/qemu.log)",
					    m->root, m->id);
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		vc_chan_fill(&m->agent);
		struct vc_frame f;
		int r;
		while ((r = vc_frame_reader_next(&m->agent.rd, &f, err)) == 1) {
			if (f.type != VC_FRAME_RESPONSE || f.id < first_id || f.id >= m->next_id)
				continue;
			struct vc_error rerr = { 0 };
			r = vc_proto_response_decode(f.body, f.len, result, &rerr);
			if (r < 0) /* the agent's message already names the request */
				return vc_error_set(err, -r, "%s", rerr.msg);
			vc_debug("%s answered after %llu ms", method, (vc_now_ns() - start) / 1000000ULL);
			return 0;
		}
		if (r < 0)
			return vc_error_wrap(err, "%s", method);
	}
}

static int boot(struct monitor *m, struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (vc_read_file("plan.json", 64 << 20, &text, &len, err) < 0 ||
	    vc_plan_from_json(text, len, "plan.json", &m->plan, err) < 0)
		return -EINVAL;

	struct vc_hv_config cfg;
	vc_plan_hv_config(&m->plan, ".", &cfg);
	int r = vc_hv_start(&cfg, &m->hv, err);
	if (r < 0)
		return r;
	m->hv_running = true;
	m->st.hv_pid = m->hv.pid;
	save_state(m);

	if (m->plan.channel == VC_CHANNEL_VSOCK)
		vc_debug("agent channel: vsock, guest CID %u port %u", m->plan.vsock_cid,
			 VC_AGENT_VSOCK_PORT);
	else
		vc_debug("agent channel: virtio-serial (no /dev/vhost-vsock on this host)");
	int fd = m->plan.channel == VC_CHANNEL_VSOCK
			 ? vc_transport_connect_vsock(m->plan.vsock_cid, VC_AGENT_VSOCK_PORT,
						      m->plan.boot_timeout_ms, err)
			 : vc_transport_connect_unix("agent.sock", 10000, err);
	if (fd < 0)
		return fd;
	vc_chan_init(&m->agent, fd);

	_cleanup_json_ struct vc_json *check = vc_json_new_object();
	_cleanup_json_ struct vc_json *res = NULL;
	if (!check || vc_json_object_set(check, "version", vc_json_new_int(VC_PROTO_VERSION)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = agent_call_boot(m, VC_M_CHECK, check, m->plan.boot_timeout_ms, true, &res, err);
	if (r < 0)
		return r;

	_cleanup_json_ struct vc_json *sb = vc_json_new_object();
	_cleanup_json_ struct vc_json *sb_res = NULL;
	if (!sb || vc_json_object_set(sb, "sandbox_id", vc_json_new_string(m->id)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = agent_call_boot(m, VC_M_CREATE_SANDBOX, sb, 30000, false, &sb_res, err);
	if (r < 0)
		return r;

	_cleanup_json_ struct vc_json *cc = params_for_container(m);
	_cleanup_json_ struct vc_json *cc_res = NULL;
	if (!cc || vc_json_object_set(cc, "stream_id", vc_json_new_int(INIT_STREAM)) < 0 ||
	    vc_json_object_set(cc, "storages", vc_json_clone(m->plan.storages)) < 0 ||
	    vc_json_object_set(cc, "spec", vc_json_clone(m->plan.guest_spec)) < 0 ||
	    vc_json_object_set(cc, "stdin", vc_json_new_bool(true)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = agent_call_boot(m, VC_M_CREATE_CONTAINER, cc, 60000, false, &cc_res, err);
	if (r < 0)
		return r;

	m->init.id = INIT_STREAM;
	vc_chan_init(&m->init.early, -1);
	r = agent_send(m, VC_M_WAIT_PROCESS, params_for_container(m), PEND_WAIT, NULL, 0);
	if (r < 0)
		return vc_error_sys(err, -r, "send WaitProcess");

	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", VC_MONITOR_SOCK);
	unlink(VC_MONITOR_SOCK);
	if (m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(m->listen_fd, 64) < 0)
		return vc_error_sys(err, errno, "listen on %s/%s/%s", m->root, m->id, VC_MONITOR_SOCK);
	return 0;
}

int vc_monitor_main(int argc, char **argv)
{
	struct vc_helper_args args;
	if (vc_helper_args_parse(argc, argv, NULL, &args) < 0)
		return 2;
	struct monitor m = { .root = args.root, .id = args.id, .sync_fd = args.sync_fd,
			     .listen_fd = -1, .sig_fd = -1, .next_id = 1 };
	struct vc_error err = { 0 };
	_cleanup_free_ char *dir = vc_state_dir(m.root, m.id);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	int r;
	if (!dir || chdir(dir) < 0)
		r = vc_error_sys(&err, errno, "chdir `%s`", dir ? dir : m.id);
	else if (vc_state_read(m.root, m.id, &m.st, &err) < 0)
		r = -EIO;
	else {
		/* `create` records our pid too, but maybe after we read the file: the
		 * monitor's own word is the one every later write carries. */
		m.st.monitor_pid = getpid();
		m.st.monitor_start = vc_proc_starttime(getpid());
		r = boot(&m, &err);
	}
	if (r < 0) {
		vc_err("container %s: %s", m.id, err.msg);
		vc_sync_write_error(m.sync_fd, &err);
		if (m.hv_running)
			vc_hv_stop(&m.hv, 2000, NULL);
		return 1;
	}
	vc_debug("container %s: sandbox ready", m.id);
	vc_sync_write_ok(m.sync_fd);
	close(m.sync_fd);
	m.sync_fd = -1;

	serve(&m);

	for (size_t i = 0; i < m.n_conns; i++) {
		vc_chan_close(&m.conns[i]->ch);
		free(m.conns[i]);
	}
	if (m.hv_running)
		vc_hv_stop(&m.hv, 2000, NULL);
	vc_hv_release(&m.hv);
	vc_chan_close(&m.agent);
	vc_chan_close(&m.init.early);
	free(m.pend);
	vc_plan_release(&m.plan);
	vc_state_release(&m.st);
	unlink(VC_MONITOR_SOCK);
	close(m.listen_fd);
	close(m.sig_fd);
	return 0;
}
