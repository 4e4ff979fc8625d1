/* Interfaces that appear in the sandbox's network namespace after boot (`podman
 * network connect`, a CNI plugin that runs late): the monitor gives each a tap with
 * the tc redirect (netns/), hot-plugs a virtio-net NIC on it into a spare root port
 * (hv/hotplug.c), and has the agent configure it like a boot NIC. Address changes
 * configure it again; its removal unplugs it. The VM's end removes the rest:
 * QEMU's exit frees the devices, and teardown deletes every vcrun tap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"

/* An engine adds a link, then its addresses and routes, then sets it up: the NIC
 * is plugged once the namespace has been quiet this long. */
#define LATE_SETTLE_MS 300
/* How long the agent waits for the new NIC to show up in the guest. */
#define LATE_NIC_WAIT_MS 15000
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
	if (l->plugged && vc_netns_tap_remove(m->plan.netns_path, l->name, l->ifindex, l->tap,
					      &err) < 0)
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

/* The agent's part: the NIC's name, MTU and addresses (once it is there), then its
 * routes and neighbours. */
static void configure(struct monitor *m, struct late_nic *l, struct vc_netns_plan_iface *pi)
{
	struct vc_netns_plan one = {.ifaces = pi, .n_ifaces = 1};
	struct vc_json *iface = NULL, *routes = NULL, *neighs = NULL;
	struct vc_error err = {0};
	if (vc_netns_plan_iface_params(pi, &iface, &err) < 0 ||
	    vc_json_object_set(iface, "wait_ms", vc_json_new_uint(LATE_NIC_WAIT_MS)) < 0 ||
	    vc_netns_plan_routes_params(&one, &routes, &err) < 0 ||
	    vc_netns_plan_neighbors_params(&one, &neighs, &err) < 0) {
		vc_warn("sandbox %s: interface %s: %s", m->id, l->name,
			err.msg[0] ? err.msg : "out of memory");
		vc_json_free(iface);
		vc_json_free(routes);
		vc_json_free(neighs);
		return;
	}
	/* In order on the one channel: the routes name the NIC by its new name. */
	mon_agent_send(m, VC_M_UPDATE_INTERFACE, iface, PEND_NET, NULL, NULL, 0, 0);
	mon_agent_send(m, VC_M_UPDATE_ROUTES, routes, PEND_NET, NULL, NULL, 0, 0);
	mon_agent_send(m, VC_M_ADD_ARP_NEIGHBORS, neighs, PEND_NET, NULL, NULL, 0, 0);
}

