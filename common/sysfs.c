#include "common/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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
