/* See tap.h. */
#include "common/tap.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

int vc_tap_attach(int tun_fd, const char *name, bool vnet_hdr)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0)};
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(tun_fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	/* Only the persistent taps vcrun made are meant. */
	if (ioctl(tun_fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_PERSIST))
		return -ENOENT;
	return 0;
}
