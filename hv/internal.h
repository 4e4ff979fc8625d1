/* Helpers shared by the files of hv/ only; nothing outside hv/ includes this. */
#ifndef VC_HV_INTERNAL_H
#define VC_HV_INTERNAL_H

#include <stdbool.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "common/error.h"
#include "hv/hv.h"

/* File names inside cfg->state_dir. */
#define HV_QMP_SOCK	 "qmp.sock"
#define HV_AGENT_SOCK	 "agent.sock"
#define HV_CONSOLE_LOG	 "console.log"
#define HV_QEMU_LOG	 "qemu.log"
#define HV_VIRTIOFSD_FMT "virtiofsd-%zu" /* + ".sock" / ".log" */

/* Checks every field the argv depends on; messages name the field
 * ("shares[1].tag: ..."). */
int hv_config_validate(const struct vc_hv_config *cfg, struct vc_error *err);

/* The VFIO part of the config and of the argv (hv/qemu-vfio.c). hv_vfio_argv
 * appends its tokens to *argv; 0 or -ENOMEM. */
int hv_vfio_validate(const struct vc_hv_config *cfg, struct vc_error *err);
/* The guest kernel's part of cfg->viommu. */
#define HV_VIOMMU_PARAMS "intel_iommu=on"
int hv_vfio_argv(const struct vc_hv_config *cfg, char ***argv);

/* The boot's virtio-blk disks (hv/blk.c): -blockdev JSON + -device per cfg->blks. */
int hv_blk_validate(const struct vc_hv_config *cfg, struct vc_error *err);
int hv_blk_argv(const struct vc_hv_config *cfg, char ***argv);
/* Checks b (vc_hv_blk_check) and writes its drive's node name: "d" + id. */
#define HV_BLK_NODE_MAX (VC_HV_BLK_ID_MAX + 2)
int hv_blk_node(const struct vc_hv_blk *b, char node[HV_BLK_NODE_MAX], struct vc_error *err);
/* blockdev-add's arguments with QEMU's driver named: "host_device" for a block
 * node, "file" for a regular file (a hot-plugged disk may be either). */
int hv_blockdev_args(const struct vc_hv_blk *b, const char *driver, const char *filename,
		     char **out, struct vc_error *err); /* filename: NULL for b->path */

/* A value inside a QEMU option string ("path=...,server=on"): commas doubled.
 * malloc'd, NULL when out of memory. */
char *hv_qopt(const char *s);

/* vc_hv_qmp_execute, then waits (same deadline) for `event` whose data.device is
 * `device`, on the same connection: QEMU sends events to the monitors connected
 * when they happen, so one that comes with or right after the reply is not lost. */
int hv_qmp_execute_wait(const char *qmp_path, const char *command, const char *args_json,
			const char *event, const char *device, int timeout_ms,
			struct vc_error *err);

/* A QMP connection kept for several commands (capabilities negotiated): the
 * migration steps need one, since a getfd'd fd belongs to its connection. The
 * deadline covers the whole session. */
struct hv_qmp {
	const char *path;
	int fd;
	long long deadline;
	char *buf;
	size_t len, cap;
};
int hv_qmp_open(struct hv_qmp *q, const char *path, int timeout_ms, struct vc_error *err);
/* One command; *reply (may be NULL) gets the "return" value as JSON text. */
int hv_qmp_call(struct hv_qmp *q, const char *command, const char *args_json, char **reply,
		struct vc_error *err);
/* getfd: hands fd to QEMU under fdname (SCM_RIGHTS); the caller keeps its copy. */
int hv_qmp_getfd(struct hv_qmp *q, const char *fdname, int fd, struct vc_error *err);
/* hv_qmp_call with fd attached (SCM_RIGHTS): getfd, add-fd. */
int hv_qmp_call_fd(struct hv_qmp *q, const char *command, const char *args_json, int fd,
		   char **reply, struct vc_error *err);
void hv_qmp_close(struct hv_qmp *q);

/* Spawning. The child gets a new session, default signal dispositions and an
 * empty signal mask, stdin from /dev/null, stdout and stderr on out_fd (or
 * /dev/null when out_fd < 0), keep_fd (if >= 0) as fd 3, and no other fd. argv[0]
 * must be a path (see hv_find_program). Fails with the exec error itself when the
 * program cannot be started. */
int hv_spawn(char *const argv[], int out_fd, int keep_fd, pid_t *pid, struct vc_error *err);
/* The same, with the child moved into the network namespace netns_fd (-1: stays). */
int hv_spawn_in(char *const argv[], int out_fd, int keep_fd, int netns_fd, pid_t *pid,
		struct vc_error *err);

/* PATH lookup for a name without '/'; a name with '/' is returned as is. malloc'd. */
int hv_find_program(const char *name, char **path, struct vc_error *err);

/* Waits up to timeout_ms for pid to end, reaping it if it is our child. Returns
 * true when it is gone; *status (may be NULL) gets its wait status, or -1 when it
 * was not our child. */
