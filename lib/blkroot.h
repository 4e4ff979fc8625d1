/* A block-backed rootfs (issue 16): a bundle whose rootfs is the mount of a host
 * block device (a loop-mounted image, a devmapper thin device) gives the VM that
 * device as a virtio-blk disk instead of sharing the directory over 9p/virtio-fs.
 * The filesystem is never mounted on both sides at once: create unmounts the
 * host's mount before the VM opens the disk, and teardown mounts it back exactly
 * as it was (the record travels in plan.json). */
#ifndef VC_LIB_BLKROOT_H
#define VC_LIB_BLKROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* "true" or "false": this container's rootfs goes to the VM as a disk when it can,
 * whatever vcrun's config ("block_rootfs") says. */
#define VC_ANNOT_BLOCK_ROOTFS "io.vcrun.block-rootfs"

/* The host's mount of a rootfs, as /proc/self/mountinfo shows it: enough to mount
 * it again exactly (mount(source, path, fstype, flags, data)). */
struct vc_blkroot {
	char *path;   /* the rootfs: the mount point */
	char *source; /* mountinfo's source, as it was mounted ("/dev/loop3") */
	char *device; /* the block node behind major:minor, which QEMU opens */
	char *fstype;
	unsigned long flags; /* MS_* of the mount and its superblock */
	char *data;	     /* the superblock's fs options, without rw/ro ("" for none) */
	/* The guest's mount options: the mount's and the superblock's words, without
	 * rw/ro (the Storage's readonly says that). NULL-terminated. */
	char **options;
};

/* Where the host's view comes from; NULL fields: /proc/self/mountinfo, /sys, /dev
 * (tests give a fake mountinfo and trees). */
struct vc_blkroot_where {
	const char *mountinfo, *sysfs_root, *dev_root;
};

/* Whether rootfs (absolute) is a mount of its own whose source is a host block
 * device that the VM can take over whole: 1 and *out filled; 0 with why (for the
 * debug log) when it is not: no mount of its own, a filesystem without a device
 * (overlay, tmpfs, 9p, btrfs: major 0), a bind of a subdirectory, the device
 * mounted elsewhere on the host too, or mounts below the rootfs (the guest would
 * not see them: the share shows them, so the share is used). < 0 when mountinfo
 * cannot be read. */
int vc_blkroot_find(const struct vc_blkroot_where *w, const char *rootfs, struct vc_blkroot *out,
		    char *why, size_t why_len, struct vc_error *err);
void vc_blkroot_release(struct vc_blkroot *b);

/* Unmounts the host's mount (never lazily): EBUSY names the path and says that
 * something on the host holds it. Then checks, by an exclusive open of the
 * device, that no other mount namespace keeps the filesystem mounted (a copy made
 * while it was mounted, which a private mount's unmount does not reach); if one
 * does it mounts it back and fails, naming a process that has it. */
int vc_blkroot_unmount(const struct vc_blkroot *b, struct vc_error *err);
/* Mounts it back when path is no mount point (so twice is once): 1 when it did, 0
 * when it was mounted already. mountinfo NULL: /proc/self/mountinfo. */
int vc_blkroot_remount(const struct vc_blkroot *b, const char *mountinfo, struct vc_error *err);

/* mountinfo's octal escapes (\040 for a space) undone in place. */
void vc_mountinfo_unescape(char *s);

#endif