static int plug(struct monitor *m, struct late_nic *l, const struct vc_netns_plan_iface *pi,
		struct vc_error *err)
{
	if (m->hv.n_plugged >= m->hv.n_spare) {
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
		if (vc_netns_tap_remove(m->plan.netns_path, pi->name, pi->ifindex, pi->tap,
					&undo) < 0)
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

/* ---- a joining container's limits ------------------------------------------ */

#define VCPU_ONLINE_WAIT_MS 20000
#define MIB		    (1024ULL * 1024ULL)

static int64_t spec_int(const struct vc_json *spec, const char *res, const char *key)
{
	int64_t v = 0;
	const struct vc_json *r = vc_json_get(vc_json_get(vc_json_get(spec, "linux"), "resources"),
					      res);
	if (vc_json_to_i64(vc_json_get(r, key), &v) < 0)
		return 0;
	return v;
}

/* ENOSPC (no room configured or left) is said and skipped: the container still
 * gets its limit inside the guest, the VM only does not grow. */
static int plugged_or_warned(struct monitor *m, struct mctr *c, int r, struct vc_error *err)
{
	if (r != -ENOSPC)
		return r;
	vc_warn("container %s: %s; it runs within the VM's memory and vCPUs as they are",
		c->st.id, err->msg);
	memset(err, 0, sizeof(*err));
	return 0;
}

int mon_ctr_plug(struct monitor *m, struct mctr *c, const struct vc_json *spec,
		 struct vc_error *err)
{
	int64_t limit = spec_int(spec, "memory", "limit");
	int64_t quota = spec_int(spec, "cpu", "quota"), period = spec_int(spec, "cpu", "period");
	int r = 0;
	if (limit > 0) {
		uint64_t mib = ((uint64_t)limit + MIB - 1) / MIB;
		mib = (mib + VC_HV_MEM_BLOCK_MIB - 1) / VC_HV_MEM_BLOCK_MIB * VC_HV_MEM_BLOCK_MIB;
		char id[24];
		snprintf(id, sizeof(id), "mem-%u", m->next_dev++);
		r = vc_hv_hotplug_memory(&m->hv, id, mib > UINT32_MAX ? UINT32_MAX : (unsigned)mib,
					 err);
		if (r == 0) {
			snprintf(c->mem_dev, sizeof(c->mem_dev), "%s", id);
			vc_info("container %s: %llu MiB of memory hot-plugged (%s)", c->st.id,
				(unsigned long long)mib, id);
		}
		if ((r = plugged_or_warned(m, c, r, err)) < 0)
			return r;
	}
	uint64_t cpus = quota > 0 && period > 0 ? ((uint64_t)quota + period - 1) / period : 0;
	if (cpus > 255)
		cpus = 255;
	if (cpus && !(c->vcpu_devs = calloc(cpus, sizeof(*c->vcpu_devs)))) {
		r = vc_error_set(err, ENOMEM, "out of memory");
		goto undo;
	}
	size_t reused = 0;
	for (uint64_t i = 0; i < cpus; i++) {
		char *id = c->vcpu_devs[c->n_vcpu_devs];
		if (m->n_kept_vcpus) {
			/* One that an earlier member left behind, online still. */
			memcpy(id, m->kept_vcpus[--m->n_kept_vcpus], sizeof(c->vcpu_devs[0]));
			c->n_vcpu_devs++;
			reused++;
			continue;
		}
		snprintf(id, sizeof(c->vcpu_devs[0]), "cpu-%u", m->next_dev++);
		r = vc_hv_hotplug_vcpu(&m->hv, id, err);
		if (r == -ENOSPC)
			break;
		if (r < 0)
			goto undo;
		c->n_vcpu_devs++;
	}
	if ((r = plugged_or_warned(m, c, r, err)) < 0)
		goto undo;
	if (c->n_vcpu_devs) {
		vc_info("container %s: %zu vCPUs hot-plugged (%zu of them kept from a member "
			"that left)",
			c->st.id, c->n_vcpu_devs, reused);
		/* Ahead of its CreateContainer on the channel: the container starts with
		 * its vCPUs online. */
		size_t total = 0;
		for (size_t i = 0; i < m->hv.n_plugged; i++)
			total += m->hv.plugged[i].kind == VC_HV_PLUG_CPU;
		struct vc_json *p = vc_json_new_object();
		if (p && (vc_json_object_set(p, "count",
					     vc_json_new_uint(m->plan.vcpus + total)) < 0 ||
			  vc_json_object_set(p, "wait_ms", vc_json_new_uint(VCPU_ONLINE_WAIT_MS)) <
				  0)) {
			vc_json_free(p);
			p = NULL;
		}
		mon_agent_send(m, VC_M_ONLINE_CPUS, p, PEND_NET, NULL, NULL, 0, 0);
	}
	return 0;
undo:
	mon_ctr_unplug(m, c);
	return r;
}

void mon_ctr_unplug(struct monitor *m, struct mctr *c)
{
	struct vc_error err = {0};
	for (size_t i = c->n_vcpu_devs; m->hv_running && i-- > 0;) {
		int r = vc_hv_unplug(&m->hv, c->vcpu_devs[i], UNPLUG_TIMEOUT_MS, &err);
		if (r == -ENOTSUP || r == -ETIMEDOUT) {
			/* Still the VM's: the next member with a CPU quota takes it. */
			char(*k)[24] = realloc(m->kept_vcpus, (m->n_kept_vcpus + 1) * sizeof(*k));
			if (k) {
				m->kept_vcpus = k;
				memcpy(k[m->n_kept_vcpus++], c->vcpu_devs[i], sizeof(*k));
			}
		}
		if (r < 0)
			vc_info("container %s: %s", c->st.id, err.msg);
	}
	free(c->vcpu_devs);
	c->vcpu_devs = NULL;
	c->n_vcpu_devs = 0;
	if (c->mem_dev[0] && m->hv_running) {
		/* The guest must migrate what lives there first: give it time. */
		if (vc_hv_unplug(&m->hv, c->mem_dev, 2 * UNPLUG_TIMEOUT_MS, &err) < 0)
			vc_warn("container %s: the VM keeps its memory: %s", c->st.id, err.msg);
		else
			vc_info("container %s: memory %s given back", c->st.id, c->mem_dev);
	}
	c->mem_dev[0] = '\0';
}
