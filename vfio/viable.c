/* Whether a group can go to a VM. The kernel hands out a group only when all of it
 * is safe to give away (a guest's DMA reaches every device in it), and QEMU needs
 * every endpoint on vfio-pci to open it: so all endpoints go, or none. */
#include "vfio/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

static int check_bridge(const struct vc_vfio_group *g, const struct vc_vfio_pci_dev *d,
			struct vc_error *err)
{
	if (!d->driver || !strcmp(d->driver, VFIO_PCIEPORT))
		return 0;
	return vc_error_set(err, EINVAL,
			    "IOMMU group %u is not viable: bridge %s is bound to %s (a bridge may "
			    "only stay on pcieport or have no driver)",
			    g->id, d->bdf, d->driver);
}

static int check_endpoint(const struct vc_vfio_group *g, const struct vc_vfio_pci_dev *d, bool bind,
			  struct vc_error *err)
{
	if (vfio_on_vfio_pci(d->driver))
		return 0;
	if (!bind)
		return vc_error_set(err, EINVAL,
				    "IOMMU group %u is not viable: device %s [%04x:%04x] is on %s, "
				    "not vfio-pci; bind every device of the group to vfio-pci (or "
				    "let vcrun do it)",
				    g->id, d->bdf, d->vendor, d->device,
				    d->driver ? d->driver : "no driver");
	if (d->in_use)
		return vc_error_set(err, EBUSY,
				    "IOMMU group %u: device %s (%s) is busy: %s on the host; take "
				    "it out of use first",
				    g->id, d->bdf, d->driver ? d->driver : "no driver", d->in_use);
	return 0;
}

int vc_vfio_group_check(const struct vc_vfio_group *g, bool bind, struct vc_error *err)
{
	if (g->n_pci == 0 && g->n_ap == 0)
		return vc_error_set(err, ENOENT, "IOMMU group %u has no devices", g->id);
	size_t endpoints = 0;
	bool needs_bind = false;
	for (size_t i = 0; i < g->n_pci; i++) {
		const struct vc_vfio_pci_dev *d = &g->pci[i];
		int r = d->bridge ? check_bridge(g, d, err) : check_endpoint(g, d, bind, err);
		if (r < 0)
			return r;
		endpoints += !d->bridge;
		needs_bind |= !d->bridge && !vfio_on_vfio_pci(d->driver);
	}
	if (endpoints == 0 && g->n_ap == 0)
		return vc_error_set(err, EINVAL,
				    "IOMMU group %u holds only bridges: nothing to pass to a VM",
				    g->id);
	if (!needs_bind)
		return 0;
	if (geteuid() != 0)
		return vc_error_set(err, EPERM,
				    "IOMMU group %u: binding its devices to vfio-pci needs root",
				    g->id);
	return vc_vfio_driver_check(g->sysfs_root, g->dev_root, err);
}

int vc_vfio_group_open_check(const struct vc_vfio_group *g, struct vc_error *err)
{
	_cleanup_close_ int fd = open(g->dev_path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return 0;
	switch (errno) {
	case ENOENT:
		return vc_error_set(err, ENOENT,
				    "IOMMU group %u: `%s` does not exist: not every device of the "
				    "group is bound to vfio-pci",
				    g->id, g->dev_path);
	case EBUSY:
		return vc_error_set(err, EBUSY,
				    "IOMMU group %u is busy: `%s` is open in another process (a "
				    "group goes to one VM at a time)",
				    g->id, g->dev_path);
	default:
		return vc_error_sys(err, errno, "IOMMU group %u: open `%s`", g->id, g->dev_path);
	}
}
