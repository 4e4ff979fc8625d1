/* PID 1 of the guest: the kernel runs /init from the initramfs with nothing
 * mounted. Mount the basics, load the virtio modules, leave the initramfs
 * (pivot_root does not work on rootfs, which containers need), open the channel
 * to the host and serve. PID 1 must never exit (the kernel would panic): a fatal
 * error is logged on the console and the machine powered off. */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"

#define MODULES_DIR AGENT_MODULES_DIR
#define NEWROOT	    "/newroot"

struct boot_cmdline {
	bool vsock, debug, poweroff;
	char modules[128]; /* vcrun.modules=SET,...: on-demand sets this VM needs at boot */
};

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void agent_poweroff(const char *why)
{
	agent_info("powering off: %s", why);
	sync();
	reboot(RB_POWER_OFF);
	/* only reached when not allowed to: nothing sane is left but to wait */
	agent_err("reboot(RB_POWER_OFF): %s", strerror(errno));
	for (;;)
		pause();
}

static __attribute__((noreturn)) void fatal(const struct vc_error *err, const char *what)
{
	agent_err("%s: %s", what, err ? err->msg : strerror(errno));
	agent_poweroff("fatal error during boot");
}

static int mount_fs(const char *src, const char *dir, const char *type, unsigned long flags,
		    const char *data, struct vc_error *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vc_error_sys(err, errno, "mkdir %s", dir);
	if (mount(src, dir, type, flags, data) < 0 && errno != EBUSY)
		return vc_error_sys(err, errno, "mount %s on %s", type, dir);
	return 0;
}

/* The kernel gives /init no stdio unless the initramfs has /dev/console. */
static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++) {
		if (fd != i)
			dup2(fd, i);
	}
	if (fd > 2)
		close(fd);
}

static void parse_cmdline(struct boot_cmdline *c)
{
	_cleanup_free_ char *text = NULL;
	*c = (struct boot_cmdline){0};
	if (vc_read_file("/proc/cmdline", 64 << 10, &text, NULL, NULL) < 0)
		return;
	for (char *save = NULL, *w = strtok_r(text, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(w, "vcrun.channel=vsock"))
			c->vsock = true;
		else if (!strcmp(w, "vcrun.channel=serial"))
			c->vsock = false;
		else if (!strcmp(w, "vcrun.debug=1"))
			c->debug = true;
		else if (!strcmp(w, "vcrun.poweroff=1"))
			c->poweroff = true;
		else if (!strncmp(w, "vcrun.modules=", 14))
			snprintf(c->modules, sizeof(c->modules), "%s", w + 14);
		else
			agent_hostile_cmdline(w);
	}
}

/* The sets the host named: each SET.load-order, after the base list. A name that is
 * not a plain word is ignored (it would be a path). */
static void load_module_sets(char *sets)
{
	for (char *save = NULL, *set = strtok_r(sets, ",", &save); set;
	     set = strtok_r(NULL, ",", &save)) {
		if (set[strspn(set, "abcdefghijklmnopqrstuvwxyz0123456789_")] != '\0') {
			agent_warn("vcrun.modules: `%s` is not a module set name", set);
			continue;
		}
		char list[160];
		snprintf(list, sizeof(list), "%s.load-order", set);
		agent_modules_load(MODULES_DIR, list, false, NULL);
	}
}

/* The next module file name of a load-order list, skipping blank lines, comments
 * and anything with a '/' (it would lead out of the modules directory); NULL at the
 * end. list on the first call, NULL after, as with strtok_r. */
static char *list_next(char *list, char **save)
{
	for (char *name = strtok_r(list, "\n", save); name; name = strtok_r(NULL, "\n", save)) {
		name += strspn(name, " \t");
		name[strcspn(name, " \t\r")] = '\0';
		if (*name && *name != '#' && !strchr(name, '/'))
			return name;
	}
	return NULL;
}

