/* The agent's network requests without a VM: each test moves this test process
 * into a fresh network namespace of its own (unshare), makes a veth pair there
 * standing in for the guest's virtio NICs, runs agent_serve() in a forked child on
 * a socketpair, and checks what UpdateInterface / UpdateRoutes / AddARPNeighbors
 * did through libnl. The namespace and its links die with this process; the
 * host's own interfaces are never seen. Needs root. */
#include "tests/unit/test-net-helpers.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "agent-proto/proto.h"
#include "agent/agent.h"
#include "common/util.h"
#include "oci/json.h"
#include "tests/unit/unit.h"

#define NIC0_MAC "02:00:00:00:aa:01"
#define NIC1_MAC "02:00:00:00:aa:02"

struct agent_h {
	pid_t pid;
	int fd;
	struct nl_sock *sk;
	char *last; /* the last call's result or error, as text */
};

/* A fresh namespace with vct0 and vct1 (a veth pair: two NICs, both down) and
 * an agent serving in it. */
static bool start(struct agent_h *h)
{
	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->fd = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP: the agent network tests need root\n");
		return false;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "# unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return false;
	}
	h->sk = nl_socket_alloc();
	if (!h->sk || nl_connect(h->sk, NETLINK_ROUTE) < 0 ||
	    !tn_veth(h->sk, "vct0", NIC0_MAC, 1500, "vct1", NIC1_MAC, NULL))
		return false;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	fflush(NULL);
	h->pid = fork();
	if (h->pid == 0) {
		close(sv[0]);
		struct agent_options opts = {.not_pid1 = true};
		if (getenv("VCRUN_TEST_DEBUG"))
			agent_log_set_debug(true);
		_exit(agent_serve(sv[1], &opts) < 0 ? 1 : 0);
	}
	close(sv[1]);
	h->fd = sv[0];
	struct timeval tv = {.tv_sec = 30};
	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return h->pid > 0;
}

static int stop(struct agent_h *h)
{
	int status = -1;
	if (h->fd >= 0)
		close(h->fd);
	if (h->pid > 0)
		status = vc_unit_reap(h->pid);
	vc_nl_sockp(&h->sk);
	free(h->last);
	memset(h, 0, sizeof(*h));
	return status;
}

#define START(h)                            \
	struct agent_h h;                   \
	if (!start(&h)) {                   \
		bool root = geteuid() == 0; \
		stop(&h);                   \
		CHECK(!root);               \
		return;                     \
	}

/* Sends method with params (JSON text); returns 0 or -errno. h->last holds the
 * result (serialised) or the error message. */
static int call(struct agent_h *h, const char *method, const char *params)
{
	struct vc_error err = {0};
	_cleanup_json_ struct vc_json *p = NULL;
	_cleanup_json_ struct vc_json *res = NULL;
	free(steal_ptr(h->last));
	if (vc_json_parse(params, strlen(params), "params", &p, &err) < 0) {
		h->last = strdup(err.msg);
		return -EINVAL;
	}
	int r = vc_proto_call(h->fd, method, p, &res, &err);
	if (r < 0) {
		h->last = strdup(err.msg);
		return r;
	}
	vc_json_serialize(res, false, &h->last, NULL, &err);
	return 0;
}

/* The call must succeed; the agent's message is shown when it does not. */
#define CALL_OK(h, method, params)                                        \
	do {                                                              \
		int _r = call(h, method, params);                         \
		if (_r < 0)                                               \
			fprintf(stderr, "# %s: %s\n", method, (h)->last); \
		CHECK(_r == 0);                                           \
	} while (0)

static unsigned mtu_of(struct nl_sock *sk, const char *dev)
{
	_cleanup_nlobject_ struct rtnl_link *l = tn_link(sk, dev);
	return l ? rtnl_link_get_mtu(l) : 0;
}

static bool is_up(struct nl_sock *sk, const char *dev)
{
	_cleanup_nlobject_ struct rtnl_link *l = tn_link(sk, dev);
	return l && (rtnl_link_get_flags(l) & IFF_UP);
}

/* ---- tests ------------------------------------------------------------------- */

