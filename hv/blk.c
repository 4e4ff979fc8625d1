/* Host block devices as virtio-blk disks: at boot (-blockdev + -device) and the
 * pure builders of their arguments. The drive uses QEMU's host_device driver on
 * the host's node; the guest finds each disk by its serial, which is the device's
 * id (the guest's vdX names follow PCI probe order, which hot-plug makes
 * unpredictable). */
#include "hv/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

int vc_hv_blk_check(const struct vc_hv_blk *b, struct vc_error *err)
{
	const char *id = b->id ? b->id : "";
	size_t n = strlen(id);
	bool ok = n > 0 && n <= VC_HV_BLK_ID_MAX && id[0] >= 'a' && id[0] <= 'z';
	for (size_t i = 0; ok && i < n; i++)
		ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9');
	if (!ok)
		return vc_error_set(err, EINVAL,
				    "id: `%s` is not 1 to %d lower-case letters and digits "
				    "starting with a letter",
				    id, VC_HV_BLK_ID_MAX);
	if (!b->path || b->path[0] != '/')
		return vc_error_set(err, EINVAL, "path: `%s` is not an absolute path",
				    b->path ? b->path : "");
	for (const char *p = b->path; *p; p++)
		if ((unsigned char)*p < 0x20)
			return vc_error_set(err, EINVAL, "path: `%s` has a control character",
					    b->path);
	return 0;
}

int vc_hv_qmp_blockdev_args(const struct vc_hv_blk *b, char **out, struct vc_error *err)
{
	return hv_blockdev_args(b, "host_device", NULL, out, err);
}

int hv_blk_node(const struct vc_hv_blk *b, char node[HV_BLK_NODE_MAX], struct vc_error *err)
{
	int r = vc_hv_blk_check(b, err);
	if (r == 0)
		snprintf(node, HV_BLK_NODE_MAX, "d%s", b->id);
	return r;
}

int hv_blockdev_args(const struct vc_hv_blk *b, const char *driver, const char *filename,
		     char **out, struct vc_error *err)
{
	char node[HV_BLK_NODE_MAX];
	int r = hv_blk_node(b, node, err);
	if (r < 0)
		return r;
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "driver", driver);
	vc_jgen_kv_string(g, "node-name", node);
	vc_jgen_kv_string(g, "filename", filename ? filename : b->path);
	vc_jgen_kv_bool(g, "read-only", b->readonly);
	/* Writes reach the host's page cache of the device, as the container's own
	 * writes under runc would: a host reader sees them once the guest flushes. */
	vc_jgen_kv_string(g, "aio", "threads");
	vc_jgen_object_close(g);
	size_t len = 0;
	return vc_jgen_finish(g, out, &len, err);
}

int hv_blk_validate(const struct vc_hv_config *cfg, struct vc_error *err)
{
	for (size_t i = 0; i < cfg->n_blks; i++) {
		int r = vc_hv_blk_check(&cfg->blks[i], err);
		if (r < 0)
			return vc_error_wrap(err, "blks[%zu]", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->blks[j].id, cfg->blks[i].id))
				return vc_error_set(err, EINVAL, "blks[%zu].id: `%s` is used twice",
						    i, cfg->blks[i].id);
	}
	return 0;
}

int hv_blk_argv(const struct vc_hv_config *cfg, char ***argv)
{
	for (size_t i = 0; i < cfg->n_blks; i++) {
		const struct vc_hv_blk *b = &cfg->blks[i];
		_cleanup_free_ char *bd = NULL;
		struct vc_error err = {0};
		/* Confined: the disk is an fd set of one, opened by vc_hv_start. */
		char fdset[32];
		snprintf(fdset, sizeof(fdset), "/dev/fdset/%d", hv_fd_blk(cfg, i));
		if (hv_blockdev_args(b, "host_device", cfg->confine ? fdset : NULL, &bd, &err) < 0)
			return -EINVAL; /* hv_blk_validate said why already */
		if (cfg->confine) {
			_cleanup_free_ char *add = vc_strdup_printf(
				"fd=%d,set=%d", hv_fd_blk(cfg, i), hv_fd_blk(cfg, i));
			if (!add || vc_strv_push(argv, "-add-fd") < 0 ||
			    vc_strv_push(argv, add) < 0)
				return -ENOMEM;
		}
		_cleanup_free_ char *dev = vc_strdup_printf(
			"virtio-blk-pci,drive=d%s,id=%s,serial=%s", b->id, b->id, b->id);
		if (!dev || vc_strv_push(argv, "-blockdev") < 0 || vc_strv_push(argv, bd) < 0 ||
		    vc_strv_push(argv, "-device") < 0 || vc_strv_push(argv, dev) < 0)
			return -ENOMEM;
	}
	return 0;
}
