/* The agent logs to its stderr: the VM console when it is PID 1 (the host keeps
 * the console in its log), the test's stderr otherwise. One write per line so
 * lines from the agent and its children do not interleave. */
#include "agent/agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static bool debug_on;

void agent_log_set_debug(bool on)
{
	debug_on = on;
}

bool agent_log_debug(void)
{
	return debug_on;
}

void agent_log(enum agent_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warning", "error"};
	if (level == AGENT_LOG_DEBUG && !debug_on)
		return;
	char line[2048];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof(line), "vcrun-agent[%5lld.%03ld] %s: ", (long long)ts.tv_sec,
			 ts.tv_nsec / 1000000, names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)vc_write_all(STDERR_FILENO, line, len);
}
