/* A block-backed rootfs (lib/blkroot.h): found in mountinfo, unmounted from the host
 * while the VM has it, mounted back exactly as it was. */
#include "lib/blkroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/plan-internal.h"
#include "lib/plan.h"
#include "oci/json.h"

#define MOUNTINFO_MAX (16 << 20)

void vc_blkroot_release(struct vc_blkroot *b)
{
	free(b->path);
	free(b->source);
	free(b->device);
	free(b->fstype);
	free(b->data);
	vc_strv_freep(&b->options);
	memset(b, 0, sizeof(*b));
}

void vc_mountinfo_unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 4;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
}

/* One line of mountinfo, split in place: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS
 * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS". */
struct minfo {
	unsigned maj, min;
	char *root, *mnt, *opts, *fstype, *source, *super;
};

static bool minfo_parse(char *line, struct minfo *m)
{
	char *f[64];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t && n < VC_ARRAY_SIZE(f);
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	size_t dash = 6;
	while (dash < n && strcmp(f[dash], "-"))
		dash++;
	if (n < 7 || dash + 2 >= n || sscanf(f[2], "%u:%u", &m->maj, &m->min) != 2)
		return false;
	m->root = f[3];
	m->mnt = f[4];
	m->opts = f[5];
	m->fstype = f[dash + 1];
	m->source = f[dash + 2];
	m->super = dash + 3 < n ? f[dash + 3] : "";
	vc_mountinfo_unescape(m->root);
	vc_mountinfo_unescape(m->mnt);
	vc_mountinfo_unescape(m->source);
	return true;
}

/* Every parsed line of mountinfo, in order; the text is kept in *text. */
static int minfo_load(const char *path, char **text, struct minfo **out, size_t *n,
		      struct vc_error *err)
{
	size_t len = 0;
	*out = NULL;
	*n = 0;
	if (vc_read_file(path, MOUNTINFO_MAX, text, &len, err) < 0)
		return -EIO;
	size_t cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(*text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct minfo m;
		if (!minfo_parse(line, &m))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			struct minfo *g = realloc(*out, cap * sizeof(*g));
			if (!g)
				return vc_error_set(err, ENOMEM, "out of memory");
			*out = g;
		}
		(*out)[(*n)++] = m;
	}
	return 0;
}

static bool under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(p, dir, n) && p[n] == '/';
}

/* The mount flags of mountinfo's words (the mount's, then the superblock's); what is
 * no flag of either goes to data. */
static const struct {
	const char *word;
	unsigned long flag;
} mnt_words[] =
	{
		{"ro", MS_RDONLY},
		{"nosuid", MS_NOSUID},
		{"nodev", MS_NODEV},
		{"noexec", MS_NOEXEC},
		{"noatime", MS_NOATIME},
		{"nodiratime", MS_NODIRATIME},
		{"relatime", MS_RELATIME},
#ifdef MS_NOSYMFOLLOW
		{"nosymfollow", MS_NOSYMFOLLOW},
#endif
},
  super_words[] = {
	  {"ro", MS_RDONLY},	 {"sync", MS_SYNCHRONOUS},  {"dirsync", MS_DIRSYNC},
	  {"mand", MS_MANDLOCK}, {"lazytime", MS_LAZYTIME},
};

