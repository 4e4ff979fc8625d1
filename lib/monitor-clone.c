/* The monitor's restore path: a VM that starts as a clone of its template
 * (lib/template.h) instead of booting. Everything that is one container's is
 * added after the restore: its share's path (in the argv: 9p's backend is not
 * migrated state), a fresh vmgenid, and (mon_clone_setup, in monitor-boot.c) the
 * agent's CloneSetup and the NICs, hot-plugged. Any fault here means a cold boot
 * and one warning, never a failed create. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto/clone-msg.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/monitor-internal.h"
#include "lib/template.h"

/* From migrate-incoming to a running clone: about 50 ms here under TCG. A state
 * file that QEMU cannot parse makes it exit at once; this bounds the rest. */
#define RESTORE_TIMEOUT_MS 10000
/* Waiting for another create that builds the same template: its boot, plus the
 * save. */
#define BUILD_WAIT_EXTRA_MS 60000

/* A random (version 4) GUID for vmgenid. */
static void fresh_guid(char out[37])
{
	uint8_t b[16] = {0};
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* getrandom of 16 bytes does not fail once the host's CRNG is up;
		 * should it, time still makes each clone's id differ. */
		unsigned long long t = vc_now_ns() ^ ((unsigned long long)getpid() << 32);
		memcpy(b, &t, sizeof(t));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* The template's files did not give a clone: it is marked not ready, so that the
 * next create rebuilds it (clones that run keep their private mapping of the old
 * memory file, which a rebuild replaces rather than rewrites). */
static void clone_failed(struct monitor *m, const char *key, const char *dir,
			 const struct vc_error *err)
{
	vc_warn("container %s: template %s: %s; booting it cold (the next create rebuilds the "
		"template)",
		m->id, key, err->msg);
	_cleanup_free_ char *ready = vc_strdup_printf("%s/" VC_TEMPLATE_READY_FILE, dir);
	if (ready)
		unlink(ready);
	if (m->hv.pid > 0) {
		struct vc_error ignored = {0};
		vc_hv_stop(&m->hv, 2000, &ignored);
	}
	vc_hv_release(&m->hv);
}

bool mon_clone_start(struct monitor *m, const struct vc_hv_config *cold, size_t n_nics)
{
	const char *why = vc_template_unfit(&m->plan, n_nics);
	if (why) {
		vc_debug("container %s: cold boot, no template fits: %s", m->id, why);
		return false;
	}
	char key[VC_TEMPLATE_KEY_LEN + 1];
	_cleanup_json_ struct vc_json *inputs = NULL;
	struct vc_error err = {0};
	if (vc_template_key(&m->plan, key, &inputs, &err) < 0) {
		vc_warn("container %s: %s; booting it cold", m->id, err.msg);
		return false;
	}
	_cleanup_free_ char *dir = NULL;
	bool built = false;
	if (vc_template_ensure(m->root, &m->plan, key, inputs,
			       m->plan.boot_timeout_ms + BUILD_WAIT_EXTRA_MS, &dir, &built,
			       &err) < 0) {
		vc_warn("container %s: %s; booting it cold", m->id, err.msg);
		return false;
	}
	_cleanup_free_ char *mem = vc_strdup_printf("%s/" VC_TEMPLATE_MEM_FILE, dir);
	_cleanup_free_ char *state = vc_strdup_printf("%s/" VC_TEMPLATE_STATE_FILE, dir);
	if (!mem || !state)
		return false;
	if (vc_template_verify(dir, &err) < 0) {
		clone_failed(m, key, dir, &err);
		return false;
	}
	char guid[37];
	fresh_guid(guid);
	struct vc_hv_config cfg = *cold;
	cfg.nics = NULL;
	cfg.n_nics = 0;
	cfg.mem_path = mem;
	cfg.mem_private = true;
	cfg.vmgenid = guid;
	cfg.incoming = true;
	unsigned long long t0 = vc_now_ns();
	if (vc_hv_start(&cfg, &m->hv, &err) < 0) {
		clone_failed(m, key, dir, &err);
		return false;
	}
	unsigned long long up = vc_now_ns();
	if (vc_hv_restore(&m->hv, state, RESTORE_TIMEOUT_MS, &err) < 0) {
		clone_failed(m, key, dir, &err);
		return false;
	}
	/* The two halves of a clone's start (bench/README.md has a clone's timeline). */
	vc_debug("container %s: clone of template %s%s, running after %llu ms (QEMU answered "
		 "after %llu ms, the restore took %llu ms)",
		 m->id, key, built ? " (built by this create)" : "",
		 (vc_now_ns() - t0) / 1000000ULL, (up - t0) / 1000000ULL,
		 (vc_now_ns() - up) / 1000000ULL);
	_cleanup_free_ char *mark = vc_strdup_printf("%s %d\n", key, (int)m->hv.pid);
	if (!mark ||
	    vc_write_file_atomic(VC_TEMPLATE_CLONE_FILE, mark, strlen(mark), 0600, &err) < 0)
		vc_warn("container %s: %s (template list will not count this clone)", m->id,
			err.msg);
	m->cloned = true;
	return true;
}

int mon_clone_setup(const struct monitor *m, struct vc_clone_setup *out, struct vc_error *err)
{
	struct vc_clone_setup cs = {.n_entropy = 64};
	if (getrandom(cs.entropy, cs.n_entropy, 0) != (ssize_t)cs.n_entropy)
		return vc_error_sys(err, errno, "getrandom");
	/* The guest's own name: the container id as far as it is a host name. */
	size_t n = 0;
	for (const char *p = m->id; *p && n < VC_CLONE_HOSTNAME_MAX; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || ((*p == '-' || *p == '.') && n > 0))
			cs.hostname[n++] = *p;
	if (n == 0)
		snprintf(cs.hostname, sizeof(cs.hostname), "vcrun");
	cs.vsock_cid = m->plan.channel == VC_CHANNEL_VSOCK ? m->plan.vsock_cid : 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cs.time_sec = ts.tv_sec;
	cs.time_nsec = (uint32_t)ts.tv_nsec;
	*out = cs;
	explicit_bzero(cs.entropy, sizeof(cs.entropy));
	return 0;
}
