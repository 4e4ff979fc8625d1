/* Private to netns/ (and its unit test): the fd-passing child and libnl glue. */
#ifndef VC_NETNS_INTERNAL_H
#define VC_NETNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct nl_sock;
struct nl_addr;

enum netns_fd_kind {
	NETNS_FD_ROUTE, /* a bound NETLINK_ROUTE socket */
	NETNS_FD_TUN,	/* /dev/net/tun, not attached yet */
	NETNS_FD_NS,	/* the namespace itself (/proc/self/ns/net) */
	NETNS_FD_UDP4,	/* an unbound, unconnected AF_INET datagram socket */
};
#define NETNS_MAX_FDS 8

/* Forks a child that joins the namespace at path (NULL: unshares a new one),
 * opens one fd of each kind there and sends them back; the child exits at once.
 * fds[] gets n close-on-exec fds, or nothing on failure. */
int netns_open_fds(const char *path, const enum netns_fd_kind *kinds, size_t n, int *fds,
		   struct vc_error *err);

/* A libnl socket whose operations act inside the namespace at path. */
int netns_route_socket(const char *path, struct nl_sock **out, struct vc_error *err);

/* "tap<N>_vc" with N < 1000: a name vc_netns_tap_setup makes. */
bool netns_is_tap_name(const char *name);

/* Text of an address without its prefix ("10.0.0.2", "fd00::1"); "" on failure. */
void netns_addr_text(const struct nl_addr *a, char *buf, size_t len);
/* "02:42:ac:11:00:02"; "" unless a is a 6-byte link-layer address. */
void netns_mac_text(const struct nl_addr *a, char *buf, size_t len);

#endif
