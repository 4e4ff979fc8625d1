/* Helpers shared by the files of hv/ only; nothing outside hv/ includes this. */
#ifndef VC_HV_INTERNAL_H
#define VC_HV_INTERNAL_H

#include <stdbool.h>
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
int hv_blockdev_args(const struct vc_hv_blk *b, const char *driver, char **out,
		     struct vc_error *err);

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

/* hv_spawn_in without keep_fd, with these: */
/* The child must not outlive the caller: it gets SIGKILL when the caller's thread
 * ends (PR_SET_PDEATHSIG). */
#define HV_SPAWN_BOUND 1u
/* No transparent huge pages in the child (PR_SET_THP_DISABLE, kept across exec):
 * for a template's clone, whose guest RAM is a file mapping that THP never backs,
 * so that only QEMU's own small RAM blocks would get huge pages, each a 2 MiB
 * page for a few hundred KiB that the restore writes (the ACPI tables' block is
 * 2 MiB long for 128 KiB of tables): 2 MiB of RSS per clone for nothing. */
#define HV_SPAWN_NO_THP 2u
int hv_spawn_flags(char *const argv[], int out_fd, int netns_fd, unsigned flags, pid_t *pid,
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

#endif
