/* netns/: the container's network namespace on the host, bridged into the VM.
 *
 * A VM cannot join a network namespace, so vcrun does what Kata's tc-redirect
 * model does: for every interface the engine put in the namespace it creates a
 * tap device next to it and redirects every frame both ways with tc (an ingress
 * qdisc on each, a u32 match-all filter with a mirred egress-redirect action).
 * QEMU gives the guest a virtio-net device on the tap with the interface's MAC and
 * MTU, and the agent configures the guest side from the plan (addresses, routes,
 * neighbours).
 *
 * Nothing here moves the calling process: every operation forks a short-lived
 * child that setns()es into the namespace and hands back the file descriptors it
 * opened there (a NETLINK_ROUTE socket, /dev/net/tun, the namespace itself) over a
 * socketpair with SCM_RIGHTS. A socket or tun fd stays bound to the namespace it
 * was created in, so the caller then works on the namespace through libnl as if it
 * were its own. Only vc_netns_enter() moves the calling thread, for a child about
 * to exec QEMU.
 *
 * Everything returns 0 or -errno and fills err (the namespace path, interface
 * and the netlink operation in the message). */
#ifndef VC_NETNS_NETNS_H
#define VC_NETNS_NETNS_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/json.h"
#include "oci/spec.h"

/* Where vcrun pins the namespaces it creates (one bind mount per container id). */
#define VC_NETNS_RUN_DIR "/run/vcrun/netns"

/* Tap names: "tap<N>_vc", N the interface's position in the plan (below 1000, so
 * a name fits IFNAMSIZ). Teardown deletes tun devices of this form only. */
#define VC_NETNS_TAP_PREFIX "tap"
#define VC_NETNS_TAP_SUFFIX "_vc"
#define VC_NETNS_MAX_IFACES 64

/* Priority of vcrun's tc filters; teardown removes filters of this priority only. */
#define VC_NETNS_TC_PRIO 0xc0de

/* Text sizes: an address, a "dest/prefix", a MAC "02:42:ac:11:00:02". */
#define VC_NETNS_ADDR_LEN INET6_ADDRSTRLEN
#define VC_NETNS_CIDR_LEN (INET6_ADDRSTRLEN + 4)
#define VC_NETNS_MAC_LEN  18

/* ---- finding, creating, entering ------------------------------------------ */

enum vc_netns_mode {
	VC_NETNS_NONE, /* no network namespace in the spec: the VM gets no NIC */
	VC_NETNS_JOIN, /* linux.namespaces network "path": podman/CNI, CRI-O, Kubernetes */
	VC_NETNS_NEW,  /* network namespace without a path: vcrun creates one (docker) */
};

/* What linux.namespaces asks for; *path points into spec (JOIN only, else NULL). */
int vc_netns_mode_from_spec(const struct vc_oci_spec *spec, enum vc_netns_mode *mode,
			    const char **path, struct vc_error *err);

/* Creates a new network namespace pinned by a bind mount at RUN_DIR/<id> (run_dir
 * NULL: VC_NETNS_RUN_DIR). RUN_DIR is made a shared mount point first (as `ip
 * netns` does with /run/netns), so the pin is seen from every mount namespace that
 * shares it. *path is malloc'd. EEXIST when that id is pinned already. */
int vc_netns_create(const char *run_dir, const char *id, char **path, struct vc_error *err);
/* Where vc_netns_create(run_dir, id) pins (run_dir NULL: VC_NETNS_RUN_DIR), so that a
 * plan can name the pin before it exists. malloc'd, NULL on ENOMEM. */
char *vc_netns_pin_path(const char *run_dir, const char *id);

/* 0 when this process's user namespace owns (is, or is an ancestor of, the owner
 * of) the network namespace at PATH, so that joining it and making taps there is
 * allowed; EPERM naming PATH when not (rootless: a namespace of the host or of
 * another user). */
int vc_netns_check_owned(const char *path, struct vc_error *err);

/* Unmounts and removes a pin made by vc_netns_create; a missing one is fine. The
 * namespace itself goes when nothing else holds it (QEMU is gone by then). */
int vc_netns_remove(const char *path, struct vc_error *err);

