/* Scanning a namespace through a netlink socket opened inside it: its Ethernet
 * interfaces, their addresses, main-table routes and neighbours, as plain data
 * that outlives the libnl caches. */
#include "netns/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "common/cleanup.h"
#include "common/nl.h"
#include "netns/internal.h"

void netns_addr_text(const struct nl_addr *a, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!a)
		return;
	int fam = nl_addr_get_family(a);
	unsigned want = fam == AF_INET ? 4 : fam == AF_INET6 ? 16 : 0;
	if (!want || nl_addr_get_len(a) != want ||
	    !inet_ntop(fam, nl_addr_get_binary_addr(a), buf, len))
		buf[0] = '\0';
}

void netns_mac_text(const struct nl_addr *a, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!a || nl_addr_get_len(a) != 6)
		return;
	const unsigned char *m = nl_addr_get_binary_addr(a);
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Appends a zeroed element to a malloc'd array; NULL when out of memory. */
static void *push(void *arr_p, size_t *n, size_t size)
{
	void **arr = arr_p;
	void *na = realloc(*arr, (*n + 1) * size);
	if (!na)
		return NULL;
	*arr = na;
	void *e = (char *)na + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

static struct vc_netns_iface *find_iface(struct vc_netns_scan *s, int ifindex)
{
	for (size_t i = 0; i < s->n_ifaces; i++) {
		if (s->ifaces[i].ifindex == ifindex)
			return &s->ifaces[i];
	}
	return NULL;
}

static int scan_links(struct nl_sock *sk, const char *path, struct vc_netns_scan *s,
		      struct vc_error *err)
{
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list links", path);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		/* lo, tunnels' fallback devices (tunl0, sit0, ...) and our own taps
		 * are not the container's network */
		if (rtnl_link_get_arptype(l) != ARPHRD_ETHER || !name || strlen(name) >= IFNAMSIZ ||
		    netns_is_tap_name(name))
			continue;
		struct vc_netns_iface *it = push(&s->ifaces, &s->n_ifaces, sizeof(*it));
		if (!it)
			return vc_error_set(err, ENOMEM, "out of memory");
		snprintf(it->name, sizeof(it->name), "%s", name);
		it->ifindex = rtnl_link_get_ifindex(l);
		netns_mac_text(rtnl_link_get_addr(l), it->mac, sizeof(it->mac));
		it->mtu = rtnl_link_get_mtu(l);
		it->up = rtnl_link_get_flags(l) & IFF_UP;
		const char *kind = rtnl_link_get_type(l);
		snprintf(it->kind, sizeof(it->kind), "%s", kind ? kind : "");
	}
	return 0;
}

static int scan_addrs(struct nl_sock *sk, const char *path, struct vc_netns_scan *s,
		      struct vc_error *err)
{
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(sk, &cache);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list addresses", path);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct vc_netns_iface *it = find_iface(s, rtnl_addr_get_ifindex(a));
		int fam = rtnl_addr_get_family(a);
		if (!it || (fam != AF_INET && fam != AF_INET6))
			continue;
		char text[VC_NETNS_ADDR_LEN];
		netns_addr_text(rtnl_addr_get_local(a), text, sizeof(text));
		if (!text[0])
			continue;
		struct vc_netns_addr *na = push(&it->addrs, &it->n_addrs, sizeof(*na));
		if (!na)
			return vc_error_set(err, ENOMEM, "out of memory");
		na->family = fam;
		memcpy(na->addr, text, sizeof(text));
		na->prefix = rtnl_addr_get_prefixlen(a);
		na->scope = rtnl_addr_get_scope(a);
	}
	return 0;
}

