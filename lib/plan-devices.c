/* The spec's linux.devices on their way into a VM (issue 16). A device node in the
 * container names a device of the kernel it runs on, and that kernel is the guest's:
 * a host node's major:minor means something else there, or nothing. So each entry
 * is one of
 *   - a VFIO group (/dev/vfio/N): the VFIO code's (lib/devices.c, vc_plan_set_vfio);
 *   - a host block device: attached as a virtio-blk disk (plan->blks), its entry kept
 *     for the agent, which puts the guest's major:minor in it and in the cgroup
 *     rules (docs/agent-protocol.md, "Device");
 *   - a device the guest kernel has itself (null, tty, fuse, ...) or a fifo: the node
 *     is made in the guest as it is;
 *   - any other character device: refused, since no node in the guest can reach
 *     it, unless the annotation io.vcrun.devices.guest-only asks for the node alone.
 * A privileged container (every device allowed: docker/podman --privileged) lists
 * every host device; none of them is attached, as containerd's
 * privileged_without_host_devices does for Kata: its nodes are the guest's own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/plan-internal.h"
#include "lib/plan.h"
#include "vfio/vfio.h"

enum { ACC_R = 1, ACC_W = 2, ACC_M = 4, ACC_ALL = 7 };

static unsigned access_bits(const char *access)
{
	if (!access)
		return ACC_ALL; /* absent: rwm, as runc reads it */
	unsigned a = 0;
	for (const char *p = access; *p; p++)
		a |= *p == 'r' ? ACC_R : *p == 'w' ? ACC_W : *p == 'm' ? ACC_M : 0;
	return a;
}

/* major or minor of a rule: absent or -1 is any. */
static bool num_matches(bool has, int64_t rule, int64_t v)
{
	return !has || rule == -1 || rule == v;
}

static bool rule_matches(const struct vc_oci_device_cgroup *r, char type, int64_t major,
			 int64_t minor)
{
	return (!r->type || r->type == 'a' || r->type == type) &&
	       num_matches(r->has_major, r->major, major) &&
	       num_matches(r->has_minor, r->minor, minor);
}

/* What the container's device cgroup lets it do with a device: the rules in order,
 * an allow adding its letters and a deny taking them away; with no rules at all
 * the cgroup does not restrict it. */
static unsigned effective_access(const struct vc_oci_resources *res, char type, int64_t major,
				 int64_t minor)
{
	if (!res || res->n_devices == 0)
		return ACC_ALL;
	unsigned a = 0;
	for (size_t i = 0; i < res->n_devices; i++) {
		const struct vc_oci_device_cgroup *r = &res->devices[i];
		if (!rule_matches(r, type, major, minor))
			continue;
		if (r->allow)
			a |= access_bits(r->access);
		else
			a &= ~access_bits(r->access);
	}
	return a;
}

/* docker/podman --privileged: an allow of every device with rwm that no later deny
 * narrows. */
static bool privileged(const struct vc_oci_resources *res)
{
	bool all = false;
	for (size_t i = 0; res && i < res->n_devices; i++) {
		const struct vc_oci_device_cgroup *r = &res->devices[i];
		if (!r->allow)
			all = false;
		else if ((!r->type || r->type == 'a') && (!r->has_major || r->major == -1) &&
			 (!r->has_minor || r->minor == -1) && access_bits(r->access) == ACC_ALL)
			all = true;
	}
	return all;
}

/* Character devices every guest kernel has, with the host's numbers (they are
 * fixed by devices.txt): the node made in the guest is the same device. */
static bool guest_has_char(int64_t major, int64_t minor)
{
	static const int64_t known[][2] = {
		{1, 3},	   {1, 5},    {1, 7}, {1, 8}, {1, 9}, /* null zero full random urandom */
		{1, 11},   {5, 0},    {5, 1}, {5, 2},	      /* kmsg tty console ptmx */
		{10, 229}, {10, 200},			      /* fuse net/tun */
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(known); i++)
		if (known[i][0] == major && known[i][1] == minor)
			return true;
	return major >= 136 && major <= 143; /* /dev/pts/N */
}

/* io.vcrun.devices.guest-only: "true" (every entry) or container paths separated
 * by commas. Every path named must be an entry's: a typo would otherwise turn
 * into the refusal it was meant to lift, with a message that does not say why. */
struct guest_only {
	bool all;
	char **paths;
};

static void guest_only_release(struct guest_only *g)
{
	vc_strv_freep(&g->paths);
}

static bool has_path(const struct vc_oci_linux *lx, const char *path)
{
	for (size_t i = 0; lx && i < lx->n_devices; i++)
		if (!strcmp(lx->devices[i].path, path))
			return true;
	return false;
}

