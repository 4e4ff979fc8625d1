/* The sandbox share on the host (lib/sandbox.h): /run/vcrun/shared/HASH-OWNER is the one
 * directory the VM sees (one 9p or virtio-fs device), and each container's rootfs
 * and bind mounts are bound below it as ID/rootfs and ID/mN-NAME. A container that
 * joins a running VM thus needs no device, and the guest's mountinfo names the
 * host path each mount came from (its root is /ID/mN-NAME under the share). */
#include "lib/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/plan.h"

/* The share and each container's directory in it are 0711: a container's root in a
 * user namespace (a host uid of its mapping in the guest, which sees the host's
 * modes through 9p) walks through them to its rootfs and binds. The directories
 * above the share stay 0700, so that on the host nobody else reaches it. */
int vc_share_prepare(const char *share_dir, struct vc_error *err)
{
	_cleanup_free_ char *parent = strdup(share_dir);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!parent)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (slash && slash != parent) {
		*slash = '\0';
		if (vc_mkdir_p(parent, 0700, err) < 0)
			return -EIO;
	}
	if (mkdir(share_dir, 0711) < 0 && errno != EEXIST)
		return vc_error_sys(err, errno, "mkdir `%s`", share_dir);
	/* A mount point of its own, in a peer group of its own: binds made below it
	 * after the VM started reach virtiofsd's mount namespace (a slave copy), and
	 * nothing of ours propagates into the host's other mounts. */
	if (mount(share_dir, share_dir, NULL, MS_BIND, NULL) < 0)
		return vc_error_sys(err, errno, "bind `%s` onto itself", share_dir);
	if (mount(NULL, share_dir, NULL, MS_PRIVATE, NULL) < 0 ||
	    mount(NULL, share_dir, NULL, MS_SHARED, NULL) < 0) {
		int e = errno;
		umount2(share_dir, MNT_DETACH);
		return vc_error_sys(err, e, "make `%s` a shared mount", share_dir);
	}
	return 0;
}

/* Detaches every mount stacked on path; 0 once it is a mount point no more. */
static int unmount_all(const char *path)
{
	for (int i = 0; i < 64; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return errno == EINVAL || errno == ENOENT ? 0 : -errno;
	}
	return -EBUSY;
}

int vc_share_bind(const char *share_dir, const struct vc_plan *plan, struct vc_error *err)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", share_dir, plan->container_id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (mkdir(dir, 0711) < 0 && errno != EEXIST)
		return vc_error_sys(err, errno, "mkdir `%s`", dir);
	int r = 0;
	for (size_t i = 0; r == 0 && i < plan->n_binds; i++) {
		const struct vc_plan_bind *b = &plan->binds[i];
		_cleanup_free_ char *target = vc_strdup_printf("%s/%s", share_dir, b->target);
		if (!target) {
			r = vc_error_set(err, ENOMEM, "out of memory");
			break;
		}
		if (b->file) {
			int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0) {
				r = vc_error_sys(err, errno, "create `%s`", target);
				break;
			}
			close(fd);
		} else if (mkdir(target, 0700) < 0 && errno != EEXIST) {
			r = vc_error_sys(err, errno, "mkdir `%s`", target);
			break;
		}
		unsigned long rec = b->recursive ? MS_REC : 0;
		if (mount(b->source, target, NULL, MS_BIND | rec, NULL) < 0)
			r = vc_error_sys(err, errno, "%s: bind `%s` into the sandbox share",
					 b->what, b->source);
		else if (b->readonly && mount(NULL, target, NULL,
					      MS_BIND | MS_REMOUNT | MS_RDONLY | rec, NULL) < 0)
			r = vc_error_sys(err, errno, "%s: make `%s` read-only", b->what, target);
	}
	if (r < 0) {
		struct vc_error uerr = {0};
		if (vc_share_unbind(share_dir, plan->container_id, &uerr) < 0)
			vc_warn("%s", uerr.msg);
	}
	return r;
}

int vc_share_unbind(const char *share_dir, const char *id, struct vc_error *err)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", share_dir, id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "open `%s`", dir);
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, de->d_name);
		if (!p)
			return vc_error_set(err, ENOMEM, "out of memory");
		int u = unmount_all(p);
		if (u < 0) {
			r = vc_error_sys(err, -u, "unmount `%s`", p);
			continue;
		}
		/* Only what we made goes: an empty directory or placeholder file. A
		 * mount that is somehow still there fails here and keeps its data. */
		if (rmdir(p) == 0 || errno == ENOENT)
			continue;
		struct stat st;
		if (errno == ENOTDIR && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == 0 && unlink(p) == 0)
			continue;
		r = vc_error_sys(err, errno, "remove `%s`", p);
	}
	if (r == 0 && rmdir(dir) < 0 && errno != ENOENT)
		r = vc_error_sys(err, errno, "remove `%s`", dir);
	return r;
}

int vc_share_release(const char *share_dir, struct vc_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(share_dir);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "open `%s`", share_dir);
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (vc_share_unbind(share_dir, de->d_name, err) < 0)
			r = -EBUSY;
	}
	int u = unmount_all(share_dir);
	if (u < 0)
		return vc_error_sys(err, -u, "unmount `%s`", share_dir);
	if (r == 0 && rmdir(share_dir) < 0 && errno != ENOENT)
		r = vc_error_sys(err, errno, "remove `%s`", share_dir);
	return r;
}
