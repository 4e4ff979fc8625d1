/* vcrun-agent: the in-guest agent. PID 1 of the VM (agent_boot), or a plain
 * process serving one channel (agent_serve, for tests and debugging).
 *
 * Single-threaded: one poll loop over the channel, a SIGCHLD signalfd and every
 * process's stdio. Requests are handled one at a time in arrival order; a
 * WaitProcess is parked until its process has been reaped and its output drained
 * (docs/agent-protocol.md). Everything below agent_serve() is internal API shared
 * by the files of this room. */
#ifndef VC_AGENT_AGENT_H
#define VC_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/agent-req.h"
#include "agent-proto/proto.h"
#include "common/error.h"
#include "oci/json.h"
#include "oci/spec.h"

/* ---- entry points ---------------------------------------------------------- */

struct agent_options {
	/* cgroup v2 directory under which each container gets "<id>"
	 * ("/sys/fs/cgroup/vcrun" in the guest); NULL: no cgroups. */
	const char *cgroup_root;
	/* Not PID 1: become a child subreaper so orphans are still ours, and make
	 * DestroySandbox return from agent_serve instead of powering off. */
	bool not_pid1;
	/* virtio-serial: EOF or POLLHUP only mean that no host is connected right
	 * now; wait for the next connection, keeping all state. */
	bool hangup_is_transient;
	/* Called for a new channel after the host closed it (vsock: accept the next
	 * connection) or after a bad frame (serial: reopen the port); the old fd is
	 * already closed. Returns the new fd or -errno. NULL: a closed channel ends
	 * agent_serve. */
	int (*reopen)(void *ctx, struct vc_error *err);
	void *reopen_ctx;
	/* Where host block devices are looked for (agent/blk.c): NULL means "/sys",
	 * "/dev" and the image's /lib/modules; tests point them at fake trees. */
	const char *sysfs_root, *dev_root, *modules_dir;
	unsigned blk_wait_ms; /* 0: AGENT_BLK_WAIT_MS */
};

/* Serves requests on channel_fd until the channel is closed for good (and
 * opts->reopen is NULL) or DestroySandbox in not_pid1 mode. Every container is
 * killed and every storage unmounted before it returns. Takes ownership of
 * channel_fd. In PID 1 mode a DestroySandbox powers the machine off. */
int agent_serve(int channel_fd, const struct agent_options *opts);

/* PID 1: mounts, modules, switch root, channel; never returns (powers off). */
__attribute__((noreturn)) void agent_boot(void);

/* Powers off (PID 1) after logging why; used for fatal errors. */
__attribute__((noreturn)) void agent_poweroff(const char *why);

/* ---- log.c ------------------------------------------------------------------ */

