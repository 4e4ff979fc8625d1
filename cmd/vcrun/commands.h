/* What main.c's dispatcher knows about a subcommand, and the few helpers the
 * subcommand files share. A subcommand file parses nothing itself: it declares its
 * options and argument count here, and its run() builds the library's arguments,
 * calls one libvcrun function and prints the result. */
#ifndef VC_CMD_COMMANDS_H
#define VC_CMD_COMMANDS_H

#include <stdbool.h>

#include "cmd/vcrun/options.h"
#include "lib/vcrun.h"

struct vc_cli {
	const char *argv0;     /* as invoked: runc names itself so in usage errors */
	const char *help_name; /* basename of argv0, for help pages */
	struct vc_ctx ctx;
};

struct vc_command {
	const char *name;
	const char *usage;	/* one line, for the command list */
	const char *args_usage; /* after the command name on the USAGE line */
	const char *description;
	const struct vc_option *options;
	int min_args, max_args; /* max_args -1: no limit */
	bool no_reorder;	/* urfave's SkipArgReorder: options only before arguments */
	/* args: the positional arguments, checked against min/max_args. Returns the
	 * exit status; failures go through vc_cli_fail. */
	int (*run)(struct vc_cli *cli, int nargs, char **args);
};

extern const struct vc_command vc_cmd_cdi, vc_cmd_check, vc_cmd_checkpoint, vc_cmd_create,
	vc_cmd_delete, vc_cmd_events, vc_cmd_exec, vc_cmd_features, vc_cmd_kill, vc_cmd_pause,
	vc_cmd_plan, vc_cmd_ps, vc_cmd_resume, vc_cmd_update, vc_cmd_list, vc_cmd_restore,
	vc_cmd_run, vc_cmd_sandbox, vc_cmd_spec, vc_cmd_start, vc_cmd_state, vc_cmd_template;

/* A command made of subcommands (`vcrun cdi list`, `vcrun sandbox rm`): each with
 * its own options and argument count. */
struct vc_subcommand {
	const char *name, *usage, *args_usage, *description;
	const struct vc_option *options;
	int min_args, max_args; /* max_args -1: no limit */
	int (*run)(struct vc_cli *cli, int nargs, char **args);
};
/* Picks subs[i] by args[0], parses its options (no reordering: options first, so
 * "--config -" keeps its "-"), checks the count and runs it; help and usage errors
 * as urfave's cli prints them. Returns the exit status. */
int vc_cli_subcommand(struct vc_cli *cli, const char *cmd, const struct vc_subcommand *subs,
		      size_t n, int nargs, char **args);

/* Finishes g (NULL: out of memory) and prints its JSON and a newline on stdout;
 * returns the exit status. */
struct vc_jgen;
int vc_cli_print_json(struct vc_jgen *g);

/* Reports a failed command as runc does: one error-level log record (to --log, or
 * stderr) and, when the log goes to a file, the bare message on stderr too.
 * Returns 1, the exit status of a failed command. */
int vc_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Go's filepath.Abs: joins a relative path to the working directory and cleans
 * it lexically ("a/../b" -> "b"). NULL on failure (errno set). */
char *vc_cli_abspath(const char *path);

/* The options `create` and `run` share, in runc's wording. */
#define VC_OPTION_BUNDLE(v)                                                                  \
	{                                                                                    \
		"bundle, b", VC_OPT_STRING, (v),                                             \
			"path to the root of the bundle directory, defaults to the current " \
			"directory",                                                         \
			NULL                                                                 \
	}
#define VC_OPTION_CONSOLE_SOCKET(v)                                                       \
	{                                                                                 \
		"console-socket", VC_OPT_STRING, (v),                                     \
			"path to an AF_UNIX socket which will receive a file descriptor " \
			"referencing the "                                                \
			"master end of the console's pseudoterminal",                     \
			NULL                                                              \
	}
#define VC_OPTION_PID_FILE(v)                                                                  \
	{                                                                                      \
		"pid-file", VC_OPT_STRING, (v), "specify the file to write the process id to", \
			NULL                                                                   \
	}
#define VC_OPTION_NO_PIVOT(v)                                                                  \
	{                                                                                      \
		"no-pivot", VC_OPT_BOOL, (v),                                                  \
			"do not use pivot root to jail process inside rootfs. This should be " \
			"used whenever "                                                       \
			"the rootfs is on top of a ramdisk",                                   \
			NULL                                                                   \
	}
#define VC_OPTION_NO_NEW_KEYRING(v)                                                               \
	{                                                                                         \
		"no-new-keyring", VC_OPT_BOOL, (v),                                               \
			"do not create a new session keyring for the container. This will cause " \
			"the "                                                                    \
			"container to inherit the calling processes session key",                 \
			NULL                                                                      \
	}
#define VC_OPTION_PRESERVE_FDS(v)                                                       \
	{                                                                               \
		"preserve-fds", VC_OPT_INT, (v),                                        \
			"Pass N additional file descriptors to the container (stdio + " \
			"$LISTEN_FDS + N in "                                           \
			"total)",                                                       \
			"0"                                                             \
	}

extern const char vc_cli_create_args_usage[];
extern const char vc_cli_create_description[];

/* Makes --pid-file absolute, as runc does before anything changes directory;
 * *pid_file_abs owns the new string. Returns 0 or -errno. */
int vc_cli_create_prepare(struct vc_create_opts *opts, char **pid_file_abs);
/* --debug: create's and run's options, and where the new container's monitor logs
 * (the VM's boot and its life). */
void vc_cli_debug_create_opts(const struct vc_create_opts *opts);
/* create's translation onto the sandbox API: the container boots a sandbox of its
 * own or joins the one its config names. *pid: its stand-in. */
int vc_cli_create(const struct vc_cli *cli, const char *id, const struct vc_create_opts *opts,
		  pid_t *pid, struct vc_error *err);
void vc_cli_debug_created(const struct vc_cli *cli, const char *id);

#endif
