/* A minimal QMP client: one command per connection. QMP is line-delimited JSON:
 * a greeting, then one reply per command, with asynchronous events interleaved. */
#include "hv/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/json.h"

/* query-* replies can be long (query-qmp-schema is ~200 KiB); nothing sane is 1 MiB. */
#define QMP_LINE_MAX	       (1u << 20)
#define QMP_DEFAULT_TIMEOUT_MS 5000

static void qmp_close(struct hv_qmp *q)
{
	vc_closep(&q->fd);
	free(q->buf);
	q->buf = NULL;
	q->len = q->cap = 0;
}

static int qmp_poll(struct hv_qmp *q, short events, const char *what, struct vc_error *err)
{
	for (;;) {
		struct pollfd p = {.fd = q->fd, .events = events};
		int n = poll(&p, 1, hv_left_ms(q->deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vc_error_sys(err, errno, "QMP `%s`: poll", q->path);
		if (n == 0)
			return vc_error_set(err, ETIMEDOUT, "QMP `%s`: timed out waiting for %s",
					    q->path, what);
		return 0;
	}
}

static int qmp_connect(struct hv_qmp *q, struct vc_error *err)
{
	for (;;) {
		int fd = hv_unix_connect(q->path);
		if (fd >= 0) {
			q->fd = fd;
			return 0;
		}
		if (fd != -EAGAIN)
			return vc_error_sys(err, -fd, "QMP `%s`: connect", q->path);
		if (hv_left_ms(q->deadline) == 0)
			return vc_error_set(err, ETIMEDOUT, "QMP `%s`: connect: backlog full",
					    q->path);
		usleep(5000);
	}
}

static int qmp_send(struct hv_qmp *q, const char *text, struct vc_error *err)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		int r = qmp_poll(q, POLLOUT, "the socket to accept a command", err);
		if (r < 0)
			return r;
		/* MSG_NOSIGNAL: a QEMU that has just quit must not SIGPIPE the monitor. */
		ssize_t w = send(q->fd, text + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return vc_error_set(err, ECONNRESET,
					    "QMP `%s`: connection closed while sending a command",
					    q->path);
		if (w < 0)
			return vc_error_sys(err, errno, "QMP `%s`: send", q->path);
		off += (size_t)w;
	}
	return 0;
}

/* One line without its newline, malloc'd. */
static int qmp_read_line(struct hv_qmp *q, const char *what, char **line, struct vc_error *err)
{
	for (;;) {
		char *nl = q->buf ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->buf);
			*line = strndup(q->buf, n);
			if (!*line)
				return vc_error_set(err, ENOMEM, "out of memory");
			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			return 0;
		}
		if (q->len >= QMP_LINE_MAX)
			return vc_error_set(err, EMSGSIZE, "QMP `%s`: a line longer than %u bytes",
					    q->path, QMP_LINE_MAX);
		if (q->cap - q->len < 4096) {
			size_t cap = q->cap ? q->cap * 2 : 8192;
			if (cap > QMP_LINE_MAX + 4096)
				cap = QMP_LINE_MAX + 4096;
			char *nb = realloc(q->buf, cap);
			if (!nb)
				return vc_error_set(err, ENOMEM, "out of memory");
			q->buf = nb;
			q->cap = cap;
		}
		int r = qmp_poll(q, POLLIN, what, err);
		if (r < 0)
			return r;
		ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return vc_error_sys(err, errno, "QMP `%s`: read", q->path);
		if (n <= 0)
			return vc_error_set(err, ECONNRESET,
					    "QMP `%s`: connection closed while waiting for %s",
					    q->path, what);
		q->len += (size_t)n;
	}
}

static int qmp_read_object(struct hv_qmp *q, const char *what, struct vc_json **out,
			   struct vc_error *err)
{
	_cleanup_free_ char *line = NULL;
	int r = qmp_read_line(q, what, &line, err);
	if (r < 0)
		return r;
	_cleanup_json_ struct vc_json *v = NULL;
	r = vc_json_parse(line, strlen(line), "QMP reply", &v, err);
	if (r < 0)
		return vc_error_wrap(err, "QMP `%s`", q->path);
	if (v->type != VC_JSON_OBJECT)
		return vc_error_set(err, EPROTO, "QMP `%s`: a reply that is not a JSON object",
				    q->path);
	*out = steal_ptr(v);
	return 0;
}

