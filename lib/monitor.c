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
#include "lib/log.h"
#include "lib/monitor-internal.h"

int mon_save_state(struct monitor *m)
{
	struct vc_error err = {0};
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
		mon_save_state(m);
	}
}

static struct stream *find_stream(struct monitor *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_streams; i++)
		if (m->streams[i]->id == id)
			return m->streams[i];
	return NULL;
}

static struct stream *init_stream(struct monitor *m)
{
	return m->n_streams ? m->streams[0] : NULL;
}

struct stream *mon_stream_add(struct monitor *m, uint32_t id, const char *exec_id)
{
	struct stream **n = realloc(m->streams, (m->n_streams + 1) * sizeof(*n));
	if (!n)
		return NULL;
	m->streams = n;
	struct stream *s = calloc(1, sizeof(*s));
	if (!s || (exec_id && !(s->exec_id = strdup(exec_id)))) {
		free(s);
		return NULL;
	}
	s->id = id;
	vc_chan_init(&s->early, -1);
	m->streams[m->n_streams++] = s;
	return s;
}

/* The VM is gone or going: every process with it. */
static void all_exited(struct monitor *m)
{
	/* Exec'd processes first: init's exit is what marks the container stopped. */
	for (size_t i = m->n_streams; i-- > 0;)
		stream_exited(m, m->streams[i], 137, SIGKILL);
}

/* Params naming one process of the container (init has no exec_id). */
static struct vc_json *params_for_process(struct monitor *m, const struct stream *s)
{
	struct vc_json *p = mon_params_for_container(m);
	if (p && s && s->exec_id &&
	    vc_json_object_set(p, "exec_id", vc_json_new_string(s->exec_id)) < 0) {
		vc_json_free(p);
		return NULL;
	}
	return p;
}

struct vc_json *mon_params_for_container(struct monitor *m)
{
	struct vc_json *p = vc_json_new_object();
	if (p && vc_json_object_set(p, "container_id", vc_json_new_string(m->id)) < 0) {
		vc_json_free(p);
		return NULL;
	}
	return p;
}

int mon_agent_send(struct monitor *m, const char *method, struct vc_json *params,
		   enum pend_kind kind, struct conn *conn, uint32_t conn_req, uint32_t stream)
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
	m->pend[m->n_pend++] = (struct pending){id, kind, conn, conn_req, stream};
	return 0;
}

static void finish_destroy(struct monitor *m)
{
	struct vc_error err = {0};
	if (m->hv_running) {
		if (vc_hv_stop(&m->hv, 5000, &err) < 0)
			vc_warn("stop VM: %s", err.msg);
		m->hv_running = false;
	}
	all_exited(m);
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
	m->destroyer = (struct waiter){c, req};
	m->destroy_deadline = vc_now_ns() + DESTROY_TIMEOUT_MS * 1000000ULL;
	if (mon_agent_send(m, VC_M_REMOVE_CONTAINER, mon_params_for_container(m), PEND_REMOVE, NULL,
			   0, 0) < 0)
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
		struct vc_error err = {0};
		vc_hv_stop(&m->hv, 2000, &err);
		m->hv_running = false;
	}
	all_exited(m);
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
	struct vc_error rerr = {0};
	int r = vc_proto_response_decode(f->body, f->len, &result, &rerr);
	switch (p.kind) {
	case PEND_STATUS:
		if (r == 0 && !init_stream(m)->exited) {
			m->st.status = (enum vc_status)p.stream;
			mon_save_state(m);
		}
		__attribute__((fallthrough)); /* the caller gets the agent's answer */
	case PEND_FORWARD:
		if (p.conn)
			vc_chan_queue(&p.conn->ch, VC_FRAME_RESPONSE, 0, p.conn_req, f->body,
				      f->len);
		break;
	case PEND_WAIT: {
		int64_t code = 137, sig = 0;
		if (r == 0) {
			vc_json_to_i64(vc_json_get(result, "exit_code"), &code);
			vc_json_to_i64(vc_json_get(result, "signal"), &sig);
		} else {
			vc_warn("WaitProcess: %s", rerr.msg);
		}
		struct stream *s = find_stream(m, p.stream);
		if (s)
			stream_exited(m, s, (int)code, (int)sig);
		break;
	}
	case PEND_EXEC: {
		struct stream *s = find_stream(m, p.stream);
		if (r < 0) {
			/* Never started: nothing will ever be written to or waited on it. */
			if (s)
				stream_exited(m, s, 255, 0);
			if (p.conn)
				vc_chan_queue(&p.conn->ch, VC_FRAME_RESPONSE, 0, p.conn_req,
					      f->body, f->len);
			break;
		}
		if (!s || mon_agent_send(m, VC_M_WAIT_PROCESS, params_for_process(m, s), PEND_WAIT,
					 NULL, 0, s->id) < 0) {
			if (p.conn)
				vc_chan_respond_error(&p.conn->ch, p.conn_req, EPIPE,
						      "the guest agent is gone");
			break;
		}
		if (p.conn) {
			_cleanup_json_ struct vc_json *o = vc_json_new_object();
			if (o && vc_json_object_set(o, "stream_id", vc_json_new_uint(s->id)) == 0)
				vc_chan_respond(&p.conn->ch, p.conn_req, o);
		}
		break;
	}
	case PEND_REMOVE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (mon_agent_send(m, VC_M_DESTROY_SANDBOX, vc_json_new_object(), PEND_DESTROY,
				   NULL, 0, 0) < 0)
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
		struct vc_error err = {0};
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
		else if (f.type == VC_FRAME_DNS && m->dns_fd >= 0)
			/* A lost datagram is what UDP promises anyway: the client retries. */
			send(m->dns_fd, f.body, f.len, MSG_DONTWAIT);
	}
	if (m->agent.eof && !m->done)
		vm_gone(m, "the guest agent closed its channel");
}

