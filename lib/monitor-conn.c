/* The monitor's callers: the CLI calls and stand-ins on monitor.sock. Each is a
 * connection with its own channel; what it asks goes to monitor-req.c, its stdin
 * to the agent. Out of fds, a caller is told so (EMFILE) on a spare fd kept for
 * that, rather than left waiting in the backlog with the socket readable (a busy
 * poll loop). A caller that goes away is forgotten everywhere it waited; a
 * stand-in that goes takes its guest process with it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"

void mon_handle_conn(struct monitor *m, struct conn *c)
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
		if (f.type == VC_FRAME_REQUEST && c->refused) {
			mon_respond_error(&c->ch, f.id, EMFILE,
					  "the monitor of %s is out of file descriptors (EMFILE) "
					  "with %zu connections open: try again later",
					  m->id, m->n_conns);
			c->ch.eof = true;
			return;
		}
		if (f.type == VC_FRAME_REQUEST)
			mon_handle_request(m, c, &f);
		else if (f.type == VC_FRAME_STDIN && c->stream && c->stream == f.id &&
			 !m->agent.eof)
			vc_chan_queue(&m->agent, f.type, f.flags, f.id, f.body, f.len);
	}
}

void mon_conn_gone(struct monitor *m, struct conn *c)
{
	struct stream *s = c->stream ? mon_find_stream(m, c->stream) : NULL;
	if (s && s->conn == c) {
		s->conn = NULL;
		/* A stand-in that dies (SIGKILL) takes its guest process with it. */
		if (!s->exited && !m->destroying) {
			mon_signal(m, s, SIGKILL, false, NULL, 0);
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
	/* An fd is free again: take the spare back, listen again. */
	if (m->spare_fd < 0)
		m->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	m->accept_paused = false;
}

void mon_accept_conn(struct monitor *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	bool refused = false;
	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		/* Out of fds, the caller still waits in the backlog: give up the spare to
		 * accept it and tell it why. Without a spare, stop polling the socket
		 * (it would stay readable: a busy loop) until a connection ends. */
		if (m->spare_fd < 0) {
			if (!m->accept_paused)
				vc_warn("sandbox %s: out of file descriptors: callers wait", m->id);
			m->accept_paused = true;
			return;
		}
		close(m->spare_fd);
		m->spare_fd = -1;
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		refused = true;
		vc_warn("sandbox %s: out of file descriptors (EMFILE): a caller refused", m->id);
	}
	if (fd < 0) {
		if (refused)
			m->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return;
	}
	struct conn *c = m->n_conns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);
		if (refused)
			m->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return;
	}
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		c->peer_pid = cred.pid;
	c->refused = refused;
	vc_chan_init(&c->ch, fd);
	m->conns[m->n_conns++] = c;
}
