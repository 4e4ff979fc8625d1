/* Host block devices in the guest (issue 16): each is a virtio-blk disk whose
 * serial is the id the host gave it (hv/blk.c). The guest's vdX names follow PCI
 * probe order, which hot-plug makes unpredictable, so a disk is found by its
 * serial in sysfs, waiting a bounded time (hot-plug is asynchronous).
 *
 * CreateContainer's `devices` put the guest's major:minor into the spec's
 * linux.devices entry and its device cgroup rules (docs/agent-protocol.md,
 * "Device"); a Storage with "driver": "blk" mounts the disk (storage.c).
 *
 * The sysfs and /dev roots are parameters, so tests run this on a fake tree.
 * What sysfs files say is read with a small bound and checked before use. */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"

#define BLK_MODULE_LIST "blk.load-order"
#define BLK_POLL_MS	20
#define BLK_FILE_MAX	64 /* serial (20 bytes) and "MAJ:MIN" with room to spare */

bool agent_blk_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > AGENT_BLK_ID_MAX || id[0] < 'a' || id[0] > 'z')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A sysfs attribute's first line, bounded; NULL when missing or too long. */
static char *attr_read(const char *dir, const char *name, const char *file)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s/%s", dir, name, file);
	char *text = NULL;
	if (!path || vc_read_file(path, BLK_FILE_MAX, &text, NULL, NULL) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/* "MAJ:MIN" as /sys/block/X/dev has it: decimal, each below 2^20 (MINORBITS). */
static bool parse_devnum(const char *s, unsigned *maj, unsigned *min)
{
	char tail;
	if (strspn(s, "0123456789:") != strlen(s) || sscanf(s, "%u:%u%c", maj, min, &tail) != 2)
		return false;
	return *maj < (1u << 12) && *min < (1u << 20);
}

/* A block directory name that cannot lead a path elsewhere. */
static bool disk_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n < 32 && name[0] != '.' && !strchr(name, '/');
}

/* One pass over SYSFS/block: 1 and the disk's node when found, 0 when not yet. */
static int find_pass(const char *blockdir, const char *dev_root, const char *serial,
		     struct agent_blk_disk *out, struct vc_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(blockdir);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "open %s", blockdir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!disk_name_ok(de->d_name))
			continue;
		_cleanup_free_ char *s = attr_read(blockdir, de->d_name, "serial");
		/* trailing blanks: some drivers pad the serial to its full width */
		size_t n = s ? strlen(s) : 0;
		while (n > 0 && s[n - 1] == ' ')
			s[--n] = '\0';
		if (!s || strcmp(s, serial))
			continue;
		_cleanup_free_ char *dev = attr_read(blockdir, de->d_name, "dev");
		unsigned maj, min;
		if (!dev) /* still being added */
			return 0;
		if (!parse_devnum(dev, &maj, &min))
			return vc_error_set(err, EINVAL, "%s/%s/dev: `%s` is not MAJOR:MINOR",
					    blockdir, de->d_name, dev);
		_cleanup_free_ char *node = vc_strdup_printf("%s/%s", dev_root, de->d_name);
		if (!node)
			return vc_error_set(err, ENOMEM, "out of memory");
		struct stat st;
		/* devtmpfs makes the node as the disk is added: wait for it too */
		if (stat(node, &st) < 0)
			return errno == ENOENT ? 0 : vc_error_sys(err, errno, "%s", node);
		if (!S_ISBLK(st.st_mode) || st.st_rdev != makedev(maj, min))
			return vc_error_set(err, EINVAL, "%s is not block device %u:%u", node, maj,
					    min);
		if (strlen(node) >= sizeof(out->node))
			return vc_error_set(err, ENAMETOOLONG, "%s: name too long", node);
		snprintf(out->node, sizeof(out->node), "%s", node);
		out->major = maj;
		out->minor = min;
		return 1;
	}
	return 0;
}

void agent_blk_env_of(const struct agent *a, struct agent_blk_env *env)
{
	const struct agent_options *o = a->opts;
	*env = (struct agent_blk_env){
		.sysfs = o->sysfs_root ? o->sysfs_root : "/sys",
		.dev_root = o->dev_root ? o->dev_root : "/dev",
		.modules_dir = o->modules_dir ? o->modules_dir : AGENT_MODULES_DIR,
		.wait_ms = o->blk_wait_ms ? o->blk_wait_ms : AGENT_BLK_WAIT_MS,
	};
}