/* The event a command waits for after its reply: DEVICE_DELETED of one device. */
struct qmp_wait {
	const char *event, *device;
	bool seen;
};

static void qmp_note_event(const struct vc_json *v, struct qmp_wait *w)
{
	const char *ev = vc_json_str(vc_json_get(v, "event"));
	const char *dev = vc_json_str(vc_json_get(vc_json_get(v, "data"), "device"));
	if (w && ev && !strcmp(ev, w->event) && dev && !strcmp(dev, w->device))
		w->seen = true;
}

/* Reads until the reply to the command just sent (and, with w, until its event):
 * other events are skipped. */
static int qmp_read_reply(struct hv_qmp *q, const char *command, char **reply, struct qmp_wait *w,
			  struct vc_error *err)
{
	bool answered = false;
	while (!answered || (w && !w->seen)) {
		_cleanup_json_ struct vc_json *v = NULL;
		int r = qmp_read_object(q, answered ? w->event : "a reply", &v, err);
		if (r < 0)
			return vc_error_wrap(err, "%s", command);
		struct vc_json *ret = vc_json_get(v, "return");
		if (ret && !answered) {
			answered = true;
			if (reply && (r = vc_json_serialize(ret, false, reply, NULL, err)) < 0)
				return r;
			continue;
		}
		struct vc_json *e = vc_json_get(v, "error");
		if (e && !answered) {
			const char *cls = vc_json_str(vc_json_get(e, "class"));
			const char *desc = vc_json_str(vc_json_get(e, "desc"));
			return vc_error_set(err, EIO, "QMP `%s`: %s: %s: %s", q->path, command,
					    cls ? cls : "Error", desc ? desc : "(no description)");
		}
		if (!vc_json_get(v, "event"))
			return vc_error_set(
				err, EPROTO,
				"QMP `%s`: %s: a reply with neither return, error nor event",
				q->path, command);
		qmp_note_event(v, w);
	}
	return 0;
}

static int qmp_command_text(const char *command, const char *args_json, char **out,
			    struct vc_error *err)
{
	_cleanup_json_ struct vc_json *args = NULL;
	if (args_json) {
		int r = vc_json_parse(args_json, strlen(args_json), "QMP arguments", &args, err);
		if (r < 0)
			return r;
		if (args->type != VC_JSON_OBJECT)
			return vc_error_set(err, EINVAL, "QMP arguments: not a JSON object");
	}
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "execute", command);
	if (args) {
		vc_jgen_key(g, "arguments");
		vc_jgen_value(g, args);
	}
	vc_jgen_object_close(g);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = vc_jgen_finish(g, &text, &len, err);
	if (r < 0)
		return r;
	*out = vc_strdup_printf("%s\n", text);
	return *out ? 0 : vc_error_set(err, ENOMEM, "out of memory");
}

int hv_qmp_open(struct hv_qmp *q, const char *path, int timeout_ms, struct vc_error *err)
{
	*q = (struct hv_qmp){
		.path = path,
		.fd = -1,
		.deadline = hv_now_ms() + (timeout_ms > 0 ? timeout_ms : QMP_DEFAULT_TIMEOUT_MS),
	};
	_cleanup_json_ struct vc_json *greeting = NULL;
	int r = qmp_connect(q, err);
	if (r == 0)
		r = qmp_read_object(q, "the greeting", &greeting, err);
	/* Seen once under load, right after a device_del on another connection: an
	 * event came before the greeting. Events are never an answer: skip them. */
	for (int skipped = 0; r == 0 && vc_json_get(greeting, "event") && skipped < 16; skipped++) {
		vc_json_free(greeting);
		greeting = NULL;
		r = qmp_read_object(q, "the greeting", &greeting, err);
	}
	if (r == 0 && !vc_json_get(greeting, "QMP")) {
		_cleanup_free_ char *text = NULL;
		vc_json_serialize(greeting, false, &text, NULL, NULL);
		r = vc_error_set(err, EPROTO,
				 "QMP `%s`: the greeting has no \"QMP\" member: %.160s", path,
				 text ? text : "");
	}
	if (r == 0)
		r = qmp_send(q, "{\"execute\":\"qmp_capabilities\"}\n", err);
	if (r == 0)
		r = qmp_read_reply(q, "qmp_capabilities", NULL, NULL, err);
	if (r < 0)
		qmp_close(q);
	return r;
}

