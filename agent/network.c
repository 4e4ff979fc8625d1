/* The guest side of networking: UpdateInterface, UpdateRoutes, AddARPNeighbors
 * and `lo` up at boot, over rtnetlink with libnl-route (linked statically, as the
 * host binary links it; no `ip` in the initramfs).
 *
 * Each request is parsed and checked whole before anything changes, so a bad one
 * gets an error naming the field and leaves the guest as it was. The host's plan
 * (netns/) is the usual sender: one UpdateInterface per NIC (found by its MAC, the
 * one QEMU gave it), then the routes and the neighbours of all of them. */
#include "agent-proto/agent-msg.h"
#include "agent/agent.h"

#include <net/if.h> /* before any linux/ header, which would bring linux/if.h */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "common/cleanup.h"
#include "common/nl.h"

#define WAIT_STEP_MS 50

struct ip_pfx {
	int family; /* AF_INET, AF_INET6; 0 for "default" until a gateway decides */
	unsigned char a[16];
	unsigned prefix;
};

struct if_req {
	const char *name;
	unsigned char mac[6];
	const char *mac_text;
	uint32_t mtu;	  /* 0: leave it */
	bool up;	  /* the link ends up up, or down */
	bool set_addrs;	  /* "addresses" given: the link gets exactly those */
	uint32_t wait_ms; /* a hot-plugged NIC: wait this long for it to appear */
	struct ip_pfx *addrs;
	size_t n_addrs;
};

struct route_req {
	struct ip_pfx dst, gw, src; /* gw/src family 0: none */
	const char *device;
	int ifindex;
	int scope; /* -1: universe with a gateway, link without */
};

struct neigh_req {
	struct ip_pfx ip;
	unsigned char mac[6];
	const char *device;
	int ifindex;
};

/* ---- parsing ------------------------------------------------------------------ */

static unsigned max_prefix(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool parse_ip(const char *s, struct ip_pfx *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, s, out->a) == 1)
		out->family = AF_INET6;
	else
		return false;
	out->prefix = max_prefix(out->family);
	return true;
}

/* "default", "ADDR/LEN" or a bare address (a host route). */
static bool parse_dest(const char *s, struct ip_pfx *out)
{
	if (!strcmp(s, "default")) {
		memset(out, 0, sizeof(*out));
		return true;
	}
	const char *slash = strchr(s, '/');
	char ip[INET6_ADDRSTRLEN];
	if (!slash)
		return parse_ip(s, out);
	size_t n = (size_t)(slash - s);
	if (n >= sizeof(ip) || !slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    strlen(slash + 1) > 3)
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (!parse_ip(ip, out))
		return false;
	unsigned long p = strtoul(slash + 1, NULL, 10);
	if (p > max_prefix(out->family))
		return false;
	out->prefix = (unsigned)p;
	return true;
}

/* JSON null counts as absent, as everywhere in the protocol. */
static bool present(const struct vc_json *obj, const char *key)
{
	const struct vc_json *v = vc_json_get(obj, key);
	return v && v->type != VC_JSON_NULL;
}

static int get_u32(const struct vc_json *obj, const char *where, const char *key, bool required,
		   uint32_t max, uint32_t *out, struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(obj, key);
	uint64_t x;
	if (!v || v->type == VC_JSON_NULL)
		return required ? vc_error_set(err, EINVAL, "%s.%s: required", where, key) : 0;
	if (vc_json_to_u64(v, &x) < 0 || x > max)
		return vc_error_set(err, EINVAL, "%s.%s: must be an integer from 0 to %u", where,
				    key, max);
	*out = (uint32_t)x;
	return 0;
}

static int get_ip(const struct vc_json *obj, const char *where, const char *key, bool required,
		  struct ip_pfx *out, struct vc_error *err)
{
	const char *s;
	memset(out, 0, sizeof(*out));
	if (!required && !present(obj, key))
		return 0;
	int r = agent_get_str(obj, where, key, required, &s, err);
	if (r < 0 || !s)
		return r;
	if (!parse_ip(s, out))
		return vc_error_set(err, EINVAL, "%s.%s: `%.64s` is not an IPv4 or IPv6 address",
				    where, key, s);
	return 0;
}

