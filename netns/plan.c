/* The per-interface plan (pure: a function of the scan) and the agent requests
 * it becomes. */
#include "netns/netns.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

void vc_netns_plan_free(struct vc_netns_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_ifaces; i++) {
		free(p->ifaces[i].addrs);
		free(p->ifaces[i].routes);
		free(p->ifaces[i].neighs);
	}
	free(p->ifaces);
	free(p);
}

void vc_netns_plan_freep(struct vc_netns_plan **p)
{
	vc_netns_plan_free(*p);
}

/* Routes the guest kernel makes by itself: connected ones (from an address and
 * its prefix) and, for IPv6, the ones router advertisements install, since the
 * guest hears the same advertisements. */
static bool route_for_guest(const struct vc_netns_route *r)
{
	return r->type == RTN_UNICAST && r->protocol != RTPROT_KERNEL && r->protocol != RTPROT_RA;
}

static int fill_iface(const struct vc_netns_scan *s, const struct vc_netns_iface *it, size_t idx,
		      struct vc_netns_plan_iface *pi, struct vc_error *err)
{
	if (!it->mac[0])
		return vc_error_set(err, EINVAL, "netns: interface %s has no MAC address",
				    it->name);
	memcpy(pi->name, it->name, sizeof(pi->name));
	pi->ifindex = it->ifindex;
	snprintf(pi->tap, sizeof(pi->tap), VC_NETNS_TAP_PREFIX "%zu" VC_NETNS_TAP_SUFFIX, idx);
	memcpy(pi->mac, it->mac, sizeof(pi->mac));
	pi->mtu = it->mtu;
	pi->up = it->up;
	pi->addrs = calloc(it->n_addrs + 1, sizeof(*pi->addrs));
	pi->routes = calloc(s->n_routes + 1, sizeof(*pi->routes));
	pi->neighs = calloc(s->n_neighs + 1, sizeof(*pi->neighs));
	if (!pi->addrs || !pi->routes || !pi->neighs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < it->n_addrs; i++) {
		const struct vc_netns_addr *a = &it->addrs[i];
		if (a->family == AF_INET6 && a->scope == RT_SCOPE_LINK)
			continue;
		pi->addrs[pi->n_addrs++] = *a;
	}
	/* two passes: a gateway must be reachable before a route through it */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n_routes; i++) {
			const struct vc_netns_route *r = &s->routes[i];
			if (r->ifindex != it->ifindex || !route_for_guest(r) ||
			    (pass == 0) != (r->gateway[0] == '\0'))
				continue;
			pi->routes[pi->n_routes++] = *r;
		}
	}
	for (size_t i = 0; i < s->n_neighs; i++) {
		const struct vc_netns_neigh *n = &s->neighs[i];
		if (n->ifindex == it->ifindex && (n->state & NUD_PERMANENT))
			pi->neighs[pi->n_neighs++] = *n;
	}
	return 0;
}

int vc_netns_plan_build(const struct vc_netns_scan *scan, struct vc_netns_plan **out,
			struct vc_error *err)
{
	if (scan->n_ifaces > VC_NETNS_MAX_IFACES)
		return vc_error_set(err, E2BIG,
				    "netns: %zu interfaces, vcrun bridges at most %d into a VM",
				    scan->n_ifaces, VC_NETNS_MAX_IFACES);
	__attribute__((cleanup(vc_netns_plan_freep))) struct vc_netns_plan *p =
		calloc(1, sizeof(*p));
	if (!p || !(p->ifaces = calloc(scan->n_ifaces + 1, sizeof(*p->ifaces))))
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < scan->n_ifaces; i++) {
		p->n_ifaces++;
		int r = fill_iface(scan, &scan->ifaces[i], i, &p->ifaces[i], err);
		if (r < 0)
			return r;
	}
	*out = steal_ptr(p);
	return 0;
}

/* ---- the network descriptions of the agent requests ------------------------ */

static int finish(struct vc_jgen *g, struct vc_json **out, struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = vc_jgen_finish(g, &text, &len, err);
	if (r == 0)
		r = vc_json_parse(text, len, "netns plan", out, err);
	return r;
}

int vc_netns_plan_addresses(const struct vc_netns_plan_iface *pi, struct vc_json **out,
			    struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < pi->n_addrs; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "address", pi->addrs[i].addr);
		vc_jgen_kv_int(g, "prefix", pi->addrs[i].prefix);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	return finish(g, out, err);
}

int vc_netns_plan_routes(const struct vc_netns_plan *p, struct vc_json **out, struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_array_open(g);
	/* every interface's link routes before any gateway route, since a gateway
	 * may sit behind another interface's link route */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->n_ifaces; i++) {
			const struct vc_netns_plan_iface *pi = &p->ifaces[i];
			for (size_t j = 0; j < pi->n_routes; j++) {
				const struct vc_netns_route *r = &pi->routes[j];
				if ((pass == 0) != (r->gateway[0] == '\0'))
					continue;
				vc_jgen_object_open(g);
				vc_jgen_kv_string(g, "dest", r->dest);
				if (r->gateway[0])
					vc_jgen_kv_string(g, "gateway", r->gateway);
				vc_jgen_kv_string(g, "device", r->device);
				if (r->source[0])
					vc_jgen_kv_string(g, "source", r->source);
				vc_jgen_kv_int(g, "scope", r->scope);
				vc_jgen_object_close(g);
			}
		}
	}
	vc_jgen_array_close(g);
	return finish(g, out, err);
}

int vc_netns_plan_neighbors(const struct vc_netns_plan *p, struct vc_json **out,
			    struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const struct vc_netns_plan_iface *pi = &p->ifaces[i];
		for (size_t j = 0; j < pi->n_neighs; j++) {
			vc_jgen_object_open(g);
			vc_jgen_kv_string(g, "address", pi->neighs[j].addr);
			vc_jgen_kv_string(g, "mac", pi->neighs[j].mac);
			vc_jgen_kv_string(g, "device", pi->neighs[j].device);
			vc_jgen_object_close(g);
		}
	}
	vc_jgen_array_close(g);
	return finish(g, out, err);
}
