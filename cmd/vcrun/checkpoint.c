/* vcrun checkpoint / restore: CRIU cannot dump a process that lives in a guest
 * kernel, so both fail with a plain reason. Their runc options are accepted, so the
 * reason is what a caller sees rather than a usage error. */
#include "cmd/vcrun/commands.h"

#define IGNORED(names, type)                                               \
	{                                                                  \
		names, type, NULL, "ignored: not supported by vcrun", NULL \
	}

static const struct vc_option checkpoint_options[] = {
	IGNORED("image-path", VC_OPT_STRING),
	IGNORED("work-path", VC_OPT_STRING),
	IGNORED("parent-path", VC_OPT_STRING),
	IGNORED("leave-running", VC_OPT_BOOL),
	IGNORED("tcp-established", VC_OPT_BOOL),
	IGNORED("ext-unix-sk", VC_OPT_BOOL),
	IGNORED("shell-job", VC_OPT_BOOL),
	IGNORED("lazy-pages", VC_OPT_BOOL),
	IGNORED("status-fd", VC_OPT_STRING),
	IGNORED("page-server", VC_OPT_STRING),
	IGNORED("file-locks", VC_OPT_BOOL),
	IGNORED("pre-dump", VC_OPT_BOOL),
	IGNORED("manage-cgroups-mode", VC_OPT_STRING),
	IGNORED("empty-ns", VC_OPT_STRING),
	IGNORED("auto-dedup", VC_OPT_BOOL),
	{NULL},
};

static const struct vc_option restore_options[] = {
	IGNORED("console-socket", VC_OPT_STRING),
	IGNORED("image-path", VC_OPT_STRING),
	IGNORED("work-path", VC_OPT_STRING),
	IGNORED("tcp-established", VC_OPT_BOOL),
	IGNORED("ext-unix-sk", VC_OPT_BOOL),
	IGNORED("shell-job", VC_OPT_BOOL),
	IGNORED("file-locks", VC_OPT_BOOL),
	IGNORED("manage-cgroups-mode", VC_OPT_STRING),
	IGNORED("bundle, b", VC_OPT_STRING),
	IGNORED("detach, d", VC_OPT_BOOL),
	IGNORED("pid-file", VC_OPT_STRING),
	IGNORED("no-subreaper", VC_OPT_BOOL),
	IGNORED("no-pivot", VC_OPT_BOOL),
	IGNORED("empty-ns", VC_OPT_STRING),
	IGNORED("auto-dedup", VC_OPT_BOOL),
	IGNORED("lazy-pages", VC_OPT_BOOL),
	IGNORED("lsm-profile", VC_OPT_STRING),
	IGNORED("lsm-mount-context", VC_OPT_STRING),
	{NULL},
};

static int run_checkpoint(struct vc_cli *cli, int nargs, char **args)
{
	return vc_cli_fail("checkpoint is not supported: the container runs in a VM");
}

static int run_restore(struct vc_cli *cli, int nargs, char **args)
{
	return vc_cli_fail("restore is not supported: the container runs in a VM");
}

const struct vc_command vc_cmd_checkpoint = {
	.name = "checkpoint",
	.usage = "checkpoint a running container (not supported: containers run in VMs)",
	.args_usage = "<container-id>",
	.options = checkpoint_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_checkpoint,
};

const struct vc_command vc_cmd_restore = {
	.name = "restore",
	.usage = "restore a container from a previous checkpoint (not supported)",
	.args_usage = "<container-id>",
	.options = restore_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_restore,
};
