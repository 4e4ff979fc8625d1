/* vcrun plan [--bundle DIR]: what create would do, as JSON, doing none of it. */
#include <stdio.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"

static const char *bundle;

static const struct vc_option plan_options[] = {
	VC_OPTION_BUNDLE(&bundle),
	{NULL},
};

static int run_plan(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *json = NULL;
	if (vc_plan_describe(&cli->ctx, bundle, &json, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	printf("%s\n", json);
	return 0;
}

const struct vc_command vc_cmd_plan = {
	.name = "plan",
	.usage = "print what create would do with a bundle, without doing it",
	.args_usage = "",
	.description =
		"The plan command prints, as JSON, the spec after CDI edits, the VFIO groups and\n"
		"devices found and what would be bound and where each goes in the guest, the\n"
		"network interfaces found, and the hypervisor's command line. VCRUN_SYSFS_ROOT "
		"and\n"
		"VCRUN_DEV_ROOT point the VFIO part at another tree.",
	.options = plan_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_plan,
};