VC_TEST(test_update_interface)
{
	START(h);
	int idx = tn_ifindex(h.sk, "vct0");
	int r = call(&h, VC_M_UPDATE_INTERFACE,
		     "{\"name\":\"eth0\",\"mac\":\"" NIC0_MAC "\",\"mtu\":1400,\"addresses\":["
		     "{\"address\":\"10.1.2.3\",\"prefix\":24},"
		     "{\"address\":\"fd00:1::3\",\"prefix\":64}],\"up\":true}");
	if (r < 0)
		fprintf(stderr, "# %s\n", h.last);
	CHECK(r == 0);
	char want[64];
	snprintf(want, sizeof(want), "{\"name\":\"eth0\",\"ifindex\":%d}", idx);
	CHECK_STR(h.last, want);
	CHECK(tn_ifindex(h.sk, "eth0") == idx && tn_ifindex(h.sk, "vct0") < 0);
	CHECK(mtu_of(h.sk, "eth0") == 1400);
	CHECK(is_up(h.sk, "eth0"));
	CHECK(tn_has_addr(h.sk, "eth0", "10.1.2.3/24"));
	CHECK(tn_has_addr(h.sk, "eth0", "fd00:1::3/64"));
	/* IPv4 gets its broadcast address, as `ip addr add ... brd +` would */
	_cleanup_nlcache_ struct nl_cache *c = NULL;
	CHECK(rtnl_addr_alloc_cache(h.sk, &c) == 0);
	bool brd = false;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		char b[64];
		struct nl_addr *ba = rtnl_addr_get_broadcast((struct rtnl_addr *)o);
		brd |= ba && !strcmp(nl_addr2str(ba, b, sizeof(b)), "10.1.2.255");
	}
	CHECK(brd);

	/* again with other addresses: exactly those afterwards; no name: kept */
	r = call(&h, VC_M_UPDATE_INTERFACE,
		 "{\"mac\":\"" NIC0_MAC "\",\"addresses\":[{\"address\":\"10.1.2.4\","
		 "\"prefix\":16}]}");
	CHECK(r == 0);
	CHECK(tn_has_addr(h.sk, "eth0", "10.1.2.4/16"));
	CHECK(tn_count_addrs(h.sk, "eth0", AF_INET) == 1);
	CHECK(tn_count_addrs(h.sk, "eth0", AF_INET6) == 0);
	CHECK(mtu_of(h.sk, "eth0") == 1400);
	CALL_OK(&h, VC_M_UPDATE_INTERFACE,
		"{\"mac\":\"" NIC0_MAC "\",\"addresses\":[{\"address\":\"10.1.2.4\","
		"\"prefix\":16}]}");
	CHECK(tn_count_addrs(h.sk, "eth0", AF_INET) == 1);

	/* the wanted name is taken by the other NIC: that one moves aside */
	int other = tn_ifindex(h.sk, "vct1");
	r = call(&h, VC_M_UPDATE_INTERFACE, "{\"name\":\"vct1\",\"mac\":\"" NIC0_MAC "\"}");
	CHECK(r == 0);
	char aside[IFNAMSIZ];
	snprintf(aside, sizeof(aside), "vcnet%d", other);
	CHECK(tn_ifindex(h.sk, "vct1") == idx);
	CHECK(tn_ifindex(h.sk, aside) == other);
	CHECK(is_up(h.sk, "vct1"));
	CHECK(tn_has_addr(h.sk, "vct1", "10.1.2.4/16"));
	/* up: false takes it down; addresses still go on */
	CALL_OK(&h, VC_M_UPDATE_INTERFACE,
		"{\"mac\":\"" NIC0_MAC "\",\"up\":false,\"mtu\":null,\"name\":null,\"addresses\":["
		"{\"address\":\"10.1.2.5\",\"prefix\":24},"
		"{\"address\":\"fd00:1::5\",\"prefix\":64}]}");
	CHECK(!is_up(h.sk, "vct1"));
	CHECK(mtu_of(h.sk, "vct1") == 1400);
	CHECK(tn_has_addr(h.sk, "vct1", "10.1.2.5/24"));
	CHECK(tn_has_addr(h.sk, "vct1", "fd00:1::5/64"));
	CHECK(!is_up(h.sk, aside));
	CHECK(stop(&h) == 0);
}