int agent_blk_find(const struct agent_blk_env *env, const char *serial, struct agent_blk_disk *out,
		   struct vc_error *err)
{
	if (!agent_blk_id_ok(serial))
		return vc_error_set(err, EINVAL, "`%s` is not a disk serial", serial);
	int r;
	/* the first disk loads virtio_blk (an on-demand set: guest/modules.list) */
	if (env->modules_dir &&
	    (r = agent_modules_load(env->modules_dir, BLK_MODULE_LIST, true, err)) < 0)
		return vc_error_wrap(err, "virtio-blk modules");
	_cleanup_free_ char *blockdir = vc_strdup_printf("%s/block", env->sysfs);
	if (!blockdir)
		return vc_error_set(err, ENOMEM, "out of memory");
	long deadline = now_ms() + env->wait_ms;
	for (;;) {
		r = find_pass(blockdir, env->dev_root, serial, out, err);
		if (r != 0)
			return r < 0 ? r : 0;
		if (now_ms() >= deadline)
			break;
		struct timespec ts = {0, BLK_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	return vc_error_set(err, ENODEV, "no disk with serial %s appeared within %u ms", serial,
			    env->wait_ms);
}

/* ---- CreateContainer's devices ------------------------------------------- */

int agent_devices_read(const struct vc_json *arr, const char *where, struct agent_device_req **out,
		       size_t *n_out, struct vc_error *err)
{
	*out = NULL;
	*n_out = 0;
	if (!arr || arr->type == VC_JSON_NULL || arr->u.array.len == 0)
		return 0;
	size_t n = arr->u.array.len;
	_cleanup_free_ struct agent_device_req *d = calloc(n, sizeof(*d));
	if (!d)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char w[96];
		snprintf(w, sizeof(w), "%s[%zu]", where, i);
		const struct vc_json *v = arr->u.array.items[i];
		int r;
		if (v->type != VC_JSON_OBJECT)
			return vc_error_set(err, EINVAL, "%s: must be an object", w);
		if ((r = agent_get_str(v, w, "type", true, &d[i].type, err)) < 0 ||
		    (r = agent_get_str(v, w, "id", true, &d[i].id, err)) < 0 ||
		    (r = agent_get_str(v, w, "container_path", true, &d[i].container_path, err)) <
			    0)
			return r;
		if (strcmp(d[i].type, "blk"))
			return vc_error_set(err, EINVAL, "%s.type: unknown device type `%s`", w,
					    d[i].type);
		if (!agent_blk_id_ok(d[i].id))
			return vc_error_set(err, EINVAL,
					    "%s.id: `%s` is not 1 to %d lower-case letters and "
					    "digits starting with a letter",
					    w, d[i].id, AGENT_BLK_ID_MAX);
		if (d[i].container_path[0] != '/')
			return vc_error_set(err, EINVAL, "%s.container_path: `%s` is not absolute",
					    w, d[i].container_path);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(d[j].id, d[i].id))
				return vc_error_set(err, EINVAL,
						    "%s.id: `%s` is devices[%zu]'s too", w, d[i].id,
						    j);
			if (!strcmp(d[j].container_path, d[i].container_path))
				return vc_error_set(err, EINVAL,
						    "%s.container_path: `%s` is devices[%zu]'s too",
						    w, d[i].container_path, j);
		}
	}
	*out = steal_ptr(d);
	*n_out = n;
	return 0;
}

/* Rules naming exactly one host device get the guest's numbers. Each rule is
 * matched against the numbers it had on entry, once: a guest number may equal
 * another device's host number. Wildcards stay: they already cover the disk. */
void agent_blk_rewrite_rules(struct vc_oci_resources *res, const struct agent_blk_renumber *m,
			     size_t n)
{
	for (size_t i = 0; res && i < res->n_devices; i++) {
		struct vc_oci_device_cgroup *c = &res->devices[i];
		if (c->type != 'b' || !c->has_major || !c->has_minor)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (c->major == m[j].host_major && c->minor == m[j].host_minor) {
				c->major = m[j].major;
				c->minor = m[j].minor;
				break;
			}
		}
	}
}

int agent_blk_devices_apply(struct vc_oci_spec *spec, const struct agent_device_req *devs, size_t n,
			    const struct agent_blk_env *env, struct vc_error *err)
{
	if (n == 0)
		return 0;
	struct vc_oci_linux *l = spec->linux;
	_cleanup_free_ struct agent_blk_renumber *m = calloc(n, sizeof(*m));
	_cleanup_free_ size_t *entry = calloc(n, sizeof(*entry));
	if (!m || !entry)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* every disk first: the spec changes only when all of them are there */
	for (size_t i = 0; i < n; i++) {
		const struct agent_device_req *d = &devs[i];
		entry[i] = SIZE_MAX;
		for (size_t k = 0; l && k < l->n_devices && entry[i] == SIZE_MAX; k++)
			if (l->devices[k].path && !strcmp(l->devices[k].path, d->container_path))
				entry[i] = k;
		if (entry[i] == SIZE_MAX)
			return vc_error_set(err, EINVAL,
					    "devices[%zu].container_path: no linux.devices entry "
					    "has path `%s`",
					    i, d->container_path);
		const struct vc_oci_device *e = &l->devices[entry[i]];
		if (e->type != 'b')
			return vc_error_set(err, EINVAL,
					    "devices[%zu]: linux.devices[%zu] %s is not a block "
					    "device (type %c)",
					    i, entry[i], e->path, e->type ? e->type : '?');
		struct agent_blk_disk disk;
		int r = agent_blk_find(env, d->id, &disk, err);
		if (r < 0)
			return vc_error_wrap(err, "devices[%zu] (id %s, container_path %s)", i,
					     d->id, d->container_path);
		m[i] = (struct agent_blk_renumber){
			.host_major = e->has_major ? e->major : -1,
			.host_minor = e->has_minor ? e->minor : -1,
			.major = disk.major,
			.minor = disk.minor,
		};
		agent_info("device %s: disk %s (%u:%u) for %s", d->id, disk.node, disk.major,
			   disk.minor, d->container_path);
	}
	for (size_t i = 0; i < n; i++) {
		struct vc_oci_device *e = &l->devices[entry[i]];
		e->major = m[i].major;
		e->minor = m[i].minor;
		e->has_major = e->has_minor = true;
	}
	agent_blk_rewrite_rules(l->resources, m, n);
	return 0;
}
