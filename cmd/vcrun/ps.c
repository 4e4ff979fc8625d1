/* vcrun ps [--format table|json] ID [ps options]: the container's processes. They
 * live in the VM, so the host's ps knows nothing of them: the table is procps' own,
 * built from what the guest reports (lib/ps.h), with the pids the guest sees. */
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
	if (!strcmp(format, "json")) {
		/* runc encodes the pid list before it looks at ps's options. */
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		if (vc_container_ps(&cli->ctx, args[0], &pids, &n, &err) < 0)
			return vc_cli_fail("%s", err.msg);
		/* runc's nil slice once the container has stopped */
		if (n == 0)
			printf("null");
		else
			printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("%s\n", n ? "]" : "");
	} else if (!strcmp(format, "table")) {
		_cleanup_free_ char *table = NULL;
		if (vc_container_ps_table(&cli->ctx, args[0], args + 1, &table, &err) < 0)
			return vc_cli_fail("%s", err.msg);
		fputs(table, stdout);
	} else {
		/* runc lists the processes first: a missing container is named first */
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		if (vc_container_ps(&cli->ctx, args[0], &pids, &n, &err) < 0)
			return vc_cli_fail("%s", err.msg);
		return vc_cli_fail("invalid format option");
	}
	if (fflush(stdout) != 0)
		return vc_cli_fail("write: %m");
	return 0;
}

const struct vc_command vc_cmd_ps = {
	.name = "ps",
	.usage = "ps displays the processes running inside a container",
	.args_usage = "<container-id> [ps options]",
	.description = "The ps command prints procps' table for the container's processes, "
		       "as the guest sees them (pids, times, users); the options known are "
		       "-e, -A, -f, -o LIST and a, u, x, e, w (default -ef).",
	.options = ps_options,
	.min_args = 1,
	.max_args = -1,
	.no_reorder = true,
	.run = run_ps,
};