int agent_modules_load(const char *dir, const char *list_name, bool strict, struct vc_error *err)
{
	_cleanup_free_ char *list_path = vc_strdup_printf("%s/%s", dir, list_name);
	_cleanup_free_ char *list = NULL;
	if (!list_path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_read_file(list_path, 1 << 20, &list, NULL, NULL) < 0) {
		agent_dbg("no %s: no modules loaded", list_path);
		return 0; /* built into the kernel, or not in this image */
	}
	char *save = NULL;
	for (char *name = list_next(list, &save); name; name = list_next(NULL, &save)) {
		_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, name);
		if (!path)
			return vc_error_set(err, ENOMEM, "out of memory");
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		int e = 0;
		if (fd < 0)
			e = errno;
		else if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			e = errno;
		if (!e) {
			agent_dbg("loaded module %s", name);
			continue;
		}
		if (strict)
			return vc_error_sys(err, e, "load module %s", path);
		agent_warn("load module %s: %s", path, strerror(e));
	}
	return 0;
}

/* The modules loaded on demand (MODULES_DIR/NAME.load-order and those it lists, e.g.
 * vfio's for a container in vfio mode) outlive the initramfs without a copy: PID 1
 * keeps each file open (an unlinked file lives while it is open), the list moves to
 * the new root, and each module there is a link to /proc/PID/fd/N, which opens the
 * file itself. Copying them instead cost 15-23 ms of boot under TCG. */
static int keep_on_demand_modules(struct vc_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(MODULES_DIR);
	if (!d)
		return 0;
	const char *to_dir = NEWROOT MODULES_DIR;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), suf = strlen(".load-order");
		if (n <= suf || strcmp(de->d_name + n - suf, ".load-order"))
			continue;
		char from[PATH_MAX], to[PATH_MAX], target[64];
		_cleanup_free_ char *list = NULL;
		snprintf(from, sizeof(from), "%s/%s", MODULES_DIR, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", to_dir, de->d_name);
		int r = vc_mkdir_p(to_dir, 0755, err);
		if (r == 0)
			r = vc_read_file(from, 1 << 16, &list, NULL, err);
		if (r == 0)
			r = vc_write_file(to, list, strlen(list), err);
		char *save = NULL;
		for (char *name = r == 0 ? list_next(list, &save) : NULL; name && r == 0;
		     name = list_next(NULL, &save)) {
			snprintf(from, sizeof(from), "%s/%s", MODULES_DIR, name);
			snprintf(to, sizeof(to), "%s/%s", to_dir, name);
			int fd = open(from, O_RDONLY | O_CLOEXEC); /* held for good */
			if (fd < 0)
				r = vc_error_sys(err, errno, "open %s", from);
			snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), fd);
			if (r == 0 && symlink(target, to) < 0)
				r = vc_error_sys(err, errno, "symlink %s", to);
		}
		if (r < 0)
			return r;
		agent_dbg("kept the modules of %s", de->d_name);
	}
	return 0;
}

/* Frees the initramfs's memory: everything on it but the new root goes. */
static void clear_initramfs(void)
{
	_cleanup_closedir_ DIR *d = opendir("/");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, NEWROOT + 1))
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/%s", de->d_name);
		struct vc_error err = {0};
		if (vc_rm_rf(path, &err) < 0)
			agent_dbg("initramfs cleanup: %s", err.msg);
	}
}

/* What switch_root does: a tmpfs root that pivot_root can later leave. */
static int switch_root(struct vc_error *err)
{
	int r = mount_fs("tmpfs", NEWROOT, "tmpfs", 0, "mode=0755", err);
	if (r < 0)
		return r;
	static const char *const dirs[] = {"dev", "proc", "sys", "run", "tmp"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(dirs); i++) {
		char path[64];
		snprintf(path, sizeof(path), NEWROOT "/%s", dirs[i]);
		if (mkdir(path, i == 4 ? 01777 : 0755) < 0 && errno != EEXIST)
			return vc_error_sys(err, errno, "mkdir %s", path);
		if (i < 3) {
			char from[16];
			snprintf(from, sizeof(from), "/%s", dirs[i]);
			if (mount(from, path, NULL, MS_MOVE, NULL) < 0)
				return vc_error_sys(err, errno, "move %s to %s", from, path);
		}
	}
	if (keep_on_demand_modules(err) < 0)
		agent_warn("on-demand modules: %s", err->msg);
	clear_initramfs();
	if (chdir(NEWROOT) < 0)
		return vc_error_sys(err, errno, "chdir " NEWROOT);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return vc_error_sys(err, errno, "move " NEWROOT " to /");
	if (chroot(".") < 0 || chdir("/") < 0)
		return vc_error_sys(err, errno, "chroot " NEWROOT);
	return 0;
}

