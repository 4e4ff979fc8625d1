/* Device requests of a spec on its way into a VM (CDI today; VFIO next). */
#ifndef VC_LIB_DEVICES_H
#define VC_LIB_DEVICES_H

#include "common/error.h"
#include "oci/spec.h"
#include "vfio/vfio.h"

/* Resolves the spec's cdi.k8s.io/ requests against the CDI registry (default
 * directories, or $VCRUN_CDI_SPEC_DIRS) and replaces *spec with the edited one.
 * Nothing changes when no device is requested; on any error *spec is untouched.
 * Device nodes other than VFIO groups are refused (a guest kernel cannot use a host
 * device node); VFIO groups stay in linux.devices for vc_devices_vfio_groups. */
int vc_devices_apply_cdi(struct vc_oci_spec **spec, struct vc_error *err);

/* The VFIO groups the spec asks for: every linux.devices entry under /dev/vfio/
 * (docker --device, podman --device, CDI), as group numbers, deduplicated in order.
 * *ids is malloc'd (NULL when none). */
int vc_devices_vfio_groups(const struct vc_oci_spec *spec, unsigned **ids, size_t *n,
			   struct vc_error *err);

/* Where VFIO, IOMMU and vhost-vsock are looked for: VCRUN_SYSFS_ROOT and
 * VCRUN_DEV_ROOT (fake trees in tests), else /sys and /dev. */
const char *vc_devices_sysfs_root(void);
const char *vc_devices_dev_root(void);

/* The VFIO groups a spec asks for, loaded from VCRUN_SYSFS_ROOT / VCRUN_DEV_ROOT (or
 * /sys and /dev), checked as the kernel requires, with what binding would change
 * (when bind) and where each function goes in the guest. */
struct vc_vfio_request {
	struct vc_vfio_group *groups;
	size_t n;
	struct vc_vfio_binding *bind; /* per group; empty unless binding */
	struct vc_vfio_plan place;
	const char *sysfs_root, *dev_root;
};
int vc_devices_vfio_prepare(const struct vc_oci_spec *spec, bool bind, struct vc_vfio_request *v,
			    struct vc_error *err);
void vc_devices_vfio_release(struct vc_vfio_request *v);

#endif
