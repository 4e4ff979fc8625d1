/* The monitor's state, shared by its boot phase (monitor-boot.c) and its event
 * loop (monitor.c). Nothing outside those two files includes this. */
#ifndef VC_LIB_MONITOR_INTERNAL_H
#define VC_LIB_MONITOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv/hv.h"
#include "agent-proto/clone-msg.h"
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
#define ORPHAN_CHECK_MS	   2000
#define INIT_STREAM	   VC_MONITOR_INIT_STREAM

/* Output queued for stand-ins, all together, past which the agent's channel is not
 * read until they catch up: a guest that floods a stand-in whose reader is slow
 * (or stopped) would otherwise grow the monitor without end. The channel's own
 * flow control then stops the agent, as a full pipe stops a process. */
#define STANDIN_BACKLOG_MAX (32u << 20)

struct conn {
	struct vc_chan ch;
	uint32_t stream; /* attached stream, 0 if none */
	pid_t peer_pid;
	bool refused; /* accepted on the spare fd: answered EMFILE, then closed */
};

struct waiter {
	struct conn *conn;
	uint32_t req;
};

struct stream;

/* A container of the sandbox: the one that booted it (the owner) and every one
 * that joined since. The monitor writes each one's state.json. */
struct mctr {
	struct vc_state st;
	struct stream *init;
	char *netns_pin;  /* a namespace create pinned for it, for an orphan's clean-up */
	bool adding;	  /* CreateContainer under way */
	bool removing;	  /* RemoveContainer under way */
	bool state_dirty; /* st is newer than state.json (a write failed) */
	struct waiter remover;
	/* What was hot-plugged for its limits when it joined (monitor-hotplug.c). */
	char mem_dev[24]; /* "" when none */
	char (*vcpu_devs)[24];
	size_t n_vcpu_devs;
	char (*vfio_devs)[24]; /* its VFIO functions, each in a spare root port */
	size_t n_vfio_devs;
	char (*blk_devs)[24]; /* its disks (the plan's blks' ids), each in a spare port */
	size_t n_blk_devs;
};

struct stream {
	uint32_t id;
	struct mctr *ctr;
	char *exec_id;	      /* NULL for the container's init process */
	struct conn *conn;    /* the attached stand-in */
	struct vc_chan early; /* output that arrived before the stand-in attached */
	bool exited;
	int exit_code, exit_signal;
	struct waiter waiters[MAX_WAITERS];
	size_t n_waiters;
};

/* PEND_STATUS: forwarded, and on success the container takes the status in
 * pending.stream (start, pause, resume). PEND_NET: pending.stream is 1 + the
 * enum vc_agent_answer the answer must decode as (0: nothing to read). */
enum pend_kind {
	PEND_FORWARD,
	PEND_STATUS,
	PEND_WAIT,
	PEND_EXEC,
	PEND_ADD,	 /* CreateContainer of a container that joins */
	PEND_REMOVE_ONE, /* RemoveContainer of one container; the sandbox goes on */
	PEND_REMOVE,	 /* RemoveContainer, then DestroySandbox */
	PEND_DESTROY,
	PEND_NET, /* a late NIC's configuration: errors are logged */
};

struct pending {
	uint32_t agent_id;
	enum pend_kind kind;
	enum vc_agent_req req;
	/* When the agent's silence becomes an ETIMEDOUT answer (0: never; a wait is
	 * as long as its process, a destroy has its own deadline). */
	unsigned long long deadline_ns;
	struct mctr *ctr;
	struct conn *conn;
	uint32_t conn_req;
	uint32_t stream; /* PEND_WAIT, PEND_EXEC: the process's stream; PEND_STATUS: the status */
};

struct vc_cgroup;