enum agent_log_level { AGENT_LOG_DEBUG, AGENT_LOG_INFO, AGENT_LOG_WARN, AGENT_LOG_ERROR };
void agent_log_set_debug(bool on);
bool agent_log_debug(void);
void agent_log(enum agent_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define agent_dbg(...)	agent_log(AGENT_LOG_DEBUG, __VA_ARGS__)
#define agent_info(...) agent_log(AGENT_LOG_INFO, __VA_ARGS__)
#define agent_warn(...) agent_log(AGENT_LOG_WARN, __VA_ARGS__)
#define agent_err(...)	agent_log(AGENT_LOG_ERROR, __VA_ARGS__)

/* ---- mounts.c: pure helpers ------------------------------------------------ */

struct agent_mount_opts {
	unsigned long flags;	     /* MS_* for mount(2) */
	unsigned long propagation;   /* MS_PRIVATE|MS_REC, ... or 0 */
	bool bind;		     /* "bind" or "rbind" (then flags has MS_REC) */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* from "rro", "rnosuid", ... */
	char *data;		     /* fs-specific options joined by ',', or NULL */
};
/* Splits OCI mount options into flags, propagation and fs data (runc's table). */
int agent_mount_opts_parse(char *const *options, struct agent_mount_opts *out,
			   struct vc_error *err);
void agent_mount_opts_free(struct agent_mount_opts *o);
/* "rslave" -> MS_SLAVE|MS_REC; returns -EINVAL if it is not a propagation word. */
int agent_propagation_parse(const char *s, unsigned long *out);

/* Joins path below root, resolving each existing component's symlinks as if
 * root were "/" and clamping ".." at root, so the result never escapes root.
 * Missing components are kept literally. *out is malloc'd ("ROOT/a/b"). */
int agent_path_in_root(const char *root, const char *path, char **out, struct vc_error *err);

/* Creates a mount destination: a directory, or an empty file when file is true
 * (parents are created as directories). */
int agent_mkdest(const char *path, bool file, struct vc_error *err);

/* Mounts one OCI mount below rootfs (resolving its destination safely). A mount
 * on /dev is made writable whatever its options say: the mounts and nodes below it
 * come later, and agent_dev_finish makes it read-only once they exist. In a user
 * namespace that does not own the VM's network (or cgroup) namespace, sysfs (and
 * cgroup2) cannot be mounted: the guest's /sys (/sys/fs/cgroup) is bound instead,
 * as runc does for cgroup2. */
int agent_mount_one(const char *rootfs, const struct vc_oci_mount *m, struct vc_error *err);
/* Whether destination is "/dev" (trailing slashes allowed). */
bool agent_is_dev(const char *destination);
/* The last step on /dev, after pivot_root: a spec whose /dev mount says "ro" gets
 * it read-only now, as runc's finalizeRootfs does. */
int agent_dev_finish(const struct vc_oci_spec *spec, struct vc_error *err);
/* The MS_* flags a mount carries now (statvfs): a bind remount in a user namespace
 * must keep the locked ones (nosuid, nodev, noexec, ro, atime). */
unsigned long agent_mount_flags_of(const char *path);

/* ---- the server state (server.c) ------------------------------------------- */

enum agent_ctr_state { AGENT_CTR_CREATED, AGENT_CTR_RUNNING, AGENT_CTR_STOPPED };

struct agent_container;

struct agent_waiter {
	uint32_t req_id;
	struct agent_waiter *next;
};

struct agent_process {
	struct agent_container *ctr;
	char *exec_id; /* NULL: the container's init */
	uint32_t stream_id;
	pid_t pid;
	bool exited;
	int exit_code, exit_signal;
	bool tty;
	int out_fd, err_fd; /* pipe read ends or pty master; -1 once at EOF */
	bool out_eof_sent, err_eof_sent;
	int in_fd;    /* stdin pipe write end or pty master dup; -1 */
	char *in_buf; /* stdin bytes not yet written */
	size_t in_len, in_cap;
	bool in_eof; /* close in_fd once in_buf is drained */
	int sync_fd; /* init only: sync socket until started */
	struct agent_waiter *waiters;
	bool answered; /* a WaitProcess got its status */
	struct agent_process *next;
};

struct agent_container {
	char *id;
	struct vc_oci_spec *spec;
	struct agent_process *init;
	enum agent_ctr_state state;
	char *cgroup;	 /* absolute cgroup directory, NULL when cgroups are off */
	int devprog_fd;	 /* the device cgroup's program (devcgroup.c), -1: none */
	char **storages; /* sources this container holds a reference on */
	bool new_ns[VC_NS__COUNT];
	struct agent_container *next;
};

struct agent_storage {
	char *source, *fstype, *mount_point, *driver; /* driver: NULL or "blk" */
	unsigned refs;
	struct agent_storage *next;
};

struct out_frame;

struct agent {
	const struct agent_options *opts;
	int chan, sigfd, own_pidns, devnull;
	bool chan_down; /* serial: no host connected right now */
	struct vc_frame_reader rd;
	struct out_frame *out_head, *out_tail; /* frames queued for the channel */
	size_t out_bytes;
	struct agent_container *containers;
	struct agent_process *procs;
	struct agent_storage *storages;
	char *sandbox_id;
	char **sandbox_storages;
	bool quit, poweroff;
	/* dns.c: the DNS relay (-1 until StartDNSRelay) */
	int dns_fd;
	struct agent_dns_slot *dns_slots;
	uint16_t dns_next;
};

/* server.c: queueing frames (never blocks; the loop flushes). */
int agent_queue_frame(struct agent *a, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		      size_t len);
int agent_queue_error(struct agent *a, uint32_t req_id, int code, const char *msg);
/* Blocking flush with a deadline (before powering off). */
void agent_flush(struct agent *a, int timeout_ms);
/* One read of a process's stdout/stderr into frames: 1 data, 0 EOF, -1 none now. */
int agent_process_pump(struct agent *a, struct agent_process *p, bool err_stream);
/* Everything left in its pipes (the writers are dead), then EOF frames. */
void agent_process_drain(struct agent *a, struct agent_process *p);

/* dispatch.c: validates and handles one REQUEST body; queues the response. */
void agent_handle_request(struct agent *a, uint32_t id, const void *body, size_t len);
/* dispatch.c: field readers for handlers that validate nested objects; messages
 * read "WHERE.KEY: required" / "WHERE.KEY: must be a string". A string field that
 * is null is refused; a boolean that is absent or null is false. */
int agent_get_str(const struct vc_json *obj, const char *where, const char *key, bool required,
		  const char **out, struct vc_error *err);
int agent_get_bool(const struct vc_json *obj, const char *where, const char *key, bool *out,
		   struct vc_error *err);

/* ---- requests (server.c gate, handlers in container.c / process.c) ------- */

struct agent_storage_req {
	const char *source, *fstype, *mount_point;
	const char *driver; /* NULL: fstype is the driver; "blk": source is a disk serial */
	char **options;	    /* NULL-terminated, may be NULL */
	bool readonly;
};

/* A validated request: the decoder (agent-proto/agent-req.h) typed and checked its
 * fields; the gate resolved the ids and parsed the documents the method's table
 * entry asks for. Handlers read their fields from rq->u. */
struct agent_req {
	uint32_t id;
	const char *method;
	const struct vc_agent_request *rq;
	struct agent_container *ctr; /* resolved container_id */
	struct agent_process *proc;  /* resolved (exec_id or init) */
	struct agent_storage_req *storages;
	size_t n_storages;
	struct agent_device_req *devices; /* CreateContainer's, read by the gate */
	size_t n_devices;
	struct vc_oci_spec *spec;	    /* owned until a handler steals it */
	struct vc_oci_process *process;	    /* owned until a handler steals it */
	struct vc_oci_resources *resources; /* points into res_spec */
	struct vc_oci_spec *res_spec;
};

struct vc_jgen;
/* Handlers return 0 (result members written into the open object `res`),
 * AGENT_PARKED (answered later), or -errno with err filled. */
#define AGENT_PARKED 1
typedef int (*agent_handler_fn)(struct agent *a, struct agent_req *r, struct vc_jgen *res,
				struct vc_error *err);

int agent_h_create_sandbox(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err);
int agent_h_destroy_sandbox(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err);
int agent_h_create_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err);
int agent_h_start_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err);
int agent_h_remove_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err);
int agent_h_list_processes(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err);
int agent_h_pause_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err);
int agent_h_resume_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err);
int agent_h_update_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err);
int agent_h_stats_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err);
int agent_h_exec_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			 struct vc_error *err);
int agent_h_signal_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err);
int agent_h_wait_process(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			 struct vc_error *err);
int agent_h_tty_win_resize(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err);

