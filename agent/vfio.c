/* The vfio mode in the guest (annotation io.vcrun.vfio-mode=vfio): the container
 * opens the passed PCI functions itself through VFIO (a DPDK program), so no guest
 * driver may keep them. For each linux.devices entry /dev/vfio/N (host group N) the
 * host says where the group's functions went (io.vcrun.vfio.group.N =
 * "PORT.FUNCTION,..."); the agent finds each root port's slot in sysfs, moves its
 * functions to vfio-pci, and gives the container the guest's group nodes
 * /dev/vfio/G instead of the host's, plus the container node /dev/vfio/vfio.
 *
 * The sysfs and /dev roots are parameters, so tests run this on a fake tree. Writes
 * are one write() with a newline, O_APPEND without O_CREAT, as vfio/ does on the
 * host: a missing attribute is an error, not a new file. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/sysfs.h"
#include "common/util.h"

#define VFIO_DRIVER	 "vfio-pci"
#define VFIO_PORT_MAX	 255
#define VFIO_FUNC_MAX	 7
#define VFIO_MODULE_LIST "vfio.load-order"

/* "/dev/vfio/N" with N decimal: a group node (not vfio/vfio, not vfio/devices/). */
static bool group_node(const char *path, unsigned *n)
{
	static const char pre[] = "/dev/vfio/";
	if (!path || strncmp(path, pre, sizeof(pre) - 1))
		return false;
	return vc_sysfs_parse_index(path + sizeof(pre) - 1, n);
}

/* "DDDD:BB:SS" as the slot's address file has it: only what it is made of, so it
 * cannot lead a path elsewhere. */
static bool slot_address_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 7 && n <= 12 && strspn(s, "0123456789abcdefABCDEF:") == n;
}

/* Port P's slot: the guest's pciehp registers a pcie-root-port's slot under its
 * number (QEMU's slot=P; hv/ turns ACPI hot-plug off on the ports for that). */
static int slot_bdf(const char *sysfs, unsigned port, unsigned fn, char *bdf, size_t size,
		    struct vc_error *err)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/bus/pci/slots/%u/address", sysfs, port);
	_cleanup_free_ char *text = NULL;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_read_file(path, 256, &text, NULL, err);
	if (r < 0)
		return r;
	text[strcspn(text, " \t\r\n")] = '\0';
	if (!slot_address_ok(text))
		return vc_error_set(err, EINVAL, "%s: `%s` is not a slot address", path, text);
	snprintf(bdf, size, "%s.%u", text, fn);
	return 0;
}

/* Moves one function to vfio-pci (unless it is there) and reads its guest group. */
static int bind_function(const char *sysfs, const char *bdf, unsigned *group, struct vc_error *err)
{
	_cleanup_free_ char *dev = vc_strdup_printf("%s/bus/pci/devices/%s", sysfs, bdf);
	_cleanup_free_ char *drv = vc_strdup_printf("%s/driver", dev ? dev : "");
	_cleanup_free_ char *over = vc_strdup_printf("%s/driver_override", dev ? dev : "");
	_cleanup_free_ char *unbind = vc_strdup_printf("%s/driver/unbind", dev ? dev : "");
	_cleanup_free_ char *probe = vc_strdup_printf("%s/bus/pci/drivers_probe", sysfs);
	_cleanup_free_ char *grp = vc_strdup_printf("%s/iommu_group", dev ? dev : "");
	if (!dev || !drv || !over || !unbind || !probe || !grp)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct stat st;
	if (stat(dev, &st) < 0)
		return vc_error_sys(err, errno, "%s", dev);
	_cleanup_free_ char *name = NULL, *g = NULL;
	int r = vc_sysfs_link_name(drv, &name, err);
	if (r < 0)
		return r;
	if (!name || strcmp(name, VFIO_DRIVER)) {
		/* driver_override first, so nothing binds another driver in between */
		if ((r = vc_sysfs_write(over, VFIO_DRIVER, err)) < 0 ||
		    (name && (r = vc_sysfs_write(unbind, bdf, err)) < 0) ||
		    (r = vc_sysfs_write(probe, bdf, err)) < 0)
			return r;
	}
	if ((r = vc_sysfs_link_name(grp, &g, err)) < 0)
		return r;
	if (!g)
		return vc_error_set(err, ENODEV,
				    "%s: no IOMMU group (the guest needs intel_iommu=on and "
				    "QEMU's intel-iommu device)",
				    grp);
	if (!vc_sysfs_parse_index(g, group))
		return vc_error_set(err, EINVAL, "%s: `%s` is not a group number", grp, g);
	return 0;
}

/* The device entry for a guest node: its number from stat, the rest from tmpl. */
static int node_entry(const char *dev_root, const char *name, const struct vc_oci_device *tmpl,
		      struct vc_oci_device *out, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/vfio/%s", dev_root, name);
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct stat st;
	if (stat(path, &st) < 0)
		return vc_error_sys(err, errno, "%s", path);
	if (!S_ISCHR(st.st_mode))
		return vc_error_set(err, EINVAL, "%s: not a character device", path);
	*out = tmpl ? *tmpl : (struct vc_oci_device){0};
	out->path = vc_strdup_printf("/dev/vfio/%s", name);
	if (!out->path)
		return vc_error_set(err, ENOMEM, "out of memory");
	out->type = 'c';
	out->major = major(st.st_rdev);
	out->minor = minor(st.st_rdev);
	out->has_major = out->has_minor = true;
	if (!tmpl) { /* the container node: open to all, as on a host */
		out->has_file_mode = true;
		out->file_mode = 0666;
	}
	return 0;
}

