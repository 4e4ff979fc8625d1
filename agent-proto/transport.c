/* Opening the byte channels that carry frames: Unix sockets (virtio-serial chardev),
 * AF_VSOCK, hybrid vsock, and the guest's virtio-serial port. */
#include "agent-proto/transport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "common/cleanup.h"
#include "common/util.h"

#define RETRY_INTERVAL_MS 10
/* "OK <port>\n" is at most 14 bytes; a longer line is not a hybrid vsock reply. */
#define HVSOCK_REPLY_MAX 64
/* How long the reply to CONNECT may take when the caller gave no timeout. */
#define HVSOCK_REPLY_DEFAULT_MS 1000
#define SERIAL_NAME_MAX		256

static unsigned long long deadline_in(int timeout_ms)
{
	return vc_now_ns() + (timeout_ms > 0 ? (unsigned long long)timeout_ms * 1000000ULL : 0);
}

static int ms_left(unsigned long long deadline)
{
	unsigned long long now = vc_now_ns();
	if (now >= deadline)
		return 0;
	unsigned long long ms = (deadline - now + 999999ULL) / 1000000ULL;
	return ms > 0x7fffffffULL ? 0x7fffffff : (int)ms;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool unix_retryable(int e)
{
	/* The socket does not exist yet, or nobody listens on it yet. */
	return e == ENOENT || e == ECONNREFUSED;
}

static bool vsock_retryable(int e)
{
	/* The guest (or its agent) is still booting. */
	return e == ECONNREFUSED || e == ECONNRESET || e == ETIMEDOUT || e == ENODEV ||
	       e == EHOSTUNREACH;
}

/* A fresh socket for each attempt: a socket whose connect failed cannot be reused. */
static int connect_retry(int family, const struct sockaddr *sa, socklen_t salen, int timeout_ms,
			 bool (*retryable)(int), const char *what, struct vc_error *err)
{
	unsigned long long deadline = deadline_in(timeout_ms);
	for (;;) {
		_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vc_error_sys(err, errno, "%s: socket", what);
		if (family == AF_VSOCK) {
			int left = ms_left(deadline);
			if (left < 1)
				left = 1;
			struct timeval tv = {.tv_sec = left / 1000,
					     .tv_usec = (left % 1000) * 1000};
			/* Best effort: without it the kernel's 2 s default applies. */
			(void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
					 sizeof(tv));
		}
		if (connect(fd, sa, salen) == 0)
			return steal_fd(fd);
		int e = errno;
		bool again = e == EINTR || retryable(e);
		int left = ms_left(deadline);
		if (!again || left == 0) {
			if (again && timeout_ms > 0)
				return vc_error_sys(err, e, "%s (tried for %d ms)", what,
						    timeout_ms);
			return vc_error_sys(err, e, "%s", what);
		}
		sleep_ms(left < RETRY_INTERVAL_MS ? left : RETRY_INTERVAL_MS);
	}
}

int vc_transport_connect_unix(const char *path, int timeout_ms, struct vc_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(sa.sun_path))
		return vc_error_set(err, ENAMETOOLONG,
				    "connect `%s`: a socket path must be 1 to %zu bytes", path,
				    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, n + 1);
	char what[sizeof(sa.sun_path) + 16];
	snprintf(what, sizeof(what), "connect `%s`", path);
	return connect_retry(AF_UNIX, (struct sockaddr *)&sa, sizeof(sa), timeout_ms,
			     unix_retryable, what, err);
}

int vc_transport_connect_vsock(uint32_t cid, uint32_t port, int timeout_ms, struct vc_error *err)
{
	/* Checked before any socket exists: vcrun may itself run in a guest, where
	 * CID 2 is the real host. */
	if (cid <= VMADDR_CID_HOST || cid == VMADDR_CID_ANY)
		return vc_error_set(err, EINVAL,
				    "vsock: refusing to connect to CID %u (0 is the hypervisor, 1 "
				    "local, 2 the host, %u any); a guest's CID is 3 or more",
				    cid, VMADDR_CID_ANY);
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	char what[64];
	snprintf(what, sizeof(what), "connect vsock CID %u port %u", cid, port);
	return connect_retry(AF_VSOCK, (struct sockaddr *)&sa, sizeof(sa), timeout_ms,
			     vsock_retryable, what, err);
}

