/* Moving a group's endpoints to vfio-pci and back, for users who ask vcrun to.
 * Every write goes to one device of the recorded group, and only after sysfs says
 * the device is still in that group: a stale or edited record cannot make vcrun
 * unbind a device elsewhere on the host. */
#include "vfio/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static bool same_driver(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void vc_vfio_binding_release(struct vc_vfio_binding *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_devs; i++)
		free(b->devs[i].driver);
	free(b->devs);
	memset(b, 0, sizeof(*b));
}

int vc_vfio_bind_plan(const struct vc_vfio_group *g, struct vc_vfio_binding *out,
		      struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	out->group = g->id;
	if (g->n_pci == 0)
		return 0;
	out->devs = calloc(g->n_pci, sizeof(*out->devs));
	if (!out->devs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < g->n_pci; i++) {
		const struct vc_vfio_pci_dev *d = &g->pci[i];
		if (d->bridge || vfio_on_vfio_pci(d->driver))
			continue;
		struct vc_vfio_bound *bd = &out->devs[out->n_devs++];
		memcpy(bd->bdf, d->bdf, sizeof(bd->bdf));
		if (d->driver && !(bd->driver = strdup(d->driver))) {
			vc_vfio_binding_release(out);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* Adds a second failure to the first one's message. */
static void append_error(struct vc_error *err, const char *what, const char *msg)
{
	if (!err)
		return;
	char old[VC_ERROR_MSG_MAX];
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s (and %s: %s)", old, what, msg);
}

/* The record's names are well formed and the device is still in the group;
 * *current gets the driver it is on now (NULL: none). */
static int verify_device(const char *sysfs, unsigned group, const struct vc_vfio_bound *d,
			 char **current, struct vc_error *err)
{
	struct vc_pci_bdf addr;
	*current = NULL;
	if (vc_pci_bdf_parse(d->bdf, &addr) < 0)
		return vc_error_set(err, EINVAL, "`%s` is not a PCI address", d->bdf);
	if (d->driver && !vfio_driver_name_ok(d->driver))
		return vc_error_set(err, EINVAL, "device %s: `%s` is not a driver name", d->bdf,
				    d->driver);
	unsigned own = 0;
	int r = vfio_device_group(sysfs, d->bdf, &own, err);
	if (r < 0)
		return r;
	if (own != group)
		return vc_error_set(
			err, EPERM,
			"device %s is in IOMMU group %u, not %u: vcrun does not touch it", d->bdf,
			own, group);
	_cleanup_free_ char *link = vfio_pci_path(sysfs, d->bdf, "driver");
	if (!link)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_sysfs_link_name(link, current, err);
}

static int write_pci_attr(const char *sysfs, const char *bdf, const char *attr, const char *value,
			  struct vc_error *err)
{
	_cleanup_free_ char *path = vfio_pci_path(sysfs, bdf, attr);
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_sysfs_write(path, value, err);
}

/* Writes the BDF to SYSFS/bus/pci/drivers/DRIVER/FILE (bind or unbind). */
static int write_driver_file(const char *sysfs, const char *driver, const char *file,
			     const char *bdf, struct vc_error *err)
{
	_cleanup_free_ char *path =
		vc_strdup_printf("%s/bus/pci/drivers/%s/%s", sysfs, driver, file);
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_sysfs_write(path, bdf, err);
}

/* driver_override first: from then on only vfio-pci may take the device, so
 * nothing (a udev rule, a hotplug reprobe) binds the host driver back between the
 * unbind and the bind. */
static int bind_one(const char *sysfs, const struct vc_vfio_bound *d, const char *current,
		    struct vc_error *err)
{
	int r = write_pci_attr(sysfs, d->bdf, "driver_override", VC_VFIO_PCI_DRIVER, err);
	if (r == 0 && current)
		r = write_pci_attr(sysfs, d->bdf, "driver/unbind", d->bdf, err);
	if (r == 0)
		r = write_driver_file(sysfs, VC_VFIO_PCI_DRIVER, "bind", d->bdf, err);
	if (r < 0)
		return vc_error_wrap(err, "binding %s to vfio-pci", d->bdf);
	return 0;
}

int vc_vfio_bind(const char *sysfs_root, const struct vc_vfio_binding *b, struct vc_error *err)
{
	const char *sysfs = vfio_sysfs(sysfs_root);
	if (b->n_devs == 0)
		return 0;
	if (geteuid() != 0)
		return vc_error_set(err, EPERM,
				    "IOMMU group %u: binding its devices to vfio-pci needs root",
				    b->group);
	_cleanup_free_ char *bind =
		vc_strdup_printf("%s/bus/pci/drivers/" VC_VFIO_PCI_DRIVER "/bind", sysfs);
	if (!bind)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (access(bind, W_OK) < 0)
		return vc_error_set(
			err, ENODEV,
			"the vfio-pci driver is not loaded (`%s`: %s): modprobe vfio-pci", bind,
			strerror(errno));

	/* Every check before the first write: all of the group moves, or none. */
	_cleanup_strv_ char **current = calloc(b->n_devs + 1, sizeof(char *));
	if (!current)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < b->n_devs; i++) {
		const struct vc_vfio_bound *d = &b->devs[i];
		int r = verify_device(sysfs, b->group, d, &current[i], err);
		if (r < 0)
			return vc_error_wrap(err, "IOMMU group %u", b->group);
		if (!vfio_on_vfio_pci(current[i]) && !same_driver(current[i], d->driver))
			return vc_error_set(
				err, EAGAIN,
				"IOMMU group %u: device %s moved from %s to %s since it "
				"was checked",
				b->group, d->bdf, d->driver ? d->driver : "no driver",
				current[i] ? current[i] : "no driver");
	}
	for (size_t i = 0; i < b->n_devs; i++) {
		if (vfio_on_vfio_pci(current[i]))
			continue;
		int r = bind_one(sysfs, &b->devs[i], current[i], err);
		if (r < 0) {
			/* Put back what was moved, this device included (its override). */
			struct vc_vfio_binding done = {b->group, b->devs, i + 1};
			struct vc_error rerr = {0};
			vc_error_wrap(err, "IOMMU group %u", b->group);
			if (vc_vfio_restore(sysfs, &done, &rerr) < 0)
				append_error(err, "restoring", rerr.msg);
			return r;
		}
	}
	return 0;
}

/* Gives one device back to the driver it had. */
static int restore_one(const char *sysfs, unsigned group, const struct vc_vfio_bound *d,
		       struct vc_error *err)
{
	_cleanup_free_ char *dir = vfio_pci_path(sysfs, d->bdf, NULL);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct vc_pci_bdf addr;
	struct stat st;
	if (vc_pci_bdf_parse(d->bdf, &addr) < 0)
		return vc_error_set(err, EINVAL, "`%s` is not a PCI address", d->bdf);
	if (lstat(dir, &st) < 0 && errno == ENOENT)
		return 0; /* the device is gone from the host: nothing to give back */
	_cleanup_free_ char *current = NULL;
	int r = verify_device(sysfs, group, d, &current, err);
	if (r < 0)
		return r;
	r = write_pci_attr(sysfs, d->bdf, "driver_override", "", err);
	if (r < 0)
		return r;
	if (vfio_on_vfio_pci(current)) {
		r = write_driver_file(sysfs, VC_VFIO_PCI_DRIVER, "unbind", d->bdf, err);
		if (r < 0)
			return r;
		free(steal_ptr(current));
	}
	/* Someone else's driver now, or the one it had: not vcrun's to change. */
	if (current || !d->driver)
		return 0;
	r = write_driver_file(sysfs, d->driver, "bind", d->bdf, err);
	if (r == 0)
		return 0;
	/* The driver may be gone (module unloaded): let the kernel pick one. */
	struct vc_error perr = {0};
	_cleanup_free_ char *probe = vc_strdup_printf("%s/bus/pci/drivers_probe", sysfs);
	if (!probe)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_sysfs_write(probe, d->bdf, &perr) == 0)
		return 0;
	append_error(err, "drivers_probe", perr.msg);
	return r;
}

int vc_vfio_restore(const char *sysfs_root, const struct vc_vfio_binding *b, struct vc_error *err)
{
	const char *sysfs = vfio_sysfs(sysfs_root);
	int first = 0;
	for (size_t i = 0; i < b->n_devs; i++) {
		struct vc_error e = {0};
		int r = restore_one(sysfs, b->group, &b->devs[i], &e);
		if (r < 0 && first == 0) {
			first = r;
			vc_error_set(err, e.code, "IOMMU group %u: restoring %s: %s", b->group,
				     b->devs[i].bdf, e.msg);
		}
	}
	return first;
}
