/* Helpers the subcommands share: runc's way of reporting a failure, and paths. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/vcrun/commands.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/log.h"

int vc_cli_fail(const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	const char *text = msg ? msg : "out of memory";
	/* Help printed before the error reaches a shared terminal first, as in runc. */
	fflush(stdout);
	vc_err("%s", text);
	/* runc: the log record alone reaches a caller that reads stderr only when the
	 * log is stderr; otherwise the message is printed there as well. */
	if (vc_log_fd() != STDERR_FILENO)
		fprintf(stderr, "%s\n", text);
	return 1;
}

/* Lexical clean of an absolute path, in place (Go's filepath.Clean). */
static void clean_abs(char *p)
{
	char *out = p; /* p[0] == '/' */
	const char *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		size_t len = strcspn(in, "/");
		if (len == 1 && in[0] == '.') {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

char *vc_cli_abspath(const char *path)
{
	char *abs;
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		abs = vc_strdup_printf("%s/%s", cwd, path);
	}
	if (!abs) {
		errno = ENOMEM;
		return NULL;
	}
	clean_abs(abs);
	return abs;
}
