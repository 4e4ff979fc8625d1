/* vcrun delete [--force] ID: removes the container; with --force from any state,
 * and an id that does not exist is not an error. */
#include <errno.h>

#include "cmd/vcrun/commands.h"

static bool force;

static const struct vc_option delete_options[] = {
	{"force, f", VC_OPT_BOOL, &force,
	 "Forcibly deletes the container if it is still running (uses SIGKILL)", NULL},
	{NULL},
};

static int run_delete(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	int r = vc_sandbox_open(&cli->ctx, args[0], &sb, &err);
	if (r == 0)
		r = vc_sandbox_delete_container(sb, args[0], force, &err);
	/* runc: `delete --force` of a container that does not exist succeeds. */
	if (r < 0 && !(force && r == -ENOENT))
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_delete = {
	.name = "delete",
	.usage = "delete any resources held by the container often used with detached container",
	.args_usage =
		"<container-id>\n\n"
		"Where \"<container-id>\" is the name for the instance of the container.\n"
		"Deleting a container stops its virtual machine when it is the last one in it.",
	.options = delete_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_delete,
};
