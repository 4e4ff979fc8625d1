/* Interfaces that appear in the namespace after the VM started (a CNI plugin that
 * runs late, `podman network connect`), their address changes and their removal:
 * the monitor hot-plugs a NIC for such an interface, configures it again when its
 * addresses change, and unplugs it when it goes. */
#include "netns/netns.h"

#include <errno.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <linux/if_addr.h>
#include <net/if_arp.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/nl.h"
#include "netns/internal.h"

struct vc_netns_watch {
	struct nl_sock *sk;
	vc_netns_link_fn fn;
	void *ctx;
	enum vc_netns_link_event ev; /* of the message being parsed */
};

int vc_netns_watch_open(const char *path, struct vc_netns_watch **out, struct vc_error *err)
{
	_cleanup_free_ struct vc_netns_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = netns_route_socket(path, &w->sk, err);
	if (r < 0)
		return r;
	/* Notifications carry no sequence number of ours. */
	nl_socket_disable_seq_check(w->sk);
	if ((r = nl_socket_add_memberships(w->sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					   RTNLGRP_IPV6_IFADDR, 0)) < 0 ||
	    (r = nl_socket_set_nonblocking(w->sk)) < 0) {
		r = vc_nl_error(err, r, "netns %s: watch links", path);
		nl_socket_free(w->sk);
		return r;
	}
	*out = steal_ptr(w);
	return 0;
}

int vc_netns_watch_fd(const struct vc_netns_watch *w)
{
	return nl_socket_get_fd(w->sk);
}

static void on_object(struct nl_object *obj, void *arg)
{
	struct vc_netns_watch *w = arg;
	struct rtnl_link *l = (struct rtnl_link *)obj;
	const char *name = rtnl_link_get_name(l);
	if (rtnl_link_get_arptype(l) != ARPHRD_ETHER || !name || netns_is_tap_name(name))
		return;
	w->fn(w->ctx, rtnl_link_get_ifindex(l), name, w->ev);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct vc_netns_watch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
		w->ev = h->nlmsg_type == RTM_NEWLINK ? VC_NETNS_LINK_NEW : VC_NETNS_LINK_GONE;
		nl_msg_parse(msg, on_object, arg);
	} else if ((h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) &&
		   nlmsg_valid_hdr(h, sizeof(struct ifaddrmsg))) {
		/* Only the index: the monitor knows the interfaces it cares about. */
		const struct ifaddrmsg *ifa = nlmsg_data(h);
		w->fn(w->ctx, (int)ifa->ifa_index, NULL, VC_NETNS_LINK_ADDR);
	}
	return NL_OK;
}

void vc_netns_watch_read(struct vc_netns_watch *w, vc_netns_link_fn fn, void *ctx)
{
	w->fn = fn;
	w->ctx = ctx;
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, w);
	/* Non-blocking: returns once the queue is empty (or overran: the next event
	 * still tells). */
	while (nl_recvmsgs_default(w->sk) == 0)
		;
}

void vc_netns_watch_close(struct vc_netns_watch *w)
{
	if (!w)
		return;
	nl_socket_free(w->sk);
	free(w);
}
