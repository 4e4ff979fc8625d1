/* plan.json: the plan written by create and read back by the monitor, teardown and
 * every later call. The reader is a gate like the protocols' decoders: the file sits
 * in a directory the caller may share, so every field is checked for type and range
 * (fuzz-plan drives it). */
#include "lib/plan-internal.h"
#include "lib/plan.h"
#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/cleanup.h"
#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/util.h"
#include "lib/sandbox.h"
#include "lib/state.h"
#include "netns/netns.h"
#include "vfio/vfio.h"

static void vfio_to_json(struct vc_jgen *g, const struct vc_plan *plan)
{
	vc_jgen_key(g, "vfio");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "mode", vc_plan_vfio_mode_name(plan->vfio_mode));
	vc_jgen_key(g, "pci");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < plan->n_vfio_pci; i++) {
		const struct vc_hv_vfio_pci *d = &plan->vfio_pci[i];
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "host", d->host);
		vc_jgen_kv_int(g, "port", d->port);
		vc_jgen_kv_int(g, "function", d->function);
		vc_jgen_kv_bool(g, "multifunction", d->multifunction);
		vc_jgen_kv_int(g, "group", d->group);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_key(g, "ap");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < plan->n_vfio_ap; i++)
		vc_jgen_string(g, plan->vfio_ap[i]);
	vc_jgen_array_close(g);
	vc_jgen_key(g, "pci_hole64_bytes");
	vc_jgen_uint(g, plan->pci_hole64_bytes);
	vc_jgen_object_close(g);
}

