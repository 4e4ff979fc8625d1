/* In-child setup of a container's init: propagation, the rootfs bind, the spec's
 * mounts in order, /dev, pivot_root, masked and read-only paths, hostname and
 * sysctl; then, for init and exec processes alike, rlimits, the terminal, the
 * user and the executable lookup. Runs after fork in the new namespaces; errors
 * go back to the agent as values (child.c reports them over the sync socket). */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/sysfs.h"
#include "common/util.h"

static const char *const default_devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

static const struct {
	const char *path, *target;
} default_links[] = {
	{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

static bool spec_lists_device(const struct vc_oci_spec *spec, const char *path)
{
	const struct vc_oci_linux *l = spec->linux;
	for (size_t i = 0; l && i < l->n_devices; i++) {
		if (!strcmp(l->devices[i].path, path))
			return true;
	}
	return false;
}

/* /dev is a fresh tmpfs: give it what runc gives every container. Devices are
 * bind mounts of the guest's nodes, which also works where mknod would not. */
static int default_dev(const char *rootfs, const struct vc_oci_spec *spec, struct vc_error *err)
{
	char path[PATH_MAX], src[64];
	for (size_t i = 0; i < VC_ARRAY_SIZE(default_devices); i++) {
		snprintf(src, sizeof(src), "/dev/%s", default_devices[i]);
		if (spec_lists_device(spec, src))
			continue;
		snprintf(path, sizeof(path), "%s/dev/%s", rootfs, default_devices[i]);
		int r = agent_mkdest(path, true, err);
		if (r < 0)
			return r;
		if (mount(src, path, NULL, MS_BIND, NULL) < 0)
			return vc_error_sys(err, errno, "bind %s into the container", src);
	}
	for (size_t i = 0; i < VC_ARRAY_SIZE(default_links); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", rootfs, default_links[i].path);
		if (symlink(default_links[i].target, path) < 0 && errno != EEXIST)
			return vc_error_sys(err, errno, "symlink /dev/%s", default_links[i].path);
	}
	/* the terminal is bound here later, when /dev may be read-only already */
	if (spec->process && spec->process->terminal) {
		snprintf(path, sizeof(path), "%s/dev/console", rootfs);
		int r = agent_mkdest(path, true, err);
		if (r < 0)
			return r;
	}
	const char *dirs[] = {"pts", "shm"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", rootfs, dirs[i]);
		if (mkdir(path, i == 1 ? 01777 : 0755) < 0 && errno != EEXIST)
			return vc_error_sys(err, errno, "mkdir /dev/%s", dirs[i]);
	}
	return 0;
}

/* The guest's node of d's number: the kernel's name for it (DEVNAME in
 * /sys/dev/{block,char}/MAJ:MIN/uevent), since the container's path may be a
 * rename (a host disk at /dev/xvda is the guest's vdb) or name another device in
 * the guest. d->path when the guest has no such device. */
static char *guest_node(const struct vc_oci_device *d)
{
	_cleanup_free_ char *name =
		d->type == 'b' || d->type == 'c'
			? vc_sysfs_devname(NULL, d->type == 'b', (unsigned)d->major,
					   (unsigned)d->minor)
			: NULL;
	return name ? vc_strdup_printf("/dev/%s", name) : strdup(d->path);
}

/* No CAP_MKNOD (a user namespace, as runc decides it up front, or a guest that
 * refuses): the guest's node is bound instead. */
static int bind_device(const char *path, const struct vc_oci_device *d, struct vc_error *err)
{
	_cleanup_free_ char *src = guest_node(d);
	if (!src)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = agent_mkdest(path, true, err);
	if (r == 0 && mount(src, path, NULL, MS_BIND, NULL) < 0)
		r = vc_error_sys(err, errno, "bind device %s (the guest's %s)", d->path, src);
	return r;
}

static int make_device(const char *rootfs, const struct vc_oci_device *d, bool bind,
		       struct vc_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = agent_path_in_root(rootfs, d->path, &path, err);
	if (r < 0)
		return r;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t perm = d->has_file_mode ? (mode_t)(d->file_mode & 07777) : 0666;
	dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	_cleanup_free_ char *parent = strdup(path);
	if (!parent)
		return vc_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		r = vc_mkdir_p(parent, 0755, err);
		if (r < 0)
			return r;
	}
	if (bind)
		return bind_device(path, d, err);
	if (mknod(path, type | perm, dev) < 0) {
		if (errno == EEXIST)
			return 0;
		if (errno != EPERM)
			return vc_error_sys(err, errno, "mknod %s", d->path);
		return bind_device(path, d, err);
	}
	if (chmod(path, perm) < 0)
		return vc_error_sys(err, errno, "chmod %s", d->path);
	if ((d->has_uid || d->has_gid) &&
	    chown(path, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1) < 0)
		return vc_error_sys(err, errno, "chown %s", d->path);
	return 0;
}

static int pivot(const char *rootfs, struct vc_error *err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return vc_error_sys(err, errno, "open %s", oldroot < 0 ? "/" : rootfs);
	if (fchdir(newroot) < 0)
		return vc_error_sys(err, errno, "chdir %s", rootfs);
	/* pivot_root(".", ".") stacks the old root on the new one; no directory
	 * for it is needed inside the image. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return vc_error_sys(err, errno, "pivot_root %s", rootfs);
	if (fchdir(oldroot) < 0)
		return vc_error_sys(err, errno, "fchdir old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return vc_error_sys(err, errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return vc_error_sys(err, errno, "unmount old root");
	if (chdir("/") < 0)
		return vc_error_sys(err, errno, "chdir /");
	return 0;
}

static bool is_dev_tmpfs(const struct vc_oci_mount *m)
{
	return m->type && !strcmp(m->type, "tmpfs") && agent_is_dev(m->destination);
}

int agent_setup_rootfs(const struct vc_oci_spec *spec, bool *dev_is_tmpfs, struct vc_error *err)
{
	const char *rootfs = spec->root->path;
	const struct vc_oci_linux *l = spec->linux;
	unsigned long prop = MS_SLAVE | MS_REC;
	if (l && l->rootfs_propagation && agent_propagation_parse(l->rootfs_propagation, &prop) < 0)
		return vc_error_set(err, EINVAL, "linux.rootfsPropagation: unknown value `%s`",
				    l->rootfs_propagation);
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return vc_error_sys(err, errno, "set propagation of /");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vc_error_sys(err, errno, "bind rootfs %s", rootfs);

	*dev_is_tmpfs = false;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		int r = agent_mount_one(rootfs, &spec->mounts[i], err);
		if (r < 0)
			return r;
		if (is_dev_tmpfs(&spec->mounts[i]))
			*dev_is_tmpfs = true;
	}
	if (*dev_is_tmpfs) {
		int r = default_dev(rootfs, spec, err);
		if (r < 0)
			return r;
	}
	bool bind = vc_oci_spec_namespace(spec, VC_NS_USER) != NULL;
	for (size_t i = 0; l && i < l->n_devices; i++) {
		int r = make_device(rootfs, &l->devices[i], bind, err);
		if (r < 0)
			return vc_error_wrap(err, "linux.devices[%zu] %s", i, l->devices[i].path);
	}
	/* runc creates a missing cwd (as root, before the user change) */
	_cleanup_free_ char *cwd = NULL;
	int r = agent_path_in_root(rootfs, spec->process->cwd, &cwd, err);
	if (r == 0)
		r = vc_mkdir_p(cwd, 0755, err);
	if (r < 0)
		return vc_error_wrap(err, "create cwd %s", spec->process->cwd);
	return pivot(rootfs, err);
}

static int readonly_path(const char *p, struct vc_error *err)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "readonly path %s", p);
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vc_error_sys(err, errno, "readonly path %s: bind", p);
	/* keep nosuid/nodev/noexec of what is underneath */
	unsigned long keep = agent_mount_flags_of(p);
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, NULL) < 0)
		return vc_error_sys(err, errno, "readonly path %s: remount", p);
	return 0;
}

