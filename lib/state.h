/* The --root state store: one 0700 directory per container holding state.json
 * (written atomically), a lock file every mutating call flocks, the monitor's
 * socket, logs and the sandbox plan. */
#ifndef VC_LIB_STATE_H
#define VC_LIB_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

/* Internal status: CREATING exists only while `create` runs. */
enum vc_status {
	VC_STATUS_CREATING,
	VC_STATUS_CREATED,
	VC_STATUS_RUNNING,
	VC_STATUS_PAUSED,
	VC_STATUS_STOPPED,
};

struct vc_state {
	char *id, *bundle, *rootfs, *created, *owner;
	enum vc_status status;
	pid_t standin_pid; /* the --pid-file pid */
	pid_t monitor_pid;
	unsigned long long monitor_start; /* /proc/PID/stat starttime, guards pid reuse */
	pid_t hv_pid;			  /* QEMU */
	int exit_code, exit_signal;	  /* valid when stopped after running */
	/* The sandbox (VM) the container lives in: the id of the container whose state
	 * dir holds its monitor, QEMU and share (the container's own id when it booted
	 * the VM), and the CRI sandbox id that later containers name (may be empty). */
	char *sandbox, *sandbox_key;
	bool pod_sandbox; /* the pod's sandbox (pause/infra) container: its end is the pod's */
	struct vc_oci_annotation *annotations;
	size_t n_annotations;
};

const char *vc_status_name(enum vc_status s);

/* ROOT/ID, malloc'd. */
char *vc_state_dir(const char *root, const char *id);
char *vc_state_path(const char *root, const char *id, const char *name);

int vc_state_read(const char *root, const char *id, struct vc_state *st, struct vc_error *err);
/* The in-memory core of read: the text of a state.json (path names it in errors). */
int vc_state_parse(const char *buf, size_t len, const char *path, struct vc_state *st,
		   struct vc_error *err);
int vc_state_write(const char *root, const struct vc_state *st, struct vc_error *err);
void vc_state_release(struct vc_state *st);

/* Takes the container's lock (blocking flock on ROOT/ID/lock); returns the fd. */
int vc_state_lock(const char *root, const char *id, struct vc_error *err);

/* The live status: a state that claims to be alive whose monitor is gone is
 * stopped. */
enum vc_status vc_state_live_status(const struct vc_state *st);

/* The live status of container id (validated first), failing with runc's words
 * ("container does not exist") when there is none. */
int vc_state_live(const char *root, const char *id, enum vc_status *status, struct vc_error *err);

/* Process helpers shared by the CLI, monitor and stand-in. */
unsigned long long vc_proc_starttime(pid_t pid); /* 0 if gone */
bool vc_proc_alive(pid_t pid, unsigned long long starttime);

#endif
