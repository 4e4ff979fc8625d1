/* OnlineCPUs: vCPUs the host hot-plugged (a container joined with a CPU quota)
 * come up offline in the guest (no udev here to online them): the agent onlines
 * every present vCPU that is offline, waiting a bounded time for as many as the
 * host says it added to appear. */
#include "agent-proto/agent-msg.h"
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

#define MAX_CPUS     255
#define WAIT_STEP_MS 50

/* cpuN with N all digits, below MAX_CPUS. */
static bool cpu_dir(const char *name)
{
	if (strncmp(name, "cpu", 3) || !name[3] || strlen(name) > 6)
		return false;
	for (const char *p = name + 3; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return atoi(name + 3) < MAX_CPUS;
}

/* One pass: onlines what is offline; returns how many are online. */
static unsigned online_pass(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	unsigned n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!cpu_dir(de->d_name))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/online", dir, de->d_name);
		_cleanup_free_ char *v = NULL;
		/* No online file: a vCPU that cannot go offline (the boot one). */
		if (vc_read_file(path, 16, &v, NULL, NULL) < 0) {
			n++;
			continue;
		}
		if (v[0] == '1' || vc_write_file(path, "1", 1, NULL) == 0)
			n++;
	}
	return n;
}

int agent_online_cpus(const char *sysfs, uint32_t want, uint32_t wait_ms, uint32_t *online,
		      struct vc_error *err)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/devices/system/cpu", sysfs);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (uint32_t waited = 0;; waited += WAIT_STEP_MS) {
		*online = online_pass(dir);
		if (*online >= want || waited >= wait_ms)
			break;
		struct timespec ts = {0, WAIT_STEP_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (*online < want)
		return vc_error_set(err, ETIMEDOUT,
				    "OnlineCPUs: %u vCPUs online after %u ms, not %u", *online,
				    wait_ms, want);
	return 0;
}

int agent_h_online_cpus(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			struct vc_error *err)
{
	uint32_t want = r->rq->u.cpus.count, online = 0;
	/* the decoder's bound is the protocol's; this agent scans cpu0..cpu254 */
	if (want > MAX_CPUS)
		return vc_error_set(err, EINVAL, "%s: params.count: must be at most %d", r->method,
				    MAX_CPUS);
	int rc = agent_online_cpus("/sys", want, r->rq->u.cpus.wait_ms, &online, err);
	if (rc < 0)
		return rc;
	agent_info("%u vCPUs online", online);
	return vc_agent_cpus_encode(&(struct vc_agent_cpus){.online = online}, res, err);
}
