/* libvcrun: containers in lightweight virtual machines, from C.
 *
 * The same code as the `vcrun` command (an OCI runtime that docker, podman and
 * containerd drive as they drive runc), as a shared library: a program creates a
 * container from an OCI bundle, spawns processes in it with its own file
 * descriptors as their stdio, signals and waits for them, and destroys it. Each
 * container runs in a VM of its own, or joins a running one (a sandbox: a pod's VM).
 *
 * Conventions:
 * - Every call that can fail returns 0 or a negative errno; vcrun_ctx_error() then
 *   reads back a message that names the cause (the file, field or argument at
 *   fault). Calls on a container or process use the context they were made with.
 * - Handles and options objects are opaque; each has its _free. A NULL handle is
 *   fine for every _free.
 * - State lives in the context's root directory (default /run/vcrun), shared with
 *   the `vcrun` command: `vcrun list --root ROOT` shows what a program made.
 * - Needs root, like the command. The VM's helper processes run the installed
 *   `vcrun` program (vcrun_ctx_set_program).
 * - A context is not thread-safe; use one per thread.
 *
 * ABI: only vcrun_* symbols are exported; their signatures change only with the
 * soname (libvcrun.so.0). */
#ifndef VCRUN_H
#define VCRUN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VCRUN_API_VERSION 1

typedef struct vcrun_ctx vcrun_ctx;
typedef struct vcrun_sandbox vcrun_sandbox;
typedef struct vcrun_container vcrun_container;
typedef struct vcrun_process vcrun_process;
typedef struct vcrun_create_opts vcrun_create_opts;
typedef struct vcrun_spawn_opts vcrun_spawn_opts;

/* A context: root is the state directory (NULL: /run/vcrun). */
int vcrun_ctx_new(const char *root, vcrun_ctx **ctx);
void vcrun_ctx_free(vcrun_ctx *ctx);
/* The message of the last call on ctx that failed ("" when none did). */
const char *vcrun_ctx_error(const vcrun_ctx *ctx);
/* The `vcrun` program whose hidden modes run each container's helper processes
 * (the VM's monitor, the stand-in whose pid is the container's). Default:
 * $VCRUN_PROGRAM when set, else ../bin/vcrun beside the library (relocatable
 * installs), else the configured bindir's. The guest image is found beside it. */
int vcrun_ctx_set_program(vcrun_ctx *ctx, const char *path);
/* Debug records on stderr (or in the log file): 1 on, 0 off. */
void vcrun_ctx_set_debug(vcrun_ctx *ctx, int on);

/* How a container is created. */
int vcrun_create_opts_new(vcrun_create_opts **opts);
void vcrun_create_opts_free(vcrun_create_opts *opts);
/* The OCI bundle: a directory with config.json and the root filesystem (NULL: the
 * working directory). */
int vcrun_create_opts_set_bundle(vcrun_create_opts *opts, const char *dir);
/* The container process's stdin, stdout and stderr (-1: /dev/null). Default: the
 * caller's 0, 1 and 2. The fds are duplicated: the caller may close its own. */
int vcrun_create_opts_set_stdio(vcrun_create_opts *opts, int in, int out, int err);
/* Join this running sandbox (its id, or the id of any container in it) instead of
 * booting a VM, whatever the bundle's annotations and namespaces say. Without it
 * they decide, as for the command: CRI sandbox annotations, namespaces another
 * container holds, else a VM of its own. */
int vcrun_create_opts_set_sandbox(vcrun_create_opts *opts, const char *sandbox_id);

/* Creates container id: on return it exists in its VM, created but not started.
 * opts may be NULL. */
int vcrun_container_create(vcrun_ctx *ctx, const char *id, const vcrun_create_opts *opts,
			   vcrun_container **c);
/* A handle on an existing container (made by any program, or by `vcrun`).
 * vcrun_container_wait works only on containers this process created. */
int vcrun_container_open(vcrun_ctx *ctx, const char *id, vcrun_container **c);
void vcrun_container_free(vcrun_container *c);
const char *vcrun_container_id(const vcrun_container *c);
/* The sandbox (VM) it runs in: the id of the container that booted it. */
const char *vcrun_container_sandbox(const vcrun_container *c);
/* Its host pid (runc's --pid-file pid): a stand-in that carries the process's
 * stdio and exits with its status. 0 once stopped. */
pid_t vcrun_container_pid(const vcrun_container *c);
/* "creating", "created", "running", "paused" or "stopped"; NULL on error. */
const char *vcrun_container_status(vcrun_container *c);
int vcrun_container_start(vcrun_container *c);
/* Signals the container's process (sig 0 probes it). */
int vcrun_container_kill(vcrun_container *c, int sig);
/* Waits for the container's process to end: *status is its exit code, or
 * 128 + the signal that killed it, as a shell reports it. */
int vcrun_container_wait(vcrun_container *c, int *status);
/* Stops it if it still runs and deletes it; its VM stops with its last container. */
int vcrun_container_destroy(vcrun_container *c);

/* How a process is spawned in a running container. */
int vcrun_spawn_opts_new(vcrun_spawn_opts **opts);
void vcrun_spawn_opts_free(vcrun_spawn_opts *opts);
/* The program and its arguments (NULL-terminated, required). */
int vcrun_spawn_opts_set_args(vcrun_spawn_opts *opts, const char *const *argv);
/* KEY=VALUE entries added to (or replacing) the container's environment. */
int vcrun_spawn_opts_set_env(vcrun_spawn_opts *opts, const char *const *env);
int vcrun_spawn_opts_set_cwd(vcrun_spawn_opts *opts, const char *cwd);
int vcrun_spawn_opts_set_user(vcrun_spawn_opts *opts, unsigned uid, unsigned gid);
/* As vcrun_create_opts_set_stdio. */
int vcrun_spawn_opts_set_stdio(vcrun_spawn_opts *opts, int in, int out, int err);

int vcrun_container_spawn(vcrun_container *c, const vcrun_spawn_opts *opts, vcrun_process **p);
/* Its host pid: a stand-in, a child of the caller, that carries its stdio. */
pid_t vcrun_process_pid(const vcrun_process *p);
int vcrun_process_kill(vcrun_process *p, int sig);
/* As vcrun_container_wait. */
int vcrun_process_wait(vcrun_process *p, int *status);
void vcrun_process_free(vcrun_process *p);

/* Sandboxes: one VM and the containers in it (a pod). A container created without
 * one boots its own sandbox, named by its id; others join it. */
/* The sandbox named by its id, or by the id of any container in it. */
int vcrun_sandbox_open(vcrun_ctx *ctx, const char *id, vcrun_sandbox **sb);
void vcrun_sandbox_free(vcrun_sandbox *sb);
const char *vcrun_sandbox_id(const vcrun_sandbox *sb);
/* The ids of its containers, its own first, in a NULL-terminated array: free it
 * with vcrun_strv_free. */
int vcrun_sandbox_containers(vcrun_sandbox *sb, char ***ids);
void vcrun_strv_free(char **v);
/* Creates container id in the running sandbox (as vcrun_container_create with
 * vcrun_create_opts_set_sandbox). opts may be NULL. */
int vcrun_sandbox_create_container(vcrun_sandbox *sb, const char *id, const vcrun_create_opts *opts,
				   vcrun_container **c);
/* Deletes every container of the sandbox, its own last, and with it the VM; without
 * force a container that still runs is an error and nothing is deleted. */
int vcrun_sandbox_destroy(vcrun_sandbox *sb, int force);

#ifdef __cplusplus
}
#endif

#endif
