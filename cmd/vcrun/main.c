/* vcrun's entry point: the global options, the commands[] table, help and version
 * pages, and the hidden re-exec modes of libvcrun. Behaviour users and engines see
 * (messages, streams, exit codes) follows runc 1.1.5 and its urfave/cli v1. */
#include <errno.h>
#include <libgen.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "lib/log.h"

#ifndef VC_GIT_COMMIT
#define VC_GIT_COMMIT "unknown"
#endif

#define APP_NAME "vcrun"

static const char app_usage[] =
	"Open Container Initiative runtime that runs each container in a virtual machine\n"
	"\n"
	"vcrun is a command line client for running applications packaged according to\n"
	"the Open Container Initiative (OCI) format. It takes runc's commands and options,\n"
	"and runs every container inside its own lightweight virtual machine, so that\n"
	"container engines can use it in runc's place.\n"
	"\n"
	"Containers are configured using bundles: a directory holding a specification\n"
	"file named \"config.json\" and a root filesystem.\n"
	"\n"
	"To start a new instance of a container:\n"
	"\n"
	"    # vcrun run [ -b bundle ] <container-id>\n"
	"\n"
	"Where \"<container-id>\" is your name for the instance of the container, unique\n"
	"on this host. The bundle directory defaults to the current directory.";

static const struct vc_command *const commands[] = {
	&vc_cmd_cdi,	  &vc_cmd_check,   &vc_cmd_checkpoint, &vc_cmd_create,	&vc_cmd_delete,
	&vc_cmd_events,	  &vc_cmd_exec,	   &vc_cmd_features,   &vc_cmd_kill,	&vc_cmd_list,
	&vc_cmd_pause,	  &vc_cmd_plan,	   &vc_cmd_ps,	       &vc_cmd_restore, &vc_cmd_resume,
	&vc_cmd_run,	  &vc_cmd_sandbox, &vc_cmd_spec,       &vc_cmd_start,	&vc_cmd_state,
	&vc_cmd_template, &vc_cmd_update,
};

static const char help_usage[] = "Shows a list of commands or help for one command";

static struct {
	bool debug, systemd_cgroup, help, version;
	const char *log, *log_format, *root, *criu, *rootless;
} global;

static char root_default_help[4200];

static const struct vc_option global_options[] = {
	{"debug", VC_OPT_BOOL, &global.debug, "enable debug logging", NULL},
	{"log", VC_OPT_STRING, &global.log,
	 "set the log file to write vcrun logs to (default is '/dev/stderr')", NULL},
	{"log-format", VC_OPT_STRING, &global.log_format,
	 "set the log format ('text' (default), or 'json')", "\"text\""},
	{"root", VC_OPT_STRING, &global.root,
	 "root directory for storage of container state (this should be located in tmpfs)",
	 root_default_help},
	{"criu", VC_OPT_STRING, &global.criu,
	 "accepted for compatibility; checkpoint and restore are not supported", "\"criu\""},
	{"systemd-cgroup", VC_OPT_BOOL, &global.systemd_cgroup,
	 "enable systemd cgroup support, expects cgroupsPath to be of form "
	 "\"slice:prefix:name\" for e.g. \"system.slice:vcrun:434234\"",
	 NULL},
	{"rootless", VC_OPT_STRING, &global.rootless,
	 "ignore cgroup permission errors ('true', 'false', or 'auto')", "\"auto\""},
	{"help, h", VC_OPT_BOOL, &global.help, "show help", NULL},
	{"version, v", VC_OPT_BOOL, &global.version, "print the version", NULL},
	{NULL},
};

