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

#include "agent-proto/agent-msg.h"
#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"
#include "lib/vcrun.h"

void mon_respond_error(struct vc_chan *ch, uint32_t id, int code, const char *fmt, ...)
{
	char msg[VC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vc_chan_respond_error(ch, id, code, msg);
}

int mon_save_state(struct monitor *m, struct mctr *c, struct vc_error *err)
{
	struct vc_error werr = {0};
	int r = vc_state_write(m->root, &c->st, err ? err : &werr);
	/* Said once, not at every retry. */
	if (r < 0 && !c->state_dirty)
		vc_err("container %s: %s", c->st.id, (err ? err : &werr)->msg);
	c->state_dirty = r < 0;
	return r;
}

/* Queues an encoded answer; one that could not be encoded (out of memory) is
 * dropped, as vc_chan_respond drops it. */
static void respond_body(struct vc_chan *ch, uint32_t req, int r, char *body, size_t len)
{
	if (r == 0)
		vc_chan_queue(ch, VC_FRAME_RESPONSE, 0, req, body, len);
	free(body);
}

void mon_respond_stream(struct vc_chan *ch, uint32_t req, uint32_t stream_id)
{
	char *body = NULL;
	size_t len = 0;
	int r = vc_mon_stream_encode(&(struct vc_mon_stream){stream_id}, &body, &len, NULL);
	respond_body(ch, req, r, body, len);
}

void mon_respond_exit(struct conn *c, uint32_t req, const struct stream *s)
{
	if (!c)
		return;
	char *body = NULL;
	size_t len = 0;
	int r = vc_mon_exit_encode(&(struct vc_mon_exit){s->exit_code, s->exit_signal}, &body, &len,
				   NULL);
	respond_body(&c->ch, req, r, body, len);
}

void mon_start_destroy(struct monitor *m, struct mctr *ctr, struct conn *c, uint32_t req);

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
		mon_respond_exit(s->waiters[i].conn, s->waiters[i].req, s);
	s->n_waiters = 0;
	if (c && c->init == s) {
		c->st.status = VC_STATUS_STOPPED;
		c->st.exit_code = code;
		c->st.exit_signal = sig;
		mon_save_state(m, c, NULL);
		/* The pod's sandbox container was killed: once every member followed, the
		 * VM goes (their state stays, stopped, for their delete). */
		if (m->cascade && !m->destroying && all_inits_exited(m))
			mon_start_destroy(m, NULL, NULL, 0);
	}
}

struct stream *mon_find_stream(struct monitor *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_streams; i++)
		if (m->streams[i]->id == id)
			return m->streams[i];
	return NULL;
}

struct mctr *mon_find_ctr(struct monitor *m, const char *id)
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
void mon_ctr_forget(struct monitor *m, struct mctr *c)
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
	free(c->vcpu_devs);
	free(c->vfio_devs);
	free(c->blk_devs);
	free(c);
}

/* The VM is gone or going: every process with it. */
static void all_exited(struct monitor *m)
{
	/* Exec'd processes first: init's exit is what marks a container stopped. */
	for (size_t i = m->n_streams; i-- > 0;)
		stream_exited(m, m->streams[i], 137, SIGKILL);
}

int mon_agent_send(struct monitor *m, enum vc_agent_req req, const void *params,
		   enum pend_kind kind, struct mctr *ctr, struct conn *conn, uint32_t conn_req,
		   uint32_t stream)
{
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
	struct vc_error err = {0};
	int r = vc_chan_request(&m->agent, id, req, params, &err);
	if (r < 0) {
		vc_warn("%s", err.msg);
		return r;
	}
	/* A guest that never answers must not hang its caller: every request but a
	 * wait (as long as its process) and the destroy (its own deadline) gets the
	 * boot timeout, the time the agent had to answer its first request. */
	unsigned long long deadline = 0;
	if (kind != PEND_WAIT && kind != PEND_REMOVE && kind != PEND_DESTROY)
		deadline = vc_now_ns() + (unsigned long long)m->plan.boot_timeout_ms * 1000000ULL;
	m->pend[m->n_pend++] =
		(struct pending){id, kind, req, deadline, ctr, conn, conn_req, stream};
	return 0;
}