static void cidr_text(struct nl_addr *dst, int family, char *buf, size_t len)
{
	char a[VC_NETNS_ADDR_LEN];
	unsigned prefix = dst ? nl_addr_get_prefixlen(dst) : 0;
	netns_addr_text(dst, a, sizeof(a));
	/* a default route's destination is empty */
	if (prefix == 0 || !a[0])
		snprintf(buf, len, "%s/0", family == AF_INET6 ? "::" : "0.0.0.0");
	else
		snprintf(buf, len, "%s/%u", a, prefix);
}

static int scan_routes(struct nl_sock *sk, const char *path, struct vc_netns_scan *s,
		       struct vc_error *err)
{
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list routes", path);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		int fam = rtnl_route_get_family(rt);
		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    (fam != AF_INET && fam != AF_INET6) || rtnl_route_get_nnexthops(rt) < 1)
			continue;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
		const struct vc_netns_iface *it = find_iface(s, rtnl_route_nh_get_ifindex(nh));
		if (!it)
			continue;
		struct vc_netns_route *nr = push(&s->routes, &s->n_routes, sizeof(*nr));
		if (!nr)
			return vc_error_set(err, ENOMEM, "out of memory");
		nr->family = fam;
		cidr_text(rtnl_route_get_dst(rt), fam, nr->dest, sizeof(nr->dest));
		netns_addr_text(rtnl_route_nh_get_gateway(nh), nr->gateway, sizeof(nr->gateway));
		netns_addr_text(rtnl_route_get_pref_src(rt), nr->source, sizeof(nr->source));
		memcpy(nr->device, it->name, sizeof(nr->device));
		nr->ifindex = it->ifindex;
		nr->scope = rtnl_route_get_scope(rt);
		nr->protocol = rtnl_route_get_protocol(rt);
		nr->type = rtnl_route_get_type(rt);
	}
	return 0;
}

static int scan_neighs(struct nl_sock *sk, const char *path, struct vc_netns_scan *s,
		       struct vc_error *err)
{
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int r = rtnl_neigh_alloc_cache(sk, &cache);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list neighbours", path);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		int fam = rtnl_neigh_get_family(n);
		const struct vc_netns_iface *it = find_iface(s, rtnl_neigh_get_ifindex(n));
		if (!it || (fam != AF_INET && fam != AF_INET6))
			continue;
		char ip[VC_NETNS_ADDR_LEN], mac[VC_NETNS_MAC_LEN];
		netns_addr_text(rtnl_neigh_get_dst(n), ip, sizeof(ip));
		netns_mac_text(rtnl_neigh_get_lladdr(n), mac, sizeof(mac));
		if (!ip[0] || !mac[0])
			continue; /* incomplete or failed */
		struct vc_netns_neigh *nn = push(&s->neighs, &s->n_neighs, sizeof(*nn));
		if (!nn)
			return vc_error_set(err, ENOMEM, "out of memory");
		nn->family = fam;
		memcpy(nn->addr, ip, sizeof(ip));
		memcpy(nn->mac, mac, sizeof(mac));
		memcpy(nn->device, it->name, sizeof(nn->device));
		nn->ifindex = it->ifindex;
		nn->state = rtnl_neigh_get_state(n);
	}
	return 0;
}

void vc_netns_scan_free(struct vc_netns_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ifaces; i++)
		free(s->ifaces[i].addrs);
	free(s->ifaces);
	free(s->routes);
	free(s->neighs);
	free(s);
}

static void scan_freep(struct vc_netns_scan **s)
{
	vc_netns_scan_free(*s);
}

int vc_netns_scan(const char *path, struct vc_netns_scan **out, struct vc_error *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = netns_route_socket(path, &sk, err);
	if (r < 0)
		return r;
	__attribute__((cleanup(scan_freep))) struct vc_netns_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = scan_links(sk, path, s, err);
	if (r == 0)
		r = scan_addrs(sk, path, s, err);
	if (r == 0)
		r = scan_routes(sk, path, s, err);
	if (r == 0)
		r = scan_neighs(sk, path, s, err);
	if (r < 0)
		return r;
	*out = steal_ptr(s);
	return 0;
}
