/* QEMU's confinement (issue 12): a mount namespace of its own whose root is a
 * read-only tmpfs holding only what the command line names (the binary's /usr, the
 * kernel and initrd, the 9p shares, a template's RAM file, a few device nodes), a
 * uid of its own (base + its pid: unique among live processes, so no two VMs share
 * one, and nothing is left to reclaim when a VM dies), and no capability beyond
 * what its devices need. Everything QEMU would otherwise open by a root-only path
 * (QMP and agent sockets, console log, taps, virtiofsd, host disks, vhost-vsock)
 * is opened here by root and passed in as an fd (hv_fd_* in hv/internal.h).
 *
 * The plan is made before fork (it allocates); hv_jail_enter runs in the forked
 * child, where only async-signal-safe calls are allowed, since the monitor may
 * have threads. */
#include "hv/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/tap.h"
#include "common/util.h"

/* The host's top-level program and library directories: a symlink is copied (a
 * merged /usr), a directory is bound read-only. */
static const char *const top_dirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
/* Nodes every QEMU opens; the rest come as fds. */
static const char *const dev_nodes[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					"/dev/urandom"};
/* What the 9p server needs to act on files of any owner in the shares: chown to
 * the guest's uids, read and write past modes, keep setgid bits, make device
 * nodes and set file capabilities, as QEMU running as root did. */
static const cap_value_t share_caps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
					 CAP_FOWNER, CAP_FSETID,       CAP_MKNOD,
					 CAP_SETFCAP};