/* Quotes what a peer sent, so an error message stays one printable line. */
static void quote(const char *in, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\n')
			o += (size_t)snprintf(out + o, outlen - o, "\\n");
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* Reads the reply line one byte at a time: whatever follows the newline already
 * belongs to the agent's stream. Returns the line length, or -errno with err set. */
static int hvsock_read_reply(int fd, const char *path, uint32_t port, unsigned long long deadline,
			     char *line, struct vc_error *err)
{
	size_t n = 0;
	char q[HVSOCK_REPLY_MAX * 4 + 1];
	for (;;) {
		int left = ms_left(deadline);
		if (left == 0) {
			quote(line, n, q, sizeof(q));
			return vc_error_set(
				err, ETIMEDOUT,
				"hybrid vsock `%s`: no reply to CONNECT %u in time (got "
				"\"%s\")",
				path, port, q);
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return vc_error_sys(err, errno, "hybrid vsock `%s`: poll", path);
		if (r <= 0)
			continue;
		char c;
		ssize_t k = read(fd, &c, 1);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* A reset is how a VMM with unread CONNECT bytes hangs up. */
		if (k < 0 && errno != ECONNRESET)
			return vc_error_sys(err, errno,
					    "hybrid vsock `%s`: read reply to CONNECT %u", path,
					    port);
		if (k <= 0) {
			quote(line, n, q, sizeof(q));
			return vc_error_set(
				err, ECONNRESET,
				"hybrid vsock `%s`: connection closed in reply to CONNECT "
				"%u (got \"%s\")",
				path, port, q);
		}
		line[n++] = c;
		if (c == '\n')
			break;
		if (n == HVSOCK_REPLY_MAX) {
			quote(line, n, q, sizeof(q));
			return vc_error_set(
				err, EPROTO,
				"hybrid vsock `%s`: no newline in the first %d bytes of the "
				"reply to CONNECT %u: \"%s\"",
				path, HVSOCK_REPLY_MAX, port, q);
		}
	}
	line[n] = '\0';
	if (n < 5 || strncmp(line, "OK ", 3)) {
		quote(line, n, q, sizeof(q));
		return vc_error_set(err, EPROTO,
				    "hybrid vsock `%s`: unexpected reply to CONNECT %u: \"%s\" "
				    "(want \"OK <port>\\n\")",
				    path, port, q);
	}
	return (int)n;
}

static int hvsock_attempt(const char *path, uint32_t port, int timeout_ms,
			  unsigned long long deadline, struct vc_error *err)
{
	_cleanup_close_ int fd = vc_transport_connect_unix(path, ms_left(deadline), err);
	if (fd < 0)
		return vc_error_wrap(err, "hybrid vsock");
	char req[32];
	int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	/* send(MSG_NOSIGNAL): a VMM that hung up must not kill us with SIGPIPE. */
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return vc_error_set(err, ECONNRESET,
						    "hybrid vsock `%s`: connection closed before "
						    "CONNECT %u was sent",
						    path, port);
			return vc_error_sys(err, errno, "hybrid vsock `%s`: send CONNECT %u", path,
					    port);
		}
		off += (int)w;
	}
	unsigned long long reply_deadline =
		timeout_ms > 0 ? deadline : deadline_in(HVSOCK_REPLY_DEFAULT_MS);
	char line[HVSOCK_REPLY_MAX + 1];
	int r = hvsock_read_reply(fd, path, port, reply_deadline, line, err);
	if (r < 0)
		return r;
	return steal_fd(fd);
}

int vc_transport_connect_hvsock(const char *uds_path, uint32_t port, int timeout_ms,
				struct vc_error *err)
{
	unsigned long long deadline = deadline_in(timeout_ms);
	struct vc_error closed = {0};
	for (;;) {
		struct vc_error e = {0};
		int fd = hvsock_attempt(uds_path, port, timeout_ms, deadline, &e);
		/* The VMM closes the connection while nothing in the guest listens on
		 * the port yet: try again until the time is up. */
		if (fd == -ECONNRESET && ms_left(deadline) > 0) {
			closed = e;
			sleep_ms(RETRY_INTERVAL_MS);
			continue;
		}
		if (fd >= 0)
			return fd;
		/* An attempt cut short by the deadline says less than the hang-ups
		 * before it. */
		if (fd == -ETIMEDOUT && closed.code)
			e = closed;
		if (err)
			*err = e;
		return -e.code;
	}
}

bool vc_transport_vhost_vsock_available(const char *dev_root)
{
	_cleanup_free_ char *path =
		vc_strdup_printf("%s/vhost-vsock", dev_root ? dev_root : "/dev");
	if (!path)
		return false;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	return fd >= 0;
}

int vc_transport_listen_vsock(uint32_t port, struct vc_error *err)
{
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vc_error_sys(err, errno, "vsock: socket");
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vc_error_sys(err, errno, "vsock: bind port %u", port);
	if (listen(fd, 16) < 0)
		return vc_error_sys(err, errno, "vsock: listen on port %u", port);
	return steal_fd(fd);
}

/* Whether sysfs names entry's port `name` (the file holds the name and a newline). */
static bool serial_port_named(const char *dir, const char *entry, const char *name)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s/name", dir, entry);
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (!path || vc_read_file(path, SERIAL_NAME_MAX, &text, &len, NULL) < 0)
		return false;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\0'))
		text[--len] = '\0';
	return strlen(text) == len && !strcmp(text, name);
}

int vc_transport_open_serial(const char *sysfs_root, const char *dev_root, const char *name,
			     struct vc_error *err)
{
	if (!name || !*name)
		name = VC_AGENT_SERIAL_NAME;
	_cleanup_free_ char *dir =
		vc_strdup_printf("%s/class/virtio-ports", sysfs_root ? sysfs_root : "/sys");
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return vc_error_sys(err, errno, "virtio-serial port `%s`: open `%s`", name, dir);
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!serial_port_named(dir, de->d_name, name))
			continue;
		_cleanup_free_ char *dev =
			vc_strdup_printf("%s/%s", dev_root ? dev_root : "/dev", de->d_name);
		if (!dev)
			return vc_error_set(err, ENOMEM, "out of memory");
		int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return vc_error_sys(err, errno, "virtio-serial port `%s`: open `%s`", name,
					    dev);
		return fd;
	}
	if (errno)
		return vc_error_sys(err, errno, "virtio-serial port `%s`: read `%s`", name, dir);
	return vc_error_set(err, ENOENT, "no virtio-serial port named `%s` under `%s`", name, dir);
}