VC_TEST(test_update_routes_and_neighbors)
{
	START(h);
	CALL_OK(&h, VC_M_UPDATE_INTERFACE,
		"{\"name\":\"eth0\",\"mac\":\"" NIC0_MAC "\",\"addresses\":["
		"{\"address\":\"10.1.2.3\",\"prefix\":24},"
		"{\"address\":\"fd00:1::3\",\"prefix\":64}]}");
	/* gateway routes first on purpose: the agent adds link routes first */
	const char *routes =
		"{\"routes\":["
		"{\"dest\":\"default\",\"gateway\":\"10.1.2.1\",\"device\":\"eth0\"},"
		"{\"dest\":\"10.9.0.0/16\",\"gateway\":\"172.31.0.1\",\"device\":\"eth0\"},"
		"{\"dest\":\"172.31.0.1\",\"device\":\"eth0\",\"scope\":253},"
		"{\"dest\":\"192.168.7.0/24\",\"device\":\"eth0\",\"source\":\"10.1.2.3\"},"
		"{\"dest\":\"::/0\",\"gateway\":\"fd00:1::1\",\"device\":\"eth0\"}]}";
	int r = call(&h, VC_M_UPDATE_ROUTES, routes);
	if (r < 0)
		fprintf(stderr, "# %s\n", h.last);
	CHECK(r == 0);
	CHECK(tn_has_route(h.sk, AF_INET, "default", "10.1.2.1", "eth0") ||
	      tn_has_route(h.sk, AF_INET, "none", "10.1.2.1", "eth0"));
	CHECK(tn_has_route(h.sk, AF_INET, "10.9.0.0/16", "172.31.0.1", "eth0"));
	CHECK(tn_has_route(h.sk, AF_INET, "172.31.0.1", NULL, "eth0"));
	CHECK(tn_has_route(h.sk, AF_INET, "192.168.7.0/24", NULL, "eth0"));
	CHECK(tn_has_route(h.sk, AF_INET6, "default", "fd00:1::1", "eth0") ||
	      tn_has_route(h.sk, AF_INET6, "none", "fd00:1::1", "eth0"));
	/* again: replaced, not "File exists" */
	CALL_OK(&h, VC_M_UPDATE_ROUTES, routes);

	CALL_OK(&h, VC_M_ADD_ARP_NEIGHBORS,
		"{\"neighbors\":[{\"address\":\"10.1.2.9\",\"mac\":\"02:00:00:00:aa:09\","
		"\"device\":\"eth0\"},{\"address\":\"fd00:1::9\",\"mac\":"
		"\"02:00:00:00:aa:0a\",\"device\":\"eth0\"}]}");
	CHECK(tn_has_neigh(h.sk, "eth0", "10.1.2.9", "02:00:00:00:aa:09"));
	CHECK(tn_has_neigh(h.sk, "eth0", "fd00:1::9", "02:00:00:00:aa:0a"));
	CALL_OK(&h, VC_M_ADD_ARP_NEIGHBORS, "{\"neighbors\":[]}");
	CHECK(stop(&h) == 0);
}

