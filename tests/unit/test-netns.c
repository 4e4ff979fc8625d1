/* netns/: finding and pinning namespaces, scanning, the plan, the tap + tc
 * redirect and its teardown. The namespace tests need root: they run in a private
 * mount namespace, make two network namespaces pinned under the test's temp dir
 * ("a", the container's, and "b", its peer) joined by a veth pair, and play the
 * guest on the tap. Every namespace and link they make dies with this process at
 * the latest; no traffic leaves those namespaces. */
#include "tests/unit/test-net-helpers.h"

#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "common/util.h"
#include "netns/internal.h"
#include "netns/netns.h"
#include "oci/spec.h"
#include "tests/unit/unit.h"

#define A_DEV  "vceth0"
#define B_DEV  "vcpeer0"
#define A_MAC  "02:00:00:00:99:02"
#define B_MAC  "02:00:00:00:99:01"
#define A_IP   "10.99.0.2"
#define B_IP   "10.99.0.1"
#define MTU    1400
#define UDP_PT 9999

#define INGRESS_FILTERS TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)

/* ---- pure parts ------------------------------------------------------------- */

static int mode_of(const char *namespaces, enum vc_netns_mode *mode, const char **path,
		   struct vc_oci_spec **spec, struct vc_error *err)
{
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"linux\":{\"namespaces\":%s}}", namespaces);
	int r = vc_oci_spec_parse(text, strlen(text), "config.json", spec, err);
	return r < 0 ? r : vc_netns_mode_from_spec(*spec, mode, path, err);
}

