/* Taps and the tc redirect (Kata's tc-redirect model): for an interface IF and its
 * tap T, both get an ingress qdisc, and a u32 match-all filter with a mirred
 * egress-redirect action sends whatever arrives on IF out of T (to QEMU) and
 * whatever QEMU writes into T out of IF. The interface's own IP stack in the
 * namespace sees nothing any more; the guest owns its addresses.
 *
 * What is vcrun's is known from the namespace alone, so teardown needs no state:
 * tun devices named tap<N>_vc, and filters of priority VC_NETNS_TC_PRIO. */
#include "netns/netns.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "common/cleanup.h"
#include "common/nl.h"
#include "netns/internal.h"

/* Filters go to the ingress hook of an ingress or a clsact qdisc alike. */
#define INGRESS_PARENT TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)

bool netns_is_tap_name(const char *name)
{
	size_t pl = strlen(VC_NETNS_TAP_PREFIX), sl = strlen(VC_NETNS_TAP_SUFFIX);
	size_t n = strlen(name);
	if (n <= pl + sl || n > pl + sl + 3 || strncmp(name, VC_NETNS_TAP_PREFIX, pl) ||
	    strcmp(name + n - sl, VC_NETNS_TAP_SUFFIX))
		return false;
	for (size_t i = pl; i < n - sl; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
	}
	return true;
}

static int create_tap(const char *path, const char *name, struct vc_error *err)
{
	static const enum netns_fd_kind kind = NETNS_FD_TUN;
	_cleanup_close_ int fd = -1;
	int r = netns_open_fds(path, &kind, 1, &fd, err);
	if (r < 0)
		return r;
	/* IFF_TUN_EXCL: never take over a device that someone else made */
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return vc_error_sys(err, errno, "netns %s: create tap %s", path, name);
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return vc_error_sys(err, errno, "netns %s: make tap %s persistent", path, name);
	return 0;
}

/* The tap carries the interface's frames, nothing of its own: no IPv6 link-local
 * address (hence no router solicitations or MLD reports towards the guest). */
static int bring_up_tap(struct nl_sock *sk, const char *path, struct rtnl_link *tap, unsigned mtu,
			struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_link *quiet = rtnl_link_alloc();
	_cleanup_nlobject_ struct rtnl_link *up = rtnl_link_alloc();
	if (!quiet || !up)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* best effort: fails where the kernel has IPv6 off */
	if (rtnl_link_inet6_set_addr_gen_mode(quiet, IN6_ADDR_GEN_MODE_NONE) == 0)
		rtnl_link_change(sk, tap, quiet, 0);
	rtnl_link_set_mtu(up, mtu);
	rtnl_link_set_flags(up, IFF_UP);
	int r = rtnl_link_change(sk, tap, up, 0);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: set %s up with mtu %u", path,
				   rtnl_link_get_name(tap), mtu);
	return 0;
}

