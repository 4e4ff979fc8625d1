/* Fake sysfs and /dev trees for test-vfio.c, built in a temp dir with the same
 * links the kernel makes (relative, so the tree resolves inside itself):
 *   SYS/devices/pci0000:00/BDF/{vendor,device,class,resource,driver_override}
 *   SYS/devices/pci0000:00/BDF/driver      -> ../../../bus/pci/drivers/DRV
 *   SYS/devices/pci0000:00/BDF/iommu_group -> ../../../kernel/iommu_groups/N
 *   SYS/bus/pci/devices/BDF                -> ../../../devices/pci0000:00/BDF
 *   SYS/kernel/iommu_groups/N/devices/BDF  -> ../../../../devices/pci0000:00/BDF
 *   SYS/bus/pci/drivers/DRV/{bind,unbind}, SYS/bus/pci/drivers_probe
 *   SYS/devices/vfio_ap/matrix/UUID, DEV/vfio/{vfio,N}
 * The sysfs "files" vcrun writes are plain files here, so a test reads back what
 * was written. Also the devices the tests share. Static functions and data:
 * included by test-vfio.c and test-vfio-place.c. */
#ifndef VC_TEST_VFIO_FAKE_H
#define VC_TEST_VFIO_FAKE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/unit.h"

struct fake {
	char sys[PATH_MAX / 2];
	char dev[PATH_MAX / 2];
};

struct fake_pci {
	const char *bdf;
	unsigned group;
	const char *vendor, *device, *class_code;
	const char *driver;   /* NULL: no driver */
	const char *resource; /* NULL: no resource file */
	const char *net;      /* "eth0:0x1003": an interface and its flags */
};

static bool fake_ok = true; /* cleared by any failed step; tests CHECK it */

static __attribute__((unused)) void fake_mkparent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash) {
		fake_ok = false;
		return;
	}
	*slash = '\0';
	if (vc_mkdir_p(dir, 0755, NULL) < 0)
		fake_ok = false;
}

static __attribute__((unused)) void __attribute__((format(printf, 2, 3)))
fake_file(const char *content, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *path = NULL;
	if (vasprintf(&path, fmt, ap) < 0)
		path = NULL;
	va_end(ap);
	if (!path) {
		fake_ok = false;
		return;
	}
	fake_mkparent(path);
	if (vc_write_file(path, content, strlen(content), NULL) < 0)
		fake_ok = false;
}

static __attribute__((unused)) void __attribute__((format(printf, 2, 3)))
fake_link(const char *target, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *path = NULL;
	if (vasprintf(&path, fmt, ap) < 0)
		path = NULL;
	va_end(ap);
	if (!path) {
		fake_ok = false;
		return;
	}
	fake_mkparent(path);
	unlink(path);
	if (symlink(target, path) < 0)
		fake_ok = false;
}

static __attribute__((unused)) void __attribute__((format(printf, 1, 2)))
fake_dir(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *path = NULL;
	if (vasprintf(&path, fmt, ap) < 0)
		path = NULL;
	va_end(ap);
	if (!path || vc_mkdir_p(path, 0755, NULL) < 0)
		fake_ok = false;
}

/* A driver directory with its bind and unbind files. */
static __attribute__((unused)) void fake_driver(const struct fake *f, const char *drv)
{
	fake_file("", "%s/bus/pci/drivers/%s/bind", f->sys, drv);
	fake_file("", "%s/bus/pci/drivers/%s/unbind", f->sys, drv);
}

/* An empty host: no IOMMU, no vfio-pci. */
static __attribute__((unused)) struct fake fake_new(const char *name)
{
	struct fake f;
	snprintf(f.sys, sizeof(f.sys), "%s/%s/sys", vc_unit_tmpdir(), name);
	snprintf(f.dev, sizeof(f.dev), "%s/%s/dev", vc_unit_tmpdir(), name);
	fake_dir("%s/kernel", f.sys);
	fake_dir("%s", f.dev);
	return f;
}

/* An IOMMU (class/iommu/dmar0), vfio-pci loaded, /dev/vfio/vfio, drivers_probe. */
static __attribute__((unused)) struct fake fake_host(const char *name)
{
	struct fake f = fake_new(name);
	fake_dir("%s/class/iommu/dmar0", f.sys);
	fake_dir("%s/kernel/iommu_groups", f.sys);
	fake_file("", "%s/bus/pci/drivers_probe", f.sys);
	fake_driver(&f, "vfio-pci");
	fake_file("", "%s/vfio/vfio", f.dev);
	return f;
}

static __attribute__((unused)) void fake_group_node(const struct fake *f, unsigned group)
{
	fake_file("", "%s/vfio/%u", f->dev, group);
}