/* {"sandbox": true} when the whole sandbox went, false when only one container. */
static void respond_removed(struct conn *c, uint32_t req, bool sandbox)
{
	if (!c)
		return;
	char *body = NULL;
	size_t len = 0;
	int r = vc_mon_removed_encode(&(struct vc_mon_removed){sandbox}, &body, &len, NULL);
	respond_body(&c->ch, req, r, body, len);
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
void mon_start_destroy(struct monitor *m, struct mctr *ctr, struct conn *c, uint32_t req)
{
	if (m->destroying) {
		if (c)
			mon_respond_error(&c->ch, req, EBUSY, "container is being deleted");
		return;
	}
	m->destroying = true;
	m->destroyer = (struct waiter){c, req};
	m->destroy_deadline = vc_now_ns() + DESTROY_TIMEOUT_MS * 1000000ULL;
	if (!ctr && m->n_ctrs)
		ctr = m->ctrs[0];
	if (!ctr ||
	    mon_agent_send(m, VC_AR_REMOVE_CONTAINER, &(struct vc_areq_container){ctr->st.id},
			   PEND_REMOVE, ctr, NULL, 0, 0) < 0)
		finish_destroy(m);
}

/* The VM or its channel is gone: every process is gone with it. */
static void vm_gone(struct monitor *m, const char *why)
{
	if (m->destroying) {
		finish_destroy(m);
		return;
	}
	/* A killed QEMU's channel closes as it exits: the log says why it ended
	 * (the host's OOM killer) rather than what the monitor saw first. */
	int st;
	if (m->hv_running && mon_qemu_reaped(m, 100, &st))
		why = mon_qemu_end(m, st);
	vc_warn("sandbox %s: %s", m->id, why);
	/* Callers waiting on the agent learn why it will never answer, rather than
	 * see the connection close when the monitor exits. */
	for (size_t i = 0; i < m->n_pend; i++)
		if (m->pend[i].conn)
			mon_respond_error(&m->pend[i].conn->ch, m->pend[i].conn_req, EPIPE,
					  "%s: sandbox %s: %s", vc_agent_req_name(m->pend[i].req),
					  m->id, why);
	m->n_pend = 0;
	if (m->hv_running) {
		struct vc_error err = {0};
		vc_hv_stop(&m->hv, 2000, &err);
		m->hv_running = false;
	}
	all_exited(m);
	m->done = true;
}

/* The answer to add: the container exists in the guest, its init waits for start. */
static void added(struct monitor *m, const struct pending *p, int r, const struct vc_json *result,
		  const struct vc_frame *f)
{
	struct mctr *ctr = p->ctr;
	struct vc_agent_pid pid;
	struct vc_error err = {0};
	if (!ctr)
		return;
	ctr->adding = false;
	if (r == 0 && vc_agent_pid_from_json(VC_M_CREATE_CONTAINER, result, &pid, &err) < 0) {
		vc_warn("container %s: %s", ctr->st.id, err.msg);
		if (p->conn)
			mon_respond_error(&p->conn->ch, p->conn_req, EBADMSG, "%s", err.msg);
		mon_ctr_unplug(m, ctr);
		mon_ctr_forget(m, ctr);
		return;
	}
	if (r < 0) {
		/* The agent's message names what was wrong with the container. */
		if (p->conn)
			vc_chan_queue(&p->conn->ch, VC_FRAME_RESPONSE, 0, p->conn_req, f->body,
				      f->len);
		mon_ctr_unplug(m, ctr);
		mon_ctr_forget(m, ctr);
		return;
	}
	if (mon_agent_send(m, VC_AR_WAIT_PROCESS,
			   &(struct vc_areq_process){.container_id = ctr->st.id}, PEND_WAIT, ctr,
			   NULL, 0, ctr->init->id) < 0) {
		if (p->conn)
			mon_respond_error(&p->conn->ch, p->conn_req, EPIPE,
					  "the guest agent is gone");
		mon_ctr_forget(m, ctr);
		return;
	}
	mon_save_state(m, ctr, NULL);
	if (p->conn)
		mon_respond_stream(&p->conn->ch, p->conn_req, ctr->init->id);
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
			/* The caller must not learn of a status that `state` does not
			 * show: the change happened, but say why it is not recorded. */
			struct vc_error serr = {0};
			if (mon_save_state(m, p.ctr, &serr) < 0) {
				if (p.conn)
					mon_respond_error(&p.conn->ch, p.conn_req, serr.code, "%s",
							  serr.msg);
				break;
			}
		}
		__attribute__((fallthrough)); /* the caller gets the agent's answer */
	case PEND_FORWARD:
		if (p.conn)
			vc_chan_queue(&p.conn->ch, VC_FRAME_RESPONSE, 0, p.conn_req, f->body,
				      f->len);
		break;
	case PEND_WAIT: {
		/* The guest says how a process ended; only a plausible answer is taken,
		 * else the process counts as killed. */
		struct vc_agent_exit e = {.exit_code = 137, .signal = SIGKILL};
		if (r < 0 || vc_agent_exit_from_json(result, &e, &rerr) < 0) {
			vc_warn("%s%s", r < 0 ? "WaitProcess: " : "", rerr.msg);
			e = (struct vc_agent_exit){.exit_code = 137, .signal = SIGKILL};
		}
		struct stream *s = mon_find_stream(m, p.stream);
		if (s)
			stream_exited(m, s, e.exit_code, e.signal);
		break;
	}
	case PEND_EXEC: {
		struct stream *s = mon_find_stream(m, p.stream);
		struct vc_agent_pid pid;
		if (r == 0 && vc_agent_pid_from_json(VC_M_EXEC_PROCESS, result, &pid, &rerr) < 0) {
			/* A process the host cannot trust the answer about is not waited on. */
			vc_warn("sandbox %s: %s", m->id, rerr.msg);
			if (s)
				stream_exited(m, s, 255, 0);
			if (p.conn)
				mon_respond_error(&p.conn->ch, p.conn_req, EBADMSG, "%s", rerr.msg);
			break;
		}
		if (r < 0) {
			/* Never started: nothing will ever be written to or waited on it. */
			if (s)
				stream_exited(m, s, 255, 0);
			if (p.conn)
				vc_chan_queue(&p.conn->ch, VC_FRAME_RESPONSE, 0, p.conn_req,
					      f->body, f->len);
			break;
		}
		if (!s || mon_agent_send(m, VC_AR_WAIT_PROCESS,
					 &(struct vc_areq_process){s->ctr->st.id, s->exec_id},
					 PEND_WAIT, s->ctr, NULL, 0, s->id) < 0) {
			if (p.conn)
				mon_respond_error(&p.conn->ch, p.conn_req, EPIPE,
						  "the guest agent is gone");
			break;
		}
		if (p.conn)
			mon_respond_stream(&p.conn->ch, p.conn_req, s->id);
		break;
	}
	case PEND_ADD:
		added(m, &p, r, result, f);
		break;
	case PEND_REMOVE_ONE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (p.ctr) {
			struct waiter w = p.ctr->remover;
			vc_debug("container %s left sandbox %s", p.ctr->st.id, m->id);
			mon_ctr_unplug(m, p.ctr);
			mon_ctr_forget(m, p.ctr);
			respond_removed(w.conn, w.req, false);
		}
		break;
	case PEND_REMOVE:
		if (r < 0)
			vc_warn("RemoveContainer: %s", rerr.msg);
		if (mon_agent_send(m, VC_AR_DESTROY_SANDBOX, NULL, PEND_DESTROY, NULL, NULL, 0, 0) <
		    0)
			finish_destroy(m);
		break;
	case PEND_DESTROY:
		finish_destroy(m);
		break;
	case PEND_NET: {
		/* Nothing is taken from these answers, but a hostile one is said. */
		union {
			struct vc_agent_iface nic;
			struct vc_agent_cpus cpus;
		} ans;
		if (r == 0 && p.stream == 1 + VC_AA_IFACE)
			r = vc_agent_iface_from_json(result, &ans.nic, &rerr);
		else if (r == 0 && p.stream == 1 + VC_AA_CPUS)
			r = vc_agent_cpus_from_json(result, &ans.cpus, &rerr);
		if (r < 0)
			vc_warn("sandbox %s: hot-plug: %s", m->id, rerr.msg);
		break;
	}
	}
}