static int get_mac(const struct vc_json *obj, const char *where, const char *key,
		   unsigned char mac[6], const char **text, struct vc_error *err)
{
	int r = agent_get_str(obj, where, key, true, text, err);
	if (r == 0 && !vc_agent_mac_parse(*text, mac))
		r = vc_error_set(err, EINVAL,
				 "%s.%s: `%.64s` is not a MAC address (xx:xx:xx:xx:xx:xx)", where,
				 key, *text);
	return r;
}

static int get_device(const struct vc_json *obj, const char *where, const char *key, bool required,
		      const char **out, struct vc_error *err)
{
	*out = NULL;
	if (!required && !present(obj, key))
		return 0;
	int r = agent_get_str(obj, where, key, required, out, err);
	if (r == 0 && *out && !vc_agent_ifname_ok(*out))
		r = vc_error_set(err, EINVAL, "%s.%s: `%.64s` is not an interface name", where, key,
				 *out);
	return r;
}

/* The decoder checked the outer fields (agent-proto/agent-req.c): mac's form, the
 * name, the ranges, and that addresses is an array of at most VC_AREQ_ADDRS_MAX
 * objects; what is inside each address is checked here. */
static int parse_if_req(const struct agent_req *r, struct if_req *q, struct vc_error *err)
{
	const struct vc_areq_update_interface *in = &r->rq->u.iface;
	if (!vc_agent_mac_parse(in->mac, q->mac))
		return vc_error_set(err, EINVAL, "%s: params.mac: not a MAC address", r->method);
	q->mac_text = in->mac;
	q->name = in->name;
	q->mtu = in->mtu;
	q->wait_ms = in->wait_ms;
	q->up = in->up;
	const struct vc_json *arr = in->addresses;
	if (!arr)
		return 0;
	q->set_addrs = true;
	q->addrs = calloc(arr->u.array.len + 1, sizeof(*q->addrs));
	if (!q->addrs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < arr->u.array.len; i++) {
		const struct vc_json *it = arr->u.array.items[i];
		struct ip_pfx *a = &q->addrs[q->n_addrs++];
		char w[96];
		snprintf(w, sizeof(w), "%s: params.addresses[%zu]", r->method, i);
		uint32_t prefix = 0;
		int rc = get_ip(it, w, "address", true, a, err);
		if (rc == 0)
			rc = get_u32(it, w, "prefix", true, 128, &prefix, err);
		if (rc < 0)
			return rc;
		if (prefix > max_prefix(a->family))
			return vc_error_set(err, EINVAL, "%s.prefix: %u is too long for %s", w,
					    prefix, a->family == AF_INET ? "IPv4" : "IPv6");
		a->prefix = prefix;
	}
	return 0;
}

static int parse_route(const struct vc_json *it, const char *w, struct route_req *q,
		       struct vc_error *err)
{
	const char *dest;
	int rc = agent_get_str(it, w, "dest", true, &dest, err);
	if (rc == 0 && !parse_dest(dest, &q->dst))
		rc = vc_error_set(
			err, EINVAL,
			"%s.dest: `%.64s` is not \"default\", an address or ADDRESS/PREFIX", w,
			dest);
	if (rc == 0)
		rc = get_ip(it, w, "gateway", false, &q->gw, err);
	if (rc == 0)
		rc = get_ip(it, w, "source", false, &q->src, err);
	if (rc == 0)
		rc = get_device(it, w, "device", true, &q->device, err);
	uint32_t scope = 0;
	q->scope = -1;
	if (rc == 0 && present(it, "scope")) {
		rc = get_u32(it, w, "scope", false, 255, &scope, err);
		q->scope = (int)scope;
	}
	if (rc < 0)
		return rc;
	/* "default" takes the family of what comes with it */
	if (!q->dst.family)
		q->dst.family = q->gw.family	? q->gw.family
				: q->src.family ? q->src.family
						: AF_INET;
	if (q->gw.family && q->gw.family != q->dst.family)
		return vc_error_set(err, EINVAL, "%s.gateway: not of the family of dest", w);
	if (q->src.family && q->src.family != q->dst.family)
		return vc_error_set(err, EINVAL, "%s.source: not of the family of dest", w);
	return 0;
}

