/* The host checks behind `vcrun check`: what this host offers vcrun, judged the way
 * `create` judges it (KVM only if a test guest really runs). VCRUN_SYSFS_ROOT and
 * VCRUN_DEV_ROOT point the IOMMU/VFIO and vhost-vsock checks at another tree (a fake
 * one in tests); the KVM probe always uses the real one. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/config.h"
#include "lib/devices.h"
#include "lib/vcrun.h"
#include "vfio/vfio.h"

static void add(struct vc_host_check *c, const char *name, bool usable, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(struct vc_host_check *c, const char *name, bool usable, const char *fmt, ...)
{
	if (c->n == VC_ARRAY_SIZE(c->items))
		return;
	struct vc_check_item *it = &c->items[c->n++];
	it->name = name;
	it->usable = usable;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

char *vc_accel_cache_path(const char *root)
{
	/* a private cache: tests that must see a first decision */
	const char *env = getenv("VCRUN_ACCEL_CACHE");
	if (env && *env)
		return strdup(env);
	/* The answer holds for the whole boot (the cache is keyed on the boot id), and
	 * finding it can cost seconds on a host whose KVM hangs: one cache per host in
	 * /run, not one per --root. */
	/* Rootless: the user's run dir, so that one user's answer (its access to
	 * /dev/kvm) is never another's. */
	const char *dir = vc_host_run_dir();
	if (vc_mkdir_p(dir, 0700, NULL) == 0 && access(dir, W_OK) == 0)
		return vc_strdup_printf("%s/accel.cache", dir);
	if (root && vc_mkdir_p(root, 0700, NULL) == 0)
		return vc_strdup_printf("%s/accel.cache", root);
	return NULL; /* no cache: the probe runs on every call */
}

static enum vc_hv_accel check_kvm(struct vc_host_check *c, const char *root, const char *qemu)
{
	_cleanup_free_ char *cache = vc_accel_cache_path(root);
	enum vc_hv_accel a = VC_ACCEL_TCG;
	char why[512] = "";
	struct vc_error err = {0};
	if (vc_hv_accel_probe(qemu, cache, &a, NULL, why, sizeof(why), &err) < 0)
		add(c, "kvm", false, "%s", err.msg);
	else if (a == VC_ACCEL_KVM)
		add(c, "kvm", true, "%s", why[0] ? why : "a test guest ran under KVM");
	else
		add(c, "kvm", false, "%s", why[0] ? why : "KVM is not usable here");
	return a;
}

static bool check_vsock(struct vc_host_check *c, const char *dev)
{
	if (vc_transport_vhost_vsock_available(dev)) {
		add(c, "vhost-vsock", true, "%s/vhost-vsock", dev);
		return true;
	}
	_cleanup_free_ char *path = vc_strdup_printf("%s/vhost-vsock", dev);
	if (path && access(path, F_OK) < 0 && errno == ENOENT)
		add(c, "vhost-vsock", false, "%s does not exist (modprobe vhost_vsock)", path);
	else
		add(c, "vhost-vsock", false, "%s cannot be opened", path ? path : "vhost-vsock");
	return false;
}

static void check_vfio(struct vc_host_check *c, const char *sysfs, const char *dev)
{
	struct vc_error err = {0};
	unsigned groups = 0;
	if (vc_vfio_iommu_check(sysfs, &groups, &err) < 0)
		add(c, "iommu", false, "%s", err.msg);
	else
		add(c, "iommu", true, "%u IOMMU groups in %s/kernel/iommu_groups", groups, sysfs);
	if (vc_vfio_driver_check(sysfs, dev, &err) < 0)
		add(c, "vfio", false, "%s", err.msg);
	else
		add(c, "vfio", true, "vfio-pci is loaded, %s/vfio/vfio exists", dev);
}

/* What create will do to QEMU (hv/jail.c), as plan.c decides it. */
static void check_confinement(struct vc_host_check *c, const struct vc_config *cfg)
{
	if (!cfg->confine_hypervisor) {
		add(c, "confinement", false,
		    "off (confine_hypervisor is false): QEMU runs as root with every capability, "
		    "confined by -sandbox on only");
		return;
	}
	if (!vc_config_confines(cfg)) {
		add(c, "confinement", true,
		    "rootless: QEMU runs as the calling user, with -sandbox on, in the user's "
		    "namespaces");
		return;
	}
	char who[96];
	if (cfg->hypervisor_uid_base)
		snprintf(who, sizeof(who), "uid %u + its pid, gid %u", cfg->hypervisor_uid_base,
			 cfg->hypervisor_uid_base);
	else
		snprintf(who, sizeof(who), "uid 0 (hypervisor_uid_base is 0)");
	add(c, "confinement", true,
	    "QEMU runs as %s, in a mount namespace of its own (a read-only root with /usr, "
	    "its kernel, initrd and shares), with no capability but the 9p server's (none "
	    "with virtio-fs), no new privileges and -sandbox on; sockets, taps and disks are "
	    "passed in as fds. Not for a VM with VFIO devices: QEMU 7.2 opens /dev/vfio "
	    "itself",
	    who);
}

int vc_host_check(const struct vc_ctx *ctx, struct vc_host_check *c)
{
	memset(c, 0, sizeof(*c));
	const char *sysfs = vc_devices_sysfs_root();
	const char *dev = vc_devices_dev_root();
	struct vc_config cfg __attribute__((cleanup(vc_config_release))) = {0};
	struct vc_error err = {0};
	const char *qemu = VC_QEMU_DEFAULT;
	bool have_cfg = vc_config_load(&cfg, &err) == 0;
	if (have_cfg)
		qemu = cfg.qemu;
	else
		add(c, "config", false, "%s", err.msg); /* create would fail the same way */

	c->rootless = vc_rootless(c->rootless_why, sizeof(c->rootless_why));
	enum vc_hv_accel probed = check_kvm(c, ctx->root, qemu);
	bool vsock = check_vsock(c, dev);
	check_vfio(c, sysfs, dev);
	if (have_cfg)
		check_confinement(c, &cfg);

	if (have_cfg && cfg.accel != VC_ACCEL_AUTO)
		snprintf(c->accel, sizeof(c->accel), "%s (set in vcrun's config)",
			 vc_hv_accel_name(cfg.accel));
	else
		snprintf(c->accel, sizeof(c->accel), "%s%s", vc_hv_accel_name(probed),
			 probed == VC_ACCEL_TCG ? " (KVM is not usable)" : "");
	snprintf(c->channel, sizeof(c->channel), "%s",
		 vsock ? "vsock" : "virtio-serial (no vhost-vsock)");
	if (have_cfg)
		snprintf(c->kernel, sizeof(c->kernel), "%s, %s with %s (%s)",
			 vc_kernel_kind_name(cfg.kernel_kind), cfg.kernel, cfg.initrd,
			 !cfg.kernel_auto		     ? "set in vcrun's config"
			 : cfg.kernel_kind == VC_KERNEL_LEAN ? "auto: the lean kernel is there"
							     : "auto: no lean kernel; make "
							       "guest-kernel builds one");
	else
		snprintf(c->kernel, sizeof(c->kernel), "unknown (the config is unusable)");
	return 0;
}