static bool listed(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Every ancestor of abs (not "/"), parents first, once each. */
static int add_parents(struct hv_jail *j, const char *abs)
{
	_cleanup_free_ char *p = strdup(abs);
	if (!p)
		return -ENOMEM;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		_cleanup_free_ char *d = vc_strdup_printf("%s%s", j->root, p);
		*s = '/';
		if (!d)
			return -ENOMEM;
		if (!listed(j->dirs, d) && vc_strv_push(&j->dirs, d) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Binds host path src at the same path in the jail. */
static int add_bind(struct hv_jail *j, const char *src, bool ro, bool rec, struct vc_error *err)
{
	if (src[0] != '/')
		return vc_error_set(err, EINVAL, "confinement: `%s` is not an absolute path", src);
	/* Under /usr already: the /usr bind shows it. */
	if (!strncmp(src, "/usr/", 5))
		return 0;
	for (size_t i = 0; i < j->n_binds; i++) {
		const struct hv_jail_bind *b = &j->binds[i];
		size_t n = strlen(b->src);
		/* Bound already, or inside a directory that is: a mount point made
		 * there would be made in the host's directory. */
		if (!strcmp(b->src, src) || (b->dir && !strncmp(src, b->src, n) && src[n] == '/'))
			return 0;
	}
	struct stat st;
	if (stat(src, &st) < 0)
		return vc_error_sys(err, errno, "confinement: `%s`", src);
	int r = add_parents(j, src);
	struct hv_jail_bind *nb = r == 0 ? realloc(j->binds, (j->n_binds + 1) * sizeof(*nb)) : NULL;
	if (!nb)
		return vc_error_set(err, ENOMEM, "out of memory");
	j->binds = nb;
	struct hv_jail_bind *b = &j->binds[j->n_binds];
	*b = (struct hv_jail_bind){.src = strdup(src),
				   .dst = vc_strdup_printf("%s%s", j->root, src),
				   .dir = S_ISDIR(st.st_mode),
				   .ro = ro,
				   .rec = rec,
				   .dev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)};
	j->n_binds++;
	if (!b->src || !b->dst)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int add_top_dirs(struct hv_jail *j, struct vc_error *err)
{
	for (size_t i = 0; i < sizeof(top_dirs) / sizeof(top_dirs[0]); i++) {
		struct stat st;
		if (lstat(top_dirs[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int r = add_bind(j, top_dirs[i], true, true, err);
			if (r < 0)
				return r;
			continue;
		}
		if (!S_ISLNK(st.st_mode))
			continue;
		char target[PATH_MAX];
		ssize_t n = readlink(top_dirs[i], target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		_cleanup_free_ char *path = vc_strdup_printf("%s%s", j->root, top_dirs[i]);
		if (!path || vc_strv_push(&j->link_targets, target) < 0 ||
		    vc_strv_push(&j->link_paths, path) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* What every confined helper gets: the jail's root on STATE/jail (one empty host
 * directory serves each helper's mount namespace), /usr and the top directories,
 * the loader's cache, the program, the harmless device nodes. */
static int plan_common(const struct vc_hv_config *cfg, const char *program, struct hv_jail *j,
		       struct vc_error *err)
{
	memset(j, 0, sizeof(*j));
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return vc_error_sys(err, errno, "confinement: getcwd");
	j->root = cfg->state_dir[0] == '/'
			  ? vc_strdup_printf("%s/" HV_JAIL_DIR, cfg->state_dir)
			  : vc_strdup_printf("%s/%s/" HV_JAIL_DIR, cwd, cfg->state_dir);
	j->proc = vc_strdup_printf("%s/proc", j->root ? j->root : "");
	if (!j->root || !j->proc)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (mkdir(j->root, 0700) < 0 && errno != EEXIST)
		return vc_error_sys(err, errno, "confinement: mkdir `%s`", j->root);
	j->uid_base = cfg->hv_uid_base;

	int r = add_bind(j, "/usr", true, true, err);
	if (r == 0)
		r = add_top_dirs(j, err);
	if (r == 0 && access("/etc/ld.so.cache", R_OK) == 0)
		r = add_bind(j, "/etc/ld.so.cache", true, false, err);
	if (r == 0)
		r = add_bind(j, program, true, false, err);
	for (size_t i = 0; r == 0 && i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++)
		r = add_bind(j, dev_nodes[i], false, false, err);
	return r;
}

static int keep_caps(struct hv_jail *j, const cap_value_t *caps, size_t n)
{
	for (size_t i = 0; i < n && j->n_caps < sizeof(j->caps) / sizeof(j->caps[0]); i++)
		j->caps[j->n_caps++] = caps[i];
	if (!j->capset && !(j->capset = cap_init()))
		return -ENOMEM;
	if (cap_clear(j->capset) < 0)
		return -errno;
	const cap_flag_t sets[] = {CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE};
	for (size_t k = 0; k < 3 && j->n_caps; k++) /* libcap refuses an empty list */
		if (cap_set_flag(j->capset, sets[k], (int)j->n_caps, j->caps, CAP_SET) < 0)
			return -errno;
	return 0;
}

int hv_jail_plan(const struct vc_hv_config *cfg, const char *program, struct hv_jail *j,
		 struct vc_error *err)
{
	int r = plan_common(cfg, program, j, err);
	if (r == 0)
		r = add_bind(j, cfg->kernel, true, false, err);
	if (r == 0)
		r = add_bind(j, cfg->initrd, true, false, err);
	if (r == 0 && cfg->mem_path)
		r = add_bind(j, cfg->mem_path, false, false, err);
	for (size_t i = 0; r == 0 && cfg->fs == VC_FS_9P && i < cfg->n_shares; i++)
		r = add_bind(j, cfg->shares[i].host_path, cfg->shares[i].readonly, true, err);
	if (r == 0 && cfg->accel == VC_ACCEL_KVM) {
		struct stat st;
		if (stat("/dev/kvm", &st) < 0)
			return vc_error_sys(err, errno, "confinement: /dev/kvm");
		/* No fd option for KVM in QEMU 7.2: its group opens it, or else uid 0. */
		if ((st.st_mode & 0060) == 0060)
			j->kvm_gid = st.st_gid, j->has_kvm_gid = true;
		else if ((st.st_mode & 0006) != 0006)
			j->uid_base = 0;
		r = add_bind(j, "/dev/kvm", false, false, err);
	}
	if (r < 0)
		return r;
	/* Even an empty set is made: capset then clears what root had. */
	size_t n = cfg->fs == VC_FS_9P && cfg->n_shares > 0
			   ? sizeof(share_caps) / sizeof(share_caps[0])
			   : 0;
	if (keep_caps(j, share_caps, n) < 0)
		return vc_error_sys(err, errno ? errno : ENOMEM, "confinement: capabilities");
	return 0;
}

/* virtiofsd serves share i from this jail with `-o sandbox=chroot` (its namespace
 * sandbox needs CAP_SYS_ADMIN): it chroots into the share, then keeps only its
 * file-serving set. It acts on behalf of the guest's users by switching its fsuid
 * and fsgid, hence SETUID and SETGID beside the 9p server's set. */
int hv_jail_plan_virtiofsd(const struct vc_hv_config *cfg, const char *program, size_t share,
			   struct hv_jail *j, struct vc_error *err)
{
	static const cap_value_t more[] = {CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT, CAP_SETPCAP};
	int r = plan_common(cfg, program, j, err);
	j->proc_sys = true;
	j->keep_caps_on_setuid = true;
	if (r == 0)
		r = add_bind(j, cfg->shares[share].host_path, false, true, err);
	if (r == 0 && (keep_caps(j, share_caps, sizeof(share_caps) / sizeof(share_caps[0])) < 0 ||
		       keep_caps(j, more, sizeof(more) / sizeof(more[0])) < 0))
		r = vc_error_sys(err, errno ? errno : ENOMEM, "confinement: capabilities");
	return r;
}

void hv_jail_free(struct hv_jail *j)
{
	/* Only a mount point: once the child has pivoted (or failed), nothing needs
	 * it, and the state dir keeps no directory. */
	if (j->root)
		rmdir(j->root);
	for (size_t i = 0; i < j->n_binds; i++) {
		free(j->binds[i].src);
		free(j->binds[i].dst);
	}
	free(j->binds);
	vc_strv_freep(&j->dirs);
	vc_strv_freep(&j->link_targets);
	vc_strv_freep(&j->link_paths);
	if (j->capset)
		cap_free(j->capset);
	free(j->root);
	free(j->proc);
	memset(j, 0, sizeof(*j));
}

/* --- in the forked child: no allocation, no stdio --- */

static int make_point(const struct hv_jail_bind *b)
{
	if (b->dir)
		return mkdir(b->dst, 0755) < 0 && errno != EEXIST ? -errno : 0;
	int fd = open(b->dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int do_bind(const struct hv_jail_bind *b)
{
	int r = make_point(b);
	if (r < 0)
		return r;
	if (mount(b->src, b->dst, NULL, MS_BIND | (b->rec ? MS_REC : 0), NULL) < 0)
		return -errno;
	/* Device nodes must stay usable; everything else loses setuid and nodes. */
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (b->dev ? 0 : MS_NODEV) |
			      (b->ro ? MS_RDONLY : 0);
	if (!b->dev || b->ro)
		if (mount(NULL, b->dst, NULL, flags, NULL) < 0)
			return -errno;
	return 0;
}

/* libcap's calls here are system calls on a cap_t made before fork: nothing
 * allocates in the child. */
static int drop_caps(const struct hv_jail *j)
{
	/* virtiofsd moves its euid to each guest user's and back: without this,
	 * the kernel would take its capabilities at the first move back, since
	 * its real uid is not 0. */
	if (j->keep_caps_on_setuid &&
	    cap_set_secbits(SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED) < 0)
		return -errno;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;
		for (size_t i = 0; i < j->n_caps; i++)
			keep |= j->caps[i] == c;
		if (!keep && cap_drop_bound(c) < 0 && errno != EINVAL)
			return -errno;
	}
	if (j->uid_base) {
		gid_t groups[1] = {j->kvm_gid};
		if (setgroups(j->has_kvm_gid ? 1 : 0, groups) < 0 ||
		    setresgid(j->uid_base, j->uid_base, j->uid_base) < 0)
			return -errno;
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return -errno;
		uid_t uid = j->uid_base + (uid_t)getpid();
		if (setresuid(uid, uid, uid) < 0)
			return -errno;
		/* Permitted, effective and inheritable become the kept set; as
		 * ambient capabilities they survive the exec of a binary without file
		 * capabilities under a non-zero uid. For uid 0 the bounding set
		 * above is what limits the exec. */
		if (cap_set_proc(j->capset) < 0)
			return -errno;
		for (size_t i = 0; i < j->n_caps; i++)
			if (cap_set_ambient(j->caps[i], CAP_SET) < 0)
				return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int hv_jail_enter(const struct hv_jail *j)
{
	/* IPC and UTS too: QEMU needs neither the host's SysV objects nor its name. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return -errno;
	/* A slave copy: the pod's members bound below the share later still reach
	 * the 9p server here, and nothing from here reaches the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -errno;
	if (mount("vcrun-jail", j->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m,nr_inodes=4096") < 0)
		return -errno;
	for (size_t i = 0; j->dirs && j->dirs[i]; i++)
		if (mkdir(j->dirs[i], 0755) < 0 && errno != EEXIST)
			return -errno;
	for (size_t i = 0; j->link_paths && j->link_paths[i]; i++)
		if (symlink(j->link_targets[i], j->link_paths[i]) < 0)
			return -errno;
	for (size_t i = 0; i < j->n_binds; i++) {
		int r = do_bind(&j->binds[i]);
		if (r < 0)
			return r;
	}
	/* QEMU's 9p server reopens files through /proc/self/fd: a proc of its own
	 * processes only (hidepid=invisible), without /proc/sys and the rest, which
	 * only virtiofsd reads (fs/file-max, kernel/cap_last_cap; writing a sysctl
	 * takes uid 0, which no confined helper is). */
	if (mkdir(j->proc, 0555) < 0 ||
	    mount("proc", j->proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  j->proc_sys ? "hidepid=invisible" : "hidepid=invisible,subset=pid") < 0)
		return -errno;
	if (chdir(j->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
	    0)
		return -errno;
	return drop_caps(j);
}

/* --- the fds a confined QEMU gets instead of paths --- */

int hv_tap_open(const char *netns_path, const char *name, int *out, struct vc_error *err)
{
	_cleanup_close_ int home = -1, there = -1;
	if (netns_path) {
		/* Only the open needs the namespace (the tun device searches the one
		 * it was opened in); this thread only (setns of a network namespace is
		 * per thread), and back before anything else runs on it. */
		home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home < 0)
			return vc_error_sys(err, errno, "tap %s: our network namespace", name);
		there = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (there < 0)
			return vc_error_sys(err, errno, "tap %s: network namespace `%s`", name,
					    netns_path);
		if (setns(there, CLONE_NEWNET) < 0)
			return vc_error_sys(err, errno, "tap %s: enter `%s`", name, netns_path);
	}
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	int e = errno;
	/* Stuck in the container's namespace: nothing on this thread may go on. */
	if (home >= 0 && setns(home, CLONE_NEWNET) < 0)
		return vc_error_sys(err, errno, "tap %s: back to our network namespace", name);
	if (fd < 0)
		return vc_error_sys(err, e, "tap %s: /dev/net/tun", name);
	int r = vc_tap_attach(fd, name, true);
	if (r < 0)
		return vc_error_sys(err, -r, "tap %s in `%s`", name,
				    netns_path ? netns_path : "ours");
	*out = steal_fd(fd);
	return 0;
}
