/* vcrun-agent: /init of the guest. As PID 1 it boots the VM and serves the host
 * (agent/boot.c). Run by hand it serves one already-connected socket, which is
 * how it is debugged without a VM:
 *   vcrun-agent --fd N [--cgroup-root DIR] [--debug] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

static int usage(void)
{
	fprintf(stderr, "usage: vcrun-agent --fd N [--cgroup-root DIR] [--debug]\n"
			"(as PID 1 it takes no arguments)\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		agent_boot();
	int fd = -1;
	struct agent_options opts = {.not_pid1 = true};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fd") && i + 1 < argc)
			fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cgroup-root") && i + 1 < argc)
			opts.cgroup_root = argv[++i];
		else if (!strcmp(argv[i], "--debug"))
			agent_log_set_debug(true);
		else
			return usage();
	}
	if (fd < 0)
		return usage();
	return agent_serve(fd, &opts) < 0 ? 1 : 0;
}