/* An interface that appeared in the namespace after boot (monitor-hotplug.c). */
struct late_nic {
	int ifindex;
	char name[IF_NAMESIZE];
	char tap[IF_NAMESIZE];
	char dev_id[24];	   /* the NIC's QEMU id */
	bool plugged;		   /* its tap and NIC exist */
	bool failed;		   /* said why not, once: not tried again */
	unsigned long long due_ns; /* plug or configure then; 0: nothing to do */
};

struct monitor {
	const char *root, *id; /* id: the owner, whose state dir we run in */
	char *share_dir;
	int sync_fd;
	struct vc_plan plan;
	struct vc_hv hv;
	bool hv_running;
	struct vc_chan agent;
	int listen_fd, sig_fd;
	/* Held so that a caller can still be told why when the monitor is out of fds
	 * (mon_accept_conn); -1 while a refused connection uses its slot. */
	int spare_fd;
	bool accept_paused; /* out of fds and no spare: the listening socket is not polled */
	unsigned long long oom_kills; /* the host cgroup's count when serving began */
	int dns_fd;		      /* UDP to the resolver in the container's namespace, or -1 */
	/* Interfaces of the container's namespace: those bridged at boot, and the ones
	 * that came later and were reported as not bridged (netns/watch.c). */
	struct vc_netns_watch *net_watch;
	int *net_known;
	size_t n_net_known;
	struct late_nic *late; /* those that came later: hot-plugged (monitor-hotplug.c) */
	size_t n_late;
	unsigned next_tap;	/* tap<N>_vc of the next one */
	bool net_foreign;	/* another VM bridges the namespace: leave it alone */
	unsigned next_dev;	/* numbers the ids of hot-plugged memory and vCPUs */
	char (*kept_vcpus)[24]; /* plugged for a container that left, and not unpluggable */
	size_t n_kept_vcpus;
	struct conn *conns[MAX_CONNS];
	size_t n_conns;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct stream **streams; /* [0] is init */
	size_t n_streams;
	uint32_t next_id, next_stream;
	struct mctr **ctrs; /* [0] is the owner until it leaves */
	size_t n_ctrs;
	bool cascade;		  /* the pod's sandbox container was killed: so is the pod */
	bool orphaned;		  /* our state dir was removed under us */
	bool bridged;		  /* the taps in the namespace are ours */
	int dir_fd;		  /* our state dir, to notice that */
	struct vc_cgroup *cgroup; /* the owner's host cgroup, for an orphan's clean-up */
	bool destroying, done;
	unsigned long long destroy_deadline;
	struct waiter destroyer;
	bool cloned; /* the VM was restored from a template (monitor-clone.c) */
};

/* Writes c's state.json (atomically: a full disk leaves the old one whole). One that
 * could not be written is retried by the main loop until it is; err (may be NULL)
 * gets why. */
int mon_save_state(struct monitor *m, struct mctr *c, struct vc_error *err);
/* monitor-clone.c: starts m->hv as a clone of the plan's template (cold: the plan
 * as it would boot; n_nics: its NICs, hot-plugged later). false: boot cold, the
 * reason logged (debug when no template fits, one warning on a fault). */
bool mon_clone_start(struct monitor *m, const struct vc_hv_config *cold, size_t n_nics);
/* CloneSetup's params: fresh entropy, the clock, a hostname, the CID. */
int mon_clone_setup(const struct monitor *m, struct vc_clone_setup *cs, struct vc_error *err);
/* A container joins the monitor's list (state copied); NULL on ENOMEM. */
struct mctr *mon_ctr_add(struct monitor *m, const struct vc_state *st);
/* Sends the agent request of kind req (params: its struct, agent-proto/agent-req.h)
 * and remembers who gets the answer. An encoder's refusal (a bug) is logged. */
int mon_agent_send(struct monitor *m, enum vc_agent_req req, const void *params,
		   enum pend_kind kind, struct mctr *ctr, struct conn *conn, uint32_t conn_req,
		   uint32_t stream);