/* network.c: the guest side of networking (rtnetlink through libnl-route). */
int agent_h_update_interface(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err);
int agent_h_update_routes(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			  struct vc_error *err);
int agent_h_add_arp_neighbors(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			      struct vc_error *err);
/* dns.c: the relay to the resolver on the host namespace's loopback. */
int agent_h_start_dns_relay(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err);
void agent_dns_from_guest(struct agent *a); /* the relay socket is readable */
void agent_dns_from_host(struct agent *a, const struct vc_frame *f);
void agent_dns_release(struct agent *a);
/* cpus.c: OnlineCPUs {count, wait_ms?}: online every offline vCPU until count are
 * online (at most wait_ms). agent_online_cpus does it under SYSFS (a fake tree in
 * tests). */
int agent_h_online_cpus(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			struct vc_error *err);
int agent_online_cpus(const char *sysfs, uint32_t want, uint32_t wait_ms, uint32_t *online,
		      struct vc_error *err);
/* clone.c: CloneSetup (agent-proto/clone-msg.h) in a VM restored from a template.
 * agent_clone_reseed credits entropy to random_dev and reseeds the CRNG. */
int agent_h_clone_setup(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			struct vc_error *err);
int agent_clone_reseed(const char *random_dev, const uint8_t *entropy, size_t n,
		       struct vc_error *err);