VC_TEST(test_mode_from_spec)
{
	enum vc_netns_mode mode;
	const char *path;
	struct vc_error err = {0};
	struct vc_oci_spec *spec = NULL;
	CHECK(mode_of("[{\"type\":\"pid\"}]", &mode, &path, &spec, &err) == 0);
	CHECK(mode == VC_NETNS_NONE && !path);
	vc_oci_spec_free(steal_ptr(spec));
	CHECK(mode_of("[{\"type\":\"pid\"},{\"type\":\"network\"}]", &mode, &path, &spec, &err) ==
	      0);
	CHECK(mode == VC_NETNS_NEW && !path);
	vc_oci_spec_free(steal_ptr(spec));
	CHECK(mode_of("[{\"type\":\"network\",\"path\":\"/run/netns/cni-1\"}]", &mode, &path, &spec,
		      &err) == 0);
	CHECK(mode == VC_NETNS_JOIN);
	CHECK_STR(path, "/run/netns/cni-1");
	vc_oci_spec_free(steal_ptr(spec));
	CHECK(mode_of("[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"netns/x\"}]", &mode,
		      &path, &spec, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "linux.namespaces[1].path");
	vc_oci_spec_free(steal_ptr(spec));
	CHECK(vc_netns_mode_from_spec(NULL, &mode, &path, &err) == 0 && mode == VC_NETNS_NONE);
}

static struct vc_netns_scan *fake_scan(size_t n_ifaces)
{
	struct vc_netns_scan *s = calloc(1, sizeof(*s));
	s->ifaces = calloc(n_ifaces, sizeof(*s->ifaces));
	s->n_ifaces = n_ifaces;
	for (size_t i = 0; i < n_ifaces; i++) {
		struct vc_netns_iface *it = &s->ifaces[i];
		snprintf(it->name, sizeof(it->name), "eth%zu", i);
		it->ifindex = (int)i + 2;
		snprintf(it->mac, sizeof(it->mac), "02:42:ac:11:00:%02zx", i);
		it->mtu = 1500 - (unsigned)i;
		it->up = true;
	}
	return s;
}

VC_TEST(test_plan)
{
	struct vc_netns_scan *s = fake_scan(2);
	struct vc_netns_iface *e0 = &s->ifaces[0];
	e0->addrs = calloc(3, sizeof(*e0->addrs));
	e0->addrs[e0->n_addrs++] = (struct vc_netns_addr){AF_INET, "172.17.0.2", 16, 0};
	e0->addrs[e0->n_addrs++] =
		(struct vc_netns_addr){AF_INET6, "fe80::42:acff:fe11:2", 64, RT_SCOPE_LINK};
	e0->addrs[e0->n_addrs++] = (struct vc_netns_addr){AF_INET6, "fd00::2", 64, 0};
	static const struct vc_netns_route routes[] = {
		{AF_INET, "0.0.0.0/0", "172.17.0.1", "", "eth0", 2, RT_SCOPE_UNIVERSE, RTPROT_BOOT,
		 RTN_UNICAST},
		{AF_INET, "172.17.0.0/16", "", "172.17.0.2", "eth0", 2, RT_SCOPE_LINK,
		 RTPROT_KERNEL, RTN_UNICAST},
		{AF_INET, "169.254.1.1/32", "", "", "eth1", 3, RT_SCOPE_LINK, RTPROT_BOOT,
		 RTN_UNICAST},
		{AF_INET, "10.0.0.0/8", "", "", "eth0", 2, RT_SCOPE_UNIVERSE, RTPROT_BOOT,
		 RTN_BLACKHOLE},
		{AF_INET6, "::/0", "fe80::1", "", "eth0", 2, RT_SCOPE_UNIVERSE, RTPROT_RA,
		 RTN_UNICAST},
		{AF_INET6, "fd01::/64", "fd00::1", "", "eth0", 2, RT_SCOPE_UNIVERSE, RTPROT_STATIC,
		 RTN_UNICAST},
	};
	s->routes = malloc(sizeof(routes));
	memcpy(s->routes, routes, sizeof(routes));
	s->n_routes = VC_ARRAY_SIZE(routes);
	s->neighs = calloc(2, sizeof(*s->neighs));
	s->neighs[s->n_neighs++] = (struct vc_netns_neigh){
		AF_INET, "172.17.0.9", "02:42:ac:11:00:09", "eth0", 2, NUD_PERMANENT};
	s->neighs[s->n_neighs++] = (struct vc_netns_neigh){
		AF_INET, "172.17.0.1", "02:42:ac:11:00:01", "eth0", 2, NUD_REACHABLE};
	struct vc_netns_plan *p = NULL;
	struct vc_error err = {0};
	int r = vc_netns_plan_build(s, &p, &err);
	vc_netns_scan_free(s);
	CHECK(r == 0);
	CHECK(p->n_ifaces == 2);
	const struct vc_netns_plan_iface *p0 = &p->ifaces[0], *p1 = &p->ifaces[1];
	CHECK_STR(p0->tap, "tap0_vc");
	CHECK_STR(p1->tap, "tap1_vc");
	CHECK_STR(p0->mac, "02:42:ac:11:00:00");
	CHECK(p0->mtu == 1500 && p1->mtu == 1499 && p0->ifindex == 2);
	/* no link-local address, no kernel / RA / blackhole route, permanent neighbours only */
	CHECK(p0->n_addrs == 2);
	CHECK_STR(p0->addrs[1].addr, "fd00::2");
	CHECK(p0->n_routes == 2);
	CHECK_STR(p0->routes[0].dest, "0.0.0.0/0");
	CHECK(p1->n_routes == 1 && p1->n_addrs == 0);
	CHECK(p0->n_neighs == 1);
	CHECK_STR(p0->neighs[0].addr, "172.17.0.9");

	_cleanup_json_ struct vc_json *j = NULL;
	_cleanup_free_ char *text = NULL;
	CHECK(vc_netns_plan_addresses(p0, &j, &err) == 0);
	CHECK(vc_json_serialize(j, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "[{\"address\":\"172.17.0.2\",\"prefix\":16},"
			"{\"address\":\"fd00::2\",\"prefix\":64}]");
	vc_json_free(steal_ptr(j));
	free(steal_ptr(text));
	/* eth1's link route comes before eth0's gateway routes */
	CHECK(vc_netns_plan_routes(p, &j, &err) == 0);
	CHECK(vc_json_serialize(j, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "[{\"dest\":\"169.254.1.1/32\",\"device\":\"eth1\",\"scope\":253},"
			"{\"dest\":\"0.0.0.0/0\",\"gateway\":\"172.17.0.1\",\"device\":\"eth0\","
			"\"scope\":0},"
			"{\"dest\":\"fd01::/64\",\"gateway\":\"fd00::1\",\"device\":\"eth0\","
			"\"scope\":0}]");
	vc_json_free(steal_ptr(j));
	free(steal_ptr(text));
	CHECK(vc_netns_plan_neighbors(p, &j, &err) == 0);
	CHECK(vc_json_serialize(j, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "[{\"address\":\"172.17.0.9\",\"mac\":\"02:42:ac:11:00:09\","
			"\"device\":\"eth0\"}]");
	vc_netns_plan_free(p);

	s = fake_scan(VC_NETNS_MAX_IFACES + 1);
	p = NULL;
	CHECK(vc_netns_plan_build(s, &p, &err) == -E2BIG);
	CHECK(!p);
	vc_netns_scan_free(s);
	s = fake_scan(1);
	s->ifaces[0].mac[0] = '\0';
	r = vc_netns_plan_build(s, &p, &err);
	vc_netns_scan_free(s);
	CHECK(r == -EINVAL);
	CHECK_CONTAINS(err.msg, "eth0");
}

VC_TEST(test_tap_names)
{
	CHECK(netns_is_tap_name("tap0_vc"));
	CHECK(netns_is_tap_name("tap999_vc"));
	CHECK(!netns_is_tap_name("tap1000_vc"));
	CHECK(!netns_is_tap_name("tap_vc"));
	CHECK(!netns_is_tap_name("tapx_vc"));
	CHECK(!netns_is_tap_name("tap0_kata"));
	CHECK(!netns_is_tap_name("eth0"));
}

/* ---- the namespace fixtures -------------------------------------------------- */

static char base[PATH_MAX];

static bool prepare(void)
{
	static int state; /* 0 unknown, 1 ok, -1 unusable */
	if (state)
		return state > 0;
	state = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP: the namespace tests need root\n");
		return false;
	}
	/* pins and bind mounts stay in a mount namespace of our own */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "# cannot make a private mount namespace: %s\n", strerror(errno));
		return false;
	}
	snprintf(base, sizeof(base), "%s/netns", vc_unit_tmpdir());
	state = 1;
	return true;
}

struct env {
	char *a, *b; /* pins */
	struct nl_sock *sa, *sb;
};

static void env_down(struct env *e)
{
	vc_nl_sockp(&e->sa);
	vc_nl_sockp(&e->sb);
	e->sa = e->sb = NULL;
	if (e->a)
		vc_netns_remove(e->a, NULL);
	if (e->b)
		vc_netns_remove(e->b, NULL);
	free(steal_ptr(e->a));
	free(steal_ptr(e->b));
	umount2(base, MNT_DETACH); /* the shared bind mount vc_netns_create made */
}

/* a: vceth0 10.99.0.2/24 fd99::2/64, routes default via .1 and fd98::/64 via
 * fd99::1, a permanent neighbour; b: vcpeer0 10.99.0.1/24. */
static bool env_up(struct env *e)
{
	static int seq;
	struct vc_error err = {0};
	char id[64];
	memset(e, 0, sizeof(*e));
	if (!prepare())
		return false;
	snprintf(id, sizeof(id), "vctest-a-%d-%d", (int)getpid(), seq);
	if (vc_netns_create(base, id, &e->a, &err) < 0) {
		fprintf(stderr, "# %s\n", err.msg);
		return false;
	}
	snprintf(id, sizeof(id), "vctest-b-%d-%d", (int)getpid(), seq++);
	if (vc_netns_create(base, id, &e->b, &err) < 0 ||
	    netns_route_socket(e->a, &e->sa, &err) < 0 ||
	    netns_route_socket(e->b, &e->sb, &err) < 0) {
		fprintf(stderr, "# %s\n", err.msg);
		return false;
	}
	return tn_veth(e->sa, A_DEV, A_MAC, MTU, B_DEV, B_MAC, e->b) && tn_up(e->sa, A_DEV) &&
	       tn_up(e->sb, B_DEV) && tn_up(e->sa, "lo") && tn_up(e->sb, "lo") &&
	       tn_addr_add(e->sa, A_DEV, A_IP "/24") && tn_addr_add(e->sa, A_DEV, "fd99::2/64") &&
	       tn_addr_add(e->sb, B_DEV, B_IP "/24") &&
	       tn_route_add(e->sa, "default", B_IP, A_DEV) &&
	       tn_route_add(e->sa, "fd98::/64", "fd99::1", A_DEV) &&
	       tn_neigh_add(e->sa, A_DEV, "10.99.0.7", "02:00:00:00:99:07");
}

#define ENV(e)                  \
	struct env e;           \
	if (!env_up(&e)) {      \
		env_down(&e);   \
		if (!prepare()) \
			return; \
		CHECK(!"env");  \
	}

static bool has_ingress(struct nl_sock *sk, int ifindex)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	if (rtnl_qdisc_alloc_cache(sk, &c) < 0)
		return false;
	_cleanup_nlobject_ struct rtnl_qdisc *q =
		rtnl_qdisc_get_by_parent(c, ifindex, TC_H_INGRESS);
	return q && !strcmp(rtnl_tc_get_kind(TC_CAST(q)), "ingress");
}

