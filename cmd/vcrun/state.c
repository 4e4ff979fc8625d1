/* vcrun state ID: the container's state as runc prints it (indented JSON). */
#include <stdio.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"

static const struct vc_option state_options[] = {{NULL}};

static int run_state(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *json = NULL;
	if (vc_container_state_json(&cli->ctx, args[0], &json, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	/* runc writes the document without a trailing newline. */
	fputs(json, stdout);
	return fflush(stdout) == 0 ? 0 : vc_cli_fail("write state: %m");
}

const struct vc_command vc_cmd_state = {
	.name = "state",
	.usage = "output the state of a container",
	.args_usage = "<container-id>\n\n"
		      "Where \"<container-id>\" is your name for the instance of the container.",
	.description = "The state command outputs current state information for the\n"
		       "instance of a container.",
	.options = state_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_state,
};