static int masked_path(const char *p, struct vc_error *err)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "masked path %s", p);
	int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
				    : mount("/dev/null", p, NULL, MS_BIND, NULL);
	if (r < 0)
		return vc_error_sys(err, errno, "masked path %s", p);
	return 0;
}

static int write_sysctl(const char *key, const char *value, struct vc_error *err)
{
	char path[PATH_MAX];
	if (strstr(key, "..") || key[0] == '/' || key[0] == '\0')
		return vc_error_set(err, EINVAL, "linux.sysctl: bad key `%s`", key);
	int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= sizeof(path))
		return vc_error_set(err, ENAMETOOLONG, "linux.sysctl: key too long");
	for (char *c = path + 10; *c; c++) {
		if (*c == '.')
			*c = '/';
	}
	int r = vc_write_file(path, value, strlen(value), err);
	if (r < 0)
		return vc_error_wrap(err, "linux.sysctl %s", key);
	return 0;
}

static bool is_net_sysctl(const char *key)
{
	return !strncmp(key, "net.", 4) || !strncmp(key, "net/", 4);
}

int agent_setup_net_sysctls(const struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_oci_linux *l = spec->linux;
	int r = 0;
	for (size_t i = 0; l && r == 0 && i < l->n_sysctl; i++) {
		const char *key = l->sysctl[i].key, *value = l->sysctl[i].value;
		char mapped[64];
		if (!is_net_sysctl(key))
			continue;
		if (!strcmp(key + 4, "ipv4.ping_group_range") ||
		    !strcmp(key + 4, "ipv4/ping_group_range")) {
			r = agent_userns_gid_range(l, key, value, mapped, sizeof(mapped), err);
			value = mapped;
		}
		if (r == 0)
			r = write_sysctl(key, value, err);
	}
	return r;
}