static int parse_neigh(const struct vc_json *it, const char *w, struct neigh_req *q,
		       struct vc_error *err)
{
	const char *mac_text;
	int rc = get_ip(it, w, "address", true, &q->ip, err);
	if (rc == 0)
		rc = get_mac(it, w, "mac", q->mac, &mac_text, err);
	if (rc == 0)
		rc = get_device(it, w, "device", true, &q->device, err);
	return rc;
}

/* ---- netlink ------------------------------------------------------------------ */

static int nl_open(struct nl_sock **out, struct nl_cache **links, struct vc_error *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return vc_nl_error(err, r, "netlink socket");
	vc_nl_keep_errno(sk);
	if (links) {
		r = rtnl_link_alloc_cache(sk, AF_UNSPEC, links);
		if (r < 0)
			return vc_nl_error(err, r, "list links");
	}
	*out = steal_ptr(sk);
	return 0;
}

static struct nl_addr *nl_addr_of(const struct ip_pfx *p)
{
	struct nl_addr *a = nl_addr_build(p->family, p->a, p->family == AF_INET ? 4 : 16);
	if (a)
		nl_addr_set_prefixlen(a, (int)p->prefix);
	return a;
}

static int link_ifindex(struct nl_cache *links, const char *where, const char *name,
			struct vc_error *err)
{
	int idx = rtnl_link_name2i(links, name);
	if (idx <= 0)
		return vc_error_set(err, ENOENT, "%s.device: no interface %s", where, name);
	return idx;
}

static int link_change(struct nl_sock *sk, struct rtnl_link *l, const char *rename, uint32_t mtu,
		       int up, struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_link *c = rtnl_link_alloc();
	if (!c)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (rename)
		rtnl_link_set_name(c, rename);
	if (mtu)
		rtnl_link_set_mtu(c, mtu);
	if (up > 0)
		rtnl_link_set_flags(c, IFF_UP);
	else if (up == 0)
		rtnl_link_unset_flags(c, IFF_UP);
	int r = rtnl_link_change(sk, l, c, 0);
	if (r < 0 && rename)
		return vc_nl_error(err, r, "rename %s to %s", rtnl_link_get_name(l), rename);
	if (r < 0) {
		const char *state = up > 0 ? " up" : up == 0 ? " down" : "";
		return vc_nl_error(err, r, "set %s%s%s", rtnl_link_get_name(l), state,
				   mtu ? " with a new mtu" : "");
	}
	return 0;
}

/* A link is renamed only while down. Whoever holds the wanted name already (the
 * guest names its NICs eth0, eth1, ... in probe order, not in the host's) moves
 * aside to vcnet<ifindex> until its own UpdateInterface comes. */
static int rename_link(struct nl_sock *sk, struct nl_cache *links, struct rtnl_link *l,
		       const char *name, struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_link *other = rtnl_link_get_by_name(links, name);
	if (other && rtnl_link_get_ifindex(other) != rtnl_link_get_ifindex(l)) {
		char aside[IFNAMSIZ];
		snprintf(aside, sizeof(aside), "vcnet%d", rtnl_link_get_ifindex(other));
		int r = link_change(sk, other, NULL, 0, 0, err);
		if (r == 0)
			r = link_change(sk, other, aside, 0, -1, err);
		if (r < 0)
			return r;
	}
	int r = link_change(sk, l, NULL, 0, 0, err);
	if (r == 0)
		r = link_change(sk, l, name, 0, -1, err);
	return r;
}