static void req_attach_or_wait(struct monitor *m, struct conn *c, uint32_t req, const char *method,
			       const struct vc_json *params)
{
	struct vc_error err = {0};
	uint32_t sid = 0;
	struct stream *s = NULL;
	if (vc_proto_get_u32(params, method, "stream_id", true, &sid, &err) < 0 ||
	    !(s = find_stream(m, sid))) {
		vc_chan_respond_error(&c->ch, req, ENOENT,
				      err.msg[0] ? err.msg : "no such process stream");
		return;
	}
	if (!strcmp(method, "wait")) {
		if (s->exited)
			respond_exit(c, req, s);
		else if (s->n_waiters < MAX_WAITERS)
			s->waiters[s->n_waiters++] = (struct waiter){c, req};
		else
			vc_chan_respond_error(&c->ch, req, EBUSY, "too many waiters");
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
		mon_save_state(m);
	}
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	vc_chan_respond(&c->ch, req, o);
}

/* kill {signal, all}: the container (its init, or all of it); signal {stream_id,
 * signal}: the process of a stand-in that caught a signal. */
static void req_signal(struct monitor *m, struct conn *c, uint32_t req, const char *method,
		       const struct vc_json *params)
{
	struct vc_error err = {0};
	uint32_t sig = 0, sid = INIT_STREAM;
	if (vc_proto_get_u32(params, method, "signal", true, &sig, &err) < 0 ||
	    vc_proto_get_u32(params, method, "stream_id", false, &sid, &err) < 0) {
		vc_chan_respond_error(&c->ch, req, EINVAL, err.msg);
		return;
	}
	struct stream *s = find_stream(m, sid);
	if (!s || s->exited || init_stream(m)->exited || m->destroying) {
		vc_chan_respond_error(&c->ch, req, ESRCH, "container not running");
		return;
	}
	struct vc_json *p = params_for_process(m, s);
	const struct vc_json *all = vc_json_get(params, "all");
	if (p && (vc_json_object_set(p, "signal", vc_json_new_uint(sig)) < 0 ||
		  vc_json_object_set(p, "all",
				     vc_json_new_bool(all && all->type == VC_JSON_BOOL &&
						      all->u.boolean)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, c, req, 0) < 0)
		vc_chan_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* resize {stream_id, rows, cols}: a stand-in's terminal changed size. */
static void req_resize(struct monitor *m, struct conn *c, uint32_t req,
		       const struct vc_json *params)
{
	struct vc_error err = {0};
	uint32_t sid = 0, rows = 0, cols = 0;
	struct stream *s = NULL;
	if (vc_proto_get_u32(params, "resize", "stream_id", true, &sid, &err) < 0 ||
	    vc_proto_get_u32(params, "resize", "rows", true, &rows, &err) < 0 ||
	    vc_proto_get_u32(params, "resize", "cols", true, &cols, &err) < 0 ||
	    !(s = find_stream(m, sid))) {
		vc_chan_respond_error(&c->ch, req, EINVAL, err.msg[0] ? err.msg : "no such stream");
		return;
	}
	struct vc_json *p = params_for_process(m, s);
	if (p && (vc_json_object_set(p, "rows", vc_json_new_uint(rows)) < 0 ||
		  vc_json_object_set(p, "cols", vc_json_new_uint(cols)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, VC_M_TTY_WIN_RESIZE, p, PEND_FORWARD, c, req, 0) < 0)
		vc_chan_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* exec {process}: a new process in the running container. The answer carries the
 * stream its stand-in attaches to; output that comes first waits in the stream. */
static void req_exec(struct monitor *m, struct conn *c, uint32_t req, const struct vc_json *params)
{
	struct vc_error err = {0};
	const struct vc_json *process = NULL;
	if (vc_proto_get_object(params, "exec", "process", true, &process, &err) < 0) {
		vc_chan_respond_error(&c->ch, req, EINVAL, err.msg);
		return;
	}
	if ((m->st.status != VC_STATUS_RUNNING && m->st.status != VC_STATUS_CREATED) ||
	    m->destroying) {
		vc_chan_respond_error(&c->ch, req, EINVAL,
				      m->st.status == VC_STATUS_STOPPED || m->destroying
					      ? "cannot exec in a stopped container"
					      : "cannot exec in a container that is not running");
		return;
	}
	uint32_t sid = m->next_stream++;
	char exec_id[32];
	snprintf(exec_id, sizeof(exec_id), "exec-%u", sid);
	struct stream *s = mon_stream_add(m, sid, exec_id);
	struct vc_json *p = s ? params_for_process(m, s) : NULL;
	if (p && (vc_json_object_set(p, "stream_id", vc_json_new_uint(sid)) < 0 ||
		  vc_json_object_set(p, "process", vc_json_clone(process)) < 0 ||
		  vc_json_object_set(p, "stdin", vc_json_new_bool(true)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, VC_M_EXEC_PROCESS, p, PEND_EXEC, c, req, sid) < 0)
		vc_chan_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* Requests that go to the agent as they are, allowed in some states and moving the
 * container to another on success. */
static const struct forward {
	const char *method, *agent_method;
	unsigned allowed; /* bit per enum vc_status */
	int new_status;	  /* -1: unchanged */
	const char *refusal;
} forwards[] = {
	{"start", VC_M_START_CONTAINER, 1u << VC_STATUS_CREATED, VC_STATUS_RUNNING,
	 "cannot start a container that is not in the created state"},
	{"pause", VC_M_PAUSE_CONTAINER, 1u << VC_STATUS_RUNNING, VC_STATUS_PAUSED,
	 "container not running"},
	{"resume", VC_M_RESUME_CONTAINER, 1u << VC_STATUS_PAUSED, VC_STATUS_RUNNING,
	 "container not paused"},
	/* runc lists a stopped container's processes too: there are none left */
	{"ps", VC_M_LIST_PROCESSES,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED) |
		 (1u << VC_STATUS_STOPPED),
	 -1, "container not running"},
	{"stats", VC_M_STATS_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
	{"update", VC_M_UPDATE_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
};

/* Returns false when method is not one of forwards[]. */
static bool forward_request(struct monitor *m, struct conn *c, uint32_t req, const char *method,
			    const struct vc_json *params)
{
	const struct forward *fw = NULL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(forwards) && !fw; i++)
		if (!strcmp(forwards[i].method, method))
			fw = &forwards[i];
	if (!fw)
		return false;
	enum vc_status st = init_stream(m)->exited ? VC_STATUS_STOPPED : m->st.status;
	if (!(fw->allowed & (1u << st)) || m->destroying) {
		const char *why = fw->refusal;
		if (!strcmp(method, "start"))
			why = st == VC_STATUS_STOPPED ? "cannot start a container that has stopped"
						      : "cannot start an already running container";
		vc_chan_respond_error(&c->ch, req, EINVAL, why);
		return true;
	}
	struct vc_json *p = mon_params_for_container(m);
	/* the parameters a forwarded request may carry on to the agent */
	static const char *const passed[] = {"resources", "details", "environ"};
	for (size_t i = 0; p && i < VC_ARRAY_SIZE(passed); i++) {
		const struct vc_json *v = vc_json_get(params, passed[i]);
		if (v && vc_json_object_set(p, passed[i], vc_json_clone(v)) < 0) {
			vc_json_free(p);
			p = NULL;
		}
	}
	if (mon_agent_send(m, fw->agent_method, p, fw->new_status < 0 ? PEND_FORWARD : PEND_STATUS,
			   c, req, fw->new_status < 0 ? 0 : (uint32_t)fw->new_status) < 0)
		vc_chan_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
	return true;
}

static void handle_request(struct monitor *m, struct conn *c, const struct vc_frame *f)
{
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	struct vc_error err = {0};
	if (vc_proto_request_decode(f->body, f->len, &method, &params, &err) < 0) {
		vc_chan_respond_error(&c->ch, f->id, EINVAL, err.msg);
		return;
	}
	if (!strcmp(method, "attach") || !strcmp(method, "wait")) {
		req_attach_or_wait(m, c, f->id, method, params);
	} else if (forward_request(m, c, f->id, method, params)) {
		/* done */
	} else if (!strcmp(method, "kill") || !strcmp(method, "signal")) {
		req_signal(m, c, f->id, method, params);
	} else if (!strcmp(method, "resize")) {
		req_resize(m, c, f->id, params);
	} else if (!strcmp(method, "exec")) {
		req_exec(m, c, f->id, params);
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
		struct vc_error err = {0};
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
			struct vc_json *p = params_for_process(m, s);
			if (p && vc_json_object_set(p, "signal", vc_json_new_int(SIGKILL)) < 0) {
				vc_json_free(p);
				p = NULL;
			}
			mon_agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, NULL, 0, 0);
		}
	}
	for (size_t k = 0; k < m->n_streams; k++) {
		struct stream *w = m->streams[k];
		for (size_t i = 0; i < w->n_waiters; i++)
			if (w->waiters[i].conn == c)
				w->waiters[i--] = w->waiters[--w->n_waiters];
	}
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

/* Answers of the resolver in the container's namespace, for the agent's relay. */
static void dns_from_namespace(struct monitor *m)
{
	uint8_t buf[4096];
	ssize_t n;
	while ((n = recv(m->dns_fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		if (vc_chan_queue(&m->agent, VC_FRAME_DNS, 0, VC_DNS_FRAME_ID, buf, (size_t)n) < 0)
			break;
}

/* An interface the engine added to the namespace after the VM started: the VM
 * has no NIC for it, and says so once. */
static void late_interface(void *ctx, int ifindex, const char *name)
{
	struct monitor *m = ctx;
	for (size_t i = 0; i < m->n_net_known; i++)
		if (m->net_known[i] == ifindex)
			return;
	int *n = realloc(m->net_known, (m->n_net_known + 1) * sizeof(*n));
	if (n) {
		m->net_known = n;
		m->net_known[m->n_net_known++] = ifindex;
	}
	vc_warn("container %s: interface %s was added to its network namespace after the VM "
		"started; vcrun cannot hot-plug a NIC yet, so the container does not see it "
		"(create the container again to use it)",
		m->id, name);
}

/* signal, listen, agent, DNS relay, link watch; then the connections */
#define FIXED_FDS 5

int mon_serve(struct monitor *m)
{
	while (!m->done) {
		struct pollfd pfd[FIXED_FDS + MAX_CONNS];
		size_t n = 0;
		pfd[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){
			.fd = m->agent.eof ? -1 : m->agent.fd,
			.events = POLLIN | (vc_chan_pending(&m->agent) ? POLLOUT : 0),
		};
		bool backlog = vc_chan_pending(&m->agent) > AGENT_BACKLOG_MAX;
		pfd[n++] = (struct pollfd){.fd = backlog ? -1 : m->dns_fd, .events = POLLIN};
		pfd[n++] =
			(struct pollfd){.fd = m->net_watch ? vc_netns_watch_fd(m->net_watch) : -1,
					.events = POLLIN};
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
		if (pfd[3].revents & POLLIN)
			dns_from_namespace(m);
		if (pfd[4].revents & POLLIN)
			vc_netns_watch_read(m->net_watch, late_interface, m);
		if (vc_chan_flush(&m->agent) < 0 && !m->done)
			vm_gone(m, "write to the guest agent failed");
		/* conns[] may have grown in accept_conn: only the polled ones have revents. */
		for (size_t i = 0; i + FIXED_FDS < n && i < m->n_conns; i++)
			if (pfd[i + FIXED_FDS].revents & (POLLIN | POLLHUP | POLLERR))
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

void mon_release(struct monitor *m)
{
	for (size_t i = 0; i < m->n_conns; i++) {
		vc_chan_close(&m->conns[i]->ch);
		free(m->conns[i]);
	}
	m->n_conns = 0;
	if (m->hv_running)
		vc_hv_stop(&m->hv, 2000, NULL);
	m->hv_running = false;
	vc_hv_release(&m->hv);
	vc_chan_close(&m->agent);
	for (size_t i = 0; i < m->n_streams; i++) {
		vc_chan_close(&m->streams[i]->early);
		free(m->streams[i]->exec_id);
		free(m->streams[i]);
	}
	free(m->streams);
	free(m->pend);
	vc_plan_release(&m->plan);
	vc_state_release(&m->st);
	if (m->listen_fd >= 0) {
		unlink(VC_MONITOR_SOCK);
		close(m->listen_fd);
	}
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	if (m->dns_fd >= 0)
		close(m->dns_fd);
	vc_netns_watch_close(m->net_watch);
	free(m->net_known);
}