static int add_ingress(struct nl_sock *sk, const char *path, int ifindex, const char *dev,
		       struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	if (!q)
		return vc_error_set(err, ENOMEM, "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), TC_H_MAKE(TC_H_INGRESS, 0));
	int r = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (r == 0)
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	/* one there already (ours from a retry, or clsact): the filter joins it */
	if (r < 0 && r != -NLE_EXIST)
		return vc_nl_error(err, r, "netns %s: add an ingress qdisc to %s", path, dev);
	return 0;
}

static int add_redirect(struct nl_sock *sk, const char *path, int from, const char *from_name,
			int to, const char *to_name, struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_cls *cls = rtnl_cls_alloc();
	_cleanup_nlobject_ struct rtnl_act *act = rtnl_act_alloc();
	if (!cls || !act)
		return vc_error_set(err, ENOMEM, "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(cls), from);
	rtnl_tc_set_parent(TC_CAST(cls), INGRESS_PARENT);
	rtnl_cls_set_prio(cls, VC_NETNS_TC_PRIO);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	int r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	if (r == 0)
		r = rtnl_tc_set_kind(TC_CAST(act), "mirred");
	/* match everything; "terminal" makes u32 run the action on a match */
	if (r == 0)
		r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	if (r == 0)
		r = rtnl_u32_set_cls_terminal(cls);
	if (r == 0)
		r = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
	if (r == 0)
		r = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
	if (r == 0)
		r = rtnl_mirred_set_ifindex(act, to);
	if (r == 0)
		r = rtnl_u32_add_action(cls, act);
	if (r == 0)
		r = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: redirect %s ingress to %s", path, from_name,
				   to_name);
	return 0;
}

static int setup_one(struct nl_sock *sk, const char *path, const struct vc_netns_plan_iface *pi,
		     struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_link *dev = NULL;
	int r = rtnl_link_get_kernel(sk, pi->ifindex, NULL, &dev);
	if (r < 0 || strcmp(rtnl_link_get_name(dev), pi->name))
		return vc_error_set(err, ENODEV, "netns %s: interface %s (index %d) is gone", path,
				    pi->name, pi->ifindex);
	r = create_tap(path, pi->tap, err);
	if (r < 0)
		return r;
	_cleanup_nlobject_ struct rtnl_link *tap = NULL;
	r = rtnl_link_get_kernel(sk, 0, pi->tap, &tap);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: find tap %s", path, pi->tap);
	int tap_index = rtnl_link_get_ifindex(tap);
	r = bring_up_tap(sk, path, tap, pi->mtu, err);
	if (r == 0)
		r = add_ingress(sk, path, pi->ifindex, pi->name, err);
	if (r == 0)
		r = add_ingress(sk, path, tap_index, pi->tap, err);
	if (r == 0)
		r = add_redirect(sk, path, pi->ifindex, pi->name, tap_index, pi->tap, err);
	if (r == 0)
		r = add_redirect(sk, path, tap_index, pi->tap, pi->ifindex, pi->name, err);
	return r;
}

int vc_netns_tap_setup(const char *path, const struct vc_netns_plan *plan, struct vc_error *err)
{
	if (plan->n_ifaces == 0)
		return 0;
	int r = vc_netns_teardown(path, err);
	if (r < 0)
		return r;
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	r = netns_route_socket(path, &sk, err);
	for (size_t i = 0; r == 0 && i < plan->n_ifaces; i++)
		r = setup_one(sk, path, &plan->ifaces[i], err);
	if (r < 0) {
		struct vc_error undo = {0};
		if (vc_netns_teardown(path, &undo) < 0) {
			char msg[VC_ERROR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			vc_error_set(err, r, "%s (undoing it failed too: %s)", msg, undo.msg);
		}
	}
	return r;
}

/* Forward: the teardown of one interface's redirect (below). */
static int undo_one(struct nl_sock *sk, const char *path, const char *ifname, int ifindex,
		    const char *tap, struct vc_error *err);

int vc_netns_tap_add(const char *path, const struct vc_netns_plan_iface *pi, struct vc_error *err)
{
	if (!netns_is_tap_name(pi->tap))
		return vc_error_set(err, EINVAL, "netns %s: `%s` is not a name of vcrun's taps",
				    path, pi->tap);
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = netns_route_socket(path, &sk, err);
	if (r == 0)
		r = setup_one(sk, path, pi, err);
	if (r < 0 && sk) {
		struct vc_error undo = {0};
		if (undo_one(sk, path, pi->name, pi->ifindex, pi->tap, &undo) < 0) {
			char msg[VC_ERROR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			vc_error_set(err, r, "%s (undoing it failed too: %s)", msg, undo.msg);
		}
	}
	return r;
}

int vc_netns_tap_remove(const char *path, const char *ifname, int ifindex, const char *tap,
			struct vc_error *err)
{
	struct statfs sfs;
	if (statfs(path, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
		return 0;
	if (!netns_is_tap_name(tap))
		return vc_error_set(err, EINVAL, "netns %s: `%s` is not a name of vcrun's taps",
				    path, tap);
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = netns_route_socket(path, &sk, err);
	return r < 0 ? r : undo_one(sk, path, ifname, ifindex, tap, err);
}

/* linux/if.h's; <net/if.h>, which the public header needs, stops short of it */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

int vc_netns_bridged(const char *path, char *tap, size_t len, struct vc_error *err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = netns_route_socket(path, &sk, err);
	if (r < 0)
		return r;
	_cleanup_nlcache_ struct nl_cache *links = NULL;
	if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0)
		return vc_nl_error(err, r, "netns %s: list links", path);
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		/* A tun device has carrier while a process holds a queue of it. */
		if (netns_is_tap_name(name) && (rtnl_link_get_flags(l) & IFF_LOWER_UP)) {
			snprintf(tap, len, "%s", name);
			return 1;
		}
	}
	return 0;
}

/* ---- teardown -------------------------------------------------------------- */

/* Removes vcrun's filters from the ingress hook of one interface, and the ingress
 * qdisc too when they were the last filters on it. */
static int drop_filters(struct nl_sock *sk, const char *path, struct rtnl_qdisc *q, const char *dev,
			struct vc_error *err)
{
	int ifindex = rtnl_tc_get_ifindex(TC_CAST(q));
	_cleanup_nlcache_ struct nl_cache *cls = NULL;
	int r = rtnl_cls_alloc_cache(sk, ifindex, INGRESS_PARENT, &cls);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list the ingress filters of %s", path, dev);
	size_t ours = 0, others = 0;
	for (struct nl_object *o = nl_cache_get_first(cls); o; o = nl_cache_get_next(o)) {
		if (rtnl_cls_get_prio((struct rtnl_cls *)o) == VC_NETNS_TC_PRIO)
			ours++;
		else
			others++;
	}
	if (!ours)
		return 0;
	_cleanup_nlobject_ struct rtnl_cls *del = rtnl_cls_alloc();
	if (!del)
		return vc_error_set(err, ENOMEM, "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(del), ifindex);
	rtnl_tc_set_parent(TC_CAST(del), INGRESS_PARENT);
	rtnl_cls_set_prio(del, VC_NETNS_TC_PRIO);
	rtnl_cls_set_protocol(del, ETH_P_ALL);
	/* handle 0 with a priority: the kernel drops the whole priority */
	r = rtnl_cls_delete(sk, del, 0);
	if (r < 0 && r != -NLE_OBJ_NOTFOUND)
		return vc_nl_error(err, r, "netns %s: delete vcrun's filter on %s", path, dev);
	const char *kind = rtnl_tc_get_kind(TC_CAST(q));
	if (others || !kind || strcmp(kind, "ingress"))
		return 0;
	r = rtnl_qdisc_delete(sk, q);
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL)
		return vc_nl_error(err, r, "netns %s: delete the ingress qdisc of %s", path, dev);
	return 0;
}

/* One interface's part of the teardown: its tap (a tun device of that name only),
 * and vcrun's filters on the interface (which may be gone: fine). */
static int undo_one(struct nl_sock *sk, const char *path, const char *ifname, int ifindex,
		    const char *tap, struct vc_error *err)
{
	_cleanup_nlobject_ struct rtnl_link *t = NULL;
	int r = rtnl_link_get_kernel(sk, 0, tap, &t);
	const char *type = r == 0 ? rtnl_link_get_type(t) : NULL;
	if (r == 0 && type && !strcmp(type, "tun")) {
		r = rtnl_link_delete(sk, t);
		if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
			return vc_nl_error(err, r, "netns %s: delete tap %s", path, tap);
	}
	_cleanup_nlcache_ struct nl_cache *qdiscs = NULL;
	r = rtnl_qdisc_alloc_cache(sk, &qdiscs);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list qdiscs", path);
	struct rtnl_qdisc *q = rtnl_qdisc_get_by_parent(qdiscs, ifindex, TC_H_INGRESS);
	if (!q)
		return 0;
	r = drop_filters(sk, path, q, ifname, err);
	rtnl_qdisc_put(q);
	return r;
}

int vc_netns_teardown(const char *path, struct vc_error *err)
{
	/* gone already (unpinned, or the process whose namespace it was exited) */
	struct statfs sfs;
	if (statfs(path, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
		return 0;
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	int r = netns_route_socket(path, &sk, err);
	if (r < 0)
		return r;
	_cleanup_nlcache_ struct nl_cache *links = NULL;
	_cleanup_nlcache_ struct nl_cache *qdiscs = NULL;
	r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list links", path);
	r = rtnl_qdisc_alloc_cache(sk, &qdiscs);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: list qdiscs", path);
	/* keep going after an error, and report the first one */
	int first = 0;
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		const char *type = rtnl_link_get_type(l);
		struct vc_error e = {0};
		r = 0;
		if (netns_is_tap_name(name) && type && !strcmp(type, "tun")) {
			r = rtnl_link_delete(sk, l);
			if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
				r = 0;
			if (r < 0)
				r = vc_nl_error(&e, r, "netns %s: delete tap %s", path, name);
		} else {
			struct rtnl_qdisc *q = rtnl_qdisc_get_by_parent(
				qdiscs, rtnl_link_get_ifindex(l), TC_H_INGRESS);
			if (q) {
				r = drop_filters(sk, path, q, name, &e);
				rtnl_qdisc_put(q);
			}
		}
		if (r < 0 && !first) {
			first = r;
			if (err)
				*err = e;
		}
	}
	return first;
}