int agent_setup_after_pivot(const struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_oci_linux *l = spec->linux;
	bool userns = vc_oci_spec_namespace(spec, VC_NS_USER) != NULL;
	int r = 0;
	for (size_t i = 0; l && r == 0 && i < l->n_sysctl; i++) {
		if (!userns || !is_net_sysctl(l->sysctl[i].key))
			r = write_sysctl(l->sysctl[i].key, l->sysctl[i].value, err);
	}
	if (r == 0 && spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		r = vc_error_sys(err, errno, "sethostname %s", spec->hostname);
	if (r == 0 && spec->domainname &&
	    setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		r = vc_error_sys(err, errno, "setdomainname %s", spec->domainname);
	for (size_t i = 0; l && l->readonly_paths && l->readonly_paths[i] && r == 0; i++)
		r = readonly_path(l->readonly_paths[i], err);
	for (size_t i = 0; l && l->masked_paths && l->masked_paths[i] && r == 0; i++)
		r = masked_path(l->masked_paths[i], err);
	if (r == 0)
		r = agent_dev_finish(spec, err);
	if (r == 0 && spec->root->readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | agent_mount_flags_of("/"),
		  NULL) < 0)
		r = vc_error_sys(err, errno, "remount / read-only");
	return r;
}

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

int agent_process_limits(pid_t pid, const struct vc_oci_process *p, struct vc_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct vc_oci_rlimit *rl = &p->rlimits[i];
		int res = -1;
		for (size_t k = 0; k < VC_ARRAY_SIZE(rlimit_names); k++) {
			if (!strcmp(rl->type, rlimit_names[k].name))
				res = rlimit_names[k].res;
		}
		if (res < 0)
			return vc_error_set(err, EINVAL, "process.rlimits: unknown type `%s`",
					    rl->type);
		struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
		if (prlimit(pid, res, &lim, NULL) < 0)
			return vc_error_sys(err, errno, "setrlimit %s", rl->type);
	}
	if (p->has_oom_score_adj) {
		char buf[16], path[64];
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (pid)
			snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
		else
			snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
		return vc_write_file(path, buf, (size_t)n, err);
	}
	return 0;
}

int agent_open_pty(int *master, int *slave, char **slave_path, struct vc_error *err)
{
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return vc_error_sys(err, errno, "open /dev/ptmx");
	if (unlockpt(m) < 0)
		return vc_error_sys(err, errno, "unlockpt");
	char name[64];
	if (ptsname_r(m, name, sizeof(name)) != 0)
		return vc_error_sys(err, errno, "ptsname");
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return vc_error_sys(err, errno, "open %s", name);
	if (slave_path && !(*slave_path = strdup(name))) {
		close(s);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	*slave = s;
	*master = steal_fd(m);
	return 0;
}

static int setup_tty(const struct vc_oci_process *p, bool is_init, int *pty_master,
		     struct vc_error *err)
{
	_cleanup_close_ int master = -1, slave = -1;
	_cleanup_free_ char *name = NULL;
	int r = agent_open_pty(&master, &slave, &name, err);
	if (r < 0)
		return r;
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
				     .ws_col = (unsigned short)p->console_size.width};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return vc_error_sys(err, errno, "set controlling terminal");
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(slave, fd) < 0)
			return vc_error_sys(err, errno, "dup2 terminal");
	}
	/* /dev/console is the container's terminal, as runc does it; skipped
	 * when /dev is not writable */
	if (is_init && agent_mkdest("/dev/console", true, NULL) == 0)
		mount(name, "/dev/console", NULL, MS_BIND, NULL);
	*pty_master = steal_fd(master);
	return 0;
}