/* Sets lo up (PID 1 at boot; a container's localhost lives in the VM's namespace). */
int agent_net_lo_up(struct vc_error *err);

/* ---- container.c ----------------------------------------------------------- */
/* The guest spec's word for "the namespace of container ID of this sandbox"
 * (lib/sandbox.h writes it). */
#define VC_NS_CONTAINER_PREFIX "/run/vcrun/container/"
/* Opens /proc/PID/ns/<type> of a process of the guest. */
int agent_open_ns(pid_t pid, enum vc_oci_ns_type t, int *fd, struct vc_error *err);

struct agent_container *agent_container_find(struct agent *a, const char *id);
/* Kills, reaps and forgets a container, releasing its storages and cgroup. */
void agent_container_destroy(struct agent *a, struct agent_container *c);
/* Every pid of the container (cgroup.procs, or a scan of its pid namespace). */
int agent_container_pids(struct agent *a, struct agent_container *c, pid_t **pids, size_t *n,
			 struct vc_error *err);

/* ---- process.c ------------------------------------------------------------- */

struct agent_process *agent_process_find(struct agent *a, struct agent_container *c,
					 const char *exec_id);
/* The live process (not yet exited and drained) that owns stream_id. */
struct agent_process *agent_process_by_stream(struct agent *a, uint32_t stream_id);
/* Exited and both output streams at EOF. */
bool agent_process_done(const struct agent_process *p);
struct agent_process *agent_process_by_pid(struct agent *a, pid_t pid);
/* Records a reaped status; answers waiters if the output is drained too. */
void agent_process_exited(struct agent *a, struct agent_process *p, int status);
/* Sends the EOF frames and the WaitProcess responses that are due. */
void agent_process_answer_waiters(struct agent *a, struct agent_process *p);
/* Closes fds, frees, unlinks from a->procs. */
void agent_process_free(struct agent *a, struct agent_process *p);
/* Reaps every exited child (WNOHANG). */
void agent_reap(struct agent *a);
/* Blocking reap of one of our processes (after SIGKILL). */
void agent_reap_pid(struct agent *a, pid_t pid);

/* The stdio of a new process: the agent's ends and the child's ends. */
struct agent_stdio {
	bool tty, stdin_open;
	int child_in, child_out, child_err; /* -1 when tty */
	int in_fd, out_fd, err_fd;	    /* agent's ends (filled for tty later) */
};
int agent_stdio_open(struct agent_stdio *s, bool tty, bool stdin_open, struct vc_error *err);
void agent_stdio_close_child(struct agent_stdio *s);
void agent_stdio_close(struct agent_stdio *s);

struct agent_child_cfg;
/* Forks a child (into new namespaces per clone_flags, or into the pid
 * namespace pidns_fd), waits for its "ready", and records the process. */
int agent_process_spawn(struct agent *a, struct agent_container *c, struct agent_child_cfg *cfg,
			unsigned long clone_flags, int pidns_fd, const char *exec_id,
			uint32_t stream_id, struct agent_process **out, struct vc_error *err);

/* ---- the child side (setup.c, child.c, security.c) ------------------------- */

/* What the child is told to do; everything needed after fork is in here, so the
 * child never touches the agent's lists. */
struct agent_child_cfg {
	bool is_init;
	const struct vc_oci_spec *spec; /* the container's */
	const struct vc_oci_process *process;
	const char *cgroup;	   /* join this cgroup first (NULL: none) */
	int ns_fds[VC_NS__COUNT];  /* exec: namespaces to join, -1 when not */
	bool new_ns[VC_NS__COUNT]; /* init: namespaces created */
	struct agent_stdio *stdio;
	int devnull;
	int sync_fd;	/* the child's end */
	bool pdeathsig; /* not PID 1: die with the agent instead of leaking */
};