/* Filters on ifindex's ingress: how many in all, and whether vcrun's redirect to
 * `to` (u32, its priority, mirred egress redirect) is one of them. */
static size_t ingress_filters(struct nl_sock *sk, int ifindex, int to, bool *redirect)
{
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	size_t n = 0;
	*redirect = false;
	if (rtnl_cls_alloc_cache(sk, ifindex, INGRESS_FILTERS, &c) < 0)
		return 0;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_cls *cls = (struct rtnl_cls *)o;
		n++;
		const char *kind = rtnl_tc_get_kind(TC_CAST(cls));
		if (rtnl_cls_get_prio(cls) != VC_NETNS_TC_PRIO || !kind || strcmp(kind, "u32"))
			continue;
		struct rtnl_act *act = rtnl_u32_get_action(cls);
		if (act && !strcmp(rtnl_tc_get_kind(TC_CAST(act)), "mirred") &&
		    (int)rtnl_mirred_get_ifindex(act) == to &&
		    rtnl_mirred_get_action(act) == TCA_EGRESS_REDIR)
			*redirect = true;
	}
	return n;
}

static bool pinned(const char *path)
{
	struct statfs s;
	return statfs(path, &s) == 0 && s.f_type == NSFS_MAGIC;
}

/* ---- namespaces ---------------------------------------------------------------- */

