/* vcrun create ID: boots (or joins) the sandbox VM and creates the container in
 * it, leaving its process created but not started. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "lib/log.h"

const char vc_cli_create_args_usage[] =
	"<container-id>\n\n"
	"Where \"<container-id>\" is your name for the instance of the container that you\n"
	"are starting. The name you provide for the container instance must be unique on\n"
	"your host.";

const char vc_cli_create_description[] =
	"The bundle is a directory with a specification file named \"config.json\" and a\n"
	"root filesystem. The container runs inside its own virtual machine; the process\n"
	"whose pid goes to --pid-file is a host stand-in that carries its stdio and exits\n"
	"with its status.";

int vc_cli_create_prepare(struct vc_create_opts *opts, char **pid_file_abs)
{
	*pid_file_abs = NULL;
	if (!opts->pid_file)
		return 0;
	*pid_file_abs = vc_cli_abspath(opts->pid_file);
	if (!*pid_file_abs)
		return -errno;
	opts->pid_file = *pid_file_abs;
	return 0;
}

void vc_cli_debug_create_opts(const struct vc_create_opts *opts)
{
	vc_debug("bundle %s, pid file %s, console socket %s%s", opts->bundle ? opts->bundle : ".",
		 opts->pid_file ? opts->pid_file : "(none)",
		 opts->console_socket ? opts->console_socket : "(none)",
		 opts->detach ? ", detached" : "");
}

int vc_cli_create(const struct vc_cli *cli, const char *id, const struct vc_create_opts *opts,
		  pid_t *pid, struct vc_error *err)
{
	struct vc_container_config *cfg = NULL;
	int r = vc_container_config_load(&cli->ctx, id, opts, &cfg, err);
	if (r < 0)
		return r;
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	const char *joins = vc_container_config_sandbox(cfg);
	if (!joins)
		r = vc_sandbox_create(&cli->ctx, cfg, &sb, pid, err);
	else if ((r = vc_sandbox_open(&cli->ctx, joins, &sb, err)) == 0)
		r = vc_sandbox_create_container(sb, cfg, pid, err);
	else
		r = vc_error_wrap(err, "sandbox %s", joins);
	vc_container_config_free(cfg);
	return r;
}

static struct vc_create_opts opts;

static const struct vc_option create_options[] = {
	VC_OPTION_BUNDLE(&opts.bundle),
	VC_OPTION_CONSOLE_SOCKET(&opts.console_socket),
	VC_OPTION_PID_FILE(&opts.pid_file),
	VC_OPTION_NO_PIVOT(&opts.no_pivot),
	VC_OPTION_NO_NEW_KEYRING(&opts.no_new_keyring),
	VC_OPTION_PRESERVE_FDS(&opts.preserve_fds),
	{NULL},
};

void vc_cli_debug_created(const struct vc_cli *cli, const char *id)
{
	/* The VM's boot is the monitor's: it logs to --log, or else to its state dir,
	 * since it outlives this call and must not hold the caller's stderr. */
	if (vc_log_path())
		vc_debug("container %s created; its monitor logs to %s too", id, vc_log_path());
	else
		vc_debug("container %s created; its monitor logs to %s/%s/monitor.log", id,
			 cli->ctx.root, id);
}

static int run_create(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *pid_file = NULL;
	int r = vc_cli_create_prepare(&opts, &pid_file);
	if (r < 0)
		return vc_cli_fail("vcrun create failed: --pid-file %s: %s", opts.pid_file,
				   strerror(-r));
	vc_cli_debug_create_opts(&opts);
	pid_t pid = 0;
	if (vc_cli_create(cli, args[0], &opts, &pid, &err) < 0)
		return vc_cli_fail("vcrun create failed: %s", err.msg);
	vc_cli_debug_created(cli, args[0]);
	return 0;
}

const struct vc_command vc_cmd_create = {
	.name = "create",
	.usage = "create a container",
	.args_usage = vc_cli_create_args_usage,
	.description = vc_cli_create_description,
	.options = create_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_create,
};
