/* What the monitor adds to its running VM (hv/hotplug.c does the QMP).
 *
 * Interfaces that appear in the sandbox's network namespace after boot (`podman
 * network connect`, a CNI plugin that runs late): each gets a tap with the tc
 * redirect (netns/), a virtio-net NIC on it in a spare root port, and the agent's
 * configuration as a boot NIC gets. Address changes configure it again; its removal
 * unplugs it. The VM's end removes the rest: QEMU's exit frees the devices, and
 * teardown deletes every vcrun tap.
 *
 * A container that joins: its memory limit and CPU quota grow the VM (a DIMM,
 * vCPUs), its VFIO functions and host block devices (virtio-blk) go into spare
 * root ports; `update` resizes; its delete gives them back (a disk's host device
 * is closed once the guest lets go of it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"
#include "vfio/vfio.h"

/* An engine adds a link, then its addresses and routes, then sets it up: the NIC
 * is plugged once the namespace has been quiet this long. */
#define LATE_SETTLE_MS 300
/* How long the agent waits for the new NIC to show up in the guest. */
#define LATE_NIC_WAIT_MS  15000
#define UNPLUG_TIMEOUT_MS 5000

static bool boot_interface(const struct monitor *m, int ifindex)
{
	for (size_t i = 0; i < m->n_net_known; i++)
		if (m->net_known[i] == ifindex)
			return true;
	return false;
}

static struct late_nic *find_late(struct monitor *m, int ifindex)
{
	for (size_t i = 0; i < m->n_late; i++)
		if (m->late[i].ifindex == ifindex)
			return &m->late[i];
	return NULL;
}

static void settle(struct late_nic *l)
{
	l->due_ns = vc_now_ns() + LATE_SETTLE_MS * 1000000ULL;
}

static void unplug(struct monitor *m, struct late_nic *l)
{
	struct vc_error err = {0};
	if (l->plugged && m->hv_running &&
	    vc_hv_unplug(&m->hv, l->dev_id, UNPLUG_TIMEOUT_MS, &err) < 0)
		vc_warn("sandbox %s: interface %s left its network namespace: %s", m->id, l->name,
			err.msg);
	else if (l->plugged)
		vc_info("sandbox %s: interface %s left its network namespace: NIC %s unplugged",
			m->id, l->name, l->dev_id);
	if (l->plugged &&
	    vc_netns_tap_remove(m->plan.netns_path, l->name, l->ifindex, l->tap, &err) < 0)
		vc_warn("sandbox %s: %s", m->id, err.msg);
	*l = m->late[--m->n_late];
}

