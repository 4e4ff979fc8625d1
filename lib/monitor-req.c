/* The monitor's requests (docs/monitor-protocol.md): what the CLI calls and the
 * stand-ins ask of the sandbox, checked against the container's state and turned
 * into agent requests. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"
#include "lib/vcrun.h"

/* destroy {container_id}: that container leaves the sandbox; the sandbox goes with
 * its last container, or with the pod's sandbox container. */
static void req_destroy(struct monitor *m, struct conn *c, uint32_t req, struct mctr *ctr)
{
	if (!ctr) {
		mon_respond_error(&c->ch, req, ENOENT, "container does not exist");
		return;
	}
	if (m->destroying || ctr->st.pod_sandbox || m->n_ctrs == 1) {
		mon_start_destroy(m, ctr, c, req);
		return;
	}
	if (ctr->removing || ctr->adding) {
		mon_respond_error(&c->ch, req, EBUSY, "container is being %s",
				  ctr->removing ? "deleted" : "created");
		return;
	}
	ctr->removing = true;
	ctr->remover = (struct waiter){c, req};
	if (mon_agent_send(m, VC_AR_REMOVE_CONTAINER, &(struct vc_areq_container){ctr->st.id},
			   PEND_REMOVE_ONE, ctr, NULL, 0, 0) < 0)
		mon_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* kill_standin {}: the stand-in on this connection is PID 1 of its own pid
 * namespace and must die of SIGKILL as its process did; only an ancestor namespace
 * can give it that. The pidfd names the very process that connected, so a pid
 * reused since cannot be hit; success has no answer (the peer is gone). */
static void req_kill_standin(struct conn *c, uint32_t req)
{
	if (!c->stream) {
		mon_respond_error(&c->ch, req, EPERM, "only an attached stand-in may ask");
		return;
	}
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	if (getsockopt(c->ch.fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
		mon_respond_error(&c->ch, req, errno, "SO_PEERPIDFD: %s", strerror(errno));
		return;
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		mon_respond_error(&c->ch, req, errno, "kill the stand-in: %s", strerror(errno));
	close(pidfd);
}

/* The stream a request names: stream_id, or the init of container_id. */
static struct stream *named_stream(struct monitor *m, uint32_t sid, struct mctr *ctr,
				   struct vc_error *err)
{
	if (!sid) {
		if (!ctr || !ctr->init)
			vc_error_set(err, ENOENT, "container does not exist");
		return ctr ? ctr->init : NULL;
	}
	struct stream *s = mon_find_stream(m, sid);
	if (!s)
		vc_error_set(err, ENOENT, "no such process stream");
	return s;
}

static void req_attach_or_wait(struct monitor *m, struct conn *c, uint32_t req,
			       const struct vc_mon_request *rq, struct mctr *ctr)
{
	struct vc_error err = {0};
	struct stream *s = named_stream(m, rq->stream_id, ctr, &err);
	if (!s) {
		mon_respond_error(&c->ch, req, ENOENT, "%s", err.msg);
		return;
	}
	if (rq->method == VC_MON_WAIT) {
		if (s->exited)
			mon_respond_exit(c, req, s);
		else if (s->n_waiters < MAX_WAITERS)
			s->waiters[s->n_waiters++] = (struct waiter){c, req};
		else
			mon_respond_error(&c->ch, req, EBUSY, "too many waiters");
		return;
	}
	s->conn = c;
	c->stream = s->id;
	if (s == s->ctr->init && s->ctr->st.status == VC_STATUS_CREATING) {
		s->ctr->st.standin_pid = c->peer_pid;
		s->ctr->st.status = VC_STATUS_CREATED;
		mon_save_state(m, s->ctr, NULL);
	}
	/* The answer names the stream first, so that the stand-in knows the output that
	 * arrived before it did, which follows in order. */
	mon_respond_stream(&c->ch, req, s->id);
	if (vc_chan_pending(&s->early))
		vc_chan_queue_raw(&c->ch, s->early.out + s->early.out_off,
				  vc_chan_pending(&s->early));
	s->early.out_off = s->early.out_len = 0;
}

/* kill {container_id, signal, all}: the container (its init, or all of it); signal
 * {stream_id, signal}: the process of a stand-in that caught a signal. Killing the
 * pod's sandbox container (KILL or TERM) kills every member too. */
static void req_signal(struct monitor *m, struct conn *c, uint32_t req,
		       const struct vc_mon_request *rq, struct mctr *ctr)
{
	struct vc_error err = {0};
	uint32_t sig = rq->signal;
	struct stream *s = named_stream(m, rq->stream_id, ctr, &err);
	if (!s || s->exited || s->ctr->init->exited || m->destroying) {
		mon_respond_error(&c->ch, req, ESRCH, "container not running");
		return;
	}
	if (mon_signal(m, s, sig, rq->all, c, req) < 0) {
		mon_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
		return;
	}
	if (rq->method == VC_MON_KILL && s->ctr->st.pod_sandbox &&
	    (sig == SIGKILL || sig == SIGTERM)) {
		m->cascade = true;
		for (size_t i = 0; i < m->n_ctrs; i++) {
			struct mctr *o = m->ctrs[i];
			if (o == s->ctr || !o->init || o->init->exited)
				continue;
			vc_debug("container %s: killed with its pod's sandbox %s", o->st.id,
				 s->ctr->st.id);
			mon_signal(m, o->init, SIGKILL, true, NULL, 0);
		}
	}
}

/* resize {stream_id, rows, cols}: a stand-in's terminal changed size. */
static void req_resize(struct monitor *m, struct conn *c, uint32_t req,
		       const struct vc_mon_request *rq)
{
	struct stream *s = mon_find_stream(m, rq->stream_id);
	if (!s) {
		mon_respond_error(&c->ch, req, EINVAL, "no such stream");
		return;
	}
	struct vc_areq_tty_win_resize rs = {s->ctr->st.id, s->exec_id, rq->rows, rq->cols};
	if (mon_agent_send(m, VC_AR_TTY_WIN_RESIZE, &rs, PEND_FORWARD, s->ctr, c, req, 0) < 0)
		mon_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* exec {process}: a new process in the running container. The answer carries the
 * stream its stand-in attaches to; output that comes first waits in the stream. */
static void req_exec(struct monitor *m, struct conn *c, uint32_t req, struct vc_mon_request *rq,
		     struct mctr *ctr)
{
	if (!ctr) {
		mon_respond_error(&c->ch, req, ENOENT, "container does not exist");
		return;
	}
	/* created too, as runc allows: the init's namespaces exist from create on */
	enum vc_status st = ctr->init->exited ? VC_STATUS_STOPPED : ctr->st.status;
	if ((st != VC_STATUS_RUNNING && st != VC_STATUS_CREATED) || m->destroying ||
	    ctr->removing) {
		mon_respond_error(&c->ch, req, EINVAL, "%s",
				  st == VC_STATUS_STOPPED || m->destroying || ctr->removing
					  ? "cannot exec in a stopped container"
					  : "cannot exec in a container that is not running");
		return;
	}
	uint32_t sid = m->next_stream++;
	char exec_id[32];
	snprintf(exec_id, sizeof(exec_id), "exec-%u", sid);
	struct stream *s = mon_stream_add(m, ctr, sid, exec_id);
	struct vc_areq_exec_process ex = {ctr->st.id, exec_id, sid, true, rq->process};
	if (!s)
		mon_respond_error(&c->ch, req, ENOMEM, "out of memory");
	else if (mon_agent_send(m, VC_AR_EXEC_PROCESS, &ex, PEND_EXEC, ctr, c, req, sid) < 0)
		mon_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
}

/* add {container_id}: a container joins the sandbox. create wrote its state dir
 * (state.json, plan.json) and bound its rootfs into the share; the guest creates it
 * from the plan's spec. */
static void req_add(struct monitor *m, struct conn *c, uint32_t req, const char *id)
{
	struct vc_error err = {0};
	if (m->destroying) {
		mon_respond_error(&c->ch, req, ESRCH, "sandbox %s is stopping", m->id);
		return;
	}
	if (mon_find_ctr(m, id)) {
		mon_respond_error(&c->ch, req, EEXIST, "container with id exists: %s", id);
		return;
	}
	struct vc_state st;
	struct vc_plan plan;
	if (vc_state_read(m->root, id, &st, &err) < 0) {
		mon_respond_error(&c->ch, req, err.code ? err.code : EIO, "%s", err.msg);
		return;
	}
	int r = -ENOMEM;
	if (vc_plan_load(m->root, id, &plan, &err) < 0) {
		mon_respond_error(&c->ch, req, EINVAL, "%s", err.msg[0] ? err.msg : "no plan");
		vc_state_release(&st);
		return;
	}
	st.hv_pid = m->hv.pid;
	struct mctr *ctr = strcmp(st.sandbox, m->id) ? NULL : mon_ctr_add(m, &st);
	vc_state_release(&st);
	if (!ctr) {
		mon_respond_error(&c->ch, req, EINVAL, "container %s is not of sandbox %s", id,
				  m->id);
		vc_plan_release(&plan);
		return;
	}
	if (plan.netns_owned && plan.netns_path)
		ctr->netns_pin = strdup(plan.netns_path);
	if (mon_ctr_plug(m, ctr, &plan, &err) < 0) {
		mon_respond_error(&c->ch, req, err.code ? err.code : EIO, "add container %s: %s",
				  id, err.msg);
		vc_plan_release(&plan);
		mon_ctr_forget(m, ctr);
		return;
	}
	ctr->adding = true;
	uint32_t sid = m->next_stream++;
	_cleanup_json_ struct vc_json *devices = vc_plan_agent_devices(&plan);
	struct vc_areq_create_container cc = {ctr->st.id,      sid,    true, plan.storages,
					      plan.guest_spec, devices};
	if (devices && mon_stream_add(m, ctr, sid, NULL))
		r = mon_agent_send(m, VC_AR_CREATE_CONTAINER, &cc, PEND_ADD, ctr, c, req, sid);
	vc_plan_release(&plan);
	if (r == 0)
		return;
	mon_respond_error(&c->ch, req, -r, "add container %s: %s", id,
			  r == -ENOMEM ? "out of memory" : "the guest agent is gone");
	mon_ctr_forget(m, ctr);
}

/* Requests that go to the agent as they are, allowed in some states and moving the
 * container to another on success. */
static const struct forward {
	enum vc_mon_method method;
	enum vc_agent_req agent_req;
	unsigned allowed; /* bit per enum vc_status */
	int new_status;	  /* -1: unchanged */
	const char *refusal;
} forwards[] = {
	{VC_MON_START, VC_AR_START_CONTAINER, 1u << VC_STATUS_CREATED, VC_STATUS_RUNNING,
	 "cannot start a container that is not in the created state"},
	{VC_MON_PAUSE, VC_AR_PAUSE_CONTAINER, 1u << VC_STATUS_RUNNING, VC_STATUS_PAUSED,
	 "container not running"},
	{VC_MON_RESUME, VC_AR_RESUME_CONTAINER, 1u << VC_STATUS_PAUSED, VC_STATUS_RUNNING,
	 "container not paused"},
	{VC_MON_PS, VC_AR_LIST_PROCESSES,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED) |
		 (1u << VC_STATUS_STOPPED),
	 -1, "container not running"},
	/* stopped too: `events` asks once more for the OOM kills that stopped it (the
	 * guest's cgroup lives until delete) */
	{VC_MON_STATS, VC_AR_STATS_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED) |
		 (1u << VC_STATUS_STOPPED),
	 -1, "container not running"},
	{VC_MON_UPDATE, VC_AR_UPDATE_CONTAINER,
	 (1u << VC_STATUS_CREATED) | (1u << VC_STATUS_RUNNING) | (1u << VC_STATUS_PAUSED), -1,
	 "container not running"},
};

/* Returns false when method is not one of forwards[]. */
static bool forward_request(struct monitor *m, struct conn *c, uint32_t req,
			    struct vc_mon_request *rq, struct mctr *ctr)
{
	const struct forward *fw = NULL;
	for (size_t i = 0; i < VC_ARRAY_SIZE(forwards) && !fw; i++)
		if (forwards[i].method == rq->method)
			fw = &forwards[i];
	if (!fw)
		return false;
	if (!ctr) {
		mon_respond_error(&c->ch, req, ENOENT, "container does not exist");
		return true;
	}
	enum vc_status st = ctr->init->exited ? VC_STATUS_STOPPED : ctr->st.status;
	if (!(fw->allowed & (1u << st)) || m->destroying || ctr->removing || ctr->adding) {
		const char *why = fw->refusal;
		if (rq->method == VC_MON_START)
			why = st == VC_STATUS_STOPPED ? "cannot start a container that has stopped"
						      : "cannot start an already running container";
		mon_respond_error(&c->ch, req, EINVAL, "%s", why);
		return true;
	}
	/* A status change that state.json could not record would leave `state` wrong:
	 * try the write first (the same size as the one to come), and change nothing
	 * when the state root has no room. */
	struct vc_error err = {0};
	if (fw->new_status >= 0 && mon_save_state(m, ctr, &err) < 0) {
		mon_respond_error(&c->ch, req, err.code ? err.code : EIO, "%s", err.msg);
		return true;
	}
	/* A member's new limits resize the VM first (the owner's sized it at boot). */
	if (rq->resources && ctr != mon_find_ctr(m, m->id) &&
	    mon_ctr_resize(m, ctr, rq->resources, &err) < 0) {
		mon_respond_error(&c->ch, req, err.code ? err.code : EIO, "update: %s", err.msg);
		return true;
	}
	/* the parameters a forwarded request carries on to the agent */
	union {
		struct vc_areq_container ctr;
		struct vc_areq_list_processes ps;
		struct vc_areq_update_container update;
	} p;
	if (fw->agent_req == VC_AR_LIST_PROCESSES)
		p.ps = (struct vc_areq_list_processes){ctr->st.id, rq->details, rq->environ};
	else if (fw->agent_req == VC_AR_UPDATE_CONTAINER)
		p.update = (struct vc_areq_update_container){ctr->st.id, rq->resources};
	else
		p.ctr = (struct vc_areq_container){ctr->st.id};
	/* what the agent would answer to an update without resources, said here */
	if (fw->agent_req == VC_AR_UPDATE_CONTAINER && !rq->resources)
		mon_respond_error(&c->ch, req, EINVAL, "%s: params.resources is required",
				  vc_agent_req_name(fw->agent_req));
	else if (mon_agent_send(m, fw->agent_req, &p,
				fw->new_status < 0 ? PEND_FORWARD : PEND_STATUS, ctr, c, req,
				fw->new_status < 0 ? 0 : (uint32_t)fw->new_status) < 0)
		mon_respond_error(&c->ch, req, EPIPE, "the guest agent is gone");
	return true;
}

void mon_handle_request(struct monitor *m, struct conn *c, const struct vc_frame *f)
{
	__attribute__((cleanup(vc_mon_request_release))) struct vc_mon_request rq = {0};
	struct vc_error err = {0};
	/* The one gate: every field a handler reads below has been checked. */
	if (vc_mon_request_decode(f->body, f->len, &rq, &err) < 0) {
		mon_respond_error(&c->ch, f->id, err.code ? err.code : EINVAL, "%s", err.msg);
		return;
	}
	/* The container a request is about; the owner when it names none. */
	const char *id = rq.container_id ? rq.container_id : m->id;
	struct mctr *ctr = mon_find_ctr(m, id);
	switch (rq.method) {
	case VC_MON_ATTACH:
	case VC_MON_WAIT:
		req_attach_or_wait(m, c, f->id, &rq, ctr);
		break;
	case VC_MON_KILL:
	case VC_MON_SIGNAL:
		req_signal(m, c, f->id, &rq, ctr);
		break;
	case VC_MON_RESIZE:
		req_resize(m, c, f->id, &rq);
		break;
	case VC_MON_EXEC:
		req_exec(m, c, f->id, &rq, ctr);
		break;
	case VC_MON_ADD:
		req_add(m, c, f->id, id);
		break;
	case VC_MON_DESTROY:
		req_destroy(m, c, f->id, ctr);
		break;
	case VC_MON_KILL_STANDIN:
		req_kill_standin(c, f->id);
		break;
	default:
		/* start, pause, resume, ps, stats, update */
		forward_request(m, c, f->id, &rq, ctr);
		break;
	}
}