static bool same_addr(struct rtnl_addr *have, const struct ip_pfx *want)
{
	struct nl_addr *local = rtnl_addr_get_local(have);
	return local && nl_addr_get_family(local) == want->family &&
	       nl_addr_get_len(local) == (want->family == AF_INET ? 4u : 16u) &&
	       !memcmp(nl_addr_get_binary_addr(local), want->a, nl_addr_get_len(local)) &&
	       (unsigned)rtnl_addr_get_prefixlen(have) == want->prefix;
}

/* The link ends up with exactly the requested addresses (IPv6 link-local ones,
 * which the kernel makes, stay). */
static int set_addrs(struct nl_sock *sk, int ifindex, const char *dev, const struct if_req *q,
		     struct vc_error *err)
{
	_cleanup_nlcache_ struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(sk, &cache);
	if (r < 0)
		return vc_nl_error(err, r, "list addresses");
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		int fam = rtnl_addr_get_family(a);
		if (rtnl_addr_get_ifindex(a) != ifindex || (fam != AF_INET && fam != AF_INET6) ||
		    (fam == AF_INET6 && rtnl_addr_get_scope(a) == RT_SCOPE_LINK))
			continue;
		bool wanted = false;
		for (size_t i = 0; i < q->n_addrs && !wanted; i++)
			wanted = same_addr(a, &q->addrs[i]);
		if (wanted)
			continue;
		r = rtnl_addr_delete(sk, a, 0);
		if (r < 0 && r != -NLE_NOADDR && r != -NLE_OBJ_NOTFOUND)
			return vc_nl_error(err, r, "remove an old address from %s", dev);
	}
	for (size_t i = 0; i < q->n_addrs; i++) {
		const struct ip_pfx *p = &q->addrs[i];
		_cleanup_nlobject_ struct rtnl_addr *a = rtnl_addr_alloc();
		_cleanup_nladdr_ struct nl_addr *local = nl_addr_of(p);
		_cleanup_nladdr_ struct nl_addr *brd = NULL;
		if (!a || !local)
			return vc_error_set(err, ENOMEM, "out of memory");
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, p->family);
		r = rtnl_addr_set_local(a, local);
		rtnl_addr_set_prefixlen(a, (int)p->prefix);
		if (p->family == AF_INET6) {
			/* the host validated this address already: no DAD delay */
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		} else if (p->prefix < 31) {
			unsigned char b[4];
			uint32_t host = p->prefix ? 0xffffffffu >> p->prefix : 0xffffffffu;
			uint32_t net;
			memcpy(&net, p->a, 4);
			net = htonl(ntohl(net) | host);
			memcpy(b, &net, 4);
			brd = nl_addr_build(AF_INET, b, 4);
			if (brd)
				rtnl_addr_set_broadcast(a, brd);
		}
		if (r == 0)
			r = rtnl_addr_add(sk, a, NLM_F_REPLACE);
		if (r < 0) {
			char text[INET6_ADDRSTRLEN] = "";
			inet_ntop(p->family, p->a, text, sizeof(text));
			return vc_nl_error(err, r, "add %s/%u to %s", text, p->prefix, dev);
		}
	}
	return 0;
}

static struct rtnl_link *find_by_mac(struct nl_cache *links, const unsigned char mac[6])
{
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		struct nl_addr *a = rtnl_link_get_addr(l);
		if (rtnl_link_get_arptype(l) != ARPHRD_LOOPBACK && a && nl_addr_get_len(a) == 6 &&
		    !memcmp(nl_addr_get_binary_addr(a), mac, 6)) {
			nl_object_get(o);
			return l;
		}
	}
	return NULL;
}

/* A NIC the host hot-plugged shows up once the guest's PCI hot-plug has probed
 * it: its driver may need loading first (a VM that booted without NICs has not
 * loaded the net set), then the link cache is read again until it is there or
 * wait_ms has passed. */
