/* Netlink helpers for the network tests (test-netns.c, test-agent-net.c): build
 * veth pairs, addresses, routes and neighbours in namespaces the tests made, and
 * look at the result, all through libnl. Static functions: included by one test
 * program each. Nothing here touches the host's own namespace: every socket
 * comes from a namespace the test created. */
#ifndef VC_TEST_NET_HELPERS_H
#define VC_TEST_NET_HELPERS_H

#include <net/if.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "common/cleanup.h"
#include "common/nl.h"

static inline bool tn_fail(const char *what, int r)
{
	fprintf(stderr, "# %s: %s\n", what, nl_geterror(r));
	return false;
}

static inline int tn_ifindex(struct nl_sock *sk, const char *name)
{
	_cleanup_nlobject_ struct rtnl_link *l = NULL;
	if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		return -1;
	return rtnl_link_get_ifindex(l);
}

static struct nl_addr *tn_addr(const char *text, int family)
{
	struct nl_addr *a = NULL;
	return nl_addr_parse(text, family, &a) < 0 ? NULL : a;
}

/* A veth pair: name (and its MAC, MTU) here, peer in the namespace at peer_ns
 * (NULL: here too). */
static inline bool tn_veth(struct nl_sock *sk, const char *name, const char *mac, unsigned mtu,
			   const char *peer, const char *peer_mac, const char *peer_ns)
{
	_cleanup_nlobject_ struct rtnl_link *l = rtnl_link_veth_alloc();
	if (!l)
		return false;
	_cleanup_nlobject_ struct rtnl_link *p = rtnl_link_veth_get_peer(l);
	_cleanup_nladdr_ struct nl_addr *m = tn_addr(mac, AF_LLC);
	_cleanup_nladdr_ struct nl_addr *pm = tn_addr(peer_mac, AF_LLC);
	_cleanup_close_ int fd = peer_ns ? open(peer_ns, O_RDONLY | O_CLOEXEC) : -1;
	if (!p || !m || !pm || (peer_ns && fd < 0))
		return false;
	rtnl_link_set_name(l, name);
	rtnl_link_set_addr(l, m);
	rtnl_link_set_mtu(l, mtu);
	rtnl_link_set_name(p, peer);
	rtnl_link_set_addr(p, pm);
	rtnl_link_set_mtu(p, mtu);
	if (peer_ns)
		rtnl_link_set_ns_fd(p, fd);
	int r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	return r == 0 || tn_fail("add veth", r);
}

static inline bool tn_up(struct nl_sock *sk, const char *name)
{
	_cleanup_nlobject_ struct rtnl_link *l = NULL;
	_cleanup_nlobject_ struct rtnl_link *c = rtnl_link_alloc();
	if (!c || rtnl_link_get_kernel(sk, 0, name, &l) < 0)
		return false;
	rtnl_link_set_flags(c, IFF_UP);
	int r = rtnl_link_change(sk, l, c, 0);
	return r == 0 || tn_fail("link up", r);
}