bool hv_wait_gone(pid_t pid, int timeout_ms, int *status);

/* hv_wait_gone, then SIGKILL and a short wait. Returns true when it is gone. */
bool hv_terminate(pid_t pid, int timeout_ms);

/* Connects a Unix stream socket (CLOEXEC, non-blocking). -errno on failure (-EAGAIN:
 * the listener's backlog is full), no err. */
int hv_unix_connect(const char *path);

/* Monotonic milliseconds, and what is left of a deadline (>= 0). */
long long hv_now_ms(void);
int hv_left_ms(long long deadline_ms);

/* The last `lines` lines of a file, for error messages ("" when unreadable). */
char *hv_file_tail(const char *path, int lines);

/* QEMU's confinement (hv/jail.c, cfg->confine). The jail's tmpfs is mounted on
 * STATE/jail, in QEMU's mount namespace only. */
#define HV_JAIL_DIR "jail"
struct hv_jail_bind {
	char *src, *dst; /* dst: src under the jail's root */
	bool dir, ro, rec, dev;
};
struct hv_jail {
	char *root;		  /* absolute */
	char *proc;		  /* root + "/proc" */
	bool proc_sys;		  /* with /proc/sys (read-only to a non-root uid) */
	bool keep_caps_on_setuid; /* SECBIT_NO_SETUID_FIXUP: a helper that moves its euid */
	char **dirs;		  /* under root, parents first; NULL-terminated like the links */
	struct hv_jail_bind *binds;
	size_t n_binds;
	char **link_targets, **link_paths; /* symlinks made in the jail (a merged /usr) */
	uint32_t uid_base; /* QEMU's uid is uid_base + its pid, its gid uid_base; 0: uid 0 */
	bool has_kvm_gid;
	gid_t kvm_gid;
	cap_value_t caps[12]; /* capabilities kept (CAP_*), n_caps of them */
	size_t n_caps;
	cap_t capset; /* the same as permitted, effective and inheritable (libcap) */
};
/* Plans the jail of the QEMU `program` for cfg (makes STATE/jail, which
 * hv_jail_free removes: call it once the spawn returned). */
int hv_jail_plan(const struct vc_hv_config *cfg, const char *program, struct hv_jail *j,
		 struct vc_error *err);
/* The same for the virtiofsd of share i: run it with `-o sandbox=chroot`. */
int hv_jail_plan_virtiofsd(const struct vc_hv_config *cfg, const char *program, size_t share,
			   struct hv_jail *j, struct vc_error *err);
void hv_jail_free(struct hv_jail *j);
/* In the forked child, before exec: 0 or -errno. */
int hv_jail_enter(const struct hv_jail *j);

/* A confined QEMU opens nothing by a root-only path: these fds are passed in, at
 * these numbers (the argv names them). */
#define HV_FD_QMP     3
#define HV_FD_AGENT   4 /* the serial channel's listening socket, or /dev/vhost-vsock */
#define HV_FD_CONSOLE 5
static inline int hv_fd_nic(const struct vc_hv_config *cfg, size_t i)
{
	(void)cfg;
	return 6 + (int)i;
}
static inline int hv_fd_vfsd(const struct vc_hv_config *cfg, size_t i)
{
	return 6 + (int)cfg->n_nics + (int)i;
}
static inline int hv_fd_blk(const struct vc_hv_config *cfg, size_t i)
{
	return 6 + (int)cfg->n_nics + (cfg->fs == VC_FS_VIRTIOFS ? (int)cfg->n_shares : 0) + (int)i;
}
static inline int hv_fd_count(const struct vc_hv_config *cfg)
{
	return hv_fd_blk(cfg, cfg->n_blks) - 3;
}
/* Attaches to the persistent tap `name` of the network namespace at netns_path
 * (NULL: ours), as QEMU would: IFF_VNET_HDR, no packet info. */
int hv_tap_open(const char *netns_path, const char *name, int *fd, struct vc_error *err);

/* Spawning with everything: fds[i] becomes the child's fd 3 + i, and a jail (may be
 * NULL) is entered after the fds are placed. */
#define HV_SPAWN_FDS_MAX 64
struct hv_spawn_opts {
	int out_fd;
	const int *fds;
	size_t n_fds;
	int netns_fd;
	bool bound; /* SIGKILL when the caller's thread ends (PR_SET_PDEATHSIG) */
	/* No transparent huge pages (PR_SET_THP_DISABLE, kept across exec): for a
	 * template's clone, whose guest RAM is a file mapping that THP never backs,
	 * so that only QEMU's own small RAM blocks would get huge pages, each a
	 * 2 MiB page for a few hundred KiB that the restore writes (the ACPI tables'
	 * block is 2 MiB long for 128 KiB of tables): 2 MiB of RSS per clone for
	 * nothing. */
	bool no_thp;
	const struct hv_jail *jail;
};
int hv_spawn_with(char *const argv[], const struct hv_spawn_opts *o, pid_t *pid,
		  struct vc_error *err);
#endif
