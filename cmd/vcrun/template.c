/* vcrun template list|rm: the VM templates under --root (lib/template.h). Only
 * option parsing and printing here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/template.h"

static bool opt_all, opt_force;

static const struct vc_option rm_options[] = {
	{"all, a", VC_OPT_BOOL, &opt_all, "remove every template", NULL},
	{"force, f", VC_OPT_BOOL, &opt_force,
	 "remove templates that running clones use (they keep running)", NULL},
	{NULL},
};

static int run_list(struct vc_cli *cli, int nargs, char **args)
{
	_cleanup_free_ struct vc_template_info *t = NULL;
	size_t n = 0;
	struct vc_error err = {0};
	if (vc_template_list(cli->ctx.root, &t, &n, &err) < 0)
		return vc_cli_fail("template list: %s", err.msg);
	size_t ncols = 5;
	_cleanup_free_ char *text = calloc(n + 1, ncols * 48);
	_cleanup_free_ const char **cells = calloc((n + 1) * ncols, sizeof(char *));
	if (!text || !cells)
		return vc_cli_fail("out of memory");
	const char *head[] = {"KEY", "CREATED", "SIZE", "CLONES", "STATUS"};
	memcpy(cells, head, sizeof(head));
	for (size_t i = 0; i < n; i++) {
		char *row = text + i * ncols * 48;
		const char **c = cells + (i + 1) * ncols;
		struct tm tm;
		time_t created = t[i].created;
		if (t[i].created && gmtime_r(&created, &tm))
			strftime(row + 48, 48, "%Y-%m-%dT%H:%M:%SZ", &tm);
		else
			snprintf(row + 48, 48, "-");
		snprintf(row + 96, 48, "%.1fMiB", (double)t[i].bytes / (1 << 20));
		snprintf(row + 144, 48, "%u", t[i].clones);
		c[0] = t[i].key;
		c[1] = row + 48;
		c[2] = row + 96;
		c[3] = row + 144;
		c[4] = !t[i].ready ? "incomplete" : t[i].stale ? "stale" : "ok";
	}
	vc_print_table(stdout, "", cells, n + 1, ncols, 12, 1);
	fflush(stdout);
	return 0;
}

static int run_rm(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	if (opt_all == (nargs > 0))
		return vc_cli_fail("template rm: give template keys or --all, not %s",
				   opt_all ? "both" : "neither");
	_cleanup_free_ struct vc_template_info *t = NULL;
	size_t n = 0;
	if (opt_all && vc_template_list(cli->ctx.root, &t, &n, &err) < 0)
		return vc_cli_fail("template rm: %s", err.msg);
	int status = 0;
	for (size_t i = 0; i < (opt_all ? n : (size_t)nargs); i++) {
		const char *key = opt_all ? t[i].key : args[i];
		if (vc_template_remove(cli->ctx.root, key, opt_force, &err) < 0)
			status = vc_cli_fail("template rm: %s", err.msg);
	}
	return status;
}

static const struct vc_option no_options[] = {{NULL}};

static const struct vc_subcommand subcommands[] = {
	{"list", "list the templates: key, creation, size, running clones, status", "", NULL,
	 no_options, 0, 0, run_list},
	{"rm", "remove templates", "KEY...|--all",
	 "Removes the templates named, or every one with --all. A template that running\n"
	 "   clones use is refused unless --force (the clones keep running).",
	 rm_options, 0, -1, run_rm},
};

static int run_template(struct vc_cli *cli, int nargs, char **args)
{
	return vc_cli_subcommand(cli, "template", subcommands, VC_ARRAY_SIZE(subcommands), nargs,
				 args);
}

const struct vc_command vc_cmd_template = {
	.name = "template",
	.usage = "list and remove the VM templates that clones start from",
	.args_usage = "list|rm [command options] [arguments...]",
	.description =
		"With \"template\": true in vcrun's config (or the annotation "
		"io.vcrun.template=true)\n"
		"a container's VM starts as a clone of a template VM, built by the first create\n"
		"with the same kernel, initrd, QEMU, size and devices. `list` prints each\n"
		"template with its running clones and whether its inputs changed since (stale:\n"
		"never used again); `rm` removes templates, refusing those running clones use\n"
		"unless --force (the clones keep running).",
	.options = no_options,
	.min_args = 0,
	.max_args = -1,
	.no_reorder = true,
	.run = run_template,
};