static int late_mounts(struct vc_error *err)
{
	int r = mount_fs("cgroup2", "/sys/fs/cgroup", "cgroup2",
			 MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, NULL, err);
	if (r == 0)
		r = mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			     "newinstance,ptmxmode=0666,mode=0620", err);
	if (r == 0)
		r = mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err);
	if (r == 0)
		r = mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err);
	if (r == 0 &&
	    mount_fs("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", err) < 0)
		agent_warn("%s", err->msg); /* containers bring their own /dev/shm */
	if (r == 0 && symlink("pts/ptmx", "/dev/ptmx") < 0 && errno != EEXIST)
		agent_dbg("symlink /dev/ptmx: %s", strerror(errno));
	return r;
}

static int open_serial(struct vc_error *err)
{
	/* the port appears once virtio_console has probed it: keep trying */
	for (unsigned i = 0;; i++) {
		int fd = vc_transport_open_serial("/sys", "/dev", VC_AGENT_SERIAL_NAME, err);
		if (fd >= 0)
			return fd;
		if (i % 500 == 499)
			agent_warn("still waiting for the agent port: %s", err->msg);
		sleep_ms(20);
	}
}

static int reopen_serial(void *ctx, struct vc_error *err)
{
	(void)ctx;
	return open_serial(err);
}

static int accept_vsock(void *ctx, struct vc_error *err)
{
	int lfd = *(int *)ctx;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED)
			return vc_error_sys(err, errno, "accept on vsock port %u",
					    VC_AGENT_VSOCK_PORT);
	}
}

void agent_boot(void)
{
	struct vc_error err = {0};
	struct boot_cmdline cmd;
	umask(0022);
	if (mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", &err) < 0)
		fatal(&err, "boot");
	console_stdio();
	if (mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &err) < 0 ||
	    mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, &err) < 0)
		fatal(&err, "boot");
	parse_cmdline(&cmd);
	agent_log_set_debug(cmd.debug);
	agent_info("vcrun-agent %s starting (channel %s)", VC_VERSION,
		   cmd.vsock ? "vsock" : "serial");
	agent_modules_load(MODULES_DIR, "load-order", false, NULL);
	load_module_sets(cmd.modules);
	if (cmd.poweroff)
		agent_poweroff("vcrun.poweroff=1");
	if (switch_root(&err) < 0 || late_mounts(&err) < 0)
		fatal(&err, "boot");
	if (agent_net_lo_up(&err) < 0)
		agent_warn("lo: %s", err.msg);

	int listen_fd = -1;
	struct agent_options opts = {.cgroup_root = "/sys/fs/cgroup/vcrun"};
	int fd;
	if (cmd.vsock) {
		listen_fd = vc_transport_listen_vsock(VC_AGENT_VSOCK_PORT, &err);
		if (listen_fd < 0)
			fatal(&err, "vsock");
		opts.reopen = accept_vsock;
		opts.reopen_ctx = &listen_fd;
		fd = accept_vsock(&listen_fd, &err);
	} else {
		opts.hangup_is_transient = true;
		opts.reopen = reopen_serial;
		fd = open_serial(&err);
	}
	if (fd < 0)
		fatal(&err, "channel");
	agent_info("channel open; serving");
	agent_serve(fd, &opts);
	agent_poweroff("agent stopped serving");
}
