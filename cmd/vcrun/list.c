/* vcrun list [--format table|json] [--quiet]: the containers under --root, in
 * runc's table (tab-aligned columns) or as a JSON array (`null` when empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "oci/json.h"

static const char *format = "table";
static bool quiet;

static const struct vc_option list_options[] = {
	{"format, f", VC_OPT_STRING, &format, "select one of: table or json", "\"table\""},
	{"quiet, q", VC_OPT_BOOL, &quiet, "display only container IDs", NULL},
	{NULL},
};

static const char *const table_head[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
#define TABLE_COLS VC_ARRAY_SIZE(table_head)

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static int print_table(const struct vc_container_info *list, size_t n)
{
	_cleanup_free_ const char **cells = calloc((n + 1) * TABLE_COLS, sizeof(*cells));
	_cleanup_free_ char *pids = calloc(n ? n : 1, 24);
	if (!cells || !pids)
		return vc_cli_fail("out of memory");
	memcpy(cells, table_head, sizeof(table_head));
	for (size_t i = 0; i < n; i++) {
		const char **row = cells + (i + 1) * TABLE_COLS;
		snprintf(pids + 24 * i, 24, "%d", (int)list[i].pid);
		row[0] = or_empty(list[i].id);
		row[1] = pids + 24 * i;
		row[2] = or_empty(list[i].status);
		row[3] = or_empty(list[i].bundle);
		row[4] = or_empty(list[i].created);
		row[5] = or_empty(list[i].owner);
	}
	/* runc: tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0) */
	vc_print_table(stdout, "", cells, n + 1, TABLE_COLS, 12, 3);
	return 0;
}

static int print_json(const struct vc_container_info *list, size_t n)
{
	/* runc encodes a nil slice: an empty list is `null`. */
	if (n == 0) {
		puts("null");
		return 0;
	}
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_cli_fail("out of memory");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "id", or_empty(list[i].id));
		vc_jgen_kv_int(g, "pid", list[i].pid);
		vc_jgen_kv_string(g, "status", or_empty(list[i].status));
		vc_jgen_kv_string(g, "bundle", or_empty(list[i].bundle));
		vc_jgen_kv_string(g, "created", or_empty(list[i].created));
		vc_jgen_kv_string(g, "owner", or_empty(list[i].owner));
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	return vc_cli_print_json(g);
}

static int by_id(const void *a, const void *b)
{
	const struct vc_container_info *x = a, *y = b;
	return strcmp(or_empty(x->id), or_empty(y->id));
}

static int run_list(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	struct vc_container_info *list = NULL;
	size_t n = 0;
	if (vc_container_list(&cli->ctx, &list, &n, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	/* runc reads its root with os.ReadDir: sorted by name */
	if (n > 1)
		qsort(list, n, sizeof(*list), by_id);

	int r = 0;
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			puts(or_empty(list[i].id));
	} else if (!strcmp(format, "table")) {
		r = print_table(list, n);
	} else if (!strcmp(format, "json")) {
		r = print_json(list, n);
	} else {
		r = vc_cli_fail("invalid format option");
	}
	vc_container_info_free(list, n);
	if (r == 0 && fflush(stdout) != 0)
		r = vc_cli_fail("write: %m");
	return r;
}

const struct vc_command vc_cmd_list = {
	.name = "list",
	.usage = "lists containers started by vcrun with the given root",
	.args_usage = "\n\n"
		      "Where the given root is specified via the global option \"--root\"\n"
		      "(default: \"/run/vcrun\").",
	.options = list_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_list,
};
