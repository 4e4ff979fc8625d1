/* vcrun ps [--format table|json] ID: the container's processes, as pids the guest
 * sees (they live in the VM: the host's ps knows nothing of them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"

static const char *format = "table";

static const struct vc_option ps_options[] = {
	{"format, f", VC_OPT_STRING, &format, "select one of: table or json", "table"},
	{NULL},
};

static int run_ps(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	if (strcmp(format, "table") && strcmp(format, "json"))
		return vc_cli_fail("invalid format option");
	if (nargs > 1)
		return vc_cli_fail("ps options are not supported: the processes are in the "
				   "container's VM");
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (vc_container_ps(&cli->ctx, args[0], &pids, &n, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
	} else {
		printf("PID\n");
		for (size_t i = 0; i < n; i++)
			printf("%d\n", (int)pids[i]);
	}
	return 0;
}

const struct vc_command vc_cmd_ps = {
	.name = "ps",
	.usage = "ps displays the processes running inside a container",
	.args_usage = "<container-id> [ps options]",
	.description = "The ps command lists the container's processes by their pids in the "
		       "guest.",
	.options = ps_options,
	.min_args = 1,
	.max_args = -1,
	.no_reorder = true,
	.run = run_ps,
};
