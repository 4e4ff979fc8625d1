/* vcrun sandbox list|rm: the sandboxes (VMs) under --root and their containers,
 * and removing a sandbox with every container in it: what a pod's owner does in one
 * call instead of deleting each container (members first, then the sandbox). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

static const char *format = "table";
static bool force;

static const struct vc_option list_options[] = {
	{"format, f", VC_OPT_STRING, &format, "select one of: table or json", "\"table\""},
	{NULL},
};
static const struct vc_option rm_options[] = {
	{"force, f", VC_OPT_BOOL, &force,
	 "stop containers that still run (SIGKILL) instead of refusing", NULL},
	{NULL},
};

static int print_json(const struct vc_sandbox_info *list, size_t n)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_cli_fail("out of memory");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "id", list[i].id);
		vc_jgen_kv_string(g, "key", list[i].key);
		vc_jgen_kv_int(g, "hypervisor_pid", list[i].hv_pid);
		vc_jgen_key(g, "containers");
		vc_jgen_array_open(g);
		for (char **m = list[i].members; m && *m; m++)
			vc_jgen_string(g, *m);
		vc_jgen_array_close(g);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	return vc_cli_print_json(g);
}

static const char *const table_head[] = {"SANDBOX", "KEY", "HV PID", "CONTAINERS"};
#define TABLE_COLS VC_ARRAY_SIZE(table_head)

static int print_table(const struct vc_sandbox_info *list, size_t n)
{
	_cleanup_free_ const char **cells = calloc((n + 1) * TABLE_COLS, sizeof(*cells));
	_cleanup_strv_ char **texts = calloc(2 * n + 1, sizeof(char *));
	if (!cells || !texts)
		return vc_cli_fail("out of memory");
	memcpy(cells, table_head, sizeof(table_head));
	for (size_t i = 0; i < n; i++) {
		const char **row = cells + (i + 1) * TABLE_COLS;
		_cleanup_free_ char *members = vc_strv_join(list[i].members, ",");
		texts[2 * i] = vc_strdup_printf("%d", (int)list[i].hv_pid);
		texts[2 * i + 1] = steal_ptr(members);
		if (!texts[2 * i] || !texts[2 * i + 1])
			return vc_cli_fail("out of memory");
		row[0] = list[i].id;
		row[1] = *list[i].key ? list[i].key : "-";
		row[2] = texts[2 * i];
		row[3] = texts[2 * i + 1];
	}
	vc_print_table(stdout, "", cells, n + 1, TABLE_COLS, 12, 3);
	return 0;
}

static int run_list(struct vc_cli *cli, int nargs, char **args)
{
	bool json = !strcmp(format, "json");
	if (!json && strcmp(format, "table"))
		return vc_cli_fail("invalid format option");
	struct vc_sandbox_info *list = NULL;
	size_t n = 0;
	struct vc_error err = {0};
	if (vc_sandbox_list(&cli->ctx, &list, &n, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	int status = json ? print_json(list, n) : print_table(list, n);
	vc_sandbox_info_free(list, n);
	return status;
}

static int run_rm(struct vc_cli *cli, int nargs, char **args)
{
	int status = 0;
	for (int i = 0; i < nargs; i++) {
		struct vc_error err = {0};
		_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
		if (vc_sandbox_open(&cli->ctx, args[i], &sb, &err) < 0 ||
		    vc_sandbox_destroy(sb, force, &err) < 0)
			status = vc_cli_fail("%s", err.msg);
	}
	return status;
}

static const struct vc_subcommand subcommands[] = {
	{"list", "list the sandboxes (VMs) and the containers in each", "", NULL, list_options, 0,
	 0, run_list},
	{"rm", "delete sandboxes with every container in them", "ID...",
	 "ID is a sandbox's id or any of its containers'. Members go first, then the\n"
	 "   sandbox's own container, and with it the VM. A container that still runs is an\n"
	 "   error, and nothing of its sandbox is deleted, unless --force.",
	 rm_options, 1, -1, run_rm},
};

static int run_sandbox(struct vc_cli *cli, int nargs, char **args)
{
	return vc_cli_subcommand(cli, "sandbox", subcommands, VC_ARRAY_SIZE(subcommands), nargs,
				 args);
}

const struct vc_command vc_cmd_sandbox = {
	.name = "sandbox",
	.usage = "list and remove sandboxes (the VMs containers share)",
	.args_usage = "list|rm [command options] [arguments...]",
	.description =
		"A sandbox is one VM and the containers in it: a pod's, or a container's own.\n"
		"`list` shows each with its containers (the sandbox's own first); `rm ID...`\n"
		"deletes a sandbox with all its containers.",
	.options = (const struct vc_option[]){{NULL}},
	.min_args = 0,
	.max_args = -1,
	.no_reorder = true,
	.run = run_sandbox,
};
