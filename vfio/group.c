/* Discovery: from a /dev/vfio/N node to the group's devices as sysfs shows them. */
#include "vfio/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"

/* The resource file: one "start end flags" line per resource; 0-5 are the BARs. */
#define PCI_BARS	    6
#define IORESOURCE_MEM	    0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL
#define IORESOURCE_MEM_64   0x00100000ULL
#define IFF_UP_FLAG	    0x1

bool vc_vfio_is_vfio_path(const char *path)
{
	if (!path)
		return false;
	return !strncmp(path, "vfio/", 5) || strstr(path, "/vfio/") != NULL;
}

int vc_vfio_group_id_from_path(const char *path, unsigned *id, struct vc_error *err)
{
	if (!path || !*path)
		return vc_error_set(err, EINVAL, "empty VFIO group path");
	if (vc_sysfs_parse_index(path, id))
		return 0;
	const char *base = strrchr(path, '/');
	if (!base)
		return vc_error_set(err, EINVAL, "`%s` is not a VFIO group (want /dev/vfio/N)",
				    path);
	base++;
	/* The directory the node is in must be vfio/ itself. */
	size_t dir_len = (size_t)(base - 1 - path);
	bool in_vfio =
		dir_len >= 4 && !strncmp(base - 5, "vfio", 4) && (dir_len == 4 || base[-6] == '/');
	if (in_vfio && !strcmp(base, "vfio"))
		return vc_error_set(
			err, EINVAL,
			"`%s` is the VFIO container node, not a group (want /dev/vfio/N)", path);
	if (in_vfio && !strncmp(base, "noiommu-", 8))
		return vc_error_set(err, ENOTSUP,
				    "`%s` is a no-IOMMU VFIO group: it gives the guest DMA to all "
				    "host memory, so vcrun refuses it",
				    path);
	if (strstr(path, "/vfio/devices/"))
		return vc_error_set(err, ENOTSUP,
				    "`%s` is an iommufd VFIO device node; vcrun passes groups "
				    "(/dev/vfio/N)",
				    path);
	if (!in_vfio || !vc_sysfs_parse_index(base, id))
		return vc_error_set(err, EINVAL, "`%s` is not a VFIO group (want /dev/vfio/N)",
				    path);
	return 0;
}