static int take_words(char *list, bool super, struct vc_blkroot *b)
{
	char *save = NULL;
	for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "rw"))
			continue;
		bool flag = false;
		for (size_t i = 0; !super && i < VC_ARRAY_SIZE(mnt_words) && !flag; i++)
			if (!strcmp(w, mnt_words[i].word))
				b->flags |= mnt_words[i].flag, flag = true;
		for (size_t i = 0; super && i < VC_ARRAY_SIZE(super_words) && !flag; i++)
			if (!strcmp(w, super_words[i].word))
				b->flags |= super_words[i].flag, flag = true;
		if (!flag && !super)
			continue; /* a mount word the kernel added that is no flag */
		if (!flag) {
			char *d = *b->data ? vc_strdup_printf("%s,%s", b->data, w) : strdup(w);
			if (!d)
				return -ENOMEM;
			free(b->data);
			b->data = d;
		}
		/* The guest: the Storage's readonly says ro; the agent has no
		 * nosymfollow word. */
		if (strcmp(w, "ro") && strcmp(w, "nosymfollow") && vc_strv_push(&b->options, w) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* mountinfo never says strictatime: it is what no atime word means. */
static int fill_flags(const struct minfo *m, struct vc_blkroot *b)
{
	_cleanup_free_ char *opts = strdup(m->opts), *super = strdup(m->super);
	if (!opts || !super || !(b->data = strdup("")) || take_words(opts, false, b) < 0 ||
	    take_words(super, true, b) < 0)
		return -ENOMEM;
	if (!(b->flags & (MS_NOATIME | MS_RELATIME))) {
		b->flags |= MS_STRICTATIME;
		if (vc_strv_push(&b->options, "strictatime") < 0)
			return -ENOMEM;
	}
	if (!b->options && !(b->options = calloc(1, sizeof(char *))))
		return -ENOMEM;
	return 0;
}

/* The node of a block device (common/sysfs.h), or NULL with why. */
static char *block_node(const struct vc_blkroot_where *w, unsigned maj, unsigned min, char *why,
			size_t why_len)
{
	char *node = NULL;
	int r = vc_sysfs_block_node(w->sysfs_root, w->dev_root, maj, min, &node);
	if (r == 0)
		return node;
	if (r == -ENODEV)
		snprintf(why, why_len, "%u:%u is no block device (sysfs names no node for it)", maj,
			 min);
	else if (r == -ENOTBLK)
		snprintf(why, why_len, "`%s` is not the block device %u:%u", node, maj, min);
	else
		snprintf(why, why_len, "out of memory");
	free(node);
	return NULL;
}

int vc_blkroot_find(const struct vc_blkroot_where *w, const char *rootfs, struct vc_blkroot *out,
		    char *why, size_t why_len, struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	char real[PATH_MAX];
	if (!realpath(rootfs, real)) {
		snprintf(why, why_len, "`%s`: %s", rootfs, strerror(errno));
		return 0;
	}
	const char *mi = w->mountinfo ? w->mountinfo : "/proc/self/mountinfo";
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct minfo *ms = NULL;
	size_t n = 0;
	int r = minfo_load(mi, &text, &ms, &n, err);
	if (r < 0)
		return r;
	/* The last mount at the path is the one on top, the one a path walk sees. */
	const struct minfo *m = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ms[i].mnt, real))
			m = &ms[i];
	if (!m) {
		snprintf(why, why_len, "`%s` is no mount point", real);
		return 0;
	}
	if (m->maj == 0) {
		snprintf(why, why_len, "its filesystem (%s) has no block device", m->fstype);
		return 0;
	}
	if (strcmp(m->root, "/")) {
		snprintf(why, why_len, "it is a bind of `%s` inside its filesystem", m->root);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (&ms[i] != m && ms[i].maj == m->maj && ms[i].min == m->min) {
			snprintf(why, why_len,
				 "its device %u:%u is mounted at `%s` on the host too", m->maj,
				 m->min, ms[i].mnt);
			return 0;
		}
		if (under(ms[i].mnt, real)) {
			snprintf(why, why_len,
				 "`%s` is mounted below it on the host, which the VM's disk "
				 "would not show",
				 ms[i].mnt);
			return 0;
		}
	}
	_cleanup_free_ char *node = block_node(w, m->maj, m->min, why, why_len);
	if (!node)
		return 0;
	out->path = strdup(real);
	out->source = strdup(m->source);
	out->fstype = strdup(m->fstype);
	out->device = steal_ptr(node);
	if (!out->path || !out->source || !out->fstype || fill_flags(m, out) < 0) {
		vc_blkroot_release(out);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 1;
}

/* Whether path is a mount point now (a mount at it, of anything). */
static int mounted(const char *mountinfo, const char *path, bool *yes, struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct minfo *ms = NULL;
	size_t n = 0;
	int r = minfo_load(mountinfo ? mountinfo : "/proc/self/mountinfo", &text, &ms, &n, err);
	*yes = false;
	for (size_t i = 0; r == 0 && i < n && !*yes; i++)
		*yes = !strcmp(ms[i].mnt, path);
	return r;
}

