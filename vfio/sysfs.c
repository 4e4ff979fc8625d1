/* PCI addresses and the few sysfs reads and writes the rest of vfio/ is made of. */
#include "vfio/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly min..max hex digits from *s up to a non-hex character. */
static bool hex_field(const char **s, int min, int max, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;
	for (; hexval(**s) >= 0; (*s)++, n++) {
		if (n == max)
			return false;
		v = v << 4 | (uint32_t)hexval(**s);
	}
	*out = v;
	return n >= min;
}

int vc_pci_bdf_parse(const char *s, struct vc_pci_bdf *out)
{
	uint32_t dom, bus, slot, fn;
	if (!s || !hex_field(&s, 4, 8, &dom) || *s++ != ':' || !hex_field(&s, 2, 2, &bus) ||
	    *s++ != ':' || !hex_field(&s, 2, 2, &slot) || *s++ != '.' ||
	    !hex_field(&s, 1, 1, &fn) || *s)
		return -EINVAL;
	if (slot > 0x1f || fn > 7)
		return -EINVAL;
	*out = (struct vc_pci_bdf){dom, (uint8_t)bus, (uint8_t)slot, (uint8_t)fn};
	return 0;
}

void vc_pci_bdf_format(const struct vc_pci_bdf *b, char out[VC_PCI_BDF_MAX])
{
	snprintf(out, VC_PCI_BDF_MAX, "%04x:%02x:%02x.%x", b->domain, b->bus, b->slot, b->function);
}

bool vc_pci_same_slot(const struct vc_pci_bdf *a, const struct vc_pci_bdf *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}

char *vfio_pci_path(const char *sysfs, const char *bdf, const char *attr)
{
	return attr ? vc_strdup_printf("%s/bus/pci/devices/%s/%s", sysfs, bdf, attr)
		    : vc_strdup_printf("%s/bus/pci/devices/%s", sysfs, bdf);
}

int vfio_read_attr(const char *path, char **out, struct vc_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = vc_read_file(path, VFIO_ATTR_MAX, &text, &len, err);
	if (r < 0)
		return r;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	*out = text;
	return 0;
}

int vfio_read_hex(const char *path, uint64_t max, uint64_t *out, struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = vfio_read_attr(path, &text, err);
	if (r < 0)
		return r;
	const char *p = text;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint64_t v = 0;
	int n = 0;
	for (; *p; p++, n++) {
		int d = hexval(*p);
		if (d < 0 || n == 16)
			break;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0 || *p || v > max)
		return vc_error_set(err, EINVAL, "`%s`: `%s` is not a hex number up to 0x%llx",
				    path, text, (unsigned long long)max);
	*out = v;
	return 0;
}

int vfio_device_group(const char *sysfs, const char *bdf, unsigned *group, struct vc_error *err)
{
	_cleanup_free_ char *link = vfio_pci_path(sysfs, bdf, "iommu_group");
	_cleanup_free_ char *name = NULL;
	if (!link)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_sysfs_link_name(link, &name, err);
	if (r < 0)
		return r;
	if (!name)
		return vc_error_set(err, ENOENT, "device %s has no IOMMU group (`%s` is missing)",
				    bdf, link);
	if (!vc_sysfs_parse_index(name, group))
		return vc_error_set(err, EINVAL, "device %s: `%s` names group `%s`", bdf, link,
				    name);
	return 0;
}

bool vfio_driver_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
			return false;
	}
	return true;
}
