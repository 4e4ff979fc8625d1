/* vcrun events [--stats] [--interval 5s] ID: runc's JSON event lines. --stats prints
 * one stats event; otherwise a stats event every interval and an oom event for each
 * OOM kill, until the container stops or is deleted (then status 0, as runc). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/vcrun/commands.h"

static bool stats_once;
static const char *interval = "5s";

static const struct vc_option events_options[] = {
	{"interval", VC_OPT_STRING, &interval, "set the stats collection interval", "5s"},
	{"stats", VC_OPT_BOOL, &stats_once, "display the container's stats then exit", NULL},
	{NULL},
};

/* Go durations as runc takes them: "500ms", "5s", "1m". */
static int parse_interval(const char *s, unsigned long long *ms)
{
	char *end;
	double v = strtod(s, &end);
	double scale = !strcmp(end, "ms")  ? 1
		       : !strcmp(end, "s") ? 1e3
		       : !strcmp(end, "m") ? 60e3
					   : 0;
	if (end == s || scale == 0 || v <= 0 || v * scale < 1 || v * scale > 1e12)
		return -1;
	*ms = (unsigned long long)(v * scale);
	return 0;
}

static void print_line(const char *line, void *arg)
{
	printf("%s\n", line);
	fflush(stdout);
}

static int run_events(struct vc_cli *cli, int nargs, char **args)
{
	unsigned long long every;
	if (parse_interval(interval, &every) < 0)
		return vc_cli_fail("invalid value \"%s\" for flag -interval: duration must be "
				   "greater than 0",
				   interval);
	struct vc_error err = {0};
	if (vc_container_events(&cli->ctx, args[0], every, stats_once, print_line, NULL, &err) < 0)
		return vc_cli_fail("%s", err.msg);
	return 0;
}

const struct vc_command vc_cmd_events = {
	.name = "events",
	.usage = "display container events such as OOM notifications, cpu, memory, and IO usage "
		 "statistics",
	.args_usage = "<container-id>\n\nWhere \"<container-id>\" is the name for the instance "
		      "of the container.",
	.description = "The events command displays information about the container, from its "
		       "cgroup in the VM. By default stats are displayed every 5 seconds.",
	.options = events_options,
	.min_args = 1,
	.max_args = 1,
	.run = run_events,
};