/* Agent -> child on the sync socket of an init with a new user namespace: its
 * uid_map and gid_map are written (and its cgroup, rlimits, oom_score_adj and
 * net.* sysctls set). */
#define AGENT_SYNC_MAPPED 'M'

/* Runs in the forked child; never returns. */
__attribute__((noreturn)) void agent_child_main(struct agent_child_cfg *cfg);

/* Child -> agent sync message (SOCK_SEQPACKET). */
struct agent_sync_msg {
	int32_t code; /* 0: ready; else a positive errno */
	char msg[VC_ERROR_MSG_MAX];
};
/* Reads the child's report (with the pty master when it sent one). */
int agent_sync_recv(int fd, int timeout_ms, int *pty_master, struct vc_error *err);
int agent_sync_send(int fd, int code, const char *msg, int pass_fd);

/* setup.c: container init setup, after the namespaces exist, before exec. */
int agent_setup_rootfs(const struct vc_oci_spec *spec, bool *dev_is_tmpfs, struct vc_error *err);
int agent_setup_after_pivot(const struct vc_oci_spec *spec, struct vc_error *err);
/* The spec's net.* sysctls, written by the agent for an init in a user namespace:
 * the network is the VM's, whose sysctls belong to the guest's root (runc's
 * container would own a network namespace made inside its user namespace). The
 * init then writes only the others. */
int agent_setup_net_sysctls(const struct vc_oci_spec *spec, struct vc_error *err);
int agent_setup_process(const struct vc_oci_process *p, bool is_init, int *pty_master, char ***envp,
			char **exe, struct vc_error *err);
/* process.rlimits and oomScoreAdj of pid (0: the caller). Raising a hard limit or
 * lowering oom_score_adj needs the guest's root, which a process in a user
 * namespace is not: the agent sets them for a new init (prlimit), an exec sets
 * them before it joins the namespace, as runc does from its parent. */
int agent_process_limits(pid_t pid, const struct vc_oci_process *p, struct vc_error *err);
/* A field of uid's line in a passwd file (no NSS in a static agent); NULL when
 * the file, the uid or the field is missing. */
enum agent_passwd_field { AGENT_PASSWD_NAME = 0, AGENT_PASSWD_HOME = 5 };
char *agent_passwd_field(const char *passwd_path, uid_t uid, enum agent_passwd_field field);
/* The process's HOME from ROOT/etc/passwd. */
char *agent_passwd_home(const char *passwd_path, uid_t uid);
/* PATH lookup as Go's exec.LookPath does it; message "exec: \"x\": ...". */
int agent_lookup_exe(const char *arg0, char *const *env, char **out, struct vc_error *err);
/* Opens a pty in the current mount namespace; *slave_path may be NULL. */
int agent_open_pty(int *master, int *slave, char **slave_path, struct vc_error *err);

/* security.c */
/* Compiles the spec's seccomp profile (NULL when absent); loaded later. */
int agent_seccomp_build(const struct vc_oci_seccomp *s, void **ctx, struct vc_error *err);
int agent_seccomp_load(void *ctx, struct vc_error *err);
void agent_seccomp_free(void *ctx);
int agent_caps_apply(const struct vc_oci_capabilities *caps, struct vc_error *err);
/* The order runc uses: seccomp before dropping CAP_SYS_ADMIN unless nnp. */
int agent_security_finish(const struct vc_oci_process *p, void *seccomp_ctx, struct vc_error *err);

/* ---- userns.c ---------------------------------------------------------------- */

