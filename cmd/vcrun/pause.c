/* vcrun pause ID / vcrun resume ID: freeze and thaw the container's processes. */
#include "cmd/vcrun/commands.h"

static const struct vc_option no_options[] = {{NULL}};

static int run_pause(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_pause_container(sb, args[0], &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

static int run_resume(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_resume_container(sb, args[0], &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_pause = {
	.name = "pause",
	.usage = "pause suspends all processes inside the container",
	.args_usage = "<container-id>\n\nWhere \"<container-id>\" is the name for the instance "
		      "of the container to be paused.",
	.description = "The pause command suspends all processes in the instance of the "
		       "container (in its VM's cgroup freezer).",
	.options = no_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_pause,
};

const struct vc_command vc_cmd_resume = {
	.name = "resume",
	.usage = "resumes all processes that have been previously paused",
	.args_usage = "<container-id>\n\nWhere \"<container-id>\" is the name for the instance "
		      "of the container to be resumed.",
	.description = "The resume command resumes all processes in the instance of the "
		       "container.",
	.options = no_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_resume,
};
