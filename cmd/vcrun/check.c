/* vcrun check: what this host offers vcrun, one line per capability:
 *   NAME: usable (detail)     or     NAME: not usable: why
 * then the accelerator and agent channel vcrun will use. A missing capability is
 * an answer, not a failure: the status is 0 whenever the report could be made.
 * VCRUN_SYSFS_ROOT and VCRUN_DEV_ROOT point the IOMMU/VFIO and vhost-vsock checks
 * at another tree (a fake one in tests); the KVM probe always uses the real one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/vcrun/commands.h"

static const struct vc_option check_options[] = {{NULL}};

static int run_check(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_host_check c;
	vc_host_check(&cli->ctx, &c);
	for (size_t i = 0; i < c.n; i++) {
		if (c.items[i].usable)
			printf("%s: usable (%s)\n", c.items[i].name, c.items[i].detail);
		else
			printf("%s: not usable: %s\n", c.items[i].name, c.items[i].detail);
	}
	printf("rootless: %s (%s)\n", c.rootless ? "yes" : "no", c.rootless_why);
	printf("accelerator: %s\nagent channel: %s\nguest kernel: %s\n", c.accel, c.channel,
	       c.kernel);
	if (fflush(stdout) != 0)
		return vc_cli_fail("write: %s", strerror(errno));
	return 0;
}

const struct vc_command vc_cmd_check = {
	.name = "check",
	.usage = "report what this host offers vcrun (KVM, vhost-vsock, IOMMU, VFIO)",
	.description =
		"The check command prints one line per capability, \"NAME: usable (detail)\" or\n"
		"\"NAME: not usable: why\", for KVM (a test guest must really run), vhost-vsock,\n"
		"the IOMMU and VFIO, then the accelerator, the agent channel and the guest kernel\n"
		"(debian, lean or a configured path) vcrun will use.\n"
		"It exits 0 whenever the report could be made, whatever it found.\n"
		"VCRUN_SYSFS_ROOT and VCRUN_DEV_ROOT replace /sys and /dev for the IOMMU, VFIO\n"
		"and vhost-vsock checks.",
	.options = check_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_check,
};
