/* The monitor's state, shared by its boot phase (monitor-boot.c) and its event
 * loop (monitor.c). Nothing outside those two files includes this. */
#ifndef VC_LIB_MONITOR_INTERNAL_H
#define VC_LIB_MONITOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv/hv.h"
#include "lib/chan.h"
#include "lib/monitor.h"
#include "lib/plan.h"
#include "netns/netns.h"
#include "lib/state.h"

#define MAX_CONNS	   128
#define MAX_WAITERS	   16
#define AGENT_BACKLOG_MAX  (4u << 20)
#define EARLY_OUTPUT_MAX   (64u << 20)
#define DESTROY_TIMEOUT_MS 15000
#define INIT_STREAM	   VC_MONITOR_INIT_STREAM

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
	char *exec_id;	      /* NULL for the container's init process */
	struct conn *conn;    /* the attached stand-in */
	struct vc_chan early; /* output that arrived before the stand-in attached */
	bool exited;
	int exit_code, exit_signal;
	struct waiter waiters[MAX_WAITERS];
	size_t n_waiters;
};

/* PEND_STATUS: forwarded, and on success the container takes the status in
 * pending.stream (start, pause, resume). */
enum pend_kind { PEND_FORWARD, PEND_STATUS, PEND_WAIT, PEND_EXEC, PEND_REMOVE, PEND_DESTROY };

struct pending {
	uint32_t agent_id;
	enum pend_kind kind;
	struct conn *conn;
	uint32_t conn_req;
	uint32_t stream; /* PEND_WAIT, PEND_EXEC: the process's stream; PEND_STATUS: the status */
};

struct monitor {
	const char *root, *id;
	int sync_fd;
	struct vc_plan plan;
	struct vc_hv hv;
	bool hv_running;
	struct vc_chan agent;
	int listen_fd, sig_fd;
	int dns_fd; /* UDP to the resolver in the container's namespace, or -1 */
	/* Interfaces of the container's namespace: those bridged at boot, and the ones
	 * that came later and were reported as not bridged (netns/watch.c). */
	struct vc_netns_watch *net_watch;
	int *net_known;
	size_t n_net_known;
	struct conn *conns[MAX_CONNS];
	size_t n_conns;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct stream **streams; /* [0] is init */
	size_t n_streams;
	uint32_t next_id, next_stream;
	struct vc_state st;
	bool destroying, done;
	unsigned long long destroy_deadline;
	struct waiter destroyer;
};

int mon_save_state(struct monitor *m);
struct vc_json *mon_params_for_container(struct monitor *m);
/* Sends a request to the agent and remembers who gets the answer. Takes params. */
int mon_agent_send(struct monitor *m, const char *method, struct vc_json *params,
		   enum pend_kind kind, struct conn *conn, uint32_t conn_req, uint32_t stream);
/* A new stream for a process (exec_id NULL: init); NULL on ENOMEM. */
struct stream *mon_stream_add(struct monitor *m, uint32_t id, const char *exec_id);
/* Runs the event loop until the sandbox is destroyed or the VM is gone. */
int mon_serve(struct monitor *m);
void mon_release(struct monitor *m);

#endif
