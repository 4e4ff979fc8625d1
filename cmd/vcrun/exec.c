/* vcrun exec [options] ID COMMAND [ARGS...] | vcrun exec -p process.json ID:
 * a new process in a running container, with runc's options. */
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "lib/log.h"

static struct vc_exec_opts opts;
static const char *process_label, *apparmor;
static bool ignore_paused;

static const struct vc_option exec_options[] = {
	VC_OPTION_CONSOLE_SOCKET(&opts.console_socket),
	{"cwd", VC_OPT_STRING, &opts.cwd, "current working directory in the container", NULL},
	{"env, e", VC_OPT_STRV, &opts.env, "set environment variables", NULL},
	{"tty, t", VC_OPT_BOOL, &opts.tty, "allocate a pseudo-TTY", NULL},
	{"user, u", VC_OPT_STRING, &opts.user, "UID (format: <uid>[:<gid>])", NULL},
	{"additional-gids, g", VC_OPT_STRV, &opts.additional_gids, "additional gids", NULL},
	{"process, p", VC_OPT_STRING, &opts.process_file, "path to the process.json", NULL},
	{"detach, d", VC_OPT_BOOL, &opts.detach, "detach from the container's process", NULL},
	VC_OPTION_PID_FILE(&opts.pid_file),
	{"process-label", VC_OPT_STRING, &process_label,
	 "set the asm process label for the process commonly used with selinux", NULL},
	{"apparmor", VC_OPT_STRING, &apparmor, "set the apparmor profile for the process", NULL},
	{"no-new-privs", VC_OPT_BOOL, &opts.no_new_privs,
	 "set the no new privileges value for the process", NULL},
	{"cap, c", VC_OPT_STRV, &opts.caps, "add a capability to the bounding set for the process",
	 NULL},
	VC_OPTION_PRESERVE_FDS(&opts.preserve_fds),
	{"cgroup", VC_OPT_STRV, &opts.cgroups,
	 "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.",
	 NULL},
	{"ignore-paused", VC_OPT_BOOL, &ignore_paused, "allow exec in a paused container", NULL},
	{NULL},
};

/* runc's exec ends every failure after the usage checks with fatalWithCode(255). */
static int exec_fail(const char *msg)
{
	vc_cli_fail("exec failed: %s", msg);
	return 255;
}

static int run_exec(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	if (!opts.process_file && nargs < 2)
		return exec_fail("exec args cannot be empty");
	opts.args = args + 1;
	/* Labels are the host's LSMs; the guest has its own kernel and none of them. */
	if (process_label || apparmor)
		vc_warn("--process-label and --apparmor have no effect in a VM's guest kernel");
	int status = 0;
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_exec(sb, args[0], &opts, NULL, &status, &err) < 0)
		return exec_fail(err.msg);
	return status;
}

const struct vc_command vc_cmd_exec = {
	.name = "exec",
	.usage = "execute new process inside the container",
	.args_usage = "<container-id> <command> [command options]  || -p process.json "
		      "<container-id>\n\n"
		      "Where \"<container-id>\" is the name for the instance of the container "
		      "and\n\"<command>\" is the command to be executed in the container.\n"
		      "\"<command>\" can't be empty unless a \"-p\" flag provided.",
	.description = "The exec command runs a new process inside a running container: "
		       "in its VM, in its namespaces, with its own stand-in on the host.",
	.options = exec_options,
	.min_args = 1,
	.max_args = -1,
	.no_reorder = true,
	.run = run_exec,
};