/* A new stream for a process of c (exec_id NULL: init); NULL on ENOMEM. */
struct stream *mon_stream_add(struct monitor *m, struct mctr *c, uint32_t id, const char *exec_id);
/* Shared by the event loop (monitor.c) and the request handlers (monitor-req.c). */
__attribute__((format(printf, 4, 5))) void mon_respond_error(struct vc_chan *ch, uint32_t id,
							     int code, const char *fmt, ...);
void mon_respond_exit(struct conn *c, uint32_t req, const struct stream *s);
/* {stream_id}: the answer to attach, exec and add. */
void mon_respond_stream(struct vc_chan *ch, uint32_t req, uint32_t stream_id);
/* The whole sandbox goes: its containers, the VM, then the monitor (ctr NULL: the
 * owner's RemoveContainer first); c/req get {"sandbox": true} at the end. */
void mon_start_destroy(struct monitor *m, struct mctr *ctr, struct conn *c, uint32_t req);
struct stream *mon_find_stream(struct monitor *m, uint32_t id);
struct mctr *mon_find_ctr(struct monitor *m, const char *id);
/* A container leaves the monitor: its streams (reported killed), pending answers, record. */
void mon_ctr_forget(struct monitor *m, struct mctr *c);
/* SignalProcess to the process of s (all: every process of its container). */
int mon_signal(struct monitor *m, const struct stream *s, uint32_t sig, bool all, struct conn *conn,
	       uint32_t conn_req);
void mon_handle_request(struct monitor *m, struct conn *c, const struct vc_frame *f);
/* The host side of a sandbox whose state dir vanished: share, taps, pins. */
void mon_orphan_cleanup(struct monitor *m);
/* The namespace's link watch (monitor-hotplug.c): interfaces that come after boot
 * get a NIC once the namespace is quiet (mon_net_run when mon_net_timeout_ms says). */
void mon_net_event(void *ctx, int ifindex, const char *name, enum vc_netns_link_event ev);
int mon_net_timeout_ms(const struct monitor *m, int timeout);
void mon_net_run(struct monitor *m);
/* The UpdateInterface of a planned NIC; it points into pi and into *addrs (the
 * caller's to free), its addresses. */
int mon_iface_request(const struct vc_netns_plan_iface *pi, uint32_t wait_ms,
		      struct vc_areq_update_interface *u, struct vc_json **addrs,
		      struct vc_error *err);
/* A joining container's memory limit and CPU quota (its guest spec) grow the VM:
 * a DIMM of the limit and a vCPU per CPU of the quota; its VFIO functions (the
 * plan's) go into spare root ports. Room that is not there for memory or vCPUs is a
 * warning, for a VFIO function an error; a refusal by QEMU fails with err naming
 * the device, plugging nothing. mon_ctr_unplug gives it back when the container
 * leaves. */
int mon_ctr_plug(struct monitor *m, struct mctr *c, const struct vc_plan *plan,
		 struct vc_error *err);
void mon_ctr_unplug(struct monitor *m, struct mctr *c);
/* `update`: the resources it names (memory.limit, cpu.quota/period) resize what was
 * plugged for c the same way; what it does not name stays. */
int mon_ctr_resize(struct monitor *m, struct mctr *c, const struct vc_json *res,
		   struct vc_error *err);
/* Runs the event loop until the sandbox is destroyed or the VM is gone. */
int mon_serve(struct monitor *m);
/* Why the VM ended by itself (QEMU's wait status st), for the log. */
const char *mon_qemu_end(const struct monitor *m, int st);
/* Reaps QEMU if it exits within wait_ms (then *st is its status). */
bool mon_qemu_reaped(struct monitor *m, int wait_ms, int *st);
void mon_release(struct monitor *m);

/* monitor-conn.c: the callers on monitor.sock. */
void mon_accept_conn(struct monitor *m);
void mon_handle_conn(struct monitor *m, struct conn *c);
void mon_conn_gone(struct monitor *m, struct conn *c);

#endif