void mon_net_event(void *ctx, int ifindex, const char *name, enum vc_netns_link_event ev)
{
	struct monitor *m = ctx;
	if (boot_interface(m, ifindex) || m->destroying)
		return;
	struct late_nic *l = find_late(m, ifindex);
	if (ev == VC_NETNS_LINK_GONE) {
		if (l)
			unplug(m, l);
		return;
	}
	if (ev == VC_NETNS_LINK_ADDR) {
		if (l && !l->failed)
			settle(l);
		return;
	}
	if (l) {
		snprintf(l->name, sizeof(l->name), "%s", name);
		if (!l->failed)
			settle(l);
		return;
	}
	struct late_nic *n = realloc(m->late, (m->n_late + 1) * sizeof(*n));
	if (!n)
		return;
	m->late = n;
	l = &m->late[m->n_late++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	unsigned idx = m->next_tap++;
	snprintf(l->tap, sizeof(l->tap), VC_NETNS_TAP_PREFIX "%u" VC_NETNS_TAP_SUFFIX, idx);
	snprintf(l->dev_id, sizeof(l->dev_id), "nic-%u", idx);
	vc_debug("sandbox %s: interface %s appeared in its network namespace", m->id, name);
	if (m->net_foreign) {
		/* The VM that bridges the namespace takes it, not this one. */
		l->failed = true;
		return;
	}
	settle(l);
}

/* Why the NIC cannot come, said once per interface. */
static void give_up(struct monitor *m, struct late_nic *l, const char *why)
{
	l->failed = true;
	vc_warn("sandbox %s: interface %s was added to its network namespace after the VM "
		"started, and %s, so the container does not see it",
		m->id, l->name, why);
}

int mon_iface_request(const struct vc_netns_plan_iface *pi, uint32_t wait_ms,
		      struct vc_areq_update_interface *u, struct vc_json **addrs,
		      struct vc_error *err)
{
	int r = vc_netns_plan_addresses(pi, addrs, err);
	*u = (struct vc_areq_update_interface){.mac = pi->mac,
					       .name = pi->name,
					       .mtu = pi->mtu,
					       .wait_ms = wait_ms,
					       .up = pi->up,
					       .addresses = *addrs};
	return r;
}

/* The agent's part: the NIC's name, MTU and addresses (once it is there), then its
 * routes and neighbours. */
static void configure(struct monitor *m, struct late_nic *l, struct vc_netns_plan_iface *pi)
{
	struct vc_netns_plan one = {.ifaces = pi, .n_ifaces = 1};
	_cleanup_json_ struct vc_json *addrs = NULL, *routes = NULL, *neighs = NULL;
	struct vc_areq_update_interface iface;
	struct vc_error err = {0};
	if (mon_iface_request(pi, LATE_NIC_WAIT_MS, &iface, &addrs, &err) < 0 ||
	    vc_netns_plan_routes(&one, &routes, &err) < 0 ||
	    vc_netns_plan_neighbors(&one, &neighs, &err) < 0) {
		vc_warn("sandbox %s: interface %s: %s", m->id, l->name,
			err.msg[0] ? err.msg : "out of memory");
		return;
	}
	/* In order on the one channel: the routes name the NIC by its new name. */
	mon_agent_send(m, VC_AR_UPDATE_INTERFACE, &iface, PEND_NET, NULL, NULL, 0, 1 + VC_AA_IFACE);
	mon_agent_send(m, VC_AR_UPDATE_ROUTES, &(struct vc_areq_update_routes){routes}, PEND_NET,
		       NULL, NULL, 0, 0);
	mon_agent_send(m, VC_AR_ADD_ARP_NEIGHBORS, &(struct vc_areq_add_arp_neighbors){neighs},
		       PEND_NET, NULL, NULL, 0, 0);
}

static int plug(struct monitor *m, struct late_nic *l, const struct vc_netns_plan_iface *pi,
		struct vc_error *err)
{
	if (vc_hv_spare_ports_free(&m->hv) == 0) {
		char why[128];
		snprintf(why, sizeof(why),
			 "no spare PCIe root port is left for a NIC (the VM booted with %u: "
			 "hotplug_root_ports in vcrun's config)",
			 m->hv.n_spare);
		give_up(m, l, why);
		return 0;
	}
	int r;
	if (!m->bridged) {
		/* No interface at boot: this NIC is the namespace's first. Another VM may
		 * bridge it already, and teardown must know the taps are ours. */
		char held[IF_NAMESIZE];
		if ((r = vc_netns_bridged(m->plan.netns_path, held, sizeof(held), err)) < 0)
			return r;
		if (r == 1) {
			m->net_foreign = true;
			l->failed = true;
			return 0;
		}
		if ((r = vc_write_file(VC_NETNS_BRIDGED_FILE, "", 0, err)) < 0)
			return r;
		m->bridged = true;
	}
	if ((r = vc_netns_tap_add(m->plan.netns_path, pi, err)) < 0)
		return r;
	struct vc_hv_nic nic = {.tap = (char *)pi->tap, .mac = (char *)pi->mac, .mtu = pi->mtu};
	if ((r = vc_hv_hotplug_nic(&m->hv, l->dev_id, &nic, err)) < 0) {
		struct vc_error undo = {0};
		if (vc_netns_tap_remove(m->plan.netns_path, pi->name, pi->ifindex, pi->tap, &undo) <
		    0)
			vc_warn("sandbox %s: %s", m->id, undo.msg);
		return r;
	}
	l->plugged = true;
	vc_info("sandbox %s: interface %s (%s) hot-plugged as NIC %s through %s", m->id, l->name,
		pi->mac, l->dev_id, pi->tap);
	return 0;
}

/* The namespace is quiet again: plug the interface, or configure it anew. */
static void late_settled(struct monitor *m, struct late_nic *l)
{
	struct vc_error err = {0};
	struct vc_netns_scan *scan = NULL;
	struct vc_netns_plan *np __attribute__((cleanup(vc_netns_plan_freep))) = NULL;
	int r = vc_netns_scan(m->plan.netns_path, &scan, &err);
	if (r == 0)
		r = vc_netns_plan_build(scan, &np, &err);
	vc_netns_scan_free(scan);
	if (r < 0) {
		vc_warn("sandbox %s: interface %s: %s", m->id, l->name, err.msg);
		return;
	}
	struct vc_netns_plan_iface *pi = NULL;
	for (size_t i = 0; i < np->n_ifaces && !pi; i++)
		if (np->ifaces[i].ifindex == l->ifindex)
			pi = &np->ifaces[i];
	if (!pi)
		return; /* gone again, or not Ethernet after all */
	snprintf(pi->tap, sizeof(pi->tap), "%s", l->tap);
	if (!l->plugged) {
		if ((r = plug(m, l, pi, &err)) < 0) {
			char why[VC_ERROR_MSG_MAX + 32];
			snprintf(why, sizeof(why), "its hot-plug failed: %s", err.msg);
			give_up(m, l, why);
		}
		if (!l->plugged)
			return;
	}
	configure(m, l, pi);
}

int mon_net_timeout_ms(const struct monitor *m, int timeout)
{
	unsigned long long now = vc_now_ns();
	for (size_t i = 0; i < m->n_late; i++) {
		if (!m->late[i].due_ns)
			continue;
		int left = m->late[i].due_ns <= now
				   ? 0
				   : (int)((m->late[i].due_ns - now) / 1000000ULL) + 1;
		if (left < timeout)
			timeout = left;
	}
	return timeout;
}

void mon_net_run(struct monitor *m)
{
	unsigned long long now = vc_now_ns();
	for (size_t i = 0; i < m->n_late && !m->destroying; i++) {
		struct late_nic *l = &m->late[i];
		if (!l->due_ns || l->due_ns > now || l->failed)
			continue;
		l->due_ns = 0;
		late_settled(m, l);
	}
}

/* ---- a container's limits ---------------------------------------------------- */

#define VCPU_ONLINE_WAIT_MS 20000
#define MIB		    (1024ULL * 1024ULL)

/* resources.RES.KEY as an integer; false when absent. */
static bool res_int(const struct vc_json *res, const char *what, const char *key, int64_t *v)
{
	*v = 0;
	return vc_json_to_i64(vc_json_get(vc_json_get(res, what), key), v) == 0;
}

/* ENOSPC (no room configured or left) is said and skipped: the container still
 * gets its limit inside the guest, the VM only does not grow. */
static int plugged_or_warned(struct mctr *c, int r, struct vc_error *err)
{
	if (r != -ENOSPC)
		return r;
	vc_warn("container %s: %s; it runs within the VM's memory and vCPUs as they are", c->st.id,
		err->msg);
	memset(err, 0, sizeof(*err));
	return 0;
}

static unsigned dimm_mib(const struct monitor *m, const char *id)
{
	for (size_t i = 0; id[0] && i < m->hv.n_plugged; i++)
		if (!strcmp(m->hv.plugged[i].id, id))
			return m->hv.plugged[i].mib;
	return 0;
}

/* The container's DIMM becomes mib MiB (0: none): the new one first, so that the
 * guest never runs short in between, then the old one goes. */
static int set_memory(struct monitor *m, struct mctr *c, unsigned mib, struct vc_error *err)
{
	if (mib == dimm_mib(m, c->mem_dev))
		return 0;
	char id[24] = "";
	if (mib) {
		snprintf(id, sizeof(id), "mem-%u", m->next_dev++);
		int r = vc_hv_hotplug_memory(&m->hv, id, mib, err);
		if (r < 0)
			return plugged_or_warned(c, r, err);
		vc_info("container %s: %u MiB of memory hot-plugged (%s)", c->st.id, mib, id);
	}
	if (c->mem_dev[0]) {
		struct vc_error uerr = {0};
		/* The guest must migrate what lives there first: give it time. */
		if (vc_hv_unplug(&m->hv, c->mem_dev, 2 * UNPLUG_TIMEOUT_MS, &uerr) < 0)
			vc_warn("container %s: the VM keeps its memory: %s", c->st.id, uerr.msg);
		else
			vc_info("container %s: memory %s given back", c->st.id, c->mem_dev);
	}
	snprintf(c->mem_dev, sizeof(c->mem_dev), "%s", id);
	return 0;
}

static void online_vcpus(struct monitor *m)
{
	size_t total = 0;
	for (size_t i = 0; i < m->hv.n_plugged; i++)
		total += m->hv.plugged[i].kind == VC_HV_PLUG_CPU;
	struct vc_areq_online_cpus p = {(uint32_t)(m->plan.vcpus + total), VCPU_ONLINE_WAIT_MS};
	/* Ahead of what follows on the channel (a joining container's CreateContainer):
	 * the container starts with its vCPUs online. */
	mon_agent_send(m, VC_AR_ONLINE_CPUS, &p, PEND_NET, NULL, NULL, 0, 1 + VC_AA_CPUS);
}

/* One of the container's vCPUs leaves it: unplugged, or (under TCG, or when the
 * guest does not let go) kept online for the next container with a quota. */
static void drop_vcpu(struct monitor *m, struct mctr *c)
{
	struct vc_error err = {0};
	const char *id = c->vcpu_devs[--c->n_vcpu_devs];
	int r = m->hv_running ? vc_hv_unplug(&m->hv, id, UNPLUG_TIMEOUT_MS, &err) : 0;
	if (r == -ENOTSUP || r == -ETIMEDOUT) {
		char(*k)[24] = realloc(m->kept_vcpus, (m->n_kept_vcpus + 1) * sizeof(*k));
		if (k) {
			m->kept_vcpus = k;
			memcpy(k[m->n_kept_vcpus++], id, sizeof(*k));
		}
	}
	if (r < 0)
		vc_info("container %s: %s", c->st.id, err.msg);
}

static int set_vcpus(struct monitor *m, struct mctr *c, size_t want, struct vc_error *err)
{
	while (c->n_vcpu_devs > want)
		drop_vcpu(m, c);
	if (c->n_vcpu_devs == want)
		return 0;
	char(*n)[24] = realloc(c->vcpu_devs, want * sizeof(*n));
	if (!n)
		return vc_error_set(err, ENOMEM, "out of memory");
	c->vcpu_devs = n;
	size_t added = 0, reused = 0;
	int r = 0;
	while (c->n_vcpu_devs < want) {
		char *id = c->vcpu_devs[c->n_vcpu_devs];
		if (m->n_kept_vcpus) {
			/* One that an earlier member left behind, online still. */
			memcpy(id, m->kept_vcpus[--m->n_kept_vcpus], sizeof(c->vcpu_devs[0]));
			reused++;
		} else {
			snprintf(id, sizeof(c->vcpu_devs[0]), "cpu-%u", m->next_dev++);
			if ((r = vc_hv_hotplug_vcpu(&m->hv, id, err)) < 0)
				break;
		}
		c->n_vcpu_devs++;
		added++;
	}
	if (added) {
		vc_info("container %s: %zu vCPUs hot-plugged (%zu of them kept from a member "
			"that left)",
			c->st.id, added, reused);
		online_vcpus(m);
	}
	return plugged_or_warned(c, r, err);
}

int mon_ctr_resize(struct monitor *m, struct mctr *c, const struct vc_json *res,
		   struct vc_error *err)
{
	int64_t limit, quota, period;
	int r = 0;
	if (res_int(res, "memory", "limit", &limit)) {
		uint64_t mib = limit > 0 ? ((uint64_t)limit + MIB - 1) / MIB : 0;
		mib = (mib + VC_HV_MEM_BLOCK_MIB - 1) / VC_HV_MEM_BLOCK_MIB * VC_HV_MEM_BLOCK_MIB;
		r = set_memory(m, c, mib > UINT32_MAX - VC_HV_MEM_BLOCK_MIB ? UINT32_MAX / 2 : mib,
			       err);
	}
	if (r == 0 && res_int(res, "cpu", "quota", &quota)) {
		/* runc's default period when the update names only the quota */
		if (!res_int(res, "cpu", "period", &period) || period <= 0)
			period = 100000;
		uint64_t cpus = quota > 0 ? ((uint64_t)quota + period - 1) / period : 0;
		r = set_vcpus(m, c, cpus > 255 ? 255 : cpus, err);
	}
	return r;
}

/* Each function on a port of its own, function 0 there: the guest kernel's driver
 * takes it (a slot's functions apart, which their drivers do not mind). */
static int plug_vfio(struct monitor *m, struct mctr *c, const struct vc_plan *plan,
		     struct vc_error *err)
{
	if (plan->n_vfio_pci && !(c->vfio_devs = calloc(plan->n_vfio_pci, sizeof(*c->vfio_devs))))
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < plan->n_vfio_pci; i++) {
		char *id = c->vfio_devs[c->n_vfio_devs];
		snprintf(id, sizeof(c->vfio_devs[0]), "vfio-%u", m->next_dev++);
		int r = vc_hv_hotplug_vfio(&m->hv, id, plan->vfio_pci[i].host, err);
		if (r < 0)
			return r;
		c->n_vfio_devs++;
		vc_info("container %s: VFIO device %s (group %u) hot-plugged as %s", c->st.id,
			plan->vfio_pci[i].host, plan->vfio_pci[i].group, id);
	}
	return 0;
}

