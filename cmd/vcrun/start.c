/* vcrun start ID: runs the user process of a created container. */
#include "cmd/vcrun/commands.h"

static const struct vc_option start_options[] = {{NULL}};

static int run_start(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_start_container(sb, args[0], &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_start = {
	.name = "start",
	.usage = "executes the user defined process in a created container",
	.args_usage =
		"<container-id>\n\n"
		"Where \"<container-id>\" is your name for the instance of the container that\n"
		"you are starting.",
	.description = "The start command executes the user defined process in a created "
		       "container.",
	.options = start_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_start,
};