static const struct {
	const char *method, *params;
	int code;
	const char *names;
} bad[] = {
	{VC_M_UPDATE_INTERFACE, "{}", EINVAL, "UpdateInterface: params.mac is required"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":5}", EINVAL, "params.mac"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"02:00:00:00:aa\"}", EINVAL, "params.mac"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"02:00:00:00:aa:0g\"}", EINVAL, "params.mac"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"02:00:00:00:bb:01\"}", ENOENT, "params.mac"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"mtu\":10}", EINVAL, "params.mtu"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"mtu\":0}", EINVAL, "params.mtu"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"mtu\":\"x\"}", EINVAL, "params.mtu"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"mtu\":70000}", EINVAL, "params.mtu"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"name\":\"a/b\"}", EINVAL,
	 "params.name"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"name\":\"0123456789abcdef\"}", EINVAL,
	 "params.name"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"up\":\"yes\"}", EINVAL, "params.up"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"addresses\":\"x\"}", EINVAL,
	 "params.addresses"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"addresses\":[5]}", EINVAL,
	 "params.addresses[0]"},
	{VC_M_UPDATE_INTERFACE,
	 "{\"mac\":\"" NIC0_MAC "\",\"mtu\":1300,\"addresses\":[{\"address\":\"10.0.0.1\","
	 "\"prefix\":8},{\"address\":\"10.0.0.2\",\"prefix\":33}]}",
	 EINVAL, "params.addresses[1].prefix"},
	{VC_M_UPDATE_INTERFACE,
	 "{\"mac\":\"" NIC0_MAC "\",\"addresses\":[{\"address\":\"nope\",\"prefix\":8}]}", EINVAL,
	 "params.addresses[0].address"},
	{VC_M_UPDATE_INTERFACE, "{\"mac\":\"" NIC0_MAC "\",\"addresses\":[{\"address\":\"::1\"}]}",
	 EINVAL, "params.addresses[0].prefix"},
	{VC_M_UPDATE_ROUTES, "{}", EINVAL, "params.routes"},
	{VC_M_UPDATE_ROUTES, "{\"routes\":[{\"dest\":\"10.0.0.0/99\",\"device\":\"vct0\"}]}",
	 EINVAL, "params.routes[0].dest"},
	{VC_M_UPDATE_ROUTES, "{\"routes\":[{\"dest\":\"10.0.0.0/8x\",\"device\":\"vct0\"}]}",
	 EINVAL, "params.routes[0].dest"},
	{VC_M_UPDATE_ROUTES, "{\"routes\":[{\"dest\":\"10.0.0.0/8\"}]}", EINVAL,
	 "params.routes[0].device"},
	{VC_M_UPDATE_ROUTES,
	 "{\"routes\":[{\"dest\":\"10.0.0.0/8\",\"gateway\":\"fd00::1\",\"device\":\"vct0\"}]}",
	 EINVAL, "params.routes[0].gateway"},
	{VC_M_UPDATE_ROUTES,
	 "{\"routes\":[{\"dest\":\"default\",\"device\":\"vct0\",\"scope\":300}]}", EINVAL,
	 "params.routes[0].scope"},
	{VC_M_UPDATE_ROUTES,
	 "{\"routes\":[{\"dest\":\"10.0.0.0/8\",\"device\":\"vct0\"},"
	 "{\"dest\":\"10.1.0.0/16\",\"device\":\"nosuch0\"}]}",
	 ENOENT, "params.routes[1].device"},
	/* the kernel's own reason (vct0 is down), not libnl's "Unspecific failure" */
	{VC_M_UPDATE_ROUTES, "{\"routes\":[{\"dest\":\"10.0.0.0/8\",\"device\":\"vct0\"}]}",
	 ENETDOWN, "params.routes[0]: add the route: Network is down"},
	{VC_M_ADD_ARP_NEIGHBORS, "{\"neighbors\":{}}", EINVAL, "params.neighbors"},
	{VC_M_ADD_ARP_NEIGHBORS,
	 "{\"neighbors\":[{\"address\":\"10.0.0.9\",\"mac\":\"x\",\"device\":\"vct0\"}]}", EINVAL,
	 "params.neighbors[0].mac"},
	{VC_M_ADD_ARP_NEIGHBORS,
	 "{\"neighbors\":[{\"address\":\"10.0.0.9\",\"mac\":\"02:00:00:00:aa:09\"}]}", EINVAL,
	 "params.neighbors[0].device"},
};

/* A hot-plugged NIC appears after the request: UpdateInterface with wait_ms finds
 * it when it comes, and gives up after wait_ms when it does not. */