/* Its host block devices (and a block-backed rootfs), each on a port of its own;
 * the agent waits for each by its serial. */
static int plug_blk(struct monitor *m, struct mctr *c, const struct vc_plan *plan,
		    struct vc_error *err)
{
	if (plan->n_blks && !(c->blk_devs = calloc(plan->n_blks, sizeof(*c->blk_devs))))
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < plan->n_blks; i++) {
		const struct vc_hv_blk *b = &plan->blks[i];
		int r = vc_hv_hotplug_blk(&m->hv, b, err);
		if (r < 0)
			return r;
		snprintf(c->blk_devs[c->n_blk_devs++], sizeof(c->blk_devs[0]), "%s", b->id);
		vc_info("container %s: host block device %s hot-plugged as disk %s%s%s", c->st.id,
			b->path, b->id, b->target ? " for " : " (its rootfs)",
			b->target ? b->target : "");
	}
	return 0;
}

int mon_ctr_plug(struct monitor *m, struct mctr *c, const struct vc_plan *plan,
		 struct vc_error *err)
{
	int r = mon_ctr_resize(
		m, c, vc_json_get(vc_json_get(plan->guest_spec, "linux"), "resources"), err);
	if (r == 0)
		r = plug_vfio(m, c, plan, err);
	if (r == 0)
		r = plug_blk(m, c, plan, err);
	if (r < 0)
		mon_ctr_unplug(m, c);
	return r;
}

