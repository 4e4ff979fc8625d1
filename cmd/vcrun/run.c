/* vcrun run ID: create + start; in the foreground it waits for the process, deletes
 * the container and exits with the process's status. */
#include <string.h>
#include <sys/wait.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "lib/log.h"

static struct vc_create_opts opts;
static bool no_subreaper;

static const struct vc_option run_options[] = {
	VC_OPTION_BUNDLE(&opts.bundle),
	VC_OPTION_CONSOLE_SOCKET(&opts.console_socket),
	{"detach, d", VC_OPT_BOOL, &opts.detach, "detach from the container's process", NULL},
	{"keep", VC_OPT_BOOL, &opts.keep, "do not delete the container after it exits", NULL},
	VC_OPTION_PID_FILE(&opts.pid_file),
	{"no-subreaper", VC_OPT_BOOL, &no_subreaper,
	 "disable the use of the subreaper used to reap reparented processes", NULL},
	VC_OPTION_NO_PIVOT(&opts.no_pivot),
	VC_OPTION_NO_NEW_KEYRING(&opts.no_new_keyring),
	VC_OPTION_PRESERVE_FDS(&opts.preserve_fds),
	{NULL},
};

static int run_run(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *pid_file = NULL;
	int r = vc_cli_create_prepare(&opts, &pid_file);
	if (r < 0)
		return vc_cli_fail("vcrun run failed: --pid-file %s: %s", opts.pid_file,
				   strerror(-r));
	/* The process's reparented children live in the guest, so there is nothing
	 * for a host subreaper to reap either way. */
	int status = 0;
	vc_cli_debug_create_opts(&opts);
	opts.run = true;
	pid_t pid = 0;
	if (vc_cli_create(cli, args[0], &opts, &pid, &err) < 0)
		return vc_cli_fail("vcrun run failed: %s", err.msg);
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	struct vc_error derr = {0};
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_start_container(sb, args[0], &err) < 0) {
		if (sb)
			vc_sandbox_delete_container(sb, args[0], true, &derr);
		waitpid(pid, NULL, 0);
		return vc_cli_fail("vcrun run failed: %s", err.msg);
	}
	if (!opts.detach) {
		status = vc_container_wait(pid);
		if (!opts.keep && vc_sandbox_delete_container(sb, args[0], true, &derr) < 0)
			vc_warn("delete %s: %s", args[0], derr.msg);
	}
	if (opts.detach || opts.keep)
		vc_cli_debug_created(cli, args[0]);
	return status;
}

const struct vc_command vc_cmd_run = {
	.name = "run",
	.usage = "create and run a container",
	.args_usage = vc_cli_create_args_usage,
	.description = vc_cli_create_description,
	.options = run_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_run,
};
