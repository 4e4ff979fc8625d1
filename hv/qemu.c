/* Starting and stopping a QEMU VM (and its virtiofsd helpers). */
#include "hv/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* How long QEMU may take to answer its first QMP command (30-200 ms here under
 * TCG; a loaded CI host is slower). */
#define HV_START_TIMEOUT_MS 10000
/* virtiofsd exits by itself once QEMU is gone; this is how long we wait for it. */
#define HV_HELPER_GRACE_MS 1000

static int open_log(const char *path, struct vc_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", path);
	return fd;
}

static void unlink_quiet(const char *path)
{
	if (path)
		unlink(path);
}

/* A listening socket made before virtiofsd starts and handed to it as fd 3
 * (--fd=3): QEMU can connect the moment virtiofsd exists, with no race against
 * virtiofsd's own bind/listen and no probe connection that virtiofsd would take
 * for QEMU's. */
static int listen_unix(const char *path, struct vc_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vc_error_set(err, ENAMETOOLONG, "socket path `%s` is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vc_error_sys(err, errno, "socket for `%s`", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vc_error_sys(err, errno, "bind `%s`", path);
	if (chmod(path, 0600) < 0 || listen(fd, 1) < 0)
		return vc_error_sys(err, errno, "listen on `%s`", path);
	return steal_fd(fd);
}

/* fuse -o values are comma-separated; a backslash escapes the next character. */
static char *fuse_opt_escape(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static int start_virtiofsd(const struct vc_hv_config *cfg, const char *program, size_t i,
			   char **sock_out, pid_t *pid, struct vc_error *err)
{
	_cleanup_free_ char *sock =
		vc_strdup_printf("%s/" HV_VIRTIOFSD_FMT ".sock", cfg->state_dir, i);
	_cleanup_free_ char *log =
		vc_strdup_printf("%s/" HV_VIRTIOFSD_FMT ".log", cfg->state_dir, i);
	_cleanup_free_ char *src = fuse_opt_escape(cfg->shares[i].host_path);
	_cleanup_free_ char *src_opt = src ? vc_strdup_printf("source=%s", src) : NULL;
	if (!sock || !log || !src_opt)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int lfd = listen_unix(sock, err);
	if (lfd < 0)
		return lfd;
	_cleanup_close_ int logfd = open_log(log, err);
	if (logfd < 0)
		return logfd;
	/* Read-only shares are enforced by the guest's read-only mount: this
	 * virtiofsd (QEMU 7.2's C one) has no read-only option. */
	char *argv[] = {(char *)program,
			"--fd=3",
			"-o",
			src_opt,
			"-o",
			"cache=auto",
			cfg->confine ? "-o" : NULL,
			"sandbox=chroot",
			NULL};
	struct hv_jail jail = {0};
	struct hv_spawn_opts o = {.out_fd = logfd, .fds = &lfd, .n_fds = 1, .netns_fd = -1};
	int r = cfg->confine ? hv_jail_plan_virtiofsd(cfg, program, i, &jail, err) : 0;
	if (r == 0) {
		o.jail = cfg->confine ? &jail : NULL;
		r = hv_spawn_with(argv, &o, pid, err);
	}
	hv_jail_free(&jail);
	if (r < 0) {
		unlink(sock);
		return vc_error_wrap(err, "virtiofsd for shares[%zu]", i);
	}
	*sock_out = steal_ptr(sock);
	return 0;
}

static int qemu_exited(pid_t *pid, const char *log, struct vc_error *err)
{
	int st;
	if (waitpid(*pid, &st, WNOHANG) != *pid)
		return 0;
	*pid = 0;
	_cleanup_free_ char *tail = hv_file_tail(log, 5);
	if (WIFEXITED(st))
		return vc_error_set(err, ECHILD, "qemu exited with status %d at start: %s",
				    WEXITSTATUS(st), tail ? tail : "");
	return vc_error_set(err, ECHILD, "qemu was killed by signal %d at start: %s", WTERMSIG(st),
			    tail ? tail : "");
}

/* Ready means a QMP command has been answered. Not the socket, not the greeting:
 * QEMU creates its sockets early and greets from its monitor I/O thread before
 * the machine exists, but runs commands in its main loop, which starts only once
 * the kernel is loaded and every device (vhost-user included) is realized. So an
 * error in any of those is seen here and not after vc_hv_start has returned. */
static int wait_ready(const char *qmp, pid_t *pid, const char *log, struct vc_error *err)
{
	long long deadline = hv_now_ms() + HV_START_TIMEOUT_MS;
	for (;;) {
		struct vc_error qerr = {0};
		int q = vc_hv_qmp_execute(qmp, "query-status", NULL, hv_left_ms(deadline) + 1, NULL,
					  &qerr);
		int r = qemu_exited(pid, log, err);
		if (r < 0)
			return r;
		if (q == 0)
			return 0;
		if (hv_left_ms(deadline) == 0) {
			_cleanup_free_ char *tail = hv_file_tail(log, 5);
			return vc_error_set(
				err, ETIMEDOUT,
				"qemu did not answer on its QMP socket `%s` within %d ms "
				"(%s): %s",
				qmp, HV_START_TIMEOUT_MS, qerr.msg, tail ? tail : "");
		}
		/* Not there yet, or closed on the way out: the next round tells. */
		usleep(5000);
	}
}

static void kill_all(struct vc_hv *hv)
{
	if (hv->pid > 0 && kill(hv->pid, SIGKILL) == 0)
		hv_wait_gone(hv->pid, 5000, NULL);
	hv->pid = 0;
	for (size_t i = 0; i < hv->n_helpers; i++) {
		if (hv->helper_pids[i] > 0 && kill(hv->helper_pids[i], SIGKILL) == 0)
			hv_wait_gone(hv->helper_pids[i], 5000, NULL);
		hv->helper_pids[i] = 0;
	}
}

static void remove_sockets(struct vc_hv *hv)
{
	unlink_quiet(hv->qmp_path);
	unlink_quiet(hv->agent_path);
	for (size_t i = 0; hv->helper_sockets && i < hv->n_helpers; i++)
		unlink_quiet(hv->helper_sockets[i]);
}

static int check_shares(const struct vc_hv_config *cfg, struct vc_error *err)
{
	for (size_t i = 0; i < cfg->n_shares; i++) {
		struct stat st;
		if (stat(cfg->shares[i].host_path, &st) < 0)
			return vc_error_sys(err, errno, "shares[%zu].host_path: `%s`", i,
					    cfg->shares[i].host_path);
		if (!S_ISDIR(st.st_mode))
			return vc_error_set(err, ENOTDIR,
					    "shares[%zu].host_path: `%s` is not a directory", i,
					    cfg->shares[i].host_path);
	}
	return 0;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* What a confined QEMU would have opened by path, opened here (HV_FD_* order). */
static int open_confined_fds(const struct vc_hv_config *cfg, const struct vc_hv *hv, int *fds,
			     struct vc_error *err)
{
	int r;
	if ((r = fds[HV_FD_QMP - 3] = listen_unix(hv->qmp_path, err)) < 0)
		return r;
	if (cfg->channel == VC_CHANNEL_SERIAL) {
		if ((r = fds[HV_FD_AGENT - 3] = listen_unix(hv->agent_path, err)) < 0)
			return r;
	} else if ((fds[HV_FD_AGENT - 3] = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC)) < 0) {
		return vc_error_sys(err, errno, "open /dev/vhost-vsock");
	}
	if ((r = fds[HV_FD_CONSOLE - 3] = open_log(hv->console_path, err)) < 0)
		return r;
	for (size_t i = 0; i < cfg->n_nics; i++) {
		if ((r = hv_tap_open(cfg->netns_path, cfg->nics[i].tap, &fds[hv_fd_nic(cfg, i) - 3],
				     err)) < 0)
			return vc_error_wrap(err, "nics[%zu]", i);
	}
	for (size_t i = 0; cfg->fs == VC_FS_VIRTIOFS && i < cfg->n_shares; i++) {
		int fd = hv_unix_connect(hv->helper_sockets[i]);
		if (fd < 0)
			return vc_error_sys(err, -fd, "connect to virtiofsd `%s`",
					    hv->helper_sockets[i]);
		fds[hv_fd_vfsd(cfg, i) - 3] = fd;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			return vc_error_sys(err, errno, "virtiofsd socket");
	}
	for (size_t i = 0; i < cfg->n_blks; i++) {
		const struct vc_hv_blk *b = &cfg->blks[i];
		int fd = open(b->path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return vc_error_sys(err, errno, "blks[%zu]: `%s`", i, b->path);
		fds[hv_fd_blk(cfg, i) - 3] = fd;
	}
	/* A template's RAM file: the template's QEMU writes it, its clones map it
	 * privately, each under a uid of its own, all in the group hv_uid_base. */
	if (cfg->mem_path) {
		_cleanup_close_ int fd =
			open(cfg->mem_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
		if (fd < 0 || (cfg->hv_uid_base && fchown(fd, 0, cfg->hv_uid_base) < 0) ||
		    fchmod(fd, 0660) < 0)
			return vc_error_sys(err, errno, "mem_path: `%s`", cfg->mem_path);
	}
	return 0;
}

static int spawn_qemu(const struct vc_hv_config *cfg, struct vc_hv *hv, char **argv, int logfd,
		      int netns, struct vc_error *err)
{
	struct hv_spawn_opts o = {.out_fd = logfd,
				  .netns_fd = netns,
				  .bound = cfg->bound,
				  .no_thp = cfg->mem_private};
	if (!cfg->confine)
		return hv_spawn_with(argv, &o, &hv->pid, err);
	size_t n = (size_t)hv_fd_count(cfg);
	_cleanup_free_ int *fds = malloc(n * sizeof(int));
	if (!fds)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	struct hv_jail jail = {0};
	/* The fds first: they make the template's RAM file that the jail binds. */
	int r = open_confined_fds(cfg, hv, fds, err);
	if (r == 0)
		r = hv_jail_plan(cfg, argv[0], &jail, err);
	if (r == 0) {
		o.fds = fds;
		o.n_fds = n;
		o.jail = &jail;
		r = hv_spawn_with(argv, &o, &hv->pid, err);
	}
	/* Ours closed: a QEMU that dies takes its listening sockets with it, so a
	 * caller's connect fails at once instead of waiting in a backlog. */
	close_fds(fds, n);
	hv_jail_free(&jail);
	return r;
}

static int start(const struct vc_hv_config *cfg, struct vc_hv *hv, struct vc_error *err)
{
	_cleanup_strv_ char **argv = NULL;
	int r = vc_hv_qemu_argv(cfg, &argv, err);
	if (r < 0)
		return r;
	if ((r = check_shares(cfg, err)) < 0)
		return r;
	char *qemu = NULL;
	if ((r = hv_find_program(argv[0], &qemu, err)) < 0)
		return vc_error_wrap(err, "qemu_path");
	free(argv[0]);
	argv[0] = qemu;
	if ((r = vc_mkdir_p(cfg->state_dir, 0700, err)) < 0)
		return r;

	hv->qmp_path = vc_strdup_printf("%s/" HV_QMP_SOCK, cfg->state_dir);
	hv->console_path = vc_strdup_printf("%s/" HV_CONSOLE_LOG, cfg->state_dir);
	hv->log_path = vc_strdup_printf("%s/" HV_QEMU_LOG, cfg->state_dir);
	if (cfg->channel == VC_CHANNEL_SERIAL)
		hv->agent_path = vc_strdup_printf("%s/" HV_AGENT_SOCK, cfg->state_dir);
	if (!hv->qmp_path || !hv->console_path || !hv->log_path ||
	    (cfg->channel == VC_CHANNEL_SERIAL && !hv->agent_path))
		return vc_error_set(err, ENOMEM, "out of memory");
	/* A stale socket from an earlier run would look ready. */
	remove_sockets(hv);

	if (cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0) {
		_cleanup_free_ char *vfsd = NULL;
		if ((r = hv_find_program(cfg->virtiofsd_path, &vfsd, err)) < 0)
			return vc_error_wrap(err, "virtiofsd_path");
		hv->helper_pids = calloc(cfg->n_shares, sizeof(pid_t));
		hv->helper_sockets = calloc(cfg->n_shares + 1, sizeof(char *));
		if (!hv->helper_pids || !hv->helper_sockets)
			return vc_error_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < cfg->n_shares; i++) {
			r = start_virtiofsd(cfg, vfsd, i, &hv->helper_sockets[i],
					    &hv->helper_pids[i], err);
			if (r < 0)
				return r;
			hv->n_helpers = i + 1;
		}
	}

	_cleanup_close_ int logfd = open_log(hv->log_path, err);
	if (logfd < 0)
		return logfd;
	/* QEMU would make the console log with its umask (0644): made here, 0600, it
	 * keeps our mode when QEMU opens it. */
	int confd = open_log(hv->console_path, err);
	if (confd < 0)
		return confd;
	close(confd);
	_cleanup_close_ int netns = -1;
	if (cfg->netns_path && (netns = open(cfg->netns_path, O_RDONLY | O_CLOEXEC)) < 0)
		return vc_error_sys(err, errno, "network namespace `%s`", cfg->netns_path);
	r = spawn_qemu(cfg, hv, argv, logfd, netns, err);
	if (r < 0)
		return vc_error_wrap(err, "qemu");
	if ((r = wait_ready(hv->qmp_path, &hv->pid, hv->log_path, err)) < 0)
		return r;
	/* Its sockets too, made before QMP answered: only their owner talks to them. */
	if (chmod(hv->qmp_path, 0600) < 0 || (hv->agent_path && chmod(hv->agent_path, 0600) < 0))
		return vc_error_sys(err, errno, "chmod the sockets in `%s`", cfg->state_dir);
	return 0;
}

int vc_hv_start(const struct vc_hv_config *cfg, struct vc_hv *hv, struct vc_error *err)
{
	memset(hv, 0, sizeof(*hv));
	hv->spare_first = vc_hv_spare_port_first(cfg);
	hv->n_spare = cfg->hotplug_ports;
	hv->hotplug_mem_mib = cfg->hotplug_mem_mib;
	hv->shared_mem = cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0;
	hv->accel = cfg->accel;
	hv->confined = cfg->confine;
	if (cfg->confine && cfg->netns_path && !(hv->netns_path = strdup(cfg->netns_path)))
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = start(cfg, hv, err);
	if (r < 0) {
		kill_all(hv);
		remove_sockets(hv);
		vc_hv_release(hv);
	}
	return r;
}

int vc_hv_stop(struct vc_hv *hv, int timeout_ms, struct vc_error *err)
{
	long long deadline = hv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r = 0;
	if (hv->pid > 0) {
		/* A QEMU that is already gone (the guest powered off) has removed its
		 * socket: the quit fails at connect and the wait below reaps it. */
		if (hv->qmp_path && hv_left_ms(deadline) > 0)
			vc_hv_qmp_execute(hv->qmp_path, "quit", NULL, hv_left_ms(deadline), NULL,
					  NULL);
		if (!hv_terminate(hv->pid, hv_left_ms(deadline)))
			r = vc_error_set(err, EBUSY, "qemu (pid %d) is still there after SIGKILL",
					 (int)hv->pid);
		else
			hv->pid = 0;
	}
	for (size_t i = 0; i < hv->n_helpers; i++) {
		if (hv->helper_pids[i] <= 0)
			continue;
		int grace = hv_left_ms(deadline);
		if (!hv_terminate(hv->helper_pids[i],
				  grace > HV_HELPER_GRACE_MS ? grace : HV_HELPER_GRACE_MS)) {
			if (r == 0)
				r = vc_error_set(err, EBUSY,
						 "virtiofsd (pid %d) is still there after SIGKILL",
						 (int)hv->helper_pids[i]);
		} else {
			hv->helper_pids[i] = 0;
		}
	}
	if (r == 0)
		remove_sockets(hv);
	return r;
}

void vc_hv_release(struct vc_hv *hv)
{
	if (!hv)
		return;
	free(hv->helper_pids);
	for (size_t i = 0; hv->helper_sockets && hv->helper_sockets[i]; i++)
		free(hv->helper_sockets[i]);
	free(hv->helper_sockets);
	free(hv->qmp_path);
	free(hv->agent_path);
	free(hv->console_path);
	free(hv->log_path);
	free(hv->plugged);
	free(hv->netns_path);
	memset(hv, 0, sizeof(*hv));
}
