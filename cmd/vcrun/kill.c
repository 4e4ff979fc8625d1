/* vcrun kill [--all] ID [SIGNAL]: SIGTERM unless told otherwise. */
#include <signal.h>
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/util.h"

static bool all;

static const struct vc_option kill_options[] = {
	{"all, a", VC_OPT_BOOL, &all,
	 "send the specified signal to all processes inside the container", NULL},
	{NULL},
};

static int run_kill(struct vc_cli *cli, int nargs, char **args)
{
	const char *name = nargs > 1 ? args[1] : "SIGTERM";
	/* Signal 0 probes for the process, as kill(2) does; runc passes it through. */
	int sig = !strcmp(name, "0") ? 0 : vc_signal_parse(name);
	if (sig < 0)
		return vc_cli_fail("unknown signal \"%s\"", name);
	struct vc_error err = {0};
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_kill_container(sb, args[0], sig, all, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_kill = {
	.name = "kill",
	.usage = "kill sends the specified signal (default: SIGTERM) to the container's init "
		 "process",
	.args_usage = "<container-id> [signal]\n\n"
		      "Where \"<container-id>\" is the name for the instance of the container and\n"
		      "\"[signal]\" is the signal to be sent to the init process: a name (KILL,\n"
		      "SIGKILL) or a number.",
	.options = kill_options,
	.min_args = 1,
	.max_args = 2,
	.run = run_kill,
};