VC_TEST(test_create_remove)
{
	if (!prepare())
		return;
	struct vc_error err = {0};
	_cleanup_free_ char *p = NULL;
	char id[64];
	snprintf(id, sizeof(id), "vctest-c-%d", (int)getpid());
	CHECK(vc_netns_create(base, id, &p, &err) == 0);
	CHECK(pinned(p));
	char *again = NULL;
	CHECK(vc_netns_create(base, id, &again, &err) == -EEXIST);
	CHECK_CONTAINS(err.msg, id);
	CHECK(vc_netns_create(base, "a/b", &again, &err) == -EINVAL);
	CHECK(vc_netns_create(base, "..", &again, &err) == -EINVAL);
	/* a namespace of its own: lo only, and down */
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	CHECK(netns_route_socket(p, &sk, &err) == 0);
	_cleanup_nlobject_ struct rtnl_link *lo = tn_link(sk, "lo");
	CHECK(lo && !(rtnl_link_get_flags(lo) & IFF_UP));
	struct vc_netns_scan *s = NULL;
	CHECK(vc_netns_scan(p, &s, &err) == 0);
	CHECK(s->n_ifaces == 0 && s->n_routes == 0);
	vc_netns_scan_free(s);
	CHECK(vc_netns_teardown(p, &err) == 0);
	CHECK(vc_netns_remove(p, &err) == 0);
	CHECK(access(p, F_OK) < 0 && errno == ENOENT);
	CHECK(vc_netns_remove(p, &err) == 0);
	CHECK(vc_netns_teardown(p, &err) == 0);
	/* joining what is not there names it */
	CHECK(vc_netns_scan(p, &s, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, p);
	umount2(base, MNT_DETACH);
}

VC_TEST(test_scan)
{
	ENV(e);
	struct vc_netns_scan *s = NULL;
	struct vc_error err = {0};
	CHECK(vc_netns_scan(e.a, &s, &err) == 0);
	bool ok = s->n_ifaces == 1;
	const struct vc_netns_iface *it = ok ? &s->ifaces[0] : NULL;
	ok = ok && !strcmp(it->name, A_DEV) && !strcmp(it->mac, A_MAC) && it->mtu == MTU &&
	     it->up && !strcmp(it->kind, "veth") && it->ifindex == tn_ifindex(e.sa, A_DEV);
	bool v4 = false, v6 = false, def = false, r6 = false, nb = false;
	for (size_t i = 0; it && i < it->n_addrs; i++) {
		v4 |= !strcmp(it->addrs[i].addr, A_IP) && it->addrs[i].prefix == 24;
		v6 |= !strcmp(it->addrs[i].addr, "fd99::2") && it->addrs[i].prefix == 64;
	}
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct vc_netns_route *r = &s->routes[i];
		def |= !strcmp(r->dest, "0.0.0.0/0") && !strcmp(r->gateway, B_IP) &&
		       !strcmp(r->device, A_DEV);
		r6 |= !strcmp(r->dest, "fd98::/64") && !strcmp(r->gateway, "fd99::1");
	}
	for (size_t i = 0; i < s->n_neighs; i++)
		nb |= !strcmp(s->neighs[i].addr, "10.99.0.7") &&
		      !strcmp(s->neighs[i].mac, "02:00:00:00:99:07") &&
		      (s->neighs[i].state & NUD_PERMANENT);
	struct vc_netns_plan *p = NULL;
	int pr = vc_netns_plan_build(s, &p, &err);
	vc_netns_scan_free(s);
	env_down(&e);
	CHECK(ok);
	CHECK(v4 && v6);
	CHECK(def && r6);
	CHECK(nb);
	CHECK(pr == 0);
	/* the connected routes are the guest kernel's business */
	bool plan_ok = p->n_ifaces == 1 && p->ifaces[0].n_routes == 2 &&
		       p->ifaces[0].n_neighs == 1 && p->ifaces[0].n_addrs == 2;
	vc_netns_plan_free(p);
	CHECK(plan_ok);
}

/* ---- the redirect, with the test as the guest ------------------------------ */

static const unsigned char a_mac[6] = {2, 0, 0, 0, 0x99, 2};

static uint16_t ip_checksum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ARP reply to the request in req: A_IP is at a_mac. */
static size_t arp_reply(const unsigned char *req, unsigned char *out)
{
	memcpy(out, req + 6, 6); /* to the asker */
	memcpy(out + 6, a_mac, 6);
	out[12] = 0x08, out[13] = 0x06;
	unsigned char *arp = out + 14;
	memcpy(arp, req + 14, 6);	    /* htype, ptype, hlen, plen */
	arp[6] = 0, arp[7] = 2;		    /* reply */
	memcpy(arp + 8, a_mac, 6);	    /* sha */
	memcpy(arp + 14, req + 14 + 24, 4); /* spa = the asked-for ip */
	memcpy(arp + 18, req + 14 + 8, 6);  /* tha = their sha */
	memcpy(arp + 24, req + 14 + 14, 4); /* tpa = their spa */
	return 42;
}

