/* vcrun update [--resources FILE|-] [--memory N ...] ID: new cgroup limits, applied
 * in the guest. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

static const char *resources, *memory, *cpu_quota, *cpu_period, *cpu_shares, *pids_limit,
	*cpuset_cpus, *cpuset_mems;

static const struct vc_option update_options[] = {
	{"resources, r", VC_OPT_STRING, &resources,
	 "path to the file containing the resources to update or '-' to read from the standard "
	 "input",
	 NULL},
	{"memory", VC_OPT_STRING, &memory, "Memory limit (in bytes)", NULL},
	{"cpu-quota", VC_OPT_STRING, &cpu_quota, "CPU CFS hardcap limit (in usecs)", NULL},
	{"cpu-period", VC_OPT_STRING, &cpu_period, "CPU CFS period to be used for hardcapping",
	 NULL},
	{"cpu-share", VC_OPT_STRING, &cpu_shares,
	 "CPU shares (relative weight vs. other containers)", NULL},
	{"pids-limit", VC_OPT_STRING, &pids_limit,
	 "Maximum number of pids allowed in the container", NULL},
	{"cpuset-cpus", VC_OPT_STRING, &cpuset_cpus, "CPU(s) to use", NULL},
	{"cpuset-mems", VC_OPT_STRING, &cpuset_mems, "Memory node(s) to use", NULL},
	{NULL},
};

/* One numeric flag into obj[key]; fails naming the flag. */
static int put_num(struct vc_json *obj, const char *key, const char *flag, const char *val)
{
	if (!val)
		return 0;
	char *end;
	long long v = strtoll(val, &end, 10);
	if (!*val || *end)
		return vc_cli_fail("invalid value for --%s: %s", flag, val);
	return vc_json_object_set(obj, key, vc_json_new_int(v)) < 0 ? vc_cli_fail("out of memory")
								    : 0;
}

static struct vc_json *section(struct vc_json *root, const char *name)
{
	struct vc_json *s = vc_json_get(root, name);
	if (!s && vc_json_object_set(root, name, vc_json_new_object()) == 0)
		s = vc_json_get(root, name);
	return s;
}

static int run_update(struct vc_cli *cli, int nargs, char **args)
{
	struct vc_error err = {0};
	_cleanup_free_ char *text = NULL;
	const char *source = "update flags";
	if (resources) {
		int r = !strcmp(resources, "-")
				? vc_read_fd(STDIN_FILENO, 1 << 20, &text, NULL, &err)
				: vc_read_file(resources, 1 << 20, &text, NULL, &err);
		if (r < 0)
			return vc_cli_fail("%s", err.msg);
		source = !strcmp(resources, "-") ? "stdin" : resources;
	} else {
		_cleanup_json_ struct vc_json *res = vc_json_new_object();
		if (!res)
			return vc_cli_fail("out of memory");
		struct vc_json *mem = section(res, "memory"), *cpu = section(res, "cpu"),
			       *pids = section(res, "pids");
		if (put_num(mem, "limit", "memory", memory) ||
		    put_num(cpu, "quota", "cpu-quota", cpu_quota) ||
		    put_num(cpu, "period", "cpu-period", cpu_period) ||
		    put_num(cpu, "shares", "cpu-share", cpu_shares) ||
		    put_num(pids, "limit", "pids-limit", pids_limit))
			return 1;
		if ((cpuset_cpus &&
		     vc_json_object_set(cpu, "cpus", vc_json_new_string(cpuset_cpus)) < 0) ||
		    (cpuset_mems &&
		     vc_json_object_set(cpu, "mems", vc_json_new_string(cpuset_mems)) < 0))
			return vc_cli_fail("out of memory");
		if (!pids->u.object.len)
			vc_json_object_remove(res, "pids");
		if (vc_json_serialize(res, false, &text, NULL, &err) < 0)
			return vc_cli_fail("%s", err.msg);
	}
	_cleanup_sandbox_ struct vc_sandbox *sb = NULL;
	if (vc_sandbox_open(&cli->ctx, args[0], &sb, &err) < 0 ||
	    vc_sandbox_update_container(sb, args[0], text, source, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_update = {
	.name = "update",
	.usage = "update container resource constraints",
	.args_usage = "<container-id>",
	.description = "The update command changes the container's cgroup limits in its VM.",
	.options = update_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_update,
};