static __attribute__((unused)) void fake_add_pci(const struct fake *f, const struct fake_pci *d)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/devices/pci0000:00/%s", f->sys, d->bdf);
	fake_file(d->vendor ? d->vendor : "0x8086\n", "%s/vendor", dir);
	fake_file(d->device ? d->device : "0x10d3\n", "%s/device", dir);
	fake_file(d->class_code ? d->class_code : "0x020000\n", "%s/class", dir);
	fake_file("", "%s/driver_override", dir);
	if (d->resource)
		fake_file(d->resource, "%s/resource", dir);
	if (d->driver) {
		fake_driver(f, d->driver);
		char target[PATH_MAX];
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", d->driver);
		fake_link(target, "%s/driver", dir);
	}
	if (d->net) {
		const char *colon = strchr(d->net, ':');
		char ifname[32];
		snprintf(ifname, sizeof(ifname), "%.*s", (int)(colon - d->net), d->net);
		fake_file(colon + 1, "%s/net/%s/flags", dir, ifname);
	}
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%u", d->group);
	fake_link(target, "%s/iommu_group", dir);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", d->bdf);
	fake_link(target, "%s/bus/pci/devices/%s", f->sys, d->bdf);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", d->bdf);
	fake_link(target, "%s/kernel/iommu_groups/%u/devices/%s", f->sys, d->group, d->bdf);
}

/* What the kernel does after a bind: the device's driver link moves. */
static __attribute__((unused)) void fake_set_driver(const struct fake *f, const char *bdf,
						    const char *drv)
{
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
	fake_link(target, "%s/devices/pci0000:00/%s/driver", f->sys, bdf);
}

static __attribute__((unused)) void fake_add_ap(const struct fake *f, unsigned group,
						const char *uuid)
{
	fake_dir("%s/devices/vfio_ap/matrix/%s", f->sys, uuid);
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "../../../../devices/vfio_ap/matrix/%s", uuid);
	fake_link(target, "%s/kernel/iommu_groups/%u/devices/%s", f->sys, group, uuid);
}

/* The text of a file in the fake sysfs ("" when unreadable). */
static __attribute__((unused)) char *__attribute__((format(printf, 2, 3)))
fake_read(const struct fake *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *rel = NULL;
	if (vasprintf(&rel, fmt, ap) < 0)
		rel = NULL;
	va_end(ap);
	_cleanup_free_ char *path = rel ? vc_strdup_printf("%s/%s", f->sys, rel) : NULL;
	char *text = NULL;
	if (!path || vc_read_file(path, 1 << 16, &text, NULL, NULL) < 0)
		return strdup("");
	return text;
}

#define GIB (1ULL << 30)

/* A GPU's resource file: BAR0 16 MiB 32-bit, BAR1 16 GiB and BAR3 32 MiB 64-bit
 * prefetchable, BAR5 I/O, then the ROM. */
static const char gpu_resource[] __attribute__((unused)) =
	"0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
	"0x0000038000000000 0x00000383ffffffff 0x000000000014220c\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000038400000000 0x0000038401ffffff 0x000000000014220c\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x000000000000e000 0x000000000000e07f 0x0000000000040101\n"
	"0x00000000f7000000 0x00000000f707ffff 0x0000000000046200\n";
/* A NIC: one 64-bit BAR, not prefetchable (it goes below 4 GiB behind a bridge). */
static const char nic_resource[] __attribute__((unused)) =
	"0x00000000fe000000 0x00000000fe01ffff 0x0000000000140204\n";
static const char audio_resource[] __attribute__((unused)) =
	"0x00000000f7080000 0x00000000f7083fff 0x0000000000040200\n";

static const struct fake_pci gpu __attribute__((unused)) = {
	"0000:01:00.0", 16, "0x10de\n", "0x2204\n", "0x030000\n", "nvidia", gpu_resource, NULL};
static const struct fake_pci gpu_audio __attribute__((unused)) = {
	"0000:01:00.1", 16,  "0x10de\n", "0x1aef\n", "0x040300\n", "snd_hda_intel",
	audio_resource, NULL};

/* Group 16 (GPU + audio, host drivers), plus devices that must never be written:
 * a second GPU on the same driver in group 17, and a USB function of the same
 * slot that the IOMMU put in group 18. */
static __attribute__((unused)) struct fake bind_host(const char *name)
{
	struct fake f = fake_host(name);
	fake_add_pci(&f, &gpu);
	fake_add_pci(&f, &gpu_audio);
	struct fake_pci other_gpu = gpu, usb = {"0000:01:00.2", 18,	    "0x10de\n", "0x1ada\n",
						"0x0c0330\n",	"xhci_hcd", NULL,	NULL};
	other_gpu.bdf = "0000:05:00.0";
	other_gpu.group = 17;
	fake_add_pci(&f, &other_gpu);
	fake_add_pci(&f, &usb);
	return f;
}

#endif
