/* libvcrun: the sandbox/container API that cmd/vcrun is a thin layer over. Every
 * function returns 0 or a negative errno and fills err with a message naming the
 * cause. Messages that callers match keep runc's wording: "container does not
 * exist", "container not running", "container with id exists". */
#ifndef VC_LIB_VCRUN_H
#define VC_LIB_VCRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct vc_ctx {
	const char *root;  /* state root: --root, default /run/vcrun (rootless:
			      $XDG_RUNTIME_DIR/vcrun) */
	const char *argv0; /* to find the guest image and re-exec modes */
	bool debug;
	bool systemd_cgroup;
};

struct vc_create_opts {
	const char *bundle;	    /* default: cwd */
	const char *pid_file;	    /* may be NULL */
	const char *console_socket; /* may be NULL */
	int preserve_fds;
	bool no_pivot, no_new_keyring;
	/* run only: return once started instead of waiting for the process. */
	bool detach;
	/* run only: leave the stopped container (and its VM) for `delete`. */
	bool keep;
	/* Set by run: without detach the process is the caller's foreground one (it may
	 * take the caller's terminal). */
	bool run;
	/* The container's stdin, stdout and stderr (-1: /dev/null); NULL: the caller's. */
	const int *stdio;
	/* Join this running sandbox (its id or a member's), whatever the spec's
	 * annotations and namespaces say; NULL: they decide. */
	const char *sandbox;
};

/* Sandboxes, in the shape of virtcontainers' VCSandbox. A sandbox is one VM (its
 * monitor, hypervisor and share) and the containers in it; its id is the id of the
 * container that booted it, its owner. cmd/ translates the runc verbs onto these
 * calls: `create` loads the container's config, which says whether it boots a
 * sandbox (vc_sandbox_create) or joins a running one (vc_sandbox_open, then
 * vc_sandbox_create_container); the other verbs open the sandbox of the container
 * they name. Each call is short-lived: the sandbox lives in the --root store and in
 * its monitor, so a handle is only a name and may outlive the sandbox (calls then
 * fail naming the container). Calls on a container check that it is a member. */
struct vc_sandbox;
struct vc_container_config;

/* Everything decided before anything starts: the bundle's spec with CDI edits, the
 * checks runc makes on the options, the VM plan, and which sandbox the container
 * goes to (CRI annotations, then the namespaces the spec joins by path). Errors
 * name the field, annotation or option at fault. */
int vc_container_config_load(const struct vc_ctx *ctx, const char *id,
			     const struct vc_create_opts *opts, struct vc_container_config **cfg,
			     struct vc_error *err);
/* The sandbox the container joins (its owner's id), or NULL: it boots its own. */
const char *vc_container_config_sandbox(const struct vc_container_config *cfg);
void vc_container_config_free(struct vc_container_config *cfg);

/* Boots a sandbox whose first member (and owner) is cfg's container, and creates
 * that container in it. Returns when the container exists in the guest (created,
 * not started); its stand-in runs (a child of the caller; *pid, may be NULL) and
 * the pid file holds its pid. */
int vc_sandbox_create(const struct vc_ctx *ctx, struct vc_container_config *cfg,
		      struct vc_sandbox **sb, pid_t *pid, struct vc_error *err);
/* The sandbox container id lives in (any member's id, or the owner's). ENOENT:
 * "container does not exist". */
int vc_sandbox_open(const struct vc_ctx *ctx, const char *id, struct vc_sandbox **sb,
		    struct vc_error *err);
void vc_sandbox_close(struct vc_sandbox *sb);
static inline void vc_sandbox_closep(struct vc_sandbox **sb)
{
	vc_sandbox_close(*sb);
}
#define _cleanup_sandbox_ __attribute__((cleanup(vc_sandbox_closep)))
const char *vc_sandbox_id(const struct vc_sandbox *sb);
/* The CRI sandbox id its members name, or NULL. */
const char *vc_sandbox_key(const struct vc_sandbox *sb);
/* The ids of the containers in it (owner first, then by id), malloc'd. */
int vc_sandbox_members(const struct vc_sandbox *sb, char ***ids, size_t *n, struct vc_error *err);

/* A container joins the running sandbox: its rootfs and mounts are bound into the
 * sandbox's share, its limits and devices hot-plugged, the guest creates it. As
 * vc_sandbox_create for the rest. */
int vc_sandbox_create_container(struct vc_sandbox *sb, struct vc_container_config *cfg, pid_t *pid,
				struct vc_error *err);
int vc_sandbox_start_container(struct vc_sandbox *sb, const char *id, struct vc_error *err);
/* sig 0 probes; all: every process of the container (runc's --all). */
int vc_sandbox_kill_container(struct vc_sandbox *sb, const char *id, int sig, bool all,
			      struct vc_error *err);
/* Freezes and thaws the container's processes in the guest. */
int vc_sandbox_pause_container(struct vc_sandbox *sb, const char *id, struct vc_error *err);
int vc_sandbox_resume_container(struct vc_sandbox *sb, const char *id, struct vc_error *err);
/* linux.resources JSON text (runc's --resources), validated; applied to the guest's
 * cgroup, the host's, and to the VM: memory and vCPUs are hot-plugged (QMP) as the
 * limits grow and given back as they shrink, where QEMU allows. */
int vc_sandbox_update_container(struct vc_sandbox *sb, const char *id, const char *resources_json,
				const char *source, struct vc_error *err);
/* The container leaves the sandbox; the VM stops with its last container, or with
 * the pod's sandbox container. force: from any state (SIGKILL first). */
int vc_sandbox_delete_container(struct vc_sandbox *sb, const char *id, bool force,
				struct vc_error *err);