/* cidr: "10.0.0.2/24"; IPv6 without DAD, so it is usable at once. */
static inline bool tn_addr_add(struct nl_sock *sk, const char *dev, const char *cidr)
{
	_cleanup_nlobject_ struct rtnl_addr *a = rtnl_addr_alloc();
	_cleanup_nladdr_ struct nl_addr *local = tn_addr(cidr, AF_UNSPEC);
	if (!a || !local)
		return false;
	rtnl_addr_set_ifindex(a, tn_ifindex(sk, dev));
	rtnl_addr_set_local(a, local);
	if (nl_addr_get_family(local) == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	int r = rtnl_addr_add(sk, a, 0);
	return r == 0 || tn_fail("add address", r);
}

static inline bool tn_route_add(struct nl_sock *sk, const char *dest, const char *gw,
				const char *dev)
{
	_cleanup_nlobject_ struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	_cleanup_nladdr_ struct nl_addr *g = gw ? tn_addr(gw, AF_UNSPEC) : NULL;
	int fam = g ? nl_addr_get_family(g) : strchr(dest, ':') ? AF_INET6 : AF_INET;
	_cleanup_nladdr_ struct nl_addr *d = tn_addr(dest, fam);
	if (!rt || !nh || !d || (gw && !g)) {
		if (nh)
			rtnl_route_nh_free(nh);
		return false;
	}
	rtnl_route_set_family(rt, fam);
	rtnl_route_set_dst(rt, d);
	rtnl_route_nh_set_ifindex(nh, tn_ifindex(sk, dev));
	if (g)
		rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_add_nexthop(rt, nh);
	int r = rtnl_route_add(sk, rt, NLM_F_EXCL);
	return r == 0 || tn_fail("add route", r);
}

static inline bool tn_neigh_add(struct nl_sock *sk, const char *dev, const char *ip,
				const char *mac)
{
	_cleanup_nlobject_ struct rtnl_neigh *n = rtnl_neigh_alloc();
	_cleanup_nladdr_ struct nl_addr *d = tn_addr(ip, AF_UNSPEC);
	_cleanup_nladdr_ struct nl_addr *ll = tn_addr(mac, AF_LLC);
	if (!n || !d || !ll)
		return false;
	rtnl_neigh_set_ifindex(n, tn_ifindex(sk, dev));
	rtnl_neigh_set_dst(n, d);
	rtnl_neigh_set_lladdr(n, ll);
	rtnl_neigh_set_state(n, NUD_PERMANENT);
	int r = rtnl_neigh_add(sk, n, NLM_F_CREATE);
	return r == 0 || tn_fail("add neighbour", r);
}

/* ---- looking ------------------------------------------------------------------ */

static inline bool tn_has_addr(struct nl_sock *sk, const char *dev, const char *cidr)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	int idx = tn_ifindex(sk, dev);
	if (rtnl_addr_alloc_cache(sk, &c) < 0)
		return false;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		char buf[128];
		if (rtnl_addr_get_ifindex(a) == idx &&
		    !strcmp(nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf)), cidr))
			return true;
	}
	return false;
}

static inline size_t tn_count_addrs(struct nl_sock *sk, const char *dev, int family)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	int idx = tn_ifindex(sk, dev);
	size_t n = 0;
	if (rtnl_addr_alloc_cache(sk, &c) < 0)
		return 0;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		if (rtnl_addr_get_ifindex(a) == idx && rtnl_addr_get_family(a) == family &&
		    rtnl_addr_get_scope(a) != RT_SCOPE_LINK)
			n++;
	}
	return n;
}

/* A main-table route to dest ("default" or "a/b" as libnl prints it) through dev,
 * with that gateway (NULL: none). */
static inline bool tn_has_route(struct nl_sock *sk, int family, const char *dest, const char *gw,
				const char *dev)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	int idx = tn_ifindex(sk, dev);
	if (rtnl_route_alloc_cache(sk, family, 0, &c) < 0)
		return false;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		char d[128], g[128];
		if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_nnexthops(rt) < 1)
			continue;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
		struct nl_addr *ga = rtnl_route_nh_get_gateway(nh);
		nl_addr2str(rtnl_route_get_dst(rt), d, sizeof(d));
		if (ga)
			nl_addr2str(ga, g, sizeof(g));
		if (rtnl_route_nh_get_ifindex(nh) == idx && !strcmp(d, dest) &&
		    (gw ? ga && !strcmp(g, gw) : !ga))
			return true;
	}
	return false;
}

static inline bool tn_has_neigh(struct nl_sock *sk, const char *dev, const char *ip,
				const char *mac)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	int idx = tn_ifindex(sk, dev);
	if (rtnl_neigh_alloc_cache(sk, &c) < 0)
		return false;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		char d[128], ll[64];
		if (rtnl_neigh_get_ifindex(n) != idx || !rtnl_neigh_get_lladdr(n))
			continue;
		nl_addr2str(rtnl_neigh_get_dst(n), d, sizeof(d));
		nl_addr2str(rtnl_neigh_get_lladdr(n), ll, sizeof(ll));
		if (!strcmp(d, ip) && !strcmp(ll, mac) && (rtnl_neigh_get_state(n) & NUD_PERMANENT))
			return true;
	}
	return false;
}

static struct rtnl_link *tn_link(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l = NULL;
	return rtnl_link_get_kernel(sk, 0, name, &l) < 0 ? NULL : l;
}

#endif
