/* The sandbox monitor: one per VM, started by the `create` that boots the VM as
 * `vcrun __monitor`. It is the parent of QEMU, owns the agent channel, and serves
 * the short-lived CLI calls and the stand-ins of every container of the sandbox on
 * ROOT/OWNER/monitor.sock, multiplexing their requests and stdio streams onto the
 * one agent channel (docs/monitor-protocol.md). Containers join (`add`) and leave
 * (`destroy`) while it runs. It is the only writer of their state.json once
 * `create` has handed over. It runs with its cwd in the owner's state directory so
 * every socket path stays short whatever --root is (sun_path holds 108 bytes). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
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
#include "lib/vcrun.h"

__attribute__((format(printf, 4, 5))) static void respond_error(struct vc_chan *ch, uint32_t id,
								int code, const char *fmt, ...)
{
	char msg[VC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vc_chan_respond_error(ch, id, code, msg);
}

int mon_save_state(struct monitor *m, struct mctr *c)
{
	struct vc_error err = {0};
	int r = vc_state_write(m->root, &c->st, &err);
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

static void start_destroy(struct monitor *m, struct mctr *ctr, struct conn *c, uint32_t req);

static bool all_inits_exited(const struct monitor *m)
{
	for (size_t i = 0; i < m->n_ctrs; i++)
		if (m->ctrs[i]->init && !m->ctrs[i]->init->exited)
			return false;
	return true;
}

static void stream_exited(struct monitor *m, struct stream *s, int code, int sig)
{
	if (s->exited)
		return;
	s->exited = true;
	s->exit_code = code;
	s->exit_signal = sig;
	struct mctr *c = s->ctr;
	vc_debug("container %s: process exited (code %d, signal %d)", c ? c->st.id : "?", code,
		 sig);
	for (size_t i = 0; i < s->n_waiters; i++)
		respond_exit(s->waiters[i].conn, s->waiters[i].req, s);
	s->n_waiters = 0;
	if (c && c->init == s) {
		c->st.status = VC_STATUS_STOPPED;
		c->st.exit_code = code;
		c->st.exit_signal = sig;
		mon_save_state(m, c);
		/* The pod's sandbox container was killed: once every member followed, the
		 * VM goes (their state stays, stopped, for their delete). */
		if (m->cascade && !m->destroying && all_inits_exited(m))
			start_destroy(m, NULL, NULL, 0);
	}
}

static struct stream *find_stream(struct monitor *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_streams; i++)
		if (m->streams[i]->id == id)
			return m->streams[i];
	return NULL;
}

static struct mctr *find_ctr(struct monitor *m, const char *id)
{
	for (size_t i = 0; i < m->n_ctrs; i++)
		if (!strcmp(m->ctrs[i]->st.id, id))
			return m->ctrs[i];
	return NULL;
}

struct stream *mon_stream_add(struct monitor *m, struct mctr *c, uint32_t id, const char *exec_id)
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
	s->ctr = c;
	vc_chan_init(&s->early, -1);
	m->streams[m->n_streams++] = s;
	if (!exec_id)
		c->init = s;
	return s;
}

static void stream_free(struct stream *s)
{
	vc_chan_close(&s->early);
	free(s->exec_id);
	free(s);
}