static int guest_only_parse(const struct vc_oci_spec *spec, struct guest_only *g,
			    struct vc_error *err)
{
	memset(g, 0, sizeof(*g));
	const char *v = vc_oci_spec_annotation(spec, VC_ANNOT_DEVICES_GUEST_ONLY);
	if (!v || !strcmp(v, "false") || !*v)
		return 0;
	if (!strcmp(v, "true")) {
		g->all = true;
		return 0;
	}
	_cleanup_free_ char *copy = strdup(v);
	if (!copy)
		return vc_error_set(err, ENOMEM, "out of memory");
	char *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		p += strspn(p, " ");
		size_t n = strlen(p);
		while (n && p[n - 1] == ' ')
			p[--n] = '\0';
		if (!n)
			continue;
		if (p[0] != '/' || !has_path(spec->linux, p)) {
			guest_only_release(g);
			return vc_error_set(err, EINVAL,
					    "annotations: " VC_ANNOT_DEVICES_GUEST_ONLY
					    ": `%s` is not the path of a linux.devices entry "
					    "(the value is `true` or a comma-separated list of "
					    "them)",
					    p);
		}
		if (vc_strv_push(&g->paths, p) < 0) {
			guest_only_release(g);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

static bool guest_only_has(const struct guest_only *g, const char *path)
{
	if (g->all)
		return true;
	for (size_t i = 0; g->paths && g->paths[i]; i++)
		if (!strcmp(g->paths[i], path))
			return true;
	return false;
}

/* The host's node of block device major:minor (common/sysfs.h: the kernel's name,
 * which udev follows, checked to be that device). */
static int host_block_node(const struct vc_oci_device *d, size_t i, char **node,
			   struct vc_error *err)
{
	*node = NULL;
	int r = d->major >= 0 && d->minor >= 0 && d->major <= UINT32_MAX && d->minor <= UINT32_MAX
			? vc_sysfs_block_node(NULL, NULL, (unsigned)d->major, (unsigned)d->minor,
					      node)
			: -ENODEV;
	if (r == -ENOMEM)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (r < 0) {
		free(*node);
		*node = NULL;
		return vc_error_set(err, ENODEV,
				    "linux.devices[%zu] %s: no host block device %lld:%lld", i,
				    d->path, (long long)d->major, (long long)d->minor);
	}
	return 0;
}

static int add_disk(struct vc_plan *plan, const struct vc_oci_spec *spec, size_t i,
		    struct vc_error *err)
{
	const struct vc_oci_device *d = &spec->linux->devices[i];
	_cleanup_free_ char *node = NULL;
	int r = host_block_node(d, i, &node, err);
	if (r < 0)
		return r;
	bool ro = !(effective_access(spec->linux->resources, 'b', d->major, d->minor) & ACC_W);
	/* QEMU opens it as the caller: a rootless user without the right gets QEMU's
	 * error at boot otherwise, after the VM was half made. */
	if (access(node, ro ? R_OK : R_OK | W_OK) < 0)
		return vc_error_sys(err, errno,
				    "linux.devices[%zu] %s: host block device %s (%lld:%lld) "
				    "cannot be opened for %s",
				    i, d->path, node, (long long)d->major, (long long)d->minor,
				    ro ? "reading" : "reading and writing");
	char id[VC_HV_BLK_ID_MAX + 1];
	vc_plan_blk_id(plan->container_id, plan->n_blks, id);
	if (vc_plan_add_blk(plan, node, id, ro, d->path) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_debug("container %s: linux.devices[%zu] %s is host block device %s (%s), disk %s",
		 plan->container_id, i, d->path, node, ro ? "read-only" : "read-write", id);
	return 0;
}

static int refuse_char(const struct vc_oci_device *d, size_t i, struct vc_error *err)
{
	return vc_error_set(
		err, EINVAL,
		"linux.devices[%zu] %s (char %lld:%lld): a host character device cannot reach "
		"the container's VM: the guest kernel has no such device, so its node there "
		"would point at nothing. Pass real hardware through CDI or VFIO "
		"(/dev/vfio/N), or set the annotation " VC_ANNOT_DEVICES_GUEST_ONLY
		" (`true`, or a comma-separated list of container paths) to make the node in "
		"the guest only",
		i, d->path, (long long)d->major, (long long)d->minor);
}

int vc_plan_set_devices(struct vc_plan *plan, const struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_oci_linux *lx = spec->linux;
	if (!lx || lx->n_devices == 0)
		return 0;
	struct guest_only g __attribute__((cleanup(guest_only_release))) = {0};
	int r = guest_only_parse(spec, &g, err);
	if (r < 0)
		return r;
	if (privileged(lx->resources)) {
		vc_info("container %s: privileged (every device allowed): its %zu linux.devices "
			"are made in the guest only and name the guest's own devices; to give it "
			"a host block device, run it without --privileged and name the device "
			"with --device",
			plan->container_id, lx->n_devices);
		return 0;
	}
	for (size_t i = 0; i < lx->n_devices; i++) {
		const struct vc_oci_device *d = &lx->devices[i];
		if (vc_vfio_is_vfio_path(d->path) || d->type == 'p' || guest_only_has(&g, d->path))
			continue;
		if (d->type == 'b')
			r = add_disk(plan, spec, i, err);
		else if (!guest_has_char(d->major, d->minor))
			r = refuse_char(d, i, err);
		if (r < 0)
			return r;
	}
	return 0;
}