static int vfio_from_json(const struct vc_json *doc, const char *source, struct vc_plan *plan,
			  struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(doc, "vfio");
	if (!v)
		return 0;
	const struct vc_json *pci = vc_json_get(v, "pci"), *ap = vc_json_get(v, "ap");
	const struct vc_json *mode = vc_json_get(v, "mode");
	if (mode && (!vc_json_str(mode) ||
		     vc_plan_vfio_mode_parse(vc_json_str(mode), &plan->vfio_mode) < 0))
		return vc_error_set(err, EINVAL,
				    "%s: vfio.mode: must be \"" VC_VFIO_MODE_GUEST_KERNEL
				    "\" or \"" VC_VFIO_MODE_VFIO "\"",
				    source);
	for (size_t i = 0; pci && pci->type == VC_JSON_ARRAY && i < pci->u.array.len; i++) {
		const struct vc_json *d = pci->u.array.items[i];
		const char *host = vc_json_str(vc_json_get(d, "host"));
		int64_t port = 0, fn = 0, group = 0;
		const struct vc_json *mf = vc_json_get(d, "multifunction");
		const struct vc_json *grp = vc_json_get(d, "group");
		if (!host || vc_json_to_i64(vc_json_get(d, "port"), &port) < 0 ||
		    vc_json_to_i64(vc_json_get(d, "function"), &fn) < 0 || port < 1 || port > 255 ||
		    fn < 0 || fn > 7 ||
		    (grp && (vc_json_to_i64(grp, &group) < 0 || group < 0 || group > UINT32_MAX)))
			return vc_error_set(err, EINVAL, "%s: vfio.pci[%zu]: bad entry", source, i);
		if (vc_plan_add_pci(plan, host, (unsigned)port, (unsigned)fn,
				    mf && mf->type == VC_JSON_BOOL && mf->u.boolean,
				    (unsigned)group) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; ap && ap->type == VC_JSON_ARRAY && i < ap->u.array.len; i++) {
		const char *path = vc_json_str(ap->u.array.items[i]);
		if (!path)
			return vc_error_set(err, EINVAL, "%s: vfio.ap[%zu]: must be a string",
					    source, i);
		if (vc_plan_add_ap(plan, path) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	uint64_t hole = 0;
	vc_json_to_u64(vc_json_get(v, "pci_hole64_bytes"), &hole);
	plan->pci_hole64_bytes = hole;
	return 0;
}

static bool json_true(const struct vc_json *o, const char *key)
{
	const struct vc_json *v = vc_json_get(o, key);
	return v && v->type == VC_JSON_BOOL && v->u.boolean;
}

void vc_plan_blks_to_json(struct vc_jgen *g, const char *key, const struct vc_plan *plan)
{
	vc_jgen_key(g, key);
	vc_jgen_array_open(g);
	for (size_t i = 0; i < plan->n_blks; i++) {
		const struct vc_hv_blk *b = &plan->blks[i];
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "path", b->path);
		vc_jgen_kv_string(g, "id", b->id);
		vc_jgen_kv_bool(g, "readonly", b->readonly);
		if (b->target)
			vc_jgen_kv_string(g, "target", b->target);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
}

/* Absent in a plan written before disks existed: none. The disk's own checks
 * (vc_hv_blk_check) are hv's, so a bad id or path fails here, not at boot. */
static int blks_from_json(const struct vc_json *doc, const char *source, struct vc_plan *plan,
			  struct vc_error *err)
{
	const struct vc_json *blk = vc_json_get(doc, "blk");
	if (blk && blk->type != VC_JSON_ARRAY)
		return vc_error_set(err, EINVAL, "%s: blk: must be an array", source);
	for (size_t i = 0; blk && i < blk->u.array.len; i++) {
		const struct vc_json *b = blk->u.array.items[i];
		const struct vc_json *target = vc_json_get(b, "target");
		struct vc_hv_blk want = {(char *)vc_json_str(vc_json_get(b, "path")),
					 (char *)vc_json_str(vc_json_get(b, "id")),
					 json_true(b, "readonly"), (char *)vc_json_str(target)};
		if (target && (!want.target || want.target[0] != '/'))
			return vc_error_set(err, EINVAL,
					    "%s: blk[%zu].target: must be an absolute path", source,
					    i);
		if (vc_hv_blk_check(&want, err) < 0)
			return vc_error_wrap(err, "%s: blk[%zu]", source, i);
		if (vc_plan_add_blk(plan, want.path, want.id, want.readonly, want.target) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* The host mount a block-backed rootfs had, for teardown to put back. */
static void blk_rootfs_to_json(struct vc_jgen *g, const struct vc_blkroot *b)
{
	vc_jgen_key(g, "blk_rootfs");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "path", b->path);
	vc_jgen_kv_string(g, "source", b->source);
	vc_jgen_kv_string(g, "device", b->device);
	vc_jgen_kv_string(g, "fstype", b->fstype);
	vc_jgen_key(g, "flags");
	vc_jgen_uint(g, b->flags);
	vc_jgen_kv_string(g, "data", b->data);
	vc_jgen_object_close(g);
}

static bool plain_str(const char *s, bool absolute)
{
	if (!s || (absolute && s[0] != '/'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			return false;
	return true;
}

/* Teardown mounts what this says as root: each field is checked for its shape, and
 * the disk it names must be one of the plan's. */
static int blk_rootfs_from_json(const struct vc_json *doc, const char *source, struct vc_plan *plan,
				struct vc_error *err)
{
	const struct vc_json *o = vc_json_get(doc, "blk_rootfs");
	if (!o)
		return 0;
	const char *path = vc_json_str(vc_json_get(o, "path"));
	const char *src = vc_json_str(vc_json_get(o, "source"));
	const char *dev = vc_json_str(vc_json_get(o, "device"));
	const char *fstype = vc_json_str(vc_json_get(o, "fstype"));
	const char *data = vc_json_str(vc_json_get(o, "data"));
	uint64_t flags = 0;
	bool disk = false;
	for (size_t i = 0; dev && i < plan->n_blks; i++)
		disk |= !plan->blks[i].target && !strcmp(plan->blks[i].path, dev);
	if (o->type != VC_JSON_OBJECT || !plain_str(path, true) || !plain_str(src, false) ||
	    !*src || !plain_str(dev, true) || !plain_str(fstype, false) || !*fstype ||
	    !plain_str(data, false) || vc_json_to_u64(vc_json_get(o, "flags"), &flags) < 0 ||
	    flags > ULONG_MAX || !disk)
		return vc_error_set(err, EINVAL, "%s: blk_rootfs: bad entry", source);
	struct vc_blkroot *b = calloc(1, sizeof(*b));
	if (!b)
		return vc_error_set(err, ENOMEM, "out of memory");
	plan->blk_rootfs = b;
	b->flags = (unsigned long)flags;
	if (!(b->path = strdup(path)) || !(b->source = strdup(src)) || !(b->device = strdup(dev)) ||
	    !(b->fstype = strdup(fstype)) || !(b->data = strdup(data)))
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int vc_plan_to_json(const struct vc_plan *plan, char **out, size_t *len, struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "container_id", plan->container_id);
	vc_jgen_kv_string(g, "qemu", plan->qemu);
	vc_jgen_kv_string(g, "kernel", plan->kernel);
	vc_jgen_kv_string(g, "initrd", plan->initrd);
	vc_jgen_kv_string(g, "virtiofsd", plan->virtiofsd);
	vc_jgen_kv_string(g, "kernel_params", plan->kernel_params);
	vc_jgen_kv_string(g, "accel", vc_hv_accel_name(plan->accel));
	vc_jgen_kv_string(g, "shared_fs", plan->fs == VC_FS_VIRTIOFS ? "virtio-fs" : "9p");
	vc_jgen_kv_string(g, "channel", plan->channel == VC_CHANNEL_VSOCK ? "vsock" : "serial");
	vc_jgen_kv_int(g, "vsock_cid", plan->vsock_cid);
	vc_jgen_kv_int(g, "memory_mib", plan->mem_mib);
	vc_jgen_kv_int(g, "vcpus", plan->vcpus);
	vc_jgen_kv_int(g, "boot_timeout_ms", plan->boot_timeout_ms);
	vc_jgen_kv_int(g, "hotplug_root_ports", plan->hotplug_ports);
	vc_jgen_kv_int(g, "hotplug_memory_mib", plan->hotplug_mem_mib);
	vc_jgen_kv_int(g, "max_vcpus", plan->max_vcpus);
	vc_jgen_kv_bool(g, "template", plan->template);
	vc_jgen_kv_int(g, "tcg_tb_size_mib", plan->tcg_tb_size_mib);
	vc_jgen_kv_bool(g, "confine", plan->confine);
	vc_jgen_kv_int(g, "hv_uid_base", plan->hv_uid_base);
	vc_jgen_key(g, "shares");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < plan->n_shares; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "tag", plan->shares[i].tag);
		vc_jgen_kv_string(g, "host_path", plan->shares[i].host_path);
		vc_jgen_kv_bool(g, "readonly", plan->shares[i].readonly);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_key(g, "binds");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < plan->n_binds; i++) {
		const struct vc_plan_bind *b = &plan->binds[i];
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "source", b->source);
		vc_jgen_kv_string(g, "target", b->target);
		vc_jgen_kv_string(g, "what", b->what);
		vc_jgen_kv_bool(g, "readonly", b->readonly);
		vc_jgen_kv_bool(g, "recursive", b->recursive);
		vc_jgen_kv_bool(g, "file", b->file);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vfio_to_json(g, plan);
	vc_plan_blks_to_json(g, "blk", plan);
	if (plan->blk_rootfs)
		blk_rootfs_to_json(g, plan->blk_rootfs);
	if (plan->netns_path) {
		vc_jgen_key(g, "netns");
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "path", plan->netns_path);
		vc_jgen_kv_bool(g, "owned", plan->netns_owned);
		vc_jgen_object_close(g);
	}
	vc_jgen_key(g, "storages");
	vc_jgen_value(g, plan->storages);
	vc_jgen_key(g, "guest_spec");
	vc_jgen_value(g, plan->guest_spec);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, out, len, err);
}

static int plan_str(const struct vc_json *doc, const char *key, const char *source, char **dst,
		    struct vc_error *err)
{
	const char *s = vc_json_str(vc_json_get(doc, key));
	if (!s)
		return vc_error_set(err, EINVAL, "%s: %s: must be a string", source, key);
	*dst = strdup(s);
	return *dst ? 0 : vc_error_set(err, ENOMEM, "out of memory");
}

/* Targets stay inside the share: ID/name, one level, no dot-dot. */
static bool bind_target_ok(const char *t, const char *id)
{
	size_t n = strlen(id);
	return !strncmp(t, id, n) && t[n] == '/' && t[n + 1] && !strchr(t + n + 1, '/') &&
	       strcmp(t + n + 1, ".") && strcmp(t + n + 1, "..");
}

static int binds_from_json(const struct vc_json *doc, const char *source, struct vc_plan *plan,
			   struct vc_error *err)
{
	const struct vc_json *binds = vc_json_get(doc, "binds");
	if (!binds || binds->type != VC_JSON_ARRAY)
		return vc_error_set(err, EINVAL, "%s: binds: must be an array", source);
	for (size_t i = 0; i < binds->u.array.len; i++) {
		const struct vc_json *b = binds->u.array.items[i];
		const char *src = vc_json_str(vc_json_get(b, "source"));
		const char *what = vc_json_str(vc_json_get(b, "what"));
		const char *target = vc_json_str(vc_json_get(b, "target"));
		if (!src || !what || !target || !bind_target_ok(target, plan->container_id))
			return vc_error_set(err, EINVAL, "%s: binds[%zu]: bad entry", source, i);
		if (vc_plan_add_bind(plan, src, what, json_true(b, "readonly"),
				     json_true(b, "recursive"), json_true(b, "file")) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		/* add_bind names targets by what and position: the file must agree. */
		if (strcmp(plan->binds[plan->n_binds - 1].target, target))
			return vc_error_set(err, EINVAL, "%s: binds[%zu].target: `%s` out of order",
					    source, i, target);
	}
	return 0;
}

int vc_plan_from_json(const char *text, size_t len, const char *source, struct vc_plan *plan,
		      struct vc_error *err)
{
	memset(plan, 0, sizeof(*plan));
	_cleanup_json_ struct vc_json *doc = NULL;
	if (vc_json_parse(text, len, source, &doc, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *accel = NULL, *fs = NULL, *channel = NULL;
	int64_t mem = 0, vcpus = 0, timeout = 0, cid = 0;
	int r;
	if ((r = plan_str(doc, "container_id", source, &plan->container_id, err)) < 0 ||
	    (r = plan_str(doc, "qemu", source, &plan->qemu, err)) < 0 ||
	    (r = plan_str(doc, "kernel", source, &plan->kernel, err)) < 0 ||
	    (r = plan_str(doc, "initrd", source, &plan->initrd, err)) < 0 ||
	    (r = plan_str(doc, "virtiofsd", source, &plan->virtiofsd, err)) < 0 ||
	    (r = plan_str(doc, "kernel_params", source, &plan->kernel_params, err)) < 0 ||
	    (r = plan_str(doc, "accel", source, &accel, err)) < 0 ||
	    (r = plan_str(doc, "shared_fs", source, &fs, err)) < 0 ||
	    (r = plan_str(doc, "channel", source, &channel, err)) < 0)
		goto fail;
	plan->channel = !strcmp(channel, "vsock") ? VC_CHANNEL_VSOCK : VC_CHANNEL_SERIAL;
	if (plan->channel == VC_CHANNEL_VSOCK &&
	    (vc_json_to_i64(vc_json_get(doc, "vsock_cid"), &cid) < 0 || cid < 3 ||
	     cid >= UINT32_MAX)) {
		r = vc_error_set(err, EINVAL, "%s: vsock_cid: must be a guest CID", source);
		goto fail;
	}
	plan->vsock_cid = (uint32_t)cid;
	plan->accel = !strcmp(accel, "kvm") ? VC_ACCEL_KVM : VC_ACCEL_TCG;
	plan->fs = !strcmp(fs, "virtio-fs") ? VC_FS_VIRTIOFS : VC_FS_9P;
	if (vc_json_to_i64(vc_json_get(doc, "memory_mib"), &mem) < 0 ||
	    vc_json_to_i64(vc_json_get(doc, "vcpus"), &vcpus) < 0 ||
	    vc_json_to_i64(vc_json_get(doc, "boot_timeout_ms"), &timeout) < 0 || mem <= 0 ||
	    vcpus <= 0 || timeout <= 0 || mem > UINT_MAX || vcpus > UINT_MAX || timeout > INT_MAX) {
		/* Out of range would be cut to fit the plan's fields, silently. */
		r = vc_error_set(
			err, EINVAL,
			"%s: memory_mib, vcpus, boot_timeout_ms: must be positive integers "
			"that fit",
			source);
		goto fail;
	}
	plan->mem_mib = (unsigned)mem;
	plan->vcpus = (unsigned)vcpus;
	plan->boot_timeout_ms = (int)timeout;
	/* Absent in a plan written before spare ports existed: none. */
	int64_t ports = 0;
	if (vc_json_get(doc, "hotplug_root_ports") &&
	    (vc_json_to_i64(vc_json_get(doc, "hotplug_root_ports"), &ports) < 0 || ports < 0 ||
	     ports > VC_HV_HOTPLUG_PORTS_MAX)) {
		r = vc_error_set(err, EINVAL, "%s: hotplug_root_ports: must be 0 to %d", source,
				 VC_HV_HOTPLUG_PORTS_MAX);
		goto fail;
	}
	plan->hotplug_ports = (unsigned)ports;
	int64_t hmem = 0, maxc = 0;
	vc_json_to_i64(vc_json_get(doc, "hotplug_memory_mib"), &hmem);
	vc_json_to_i64(vc_json_get(doc, "max_vcpus"), &maxc);
	if (hmem < 0 || hmem > (1 << 20) || maxc < 0 || maxc > 255) {
		r = vc_error_set(err, EINVAL, "%s: hotplug_memory_mib, max_vcpus: out of range",
				 source);
		goto fail;
	}
	plan->hotplug_mem_mib = (unsigned)hmem;
	/* Absent in a plan written before it existed: QEMU's default. */
	int64_t tb = 0;
	vc_json_to_i64(vc_json_get(doc, "tcg_tb_size_mib"), &tb);
	if (tb < 0 || tb > VC_HV_TCG_TB_SIZE_MAX) {
		r = vc_error_set(err, EINVAL, "%s: tcg_tb_size_mib: must be 0 to %d", source,
				 VC_HV_TCG_TB_SIZE_MAX);
		goto fail;
	}
	plan->tcg_tb_size_mib = (unsigned)tb;
	/* Absent in a plan written before confinement: not confined. */
	const struct vc_json *conf = vc_json_get(doc, "confine");
	plan->confine = conf && conf->type == VC_JSON_BOOL && conf->u.boolean;
	int64_t base = 0;
	vc_json_to_i64(vc_json_get(doc, "hv_uid_base"), &base);
	if (base < 0 || base > (int64_t)((1u << 31) - VC_HV_PID_MAX)) {
		r = vc_error_set(err, EINVAL, "%s: hv_uid_base: out of range", source);
		goto fail;
	}
	plan->hv_uid_base = (uint32_t)base;
	plan->max_vcpus = (unsigned)maxc;
	const struct vc_json *tmpl = vc_json_get(doc, "template");
	plan->template = tmpl && tmpl->type == VC_JSON_BOOL && tmpl->u.boolean;
	const struct vc_json *shares = vc_json_get(doc, "shares");
	if (!shares || shares->type != VC_JSON_ARRAY) {
		r = vc_error_set(err, EINVAL, "%s: shares: must be an array", source);
		goto fail;
	}
	plan->shares = calloc(shares->u.array.len + 1, sizeof(*plan->shares));
	if (!plan->shares)
		goto fail_nomem;
	for (size_t i = 0; i < shares->u.array.len; i++) {
		const struct vc_json *s = shares->u.array.items[i];
		struct vc_hv_share *sh = &plan->shares[plan->n_shares];
		if ((r = plan_str(s, "tag", source, &sh->tag, err)) < 0 ||
		    (r = plan_str(s, "host_path", source, &sh->host_path, err)) < 0) {
			free(sh->tag);
			goto fail;
		}
		sh->readonly = json_true(s, "readonly");
		plan->n_shares++;
	}
	if ((r = binds_from_json(doc, source, plan, err)) < 0)
		goto fail;
	plan->storages = vc_json_clone(vc_json_get(doc, "storages"));
	plan->guest_spec = vc_json_clone(vc_json_get(doc, "guest_spec"));
	if (!plan->storages || plan->storages->type != VC_JSON_ARRAY || !plan->guest_spec ||
	    plan->guest_spec->type != VC_JSON_OBJECT) {
		r = vc_error_set(err, EINVAL, "%s: storages and guest_spec are required", source);
		goto fail;
	}
	if ((r = vfio_from_json(doc, source, plan, err)) < 0 ||
	    (r = blks_from_json(doc, source, plan, err)) < 0 ||
	    (r = blk_rootfs_from_json(doc, source, plan, err)) < 0)
		goto fail;
	const struct vc_json *ns = vc_json_get(doc, "netns");
	if (ns) {
		const struct vc_json *owned = vc_json_get(ns, "owned");
		if ((r = plan_str(ns, "path", source, &plan->netns_path, err)) < 0)
			goto fail;
		plan->netns_owned = owned && owned->type == VC_JSON_BOOL && owned->u.boolean;
	}
	return 0;
fail_nomem:
	r = vc_error_set(err, ENOMEM, "out of memory");
fail:
	vc_plan_release(plan);
	return r;
}

/* A plan is a few KiB; the bound only keeps a hostile file from filling memory. */
#define PLAN_FILE_MAX (64 << 20)

int vc_plan_load(const char *root, const char *id, struct vc_plan *plan, struct vc_error *err)
{
	memset(plan, 0, sizeof(*plan));
	_cleanup_free_ char *path = vc_state_path(root, id, "plan.json");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_read_file(path, PLAN_FILE_MAX, &text, &len, err);
	return r < 0 ? r : vc_plan_from_json(text, len, path, plan, err);
}
