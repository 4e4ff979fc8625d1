/* Mount options and destinations: the OCI option words split into mount(2) flags
 * (runc's table), and destinations resolved inside the rootfs so that neither
 * ".." nor a symlink in the image can point a mount outside it. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

struct flag_word {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct flag_word flag_words[] = {
	{"defaults", false, 0},
	{"ro", false, MS_RDONLY},
	{"rw", true, MS_RDONLY},
	{"suid", true, MS_NOSUID},
	{"nosuid", false, MS_NOSUID},
	{"dev", true, MS_NODEV},
	{"nodev", false, MS_NODEV},
	{"exec", true, MS_NOEXEC},
	{"noexec", false, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS},
	{"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},
	{"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},
	{"nomand", true, MS_MANDLOCK},
	{"atime", true, MS_NOATIME},
	{"noatime", false, MS_NOATIME},
	{"diratime", true, MS_NODIRATIME},
	{"nodiratime", false, MS_NODIRATIME},
	{"relatime", false, MS_RELATIME},
	{"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME},
	{"nostrictatime", true, MS_STRICTATIME},
	{"lazytime", false, MS_LAZYTIME},
	{"nolazytime", true, MS_LAZYTIME},
	{"silent", false, MS_SILENT},
	{"loud", true, MS_SILENT},
	{"bind", false, MS_BIND},
	{"rbind", false, MS_BIND | MS_REC},
};

static const struct flag_word prop_words[] = {
	{"private", false, MS_PRIVATE},	      {"rprivate", false, MS_PRIVATE | MS_REC},
	{"shared", false, MS_SHARED},	      {"rshared", false, MS_SHARED | MS_REC},
	{"slave", false, MS_SLAVE},	      {"rslave", false, MS_SLAVE | MS_REC},
	{"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

/* Recursive attributes (mount_setattr with AT_RECURSIVE), as runc 1.1 has them. */
static const struct {
	const char *name;
	bool clear;
	uint64_t attr;
} attr_words[] = {
	{"rro", false, MOUNT_ATTR_RDONLY},
	{"rrw", true, MOUNT_ATTR_RDONLY},
	{"rnosuid", false, MOUNT_ATTR_NOSUID},
	{"rsuid", true, MOUNT_ATTR_NOSUID},
	{"rnodev", false, MOUNT_ATTR_NODEV},
	{"rdev", true, MOUNT_ATTR_NODEV},
	{"rnoexec", false, MOUNT_ATTR_NOEXEC},
	{"rexec", true, MOUNT_ATTR_NOEXEC},
	{"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
	{"rdiratime", true, MOUNT_ATTR_NODIRATIME},
	{"rnoatime", false, MOUNT_ATTR_NOATIME},
	{"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
	{"rrelatime", false, MOUNT_ATTR_RELATIME},
};

int agent_propagation_parse(const char *s, unsigned long *out)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(prop_words); i++) {
		if (!strcmp(s, prop_words[i].name)) {
			*out = prop_words[i].flag;
			return 0;
		}
	}
	return -EINVAL;
}

static int data_append(char **data, const char *word)
{
	char *n = *data ? vc_strdup_printf("%s,%s", *data, word) : strdup(word);
	if (!n)
		return -ENOMEM;
	free(*data);
	*data = n;
	return 0;
}