/* Answers every request the agent left unanswered past its deadline as if the
 * agent had said ETIMEDOUT; returns the ms until the next deadline, at most
 * timeout. */
static int expire_pending(struct monitor *m, int timeout)
{
	unsigned long long now = vc_now_ns();
	for (size_t i = 0; i < m->n_pend; i++) {
		const struct pending *p = &m->pend[i];
		if (!p->deadline_ns)
			continue;
		if (p->deadline_ns > now) {
			unsigned long long ms = (p->deadline_ns - now) / 1000000ULL + 1;
			if (timeout < 0 || ms < (unsigned long long)timeout)
				timeout = (int)ms;
			continue;
		}
		/* The agent's own error path does the rest (a stream that never started
		 * ends, a joining container is forgotten); an answer that comes later
		 * names an unknown request and is dropped. */
		char *body = NULL;
		size_t len = 0;
		char msg[160];
		snprintf(msg, sizeof(msg), "%s: the guest agent did not answer within %d s",
			 vc_agent_req_name(p->req), m->plan.boot_timeout_ms / 1000);
		vc_warn("sandbox %s: %s", m->id, msg);
		if (vc_proto_response_encode_error(ETIMEDOUT, msg, &body, &len) < 0)
			continue;
		struct vc_frame f = {.len = (uint32_t)len,
				     .id = p->agent_id,
				     .type = VC_FRAME_RESPONSE,
				     .body = (uint8_t *)body};
		handle_agent_response(m, &f);
		free(body);
		i = (size_t)-1; /* handle_agent_response reordered pend[] */
	}
	return timeout;
}