struct mctr *mon_ctr_add(struct monitor *m, const struct vc_state *st)
{
	struct mctr **n = realloc(m->ctrs, (m->n_ctrs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	m->ctrs = n;
	struct mctr *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	/* A copy through the file format would be one more place to keep in step: the
	 * fields are copied here instead, strings duplicated. */
	c->st = *st;
	c->st.id = strdup(st->id);
	c->st.bundle = strdup(st->bundle ? st->bundle : "");
	c->st.rootfs = strdup(st->rootfs ? st->rootfs : "");
	c->st.created = strdup(st->created ? st->created : "");
	c->st.owner = strdup(st->owner ? st->owner : "");
	c->st.sandbox = strdup(st->sandbox ? st->sandbox : st->id);
	c->st.sandbox_key = strdup(st->sandbox_key ? st->sandbox_key : "");
	c->st.annotations = NULL;
	c->st.n_annotations = 0;
	if (st->n_annotations &&
	    !(c->st.annotations = calloc(st->n_annotations, sizeof(*c->st.annotations))))
		goto fail;
	for (size_t i = 0; i < st->n_annotations; i++) {
		c->st.annotations[i].key = strdup(st->annotations[i].key);
		c->st.annotations[i].value = strdup(st->annotations[i].value);
		c->st.n_annotations++;
		if (!c->st.annotations[i].key || !c->st.annotations[i].value)
			goto fail;
	}
	if (!c->st.id || !c->st.bundle || !c->st.rootfs || !c->st.created || !c->st.owner ||
	    !c->st.sandbox || !c->st.sandbox_key)
		goto fail;
	c->st.monitor_pid = getpid();
	c->st.monitor_start = vc_proc_starttime(getpid());
	m->ctrs[m->n_ctrs++] = c;
	return c;
fail:
	vc_state_release(&c->st);
	free(c);
	return NULL;
}

/* A container leaves the monitor: its streams, pending answers and record. */
static void ctr_forget(struct monitor *m, struct mctr *c)
{
	for (size_t i = 0; i < m->n_streams; i++) {
		if (m->streams[i]->ctr != c)
			continue;
		stream_exited(m, m->streams[i], 137, SIGKILL);
		if (m->streams[i]->conn)
			m->streams[i]->conn->stream = 0;
		stream_free(m->streams[i]);
		m->streams[i--] = m->streams[--m->n_streams];
	}
	for (size_t i = 0; i < m->n_pend; i++)
		if (m->pend[i].ctr == c)
			m->pend[i].ctr = NULL;
	for (size_t i = 0; i < m->n_ctrs; i++)
		if (m->ctrs[i] == c) {
			memmove(&m->ctrs[i], &m->ctrs[i + 1],
				(m->n_ctrs - i - 1) * sizeof(*m->ctrs));
			m->n_ctrs--;
			break;
		}
	vc_state_release(&c->st);
	free(c->netns_pin);
	free(c);
}

/* The VM is gone or going: every process with it. */
static void all_exited(struct monitor *m)
{
	/* Exec'd processes first: init's exit is what marks a container stopped. */
	for (size_t i = m->n_streams; i-- > 0;)
		stream_exited(m, m->streams[i], 137, SIGKILL);
}

/* Params naming one process of its container (init has no exec_id). */
static struct vc_json *params_for_process(const struct stream *s)
{
	struct vc_json *p = mon_params_for_container(s->ctr);
	if (p && s->exec_id &&
	    vc_json_object_set(p, "exec_id", vc_json_new_string(s->exec_id)) < 0) {
		vc_json_free(p);
		return NULL;
	}
	return p;
}

struct vc_json *mon_params_for_container(const struct mctr *c)
{
	struct vc_json *p = vc_json_new_object();
	if (p && vc_json_object_set(p, "container_id", vc_json_new_string(c->st.id)) < 0) {
		vc_json_free(p);
		return NULL;
	}
	return p;
}

int mon_agent_send(struct monitor *m, const char *method, struct vc_json *params,
		   enum pend_kind kind, struct mctr *ctr, struct conn *conn, uint32_t conn_req,
		   uint32_t stream)
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
	m->pend[m->n_pend++] = (struct pending){id, kind, ctr, conn, conn_req, stream};
	return 0;
}

/* {"sandbox": true} when the whole sandbox went, false when only one container. */
static void respond_removed(struct conn *c, uint32_t req, bool sandbox)
{
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	if (c && o && vc_json_object_set(o, "sandbox", vc_json_new_bool(sandbox)) == 0)
		vc_chan_respond(&c->ch, req, o);
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
	respond_removed(m->destroyer.conn, m->destroyer.req, true);
	m->done = true;
}

/* The whole sandbox: its containers, the VM, then the monitor. */
static void start_destroy(struct monitor *m, struct mctr *ctr, struct conn *c, uint32_t req)
{
	if (m->destroying) {
		if (c)
			respond_error(&c->ch, req, EBUSY, "container is being deleted");
		return;
	}
	m->destroying = true;
	m->destroyer = (struct waiter){c, req};
	m->destroy_deadline = vc_now_ns() + DESTROY_TIMEOUT_MS * 1000000ULL;
	if (!ctr && m->n_ctrs)
		ctr = m->ctrs[0];
	if (!ctr || mon_agent_send(m, VC_M_REMOVE_CONTAINER, mon_params_for_container(ctr),
				   PEND_REMOVE, ctr, NULL, 0, 0) < 0)
		finish_destroy(m);
}

/* destroy {container_id}: that container leaves the sandbox; the sandbox goes with
 * its last container, or with the pod's sandbox container. */
static void req_destroy(struct monitor *m, struct conn *c, uint32_t req, struct mctr *ctr)
{
	if (!ctr) {
		respond_error(&c->ch, req, ENOENT, "container does not exist");
		return;
	}
	if (m->destroying || ctr->st.pod_sandbox || m->n_ctrs == 1) {
		start_destroy(m, ctr, c, req);
		return;
	}
	if (ctr->removing || ctr->adding) {
		respond_error(&c->ch, req, EBUSY, "container is being %s",
			      ctr->removing ? "deleted" : "created");
		return;
	}
	ctr->removing = true;
	ctr->remover = (struct waiter){c, req};
	if (mon_agent_send(m, VC_M_REMOVE_CONTAINER, mon_params_for_container(ctr), PEND_REMOVE_ONE,
			   ctr, NULL, 0, 0) < 0)
		respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* The VM or its channel is gone: every process is gone with it. */
static void vm_gone(struct monitor *m, const char *why)
{
	if (m->destroying) {
		finish_destroy(m);
		return;
	}
	vc_warn("sandbox %s: %s", m->id, why);
	if (m->hv_running) {
		struct vc_error err = {0};
		vc_hv_stop(&m->hv, 2000, &err);
		m->hv_running = false;
	}
	all_exited(m);
	m->done = true;
}

/* The answer to add: the container exists in the guest, its init waits for start. */
static void added(struct monitor *m, const struct pending *p, int r, const struct vc_frame *f)
{
	struct mctr *ctr = p->ctr;
	if (!ctr)
		return;
	ctr->adding = false;
	if (r < 0) {
		/* The agent's message names what was wrong with the container. */
		if (p->conn)
			vc_chan_queue(&p->conn->ch, VC_FRAME_RESPONSE, 0, p->conn_req, f->body,
				      f->len);
		ctr_forget(m, ctr);
		return;
	}
	if (mon_agent_send(m, VC_M_WAIT_PROCESS, mon_params_for_container(ctr), PEND_WAIT, ctr,
			   NULL, 0, ctr->init->id) < 0) {
		if (p->conn)
			respond_error(&p->conn->ch, p->conn_req, EPIPE, "the guest agent is gone");
		ctr_forget(m, ctr);
		return;
	}
	mon_save_state(m, ctr);
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	if (p->conn && o &&
	    vc_json_object_set(o, "stream_id", vc_json_new_uint(ctr->init->id)) == 0)
		vc_chan_respond(&p->conn->ch, p->conn_req, o);
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
		if (r == 0 && p.ctr && !p.ctr->init->exited) {
			p.ctr->st.status = (enum vc_status)p.stream;
			mon_save_state(m, p.ctr);
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
		/* The guest says how a process ended; only a plausible answer is taken. */
		if (code < 0 || code > 255 || sig < 0 || sig >= NSIG) {
			code = 137;
			sig = SIGKILL;
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
		if (!s || mon_agent_send(m, VC_M_WAIT_PROCESS, params_for_process(s), PEND_WAIT,
					 s->ctr, NULL, 0, s->id) < 0) {
			if (p.conn)
				respond_error(&p.conn->ch, p.conn_req, EPIPE,
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
	case PEND_ADD:
		added(m, &p, r, f);
		break;
	case PEND_REMOVE_ONE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (p.ctr) {
			struct waiter w = p.ctr->remover;
			vc_debug("container %s left sandbox %s", p.ctr->st.id, m->id);
			ctr_forget(m, p.ctr);
			respond_removed(w.conn, w.req, false);
		}
		break;
	case PEND_REMOVE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (mon_agent_send(m, VC_M_DESTROY_SANDBOX, vc_json_new_object(), PEND_DESTROY,
				   NULL, NULL, 0, 0) < 0)
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
		vc_warn("container %s: dropping output: no stand-in attached",
			s->ctr ? s->ctr->st.id : m->id);
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

/* The stream a request names: stream_id, or the init of container_id. */
static struct stream *named_stream(struct monitor *m, const char *method,
				   const struct vc_json *params, struct mctr *ctr,
				   struct vc_error *err)
{
	uint32_t sid = 0;
	if (vc_proto_get_u32(params, method, "stream_id", false, &sid, err) < 0)
		return NULL;
	if (!sid) {
		if (!ctr || !ctr->init)
			vc_error_set(err, ENOENT, "container does not exist");
		return ctr ? ctr->init : NULL;
	}
	struct stream *s = find_stream(m, sid);
	if (!s)
		vc_error_set(err, ENOENT, "no such process stream");
	return s;
}

static void req_attach_or_wait(struct monitor *m, struct conn *c, uint32_t req, const char *method,
			       const struct vc_json *params, struct mctr *ctr)
{
	struct vc_error err = {0};
	struct stream *s = named_stream(m, method, params, ctr, &err);
	if (!s) {
		respond_error(&c->ch, req, ENOENT, "%s", err.msg);
		return;
	}
	if (!strcmp(method, "wait")) {
		if (s->exited)
			respond_exit(c, req, s);
		else if (s->n_waiters < MAX_WAITERS)
			s->waiters[s->n_waiters++] = (struct waiter){c, req};
		else
			respond_error(&c->ch, req, EBUSY, "too many waiters");
		return;
	}
	s->conn = c;
	c->stream = s->id;
	if (s == s->ctr->init && s->ctr->st.status == VC_STATUS_CREATING) {
		s->ctr->st.standin_pid = c->peer_pid;
		s->ctr->st.status = VC_STATUS_CREATED;
		mon_save_state(m, s->ctr);
	}
	/* The answer names the stream first, so that the stand-in knows the output that
	 * arrived before it did, which follows in order. */
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	if (o && vc_json_object_set(o, "stream_id", vc_json_new_uint(s->id)) == 0)
		vc_chan_respond(&c->ch, req, o);
	if (vc_chan_pending(&s->early))
		vc_chan_queue_raw(&c->ch, s->early.out + s->early.out_off,
				  vc_chan_pending(&s->early));
	s->early.out_off = s->early.out_len = 0;
}

static int signal_params(const struct stream *s, uint32_t sig, bool all, struct vc_json **out)
{
	struct vc_json *p = params_for_process(s);
	if (p && (vc_json_object_set(p, "signal", vc_json_new_uint(sig)) < 0 ||
		  vc_json_object_set(p, "all", vc_json_new_bool(all)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	*out = p;
	return p ? 0 : -ENOMEM;
}

/* kill {container_id, signal, all}: the container (its init, or all of it); signal
 * {stream_id, signal}: the process of a stand-in that caught a signal. Killing the
 * pod's sandbox container (KILL or TERM) kills every member too. */
static void req_signal(struct monitor *m, struct conn *c, uint32_t req, const char *method,
		       const struct vc_json *params, struct mctr *ctr)
{
	struct vc_error err = {0};
	uint32_t sig = 0;
	if (vc_proto_get_u32(params, method, "signal", true, &sig, &err) < 0 || sig >= NSIG) {
		respond_error(&c->ch, req, EINVAL, "%s",
			      err.msg[0] ? err.msg : "signal: out of range");
		return;
	}
	struct stream *s = named_stream(m, method, params, ctr, &err);
	if (!s || s->exited || s->ctr->init->exited || m->destroying) {
		respond_error(&c->ch, req, ESRCH, "container not running");
		return;
	}
	const struct vc_json *a = vc_json_get(params, "all");
	bool all = a && a->type == VC_JSON_BOOL && a->u.boolean;
	struct vc_json *p = NULL;
	signal_params(s, sig, all, &p);
	if (mon_agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, s->ctr, c, req, 0) < 0) {
		respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
		return;
	}
	if (!strcmp(method, "kill") && s->ctr->st.pod_sandbox &&
	    (sig == SIGKILL || sig == SIGTERM)) {
		m->cascade = true;
		for (size_t i = 0; i < m->n_ctrs; i++) {
			struct mctr *o = m->ctrs[i];
			if (o == s->ctr || !o->init || o->init->exited)
				continue;
			vc_debug("container %s: killed with its pod's sandbox %s", o->st.id,
				 s->ctr->st.id);
			if (signal_params(o->init, SIGKILL, true, &p) == 0)
				mon_agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, o, NULL, 0,
					       0);
		}
	}
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
		respond_error(&c->ch, req, EINVAL, "%s", err.msg[0] ? err.msg : "no such stream");
		return;
	}
	struct vc_json *p = params_for_process(s);
	if (p && (vc_json_object_set(p, "rows", vc_json_new_uint(rows)) < 0 ||
		  vc_json_object_set(p, "cols", vc_json_new_uint(cols)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, VC_M_TTY_WIN_RESIZE, p, PEND_FORWARD, s->ctr, c, req, 0) < 0)
		respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* exec {process}: a new process in the running container. The answer carries the
 * stream its stand-in attaches to; output that comes first waits in the stream. */
static void req_exec(struct monitor *m, struct conn *c, uint32_t req, const struct vc_json *params,
		     struct mctr *ctr)
{
	struct vc_error err = {0};
	const struct vc_json *process = NULL;
	if (vc_proto_get_object(params, "exec", "process", true, &process, &err) < 0) {
		respond_error(&c->ch, req, EINVAL, "%s", err.msg);
		return;
	}
	if (!ctr) {
		respond_error(&c->ch, req, ENOENT, "container does not exist");
		return;
	}
	enum vc_status st = ctr->init->exited ? VC_STATUS_STOPPED : ctr->st.status;
	if (st != VC_STATUS_RUNNING || m->destroying || ctr->removing) {
		respond_error(&c->ch, req, EINVAL, "%s",
			      st == VC_STATUS_STOPPED || m->destroying || ctr->removing
				      ? "cannot exec in a stopped container"
				      : "cannot exec in a container that is not running");
		return;
	}
	uint32_t sid = m->next_stream++;
	char exec_id[32];
	snprintf(exec_id, sizeof(exec_id), "exec-%u", sid);
	struct stream *s = mon_stream_add(m, ctr, sid, exec_id);
	struct vc_json *p = s ? params_for_process(s) : NULL;
	if (p && (vc_json_object_set(p, "stream_id", vc_json_new_uint(sid)) < 0 ||
		  vc_json_object_set(p, "process", vc_json_clone(process)) < 0 ||
		  vc_json_object_set(p, "stdin", vc_json_new_bool(true)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, VC_M_EXEC_PROCESS, p, PEND_EXEC, ctr, c, req, sid) < 0)
		respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* add {container_id}: a container joins the sandbox. create wrote its state dir
 * (state.json, plan.json) and bound its rootfs into the share; the guest creates it
 * from the plan's spec. */
static void req_add(struct monitor *m, struct conn *c, uint32_t req, const char *id)
{
	struct vc_error err = {0};
	if (m->destroying) {
		respond_error(&c->ch, req, ESRCH, "sandbox %s is stopping", m->id);
		return;
	}
	if (find_ctr(m, id)) {
		respond_error(&c->ch, req, EEXIST, "container with id exists: %s", id);
		return;
	}
	struct vc_state st;
	struct vc_plan plan;
	_cleanup_free_ char *path = vc_state_path(m->root, id, "plan.json");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (vc_state_read(m->root, id, &st, &err) < 0) {
		respond_error(&c->ch, req, err.code ? err.code : EIO, "%s", err.msg);
		return;
	}
	int r = -ENOMEM;
	if (!path || vc_read_file(path, 64 << 20, &text, &len, &err) < 0 ||
	    vc_plan_from_json(text, len, path, &plan, &err) < 0) {
		respond_error(&c->ch, req, EINVAL, "%s", err.msg[0] ? err.msg : "no plan");
		vc_state_release(&st);
		return;
	}
	st.hv_pid = m->hv.pid;
	struct mctr *ctr = strcmp(st.sandbox, m->id) ? NULL : mon_ctr_add(m, &st);
	vc_state_release(&st);
	if (!ctr) {
		respond_error(&c->ch, req, EINVAL, "container %s is not of sandbox %s", id, m->id);
		vc_plan_release(&plan);
		return;
	}
	if (plan.netns_owned && plan.netns_path)
		ctr->netns_pin = strdup(plan.netns_path);
	ctr->adding = true;
	uint32_t sid = m->next_stream++;
	struct vc_json *p =
		mon_stream_add(m, ctr, sid, NULL) ? mon_params_for_container(ctr) : NULL;
	if (p && (vc_json_object_set(p, "stream_id", vc_json_new_uint(sid)) < 0 ||
		  vc_json_object_set(p, "storages", steal_ptr(plan.storages)) < 0 ||
		  vc_json_object_set(p, "spec", steal_ptr(plan.guest_spec)) < 0 ||
		  vc_json_object_set(p, "stdin", vc_json_new_bool(true)) < 0)) {
		vc_json_free(p);
		p = NULL;
	}
	vc_plan_release(&plan);
	if (p && (r = mon_agent_send(m, VC_M_CREATE_CONTAINER, p, PEND_ADD, ctr, c, req, sid)) == 0)
		return;
	respond_error(&c->ch, req, -r, "add container %s: %s", id,
		      r == -ENOMEM ? "out of memory" : "the guest agent is gone");
	ctr_forget(m, ctr);
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
	{"ps", VC_M_LIST_PROCESSES,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
	{"stats", VC_M_STATS_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
	{"update", VC_M_UPDATE_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
};

/* Returns false when method is not one of forwards[]. */
static bool forward_request(struct monitor *m, struct conn *c, uint32_t req, const char *method,
			    const struct vc_json *params, struct mctr *ctr)
{
	const struct forward *fw = NULL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(forwards) && !fw; i++)
		if (!strcmp(forwards[i].method, method))
			fw = &forwards[i];
	if (!fw)
		return false;
	if (!ctr) {
		respond_error(&c->ch, req, ENOENT, "container does not exist");
		return true;
	}
	enum vc_status st = ctr->init->exited ? VC_STATUS_STOPPED : ctr->st.status;
	if (!(fw->allowed & (1u << st)) || m->destroying || ctr->removing || ctr->adding) {
		const char *why = fw->refusal;
		if (!strcmp(method, "start"))
			why = st == VC_STATUS_STOPPED ? "cannot start a container that has stopped"
						      : "cannot start an already running container";
		respond_error(&c->ch, req, EINVAL, "%s", why);
		return true;
	}
	struct vc_json *p = mon_params_for_container(ctr);
	const struct vc_json *res = vc_json_get(params, "resources");
	if (p && res && vc_json_object_set(p, "resources", vc_json_clone(res)) < 0) {
		vc_json_free(p);
		p = NULL;
	}
	if (mon_agent_send(m, fw->agent_method, p, fw->new_status < 0 ? PEND_FORWARD : PEND_STATUS,
			   ctr, c, req, fw->new_status < 0 ? 0 : (uint32_t)fw->new_status) < 0)
		respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
	return true;
}

static void handle_request(struct monitor *m, struct conn *c, const struct vc_frame *f)
{
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	struct vc_error err = {0};
	if (vc_proto_request_decode(f->body, f->len, &method, &params, &err) < 0) {
		respond_error(&c->ch, f->id, EINVAL, "%s", err.msg);
		return;
	}
	/* The container a request is about; the owner when it names none. */
	const struct vc_json *cid = vc_json_get(params, "container_id");
	if (cid && (!vc_json_str(cid) || vc_id_validate(vc_json_str(cid), NULL) < 0)) {
		respond_error(&c->ch, f->id, EINVAL, "%s: params.container_id: not an id", method);
		return;
	}
	const char *id = cid ? vc_json_str(cid) : m->id;
	struct mctr *ctr = find_ctr(m, id);
	if (!strcmp(method, "attach") || !strcmp(method, "wait")) {
		req_attach_or_wait(m, c, f->id, method, params, ctr);
	} else if (forward_request(m, c, f->id, method, params, ctr)) {
		/* done */
	} else if (!strcmp(method, "kill") || !strcmp(method, "signal")) {
		req_signal(m, c, f->id, method, params, ctr);
	} else if (!strcmp(method, "resize")) {
		req_resize(m, c, f->id, params);
	} else if (!strcmp(method, "exec")) {
		req_exec(m, c, f->id, params, ctr);
	} else if (!strcmp(method, "add")) {
		req_add(m, c, f->id, id);
	} else if (!strcmp(method, "destroy")) {
		req_destroy(m, c, f->id, ctr);
	} else {
		respond_error(&c->ch, f->id, ENOSYS, "unknown monitor request");
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
		else if (f.type == VC_FRAME_STDIN && c->stream && c->stream == f.id &&
			 !m->agent.eof)
			vc_chan_queue(&m->agent, f.type, f.flags, f.id, f.body, f.len);
	}
}

static void conn_gone(struct monitor *m, struct conn *c)
{
	struct stream *s = c->stream ? find_stream(m, c->stream) : NULL;
	if (s && s->conn == c) {
		s->conn = NULL;
		/* A stand-in that dies (SIGKILL) takes its guest process with it. */
		if (!s->exited && !m->destroying) {
			struct vc_json *p = NULL;
			signal_params(s, SIGKILL, false, &p);
			mon_agent_send(m, VC_M_SIGNAL_PROCESS, p, PEND_FORWARD, s->ctr, NULL, 0, 0);
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
	for (size_t i = 0; i < m->n_ctrs; i++)
		if (m->ctrs[i]->remover.conn == c)
			m->ctrs[i]->remover.conn = NULL;
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
			start_destroy(m, NULL, NULL, 0);
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
	vc_warn("sandbox %s: interface %s was added to its network namespace after the VM "
		"started; vcrun cannot hot-plug a NIC yet, so the container does not see it "
		"(create the container again to use it)",
		m->id, name);
}

/* signal, listen, agent, DNS relay, link watch; then the connections */
#define FIXED_FDS 5

int mon_serve(struct monitor *m)
{
	while (!m->done) {
		/* Now and then: is our state dir still there? A caller that removed --root
		 * left nobody to delete us. (Before the poll set is made: the requests
		 * this queues must be flushed.) */
		struct stat dst;
		if (!m->destroying && m->dir_fd >= 0 && fstat(m->dir_fd, &dst) == 0 &&
		    dst.st_nlink == 0) {
			vc_warn("sandbox %s: its state directory was removed: stopping its VM",
				m->id);
			m->orphaned = true;
			start_destroy(m, NULL, NULL, 0);
			if (m->done)
				break;
		}
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
		int timeout = ORPHAN_CHECK_MS;
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
	for (size_t i = 0; i < m->n_streams; i++)
		stream_free(m->streams[i]);
	free(m->streams);
	m->n_streams = 0;
	for (size_t i = 0; i < m->n_ctrs; i++) {
		vc_state_release(&m->ctrs[i]->st);
		free(m->ctrs[i]->netns_pin);
		free(m->ctrs[i]);
	}
	free(m->ctrs);
	m->n_ctrs = 0;
	free(m->pend);
	vc_plan_release(&m->plan);
	free(m->share_dir);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
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
