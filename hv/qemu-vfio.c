/* The VFIO part of the QEMU command line: a pcie-root-port per passed host slot,
 * vfio-pci functions behind it, vfio-ap devices, q35's 64-bit MMIO window, and the
 * vfio mode's virtual IOMMU.
 * Cold-plugged: QEMU opens the groups at start, so a group that is not viable
 * fails the start, not the guest. */
#include "hv/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define HV_VFIO_PORT_MAX 255 /* pcie-root-port's chassis is 8 bits */
#define HV_VFIO_FUNC_MAX 7
#define HV_BDF_MAX	 16 /* "0000:00:00.0" plus a longer domain */
#define GIB		 ((uint64_t)1 << 30)

/* A BDF goes into an option string as is: allow only what a BDF is made of, so
 * nothing can add an option ("0000:01:00.0,x-foo=1"). The full syntax is vfio/'s. */
static bool bdf_chars_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 7 || n > HV_BDF_MAX)
		return false;
	for (const char *p = s; *p; p++) {
		if (!strchr("0123456789abcdefABCDEF:.", *p))
			return false;
	}
	return true;
}

static int validate_pci(const struct vc_hv_config *cfg, size_t i, struct vc_error *err)
{
	const struct vc_hv_vfio_pci *d = &cfg->vfio_pci[i];
	if (!d->host || !bdf_chars_ok(d->host))
		return vc_error_set(err, EINVAL, "vfio_pci[%zu].host: `%s` is not a PCI address", i,
				    d->host ? d->host : "(null)");
	if (d->port < 1 || d->port > HV_VFIO_PORT_MAX)
		return vc_error_set(err, EINVAL, "vfio_pci[%zu].port: %u is not in 1..%d", i,
				    d->port, HV_VFIO_PORT_MAX);
	if (d->function > HV_VFIO_FUNC_MAX)
		return vc_error_set(err, EINVAL, "vfio_pci[%zu].function: %u is not in 0..%d", i,
				    d->function, HV_VFIO_FUNC_MAX);
	if (d->multifunction && d->function != 0)
		return vc_error_set(err, EINVAL,
				    "vfio_pci[%zu].multifunction: only function 0 carries it", i);
	for (size_t j = 0; j < i; j++) {
		const struct vc_hv_vfio_pci *o = &cfg->vfio_pci[j];
		if (!strcmp(o->host, d->host))
			return vc_error_set(err, EINVAL,
					    "vfio_pci[%zu].host: %s is also vfio_pci[%zu]", i,
					    d->host, j);
		if (o->port == d->port && o->function == d->function)
			return vc_error_set(
				err, EINVAL,
				"vfio_pci[%zu]: port %u function %u is also vfio_pci[%zu]", i,
				d->port, d->function, j);
	}
	return 0;
}

/* QEMU refuses a slot whose function 0 is missing or single-function while other
 * functions are populated; say so here, naming the entry, not at VM start. */
static int validate_port(const struct vc_hv_config *cfg, size_t i, struct vc_error *err)
{
	unsigned port = cfg->vfio_pci[i].port;
	size_t fn0 = SIZE_MAX, n = 0;
	for (size_t j = 0; j < cfg->n_vfio_pci; j++) {
		if (cfg->vfio_pci[j].port != port)
			continue;
		n++;
		if (cfg->vfio_pci[j].function == 0)
			fn0 = j;
	}
	if (fn0 == SIZE_MAX)
		return vc_error_set(err, EINVAL,
				    "vfio_pci[%zu]: port %u has no function 0 (the guest would not "
				    "see the slot)",
				    i, port);
	if (n > 1 && !cfg->vfio_pci[fn0].multifunction)
		return vc_error_set(err, EINVAL,
				    "vfio_pci[%zu].multifunction: port %u has %zu functions, so "
				    "function 0 must be multifunction",
				    fn0, port, n);
	return 0;
}

unsigned vc_hv_spare_port_first(const struct vc_hv_config *cfg)
{
	unsigned last = 0;
	for (size_t i = 0; i < cfg->n_vfio_pci; i++)
		if (cfg->vfio_pci[i].port > last)
			last = cfg->vfio_pci[i].port;
	return last + 1;
}