static void route_output(struct monitor *m, const struct vc_frame *f)
{
	struct stream *s = mon_find_stream(m, f->id);
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
			char why[VC_ERROR_MSG_MAX + 48];
			snprintf(why, sizeof(why), "bad frame from the guest agent: %s", err.msg);
			vm_gone(m, why);
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

int mon_signal(struct monitor *m, const struct stream *s, uint32_t sig, bool all, struct conn *conn,
	       uint32_t conn_req)
{
	struct vc_areq_signal_process sp = {s->ctr->st.id, s->exec_id, sig, all};
	return mon_agent_send(m, VC_AR_SIGNAL_PROCESS, &sp, PEND_FORWARD, s->ctr, conn, conn_req,
			      0);
}

static void handle_signals(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* vc_hv_stop reaps QEMU itself while destroying. */
			int st = 0;
			if (m->hv_running && !m->destroying &&
			    waitpid(m->hv.pid, &st, WNOHANG) == m->hv.pid) {
				m->hv_running = false;
				vm_gone(m, mon_qemu_end(m, st));
			}
		} else {
			mon_start_destroy(m, NULL, NULL, 0);
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

/* signal, listen, agent, DNS relay, link watch; then the connections */
#define FIXED_FDS 5

int mon_serve(struct monitor *m)
{
	if (m->spare_fd < 0)
		m->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	m->oom_kills = vc_host_cgroup_oom_kills();
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
			mon_start_destroy(m, NULL, NULL, 0);
			if (m->done)
				break;
		}
		struct pollfd pfd[FIXED_FDS + MAX_CONNS];
		size_t n = 0;
		pfd[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = m->accept_paused ? -1 : m->listen_fd,
					   .events = POLLIN};
		size_t standin_backlog = 0;
		for (size_t i = 0; i < m->n_conns; i++)
			standin_backlog += vc_chan_pending(&m->conns[i]->ch);
		bool stalled = standin_backlog > STANDIN_BACKLOG_MAX;
		/* Then the host, not the agent, is behind (its answers wait unread in
		 * the channel): the agent's time starts again once we read. */
		for (size_t i = 0; stalled && i < m->n_pend; i++)
			if (m->pend[i].deadline_ns)
				m->pend[i].deadline_ns =
					vc_now_ns() +
					(unsigned long long)m->plan.boot_timeout_ms * 1000000ULL;
		pfd[n++] = (struct pollfd){
			.fd = m->agent.eof ? -1 : m->agent.fd,
			.events = (short)((stalled ? 0 : POLLIN) |
					  (vc_chan_pending(&m->agent) ? POLLOUT : 0)),
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
		for (size_t i = 0; i < m->n_ctrs; i++)
			if (m->ctrs[i]->state_dirty)
				mon_save_state(m, m->ctrs[i], NULL);
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
		timeout = mon_net_timeout_ms(m, timeout);
		timeout = expire_pending(m, timeout);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			handle_signals(m);
		if (pfd[1].revents & POLLIN)
			mon_accept_conn(m);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			handle_agent(m);
		if (pfd[3].revents & POLLIN)
			dns_from_namespace(m);
		if (pfd[4].revents & POLLIN)
			vc_netns_watch_read(m->net_watch, mon_net_event, m);
		mon_net_run(m);
		if (vc_chan_flush(&m->agent) < 0 && !m->done)
			vm_gone(m, "write to the guest agent failed");
		/* conns[] may have grown in mon_accept_conn: only the polled ones have revents. */
		for (size_t i = 0; i + FIXED_FDS < n && i < m->n_conns; i++)
			if (pfd[i + FIXED_FDS].revents & (POLLIN | POLLHUP | POLLERR))
				mon_handle_conn(m, m->conns[i]);
		for (size_t i = 0; i < m->n_conns; i++) {
			struct conn *c = m->conns[i];
			vc_chan_flush(&c->ch);
			if (c->ch.eof) {
				mon_conn_gone(m, c);
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
	vc_host_cgroup_drop(&m->cgroup, m->id, false);
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
		free(m->ctrs[i]->vcpu_devs);
		free(m->ctrs[i]->vfio_devs);
		free(m->ctrs[i]);
	}
	free(m->ctrs);
	m->n_ctrs = 0;
	free(m->pend);
	vc_plan_release(&m->plan);
	free(m->share_dir);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	if (m->spare_fd >= 0)
		close(m->spare_fd);
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
	free(m->late);
	free(m->kept_vcpus);
}
