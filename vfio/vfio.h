/* VFIO on the host: IOMMU groups and their devices read from sysfs, the checks that
 * say whether a group can be passed to a VM, binding to vfio-pci (only when asked)
 * and its restore, and the guest placement that hv/ turns into QEMU options.
 *
 * The sysfs and /dev roots are parameters ("/sys" and "/dev" when NULL), so tests
 * and `vcrun plan` run against a fake tree. Nothing here starts a VM or opens a
 * device except vc_vfio_group_open_check. */
#ifndef VC_VFIO_VFIO_H
#define VC_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "hv/hv.h" /* struct vc_hv_vfio_pci: the placement hv/ consumes */
#include "oci/json.h"

#define VC_VFIO_SYSFS_ROOT "/sys"
#define VC_VFIO_DEV_ROOT   "/dev"
#define VC_VFIO_PCI_DRIVER "vfio-pci"

/* "0000:01:00.0"; Linux prints domains past 0xffff with more digits (VMD). */
#define VC_PCI_BDF_MAX 20

struct vc_pci_bdf {
	uint32_t domain;
	uint8_t bus, slot, function;
};

/* Strict: DOMAIN (4 to 8 hex digits) ":" BUS (2) ":" SLOT (2, < 0x20) "." FN (0-7). */
int vc_pci_bdf_parse(const char *s, struct vc_pci_bdf *out);
void vc_pci_bdf_format(const struct vc_pci_bdf *b, char out[VC_PCI_BDF_MAX]);
/* Same domain, bus and slot: functions of one device. */
bool vc_pci_same_slot(const struct vc_pci_bdf *a, const struct vc_pci_bdf *b);

struct vc_vfio_pci_dev {
	char bdf[VC_PCI_BDF_MAX];
	struct vc_pci_bdf addr;
	uint16_t vendor, device;
	uint32_t class_code;  /* 24 bits: class, subclass, programming interface */
	char *driver;	      /* bound driver's name; NULL when none */
	bool bridge;	      /* class 0x0604xx: a PCI bridge, stays with the host */
	uint64_t bar64_bytes; /* 64-bit prefetchable BARs; 0 when resource is absent */
	bool bar64_known;     /* resource was read */
	char *in_use;	      /* why the host uses it ("network interface eth0 is up"), or NULL */
};

struct vc_vfio_ap_dev {
	char *uuid;
	char *sysfs_path; /* SYSFS/devices/vfio_ap/matrix/UUID, what vfio-ap takes */
};

struct vc_vfio_group {
	unsigned id;
	char *sysfs_root, *dev_root;
	char *dev_path;		     /* DEV/vfio/N */
	struct vc_vfio_pci_dev *pci; /* sorted by BDF */
	size_t n_pci;
	struct vc_vfio_ap_dev *ap;
	size_t n_ap;
};

/* The group number of a device node path: ".../vfio/N" or a bare "N". Refuses
 * the container node (vfio/vfio), no-IOMMU groups (vfio/noiommu-N: no isolation)
 * and iommufd device nodes (vfio/devices/...). */
int vc_vfio_group_id_from_path(const char *path, unsigned *id, struct vc_error *err);
/* Whether path is under a vfio/ directory at all (a device request for VFIO). */
bool vc_vfio_is_vfio_path(const char *path);

/* The IOMMU: usable when SYSFS/kernel/iommu_groups has groups. *n_groups (may be
 * NULL) gets their number. Fails with ENODEV and what to do. */
int vc_vfio_iommu_check(const char *sysfs_root, unsigned *n_groups, struct vc_error *err);
/* The vfio-pci driver is loaded (SYSFS/bus/pci/drivers/vfio-pci) and the VFIO
 * container node DEV/vfio/vfio exists. ENODEV with what to do. */
int vc_vfio_driver_check(const char *sysfs_root, const char *dev_root, struct vc_error *err);

/* Reads group id: every entry of SYSFS/kernel/iommu_groups/N/devices. PCI devices
 * are read through SYSFS/bus/pci/devices/BDF and must name group N as theirs; AP
 * matrix devices (mediated devices under SYSFS/devices/vfio_ap/matrix) are
 * recognised by their link. Anything else fails (ENOTSUP, naming it). */
int vc_vfio_group_load(const char *sysfs_root, const char *dev_root, unsigned id,
		       struct vc_vfio_group *g, struct vc_error *err);
void vc_vfio_group_release(struct vc_vfio_group *g);

/* Can the group be passed through? Every endpoint must be on vfio-pci, or, with
 * bind, on any driver (vcrun binds it) as long as the host is not using it
 * (EBUSY); bridges must stay on pcieport or have no driver. With bind: root only
 * (EPERM) and vfio-pci loaded. Messages name the group, the device and its driver. */
