/* Attaching to a persistent tap that netns/ made: one spelling for the host's two
 * openers (netns/'s fd-passing child and hv/'s confined QEMU). */
#ifndef VC_COMMON_TAP_H
#define VC_COMMON_TAP_H

#include <stdbool.h>

/* TUNSETIFF on tun_fd (an open /dev/net/tun; the namespace it was opened in is the
 * one searched) as a tap without packet info, with IFF_VNET_HDR when vnet_hdr, as
 * QEMU attaches. 0, or -errno: -ENOENT when no persistent tap has the name
 * (TUNSETIFF would have made a fresh one, which goes with the fd). */
int vc_tap_attach(int tun_fd, const char *name, bool vnet_hdr);

#endif