/* A UDP answer to the datagram in req (IPv4 at req+14), from port UDP_PT. */
static size_t udp_reply(const unsigned char *req, const char *payload, unsigned char *out)
{
	const unsigned char *ip = req + 14, *udp = ip + (ip[0] & 15) * 4;
	size_t plen = strlen(payload);
	memcpy(out, req + 6, 6);
	memcpy(out + 6, a_mac, 6);
	out[12] = 0x08, out[13] = 0x00;
	unsigned char *oip = out + 14, *oudp = oip + 20;
	size_t total = 20 + 8 + plen;
	memset(oip, 0, 20);
	oip[0] = 0x45;
	oip[2] = (unsigned char)(total >> 8), oip[3] = (unsigned char)total;
	oip[6] = 0x40; /* DF */
	oip[8] = 64, oip[9] = 17;
	memcpy(oip + 12, ip + 16, 4); /* from the address they wrote to */
	memcpy(oip + 16, ip + 12, 4);
	uint16_t c = ip_checksum(oip, 20);
	oip[10] = (unsigned char)(c >> 8), oip[11] = (unsigned char)c;
	oudp[0] = UDP_PT >> 8, oudp[1] = UDP_PT & 0xff;
	memcpy(oudp + 2, udp, 2); /* to their port */
	oudp[4] = (unsigned char)((8 + plen) >> 8), oudp[5] = (unsigned char)(8 + plen);
	oudp[6] = oudp[7] = 0; /* no UDP checksum (allowed over IPv4) */
	memcpy(oudp + 8, payload, plen);
	return 14 + total;
}

/* Reads what the redirect brings to the tap, as a guest would: answers the
 * peer's ARP request for A_IP, then its "vcrun-ping" datagram with "vcrun-pong".
 * Returns true once both were seen and answered. */
static bool play_guest(int tap)
{
	unsigned char f[2048], out[128];
	unsigned char a_ip[4];
	inet_pton(AF_INET, A_IP, a_ip);
	bool arp_seen = false;
	unsigned long long deadline = vc_now_ns() + 10ull * 1000000000ull;
	while (vc_now_ns() < deadline) {
		struct pollfd pfd = {.fd = tap, .events = POLLIN};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t n = read(tap, f, sizeof(f));
		if (n < 14)
			continue;
		unsigned type = (unsigned)(f[12] << 8 | f[13]);
		if (type == 0x0806 && n >= 42 && f[14 + 7] == 1 && !memcmp(f + 14 + 24, a_ip, 4)) {
			arp_seen = true;
			if (write(tap, out, arp_reply(f, out)) < 0)
				return false;
			continue;
		}
		const unsigned char *ip = f + 14;
		if (type != 0x0800 || n < 14 + 28 || ip[9] != 17 || memcmp(ip + 16, a_ip, 4))
			continue;
		const unsigned char *udp = ip + (ip[0] & 15) * 4;
		if ((udp + 8 + 10 > f + n) || ((udp[2] << 8) | udp[3]) != UDP_PT ||
		    memcmp(udp + 8, "vcrun-ping", 10))
			continue;
		return write(tap, out, udp_reply(f, "vcrun-pong", out)) > 0 && arp_seen;
	}
	return false;
}

/* The peer: a datagram to A_IP, and the answer it waits for. Exit status 0 when
 * "vcrun-pong" came back from A_IP:UDP_PT. */
static __attribute__((noreturn)) void peer_main(const char *ns)
{
	if (vc_netns_enter(ns, NULL) < 0)
		_exit(10);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 8};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PT)}, from;
	socklen_t flen = sizeof(from);
	inet_pton(AF_INET, A_IP, &to.sin_addr);
	char buf[64] = "";
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(s, "vcrun-ping", 10, 0, (struct sockaddr *)&to, sizeof(to)) != 10)
		_exit(11);
	ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
	if (n < 0)
		_exit(12);
	_exit(n == 10 && !memcmp(buf, "vcrun-pong", 10) &&
			      from.sin_addr.s_addr == to.sin_addr.s_addr &&
			      from.sin_port == to.sin_port
		      ? 0
		      : 13);
}

static int plan_of(const char *ns, struct vc_netns_plan **p, struct vc_error *err)
{
	struct vc_netns_scan *s = NULL;
	int r = vc_netns_scan(ns, &s, err);
	if (r == 0)
		r = vc_netns_plan_build(s, p, err);
	vc_netns_scan_free(s);
	return r;
}