static int mount_back(const struct vc_blkroot *b, struct vc_error *err)
{
	if (mount(b->source, b->path, b->fstype, b->flags, *b->data ? b->data : NULL) < 0)
		return vc_error_sys(err, errno, "mount `%s` (%s) back at `%s`", b->source,
				    b->fstype, b->path);
	return 0;
}

/* Some process whose mount namespace still has dev mounted, for the error: its pid
 * and name in who; empty when none is found (a detached mount keeps no path). */
static void find_holder(dev_t dev, char *who, size_t len)
{
	who[0] = '\0';
	struct stat self, ns;
	if (stat("/proc/self/ns/mnt", &self) < 0)
		return;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && !who[0] && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		_cleanup_free_ char *nsp = vc_strdup_printf("/proc/%s/ns/mnt", de->d_name);
		if (!nsp || stat(nsp, &ns) < 0 || ns.st_ino == self.st_ino)
			continue;
		_cleanup_free_ char *mi = vc_strdup_printf("/proc/%s/mountinfo", de->d_name);
		_cleanup_free_ char *text = NULL;
		_cleanup_free_ struct minfo *ms = NULL;
		size_t n = 0;
		if (!mi || minfo_load(mi, &text, &ms, &n, NULL) < 0)
			continue;
		for (size_t i = 0; i < n && !who[0]; i++) {
			if (makedev(ms[i].maj, ms[i].min) != dev)
				continue;
			char comm[64] = "";
			_cleanup_free_ char *cp = vc_strdup_printf("/proc/%s/comm", de->d_name);
			_cleanup_free_ char *c = NULL;
			size_t cl = 0;
			if (cp && vc_read_file(cp, sizeof(comm) - 1, &c, &cl, NULL) == 0)
				snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(c, "\n"), c);
			snprintf(who, len, " (pid %s, %s, has it at `%s`)", de->d_name, comm,
				 ms[i].mnt);
		}
	}
}

