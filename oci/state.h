/* runc's `state` JSON: ociVersion, id, pid, status, bundle, rootfs, created
 * (RFC3339Nano), owner, annotations. */
#ifndef VC_OCI_STATE_H
#define VC_OCI_STATE_H

#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

struct vc_oci_state {
	const char *id;
	pid_t pid; /* 0 when stopped */
	const char *status; /* created|running|paused|stopped */
	const char *bundle;
	const char *rootfs;
	const char *created; /* RFC3339Nano */
	const char *owner;   /* "" as runc */
	const struct vc_oci_annotation *annotations;
	size_t n_annotations;
};

/* pretty: runc's `state` output (indented); compact: hooks' stdin. */
int vc_oci_state_to_json(const struct vc_oci_state *st, bool pretty, char **out,
			 struct vc_error *err);

#endif