VC_TEST(test_tap_redirect)
{
	ENV(e);
	struct vc_error err = {0};
	struct vc_netns_plan *p = NULL;
	int veth = tn_ifindex(e.sa, A_DEV);
	CHECK(plan_of(e.a, &p, &err) == 0);
	int r = vc_netns_tap_setup(e.a, p, &err);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	vc_netns_plan_free(p);
	_cleanup_nlobject_ struct rtnl_link *tap = tn_link(e.sa, "tap0_vc");
	int tapi = tap ? rtnl_link_get_ifindex(tap) : -1;
	bool to_tap = false, to_veth = false;
	ingress_filters(e.sa, veth, tapi, &to_tap);
	ingress_filters(e.sa, tapi, veth, &to_veth);
	bool qdiscs = has_ingress(e.sa, veth) && has_ingress(e.sa, tapi);
	bool tap_ok = tap && !strcmp(rtnl_link_get_type(tap), "tun") &&
		      rtnl_link_get_mtu(tap) == MTU && (rtnl_link_get_flags(tap) & IFF_UP);

	/* traffic: the peer's ARP and UDP reach the tap; what the guest writes into
	 * the tap reaches the peer */
	int tapfd = -1;
	int tr = vc_netns_tap_open(e.a, "tap0_vc", false, &tapfd, &err);
	bool guest_ok = false;
	int peer_status = -1;
	if (tr == 0) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0)
			peer_main(e.b);
		guest_ok = pid > 0 && play_guest(tapfd);
		peer_status = pid > 0 ? vc_unit_reap(pid) : -1;
		close(tapfd);
	}
	/* a tap that is not there is not made by vc_netns_tap_open */
	int fd2 = -1;
	int nr = vc_netns_tap_open(e.a, "tap7_vc", false, &fd2, &err);

	struct vc_error terr = {0};
	int t1 = vc_netns_teardown(e.a, &terr);
	int t2 = vc_netns_teardown(e.a, &terr);
	_cleanup_nlobject_ struct rtnl_link *gone = tn_link(e.sa, "tap0_vc");
	bool clean = !gone && !has_ingress(e.sa, veth) && tn_has_addr(e.sa, A_DEV, A_IP "/24") &&
		     tn_ifindex(e.sa, A_DEV) == veth;
	env_down(&e);
	CHECK(r == 0);
	CHECK(tap_ok);
	CHECK(tr == 0);
	CHECK(guest_ok);
	CHECK(peer_status == 0);
	CHECK(qdiscs);
	CHECK(to_tap && to_veth);
	CHECK(nr == -ENOENT && fd2 < 0);
	CHECK(t1 == 0 && t2 == 0);
	CHECK(clean);
}

/* Teardown leaves what vcrun did not make: a foreign ingress filter (and so its
 * qdisc) and a tap of another name. */
VC_TEST(test_teardown_leaves_foreign)
{
	ENV(e);
	struct vc_error err = {0};
	int veth = tn_ifindex(e.sa, A_DEV);
	/* somebody's tap */
	enum netns_fd_kind kind = NETNS_FD_TUN;
	int tun = -1;
	bool other = netns_open_fds(e.a, &kind, 1, &tun, &err) == 0;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "other0");
	other = other && ioctl(tun, TUNSETIFF, &ifr) == 0 && ioctl(tun, TUNSETPERSIST, 1) == 0;
	if (tun >= 0)
		close(tun);
	/* somebody's ingress qdisc and filter */
	_cleanup_nlobject_ struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	_cleanup_nlobject_ struct rtnl_cls *cls = rtnl_cls_alloc();
	rtnl_tc_set_ifindex(TC_CAST(q), veth);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_INGRESS, 0));
	rtnl_tc_set_kind(TC_CAST(q), "ingress");
	bool foreign = rtnl_qdisc_add(e.sa, q, NLM_F_CREATE | NLM_F_EXCL) == 0;
	rtnl_tc_set_ifindex(TC_CAST(cls), veth);
	rtnl_tc_set_parent(TC_CAST(cls), INGRESS_FILTERS);
	rtnl_cls_set_prio(cls, 0xd00d);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	rtnl_tc_set_kind(TC_CAST(cls), "u32");
	rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	rtnl_u32_set_classid(cls, TC_HANDLE(1, 1));
	foreign = foreign && rtnl_cls_add(e.sa, cls, NLM_F_CREATE | NLM_F_EXCL) == 0;

	struct vc_netns_plan *p = NULL;
	CHECK(plan_of(e.a, &p, &err) == 0);
	/* only vcrun's own taps are left out of a scan: other0 is bridged too */
	size_t planned = p->n_ifaces;
	int r = vc_netns_tap_setup(e.a, p, &err);
	vc_netns_plan_free(p);
	bool redirect = false;
	size_t during = ingress_filters(e.sa, veth, tn_ifindex(e.sa, "tap0_vc"), &redirect);
	int t = vc_netns_teardown(e.a, &err);
	bool still = false;
	size_t after = ingress_filters(e.sa, veth, -1, &still);
	bool kept = has_ingress(e.sa, veth) && tn_ifindex(e.sa, "other0") > 0 &&
		    tn_ifindex(e.sa, "tap0_vc") < 0 && tn_ifindex(e.sa, "tap1_vc") < 0;
	env_down(&e);
	CHECK(other && foreign);
	CHECK(planned == 2);
	CHECK(r == 0);
	CHECK(redirect && during > after);
	CHECK(t == 0);
	CHECK(after >= 1);
	CHECK(kept);
}