VC_TEST(test_update_interface_waits_for_the_nic)
{
	START(h);
	fflush(NULL);
	pid_t late = fork();
	if (late == 0) {
		usleep(300 * 1000);
		struct nl_sock *sk = nl_socket_alloc();
		bool ok = sk && nl_connect(sk, NETLINK_ROUTE) == 0 &&
			  tn_veth(sk, "vct2", "02:00:00:00:aa:03", 1500, "vct3",
				  "02:00:00:00:aa:04", NULL);
		_exit(ok ? 0 : 1);
	}
	CHECK(late > 0);
	unsigned long long t0 = vc_now_ns();
	int r = call(&h, VC_M_UPDATE_INTERFACE,
		     "{\"mac\":\"02:00:00:00:aa:03\",\"name\":\"late0\",\"wait_ms\":10000}");
	unsigned long long ms = (vc_now_ns() - t0) / 1000000ULL;
	CHECK(vc_unit_reap(late) == 0);
	if (r < 0)
		fprintf(stderr, "# %s\n", h.last);
	CHECK(r == 0);
	CHECK(ms >= 250);
	CHECK(tn_ifindex(h.sk, "late0") > 0 && is_up(h.sk, "late0"));
	/* Never comes: ENOENT after about wait_ms, saying it waited. */
	t0 = vc_now_ns();
	r = call(&h, VC_M_UPDATE_INTERFACE, "{\"mac\":\"02:00:00:00:aa:09\",\"wait_ms\":300}");
	ms = (vc_now_ns() - t0) / 1000000ULL;
	CHECK(r == -ENOENT);
	CHECK_CONTAINS(h.last, "no interface has MAC 02:00:00:00:aa:09 (waited for it");
	CHECK(ms >= 250 && ms < 5000);
	CHECK(call(&h, VC_M_UPDATE_INTERFACE,
		   "{\"mac\":\"02:00:00:00:aa:09\",\"wait_ms\":40000}") == -EINVAL);
	CHECK_CONTAINS(h.last, "params.wait_ms: must be an integer from 0 to 30000");
	CHECK(stop(&h) == 0);
}

VC_TEST(test_bad_network_requests)
{
	START(h);
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		int r = call(&h, bad[i].method, bad[i].params);
		if (r != -bad[i].code || !h.last || !strstr(h.last, bad[i].names))
			fprintf(stderr, "# case %zu (%s %s): %d %s\n", i, bad[i].method,
				bad[i].params, r, h.last ? h.last : "");
		CHECK(r == -bad[i].code);
		CHECK_CONTAINS(h.last, bad[i].names);
	}
	/* a request refused for its second address changed nothing */
	CHECK(mtu_of(h.sk, "vct0") == 1500);
	CHECK(tn_count_addrs(h.sk, "vct0", AF_INET) == 0);
	CALL_OK(&h, VC_M_CHECK, "{\"version\":1}");
	CHECK(stop(&h) == 0);
}

/* Every field of every network request with every wrong type: an answer each
 * time, never a crash, and the NIC stays as it was. */
VC_TEST(test_garbage_network_params)
{
	static const char *const methods[] = {VC_M_UPDATE_INTERFACE, VC_M_UPDATE_ROUTES,
					      VC_M_ADD_ARP_NEIGHBORS};
	static const char *const keys[] = {"mac",    "name",	"mtu",	     "addresses",
					   "up",     "routes",	"neighbors", "dest",
					   "device", "gateway", "address",   "prefix"};
	static const char *const values[] = {"null",
					     "true",
					     "-1",
					     "4294967296",
					     "1.5",
					     "\"\"",
					     "\"x\"",
					     "[]",
					     "{}",
					     "[{}]",
					     "[\"a\",1]",
					     "[{\"address\":{},\"prefix\":[]}]",
					     "[{\"dest\":null,\"device\":\"vct0\"}]"};
	START(h);
	int idx = tn_ifindex(h.sk, "vct0");
	char params[512];
	for (size_t m = 0; m < VC_ARRAY_SIZE(methods); m++) {
		for (size_t k = 0; k < VC_ARRAY_SIZE(keys); k++) {
			for (size_t v = 0; v < VC_ARRAY_SIZE(values); v++) {
				snprintf(params, sizeof(params),
					 "{\"mac\":\"" NIC0_MAC "\",\"up\":false,\"%s\":%s}",
					 keys[k], values[v]);
				int r = call(&h, methods[m], params);
				CHECK(r != -EPIPE && h.last);
			}
		}
	}
	/* ("name":"x" is a valid rename) */
	_cleanup_nlobject_ struct rtnl_link *l = NULL;
	CHECK(rtnl_link_get_kernel(h.sk, idx, NULL, &l) == 0);
	CHECK(rtnl_link_get_mtu(l) == 1500);
	CALL_OK(&h, VC_M_CHECK, "{\"version\":1}");
	CHECK(stop(&h) == 0);
}

VC_TEST(test_lo_up)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		CHECK(geteuid() != 0);
		return;
	}
	_cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
	CHECK(sk && nl_connect(sk, NETLINK_ROUTE) == 0);
	CHECK(!is_up(sk, "lo"));
	struct vc_error err = {0};
	CHECK(agent_net_lo_up(&err) == 0);
	CHECK(is_up(sk, "lo"));
	CHECK(tn_has_addr(sk, "lo", "127.0.0.1/8"));
}

