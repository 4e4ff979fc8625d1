/* vcrun events [--stats] [--interval 5s] ID: runc's JSON event lines. --stats prints
 * one stats event; otherwise a stats event every interval until the container stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"

static bool stats_once;
static const char *interval = "5s";

static const struct vc_option events_options[] = {
	{"interval", VC_OPT_STRING, &interval, "set the stats collection interval", "5s"},
	{"stats", VC_OPT_BOOL, &stats_once, "display the container's stats then exit", NULL},
	{NULL},
};

/* Go durations as runc takes them: "500ms", "5s", "1m". */
static int parse_interval(const char *s, struct timespec *ts)
{
	char *end;
	double v = strtod(s, &end);
	double scale = !strcmp(end, "ms")  ? 1e-3
		       : !strcmp(end, "s") ? 1
		       : !strcmp(end, "m") ? 60
					   : 0;
	if (end == s || scale == 0 || v <= 0)
		return -1;
	double sec = v * scale;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)((sec - (double)ts->tv_sec) * 1e9);
	return 0;
}

static int run_events(struct vc_cli *cli, int nargs, char **args)
{
	struct timespec every;
	if (parse_interval(interval, &every) < 0)
		return vc_cli_fail("invalid value \"%s\" for flag -interval: duration must be "
				   "greater than 0",
				   interval);
	for (;;) {
		struct vc_error err = {0};
		_cleanup_free_ char *line = NULL;
		if (vc_container_stats_event(&cli->ctx, args[0], &line, &err) < 0) {
			/* The container ending ends the stream; anything else is an error. */
			if (!stats_once && err.code == ESRCH)
				return 0;
			return vc_cli_fail("%s", err.msg);
		}
		printf("%s\n", line);
		fflush(stdout);
		if (stats_once)
			return 0;
		nanosleep(&every, NULL);
	}
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