/* A VFIO device the guest would not let go of stays in QEMU until the VM ends, and
 * unbinding its group from vfio-pci before that would block: the container's
 * record of what binding changed goes to the owner's, which the sandbox's end
 * gives back once QEMU is gone. */
static void vfio_record_to_owner(struct monitor *m, struct mctr *c)
{
	_cleanup_free_ char *mine = vc_state_path(m->root, c->st.id, "vfio.json");
	_cleanup_free_ char *owner = vc_state_path(m->root, m->id, "vfio.json");
	struct vc_vfio_binding *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	struct vc_error err = {0};
	if (!mine || !owner || vc_vfio_bindings_load(mine, &a, &na, &err) < 0 || na == 0 ||
	    vc_vfio_bindings_load(owner, &b, &nb, &err) < 0) {
		if (err.msg[0])
			vc_warn("container %s: %s", c->st.id, err.msg);
		vc_vfio_bindings_free(a, na);
		return;
	}
	struct vc_vfio_binding *all = calloc(na + nb, sizeof(*all));
	if (all) {
		memcpy(all, b, nb * sizeof(*all));
		memcpy(all + nb, a, na * sizeof(*all));
		if (vc_vfio_bindings_save(owner, all, na + nb, &err) < 0)
			vc_warn("container %s: %s", c->st.id, err.msg);
		else
			unlink(mine);
	}
	free(all); /* the bindings' own parts are a's and b's */
	vc_vfio_bindings_free(a, na);
	vc_vfio_bindings_free(b, nb);
}