/* One DNS frame from the agent (other frames are skipped); its body in buf. */
static ssize_t read_dns_frame(int fd, uint8_t *buf, size_t cap)
{
	struct vc_frame_reader rd;
	vc_frame_reader_init(&rd);
	ssize_t n = -1;
	for (int i = 0; i < 50 && n < 0; i++) {
		if (vc_frame_reader_fill(&rd, fd) <= 0)
			break;
		struct vc_frame f;
		struct vc_error err = {0};
		while (n < 0 && vc_frame_reader_next(&rd, &f, &err) == 1)
			if (f.type == VC_FRAME_DNS && f.id == VC_DNS_FRAME_ID && f.len <= cap) {
				memcpy(buf, f.body, f.len);
				n = (ssize_t)f.len;
			}
	}
	vc_frame_reader_free(&rd);
	return n;
}

/* The relay: a query to 127.0.0.11:53 in the guest travels as a DNS frame under an
 * id of the agent's; the host's answer under that id reaches the client under its
 * own id. A second start and a bad address are refused by name. */
VC_TEST(test_dns_relay)
{
	START(h);
	CHECK(tn_up(h.sk, "lo"));
	CALL_OK(&h, VC_M_START_DNS_RELAY, "{\"address\":\"127.0.0.11\"}");
	CHECK(call(&h, VC_M_START_DNS_RELAY, "{\"address\":\"127.0.0.11\"}") == -EEXIST);
	CHECK(call(&h, VC_M_START_DNS_RELAY, "{\"address\":\"localhost\"}") == -EINVAL);
	CHECK_CONTAINS(h.last, "params.address: `localhost` is not an IPv4 address");
	CHECK(call(&h, VC_M_START_DNS_RELAY, "{}") == -EINVAL);

	int cli = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "127.0.0.11", &to.sin_addr);
	uint8_t q[20] = {0xbe, 0xef, 0x01, 0x00, 0,   1,   0, 0, 0, 0,
			 0,    0,    3,	   's',	 'r', 'v', 0, 0, 1, 0};
	CHECK(sendto(cli, q, sizeof(q), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(q));
	/* too short to be DNS: dropped, not relayed */
	CHECK(sendto(cli, q, 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5);
	uint8_t body[512];
	ssize_t n = read_dns_frame(h.fd, body, sizeof(body));
	CHECK(n == sizeof(q));
	CHECK(n == sizeof(q) && !memcmp(body + 2, q + 2, sizeof(q) - 2));

	/* the answer, under the agent's id; a stray one under another id is dropped */
	uint8_t ans[sizeof(q) + VC_PROTO_HDR_LEN], stray[sizeof(ans)];
	memcpy(ans + VC_PROTO_HDR_LEN, body, sizeof(q));
	ans[VC_PROTO_HDR_LEN + 2] = 0x81; /* QR: an answer */
	memcpy(stray, ans, sizeof(ans));
	stray[VC_PROTO_HDR_LEN] ^= 0x55;
	vc_frame_header_encode(ans, VC_FRAME_DNS, 0, VC_DNS_FRAME_ID, sizeof(q));
	vc_frame_header_encode(stray, VC_FRAME_DNS, 0, VC_DNS_FRAME_ID, sizeof(q));
	CHECK(vc_write_all(h.fd, stray, sizeof(stray)) == 0);
	CHECK(vc_write_all(h.fd, ans, sizeof(ans)) == 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t got[64];
	CHECK(recv(cli, got, sizeof(got), 0) == sizeof(q));
	CHECK(got[0] == 0xbe && got[1] == 0xef && got[2] == 0x81);
	/* only one answer: the stray one was not delivered */
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(recv(cli, got, sizeof(got), 0) < 0);
	close(cli);
	CHECK(stop(&h) == 0);
}

VC_TESTS(VC_T(test_update_interface), VC_T(test_update_interface_waits_for_the_nic),
	 VC_T(test_update_routes_and_neighbors), VC_T(test_bad_network_requests),
	 VC_T(test_garbage_network_params), VC_T(test_lo_up), VC_T(test_dns_relay))
