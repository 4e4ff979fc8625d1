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
#include "netns/netns.h"
#include "vfio/vfio.h"

void vc_plan_release(struct vc_plan *plan)
{
	free(plan->container_id);
	free(plan->qemu);
	free(plan->kernel);
	free(plan->initrd);
	free(plan->virtiofsd);
	free(plan->kernel_params);
	free(plan->netns_path);
	for (size_t i = 0; i < plan->n_shares; i++) {
		free(plan->shares[i].tag);
		free(plan->shares[i].host_path);
	}
	free(plan->shares);
	for (size_t i = 0; i < plan->n_binds; i++) {
		free(plan->binds[i].source);
		free(plan->binds[i].target);
		free(plan->binds[i].what);
	}
	free(plan->binds);
	for (size_t i = 0; i < plan->n_vfio_pci; i++)
		free(plan->vfio_pci[i].host);
	free(plan->vfio_pci);
	for (size_t i = 0; i < plan->n_vfio_ap; i++)
		free(plan->vfio_ap[i]);
	free(plan->vfio_ap);
	for (size_t i = 0; i < plan->n_blks; i++) {
		free(plan->blks[i].path);
		free(plan->blks[i].id);
		free(plan->blks[i].target);
	}
	free(plan->blks);
	if (plan->blk_rootfs)
		vc_blkroot_release(plan->blk_rootfs);
	free(plan->blk_rootfs);
	vc_json_free(plan->storages);
	vc_json_free(plan->guest_spec);
	memset(plan, 0, sizeof(*plan));
}

static bool has_option(char *const *opts, const char *name)
{
	for (size_t i = 0; opts && opts[i]; i++)
		if (!strcmp(opts[i], name))
			return true;
	return false;
}

static bool is_bind(const struct vc_oci_mount *m)
{
	return (m->type && !strcmp(m->type, "bind")) || has_option(m->options, "bind") ||
	       has_option(m->options, "rbind");
}

/* A bind's name in the share: ID/rootfs for the rootfs (root.path; none when the
 * rootfs is a disk), or ID/mN-BASE, BASE the source's last component (letters,
 * digits, `._-` kept, at most 48), so that the guest's mountinfo says where a mount
 * came from (its root is /ID/mN-BASE under the share). */
static char *bind_target(const struct vc_plan *plan, const char *source, const char *what)
{
	if (!strcmp(what, "root.path"))
		return vc_strdup_printf("%s/rootfs", plan->container_id);
	const char *base = strrchr(source, '/');
	base = base ? base + 1 : source;
	char clean[49];
	size_t n = 0;
	for (const char *p = base; *p && n < sizeof(clean) - 1; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		clean[n++] = ok ? c : '_';
	}
	clean[n] = '\0';
	return vc_strdup_printf("%s/m%zu%s%s", plan->container_id, plan->n_binds, n ? "-" : "",
				clean);
}

