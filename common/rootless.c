/* Rootless detection (common/rootless.h). runc's userns.RunningInUserNS reads the
 * first line of /proc/self/uid_map: anything but "0 0 4294967295" is a namespace
 * some user made, whose root is not the host's. */
#include "common/rootless.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

bool vc_uid_map_is_initial(const char *text)
{
	if (!text || !*text)
		return true;
	unsigned long long in, out, len;
	if (sscanf(text, "%llu %llu %llu", &in, &out, &len) != 3)
		return false; /* not the kernel's identity map, whatever it is */
	return in == 0 && out == 0 && len == 4294967295ull;
}

bool vc_rootless_decide(uid_t euid, const char *uid_map, char *why, size_t why_len)
{
	char dummy[8];
	if (!why) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	if (euid != 0) {
		snprintf(why, why_len, "euid %u is not 0", (unsigned)euid);
		return true;
	}
	if (!vc_uid_map_is_initial(uid_map)) {
		/* the first line, its columns' padding squeezed */
		char first[64] = "";
		size_t o = 0;
		for (const char *p = uid_map; *p && *p != '\n' && o + 1 < sizeof(first); p++)
			if (*p != ' ' || (o && first[o - 1] != ' '))
				first[o++] = *p;
		first[o] = '\0';
		snprintf(why, why_len, "euid 0 inside a user namespace (uid_map \"%s\")", first);
		return true;
	}
	snprintf(why, why_len, "euid 0 in the initial user namespace");
	return false;
}

bool vc_rootless(char *why, size_t why_len)
{
	static int known = -1;
	static char reason[128];
	if (known < 0) {
		_cleanup_free_ char *map = NULL;
		size_t len = 0;
		/* Unreadable: no user namespaces in this kernel, so the initial one. */
		if (vc_read_file("/proc/self/uid_map", 1 << 16, &map, &len, NULL) < 0)
			map = NULL;
		known = vc_rootless_decide(geteuid(), map, reason, sizeof(reason));
	}
	if (why)
		snprintf(why, why_len, "%s", reason);
	return known;
}

const char *vc_host_run_dir(void)
{
	static char *dir;
	if (!vc_rootless(NULL, 0))
		return VC_ROOTFUL_RUN_DIR;
	if (!dir) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		/* runc falls back to /run/runc there, and fails on it as we will */
		if (!xdg || !*xdg)
			return VC_ROOTFUL_RUN_DIR;
		dir = vc_strdup_printf("%s/vcrun", xdg);
	}
	return dir;
}

char *vc_default_root(char *why, size_t why_len)
{
	char r[128];
	bool rootless = vc_rootless(r, sizeof(r));
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (why)
		snprintf(why, why_len, "%s: %s%s", rootless ? "rootless" : "not rootless", r,
			 rootless && (!xdg || !*xdg) ? "; $XDG_RUNTIME_DIR is not set" : "");
	return strdup(vc_host_run_dir());
}
