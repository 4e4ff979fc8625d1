/* sysfs primitives shared by the host's vfio/ and the guest agent (both bind PCI
 * functions to drivers and follow sysfs links). Paths are whole: callers join a
 * root, so fake trees work in tests. */
#ifndef VC_COMMON_SYSFS_H
#define VC_COMMON_SYSFS_H

#include <stdbool.h>

#include "common/error.h"

/* Writes value and a newline to an existing attribute, in one write. O_APPEND:
 * sysfs ignores the offset, and a fake tree then keeps every write, in order, for
 * the tests to read. Never creates a file. */
int vc_sysfs_write(const char *path, const char *value, struct vc_error *err);

/* The last component of a symlink's target ("../../bus/pci/drivers/e1000e" ->
 * "e1000e"); *name is NULL when path does not exist. */
int vc_sysfs_link_name(const char *path, char **name, struct vc_error *err);

/* A decimal index as sysfs names them (IOMMU groups): no sign or leading zeros,
 * < 2^31. */
bool vc_sysfs_parse_index(const char *s, unsigned *out);

/* The kernel's name for device maj:min under /dev ("loop3", "vda", "pts/0"): DEVNAME
 * in SYSFS/dev/{block,char}/MAJ:MIN/uevent (sysfs_root NULL: /sys). NULL when the
 * kernel has no such device, names none, or a name that would leave /dev. */
char *vc_sysfs_devname(const char *sysfs_root, bool block, unsigned maj, unsigned min);

/* The node of block device maj:min under dev_root (NULL: /dev), by its sysfs name,
 * checked to be that device (a block node with that number). 0 and *node
 * (malloc'd); -ENODEV when sysfs names none; -ENOTBLK when the node named is
 * missing or another device (*node still set, for the caller's message); -ENOMEM. */
int vc_sysfs_block_node(const char *sysfs_root, const char *dev_root, unsigned maj, unsigned min,
			char **node);

#endif
