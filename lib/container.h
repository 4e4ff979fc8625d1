/* The container verbs as they act on one container, whatever its sandbox: what
 * lib/sandbox-ops.c (the public sandbox API) calls once it has checked that the
 * container is a member. Internal to lib/. */
#ifndef VC_LIB_CONTAINER_H
#define VC_LIB_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "lib/vcrun.h"

/* create's second half: the container of cfg created, booting its sandbox's VM
 * (cfg boots its own) or joining the running one. */
int vc_container_create_cfg(const struct vc_ctx *ctx, struct vc_container_config *cfg, pid_t *pid,
			    struct vc_error *err);
/* The id and (for a joining one) the sandbox of a loaded config. */
const char *vc_container_config_id(const struct vc_container_config *cfg);

/* Stops everything container id has on the host, from any half-built state (st may
 * be NULL): it leaves its sandbox through the monitor if that answers (the VM goes
 * with its last container, or with the pod's sandbox container), else by pid; then
 * its binds, devices, network and state dir. An owner that leaves while others still
 * run in its VM keeps its dir without state.json; the last one out removes it. */
struct vc_state;
int vc_container_teardown(const char *root, const char *id, const struct vc_state *st,
			  struct vc_error *err);

int vc_container_start(const struct vc_ctx *ctx, const char *id, struct vc_error *err);
int vc_container_kill(const struct vc_ctx *ctx, const char *id, int sig, bool all,
		      struct vc_error *err);
int vc_container_delete(const struct vc_ctx *ctx, const char *id, bool force, struct vc_error *err);
int vc_container_pause(const struct vc_ctx *ctx, const char *id, struct vc_error *err);
int vc_container_resume(const struct vc_ctx *ctx, const char *id, struct vc_error *err);
int vc_container_update(const struct vc_ctx *ctx, const char *id, const char *resources_json,
			const char *source, struct vc_error *err);
int vc_container_exec(const struct vc_ctx *ctx, const char *id, const struct vc_exec_opts *opts,
		      pid_t *pid, int *status, struct vc_error *err);

#endif