int vc_plan_add_bind(struct vc_plan *plan, const char *source, const char *what, bool readonly,
		     bool recursive, bool file)
{
	struct vc_plan_bind *n = realloc(plan->binds, (plan->n_binds + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	plan->binds = n;
	struct vc_plan_bind *b = &plan->binds[plan->n_binds];
	*b = (struct vc_plan_bind){.readonly = readonly, .recursive = recursive, .file = file};
	b->source = strdup(source);
	b->what = strdup(what);
	b->target = bind_target(plan, source, what);
	if (!b->source || !b->what || !b->target) {
		free(b->source);
		free(b->what);
		free(b->target);
		return -ENOMEM;
	}
	plan->n_binds++;
	return 0;
}

/* The guest path of a bind: under the sandbox share's mount point. */
static char *guest_path(const struct vc_plan_bind *b)
{
	return vc_strdup_printf("%s/%s/%s", VC_GUEST_STORAGE_DIR, VC_SANDBOX_SHARE_TAG, b->target);
}

static int storage_json(const struct vc_plan *plan, const struct vc_hv_share *s,
			struct vc_json **out)
{
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	if (!o)
		return -ENOMEM;
	_cleanup_free_ char *mp = vc_strdup_printf("%s/%s", VC_GUEST_STORAGE_DIR, s->tag);
	if (!mp || vc_json_object_set(o, "source", vc_json_new_string(s->tag)) < 0 ||
	    vc_json_object_set(o, "fstype",
			       vc_json_new_string(plan->fs == VC_FS_VIRTIOFS ? "virtiofs" : "9p")) <
		    0 ||
	    vc_json_object_set(o, "mount_point", vc_json_new_string(mp)) < 0 ||
	    vc_json_object_set(o, "options", vc_json_new_array()) < 0 ||
	    vc_json_object_set(o, "readonly", vc_json_new_bool(s->readonly)) < 0)
		return -ENOMEM;
	*out = steal_ptr(o);
	return 0;
}

/* Binds each bind mount's host source into the share and points the guest spec's
 * mount at it there. */
static int plan_mounts(struct vc_plan *plan, const struct vc_oci_spec *spec, struct vc_error *err)
{
	struct vc_json *mounts = vc_json_get(plan->guest_spec, "mounts");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct vc_oci_mount *m = &spec->mounts[i];
		if (!is_bind(m))
			continue;
		if (!m->source)
			return vc_error_set(err, EINVAL,
					    "mounts[%zu].source: a bind mount needs a source", i);
		_cleanup_free_ char *src =
			m->source[0] == '/' ? strdup(m->source)
					    : vc_strdup_printf("%s/%s", spec->bundle, m->source);
		_cleanup_free_ char *what = vc_strdup_printf("mounts[%zu].source", i);
		if (!src || !what)
			return vc_error_set(err, ENOMEM, "out of memory");
		struct stat st;
		if (stat(src, &st) < 0)
			return vc_error_sys(err, errno, "mounts[%zu].source: `%s`", i, src);
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			return vc_error_set(
				err, EINVAL,
				"mounts[%zu].source: `%s` is not a directory or regular "
				"file: only those can be shared into a VM",
				i, src);
		if (vc_plan_add_bind(plan, src, what, has_option(m->options, "ro"),
				     has_option(m->options, "rbind"), S_ISREG(st.st_mode)) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		_cleanup_free_ char *guest_src = guest_path(&plan->binds[plan->n_binds - 1]);
		struct vc_json *gm =
			mounts && mounts->type == VC_JSON_ARRAY && i < mounts->u.array.len
				? mounts->u.array.items[i]
				: NULL;
		if (!guest_src || !gm ||
		    vc_json_object_set(gm, "source", vc_json_new_string(guest_src)) < 0)
			return vc_error_set(err, ENOMEM, "mounts[%zu]: cannot rewrite the source",
					    i);
	}
	return 0;
}

const char *vc_plan_vfio_mode_name(enum vc_plan_vfio_mode m)
{
	return m == VC_PLAN_VFIO_VFIO ? VC_VFIO_MODE_VFIO : VC_VFIO_MODE_GUEST_KERNEL;
}

int vc_plan_vfio_mode_parse(const char *s, enum vc_plan_vfio_mode *m)
{
	if (!strcmp(s, VC_VFIO_MODE_GUEST_KERNEL))
		*m = VC_PLAN_VFIO_GUEST_KERNEL;
	else if (!strcmp(s, VC_VFIO_MODE_VFIO))
		*m = VC_PLAN_VFIO_VFIO;
	else
		return -EINVAL;
	return 0;
}

/* The mode from the spec's annotation; placement annotations are vcrun's to write,
 * so any the spec brings are dropped from the guest's copy (they would steer the
 * agent's sysfs writes). */
static int plan_vfio_mode(struct vc_plan *plan, const struct vc_oci_spec *spec,
			  struct vc_error *err)
{
	const char *mode = vc_oci_spec_annotation(spec, VC_ANNOT_VFIO_MODE);
	if (mode && vc_plan_vfio_mode_parse(mode, &plan->vfio_mode) < 0)
		return vc_error_set(err, EINVAL,
				    "annotations: " VC_ANNOT_VFIO_MODE ": unknown value `%s` "
				    "(" VC_VFIO_MODE_GUEST_KERNEL " or " VC_VFIO_MODE_VFIO ")",
				    mode);
	struct vc_json *an = vc_json_get(plan->guest_spec, "annotations");
	if (!an || an->type != VC_JSON_OBJECT)
		return 0;
	for (size_t i = 0; i < an->u.object.len;) {
		const char *k = an->u.object.members[i].key;
		if (!strncmp(k, VC_ANNOT_VFIO_GROUP, strlen(VC_ANNOT_VFIO_GROUP))) {
			_cleanup_free_ char *key = strdup(k);
			if (!key)
				return vc_error_set(err, ENOMEM, "out of memory");
			vc_json_object_remove(an, key);
		} else {
			i++;
		}
	}
	return 0;
}

/* A guest CID for a new VM: 3 and up, never the host (2) nor VMADDR_CID_ANY. A
 * clash with a running VM makes QEMU fail at start, with a message naming it. */
static uint32_t pick_cid(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (uint64_t)ts.tv_sec;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return 3 + (uint32_t)(x % (UINT32_MAX - 4));
}

int vc_plan_build(const struct vc_plan_where *w, const struct vc_oci_spec *spec,
		  const struct vc_config *cfg, enum vc_hv_accel accel, struct vc_plan *plan,
		  struct vc_error *err)
{
	const char *id = w->id, *dev_root = w->dev_root;
	_cleanup_free_ char *guest_root = NULL;
	_cleanup_free_ char *share_dir = vc_sandbox_share_dir(w->root, w->owner);
	_cleanup_free_ char *pin = vc_sandbox_host_name(w->root, id);
	memset(plan, 0, sizeof(*plan));
	plan->container_id = strdup(id);
	plan->qemu = strdup(cfg->qemu);
	plan->kernel = strdup(cfg->kernel);
	plan->initrd = strdup(cfg->initrd);
	plan->virtiofsd = strdup(cfg->virtiofsd);
	plan->kernel_params = strdup(cfg->kernel_params ? cfg->kernel_params : "");
	plan->accel = accel;
	plan->fs = cfg->fs;
	/* vhost-vsock is a real socket per VM; virtio-serial is the fallback that
	 * works everywhere. */
	plan->channel =
		vc_transport_vhost_vsock_available(dev_root) ? VC_CHANNEL_VSOCK : VC_CHANNEL_SERIAL;
	plan->vsock_cid = plan->channel == VC_CHANNEL_VSOCK ? pick_cid() : 0;
	plan->mem_mib = cfg->mem_mib;
	plan->vcpus = cfg->vcpus;
	plan->boot_timeout_ms = cfg->boot_timeout_ms;
	plan->hotplug_ports = cfg->hotplug_root_ports;
	plan->hotplug_mem_mib = cfg->hotplug_memory_mib;
	plan->tcg_tb_size_mib = cfg->tcg_tb_size_mib;
	long host_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	plan->max_vcpus = cfg->max_vcpus		      ? cfg->max_vcpus
			  : host_cpus > 0 && host_cpus <= 255 ? (unsigned)host_cpus
							      : 1;
	plan->template = cfg->template;
	plan->confine = vc_config_confines(cfg);
	plan->hv_uid_base = cfg->hypervisor_uid_base;
	const char *tmpl = vc_oci_spec_annotation(spec, VC_ANNOT_TEMPLATE);
	if (tmpl && strcmp(tmpl, "true") && strcmp(tmpl, "false")) {
		vc_plan_release(plan);
		return vc_error_set(err, EINVAL,
				    "annotations: " VC_ANNOT_TEMPLATE
				    ": `%s` is neither \"true\" nor \"false\"",
				    tmpl);
	}
	if (tmpl)
		plan->template = !strcmp(tmpl, "true");
	plan->guest_spec = vc_json_clone(spec->raw);
	plan->storages = vc_json_new_array();
	int r = -ENOMEM;
	if (!plan->container_id || !plan->qemu || !plan->kernel || !plan->initrd ||
	    !plan->virtiofsd || !plan->kernel_params || !plan->guest_spec || !plan->storages ||
	    !share_dir || !pin)
		goto fail_nomem;

	for (const char *const *f = (const char *const[]){plan->kernel, plan->initrd, NULL}; *f;
	     f++)
		if (access(*f, R_OK) < 0) {
			r = vc_error_sys(
				err, errno,
				"guest image `%s` (build it with `make`, or set kernel/initrd "
				"in " VC_CONFIG_DEFAULT ")",
				*f);
			goto fail;
		}

	/* A memory limit sizes the VM: the limit plus room for the guest kernel. */
	const struct vc_oci_resources *res = spec->linux ? spec->linux->resources : NULL;
	if (res && res->has_memory_limit && res->memory_limit > 0) {
		uint64_t want = (uint64_t)res->memory_limit / (1024 * 1024) + 128;
		if (want > plan->mem_mib)
			plan->mem_mib = (unsigned)(want > (1u << 20) ? (1u << 20) : want);
	}
	if (res && res->has_cpu_quota && res->cpu_quota > 0 && res->has_cpu_period &&
	    res->cpu_period > 0) {
		uint64_t cpus = ((uint64_t)res->cpu_quota + res->cpu_period - 1) / res->cpu_period;
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		if (online > 0 && cpus > (uint64_t)online)
			cpus = (uint64_t)online;
		if (cpus > plan->vcpus)
			plan->vcpus = (unsigned)cpus;
	}

	if ((r = plan_vfio_mode(plan, spec, err)) < 0)
		goto fail;

	enum vc_netns_mode mode;
	const char *ns_path = NULL;
	if ((r = vc_netns_mode_from_spec(spec, &mode, &ns_path, err)) < 0)
		goto fail;
	if (mode != VC_NETNS_NONE) {
		plan->netns_owned = mode == VC_NETNS_NEW;
		plan->netns_path =
			plan->netns_owned ? vc_netns_pin_path(NULL, pin) : strdup(ns_path);
		if (!plan->netns_path)
			goto fail_nomem;
	}

	/* One share for the whole sandbox, writable even for root.readonly: like runc,
	 * the runtime creates mount points in the rootfs first and makes it read-only
	 * after (the agent remounts it). */
	plan->shares = calloc(1, sizeof(*plan->shares));
	if (!plan->shares)
		goto fail_nomem;
	plan->shares[0].tag = strdup(VC_SANDBOX_SHARE_TAG);
	plan->shares[0].host_path = strdup(share_dir);
	plan->n_shares = 1;
	if (!plan->shares[0].tag || !plan->shares[0].host_path)
		goto fail_nomem;
	/* A disk, or the share's first bind: root.path in the guest spec is either's. */
	if ((r = vc_plan_blk_rootfs(w, spec, cfg, plan, err)) < 0)
		goto fail;
	if (!plan->blk_rootfs &&
	    vc_plan_add_bind(plan, spec->rootfs_abs, "root.path", false, true, false) < 0)
		goto fail_nomem;
	r = plan_mounts(plan, spec, err);
	if (r < 0)
		goto fail;

	struct vc_json *root = vc_json_get(plan->guest_spec, "root");
	guest_root = plan->blk_rootfs ? NULL : guest_path(&plan->binds[0]);
	if (!plan->blk_rootfs &&
	    (!root || !guest_root ||
	     vc_json_object_set(root, "path", vc_json_new_string(guest_root)) < 0))
		goto fail_nomem;
	struct vc_json *st = NULL;
	if (storage_json(plan, &plan->shares[0], &st) < 0 ||
	    vc_json_array_append(plan->storages, st) < 0)
		goto fail_nomem;
	return 0;
fail_nomem:
	r = vc_error_set(err, ENOMEM, "out of memory");
fail:
	vc_plan_release(plan);
	return r;
}

int vc_plan_add_pci(struct vc_plan *plan, const char *host, unsigned port, unsigned function,
		    bool multifunction, unsigned group)
{
	struct vc_hv_vfio_pci *n = realloc(plan->vfio_pci, (plan->n_vfio_pci + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	plan->vfio_pci = n;
	char *h = strdup(host);
	if (!h)
		return -ENOMEM;
	n[plan->n_vfio_pci++] = (struct vc_hv_vfio_pci){h, port, function, multifunction, group};
	return 0;
}

int vc_plan_add_ap(struct vc_plan *plan, const char *path)
{
	return vc_strv_push(&plan->vfio_ap, path) < 0 ? -ENOMEM : (plan->n_vfio_ap++, 0);
}

int vc_plan_add_blk(struct vc_plan *plan, const char *path, const char *id, bool readonly,
		    const char *target)
{
	struct vc_hv_blk *n = realloc(plan->blks, (plan->n_blks + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	plan->blks = n;
	struct vc_hv_blk b = {strdup(path), strdup(id), readonly, target ? strdup(target) : NULL};
	if (!b.path || !b.id || (target && !b.target)) {
		free(b.path);
		free(b.id);
		free(b.target);
		return -ENOMEM;
	}
	plan->blks[plan->n_blks++] = b;
	return 0;
}

void vc_plan_blk_id(const char *container_id, size_t index, char id[VC_HV_BLK_ID_MAX + 1])
{
	/* FNV-1a: 48 bits of the id keep two containers of one VM apart (the monitor
	 * refuses a clash rather than trusting it never happens). */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *p = container_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(id, VC_HV_BLK_ID_MAX + 1, "vcb%012llx%zx",
		 (unsigned long long)(h & 0xffffffffffffULL), index & 0xfffff);
}

struct vc_json *vc_plan_agent_devices(const struct vc_plan *plan)
{
	_cleanup_json_ struct vc_json *a = vc_json_new_array();
	for (size_t i = 0; a && i < plan->n_blks; i++) {
		const struct vc_hv_blk *b = &plan->blks[i];
		if (!b->target)
			continue;
		struct vc_json *o = vc_json_new_object();
		if (!o || vc_json_array_append(a, o) < 0) {
			vc_json_free(o);
			return NULL;
		}
		if (vc_json_object_set(o, "type", vc_json_new_string("blk")) < 0 ||
		    vc_json_object_set(o, "id", vc_json_new_string(b->id)) < 0 ||
		    vc_json_object_set(o, "container_path", vc_json_new_string(b->target)) < 0)
			return NULL;
	}
	return steal_ptr(a);
}

/* vfio mode: per host group, "PORT.FUNCTION,..." in the order of the placement. */
static int annotate_groups(struct vc_plan *plan, struct vc_error *err)
{
	struct vc_json *an = vc_json_get(plan->guest_spec, "annotations");
	if (!an) {
		if (vc_json_object_set(plan->guest_spec, "annotations", vc_json_new_object()) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
		an = vc_json_get(plan->guest_spec, "annotations");
	}
	if (!an || an->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "annotations: must be an object");
	for (size_t i = 0; i < plan->n_vfio_pci; i++) {
		unsigned g = plan->vfio_pci[i].group;
		bool done = false;
		for (size_t j = 0; j < i && !done; j++)
			done = plan->vfio_pci[j].group == g;
		if (done)
			continue;
		_cleanup_free_ char *list = NULL;
		for (size_t j = i; j < plan->n_vfio_pci; j++) {
			const struct vc_hv_vfio_pci *d = &plan->vfio_pci[j];
			if (d->group != g)
				continue;
			char *n = vc_strdup_printf("%s%s%u.%u", list ? list : "", list ? "," : "",
						   d->port, d->function);
			if (!n)
				return vc_error_set(err, ENOMEM, "out of memory");
			free(list);
			list = n;
		}
		_cleanup_free_ char *key = vc_strdup_printf(VC_ANNOT_VFIO_GROUP "%u", g);
		if (!key || vc_json_object_set(an, key, vc_json_new_string(list)) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int vc_plan_set_vfio(struct vc_plan *plan, const struct vc_vfio_plan *vp, struct vc_error *err)
{
	bool vfio = plan->vfio_mode == VC_PLAN_VFIO_VFIO;
	if (vfio && vp->n_ap > 0)
		return vc_error_set(err, EINVAL,
				    "annotations: " VC_ANNOT_VFIO_MODE ": `" VC_VFIO_MODE_VFIO
				    "` passes PCI devices only, and `%s` is an AP device",
				    vp->ap[0]);
	for (size_t i = 0; i < vp->n_pci; i++)
		if (vc_plan_add_pci(plan, vp->pci[i].host, vp->pci[i].port, vp->pci[i].function,
				    vp->pci[i].multifunction, vp->pci[i].group) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < vp->n_ap; i++)
		if (vc_plan_add_ap(plan, vp->ap[i]) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	plan->pci_hole64_bytes = vp->pci_hole64_bytes;
	if (vfio)
		return annotate_groups(plan, err);
	struct vc_json *devs = vc_json_get(vc_json_get(plan->guest_spec, "linux"), "devices");
	if (devs && devs->type == VC_JSON_ARRAY) {
		size_t w = 0;
		for (size_t i = 0; i < devs->u.array.len; i++) {
			const char *path = vc_json_str(vc_json_get(devs->u.array.items[i], "path"));
			if (path && vc_vfio_is_vfio_path(path))
				vc_json_free(devs->u.array.items[i]);
			else
				devs->u.array.items[w++] = devs->u.array.items[i];
		}
		devs->u.array.len = w;
	}
	return 0;
}

void vc_plan_hv_config(const struct vc_plan *plan, const char *state_dir, struct vc_hv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->qemu_path = plan->qemu;
	cfg->kernel = plan->kernel;
	cfg->initrd = plan->initrd;
	cfg->cmdline_extra = plan->kernel_params;
	cfg->mem_mib = plan->mem_mib;
	cfg->vcpus = plan->vcpus;
	cfg->state_dir = state_dir;
	cfg->accel = plan->accel;
	cfg->channel = plan->channel;
	cfg->vsock_cid = plan->vsock_cid;
	cfg->fs = plan->fs;
	cfg->virtiofsd_path = plan->virtiofsd;
	cfg->shares = plan->shares;
	cfg->n_shares = plan->n_shares;
	cfg->sandbox = true;
	cfg->vfio_pci = plan->vfio_pci;
	cfg->n_vfio_pci = plan->n_vfio_pci;
	cfg->vfio_ap = plan->vfio_ap;
	cfg->n_vfio_ap = plan->n_vfio_ap;
	cfg->pci_hole64_bytes = plan->pci_hole64_bytes;
	cfg->hotplug_ports = plan->hotplug_ports;
	cfg->hotplug_mem_mib = plan->hotplug_mem_mib;
	cfg->max_vcpus = plan->max_vcpus;
	cfg->tcg_tb_size_mib = plan->tcg_tb_size_mib;
	cfg->netns_path = plan->netns_path;
	cfg->viommu = plan->vfio_mode == VC_PLAN_VFIO_VFIO;
	cfg->blks = plan->blks;
	cfg->n_blks = plan->n_blks;
	/* QEMU 7.2 takes no VFIO device as an fd (iommufd came in 8.2): it must open
	 * /dev/vfio itself, so a VM with VFIO devices is not confined. */
	cfg->confine = plan->confine && plan->n_vfio_pci == 0 && plan->n_vfio_ap == 0;
	cfg->hv_uid_base = plan->hv_uid_base;
}

/* The host file behind a guest path: the source of the bind that put it there. */
static char *host_path_of(const struct vc_plan *plan, const char *guest)
{
	for (size_t i = 0; i < plan->n_binds; i++) {
		_cleanup_free_ char *g = guest_path(&plan->binds[i]);
		if (g && !strcmp(g, guest))
			return strdup(plan->binds[i].source);
	}
	return NULL;
}

int vc_plan_dns_relay(const struct vc_plan *plan, char **addr)
{
	*addr = NULL;
	const struct vc_json *mounts = vc_json_get(plan->guest_spec, "mounts");
	for (size_t i = 0; mounts && mounts->type == VC_JSON_ARRAY && i < mounts->u.array.len;
	     i++) {
		const struct vc_json *m = mounts->u.array.items[i];
		const char *dst = vc_json_str(vc_json_get(m, "destination"));
		const char *src = vc_json_str(vc_json_get(m, "source"));
		if (!dst || !src || strcmp(dst, "/etc/resolv.conf"))
			continue;
		_cleanup_free_ char *host = host_path_of(plan, src);
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		if (!host || vc_read_file(host, 1 << 20, &text, &len, NULL) < 0)
			return 0;
		char *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char a[64];
			if (sscanf(line, " nameserver %63s", a) != 1)
				continue;
			struct in_addr in;
			if (inet_pton(AF_INET, a, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127)
				return (*addr = strdup(a)) ? 0 : -ENOMEM;
			return 0; /* the first nameserver is the one stub resolvers try first */
		}
	}
	return 0;
}