static struct rtnl_link *wait_for_mac(struct agent *a, struct nl_sock *sk, struct nl_cache *links,
				      const struct if_req *q)
{
	/* Not in a unit test on the host: its modules are not the guest's. */
	if (!a->opts || !a->opts->not_pid1)
		agent_modules_load(AGENT_MODULES_DIR, "net.load-order", false, NULL);
	for (uint32_t waited = 0; waited < q->wait_ms; waited += WAIT_STEP_MS) {
		struct timespec ts = {0, WAIT_STEP_MS * 1000000L};
		nanosleep(&ts, NULL);
		if (nl_cache_refill(sk, links) < 0)
			continue;
		struct rtnl_link *l = find_by_mac(links, q->mac);
		if (l) {
			agent_info("interface %s appeared after %u ms", q->mac_text,
				   waited + WAIT_STEP_MS);
			return l;
		}
	}
	return NULL;
}

/* ---- handlers ---------------------------------------------------------------- */

int agent_h_update_interface(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err)
{
	struct if_req q = {0};
	int rc = parse_if_req(r, &q, err);
	_cleanup_free_ struct ip_pfx *addrs = q.addrs;
	if (rc < 0)
		return rc;
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlcache_ struct nl_cache *links = NULL;
	rc = nl_open(&sk, &links, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	_cleanup_nlobject_ struct rtnl_link *l = find_by_mac(links, q.mac);
	if (!l && q.wait_ms)
		l = wait_for_mac(a, sk, links, &q);
	if (!l)
		return vc_error_set(err, ENOENT, "%s: params.mac: no interface has MAC %s%s",
				    r->method, q.mac_text,
				    q.wait_ms ? " (waited for it as long as wait_ms says)" : "");
	int ifindex = rtnl_link_get_ifindex(l);
	if (q.name && strcmp(q.name, rtnl_link_get_name(l)))
		rc = rename_link(sk, links, l, q.name, err);
	const char *dev = q.name ? q.name : rtnl_link_get_name(l);
	/* addresses after "up": taking a link down drops its IPv6 addresses */
	if (rc == 0)
		rc = link_change(sk, l, NULL, q.mtu, q.up ? 1 : 0, err);
	if (rc == 0 && q.set_addrs)
		rc = set_addrs(sk, ifindex, dev, &q, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	agent_info("interface %s (%s): mtu %u, %zu addresses%s, %s", dev, q.mac_text,
		   q.mtu ? q.mtu : rtnl_link_get_mtu(l), q.n_addrs, q.set_addrs ? "" : " kept",
		   q.up ? "up" : "down");
	struct vc_agent_iface nic = {.ifindex = ifindex};
	snprintf(nic.name, sizeof(nic.name), "%s", dev);
	return vc_agent_iface_encode(&nic, res, err);
}

static int add_route(struct nl_sock *sk, const char *where, const struct route_req *q,
		     struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	_cleanup_nladdr_ struct nl_addr *dst = nl_addr_of(&q->dst);
	_cleanup_nladdr_ struct nl_addr *gw = q->gw.family ? nl_addr_of(&q->gw) : NULL;
	_cleanup_nladdr_ struct nl_addr *src = q->src.family ? nl_addr_of(&q->src) : NULL;
	if (!rt || !nh || !dst || (q->gw.family && !gw) || (q->src.family && !src)) {
		if (nh)
			rtnl_route_nh_free(nh);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	rtnl_route_set_family(rt, q->dst.family);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_set_scope(rt, q->scope >= 0 ? (uint8_t)q->scope
				 : gw	       ? RT_SCOPE_UNIVERSE
					       : RT_SCOPE_LINK);
	int r = rtnl_route_set_dst(rt, dst);
	if (r == 0 && src)
		r = rtnl_route_set_pref_src(rt, src);
	rtnl_route_nh_set_ifindex(nh, q->ifindex);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh); /* the route owns it now */
	if (r == 0)
		r = rtnl_route_add(sk, rt, NLM_F_REPLACE);
	if (r < 0)
		return vc_nl_error(err, r, "%s: add the route", where);
	return 0;
}

int agent_h_update_routes(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			  struct vc_error *err)
{
	/* an array of objects, bounded: the decoder's */
	const struct vc_json *arr = r->rq->u.routes.routes;
	int rc;
	size_t n = arr->u.array.len;
	_cleanup_free_ struct route_req *q = calloc(n + 1, sizeof(*q));
	if (!q)
		return vc_error_set(err, ENOMEM, "out of memory");
	char w[96];
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: params.routes[%zu]", r->method, i);
		rc = parse_route(arr->u.array.items[i], w, &q[i], err);
		if (rc < 0)
			return rc;
	}
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlcache_ struct nl_cache *links = NULL;
	rc = nl_open(&sk, &links, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: params.routes[%zu]", r->method, i);
		q[i].ifindex = link_ifindex(links, w, q[i].device, err);
		if (q[i].ifindex < 0)
			return q[i].ifindex;
	}
	/* routes without a gateway first: a gateway must be reachable */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if ((pass == 0) != (q[i].gw.family == 0))
				continue;
			snprintf(w, sizeof(w), "%s: params.routes[%zu]", r->method, i);
			rc = add_route(sk, w, &q[i], err);
			if (rc < 0)
				return rc;
		}
	}
	agent_info("%zu routes set", n);
	return 0;
}