struct dev_list {
	struct vc_oci_device *v;
	size_t n;
};

static void dev_list_free(struct dev_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool dev_list_has(const struct dev_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, path))
			return true;
	return false;
}

/* Takes d (its path) on success and on failure. */
static int dev_list_add(struct dev_list *l, struct vc_oci_device *d, struct vc_error *err)
{
	struct vc_oci_device *n = realloc(l->v, (l->n + 1) * sizeof(*n));
	if (!n) {
		free(d->path);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	l->v = n;
	l->v[l->n++] = *d;
	return 0;
}

/* One "PORT.FUNCTION" of the placement annotation. */
static int parse_place(const char *s, size_t len, unsigned *port, unsigned *fn)
{
	char buf[16];
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char tail;
	if (sscanf(buf, "%u.%u%c", port, fn, &tail) != 2 || strspn(buf, "0123456789.") != len ||
	    *port < 1 || *port > VFIO_PORT_MAX || *fn > VFIO_FUNC_MAX)
		return -EINVAL;
	return 0;
}

/* Entry d = /dev/vfio/N: binds the functions the annotation names, adds a node per
 * guest group they are in. */
static int map_group(const struct vc_oci_spec *spec, const struct vc_oci_device *d, unsigned n,
		     const char *sysfs, const char *dev_root, struct dev_list *out,
		     struct vc_error *err)
{
	char key[64];
	snprintf(key, sizeof(key), VC_ANNOT_VFIO_GROUP "%u", n);
	const char *place = vc_oci_spec_annotation(spec, key);
	if (!place || !*place)
		return vc_error_set(err, EINVAL,
				    "no annotation %s says where the host put the group's "
				    "functions",
				    key);
	for (const char *p = place; *p;) {
		size_t len = strcspn(p, ",");
		unsigned port, fn, g = 0;
		if (parse_place(p, len, &port, &fn) < 0)
			return vc_error_set(err, EINVAL, "annotation %s: `%s` is not PORT.FUNCTION",
					    key, place);
		char bdf[32];
		int r = slot_bdf(sysfs, port, fn, bdf, sizeof(bdf), err);
		if (r == 0)
			r = bind_function(sysfs, bdf, &g, err);
		if (r < 0)
			return vc_error_wrap(err, "port %u function %u", port, fn);
		char gname[16], path[32];
		snprintf(gname, sizeof(gname), "%u", g);
		snprintf(path, sizeof(path), "/dev/vfio/%u", g);
		if (!dev_list_has(out, path)) {
			struct vc_oci_device e;
			if ((r = node_entry(dev_root, gname, d, &e, err)) < 0)
				return vc_error_wrap(err,
						     "port %u function %u (%s, guest group %u)",
						     port, fn, bdf, g);
			if ((r = dev_list_add(out, &e, err)) < 0)
				return r;
		}
		agent_info("vfio: host group %u: %s on vfio-pci, guest group %u", n, bdf, g);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int agent_vfio_setup(struct vc_oci_spec *spec, const char *sysfs, const char *dev_root,
		     const char *modules_dir, struct vc_error *err)
{
	struct vc_oci_linux *l = spec->linux;
	unsigned n;
	size_t groups = 0;
	for (size_t i = 0; l && i < l->n_devices; i++)
		groups += group_node(l->devices[i].path, &n);
	if (groups == 0)
		return 0;
	int r;
	if (modules_dir && (r = agent_modules_load(modules_dir, VFIO_MODULE_LIST, true, err)) < 0)
		return vc_error_wrap(err, "VFIO modules");

	struct dev_list out __attribute__((cleanup(dev_list_free))) = {0};
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct vc_oci_device *d = &l->devices[i];
		if (group_node(d->path, &n)) {
			r = map_group(spec, d, n, sysfs, dev_root, &out, err);
			if (r < 0)
				return vc_error_wrap(err, "linux.devices[%zu] %s", i, d->path);
			continue;
		}
		if (d->path && !strcmp(d->path, "/dev/vfio/vfio"))
			continue; /* made below, from the guest's node */
		struct vc_oci_device copy = *d;
		copy.path = strdup(d->path ? d->path : "");
		if (!copy.path)
			return vc_error_set(err, ENOMEM, "out of memory");
		if ((r = dev_list_add(&out, &copy, err)) < 0)
			return r;
	}
	const struct vc_oci_device *tmpl = NULL;
	for (size_t i = 0; i < l->n_devices && !tmpl; i++)
		if (l->devices[i].path && !strcmp(l->devices[i].path, "/dev/vfio/vfio"))
			tmpl = &l->devices[i];
	struct vc_oci_device c;
	if ((r = node_entry(dev_root, "vfio", tmpl, &c, err)) < 0)
		return vc_error_wrap(err, "the VFIO container node");
	if ((r = dev_list_add(&out, &c, err)) < 0)
		return r;

	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	l->devices = steal_ptr(out.v);
	l->n_devices = out.n;
	out.n = 0;
	return 0;
}
