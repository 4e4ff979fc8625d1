/* common/rootless.h: runc's rule on fake /proc/self/uid_map text. */
#include <string.h>

#include "common/rootless.h"
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

VC_TESTS(VC_T(initial_map_is_not_rootless), VC_T(root_in_podmans_namespace_is_rootless),
	 VC_T(non_zero_euid_is_rootless))