/* The version lines after the first, as runc prints them. */
static void print_version_details(FILE *out)
{
	fprintf(out, "commit: %s\nspec: %s\n", VC_GIT_COMMIT, VC_OCI_VERSION);
	const struct scmp_version *v = seccomp_version();
	if (v && v->major + v->minor + v->micro > 0)
		fprintf(out, "libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

static void print_app_help(const struct vc_cli *cli)
{
	printf("NAME:\n   %s - %s\n\n", APP_NAME, app_usage);
	printf("USAGE:\n   %s [global options] command [command options] [arguments...]\n\n",
	       cli->help_name);
	printf("VERSION:\n   %s\n", VC_VERSION);
	print_version_details(stdout);
	printf("\nCOMMANDS:\n");
	const char *cells[2 * (VC_ARRAY_SIZE(commands) + 1)];
	for (size_t i = 0; i < VC_ARRAY_SIZE(commands); i++) {
		cells[2 * i] = commands[i]->name;
		cells[2 * i + 1] = commands[i]->usage;
	}
	cells[2 * VC_ARRAY_SIZE(commands)] = "help, h";
	cells[2 * VC_ARRAY_SIZE(commands) + 1] = help_usage;
	vc_print_table(stdout, "   ", cells, VC_ARRAY_SIZE(commands) + 1, 2, 1, 2);
	printf("\nGLOBAL OPTIONS:\n");
	vc_opt_print_help(stdout, global_options, "   ");
}

/* urfave/cli v1's command help template, blank lines and trailing indent included. */
static void print_command_help(const struct vc_cli *cli, const struct vc_command *cmd)
{
	bool has_options = cmd->options[0].names != NULL;
	printf("NAME:\n   %s %s - %s\n\n", cli->help_name, cmd->name, cmd->usage);
	printf("USAGE:\n   %s %s%s %s", cli->help_name, cmd->name,
	       has_options ? " [command options]" : "",
	       cmd->args_usage ? cmd->args_usage : "[arguments...]");
	if (cmd->description)
		printf("\n\nDESCRIPTION:\n   %s", cmd->description);
	if (has_options) {
		printf("\n\nOPTIONS:\n");
		vc_opt_print_help(stdout, cmd->options, "   ");
		printf("   ");
	}
	printf("\n");
}

static const struct vc_command *find_command(const char *name)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* urfave's answer to an unknown command or help topic: exit status 3. */
static int no_help_topic(const char *name)
{
	vc_cli_fail("No help topic for '%s'", name);
	return 3;
}

static int help_command(const struct vc_cli *cli, int nargs, char **args)
{
	if (nargs == 0) {
		print_app_help(cli);
		return 0;
	}
	const struct vc_command *cmd = find_command(args[0]);
	if (!cmd)
		return no_help_topic(args[0]);
	print_command_help(cli, cmd);
	return 0;
}

static int check_arg_count(const struct vc_cli *cli, const struct vc_command *cmd, int nargs)
{
	const char *how = NULL;
	int expected = 0;
	if (cmd->min_args == cmd->max_args && nargs != cmd->min_args) {
		how = "exactly";
		expected = cmd->min_args;
	} else if (nargs < cmd->min_args) {
		how = "a minimum of";
		expected = cmd->min_args;
	} else if (cmd->max_args >= 0 && nargs > cmd->max_args) {
		how = "a maximum of";
		expected = cmd->max_args;
	}
	if (!how)
		return 0;
	printf("Incorrect Usage.\n\n");
	print_command_help(cli, cmd);
	return vc_cli_fail("%s: \"%s\" requires %s %d argument(s)", cli->argv0, cmd->name, how,
			   expected);
}

static int run_command(struct vc_cli *cli, const struct vc_command *cmd, int argc, char **argv)
{
	struct vc_opt_result res __attribute__((cleanup(vc_opt_result_free))) = {0};
	struct vc_error err = {0};
	if (vc_opt_parse(cmd->options, !cmd->no_reorder, argc, argv, &res, &err) < 0) {
		printf("Incorrect Usage: %s\n\n", err.msg);
		print_command_help(cli, cmd);
		return vc_cli_fail("%s", err.msg);
	}
	if (res.help) {
		print_command_help(cli, cmd);
		return 0;
	}
	int r = check_arg_count(cli, cmd, res.nargs);
	if (r)
		return r;
	const char *id = res.nargs ? res.args[0] : NULL;
	vc_debug("%s%s%s: root %s", cmd->name, id ? " " : "", id ? id : "", cli->ctx.root);
	r = cmd->run(cli, res.nargs, res.args);
	vc_debug("%s%s%s: exit status %d", cmd->name, id ? " " : "", id ? id : "", r);
	return r;
}

/* Why the default root is what it is, for the debug log (which opens later). */
static char default_root_why[256];

static char *default_root(void)
{
	return vc_default_root(default_root_why, sizeof(default_root_why));
}

/* runc's app.Before: logging first here, so that even a bad --root reaches --log. */
static int setup(struct vc_cli *cli, const char *root_default, char **root_abs)
{
	enum vc_log_format fmt = VC_LOG_TEXT;
	if (!strcmp(global.log_format, "json"))
		fmt = VC_LOG_JSON;
	else if (strcmp(global.log_format, "text") && *global.log_format)
		return vc_cli_fail("invalid log-format: %s", global.log_format);
	int r = vc_log_init(global.log, fmt, global.debug);
	if (r < 0)
		return vc_cli_fail("open %s: %s", global.log, strerror(-r));

	if (global.root != root_default) {
		*root_abs = vc_cli_abspath(global.root);
		if (!*root_abs)
			return vc_cli_fail("--root %s: %s", global.root, strerror(errno));
		if (!strcmp(*root_abs, "/"))
			return vc_cli_fail("Option --root argument should not be set to /");
		cli->ctx.root = *root_abs;
	} else {
		cli->ctx.root = root_default;
		vc_debug("default root %s (%s)", root_default, default_root_why);
	}
	cli->ctx.debug = global.debug;
	cli->ctx.systemd_cgroup = global.systemd_cgroup;
	return 0;
}

int main(int argc, char **argv)
{
	/* libvcrun's own helper processes, started by re-executing this binary. */
	if (argc > 1 && !strcmp(argv[1], "__monitor"))
		return vc_monitor_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "__standin"))
		return vc_standin_main(argc - 1, argv + 1);

	_cleanup_free_ char *argv0_copy = strdup(argc > 0 ? argv[0] : APP_NAME);
	_cleanup_free_ char *root_default = default_root();
	_cleanup_free_ char *root_abs = NULL;
	if (!argv0_copy || !root_default)
		return vc_cli_fail("out of memory");
	struct vc_cli cli = {
		.argv0 = argc > 0 ? argv[0] : APP_NAME,
		.help_name = basename(argv0_copy),
		.ctx = {.argv0 = argc > 0 ? argv[0] : APP_NAME},
	};

	global.log_format = "text";
	global.root = root_default;
	global.criu = "criu";
	global.rootless = "auto";
	snprintf(root_default_help, sizeof(root_default_help), "\"%s\"", root_default);

	struct vc_opt_result res __attribute__((cleanup(vc_opt_result_free))) = {0};
	struct vc_error err = {0};
	if (vc_opt_parse(global_options, false, argc > 0 ? argc - 1 : 0, argv + (argc > 0), &res,
			 &err) < 0) {
		printf("Incorrect Usage. %s\n\n", err.msg);
		print_app_help(&cli);
		return vc_cli_fail("%s", err.msg);
	}
	if (global.help) {
		print_app_help(&cli);
		return 0;
	}
	if (global.version) {
		printf("%s version %s\n", APP_NAME, VC_VERSION);
		print_version_details(stdout);
		return 0;
	}
	int r = setup(&cli, root_default, &root_abs);
	if (r)
		return r;

	if (res.nargs == 0) {
		print_app_help(&cli);
		return 0;
	}
	const char *name = res.args[0];
	if (!strcmp(name, "help") || !strcmp(name, "h"))
		return help_command(&cli, res.nargs - 1, res.args + 1);
	const struct vc_command *cmd = find_command(name);
	if (!cmd)
		return no_help_topic(name);
	return run_command(&cli, cmd, res.nargs - 1, res.args + 1);
}
