/* runc's `state` JSON: ociVersion, id, pid, status, bundle, rootfs, created
 * (RFC3339Nano), owner, annotations. */
#ifndef VC_OCI_STATE_H
#define VC_OCI_STATE_H

#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

struct vc_oci_state {
	const char *id;
	pid_t pid;	    /* 0 when stopped */
	const char *status; /* created|running|paused|stopped */
	const char *bundle;
	const char *rootfs;
	const char *created; /* RFC3339Nano */
	const char *owner;   /* "" as runc */
	const struct vc_oci_annotation *annotations;
	size_t n_annotations;
	const char *oci_version; /* NULL: VC_OCI_VERSION */
};

/* runc's `state` output: pretty is byte for byte runc's (two-space indent, no final
 * newline, annotations sorted by key and left out when there are none); compact
 * is the same on one line. NULL strings read as "". */
int vc_oci_state_to_json(const struct vc_oci_state *st, bool pretty, char **out,
			 struct vc_error *err);

/* The runtime-spec State that hooks read on stdin, as runc writes it:
 * ociVersion, id, status, pid (left out when 0), bundle, annotations (left out
 * when none), compact. rootfs, created and owner are not part of it. */
int vc_oci_state_to_hook_json(const struct vc_oci_state *st, char **out, struct vc_error *err);

#endif
