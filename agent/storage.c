/* Storages: host shares mounted once per sandbox and shared by every container
 * that names the same source; a reference count unmounts each when the last
 * user is gone. One driver per fstype, in a table (as Kata's agent has it), and
 * the "blk" driver: a host block device (a virtio-blk disk found by its serial)
 * mounted with the file system type the host names. */
#include "agent/agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

typedef int (*storage_mount_fn)(struct agent *a, const struct agent_storage_req *s,
				const struct agent_mount_opts *o, struct vc_error *err);

static int mount_fs(const struct agent_storage_req *s, const char *source, const char *fstype,
		    const char *base, const struct agent_mount_opts *o, struct vc_error *err)
{
	_cleanup_free_ char *data = NULL;
	if (base && o->data)
		data = vc_strdup_printf("%s,%s", base, o->data);
	else if (base || o->data)
		data = strdup(base ? base : o->data);
	if ((base || o->data) && !data)
		return vc_error_set(err, ENOMEM, "out of memory");
	unsigned long flags =
		(o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | (s->readonly ? MS_RDONLY : 0);
	if (mount(source, s->mount_point, fstype, flags, data) < 0)
		return vc_error_sys(err, errno, "mount %s %s on %s", fstype, source,
				    s->mount_point);
	return 0;
}

static int mount_9p(struct agent *a, const struct agent_storage_req *s,
		    const struct agent_mount_opts *o, struct vc_error *err)
{
	return mount_fs(s, s->source, "9p", "trans=virtio,version=9p2000.L,msize=262144,cache=mmap",
			o, err);
}

static int mount_virtiofs(struct agent *a, const struct agent_storage_req *s,
			  const struct agent_mount_opts *o, struct vc_error *err)
{
	return mount_fs(s, s->source, "virtiofs", NULL, o, err);
}

/* A directory that is already in the guest (tests, guest-local scratch). */
static int mount_bind(struct agent *a, const struct agent_storage_req *s,
		      const struct agent_mount_opts *o, struct vc_error *err)
{
	if (s->source[0] != '/')
		return vc_error_set(err, EINVAL, "bind storage source `%s` is not absolute",
				    s->source);
	if (mount(s->source, s->mount_point, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vc_error_sys(err, errno, "bind %s on %s", s->source, s->mount_point);
	unsigned long rest =
		(o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | (s->readonly ? MS_RDONLY : 0);
	if (rest && mount(NULL, s->mount_point, NULL, MS_BIND | MS_REMOUNT | rest, NULL) < 0) {
		int e = errno;
		umount2(s->mount_point, MNT_DETACH);
		return vc_error_sys(err, e, "remount %s", s->mount_point);
	}
	return 0;
}

/* The disk whose serial is source, mounted with fstype. The file system's module
 * set (guest/modules.list: [ext4]) is loaded first when the image has one; a type
 * the kernel has neither built in nor as a set fails the mount naming it. */
static int mount_blk(struct agent *a, const struct agent_storage_req *s,
		     const struct agent_mount_opts *o, struct vc_error *err)
{
	struct agent_blk_env env;
	agent_blk_env_of(a, &env);
	struct agent_blk_disk disk;
	int r = agent_blk_find(&env, s->source, &disk, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *set = vc_strdup_printf("%s.load-order", s->fstype);
	if (!set)
		return vc_error_set(err, ENOMEM, "out of memory");
	if ((r = agent_modules_load(env.modules_dir, set, true, err)) < 0)
		return vc_error_wrap(err, "%s modules", s->fstype);
	return mount_fs(s, disk.node, s->fstype, NULL, o, err);
}

static const struct {
	const char *fstype;
	storage_mount_fn mount;
} drivers[] = {
	{"9p", mount_9p},
	{"virtiofs", mount_virtiofs},
	{"bind", mount_bind},
};

static storage_mount_fn driver_of(const char *driver, const char *fstype)
{
	if (driver)
		return strcmp(driver, "blk") ? NULL : mount_blk;
	for (size_t i = 0; i < VC_ARRAY_SIZE(drivers); i++) {
		if (!strcmp(drivers[i].fstype, fstype))
			return drivers[i].mount;
	}
	return NULL;
}

/* A file system type a disk may have: a word (it also names a module set file)
 * that is not a share's driver. */
static bool disk_fstype_ok(const char *fstype)
{
	size_t n = strlen(fstype);
	if (n == 0 || n > 32 || fstype[0] == '.' ||
	    strspn(fstype, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return false;
	return !driver_of(NULL, fstype);
}

int agent_storage_check_driver(const struct agent_storage_req *s, const char *where,
			       struct vc_error *err)
{
	if (!s->driver) {
		if (!driver_of(NULL, s->fstype))
			return vc_error_set(err, EINVAL, "%s.fstype: unknown fstype `%s`", where,
					    s->fstype);
		return 0;
	}
	if (!driver_of(s->driver, s->fstype))
		return vc_error_set(err, EINVAL, "%s.driver: unknown driver `%s`", where,
				    s->driver);
	if (!disk_fstype_ok(s->fstype))
		return vc_error_set(err, EINVAL,
				    "%s.fstype: `%s` is not a disk's file system type (driver %s)",
				    where, s->fstype, s->driver);
	if (!agent_blk_id_ok(s->source))
		return vc_error_set(err, EINVAL,
				    "%s.source: `%s` is not a disk serial (1 to %d lower-case "
				    "letters and digits starting with a letter)",
				    where, s->source, AGENT_BLK_ID_MAX);
	return 0;
}

static struct agent_storage *find(struct agent *a, const char *source)
{
	for (struct agent_storage *s = a->storages; s; s = s->next) {
		if (!strcmp(s->source, source))
			return s;
	}
	return NULL;
}

static void storage_free(struct agent_storage *s)
{
	free(s->source);
	free(s->fstype);
	free(s->mount_point);
	free(s->driver);
	free(s);
}

static int storage_new(struct agent *a, const struct agent_storage_req *req, struct vc_error *err)
{
	storage_mount_fn fn = driver_of(req->driver, req->fstype);
	if (!fn)
		return vc_error_set(err, EINVAL, "unknown storage %s `%s`",
				    req->driver ? "driver" : "fstype",
				    req->driver ? req->driver : req->fstype);
	struct agent_mount_opts o;
	int r = agent_mount_opts_parse(req->options, &o, err);
	if (r < 0)
		return r;
	r = vc_mkdir_p(req->mount_point, 0755, err);
	if (r == 0)
		r = fn(a, req, &o, err);
	agent_mount_opts_free(&o);
	if (r < 0)
		return r;
	struct agent_storage *s = calloc(1, sizeof(*s));
	if (s) {
		s->source = strdup(req->source);
		s->fstype = strdup(req->fstype);
		s->mount_point = strdup(req->mount_point);
		s->driver = req->driver ? strdup(req->driver) : NULL;
	}
	if (!s || !s->source || !s->fstype || !s->mount_point || (req->driver && !s->driver)) {
		umount2(req->mount_point, MNT_DETACH);
		if (s)
			storage_free(s);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	s->refs = 1;
	s->next = a->storages;
	a->storages = s;
	agent_dbg("mounted storage %s (%s) on %s", s->source, s->fstype, s->mount_point);
	return 0;
}

static void storage_unref(struct agent *a, const char *source)
{
	for (struct agent_storage **pp = &a->storages; *pp; pp = &(*pp)->next) {
		struct agent_storage *s = *pp;
		if (strcmp(s->source, source))
			continue;
		if (--s->refs > 0)
			return;
		if (umount2(s->mount_point, 0) < 0 && umount2(s->mount_point, MNT_DETACH) < 0)
			agent_warn("unmount %s: %s", s->mount_point, strerror(errno));
		if (rmdir(s->mount_point) < 0 && errno != ENOENT)
			agent_dbg("rmdir %s: %s", s->mount_point, strerror(errno));
		*pp = s->next;
		storage_free(s);
		return;
	}
}

int agent_storages_acquire(struct agent *a, const struct agent_storage_req *reqs, size_t n,
			   char ***held, struct vc_error *err)
{
	_cleanup_strv_ char **mine = calloc(1, sizeof(char *));
	if (!mine)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct agent_storage_req *req = &reqs[i];
		struct agent_storage *s = find(a, req->source);
		int r = 0;
		if (s && (strcmp(s->mount_point, req->mount_point) ||
			  strcmp(s->fstype, req->fstype) || !s->driver != !req->driver))
			r = vc_error_set(err, EINVAL, "storage %s is already mounted as %s on %s",
					 req->source, s->fstype, s->mount_point);
		else if (s)
			s->refs++;
		else
			r = storage_new(a, req, err);
		if (r == 0 && vc_strv_push(&mine, req->source) < 0) {
			storage_unref(a, req->source);
			r = vc_error_set(err, ENOMEM, "out of memory");
		}
		if (r < 0) {
			agent_storages_release(a, mine);
			return vc_error_wrap(err, "storages[%zu]", i);
		}
	}
	/* append to what the caller already holds */
	for (size_t i = 0; mine[i]; i++) {
		if (vc_strv_push(held, mine[i]) < 0) {
			agent_storages_release(a, mine + i);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

void agent_storages_release(struct agent *a, char **held)
{
	/* in reverse: a later storage may be mounted below an earlier one */
	size_t n = vc_strv_len(held);
	while (n-- > 0)
		storage_unref(a, held[n]);
}

void agent_storages_unmount_all(struct agent *a)
{
	while (a->storages) {
		a->storages->refs = 1;
		storage_unref(a, a->storages->source);
	}
}