/* setns() of the calling thread into the namespace at path, for good: for a
 * forked child before it execs QEMU ("QEMU runs inside that namespace"). */
int vc_netns_enter(const char *path, struct vc_error *err);

/* Attaches to the existing tap `name` inside the namespace and returns its fd
 * (IFF_TAP|IFF_NO_PI, plus IFF_VNET_HDR when asked: what QEMU's `-netdev
 * tap,fd=N` expects). Tests use it to play the guest. */
int vc_netns_tap_open(const char *path, const char *name, bool vnet_hdr, int *fd,
		      struct vc_error *err);

/* A non-blocking UDP socket made inside the namespace and connected to addr:port
 * there (IPv4): what the monitor relays the guest's DNS queries through when the
 * container's resolv.conf names a resolver on the namespace's loopback (docker's
 * embedded DNS at 127.0.0.11, which the guest cannot reach). */
int vc_netns_udp_connect(const char *path, const char *addr, uint16_t port, int *fd,
			 struct vc_error *err);

/* ---- scanning --------------------------------------------------------------- */

struct vc_netns_addr {
	int family; /* AF_INET or AF_INET6 */
	char addr[VC_NETNS_ADDR_LEN];
	unsigned prefix;
	int scope; /* RT_SCOPE_*: link-local IPv6 addresses are RT_SCOPE_LINK */
};

struct vc_netns_route {
	int family;
	char dest[VC_NETNS_CIDR_LEN];	    /* "10.0.0.0/24", "0.0.0.0/0", "::/0" */
	char gateway[VC_NETNS_ADDR_LEN];    /* "" when none */
	char source[VC_NETNS_ADDR_LEN];	    /* preferred source, "" when none */
	char device[IFNAMSIZ];		    /* the nexthop's interface */
	int ifindex, scope, protocol, type; /* RT_SCOPE_*, RTPROT_*, RTN_* */
};

struct vc_netns_neigh {
	int family;
	char addr[VC_NETNS_ADDR_LEN];
	char mac[VC_NETNS_MAC_LEN];
	char device[IFNAMSIZ];
	int ifindex;
	unsigned state; /* NUD_* */
};

struct vc_netns_iface {
	char name[IFNAMSIZ];
	int ifindex;
	char mac[VC_NETNS_MAC_LEN];
	unsigned mtu;
	bool up;
	char kind[16]; /* "veth", "macvlan", ... ("" for a physical NIC) */
	struct vc_netns_addr *addrs;
	size_t n_addrs;
};

/* The namespace's Ethernet interfaces (not lo, not other link types, not vcrun's
 * own taps), their addresses, the routes of the main table that leave through
 * them (first nexthop only) and their neighbours. */
struct vc_netns_scan {
	struct vc_netns_iface *ifaces;
	size_t n_ifaces;
	struct vc_netns_route *routes;
	size_t n_routes;
	struct vc_netns_neigh *neighs;
	size_t n_neighs;
};

int vc_netns_scan(const char *path, struct vc_netns_scan **out, struct vc_error *err);
void vc_netns_scan_free(struct vc_netns_scan *s);

/* ---- the plan (pure) ----------------------------------------------------------- */

/* One NIC of the guest: QEMU gets `-netdev tap,id=netN,ifname=TAP,script=no,
 * downscript=no,vhost=off -device virtio-net-pci,netdev=netN,mac=MAC` when it runs
 * in the namespace (vc_netns_enter in its child), or `-netdev tap,id=netN,fd=FD,
 * vhost=off` with FD from vc_netns_tap_open(path, TAP, true) when it does not; the
 * agent gets UpdateInterface for it. */
struct vc_netns_plan_iface {
	char name[IFNAMSIZ]; /* in the namespace, and the guest NIC's new name */
	int ifindex;	     /* in the namespace */
	char tap[IFNAMSIZ];
	char mac[VC_NETNS_MAC_LEN];
	unsigned mtu;
	bool up;
	/* For the guest: addresses without IPv6 link-local ones (the guest kernel
	 * makes the same from the same MAC); unicast routes the kernel does not add
	 * by itself (connected ones are left out), routes without a gateway first;
	 * permanent neighbours. */
	struct vc_netns_addr *addrs;
	size_t n_addrs;
	struct vc_netns_route *routes;
	size_t n_routes;
	struct vc_netns_neigh *neighs;
	size_t n_neighs;
};

