#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

int vc_read_fd(int fd, size_t max, char **out, size_t *len, struct vc_error *err)
{
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				return vc_error_set(err, EFBIG, "larger than %zu bytes", max);
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return vc_error_set(err, ENOMEM, "out of memory");
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vc_error_sys(err, errno, "read");
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = steal_ptr(buf);
	return 0;
}

int vc_read_file(const char *path, size_t max, char **out, size_t *len, struct vc_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", path);
	int r = vc_read_fd(fd, max, out, len, err);
	if (r < 0)
		return vc_error_wrap(err, "read `%s`", path);
	return 0;
}

int vc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t vc_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int vc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct vc_error *err)
{
	_cleanup_free_ char *tmp = vc_strdup_printf("%s.tmp.%d", path, (int)getpid());
	if (!tmp)
		return vc_error_set(err, ENOMEM, "out of memory");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vc_error_sys(err, errno, "create `%s`", tmp);
	int r = vc_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return vc_error_sys(err, -r, "write `%s`", path);
	}
	return 0;
}

int vc_write_file(const char *path, const void *data, size_t len, struct vc_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", path);
	int r = vc_write_all(fd, data, len);
	if (r < 0)
		return vc_error_sys(err, -r, "write `%s`", path);
	return 0;
}

int vc_mkdir_p(const char *path, mode_t mode, struct vc_error *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return vc_error_set(err, ENAMETOOLONG, "bad directory path `%s`", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return vc_error_sys(err, errno, "mkdir `%s`", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return vc_error_sys(err, errno, "mkdir `%s`", buf);
	return 0;
}

/* The mount a path is on: a bind mount of the same file system shares st_dev with
 * its parent, so only the mount id tells that a directory is someone's data (a
 * container's rootfs bound into a sandbox share) and not ours to remove. */
static uint64_t mount_id_at(int dfd, const char *name)
{
	struct statx sx;
	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev, uint64_t mnt, struct vc_error *err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "stat `%s`", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return vc_error_sys(err, errno, "unlink `%s`", name);
		return 0;
	}
	if (st.st_dev != dev || (mnt && mount_id_at(dfd, name) != mnt))
		return vc_error_set(err, EBUSY, "`%s` is a mount point", name);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", name);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vc_error_sys(err, errno, "opendir `%s`", name);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = rm_rf_at(dirfd(d), de->d_name, dev, mnt, err);
		if (r < 0)
			return r;
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return vc_error_sys(err, errno, "rmdir `%s`", name);
	return 0;
}

int vc_rm_rf(const char *path, struct vc_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "stat `%s`", path);
	int r = rm_rf_at(AT_FDCWD, path, st.st_dev, mount_id_at(AT_FDCWD, path), err);
	if (r < 0)
		return vc_error_wrap(err, "remove `%s`", path);
	return 0;
}

int vc_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -errno;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int vc_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

char *vc_strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

size_t vc_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char *vc_strv_join(char *const *v, const char *sep)
{
	size_t len = 1, n = vc_strv_len(v);
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + (i ? strlen(sep) : 0);
	char *out = malloc(len), *p = out;
	for (size_t i = 0; out && i < n; i++)
		p = stpcpy(stpcpy(p, i ? sep : ""), v[i]);
	if (out)
		*p = '\0';
	return out;
}

int vc_strv_push(char ***v, const char *s)
{
	size_t n = vc_strv_len(*v);
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[n] = copy;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

unsigned long long vc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

void vc_format_rfc3339_nano(char *buf, size_t len, long long sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, nsec);
}

static const struct {
	const char *name;
	int num;
} signals[] = {
	{"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},	{"SIGQUIT", SIGQUIT},
	{"SIGILL", SIGILL},   {"SIGTRAP", SIGTRAP},	{"SIGABRT", SIGABRT},
	{"SIGIOT", SIGIOT},   {"SIGBUS", SIGBUS},	{"SIGFPE", SIGFPE},
	{"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},	{"SIGSEGV", SIGSEGV},
	{"SIGUSR2", SIGUSR2}, {"SIGPIPE", SIGPIPE},	{"SIGALRM", SIGALRM},
	{"SIGTERM", SIGTERM}, {"SIGSTKFLT", SIGSTKFLT}, {"SIGCHLD", SIGCHLD},
	{"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP},	{"SIGTSTP", SIGTSTP},
	{"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},	{"SIGURG", SIGURG},
	{"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},	{"SIGVTALRM", SIGVTALRM},
	{"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},	{"SIGIO", SIGIO},
	{"SIGPOLL", SIGPOLL}, {"SIGPWR", SIGPWR},	{"SIGSYS", SIGSYS},
};

int vc_signal_parse(const char *s)
{
	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '9') {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end || v <= 0 || v >= _NSIG)
			return -EINVAL;
		return (int)v;
	}
	const char *n = s;
	if (!strncasecmp(n, "SIG", 3))
		n += 3;
	for (size_t i = 0; i < VC_ARRAY_SIZE(signals); i++)
		if (!strcasecmp(n, signals[i].name + 3))
			return signals[i].num;
	if (!strncasecmp(n, "RTMIN", 5) || !strncasecmp(n, "RTMAX", 5)) {
		int base = !strncasecmp(n, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
		const char *rest = n + 5;
		if (!*rest)
			return base;
		char *end;
		long off = strtol(rest, &end, 10);
		if (*end)
			return -EINVAL;
		long v = base + off;
		if (v < SIGRTMIN || v > SIGRTMAX)
			return -EINVAL;
		return (int)v;
	}
	return -EINVAL;
}

const char *vc_signal_name(int sig)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(signals); i++)
		if (signals[i].num == sig)
			return signals[i].name;
	return NULL;
}

int vc_container_id_check(const char *id, struct vc_error *err)
{
	if (!id || !*id)
		return vc_error_set(err, EINVAL, "container id cannot be empty");
	if (!strcmp(id, ".") || !strcmp(id, ".."))
		return vc_error_set(err, EINVAL, "invalid container id `%s`", id);
	if (strlen(id) > 1024)
		return vc_error_set(err, EINVAL, "container id is longer than 1024 bytes");
	for (const char *p = id; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
			  ch == '+';
		if (!ok)
			return vc_error_set(err, EINVAL,
					    "invalid container id `%s`: only letters, digits and "
					    "`_ - . +` are allowed",
					    id);
	}
	return 0;
}