int hv_vfio_validate(const struct vc_hv_config *cfg, struct vc_error *err)
{
	if (cfg->hotplug_ports > VC_HV_HOTPLUG_PORTS_MAX)
		return vc_error_set(err, EINVAL, "hotplug_ports: %u is more than %d",
				    cfg->hotplug_ports, VC_HV_HOTPLUG_PORTS_MAX);
	if (cfg->n_vfio_pci > 0 && !cfg->vfio_pci)
		return vc_error_set(err, EINVAL, "vfio_pci: NULL with n_vfio_pci %zu",
				    cfg->n_vfio_pci);
	if (cfg->n_vfio_ap > 0 && !cfg->vfio_ap)
		return vc_error_set(err, EINVAL, "vfio_ap: NULL with n_vfio_ap %zu",
				    cfg->n_vfio_ap);
	for (size_t i = 0; i < cfg->n_vfio_pci; i++) {
		int r = validate_pci(cfg, i, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < cfg->n_vfio_pci; i++) {
		int r = validate_port(cfg, i, err);
		if (r < 0)
			return r;
	}
	/* Checked after the ports themselves, so that the highest one is in range. */
	if (cfg->hotplug_ports &&
	    vc_hv_spare_port_first(cfg) + cfg->hotplug_ports - 1 > HV_VFIO_PORT_MAX)
		return vc_error_set(err, EINVAL,
				    "hotplug_ports: %u spare ports after VFIO port %u go past "
				    "port %d",
				    cfg->hotplug_ports, vc_hv_spare_port_first(cfg) - 1,
				    HV_VFIO_PORT_MAX);
	for (size_t i = 0; i < cfg->n_vfio_ap; i++) {
		const char *p = cfg->vfio_ap[i];
		if (!p || p[0] != '/')
			return vc_error_set(err, EINVAL,
					    "vfio_ap[%zu]: `%s` is not an absolute path", i,
					    p ? p : "(null)");
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->vfio_ap[j], p))
				return vc_error_set(err, EINVAL,
						    "vfio_ap[%zu]: %s is also vfio_ap[%zu]", i, p,
						    j);
		}
	}
	return 0;
}

static int push(char ***v, const char *opt, char *val)
{
	if (!val)
		return -ENOMEM;
	int r = vc_strv_push(v, opt);
	if (r == 0)
		r = vc_strv_push(v, val);
	free(val);
	return r;
}

/* QEMU takes sizes with a suffix; whole GiB read best in `ps`. */
static char *size_text(uint64_t bytes)
{
	if (bytes % GIB == 0)
		return vc_strdup_printf("%" PRIu64 "G", bytes / GIB);
	return vc_strdup_printf("%" PRIu64, bytes);
}

static bool port_seen(const struct vc_hv_config *cfg, size_t before, unsigned port)
{
	for (size_t j = 0; j < before; j++)
		if (cfg->vfio_pci[j].port == port)
			return true;
	return false;
}

/* The vfio mode's virtual IOMMU, before every root port and vfio-pci device: vfio-pci
 * looks up its DMA address space (the IOMMU's) when it is created. Without ACPI
 * hot-plug on the root ports, the guest's pciehp registers each port's slot under
 * its number (slot=N): the agent finds port N at /sys/bus/pci/slots/N/address.
 * caching-mode=on makes the guest report every mapping, which a vfio-pci device
 * behind this IOMMU needs; intremap=on remaps its MSIs. */
static int viommu_argv(char ***argv)
{
	int r = push(argv, "-global", strdup("ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"));
	if (r == 0)
		r = push(argv, "-device", strdup("intel-iommu,intremap=on,caching-mode=on"));
	return r;
}

int hv_vfio_argv(const struct vc_hv_config *cfg, char ***argv)
{
	int r = cfg->viommu ? viommu_argv(argv) : 0;
	if (r == 0 && cfg->pci_hole64_bytes) {
		_cleanup_free_ char *size = size_text(cfg->pci_hole64_bytes);
		r = push(argv, "-global",
			 size ? vc_strdup_printf("q35-pcihost.pci-hole64-size=%s", size) : NULL);
	}
	for (size_t i = 0; i < cfg->n_vfio_pci && r == 0; i++) {
		const struct vc_hv_vfio_pci *d = &cfg->vfio_pci[i];
		/* Each port is declared before the first function that names it as bus. */
		if (!port_seen(cfg, i, d->port))
			r = push(argv, "-device",
				 vc_strdup_printf("pcie-root-port,id=rp%u,chassis=%u,slot=%u,"
						  "bus=pcie.0",
						  d->port, d->port, d->port));
		if (r == 0)
			r = push(argv, "-device",
				 vc_strdup_printf("vfio-pci,host=%s,bus=rp%u,addr=0x0.%u%s",
						  d->host, d->port, d->function,
						  d->multifunction ? ",multifunction=on" : ""));
	}
	/* Spare ports for hot-plug, empty. No I/O window: the firmware would reserve
	 * 4 KiB of the 64 KiB port space for each, which runs out after a dozen
	 * ports, and virtio devices need none. */
	unsigned first = vc_hv_spare_port_first(cfg);
	for (unsigned p = first; p < first + cfg->hotplug_ports && r == 0; p++)
		r = push(argv, "-device",
			 vc_strdup_printf("pcie-root-port,id=rp%u,chassis=%u,slot=%u,bus=pcie.0,"
					  "io-reserve=0",
					  p, p, p));
	for (size_t i = 0; i < cfg->n_vfio_ap && r == 0; i++) {
		_cleanup_free_ char *path = hv_qopt(cfg->vfio_ap[i]);
		r = push(argv, "-device",
			 path ? vc_strdup_printf("vfio-ap,sysfsdev=%s", path) : NULL);
	}
	return r;
}
