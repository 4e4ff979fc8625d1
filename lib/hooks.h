/* OCI hooks, run on the host (the container's namespaces are in the VM; what a hook
 * can reach of the container is its state: the JSON on its stdin, and the pid in it).
 * Each hook gets the state on stdin, runs with its own args and env, and is killed
 * when its timeout passes. */
#ifndef VC_LIB_HOOKS_H
#define VC_LIB_HOOKS_H

#include "common/error.h"
#include "lib/state.h"
#include "oci/spec.h"

enum vc_hook_stage {
	VC_HOOK_PRESTART,
	VC_HOOK_CREATE_RUNTIME,
	VC_HOOK_CREATE_CONTAINER,
	VC_HOOK_START_CONTAINER,
	VC_HOOK_POSTSTART,
	VC_HOOK_POSTSTOP,
};

/* Runs every hook of a stage in order; the first failure stops the rest and names
 * the stage, the hook's path, its exit status and the end of its stderr. */
int vc_hooks_run(const struct vc_oci_spec *spec, enum vc_hook_stage stage,
		 const struct vc_state *st, const char *status, struct vc_error *err);

/* Every hook of every stage can be run by this process: its path exists and is
 * executable (access X_OK, with the real ids, which are the caller's). The error
 * names the hook ("hooks.prestart[0] `/usr/bin/x`"). Rootless create asks first,
 * so that a hook only root may run fails before anything is made. */
int vc_hooks_check_runnable(const struct vc_oci_spec *spec, struct vc_error *err);

/* The spec as `create` saw it, kept in the state directory for the hooks of later
 * calls (start, delete), so an edited bundle cannot change them. NULL *spec (and 0)
 * when the container has no saved spec. */
int vc_hooks_save_spec(const char *root, const char *id, const struct vc_oci_spec *spec,
		       struct vc_error *err);
int vc_hooks_load_spec(const char *root, const char *id, struct vc_oci_spec **spec,
		       struct vc_error *err);

#endif