/* The host id of container id `id` under mappings m; -1 when unmapped. */
int64_t agent_userns_host_id(const struct vc_oci_id_mapping *m, size_t n, uint32_t id);
/* runc's checks: a new user namespace needs mappings of container uid 0 and gid 0. */
int agent_userns_check(const struct vc_oci_spec *spec, bool new_userns, struct vc_error *err);
/* The parent writes /proc/PID/uid_map and gid_map of a new init. */
int agent_userns_map(pid_t pid, const struct vc_oci_linux *l, struct vc_error *err);
/* The child waits for AGENT_SYNC_MAPPED; later it becomes root of its namespace. */
int agent_userns_wait(int sync_fd, struct vc_error *err);
int agent_userns_become_root(struct vc_error *err);
/* A sysctl value of two group ids ("LOW HIGH", net.ipv4.ping_group_range) that the
 * kernel reads in the writer's user namespace: the container's ids as the guest's,
 * for the agent to write. */
int agent_userns_gid_range(const struct vc_oci_linux *l, const char *key, const char *value,
			   char *out, size_t n, struct vc_error *err);
/* Whether the container's cgroup goes to a host uid (runc's OwnerUID), and which. */
bool agent_userns_cgroup_owner(const struct vc_oci_spec *spec, uid_t *uid);

/* ---- cgroup.c ---------------------------------------------------------------- */

/* Creates ROOT/<id> (enabling controllers on the way); *path NULL when the
 * cgroup root is off or unusable (logged). */
int agent_cgroup_create(const char *root, const char *id, char **path, struct vc_error *err);
/* Best effort: each knob that cannot be written is a logged warning. */
void agent_cgroup_apply(const char *path, const struct vc_oci_resources *res);
int agent_cgroup_freeze(const char *path, bool frozen, struct vc_error *err);
int agent_cgroup_pids(const char *path, pid_t **pids, size_t *n, struct vc_error *err);

/* ---- devcgroup.c: the device cgroup as an eBPF program ---------------------- */

/* An exception to the default: type 'b' or 'c', major/minor -1 for any, access
 * BPF_DEVCG_ACC_* bits. */
struct agent_devrule {
	char type;
	int64_t major, minor;
	unsigned access;
};
struct agent_devfilter {
	bool default_allow;
	struct agent_devrule *rules; /* sorted by major, minor, type */
	size_t n;
};
void agent_devfilter_free(struct agent_devfilter *f);
/* runc 1.1.5's device rules: res's, then runc's defaults (those with a path only
 * when l's linux.devices does not list it), applied as cgroup v1 would. Errors
 * name linux.resources.devices[i]. */
int agent_devfilter_build(const struct vc_oci_resources *res, const struct vc_oci_linux *l,
			  struct agent_devfilter *f, struct vc_error *err);
struct bpf_insn;
/* The BPF_PROG_TYPE_CGROUP_DEVICE program of f (malloc'd). */
int agent_devfilter_program(const struct agent_devfilter *f, struct bpf_insn **insns, size_t *n,
			    struct vc_error *err);
/* Builds the spec's filter and attaches it to cgroup, in place of *prog_fd's (its
 * fd afterwards). Bad rules are the error; a kernel that cannot load or attach it
 * is a warning (once) and 0. cgroup NULL: nothing. */
int agent_devcgroup_apply(const char *cgroup, const struct vc_oci_spec *spec, int *prog_fd,
			  struct vc_error *err);

/* procinfo.c: ListProcesses' "details": what procps' ps reads from /proc, per pid
 * (pids that are gone by then are left out), and the guest's clock and memory. */
int agent_procinfo(struct vc_jgen *g, const pid_t *pids, size_t n, bool environ,
		   struct vc_error *err);
/* Best effort: the directory and its delegatable files (/sys/kernel/cgroup/delegate)
 * to uid. */
void agent_cgroup_chown(const char *path, uid_t uid);
/* Kills what is left and removes the directory (retrying while it drains). */
void agent_cgroup_remove(const char *path);
void agent_cgroup_stats(const char *path, struct vc_agent_stats *st);

/* ---- vfio.c -------------------------------------------------------------- */

/* Kernel modules in the guest: load-order is loaded at boot; NAME.load-order lists
 * modules loaded on demand, which boot keeps past the switch off the initramfs. */
#define AGENT_MODULES_DIR "/lib/modules"

