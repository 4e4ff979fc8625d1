/* The migration steps of VM templates: a template's device state saved to a file,
 * and a clone that loads it. Guest RAM is not in that file: it lives in the
 * memory-backend-file both map (cfg->mem_path), which x-ignore-shared skips, so the
 * state is a few hundred KiB and a restore costs tens of milliseconds. */
#include "hv/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

#define SNAPSHOT_TIMEOUT_MS 30000
#define RESTORE_TIMEOUT_MS  10000
/* The fd's name in QEMU's monitor: one per connection, so a fixed one will do. */
#define MIGRATE_FD "vcrun-mig"

static int ignore_shared(struct hv_qmp *q, struct vc_error *err)
{
	return hv_qmp_call(
		q, "migrate-set-capabilities",
		"{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}", NULL,
		err);
}

/* Polls query-migrate until the migration ends; `side` names it in messages. */
static int wait_migration(struct hv_qmp *q, const char *side, struct vc_error *err)
{
	for (;;) {
		_cleanup_free_ char *reply = NULL;
		int r = hv_qmp_call(q, "query-migrate", NULL, &reply, err);
		if (r < 0)
			return vc_error_wrap(err, "%s", side);
		_cleanup_json_ struct vc_json *v = NULL;
		if (vc_json_parse(reply, strlen(reply), "query-migrate", &v, err) < 0)
			return -EPROTO;
		const char *status = vc_json_str(vc_json_get(v, "status"));
		if (status && !strcmp(status, "completed"))
			return 0;
		if (status && (!strcmp(status, "failed") || !strcmp(status, "cancelled"))) {
			const char *why = vc_json_str(vc_json_get(v, "error-desc"));
			return vc_error_set(err, EIO, "%s: migration %s: %s", side, status,
					    why ? why : "QEMU gave no reason");
		}
		if (hv_left_ms(q->deadline) == 0)
			return vc_error_set(err, ETIMEDOUT,
					    "%s: migration still `%s` at the deadline", side,
					    status ? status : "?");
		usleep(2000);
	}
}

int vc_hv_snapshot(const char *qmp_path, const char *state_file, int timeout_ms,
		   struct vc_error *err)
{
	_cleanup_close_ int fd =
		open(state_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vc_error_sys(err, errno, "template state `%s`", state_file);
	struct hv_qmp q;
	int r = hv_qmp_open(&q, qmp_path, timeout_ms > 0 ? timeout_ms : SNAPSHOT_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	r = hv_qmp_call(&q, "stop", NULL, NULL, err);
	if (r == 0)
		r = ignore_shared(&q, err);
	if (r == 0)
		r = hv_qmp_getfd(&q, MIGRATE_FD, fd, err);
	if (r == 0)
		r = hv_qmp_call(&q, "migrate", "{\"uri\":\"fd:" MIGRATE_FD "\"}", NULL, err);
	if (r == 0)
		r = wait_migration(&q, "save the template's state", err);
	hv_qmp_close(&q);
	if (r == 0 && fsync(fd) < 0)
		r = vc_error_sys(err, errno, "fsync `%s`", state_file);
	return r;
}

int vc_hv_restore(const struct vc_hv *hv, const char *state_file, int timeout_ms,
		  struct vc_error *err)
{
	const char *qmp_path = hv->qmp_path;
	_cleanup_close_ int fd = open(state_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vc_error_sys(err, errno, "template state `%s`", state_file);
	struct hv_qmp q;
	int r = hv_qmp_open(&q, qmp_path, timeout_ms > 0 ? timeout_ms : RESTORE_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	r = ignore_shared(&q, err);
	if (r == 0)
		r = hv_qmp_getfd(&q, MIGRATE_FD, fd, err);
	if (r == 0)
		r = hv_qmp_call(&q, "migrate-incoming", "{\"uri\":\"fd:" MIGRATE_FD "\"}", NULL,
				err);
	if (r == 0)
		r = wait_migration(&q, "restore the template's state", err);
	/* The template was paused when saved, so the clone is too. */
	if (r == 0)
		r = hv_qmp_call(&q, "cont", NULL, NULL, err);
	hv_qmp_close(&q);
	if (r < 0 && hv->log_path) {
		/* QEMU exits when a load fails, saying why in its log. */
		usleep(20000);
		_cleanup_free_ char *tail = hv_file_tail(hv->log_path, 1);
		if (tail && *tail)
			vc_error_wrap(err, "%s", tail);
	}
	return r;
}
