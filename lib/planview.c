/* `vcrun plan`: what `create` would do with a bundle, without doing any of it: the
 * spec after CDI edits, the VFIO groups (devices, drivers, what binding would
 * change, where each function goes in the guest), the network interfaces found, and
 * the hypervisor's command line. VCRUN_SYSFS_ROOT and VCRUN_DEV_ROOT point the VFIO
 * part at another tree, so all of it can be seen on a machine without the hardware. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/config.h"
#include "lib/devices.h"
#include "lib/plan-internal.h"
#include "lib/plan.h"
#include "lib/vcrun.h"
#include "netns/netns.h"
#include "oci/json.h"
#include "oci/spec.h"
#include "vfio/vfio.h"

static void describe_network(struct vc_jgen *g, const struct vc_oci_spec *spec)
{
	enum vc_netns_mode mode = VC_NETNS_NONE;
	const char *path = NULL;
	struct vc_error err = {0};
	vc_jgen_object_open(g);
	if (vc_netns_mode_from_spec(spec, &mode, &path, &err) < 0) {
		vc_jgen_kv_string(g, "error", err.msg);
	} else if (mode == VC_NETNS_NONE) {
		vc_jgen_kv_string(g, "namespace", "none: the VM gets no network interface");
	} else if (mode == VC_NETNS_NEW) {
		vc_jgen_kv_string(
			g, "namespace",
			"new: vcrun makes one; interfaces appear when the hooks move them in");
	} else {
		vc_jgen_kv_string(g, "namespace", path);
		struct vc_netns_scan *scan = NULL;
		if (vc_netns_scan(path, &scan, &err) < 0) {
			vc_jgen_kv_string(g, "error", err.msg);
		} else {
			vc_jgen_key(g, "interfaces");
			vc_jgen_array_open(g);
			for (size_t i = 0; i < scan->n_ifaces; i++) {
				const struct vc_netns_iface *f = &scan->ifaces[i];
				vc_jgen_object_open(g);
				vc_jgen_kv_string(g, "name", f->name);
				vc_jgen_kv_string(g, "mac", f->mac);
				vc_jgen_kv_int(g, "mtu", f->mtu);
				vc_jgen_kv_bool(g, "up", f->up);
				vc_jgen_object_close(g);
			}
			vc_jgen_array_close(g);
			vc_netns_scan_free(scan);
		}
	}
	vc_jgen_object_close(g);
}

int vc_plan_describe(const struct vc_ctx *ctx, const char *bundle, char **json,
		     struct vc_error *err)
{
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	int r;
	if ((r = vc_oci_spec_load(bundle ? bundle : ".", &spec, err)) < 0 ||
	    (r = vc_devices_apply_cdi(&spec, err)) < 0)
		return r;
	struct vc_config cfg __attribute__((cleanup(vc_config_release))) = {0};
	if ((r = vc_config_load(&cfg, err)) < 0)
		return r;
	enum vc_hv_accel accel = VC_ACCEL_TCG;
	char why[512];
	if ((r = vc_config_describe_accel(&cfg, ctx->root, &accel, why, sizeof(why), err)) < 0)
		return r;

	struct vc_vfio_request v = {0};
	struct vc_plan plan = {0};
	char **argv = NULL;
	_cleanup_jgen_ struct vc_jgen *g = NULL;
	if ((r = vc_devices_vfio_prepare(spec, cfg.vfio_bind, &v, err)) < 0 ||
	    (r = vc_plan_build(&(struct vc_plan_where){ctx->root, "plan", "plan", v.dev_root, NULL,
						       v.sysfs_root},
			       spec, &cfg, accel, &plan, err)) < 0 ||
	    (r = vc_plan_set_vfio(&plan, &v.place, err)) < 0 ||
	    (r = vc_plan_set_devices(&plan, spec, err)) < 0)
		goto out;
	struct vc_hv_config hc;
	vc_plan_hv_config(&plan, "STATE_DIR", &hc);
	if ((r = vc_hv_qemu_argv(&hc, &argv, err)) < 0)
		goto out;

	g = vc_jgen_new(true);
	if (!g) {
		r = vc_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	vc_jgen_object_open(g);
	vc_jgen_key(g, "spec");
	vc_jgen_value(g, spec->raw);
	vc_jgen_key(g, "vfio");
	vc_jgen_object_open(g);
	vc_jgen_kv_bool(g, "bind", cfg.vfio_bind);
	vc_jgen_kv_string(g, "mode", vc_plan_vfio_mode_name(plan.vfio_mode));
	vc_jgen_key(g, "groups");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < v.n; i++)
		vc_vfio_group_describe(g, &v.groups[i], cfg.vfio_bind ? &v.bind[i] : NULL);
	vc_jgen_array_close(g);
	vc_jgen_key(g, "placement");
	vc_vfio_plan_describe(g, &v.place);
	vc_jgen_object_close(g);
	vc_plan_blks_to_json(g, "disks", &plan);
	vc_jgen_key(g, "network");
	describe_network(g, spec);
	vc_jgen_key(g, "guest_storages");
	vc_jgen_value(g, plan.storages);
	vc_jgen_key(g, "guest_spec");
	vc_jgen_value(g, plan.guest_spec);
	vc_jgen_key(g, "hypervisor");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "accel", vc_hv_accel_name(accel));
	if (why[0])
		vc_jgen_kv_string(g, "accel_reason", why);
	vc_jgen_key(g, "argv");
	vc_jgen_array_open(g);
	for (size_t i = 0; argv[i]; i++)
		vc_jgen_string(g, argv[i]);
	vc_jgen_array_close(g);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	r = vc_jgen_finish(g, json, NULL, err);
out:
	vc_strv_freep(&argv);
	vc_plan_release(&plan);
	vc_devices_vfio_release(&v);
	return r;
}