int vc_blkroot_unmount(const struct vc_blkroot *b, struct vc_error *err)
{
	if (umount2(b->path, UMOUNT_NOFOLLOW) < 0) {
		if (errno == EBUSY)
			return vc_error_set(
				err, EBUSY,
				"root.path: cannot unmount `%s` to give its device `%s` "
				"to the VM: something on the host holds it (a process's "
				"working directory or open file in it)",
				b->path, b->source);
		return vc_error_sys(err, errno, "root.path: unmount `%s`", b->path);
	}
	/* A mount namespace made while it was mounted (another container's, a
	 * service's) keeps the filesystem mounted there: then the guest would mount it
	 * a second time. An exclusive open fails while any mount holds the device. A
	 * process that is exiting (a namespace of a VM just gone) lets go in a moment:
	 * up to 3 s. */
	int e = 0;
	for (int i = 0; i < 30; i++) {
		int fd = open(b->device, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		e = errno;
		if (e != EBUSY)
			break;
		usleep(100 * 1000);
	}
	/* Who has it, for the error: a process of another mount namespace. */
	char who[PATH_MAX + 128] = "";
	struct stat st;
	if (e == EBUSY && stat(b->device, &st) == 0)
		find_holder(st.st_rdev, who, sizeof(who));
	struct vc_error merr = {0};
	if (mount_back(b, &merr) < 0)
		return vc_error_set(err, e,
				    "root.path: `%s` is still in use on the host (%s), and "
				    "%s",
				    b->device, strerror(e), merr.msg);
	if (e == EBUSY)
		return vc_error_set(err, EBUSY,
				    "root.path: `%s` is still mounted on the host in another mount "
				    "namespace%s: it cannot be given to the VM (left mounted at "
				    "`%s`; a shared mount, `mount --make-shared`, lets the "
				    "unmount reach the copies that namespaces made of it)",
				    b->device, who, b->path);
	return vc_error_sys(err, e, "root.path: open `%s` (left mounted at `%s`)", b->device,
			    b->path);
}

int vc_blkroot_remount(const struct vc_blkroot *b, const char *mountinfo, struct vc_error *err)
{
	bool yes = false;
	int r = mounted(mountinfo, b->path, &yes, err);
	if (r < 0 || yes)
		return r;
	r = mount_back(b, err);
	return r < 0 ? r : 1;
}

/* ---- the plan's side -------------------------------------------------------- */

static int blk_storage(const struct vc_blkroot *b, const char *serial, const char *mount_point,
		       bool readonly, struct vc_json **out)
{
	_cleanup_json_ struct vc_json *o = vc_json_new_object();
	_cleanup_json_ struct vc_json *opts = vc_json_new_array();
	if (!o || !opts)
		return -ENOMEM;
	for (size_t i = 0; b->options && b->options[i]; i++)
		if (vc_json_array_append(opts, vc_json_new_string(b->options[i])) < 0)
			return -ENOMEM;
	if (vc_json_object_set(o, "driver", vc_json_new_string("blk")) < 0 ||
	    vc_json_object_set(o, "source", vc_json_new_string(serial)) < 0 ||
	    vc_json_object_set(o, "fstype", vc_json_new_string(b->fstype)) < 0 ||
	    vc_json_object_set(o, "mount_point", vc_json_new_string(mount_point)) < 0 ||
	    vc_json_object_set(o, "options", steal_ptr(opts)) < 0 ||
	    vc_json_object_set(o, "readonly", vc_json_new_bool(readonly)) < 0)
		return -ENOMEM;
	*out = steal_ptr(o);
	return 0;
}

int vc_plan_blk_rootfs(const struct vc_plan_where *w, const struct vc_oci_spec *spec,
		       const struct vc_config *cfg, struct vc_plan *plan, struct vc_error *err)
{
	bool want = cfg->block_rootfs;
	const char *an = vc_oci_spec_annotation(spec, VC_ANNOT_BLOCK_ROOTFS);
	if (an && strcmp(an, "true") && strcmp(an, "false"))
		return vc_error_set(err, EINVAL,
				    "annotations: " VC_ANNOT_BLOCK_ROOTFS
				    ": `%s` is neither \"true\" nor \"false\"",
				    an);
	if (an)
		want = !strcmp(an, "true");
	if (!want)
		return 0;
	char why[512] = "";
	struct vc_blkroot_where bw = {w->mountinfo, w->sysfs_root, w->dev_root};
	_cleanup_free_ struct vc_blkroot *b = calloc(1, sizeof(*b));
	if (!b)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_blkroot_find(&bw, spec->rootfs_abs, b, why, sizeof(why), err);
	if (r <= 0) {
		if (r == 0)
			vc_debug("container %s: rootfs `%s` goes through the share, not as a "
				 "disk: %s",
				 w->id, spec->rootfs_abs, why);
		return r;
	}
	/* A host mount that was read-only stays so in the guest, whatever the spec. */
	bool ro = (spec->root && spec->root->readonly) || (b->flags & MS_RDONLY);
	char serial[VC_HV_BLK_ID_MAX + 1];
	vc_plan_blk_id(w->id, plan->n_blks, serial);
	_cleanup_free_ char *mp = vc_strdup_printf("%s/%s-rootfs", VC_GUEST_STORAGE_DIR, serial);
	struct vc_json *st = NULL;
	struct vc_json *root = vc_json_get(plan->guest_spec, "root");
	if (!mp || !root || vc_plan_add_blk(plan, b->device, serial, ro, NULL) < 0 ||
	    blk_storage(b, serial, mp, ro, &st) < 0 ||
	    vc_json_array_append(plan->storages, st) < 0 ||
	    vc_json_object_set(root, "path", vc_json_new_string(mp)) < 0) {
		vc_blkroot_release(b);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	vc_debug("container %s: rootfs `%s` goes to the VM as disk %s (`%s`, %s)", w->id, b->path,
		 serial, b->device, b->fstype);
	plan->blk_rootfs = steal_ptr(b);
	return 1;
}