void mon_ctr_unplug(struct monitor *m, struct mctr *c)
{
	/* The container's processes are gone: nothing in the guest holds its disks. */
	while (c->n_blk_devs) {
		struct vc_error err = {0};
		const char *id = c->blk_devs[--c->n_blk_devs];
		if (m->hv_running && vc_hv_unplug(&m->hv, id, 2 * UNPLUG_TIMEOUT_MS, &err) < 0)
			vc_warn("container %s: %s; the VM keeps the disk, and its host device "
				"open, until it ends",
				c->st.id, err.msg);
		else
			vc_debug("container %s: disk %s detached", c->st.id, id);
	}
	free(c->blk_devs);
	c->blk_devs = NULL;
	bool held = false;
	while (c->n_vfio_devs) {
		struct vc_error err = {0};
		const char *id = c->vfio_devs[--c->n_vfio_devs];
		if (m->hv_running && vc_hv_unplug(&m->hv, id, 2 * UNPLUG_TIMEOUT_MS, &err) < 0) {
			vc_warn("container %s: %s; the VM keeps it until it ends", c->st.id,
				err.msg);
			held = true;
		}
	}
	free(c->vfio_devs);
	c->vfio_devs = NULL;
	if (held)
		vfio_record_to_owner(m, c);
	while (c->n_vcpu_devs)
		drop_vcpu(m, c);
	free(c->vcpu_devs);
	c->vcpu_devs = NULL;
	struct vc_error err = {0};
	if (m->hv_running)
		set_memory(m, c, 0, &err);
	c->mem_dev[0] = '\0';
}