char *agent_passwd_field(const char *passwd_path, uid_t uid, enum agent_passwd_field field)
{
	_cleanup_fclose_ FILE *f = fopen(passwd_path, "re");
	if (!f)
		return NULL;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		/* name:pw:uid:gid:gecos:home:shell */
		char *fields[7] = {0};
		char *s = line;
		size_t n = 0;
		line[strcspn(line, "\n")] = '\0';
		while (n < 7) {
			fields[n++] = s;
			s = strchr(s, ':');
			if (!s)
				break;
			*s++ = '\0';
		}
		if (n < 6 || !fields[2][0])
			continue;
		char *end;
		errno = 0;
		unsigned long u = strtoul(fields[2], &end, 10);
		if (errno || *end || u != uid)
			continue;
		return fields[field][0] ? strdup(fields[field]) : NULL;
	}
	return NULL;
}

char *agent_passwd_home(const char *passwd_path, uid_t uid)
{
	return agent_passwd_field(passwd_path, uid, AGENT_PASSWD_HOME);
}

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);
}

int agent_lookup_exe(const char *arg0, char *const *env, char **out, struct vc_error *err)
{
	if (strchr(arg0, '/')) {
		struct stat st;
		if (stat(arg0, &st) < 0)
			return vc_error_sys(err, errno, "exec: \"%s\": stat %s", arg0, arg0);
		if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
			return vc_error_set(err, EACCES, "exec: \"%s\": permission denied", arg0);
		*out = strdup(arg0);
		return *out ? 0 : vc_error_set(err, ENOMEM, "out of memory");
	}
	/* A process with no PATH at all (ctr --rootfs gives no env) is looked up in
	 * the usual directories, as crun does. */
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; env && env[i]; i++) {
		if (!strncmp(env[i], "PATH=", 5))
			path = env[i] + 5;
	}
	while (path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		_cleanup_free_ char *cand =
			vc_strdup_printf("%.*s/%s", (int)(n ? n : 1), n ? path : ".", arg0);
		if (!cand)
			return vc_error_set(err, ENOMEM, "out of memory");
		if (executable(cand)) {
			*out = steal_ptr(cand);
			return 0;
		}
		path = colon ? colon + 1 : NULL;
	}
	return vc_error_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

/* runc's rule (fixStdioPermissions): the process's stdio, its terminal included,
 * is handed to its uid before the user change, so that it can reopen or chmod its
 * own terminal; the gid stays (devpts gave the pty its gid= option). /dev/null (1:3)
 * is left alone, and a failure means the inode is not ours to give: skipped. */
static int give_stdio(uid_t uid, struct vc_error *err)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return vc_error_sys(err, errno, "fstat stdio fd %d", fd);
		if (st.st_uid == uid || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
			continue;
		if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM &&
		    errno != EROFS)
			return vc_error_sys(err, errno, "chown stdio fd %d to uid %u", fd,
					    (unsigned)uid);
	}
	return 0;
}

static int set_user(const struct vc_oci_user *u, struct vc_error *err)
{
	int r = give_stdio(u->uid, err);
	if (r < 0)
		return r;
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0)
		return vc_error_sys(err, errno, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return vc_error_sys(err, errno, "setresgid %u", u->gid);
	/* the capabilities are dropped later, at start: keep them across setuid */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return vc_error_sys(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return vc_error_sys(err, errno, "setresuid %u", u->uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	umask(u->has_umask ? (mode_t)(u->umask & 0777) : 0022);
	return 0;
}

static int build_env(const struct vc_oci_process *p, char ***envp, struct vc_error *err)
{
	_cleanup_strv_ char **env = calloc(1, sizeof(char *));
	bool has_home = false;
	if (!env)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; p->env && p->env[i]; i++) {
		if (!strncmp(p->env[i], "HOME=", 5))
			has_home = true;
		if (vc_strv_push(&env, p->env[i]) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (!has_home) {
		_cleanup_free_ char *home = agent_passwd_home("/etc/passwd", p->user.uid);
		_cleanup_free_ char *kv = vc_strdup_printf("HOME=%s", home ? home : "/");
		if (!kv || vc_strv_push(&env, kv) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	*envp = steal_ptr(env);
	return 0;
}

int agent_setup_process(const struct vc_oci_process *p, bool is_init, int *pty_master, char ***envp,
			char **exe, struct vc_error *err)
{
	int r;
	if (setsid() < 0 && errno != EPERM)
		return vc_error_sys(err, errno, "setsid");
	if (p->terminal) {
		r = setup_tty(p, is_init, pty_master, err);
		if (r < 0)
			return r;
	}
	/* HOME comes from the image's passwd, read before the user change may
	 * make it unreadable */
	r = build_env(p, envp, err);
	if (r == 0)
		r = set_user(&p->user, err);
	if (r == 0 && chdir(p->cwd) < 0)
		r = vc_error_sys(err, errno, "chdir to cwd (%s) set in config.json", p->cwd);
	if (r == 0)
		r = agent_lookup_exe(p->args[0], *envp, exe, err);
	return r;
}