int vc_vfio_group_check(const struct vc_vfio_group *g, bool bind, struct vc_error *err);

/* Opens and closes DEV/vfio/N as QEMU will: ENOENT (no node: not every device is
 * on vfio-pci), EBUSY (another process, another VM, has the group), EACCES. */
int vc_vfio_group_open_check(const struct vc_vfio_group *g, struct vc_error *err);

/* Binding. A binding lists the endpoints vcrun moves to vfio-pci, with the driver
 * each had (NULL: none), so restore works from a later process. */
struct vc_vfio_bound {
	char bdf[VC_PCI_BDF_MAX];
	char *driver;
};

struct vc_vfio_binding {
	unsigned group;
	struct vc_vfio_bound *devs;
	size_t n_devs;
};

/* What vc_vfio_bind would change: the group's endpoints not on vfio-pci. Pure;
 * save the result (vc_vfio_bindings_save) before binding, so a crash in the middle
 * can still be restored. */
int vc_vfio_bind_plan(const struct vc_vfio_group *g, struct vc_vfio_binding *out,
		      struct vc_error *err);
/* For each device: driver_override = vfio-pci, unbind from its driver, bind to
 * vfio-pci. Checks first (root, vfio-pci loaded, every device still in the group)
 * and writes nothing if a check fails; on a failed write restores what it did. */
int vc_vfio_bind(const char *sysfs_root, const struct vc_vfio_binding *b, struct vc_error *err);
/* Undoes a binding: clears driver_override, unbinds from vfio-pci and binds the
 * original driver back (drivers_probe when that fails). A device that left the
 * group is not touched; a device that is on some third driver is left there. Goes
 * on past failures and returns the first one. Safe to run twice. */
int vc_vfio_restore(const char *sysfs_root, const struct vc_vfio_binding *b, struct vc_error *err);
void vc_vfio_binding_release(struct vc_vfio_binding *b);

/* The record of bindings: {"version":1,"groups":[{"group":N,"devices":[{"bdf":..,
 * "driver":..|null}]}]}. from_json validates every BDF and driver name. */
int vc_vfio_bindings_to_json(const struct vc_vfio_binding *b, size_t n, char **out, size_t *len,
			     struct vc_error *err);
int vc_vfio_bindings_from_json(const char *text, size_t len, const char *source,
			       struct vc_vfio_binding **out, size_t *n, struct vc_error *err);
int vc_vfio_bindings_save(const char *path, const struct vc_vfio_binding *b, size_t n,
			  struct vc_error *err);
/* A missing file is an empty record (nothing was bound). */
int vc_vfio_bindings_load(const char *path, struct vc_vfio_binding **out, size_t *n,
			  struct vc_error *err);
void vc_vfio_bindings_free(struct vc_vfio_binding *b, size_t n);

/* Guest placement. The endpoints of one group that are functions of one host slot
 * share a pcie-root-port, as functions of its slot (function 0 multifunction when
 * there are several); every other slot gets its own port. Bridges stay on the
 * host. Host function numbers are kept when the slot's function 0 is passed, else
 * the functions are renumbered from 0 in order. Ports are numbered from
 * first_port (>= 1). A group listed twice is placed once. */
struct vc_vfio_plan {
	struct vc_hv_vfio_pci *pci; /* owned; hand to vc_hv_config.vfio_pci */
	size_t n_pci;
	char **ap; /* owned sysfs paths; hand to vc_hv_config.vfio_ap */
	size_t n_ap;
	unsigned n_ports;
	/* q35's 64-bit MMIO window, 0 when no PCI device is passed: per port the
	 * 64-bit prefetchable BARs summed and rounded up to a power of two (a bridge
	 * window is aligned to its size), those summed, doubled and rounded up to a
	 * power of two (so they fit wherever the hole starts); at least
	 * VC_VFIO_HOLE64_MIN, and VC_VFIO_HOLE64_DEFAULT when a BAR size is unknown. */
	uint64_t pci_hole64_bytes;
};

#define VC_VFIO_HOLE64_MIN     (32ULL << 30) /* QEMU's q35 default */
#define VC_VFIO_HOLE64_DEFAULT (64ULL << 30) /* when a device's BARs are unknown */

int vc_vfio_place(const struct vc_vfio_group *groups, size_t n_groups, unsigned first_port,
		  struct vc_vfio_plan *out, struct vc_error *err);
void vc_vfio_plan_release(struct vc_vfio_plan *p);

/* For `vcrun plan`: one JSON object per group (devices, drivers, what would be
 * bound: pass b = NULL when nothing is bound), and the placement. */
void vc_vfio_group_describe(struct vc_jgen *g, const struct vc_vfio_group *grp,
			    const struct vc_vfio_binding *b);
void vc_vfio_plan_describe(struct vc_jgen *g, const struct vc_vfio_plan *p);

#endif