/* The vfio mode (docs/agent-protocol.md, "VFIO"): each linux.devices entry
 * /dev/vfio/N has its functions (annotation io.vcrun.vfio.group.N) moved to vfio-pci
 * and is replaced by the guest's group nodes /dev/vfio/G; /dev/vfio/vfio is added.
 * No /dev/vfio/N entry: nothing happens. The VFIO modules are loaded first from
 * modules_dir (NULL: not). SYSFS and DEV are roots ("/sys", "/dev"; a fake tree in
 * tests). Errors name the entry and the file. */
int agent_vfio_setup(struct vc_oci_spec *spec, const char *sysfs, const char *dev_root,
		     const char *modules_dir, struct vc_error *err);
/* boot.c: finit_module of each module that DIR/LIST_NAME names, in order (a missing
 * list: nothing to do). strict: the first failure is the error; else it is a warning
 * and the rest still load (PID 1 at boot). */
int agent_modules_load(const char *dir, const char *list_name, bool strict, struct vc_error *err);

/* ---- blk.c: host block devices as virtio-blk disks (issue 16) -------------- */

/* A disk's serial (the host's id, hv/blk.c): lower-case letters and digits, a
 * letter first, at most VIRTIO_BLK_ID_BYTES. */
#define AGENT_BLK_ID_MAX  20
#define AGENT_BLK_WAIT_MS 10000
bool agent_blk_id_ok(const char *id);

/* Where disks are looked for: SYSFS/block/X/serial, the node DEV_ROOT/X ("/sys",
 * "/dev"; a fake tree in tests); modules_dir's blk.load-order is loaded first
 * (NULL: none); wait_ms bounds the wait for a hot-plugged disk. */
struct agent_blk_env {
	const char *sysfs, *dev_root, *modules_dir;
	unsigned wait_ms;
};
struct agent_blk_disk {
	char node[128]; /* DEV_ROOT/vdX, a block device whose number is major:minor */
	unsigned major, minor;
};
/* Waits for the disk whose serial is `serial`; ENODEV naming it when none came. */
int agent_blk_find(const struct agent_blk_env *env, const char *serial, struct agent_blk_disk *out,
		   struct vc_error *err);
/* The agent's environment: its options, or the guest's real roots. */
void agent_blk_env_of(const struct agent *a, struct agent_blk_env *env);

/* CreateContainer's `devices` (docs/agent-protocol.md, "Device"); the strings are
 * borrowed from the request. */
struct agent_device_req {
	const char *type, *id, *container_path;
};
/* Reads and checks the array (type, id, absolute path, no duplicates); messages
 * name WHERE[i].field. An absent array: *n = 0. */
int agent_devices_read(const struct vc_json *arr, const char *where, struct agent_device_req **out,
		       size_t *n, struct vc_error *err);
/* A host device number and the guest's for the same disk. */
struct agent_blk_renumber {
	int64_t host_major, host_minor;
	unsigned major, minor;
};
/* Every `b` rule naming exactly a host major:minor of m gets the guest's. */
void agent_blk_rewrite_rules(struct vc_oci_resources *res, const struct agent_blk_renumber *m,
			     size_t n);
/* For each device: waits for its disk, puts the guest's major:minor into the
 * linux.devices entry whose path is container_path and into the rules naming the
 * host's. The spec is changed only once every disk is there. */
int agent_blk_devices_apply(struct vc_oci_spec *spec, const struct agent_device_req *devs, size_t n,
			    const struct agent_blk_env *env, struct vc_error *err);

/* ---- storage.c ----------------------------------------------------------- */

/* Mounts (or references) every storage; on error releases what it took. Each
 * source taken is pushed onto *held. */
int agent_storages_acquire(struct agent *a, const struct agent_storage_req *s, size_t n,
			   char ***held, struct vc_error *err);
void agent_storages_release(struct agent *a, char **held);
void agent_storages_unmount_all(struct agent *a);
/* The driver (or fstype) is known, and fstype fits it: "blk" wants a file system
 * type of a disk (ext4, xfs, ...), never a share's; messages name WHERE.field. */
int agent_storage_check_driver(const struct agent_storage_req *s, const char *where,
			       struct vc_error *err);

#endif