/* Deletes every member, then the sandbox's owner, and with it the VM. Without force
 * a member that still runs is an error naming it, and nothing is deleted. */
int vc_sandbox_destroy(struct vc_sandbox *sb, bool force, struct vc_error *err);

/* exec: a new process in a running container, with its own stand-in (a child of
 * the caller). Either process_file (runc's --process JSON) or the inline form,
 * which starts from the container's own process and overrides what is given. */
struct vc_exec_opts {
	const char *process_file;
	char **args; /* inline: the command and its arguments */
	const char *cwd;
	char **env;	  /* KEY=VALUE, replacing or adding to the container's */
	const char *user; /* uid[:gid] */
	char **additional_gids;
	char **caps; /* added to every capability set */
	bool tty, no_new_privs, detach;
	const char *pid_file, *console_socket;
	int preserve_fds;
	char **cgroups;	  /* runc's --cgroup: [ctrl[,ctrl]:]path below the container's cgroup */
	const int *stdio; /* stdin, stdout, stderr (-1: /dev/null); NULL: the caller's */
};
/* *pid (may be NULL): the process's stand-in, a child of the caller; signals sent
 * to it go to the process. Without detach, waits for the process: *status is its
 * exit code, or 128+signal. */
int vc_sandbox_exec(struct vc_sandbox *sb, const char *id, const struct vc_exec_opts *opts,
		    pid_t *pid, int *status, struct vc_error *err);

/* Waits for a container's stand-in (pid from create, a child of the caller): what
 * `vcrun run` exits with, its exit code or 128+signal. */
int vc_container_wait(pid_t pid);

/* What `vcrun sandbox list` shows. */
struct vc_sandbox_info {
	char *id, *key; /* key: "" without a CRI sandbox id */
	pid_t hv_pid;	/* 0: the VM is not running */
	char **members; /* NULL-terminated, owner first */
};
int vc_sandbox_list(const struct vc_ctx *ctx, struct vc_sandbox_info **out, size_t *n,
		    struct vc_error *err);
void vc_sandbox_info_free(struct vc_sandbox_info *list, size_t n);

/* ps: the container's pids as the guest sees them (malloc'd); none (n = 0) once
 * it has stopped. */
int vc_container_ps(const struct vc_ctx *ctx, const char *id, pid_t **pids, size_t *n,
		    struct vc_error *err);
/* ps with ps's options (runc's `ps ID [ps options]`, default -ef): the table procps'
 * ps prints, one line per container process (guest pids and the guest's /proc),
 * malloc'd; the header alone once the container has stopped. An option vcrun does
 * not know fails naming it (lib/ps.h lists the known forms). */
int vc_container_ps_table(const struct vc_ctx *ctx, const char *id, char *const *ps_args,
			  char **table, struct vc_error *err);
/* events: runc's stream, each line handed to emit (no newline). A stats line
 * ({"type":"stats","id":..,"data":{..}}, from the guest's cgroup) every interval_ms,
 * or just one with once; and for each OOM kill in the guest's cgroup one
 * {"type":"oom","id":ID} (the kill count is read with the stats, and once more when
 * the container stops). Returns 0 when the container stops, is deleted or loses its
 * VM; a container that is not running to begin with is an error (ESRCH), as in
 * runc. */
typedef void (*vc_event_fn)(const char *line, void *arg);
int vc_container_events(const struct vc_ctx *ctx, const char *id, unsigned long long interval_ms,
			bool once, vc_event_fn emit, void *arg, struct vc_error *err);
/* features: the runtime-spec features JSON (malloc'd). */
int vc_features_json(char **out, struct vc_error *err);

/* check: what this host offers vcrun, one item per capability, then the
 * accelerator and agent channel `create` would use. */
struct vc_check_item {
	const char *name;
	bool usable;
	char detail[512];
};
struct vc_host_check {
	struct vc_check_item items[8];
	size_t n;
	char accel[96], channel[64];
	bool rootless; /* common/rootless.h */
	char rootless_why[128];
	char kernel[1024]; /* which guest kernel create boots, and why */
};
int vc_host_check(const struct vc_ctx *ctx, struct vc_host_check *out);
/* Where the KVM probe's answer is cached: $VCRUN_ACCEL_CACHE when set, else
 * /run/vcrun (one per host and boot; rootless: $XDG_RUNTIME_DIR/vcrun, one per user,
 * common/rootless.h), else under root; NULL when none can be written. */
#define VC_ACCEL_CACHE_DIR "/run/vcrun"
char *vc_accel_cache_path(const char *root);

/* plan: what create would do with a bundle, as JSON, doing none of it. */
int vc_plan_describe(const struct vc_ctx *ctx, const char *bundle, char **json,
		     struct vc_error *err);

/* state: runc's JSON (indented), malloc'd. */
int vc_container_state_json(const struct vc_ctx *ctx, const char *id, char **json,
			    struct vc_error *err);

struct vc_container_info {
	char *id, *status, *bundle, *created, *owner;
	pid_t pid;
};
int vc_container_list(const struct vc_ctx *ctx, struct vc_container_info **out, size_t *n,
		      struct vc_error *err);
void vc_container_info_free(struct vc_container_info *list, size_t n);

/* Container ids: non-empty, [A-Za-z0-9_.+-]... as runc (no '/', not "." or ".."). */
int vc_id_validate(const char *id, struct vc_error *err);

/* Re-exec entry points: `vcrun` runs these when started as its own helper
 * processes (argv[1] is a hidden mode name). Return the process exit status. */
int vc_monitor_main(int argc, char **argv);
int vc_standin_main(int argc, char **argv);

#endif
