/* common/rootless.h: runc's rule on fake /proc/self/uid_map text; and the ownership test
 * behind the rootless refusal of a foreign network namespace (netns/netns.h). */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/rootless.h"
#include "netns/netns.h"
#include "tests/unit/unit.h"

VC_TEST(initial_map_is_not_rootless)
{
	char why[128];
	CHECK(vc_uid_map_is_initial("         0          0 4294967295\n"));
	CHECK(vc_uid_map_is_initial("0 0 4294967295"));
	CHECK(vc_uid_map_is_initial("")); /* no user namespaces in the kernel */
	CHECK(vc_uid_map_is_initial(NULL));
	CHECK(!vc_rootless_decide(0, "         0          0 4294967295\n", why, sizeof(why)));
	CHECK_CONTAINS(why, "initial user namespace");
}

VC_TEST(root_in_podmans_namespace_is_rootless)
{
	char why[128];
	/* rootless podman: the user as 0, then its subuid range */
	const char *map = "         0       1000          1\n         1     100000      65536\n";
	CHECK(!vc_uid_map_is_initial(map));
	CHECK(vc_rootless_decide(0, map, why, sizeof(why)));
	CHECK_CONTAINS(why, "inside a user namespace");
	CHECK_CONTAINS(why, "1000");
	/* a whole-range map that does not start at 0 is a namespace too */
	CHECK(!vc_uid_map_is_initial("0 1 4294967294\n"));
	CHECK(!vc_uid_map_is_initial("garbage"));
	CHECK(vc_rootless_decide(0, "garbage", NULL, 0));
}

VC_TEST(non_zero_euid_is_rootless)
{
	char why[128];
	CHECK(vc_rootless_decide(1000, "         0          0 4294967295\n", why, sizeof(why)));
	CHECK_CONTAINS(why, "euid 1000");
	CHECK(vc_rootless_decide(1000, NULL, NULL, 0));
}

/* The refusal's test of ownership: this process's own network namespace is its
 * own; from a new user namespace (what rootless podman gives), the host's is not,
 * and the error names the path. Needs root for the first half only. */
VC_TEST(netns_ownership)
{
	struct vc_error err = {0};
	CHECK(vc_netns_check_owned("/proc/self/ns/net", &err) == 0);
	int pid = fork();
	if (pid == 0) {
		struct vc_error e = {0};
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(2);
		int r = vc_netns_check_owned("/proc/1/ns/net", &e);
		_exit(r == -EPERM || r == -EACCES ? (strstr(e.msg, "/proc/1/ns/net") ? 0 : 3) : 4);
	}
	CHECK(vc_unit_reap(pid) == 0);
}

VC_TESTS(VC_T(netns_ownership), VC_T(initial_map_is_not_rootless),
	 VC_T(root_in_podmans_namespace_is_rootless), VC_T(non_zero_euid_is_rootless))