/* A setup that fails half-way removes what it made. */
VC_TEST(test_setup_rolls_back)
{
	ENV(e);
	struct vc_error err = {0};
	struct vc_netns_plan *p = NULL;
	CHECK(plan_of(e.a, &p, &err) == 0);
	struct vc_netns_plan_iface *two = realloc(p->ifaces, 2 * sizeof(*two));
	CHECK(two);
	p->ifaces = two;
	two[1] = two[0];
	two[1].addrs = NULL;
	two[1].routes = NULL;
	two[1].neighs = NULL;
	two[1].n_addrs = two[1].n_routes = two[1].n_neighs = 0;
	snprintf(two[1].name, sizeof(two[1].name), "ghost0");
	snprintf(two[1].tap, sizeof(two[1].tap), "tap1_vc");
	two[1].ifindex = 9999;
	p->n_ifaces = 2;
	int r = vc_netns_tap_setup(e.a, p, &err);
	vc_netns_plan_free(p);
	int veth = tn_ifindex(e.sa, A_DEV);
	bool clean = tn_ifindex(e.sa, "tap0_vc") < 0 && tn_ifindex(e.sa, "tap1_vc") < 0 &&
		     !has_ingress(e.sa, veth);
	/* a failure the kernel reports: its own reason, and nothing left either */
	struct vc_error err2 = {0};
	struct vc_netns_plan *p2 = NULL;
	int r2 = plan_of(e.a, &p2, &err2);
	if (r2 == 0) {
		p2->ifaces[0].mtu = 10;
		r2 = vc_netns_tap_setup(e.a, p2, &err2);
	}
	vc_netns_plan_free(p2);
	bool clean2 = tn_ifindex(e.sa, "tap0_vc") < 0 && !has_ingress(e.sa, veth);
	env_down(&e);
	CHECK(r == -ENODEV);
	CHECK_CONTAINS(err.msg, "ghost0");
	CHECK(clean);
	CHECK(r2 == -EINVAL);
	CHECK_CONTAINS(err2.msg, "tap0_vc up with mtu 10: Invalid argument");
	CHECK(clean2);
}

struct seen {
	bool late, tap, addr, gone;
	int late_index;
};

static void on_link(void *ctx, int ifindex, const char *name, enum vc_netns_link_event ev)
{
	struct seen *s = ctx;
	if (ev == VC_NETNS_LINK_ADDR) {
		s->addr |= !name && s->late_index && ifindex == s->late_index;
		return;
	}
	if (!strcmp(name, "vclate0") && ev == VC_NETNS_LINK_NEW) {
		s->late = true;
		s->late_index = ifindex;
	}
	if (!strcmp(name, "vclate0") && ev == VC_NETNS_LINK_GONE)
		s->gone = ifindex == s->late_index;
	if (netns_is_tap_name(name))
		s->tap = true;
}

/* What the monitor uses after boot: the link watch hears of a new interface (never
 * of vcrun's taps), vc_netns_bridged tells a tap that a process holds from one that
 * nobody does, and vc_netns_udp_connect talks to a socket inside the namespace. */