int agent_mount_opts_parse(char *const *options, struct agent_mount_opts *out, struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; options && options[i]; i++) {
		const char *w = options[i];
		bool done = false;
		for (size_t k = 0; k < VC_ARRAY_SIZE(flag_words) && !done; k++) {
			if (strcmp(w, flag_words[k].name))
				continue;
			if (flag_words[k].clear)
				out->flags &= ~flag_words[k].flag;
			else
				out->flags |= flag_words[k].flag;
			if (flag_words[k].flag & MS_BIND)
				out->bind = true;
			done = true;
		}
		unsigned long prop;
		if (!done && agent_propagation_parse(w, &prop) == 0) {
			out->propagation = prop;
			done = true;
		}
		for (size_t k = 0; k < VC_ARRAY_SIZE(attr_words) && !done; k++) {
			if (strcmp(w, attr_words[k].name))
				continue;
			if (attr_words[k].clear)
				out->attr_clr |= attr_words[k].attr;
			else
				out->attr_set |= attr_words[k].attr;
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(w, "idmap") || !strcmp(w, "ridmap")) {
			agent_mount_opts_free(out);
			return vc_error_set(err, ENOTSUP,
					    "mount option `%s` is not supported in the guest", w);
		}
		/* runc's own words that are not kernel options. */
		if (!strcmp(w, "tmpcopyup"))
			continue;
		if (*w == '\0' || data_append(&out->data, w) < 0) {
			agent_mount_opts_free(out);
			return *w ? vc_error_set(err, ENOMEM, "out of memory")
				  : vc_error_set(err, EINVAL, "empty mount option");
		}
	}
	return 0;
}

void agent_mount_opts_free(struct agent_mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

/* A component stack for the resolved part of the path. */
struct comp_path {
	char buf[PATH_MAX];
	size_t len; /* buf[0..len) is "/a/b" or "" for root */
};

static int comp_push(struct comp_path *p, const char *name, size_t n)
{
	if (p->len + 1 + n >= sizeof(p->buf))
		return -ENAMETOOLONG;
	p->buf[p->len++] = '/';
	memcpy(p->buf + p->len, name, n);
	p->len += n;
	p->buf[p->len] = '\0';
	return 0;
}

static void comp_pop(struct comp_path *p)
{
	while (p->len > 0 && p->buf[p->len - 1] != '/')
		p->len--;
	if (p->len > 0)
		p->len--;
	p->buf[p->len] = '\0';
}

int agent_path_in_root(const char *root, const char *path, char **out, struct vc_error *err)
{
	/* rest holds what is still to be walked; a symlink's target is spliced in
	 * front of it, so the walk is iterative and bounded by MAXSYMLINKS. */
	char rest[PATH_MAX * 2];
	struct comp_path cur = {.len = 0};
	unsigned links = 0;
	size_t rootlen = strlen(root);
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;
	if (strlen(path) >= PATH_MAX)
		return vc_error_set(err, ENAMETOOLONG, "path `%s` is too long", path);
	snprintf(rest, sizeof(rest), "%s", path);
	cur.buf[0] = '\0';

	char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if ((n == 1 && p[0] == '.')) {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			comp_pop(&cur);
			p += n;
			continue;
		}
		if (comp_push(&cur, p, n) < 0)
			return vc_error_set(err, ENAMETOOLONG, "path `%s` is too long", path);
		p += n;

		char full[PATH_MAX * 2];
		snprintf(full, sizeof(full), "%.*s%s", (int)rootlen, root, cur.buf);
		struct stat st;
		if (lstat(full, &st) < 0 || !S_ISLNK(st.st_mode))
			continue; /* missing or not a link: taken literally */
		if (++links > 40)
			return vc_error_set(err, ELOOP, "too many symlinks resolving `%s`", path);
		char target[PATH_MAX];
		ssize_t tn = readlink(full, target, sizeof(target) - 1);
		if (tn < 0)
			return vc_error_sys(err, errno, "readlink `%s`", full);
		target[tn] = '\0';
		comp_pop(&cur);
		if (target[0] == '/')
			cur.len = 0, cur.buf[0] = '\0';
		char tmp[PATH_MAX * 2];
		int w = snprintf(tmp, sizeof(tmp), "%s/%s", target, p);
		if (w < 0 || (size_t)w >= sizeof(rest))
			return vc_error_set(err, ENAMETOOLONG, "path `%s` is too long", path);
		memcpy(rest, tmp, (size_t)w + 1);
		p = rest;
	}
	char *r = vc_strdup_printf("%.*s%s", (int)rootlen, root, cur.len ? cur.buf : "/");
	if (!r)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* root "/" gives "//x" otherwise */
	if (rootlen == 1 && root[0] == '/' && cur.len)
		memmove(r, r + 1, strlen(r));
	*out = r;
	return 0;
}

