/* Helpers shared by the files of vfio/ only; nothing outside vfio/ includes this. */
#ifndef VC_VFIO_INTERNAL_H
#define VC_VFIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "common/sysfs.h"
#include "vfio/vfio.h"

/* Class 0x0604xx: PCI-to-PCI bridge (root ports and switch ports included). */
#define VFIO_CLASS_BRIDGE 0x0604
#define VFIO_PCIEPORT	  "pcieport"
#define VFIO_ATTR_MAX	  4096

static inline const char *vfio_sysfs(const char *root)
{
	return root && *root ? root : VC_VFIO_SYSFS_ROOT;
}

static inline const char *vfio_dev(const char *root)
{
	return root && *root ? root : VC_VFIO_DEV_ROOT;
}

static inline bool vfio_on_vfio_pci(const char *driver)
{
	return driver && !strcmp(driver, VC_VFIO_PCI_DRIVER);
}

/* SYSFS/bus/pci/devices/BDF, or a file in it when attr is non-NULL. malloc'd. */
char *vfio_pci_path(const char *sysfs, const char *bdf, const char *attr);

/* A sysfs attribute's text with trailing whitespace removed. */
int vfio_read_attr(const char *path, char **out, struct vc_error *err);
/* An attribute holding one hex number ("0x10de"), at most max. */
int vfio_read_hex(const char *path, uint64_t max, uint64_t *out, struct vc_error *err);

/* The IOMMU group a PCI device names as its own (its iommu_group link); ENOENT
 * when it has none. */
int vfio_device_group(const char *sysfs, const char *bdf, unsigned *group, struct vc_error *err);

/* A driver name that is safe as a path component under SYSFS/bus/pci/drivers. */
bool vfio_driver_name_ok(const char *name);

#endif
