/* CloneSetup: this VM was restored from a template, so its memory, CRNG state and
 * clock are the template's. Before any container process runs, the host's fresh
 * entropy is credited and the CRNG reseeded (QEMU's vmgenid change has made the
 * kernel reseed once already: this does not depend on it), the wall clock is set,
 * and the guest gets its own hostname. The vsock CID needs nothing here: the
 * kernel rereads it on the transport reset that the restore caused. */
#include "agent-proto/clone-msg.h"
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

int agent_clone_reseed(const char *random_dev, const uint8_t *entropy, size_t n,
		       struct vc_error *err)
{
	_cleanup_close_ int fd = open(random_dev, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "CloneSetup: open %s", random_dev);
	struct rand_pool_info *info = calloc(1, sizeof(*info) + n);
	if (!info)
		return vc_error_set(err, ENOMEM, "out of memory");
	info->entropy_count = (int)(n * 8); /* credited: the host's getrandom() */
	info->buf_size = (int)n;
	memcpy(info->buf, entropy, n);
	int r = ioctl(fd, RNDADDENTROPY, info);
	explicit_bzero(info->buf, n);
	free(info);
	if (r < 0)
		return vc_error_sys(err, errno, "CloneSetup: RNDADDENTROPY");
	if (ioctl(fd, RNDRESEEDCRNG) < 0)
		return vc_error_sys(err, errno, "CloneSetup: RNDRESEEDCRNG");
	return 0;
}

int agent_h_clone_setup(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			struct vc_error *err)
{
	/* decoded and checked at the gate (agent-proto/agent-req.c, clone-msg.c) */
	struct vc_clone_setup cs = r->rq->u.clone;
	int rc = agent_clone_reseed("/dev/random", cs.entropy, cs.n_entropy, err);
	explicit_bzero(cs.entropy, sizeof(cs.entropy));
	if (rc < 0)
		return rc;
	struct timespec ts = {.tv_sec = (time_t)cs.time_sec, .tv_nsec = (long)cs.time_nsec};
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		return vc_error_sys(err, errno, "CloneSetup: clock_settime");
	if (sethostname(cs.hostname, strlen(cs.hostname)) < 0)
		return vc_error_sys(err, errno, "CloneSetup: sethostname");
	agent_info("clone of a template: CRNG reseeded, clock set, hostname %s", cs.hostname);
	return 0;
}