int hv_qmp_call(struct hv_qmp *q, const char *command, const char *args_json, char **reply,
		struct vc_error *err)
{
	if (reply)
		*reply = NULL;
	_cleanup_free_ char *text = NULL;
	int r = qmp_command_text(command, args_json, &text, err);
	if (r == 0)
		r = qmp_send(q, text, err);
	if (r == 0)
		r = qmp_read_reply(q, command, reply, NULL, err);
	return r;
}

int hv_qmp_call_fd(struct hv_qmp *q, const char *command, const char *args_json, int fd,
		   char **reply, struct vc_error *err)
{
	if (reply)
		*reply = NULL;
	_cleanup_free_ char *text = NULL;
	int r = qmp_command_text(command, args_json, &text, err);
	if (r == 0)
		r = qmp_poll(q, POLLOUT, "the socket to accept an fd", err);
	if (r < 0)
		return r;
	/* QEMU takes the fd from the message that carries the command's first byte. */
	struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t w;
	do
		w = sendmsg(q->fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return vc_error_sys(err, errno, "QMP `%s`: %s", q->path, command);
	if ((size_t)w < iov.iov_len && (r = qmp_send(q, text + w, err)) < 0)
		return r;
	return qmp_read_reply(q, command, reply, NULL, err);
}

int hv_qmp_getfd(struct hv_qmp *q, const char *fdname, int fd, struct vc_error *err)
{
	_cleanup_free_ char *args = vc_strdup_printf("{\"fdname\":\"%s\"}", fdname);
	if (!args)
		return vc_error_set(err, ENOMEM, "out of memory");
	return hv_qmp_call_fd(q, "getfd", args, fd, NULL, err);
}

void hv_qmp_close(struct hv_qmp *q)
{
	qmp_close(q);
}

static int qmp_run(const char *qmp_path, const char *command, const char *args_json, int timeout_ms,
		   char **reply, struct qmp_wait *w, struct vc_error *err)
{
	if (reply)
		*reply = NULL;
	if (!qmp_path || !command || !*command)
		return vc_error_set(err, EINVAL, "QMP: no socket path or command");
	_cleanup_free_ char *text = NULL;
	int r = qmp_command_text(command, args_json, &text, err);
	if (r < 0)
		return r;

	struct hv_qmp q;
	r = hv_qmp_open(&q, qmp_path, timeout_ms, err);
	if (r < 0)
		return r;
	r = qmp_send(&q, text, err);
	if (r == 0)
		r = qmp_read_reply(&q, command, reply, w, err);
	qmp_close(&q);
	return r;
}

int vc_hv_qmp_execute(const char *qmp_path, const char *command, const char *args_json,
		      int timeout_ms, char **reply, struct vc_error *err)
{
	return qmp_run(qmp_path, command, args_json, timeout_ms, reply, NULL, err);
}

int hv_qmp_execute_wait(const char *qmp_path, const char *command, const char *args_json,
			const char *event, const char *device, int timeout_ms, struct vc_error *err)
{
	struct qmp_wait w = {.event = event, .device = device};
	return qmp_run(qmp_path, command, args_json, timeout_ms, NULL, &w, err);
}

int vc_hv_qmp_command(const char *qmp_path, const char *command, char **reply, struct vc_error *err)
{
	return vc_hv_qmp_execute(qmp_path, command, NULL, QMP_DEFAULT_TIMEOUT_MS, reply, err);
}
