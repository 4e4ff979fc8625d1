#include "common/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int vc_sysfs_write(const char *path, const char *value, struct vc_error *err)
{
	_cleanup_free_ char *line = vc_strdup_printf("%s\n", value);
	if (!line)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vc_error_sys(err, errno, "open `%s`", path);
	/* A sysfs store sees one write() whole; a short write is a failure. */
	ssize_t n = write(fd, line, strlen(line));
	if (n < 0)
		return vc_error_sys(err, errno, "write `%s` to `%s`", value, path);
	if ((size_t)n != strlen(line))
		return vc_error_set(err, EIO, "write `%s` to `%s`: short write", value, path);
	return 0;
}

int vc_sysfs_link_name(const char *path, char **name, struct vc_error *err)
{
	char target[PATH_MAX];
	*name = NULL;
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0 && errno == ENOENT)
		return 0;
	if (n < 0)
		return vc_error_sys(err, errno, "readlink `%s`", path);
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	const char *base = strrchr(target, '/');
	*name = strdup(base ? base + 1 : target);
	if (!*name)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

bool vc_sysfs_parse_index(const char *s, unsigned *out)
{
	if (!s || !*s || (s[0] == '0' && s[1]))
		return false;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > INT_MAX)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

char *vc_sysfs_devname(const char *sysfs_root, bool block, unsigned maj, unsigned min)
{
	_cleanup_free_ char *uevent =
		vc_strdup_printf("%s/dev/%s/%u:%u/uevent", sysfs_root ? sysfs_root : "/sys",
				 block ? "block" : "char", maj, min);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!uevent || vc_read_file(uevent, 64 << 10, &text, &len, NULL) < 0)
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, "DEVNAME=", 8))
			return l[8] && l[8] != '/' && !strstr(l + 8, "..") ? strdup(l + 8) : NULL;
	return NULL;
}

int vc_sysfs_block_node(const char *sysfs_root, const char *dev_root, unsigned maj, unsigned min,
			char **node)
{
	*node = NULL;
	_cleanup_free_ char *name = vc_sysfs_devname(sysfs_root, true, maj, min);
	if (!name)
		return -ENODEV;
	*node = vc_strdup_printf("%s/%s", dev_root ? dev_root : "/dev", name);
	if (!*node)
		return -ENOMEM;
	struct stat st;
	if (stat(*node, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != makedev(maj, min))
		return -ENOTBLK;
	return 0;
}