int agent_mkdest(const char *path, bool file, struct vc_error *err)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (!file)
		return vc_mkdir_p(dir, 0755, err);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = vc_mkdir_p(dir, 0755, err);
		if (r < 0)
			return r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return vc_error_sys(err, errno, "create `%s`", path);
	close(fd);
	return 0;
}

unsigned long agent_mount_flags_of(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ST_RDONLY, MS_RDONLY},	    {ST_NOSUID, MS_NOSUID},
		{ST_NODEV, MS_NODEV},	    {ST_NOEXEC, MS_NOEXEC},
		{ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
		{ST_RELATIME, MS_RELATIME},
	};
	struct statvfs sv;
	unsigned long out = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	for (size_t i = 0; i < VC_ARRAY_SIZE(map); i++) {
		if (sv.f_flag & map[i].st)
			out |= map[i].ms;
	}
	return out;
}

static int apply_attrs(const char *dest, const struct agent_mount_opts *o, struct vc_error *err)
{
	if (!o->attr_set && !o->attr_clr)
		return 0;
	struct mount_attr attr = {.attr_set = o->attr_set, .attr_clr = o->attr_clr};
	if (attr.attr_set & MOUNT_ATTR__ATIME)
		attr.attr_clr |= MOUNT_ATTR__ATIME;
	if (syscall(SYS_mount_setattr, AT_FDCWD, dest, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return vc_error_sys(err, errno, "mount_setattr `%s`", dest);
	return 0;
}

static int mount_bind(const char *src, const char *dest, const struct agent_mount_opts *o,
		      struct vc_error *err)
{
	if (mount(src, dest, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
		return vc_error_sys(err, errno, "bind");
	/* A bind mount ignores the other flags: they need a remount. */
	unsigned long rest = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	if (!rest || mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | rest, NULL) == 0)
		return 0;
	/* In a user namespace the flags the source had are locked: clearing one is
	 * EPERM, so they are kept (runc retries with the source's ro the same way). */
	unsigned long locked = agent_mount_flags_of(dest);
	if (errno != EPERM || (rest | locked) == rest ||
	    mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | rest | locked, NULL) < 0)
		return vc_error_sys(err, errno, "remount");
	return 0;
}

/* sysfs needs the network namespace's owner and cgroup2 the cgroup namespace's:
 * from a new user namespace next to the VM's network, the guest's trees are bound
 * instead (runc binds /sys/fs/cgroup the same way), read-only etc. recursively. */
static int mount_fallback(const char *type, int mount_errno, const char *dest,
			  const struct agent_mount_opts *o, struct vc_error *err)
{
	const char *src = NULL;
	if (!strcmp(type, "sysfs") && mount_errno == EPERM)
		src = "/sys";
	else if (!strcmp(type, "cgroup2") && (mount_errno == EPERM || mount_errno == EBUSY))
		src = "/sys/fs/cgroup";
	if (!src)
		return vc_error_set(err, mount_errno, "%s", strerror(mount_errno));
	if (mount(src, dest, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vc_error_sys(err, errno, "%s: bind the guest's %s", strerror(mount_errno),
				    src);
	static const struct {
		unsigned long ms;
		uint64_t attr;
	} map[] = {
		{MS_RDONLY, MOUNT_ATTR_RDONLY},
		{MS_NOSUID, MOUNT_ATTR_NOSUID},
		{MS_NODEV, MOUNT_ATTR_NODEV},
		{MS_NOEXEC, MOUNT_ATTR_NOEXEC},
	};
	struct mount_attr attr = {0};
	for (size_t i = 0; i < VC_ARRAY_SIZE(map); i++) {
		if (o->flags & map[i].ms)
			attr.attr_set |= map[i].attr;
	}
	if (attr.attr_set &&
	    syscall(SYS_mount_setattr, AT_FDCWD, dest, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return vc_error_sys(err, errno, "bind of the guest's %s: mount_setattr", src);
	return 0;
}

static int mount_at(const struct vc_oci_mount *m, const char *type, bool bind, const char *dest,
		    const struct agent_mount_opts *o, const char *data, struct vc_error *err)
{
	if (bind) {
		int r = mount_bind(m->source, dest, o, err);
		if (r < 0)
			return r;
	} else if (mount(m->source ? m->source : type, dest, type, o->flags & ~MS_REMOUNT, data) <
		   0) {
		int r = mount_fallback(type, errno, dest, o, err);
		if (r < 0)
			return r;
	}
	if (o->propagation && mount(NULL, dest, NULL, o->propagation, NULL) < 0)
		return vc_error_sys(err, errno, "set propagation");
	return apply_attrs(dest, o, err);
}

bool agent_is_dev(const char *destination)
{
	size_t n = strlen(destination);
	while (n > 1 && destination[n - 1] == '/')
		n--;
	return n == 4 && !strncmp(destination, "/dev", 4);
}

int agent_dev_finish(const struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_oci_mount *dev = NULL;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		if (agent_is_dev(spec->mounts[i].destination))
			dev = &spec->mounts[i];
	}
	if (!dev)
		return 0;
	struct agent_mount_opts o;
	int r = agent_mount_opts_parse(dev->options, &o, err);
	if (r < 0)
		return r;
	agent_mount_opts_free(&o);
	if (!(o.flags & MS_RDONLY))
		return 0;
	/* The flags of the mount itself (bind stays a bind remount), plus rdonly. */
	unsigned long flags = (o.flags & ~MS_REC) | MS_REMOUNT | MS_RDONLY;
	if (mount(NULL, "/dev", NULL, flags, NULL) < 0)
		return vc_error_sys(err, errno, "remount /dev read-only");
	return 0;
}

int agent_mount_one(const char *rootfs, const struct vc_oci_mount *m, struct vc_error *err)
{
	struct agent_mount_opts o;
	const char *type = m->type;
	const char *what = m->source ? m->source : (type ? type : "none");
	int r = agent_mount_opts_parse(m->options, &o, err);
	if (r < 0)
		return vc_error_wrap(err, "mount %s to %s", what, m->destination);
	if (agent_is_dev(m->destination))
		o.flags &= ~MS_RDONLY;
	_cleanup_free_ char *data = steal_ptr(o.data);
	bool bind = o.bind || (type && (!strcmp(type, "bind") || !strcmp(type, "rbind")));
	if (type && !strcmp(type, "rbind"))
		o.flags |= MS_REC;
	if (type && !strcmp(type, "cgroup"))
		type = "cgroup2"; /* the guest is cgroup v2 only */
	if (!bind && !type)
		return vc_error_set(err, EINVAL, "mount %s to %s: no type and not a bind mount",
				    what, m->destination);

	_cleanup_free_ char *dest = NULL;
	r = agent_path_in_root(rootfs, m->destination, &dest, err);
	bool file = false;
	if (r == 0 && bind) {
		struct stat st;
		if (!m->source)
			r = vc_error_set(err, EINVAL, "bind mount without a source");
		else if (stat(m->source, &st) < 0)
			r = vc_error_sys(err, errno, "stat `%s`", m->source);
		else
			file = !S_ISDIR(st.st_mode);
	}
	if (r == 0)
		r = agent_mkdest(dest, file, err);
	if (r == 0)
		r = mount_at(m, type, bind, dest, &o, data, err);
	if (r < 0)
		return vc_error_wrap(err, "mount %s to %s", what, m->destination);
	return 0;
}