struct vc_netns_plan {
	struct vc_netns_plan_iface *ifaces;
	size_t n_ifaces;
};

/* E2BIG past VC_NETNS_MAX_IFACES interfaces. */
int vc_netns_plan_build(const struct vc_netns_scan *scan, struct vc_netns_plan **out,
			struct vc_error *err);
void vc_netns_plan_free(struct vc_netns_plan *p);
void vc_netns_plan_freep(struct vc_netns_plan **p); /* for __attribute__((cleanup)) */

/* The network descriptions the agent requests carry (docs/agent-protocol.md), as
 * JSON arrays: UpdateInterface's addresses of one NIC, UpdateRoutes' routes and
 * AddARPNeighbors' neighbors of all of them (send those after every
 * UpdateInterface, since routes name the guest NICs). lib/ puts them into the
 * typed requests (agent-proto/agent-req.h). */
int vc_netns_plan_addresses(const struct vc_netns_plan_iface *pi, struct vc_json **out,
			    struct vc_error *err);
int vc_netns_plan_routes(const struct vc_netns_plan *p, struct vc_json **out, struct vc_error *err);
int vc_netns_plan_neighbors(const struct vc_netns_plan *p, struct vc_json **out,
			    struct vc_error *err);

/* ---- interfaces added later (netns/watch.c) -------------------------------- */

/* Link notifications of the namespace, for the monitor's event loop: poll
 * vc_netns_watch_fd for input, then vc_netns_watch_read calls fn for every
 * Ethernet interface (not vcrun's taps) added or changed (NEW) or removed (GONE)
 * since, and for every address added or removed (ADDR: name NULL, any interface). */
struct vc_netns_watch;
enum vc_netns_link_event {
	VC_NETNS_LINK_NEW,
	VC_NETNS_LINK_GONE,
	VC_NETNS_LINK_ADDR,
};
typedef void (*vc_netns_link_fn)(void *ctx, int ifindex, const char *name,
				 enum vc_netns_link_event ev);
int vc_netns_watch_open(const char *path, struct vc_netns_watch **w, struct vc_error *err);
int vc_netns_watch_fd(const struct vc_netns_watch *w);
void vc_netns_watch_read(struct vc_netns_watch *w, vc_netns_link_fn fn, void *ctx);
void vc_netns_watch_close(struct vc_netns_watch *w);

/* ---- taps and tc ------------------------------------------------------------- */

/* For every planned interface: a persistent tap with its MTU, up, ingress qdiscs
 * on both, and the two redirect filters. Tears down any leftover of an earlier
 * attempt first; on failure removes what it made. */
int vc_netns_tap_setup(const char *path, const struct vc_netns_plan *plan, struct vc_error *err);

/* One interface's tap and redirect, next to what is there already (an interface
 * that appeared after boot); pi->tap must be a free name of vcrun's form. On
 * failure removes what it made. vc_netns_tap_remove undoes it (the interface may
 * be gone already; so may the namespace). */
int vc_netns_tap_add(const char *path, const struct vc_netns_plan_iface *pi, struct vc_error *err);
int vc_netns_tap_remove(const char *path, const char *ifname, int ifindex, const char *tap,
			struct vc_error *err);

/* 1 when a vcrun tap in the namespace is held by a running QEMU (its name in tap):
 * another container's VM bridges this namespace already (a pod's containers, docker's
 * --network container:X), and setting up again would take its NIC away. 0 when not. */
int vc_netns_bridged(const char *path, char *tap, size_t len, struct vc_error *err);

/* Deletes vcrun's taps (their qdiscs and filters go with them) and vcrun's
 * filters on the other interfaces, and an ingress qdisc that has no filter left
 * after that. Touches no other interface, qdisc or filter. Idempotent; a
 * namespace that no longer exists is fine. */
int vc_netns_teardown(const char *path, struct vc_error *err);

#endif