int agent_h_add_arp_neighbors(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			      struct vc_error *err)
{
	const struct vc_json *arr = r->rq->u.neighbors.neighbors;
	int rc;
	size_t n = arr->u.array.len;
	_cleanup_free_ struct neigh_req *q = calloc(n + 1, sizeof(*q));
	if (!q)
		return vc_error_set(err, ENOMEM, "out of memory");
	char w[96];
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: params.neighbors[%zu]", r->method, i);
		rc = parse_neigh(arr->u.array.items[i], w, &q[i], err);
		if (rc < 0)
			return rc;
	}
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_nlcache_ struct nl_cache *links = NULL;
	rc = nl_open(&sk, &links, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: params.neighbors[%zu]", r->method, i);
		q[i].ifindex = link_ifindex(links, w, q[i].device, err);
		if (q[i].ifindex < 0)
			return q[i].ifindex;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s: params.neighbors[%zu]", r->method, i);
		_cleanup_nlobject_ struct rtnl_neigh *ne = rtnl_neigh_alloc();
		_cleanup_nladdr_ struct nl_addr *dst = nl_addr_of(&q[i].ip);
		_cleanup_nladdr_ struct nl_addr *ll = nl_addr_build(AF_LLC, q[i].mac, 6);
		if (!ne || !dst || !ll)
			return vc_error_set(err, ENOMEM, "out of memory");
		rtnl_neigh_set_ifindex(ne, q[i].ifindex);
		rtnl_neigh_set_family(ne, q[i].ip.family);
		rtnl_neigh_set_state(ne, NUD_PERMANENT);
		rtnl_neigh_set_lladdr(ne, ll);
		rc = rtnl_neigh_set_dst(ne, dst);
		if (rc == 0)
			rc = rtnl_neigh_add(sk, ne, NLM_F_CREATE | NLM_F_REPLACE);
		if (rc < 0)
			return vc_nl_error(err, rc, "%s: add the neighbour", w);
	}
	agent_info("%zu neighbours set", n);
	return 0;
}

int agent_net_lo_up(struct vc_error *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = nl_open(&sk, NULL, err);
	if (r < 0)
		return r;
	_cleanup_nlobject_ struct rtnl_link *lo = NULL;
	r = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (r < 0)
		return vc_nl_error(err, r, "find lo");
	return link_change(sk, lo, NULL, 0, 1, err);
}
