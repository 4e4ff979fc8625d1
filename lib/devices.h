/* Device requests of a spec on its way into a VM (CDI today; VFIO next). */
#ifndef VC_LIB_DEVICES_H
#define VC_LIB_DEVICES_H

#include "common/error.h"
#include "oci/spec.h"

/* Resolves the spec's cdi.k8s.io/ requests against the CDI registry (default
 * directories, or $VCRUN_CDI_SPEC_DIRS) and replaces *spec with the edited one.
 * Nothing changes when no device is requested; on any error *spec is untouched. */
int vc_devices_apply_cdi(struct vc_oci_spec **spec, struct vc_error *err);

#endif