/* Real entries of a directory, sorted; *n = 0 when it does not exist. */
static int list_dir(const char *path, char ***names, size_t *n, struct vc_error *err)
{
	*names = NULL;
	*n = 0;
	struct dirent **ents = NULL;
	int k = scandir(path, &ents, NULL, alphasort);
	if (k < 0 && errno == ENOENT)
		return 0;
	if (k < 0)
		return vc_error_sys(err, errno, "read directory `%s`", path);
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	int r = v ? 0 : -ENOMEM;
	for (int i = 0; i < k; i++) {
		const char *name = ents[i]->d_name;
		if (r == 0 && strcmp(name, ".") && strcmp(name, ".."))
			r = vc_strv_push(&v, name);
		free(ents[i]);
	}
	free(ents);
	if (r < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	*n = vc_strv_len(v);
	*names = steal_ptr(v);
	return 0;
}

static int count_entries(const char *path, size_t *n, struct vc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	return list_dir(path, &names, n, err);
}

int vc_vfio_iommu_check(const char *sysfs_root, unsigned *n_groups, struct vc_error *err)
{
	const char *sysfs = vfio_sysfs(sysfs_root);
	_cleanup_free_ char *groups = vc_strdup_printf("%s/kernel/iommu_groups", sysfs);
	_cleanup_free_ char *iommus = vc_strdup_printf("%s/class/iommu", sysfs);
	if (!groups || !iommus)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t ng = 0, ni = 0;
	int r = count_entries(groups, &ng, err);
	if (r == 0)
		r = count_entries(iommus, &ni, err);
	if (r < 0)
		return r;
	if (n_groups)
		*n_groups = (unsigned)ng;
	if (ng > 0)
		return 0;
	if (ni > 0)
		return vc_error_set(
			err, ENODEV,
			"no IOMMU groups in `%s` although `%s` lists an IOMMU: boot with "
			"intel_iommu=on or amd_iommu=on (and iommu=pt)",
			groups, iommus);
	return vc_error_set(err, ENODEV,
			    "no IOMMU is enabled (`%s` is empty or missing): enable VT-d or "
			    "AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on",
			    groups);
}

int vc_vfio_driver_check(const char *sysfs_root, const char *dev_root, struct vc_error *err)
{
	_cleanup_free_ char *drv =
		vc_strdup_printf("%s/bus/pci/drivers/" VC_VFIO_PCI_DRIVER, vfio_sysfs(sysfs_root));
	_cleanup_free_ char *node = vc_strdup_printf("%s/vfio/vfio", vfio_dev(dev_root));
	if (!drv || !node)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct stat st;
	if (stat(drv, &st) < 0 || !S_ISDIR(st.st_mode))
		return vc_error_set(err, ENODEV,
				    "the vfio-pci driver is not loaded (`%s` is missing): modprobe "
				    "vfio-pci",
				    drv);
	if (stat(node, &st) < 0 && errno == ENOENT)
		return vc_error_set(err, ENODEV,
				    "the VFIO container node `%s` does not exist: modprobe vfio",
				    node);
	if (stat(node, &st) < 0)
		return vc_error_sys(err, errno, "the VFIO container node `%s`", node);
	return 0;
}

/* A network interface of the device that is up: the host is using it. */
static int read_in_use(const char *sysfs, struct vc_vfio_pci_dev *d, struct vc_error *err)
{
	_cleanup_free_ char *net = vfio_pci_path(sysfs, d->bdf, "net");
	_cleanup_strv_ char **ifs = NULL;
	size_t n = 0;
	if (!net)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = list_dir(net, &ifs, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *flags_path = vc_strdup_printf("%s/%s/flags", net, ifs[i]);
		uint64_t flags = 0;
		if (!flags_path)
			return vc_error_set(err, ENOMEM, "out of memory");
		if (vfio_read_hex(flags_path, UINT32_MAX, &flags, NULL) < 0 ||
		    !(flags & IFF_UP_FLAG))
			continue;
		d->in_use = vc_strdup_printf("its network interface %s is up", ifs[i]);
		if (!d->in_use)
			return vc_error_set(err, ENOMEM, "out of memory");
		return 0;
	}
	return 0;
}

/* The 64-bit prefetchable BARs: what must fit in the guest's 64-bit MMIO window. */
static int read_bars(const char *sysfs, struct vc_vfio_pci_dev *d, struct vc_error *err)
{
	_cleanup_free_ char *path = vfio_pci_path(sysfs, d->bdf, "resource");
	_cleanup_free_ char *text = NULL;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_read_file(path, VFIO_ATTR_MAX, &text, NULL, NULL) < 0)
		return 0; /* unknown: the plan falls back to a default window */
	const char *p = text;
	uint64_t total = 0;
	for (int bar = 0; bar < PCI_BARS && *p; bar++) {
		unsigned long long start, end, flags;
		if (sscanf(p, "%llx %llx %llx", &start, &end, &flags) != 3)
			return vc_error_set(err, EINVAL, "`%s`: line %d is not `start end flags`",
					    path, bar + 1);
		const unsigned long long want =
			IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64;
		if ((flags & want) == want && end > start) {
			uint64_t size = (uint64_t)(end - start) + 1;
			if (total + size < total)
				return vc_error_set(err, EINVAL, "`%s`: BAR sizes overflow", path);
			total += size;
		}
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	d->bar64_bytes = total;
	d->bar64_known = true;
	return 0;
}

static int load_pci(const char *sysfs, unsigned id, const char *name, struct vc_vfio_pci_dev *d,
		    struct vc_error *err)
{
	vc_pci_bdf_format(&d->addr, d->bdf);
	if (strcmp(d->bdf, name))
		return vc_error_set(err, EINVAL,
				    "IOMMU group %u: `%s` is not a canonical PCI address", id,
				    name);
	unsigned own = 0;
	int r = vfio_device_group(sysfs, d->bdf, &own, err);
	if (r < 0)
		return vc_error_wrap(err, "IOMMU group %u", id);
	if (own != id)
		return vc_error_set(err, EINVAL,
				    "IOMMU group %u lists device %s, but the device is in group %u",
				    id, d->bdf, own);
	struct {
		const char *attr;
		uint64_t max, value;
	} ids[] = {{"vendor", 0xffff, 0}, {"device", 0xffff, 0}, {"class", 0xffffff, 0}};
	for (size_t i = 0; i < VC_ARRAY_SIZE(ids); i++) {
		_cleanup_free_ char *path = vfio_pci_path(sysfs, d->bdf, ids[i].attr);
		if (!path)
			return vc_error_set(err, ENOMEM, "out of memory");
		r = vfio_read_hex(path, ids[i].max, &ids[i].value, err);
		if (r < 0)
			return vc_error_wrap(err, "IOMMU group %u: device %s", id, d->bdf);
	}
	d->vendor = (uint16_t)ids[0].value;
	d->device = (uint16_t)ids[1].value;
	d->class_code = (uint32_t)ids[2].value;
	d->bridge = (d->class_code >> 8) == VFIO_CLASS_BRIDGE;

	_cleanup_free_ char *drv = vfio_pci_path(sysfs, d->bdf, "driver");
	if (!drv)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = vc_sysfs_link_name(drv, &d->driver, err);
	if (r == 0)
		r = read_bars(sysfs, d, err);
	if (r == 0)
		r = read_in_use(sysfs, d, err);
	return r;
}

/* A group entry that is not a PCI address: an AP queue matrix device when its link
 * leads into devices/vfio_ap/matrix/. */
static int load_ap(const char *sysfs, unsigned id, const char *groupdir, const char *name,
		   struct vc_vfio_group *g, struct vc_error *err)
{
	_cleanup_free_ char *entry = vc_strdup_printf("%s/devices/%s", groupdir, name);
	_cleanup_free_ char *matrix = vc_strdup_printf("%s/devices/vfio_ap/matrix/%s", sysfs, name);
	if (!entry || !matrix)
		return vc_error_set(err, ENOMEM, "out of memory");
	char target[4096];
	ssize_t n = readlink(entry, target, sizeof(target) - 1);
	if (n < 0)
		return vc_error_sys(err, errno, "IOMMU group %u: readlink `%s`", id, entry);
	target[n] = '\0';
	_cleanup_free_ char *suffix = vc_strdup_printf("/vfio_ap/matrix/%s", name);
	if (!suffix)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t tl = strlen(target), sl = strlen(suffix);
	if (tl < sl || strcmp(target + tl - sl, suffix))
		return vc_error_set(
			err, ENOTSUP,
			"IOMMU group %u: device %s (%s) is neither a PCI device nor an AP "
			"matrix device; vcrun cannot pass it",
			id, name, target);
	struct stat st;
	if (stat(matrix, &st) < 0 || !S_ISDIR(st.st_mode))
		return vc_error_set(err, ENOENT, "IOMMU group %u: AP device %s: `%s` is missing",
				    id, name, matrix);
	struct vc_vfio_ap_dev *nap = realloc(g->ap, (g->n_ap + 1) * sizeof(*nap));
	if (!nap)
		return vc_error_set(err, ENOMEM, "out of memory");
	g->ap = nap;
	struct vc_vfio_ap_dev *a = &g->ap[g->n_ap];
	*a = (struct vc_vfio_ap_dev){strdup(name), steal_ptr(matrix)};
	g->n_ap++;
	if (!a->uuid)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int vc_vfio_group_load(const char *sysfs_root, const char *dev_root, unsigned id,
		       struct vc_vfio_group *g, struct vc_error *err)
{
	memset(g, 0, sizeof(*g));
	const char *sysfs = vfio_sysfs(sysfs_root);
	int r = vc_vfio_iommu_check(sysfs, NULL, err);
	if (r < 0)
		return r;
	g->id = id;
	g->sysfs_root = strdup(sysfs);
	g->dev_root = strdup(vfio_dev(dev_root));
	g->dev_path = vc_strdup_printf("%s/vfio/%u", vfio_dev(dev_root), id);
	_cleanup_free_ char *dir = vc_strdup_printf("%s/kernel/iommu_groups/%u", sysfs, id);
	_cleanup_free_ char *devdir = dir ? vc_strdup_printf("%s/devices", dir) : NULL;
	if (!g->sysfs_root || !g->dev_root || !g->dev_path || !devdir) {
		vc_vfio_group_release(g);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	struct stat st;
	if (stat(dir, &st) < 0) {
		vc_vfio_group_release(g);
		return vc_error_set(err, ENOENT, "IOMMU group %u does not exist (no `%s`)", id,
				    dir);
	}
	_cleanup_strv_ char **names = NULL;
	size_t n = 0;
	r = list_dir(devdir, &names, &n, err);
	if (r == 0 && n == 0)
		r = vc_error_set(err, ENOENT, "IOMMU group %u has no devices (`%s` is empty)", id,
				 devdir);
	if (r == 0)
		g->pci = calloc(n, sizeof(*g->pci));
	if (r == 0 && !g->pci)
		r = vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		struct vc_pci_bdf addr;
		if (vc_pci_bdf_parse(names[i], &addr) < 0) {
			r = load_ap(sysfs, id, dir, names[i], g, err);
			continue;
		}
		struct vc_vfio_pci_dev *d = &g->pci[g->n_pci++];
		d->addr = addr;
		r = load_pci(sysfs, id, names[i], d, err);
	}
	if (r < 0)
		vc_vfio_group_release(g);
	return r;
}

void vc_vfio_group_release(struct vc_vfio_group *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_pci; i++) {
		free(g->pci[i].driver);
		free(g->pci[i].in_use);
	}
	for (size_t i = 0; i < g->n_ap; i++) {
		free(g->ap[i].uuid);
		free(g->ap[i].sysfs_path);
	}
	free(g->pci);
	free(g->ap);
	free(g->sysfs_root);
	free(g->dev_root);
	free(g->dev_path);
	memset(g, 0, sizeof(*g));
}
