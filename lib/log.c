/* Log lines shaped like runc's (logrus): callers such as containerd read the last
 * "level":"error" line of --log to show why a call failed, and people compare our
 * stderr with runc's. Each line leaves in one write(2) on an O_APPEND fd, so the
 * lines of concurrent vcrun processes sharing one --log never interleave. */
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

static struct {
	int fd;
	char *path;
	enum vc_log_format format;
	bool debug;
	int tty;	     /* -1: not yet known */
	long long start_sec; /* for the "[0000]" seconds column of terminal output */
} logger = {.fd = STDERR_FILENO, .tty = -1, .start_sec = -1};

/* logrus level names; "warning", not "warn". */
static const char *const level_names[] = {
	[VC_LOG_DEBUG] = "debug",
	[VC_LOG_INFO] = "info",
	[VC_LOG_WARN] = "warning",
	[VC_LOG_ERROR] = "error",
};

static const char *const level_tags[] = {
	[VC_LOG_DEBUG] = "DEBU",
	[VC_LOG_INFO] = "INFO",
	[VC_LOG_WARN] = "WARN",
	[VC_LOG_ERROR] = "ERRO",
};

static const int level_colors[] = {
	[VC_LOG_DEBUG] = 37,
	[VC_LOG_INFO] = 36,
	[VC_LOG_WARN] = 33,
	[VC_LOG_ERROR] = 31,
};

static long long monotonic_sec(void)
{
	return (long long)(vc_now_ns() / 1000000000ULL);
}

int vc_log_init(const char *path, enum vc_log_format fmt, bool debug)
{
	int r = 0;

	if (logger.fd != STDERR_FILENO && logger.fd >= 0)
		close(logger.fd);
	free(logger.path);
	logger.path = NULL;
	logger.fd = STDERR_FILENO;
	logger.format = fmt;
	logger.debug = debug;
	logger.start_sec = monotonic_sec();

	if (path && *path) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0) {
			r = -errno;
		} else {
			char *copy = strdup(path);
			if (!copy) {
				close(fd);
				r = -ENOMEM;
			} else {
				logger.fd = fd;
				logger.path = copy;
			}
		}
	}
	logger.tty = -1;
	return r;
}

int vc_log_fd(void)
{
	return logger.fd;
}

const char *vc_log_path(void)
{
	return logger.path;
}

enum vc_log_format vc_log_format_get(void)
{
	return logger.format;
}

bool vc_log_debug_enabled(void)
{
	return logger.debug;
}

/* Go's time.RFC3339 in local time: "2006-01-02T15:04:05Z" or "...+01:00". */
static void format_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00Z");
		return;
	}
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	long off = tm.tm_gmtoff;
	if (off == 0) {
		snprintf(buf + n, len - n, "Z");
	} else {
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		snprintf(buf + n, len - n, "%c%02ld:%02ld", sign, off / 3600, (off % 3600) / 60);
	}
}

/* A growable line buffer; on allocation failure it stops growing and the line is
 * written truncated rather than lost. */
struct line {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void line_add(struct line *l, const char *s, size_t n)
{
	if (l->failed)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap < l->len + n + 1)
			cap *= 2;
		char *nb = realloc(l->buf, cap);
		if (!nb) {
			l->failed = true;
			return;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void line_puts(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

static void line_printf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_printf(struct line *l, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_add(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* logrus quotes a text value unless it is made of [A-Za-z0-9-._/@^+] only. */
static bool needs_quoting(const char *s)
{
	if (!*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._/@^+", c)))
			return true;
	}
	return false;
}

/* Go's strconv.Quote for the bytes that matter here; UTF-8 passes through. */
static void line_add_quoted(struct line *l, const char *s)
{
	line_add(l, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			line_add(l, "\\\"", 2);
			break;
		case '\\':
			line_add(l, "\\\\", 2);
			break;
		case '\n':
			line_add(l, "\\n", 2);
			break;
		case '\t':
			line_add(l, "\\t", 2);
			break;
		case '\r':
			line_add(l, "\\r", 2);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				line_printf(l, "\\x%02x", *p);
			else
				line_add(l, (const char *)p, 1);
		}
	}
	line_add(l, "\"", 1);
}

static void format_text(struct line *l, enum vc_log_level level, const char *msg)
{
	char ts[64];
	format_time(ts, sizeof(ts));
	line_puts(l, "time=\"");
	line_puts(l, ts);
	line_puts(l, "\" level=");
	line_puts(l, level_names[level]);
	line_puts(l, " msg=");
	if (needs_quoting(msg))
		line_add_quoted(l, msg);
	else
		line_puts(l, msg);
}

static void format_terminal(struct line *l, enum vc_log_level level, const char *msg)
{
	long long elapsed = logger.start_sec < 0 ? 0 : monotonic_sec() - logger.start_sec;
	line_printf(l, "\x1b[%dm%s\x1b[0m[%04lld] ", level_colors[level], level_tags[level],
		    elapsed);
	line_puts(l, msg);
	/* logrus pads the message to 44 columns before its (here absent) fields. */
	for (size_t n = strlen(msg); n < 44; n++)
		line_add(l, " ", 1);
	line_add(l, " ", 1);
}

static void format_json(struct line *l, enum vc_log_level level, const char *msg)
{
	char ts[64];
	format_time(ts, sizeof(ts));
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	if (g) {
		vc_jgen_object_open(g);
		vc_jgen_kv_string(g, "level", level_names[level]);
		vc_jgen_kv_string(g, "msg", msg);
		vc_jgen_kv_string(g, "time", ts);
		vc_jgen_object_close(g);
		if (vc_jgen_finish(g, &out, &len, NULL) == 0) {
			line_add(l, out, len);
			return;
		}
	}
	/* Out of memory: a fixed line still tells the reader something failed. */
	line_printf(l, "{\"level\":\"%s\",\"msg\":\"(log message lost)\",\"time\":\"%s\"}",
		    level_names[level], ts);
}

void vc_log(enum vc_log_level level, const char *fmt, ...)
{
	if (level < VC_LOG_DEBUG || level > VC_LOG_ERROR)
		level = VC_LOG_ERROR;
	if (level == VC_LOG_DEBUG && !logger.debug)
		return;

	int saved_errno = errno;
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);

	/* logrus colours its text output only when it goes to a terminal. */
	if (logger.tty < 0)
		logger.tty = isatty(logger.fd) == 1;
	struct line l = {0};
	const char *text = msg ? msg : "(log message lost: out of memory)";
	if (logger.format == VC_LOG_JSON)
		format_json(&l, level, text);
	else if (logger.tty)
		format_terminal(&l, level, text);
	else
		format_text(&l, level, text);
	line_add(&l, "\n", 1);
	if (l.buf)
		(void)vc_write_all(logger.fd, l.buf, l.len);
	free(l.buf);
	errno = saved_errno;
}