VC_TEST(test_watch_bridged_udp)
{
	ENV(e);
	struct vc_error err = {0};
	struct vc_netns_watch *w = NULL;
	struct vc_netns_plan *p = NULL;
	struct seen seen = {0};
	char tap[IFNAMSIZ] = "";
	int wr = vc_netns_watch_open(e.a, &w, &err);
	int pr = plan_of(e.a, &p, &err);
	int sr = pr == 0 ? vc_netns_tap_setup(e.a, p, &err) : pr;
	vc_netns_plan_free(p);
	int b0 = vc_netns_bridged(e.a, tap, sizeof(tap), &err);
	int tapfd = -1;
	int tr = vc_netns_tap_open(e.a, "tap0_vc", true, &tapfd, &err);
	int b1 = vc_netns_bridged(e.a, tap, sizeof(tap), &err);
	if (tapfd >= 0)
		close(tapfd);
	bool added = tn_veth(e.sa, "vclate0", "02:00:00:00:99:31", MTU, "vclate1",
			     "02:00:00:00:99:32", e.b);
	for (int i = 0; wr == 0 && i < 40 && !seen.late; i++) {
		struct pollfd pfd = {.fd = vc_netns_watch_fd(w), .events = POLLIN};
		if (poll(&pfd, 1, 50) > 0)
			vc_netns_watch_read(w, on_link, &seen);
	}
	/* Its address, then its removal (the peer end goes with it). */
	bool addr_set = tn_addr_add(e.sa, "vclate0", "10.99.31.2/24");
	for (int i = 0; wr == 0 && i < 40 && !seen.addr; i++) {
		struct pollfd pfd = {.fd = vc_netns_watch_fd(w), .events = POLLIN};
		if (poll(&pfd, 1, 50) > 0)
			vc_netns_watch_read(w, on_link, &seen);
	}
	bool deleted = false;
	{
		_cleanup_nlobject_ struct rtnl_link *l = NULL;
		deleted = rtnl_link_get_kernel(e.sa, 0, "vclate0", &l) == 0 &&
			  rtnl_link_delete(e.sa, l) == 0;
	}
	for (int i = 0; wr == 0 && i < 40 && !seen.gone; i++) {
		struct pollfd pfd = {.fd = vc_netns_watch_fd(w), .events = POLLIN};
		if (poll(&pfd, 1, 50) > 0)
			vc_netns_watch_read(w, on_link, &seen);
	}
	vc_netns_watch_close(w);

	/* a UDP socket bound in the namespace, and one connected to it from outside */
	static const enum netns_fd_kind kind = NETNS_FD_UDP4;
	int srv = -1, cli = -1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(5399),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int ur = netns_open_fds(e.a, &kind, 1, &srv, &err);
	bool bound = ur == 0 && bind(srv, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	int cr = vc_netns_udp_connect(e.a, "127.0.0.1", 5399, &cli, &err);
	char buf[8] = "";
	bool echoed = false;
	if (bound && cr == 0 && send(cli, "q", 1, 0) == 1) {
		struct pollfd pfd = {.fd = srv, .events = POLLIN};
		echoed = poll(&pfd, 1, 2000) == 1 && recv(srv, buf, sizeof(buf), 0) == 1 &&
			 buf[0] == 'q';
	}
	int bad = -1;
	struct vc_error berr = {0};
	int badr = vc_netns_udp_connect(e.a, "::1", 53, &bad, &berr);
	if (srv >= 0)
		close(srv);
	if (cli >= 0)
		close(cli);
	vc_netns_teardown(e.a, NULL);
	env_down(&e);
	CHECK(wr == 0 && sr == 0);
	CHECK(b0 == 0);		   /* a tap nobody holds: a leftover, not a VM */
	CHECK(tr == 0 && b1 == 1); /* held: another VM bridges this namespace */
	CHECK_STR(tap, "tap0_vc");
	CHECK(added && seen.late);
	CHECK(addr_set && seen.addr);
	CHECK(deleted && seen.gone);
	CHECK(!seen.tap);
	CHECK(echoed);
	CHECK(badr == -EINVAL && bad == -1);
	CHECK_CONTAINS(berr.msg, "not an IPv4 address");
}

/* A late interface's tap, next to the boot's: added without touching tap0_vc,
 * removed again with its filters; a failed add leaves nothing. */
VC_TEST(test_tap_add_remove)
{
	ENV(e);
	struct vc_error err = {0};
	struct vc_netns_plan *boot = NULL, *late = NULL;
	int sr = plan_of(e.a, &boot, &err);
	if (sr == 0)
		sr = vc_netns_tap_setup(e.a, boot, &err);
	vc_netns_plan_free(boot);
	bool added = tn_veth(e.sa, "vclate0", "02:00:00:00:99:41", MTU, "vclate1",
			     "02:00:00:00:99:42", e.b) &&
		     tn_up(e.sa, "vclate0");
	int pr = plan_of(e.a, &late, &err);
	struct vc_netns_plan_iface *pi = NULL;
	for (size_t i = 0; pr == 0 && i < late->n_ifaces; i++)
		if (!strcmp(late->ifaces[i].name, "vclate0"))
			pi = &late->ifaces[i];
	int ar = -1, rr = -1, br = -1;
	bool both = false, one_left = false, filters_gone = false, bad_clean = false;
	struct vc_error berr = {0};
	int veth = tn_ifindex(e.sa, "vclate0");
	if (pi) {
		snprintf(pi->tap, sizeof(pi->tap), "tap5_vc");
		ar = vc_netns_tap_add(e.a, pi, &err);
		bool redirect = false;
		ingress_filters(e.sa, veth, tn_ifindex(e.sa, "tap5_vc"), &redirect);
		both = tn_ifindex(e.sa, "tap0_vc") > 0 && tn_ifindex(e.sa, "tap5_vc") > 0 &&
		       redirect;
		if (ar < 0)
			fprintf(stderr, "# %s\n", err.msg);
		rr = vc_netns_tap_remove(e.a, pi->name, pi->ifindex, pi->tap, &err);
		one_left = tn_ifindex(e.sa, "tap0_vc") > 0 && tn_ifindex(e.sa, "tap5_vc") < 0;
		filters_gone = !has_ingress(e.sa, veth);
		/* The interface is not the one the plan saw: nothing is made. */
		pi->ifindex = 999999;
		br = vc_netns_tap_add(e.a, pi, &berr);
		bad_clean = tn_ifindex(e.sa, "tap5_vc") < 0;
	}
	vc_netns_plan_free(late);
	vc_netns_teardown(e.a, NULL);
	env_down(&e);
	CHECK(sr == 0 && added && pi);
	CHECK(ar == 0 && both);
	CHECK(rr == 0 && one_left && filters_gone);
	CHECK(br == -ENODEV && bad_clean);
	CHECK_CONTAINS(berr.msg, "interface vclate0 (index 999999) is gone");
}

VC_TESTS(VC_T(test_mode_from_spec), VC_T(test_plan), VC_T(test_tap_names), VC_T(test_create_remove),
	 VC_T(test_scan), VC_T(test_tap_redirect), VC_T(test_teardown_leaves_foreign),
	 VC_T(test_setup_rolls_back), VC_T(test_watch_bridged_udp), VC_T(test_tap_add_remove))
