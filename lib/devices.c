/* Device requests on the way into a VM: CDI devices named by the spec's
 * cdi.k8s.io/ annotations are resolved and their edits applied to the spec before
 * anything is planned. Env, mounts, hooks and additionalGids work as they would with
 * runc (mounts are shared into the guest like any bind mount, hooks run on the host).
 * A char device node cannot be handed to a guest kernel: only VFIO devices can, as
 * PCI passthrough, and block devices, as virtio-blk disks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "common/cleanup.h"
#include "lib/devices.h"
#include "oci/json.h"
#include "vfio/vfio.h"

/* A block device goes on into linux.devices and becomes a disk there
 * (lib/plan-devices.c), as one from --device does. */
static int refuse_nodes(const struct vc_cdi_result *res, struct vc_error *err)
{
	for (size_t i = 0; i < res->nnodes; i++) {
		const struct vc_cdi_node *n = &res->nodes[i];
		const char *host = n->host_path ? n->host_path : n->path;
		if ((host && vc_vfio_is_vfio_path(host)) || !strcmp(n->type, "b"))
			continue;
		return vc_error_set(
			err, ENOTSUP,
			"CDI device %s (%s): device node %s cannot be passed into a VM: "
			"only VFIO devices (/dev/vfio/N) and block devices can",
			n->device, n->spec_path, host ? host : "(none)");
	}
	return 0;
}

int vc_devices_vfio_groups(const struct vc_oci_spec *spec, unsigned **ids, size_t *n,
			   struct vc_error *err)
{
	*ids = NULL;
	*n = 0;
	if (!spec->linux)
		return 0;
	for (size_t i = 0; i < spec->linux->n_devices; i++) {
		const char *path = spec->linux->devices[i].path;
		/* The container node is not a group: docker and podman users pass it
		 * along with the groups (--device /dev/vfio/vfio), as DPDK needs both. */
		if (!path || !vc_vfio_is_vfio_path(path) || !strcmp(path, "/dev/vfio/vfio"))
			continue;
		unsigned id;
		if (vc_vfio_group_id_from_path(path, &id, err) < 0)
			return vc_error_wrap(err, "linux.devices[%zu].path", i);
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = (*ids)[k] == id;
		if (seen)
			continue;
		unsigned *nv = realloc(*ids, (*n + 1) * sizeof(*nv));
		if (!nv) {
			free(*ids);
			*ids = NULL;
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		*ids = nv;
		(*ids)[(*n)++] = id;
	}
	return 0;
}

int vc_devices_apply_cdi(struct vc_oci_spec **specp, struct vc_error *err)
{
	struct vc_oci_spec *spec = *specp;
	_cleanup_strv_ char **names = NULL;
	int r = vc_cdi_annotation_devices(spec->raw, &names, err);
	if (r < 0)
		return vc_error_wrap(err, "annotations");
	if (!names || !names[0])
		return 0;

	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	if ((r = vc_cdi_registry_load(NULL, &reg, err)) < 0)
		return r;
	_cleanup_json_ struct vc_json *edited = vc_json_clone(spec->raw);
	if (!edited)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct vc_cdi_result res = {0};
	r = vc_cdi_apply(reg, edited, NULL, &res, err);
	if (r == 0)
		r = refuse_nodes(&res, err);
	vc_cdi_result_free(&res);
	if (r < 0)
		return r;

	/* The model again, from the edited document; where the bundle is stays. */
	struct vc_oci_spec *next = NULL;
	if ((r = vc_oci_spec_from_json(steal_ptr(edited), &next, err)) < 0)
		return vc_error_wrap(err, "the spec after CDI edits");
	next->bundle = strdup(spec->bundle);
	next->rootfs_abs = strdup(spec->rootfs_abs);
	if (!next->bundle || !next->rootfs_abs) {
		vc_oci_spec_free(next);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if ((r = vc_oci_spec_validate(next, err)) < 0) {
		vc_oci_spec_free(next);
		return vc_error_wrap(err, "the spec after CDI edits");
	}
	vc_oci_spec_free(spec);
	*specp = next;
	return 0;
}

static const char *env_root(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

const char *vc_devices_sysfs_root(void)
{
	return env_root("VCRUN_SYSFS_ROOT", VC_VFIO_SYSFS_ROOT);
}

const char *vc_devices_dev_root(void)
{
	return env_root("VCRUN_DEV_ROOT", VC_VFIO_DEV_ROOT);
}

void vc_devices_vfio_release(struct vc_vfio_request *v)
{
	for (size_t i = 0; i < v->n; i++) {
		vc_vfio_group_release(&v->groups[i]);
		vc_vfio_binding_release(&v->bind[i]);
	}
	free(v->groups);
	free(v->bind);
	vc_vfio_plan_release(&v->place);
	memset(v, 0, sizeof(*v));
}

int vc_devices_vfio_prepare(const struct vc_oci_spec *spec, bool bind, struct vc_vfio_request *v,
			    struct vc_error *err)
{
	memset(v, 0, sizeof(*v));
	v->sysfs_root = vc_devices_sysfs_root();
	v->dev_root = vc_devices_dev_root();
	_cleanup_free_ unsigned *ids = NULL;
	size_t n = 0;
	int r = vc_devices_vfio_groups(spec, &ids, &n, err);
	if (r < 0 || n == 0)
		return r;
	unsigned found = 0;
	if ((r = vc_vfio_iommu_check(v->sysfs_root, &found, err)) < 0)
		return vc_error_wrap(err, "linux.devices: %s/vfio/%u", v->dev_root, ids[0]);
	v->groups = calloc(n, sizeof(*v->groups));
	v->bind = calloc(n, sizeof(*v->bind));
	if (!v->groups || !v->bind) {
		vc_devices_vfio_release(v);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = vc_vfio_group_load(v->sysfs_root, v->dev_root, ids[i], &v->groups[i],
					    err)) < 0)
			goto fail;
		v->n++;
		if ((r = vc_vfio_group_check(&v->groups[i], bind, err)) < 0 ||
		    (bind && (r = vc_vfio_bind_plan(&v->groups[i], &v->bind[i], err)) < 0))
			goto fail;
	}
	if ((r = vc_vfio_place(v->groups, v->n, 1, &v->place, err)) < 0)
		goto fail;
	return 0;
fail:
	vc_devices_vfio_release(v);
	return r;
}
