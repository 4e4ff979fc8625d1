/* Transports: Unix connect with retries, hybrid vsock against fake VMMs, the vsock
 * CID guard, vhost-vsock detection, virtio-serial lookup in a fake sysfs, and a
 * vsock listener. Nothing here connects over AF_VSOCK. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent-proto/proto.h"
#include "agent-proto/transport.h"
#include "common/cleanup.h"
#include "common/util.h"

/* A forked helper gives up on its own after this, should the test die first. */
#define CHILD_ALARM_S 10

static int kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	return vc_unit_reap(pid);
}

static long long ms_since(unsigned long long t0)
{
	return (long long)((vc_now_ns() - t0) / 1000000ULL);
}

static char *tmp_path(const char *name)
{
	return vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- Unix ---- */

VC_TEST(unix_connect_waits_for_late_listener)
{
	_cleanup_free_ char *path = tmp_path("late.sock");
	unlink(path);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		usleep(100 * 1000);
		int l = unix_listen(path);
		int c = l < 0 ? -1 : accept(l, NULL, NULL);
		_exit(c >= 0 && write(c, "hi", 2) == 2 ? 0 : 1);
	}
	struct vc_error err = {0};
	unsigned long long t0 = vc_now_ns();
	_cleanup_close_ int fd = vc_transport_connect_unix(path, 3000, &err);
	long long ms = ms_since(t0);
	char buf[3] = {0};
	ssize_t n = fd >= 0 ? vc_read_all(fd, buf, 2) : -1;
	int status = fd >= 0 ? vc_unit_reap(pid) : kill_and_reap(pid);
	if (fd < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(fd >= 0);
	CHECK(status == 0);
	CHECK(n == 2 && !strcmp(buf, "hi"));
	CHECK(ms >= 90 && ms < 3000);
	int fl = fcntl(fd, F_GETFD);
	CHECK(fl >= 0 && (fl & FD_CLOEXEC));
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
}

VC_TEST(unix_connect_gives_up)
{
	_cleanup_free_ char *path = tmp_path("nobody.sock");
	unlink(path);
	struct vc_error err = {0};
	unsigned long long t0 = vc_now_ns();
	CHECK(vc_transport_connect_unix(path, 100, &err) == -ENOENT);
	long long ms = ms_since(t0);
	CHECK(ms >= 100 && ms < 2000);
	CHECK_CONTAINS(err.msg, "nobody.sock` (tried for 100 ms): No such file or directory");

	/* No timeout: one attempt. A socket file with no listener is refused. */
	int l = unix_listen(path);
	CHECK(l >= 0);
	close(l);
	t0 = vc_now_ns();
	CHECK(vc_transport_connect_unix(path, 0, &err) == -ECONNREFUSED);
	CHECK(ms_since(t0) < 50);
	CHECK_CONTAINS(err.msg, "connect `");

	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CHECK(vc_transport_connect_unix(longp, 100, &err) == -ENAMETOOLONG);
	CHECK_CONTAINS(err.msg, "a socket path must be 1 to 107 bytes");
}

/* ---- hybrid vsock ---- */

enum hv_mode {
	HV_OK,		 /* "OK 1073741824\n", then a frame right behind it */
	HV_GARBAGE,	 /* an error line */
	HV_BINARY,	 /* bytes that are not text */
	HV_LONG,	 /* a line with no end */
	HV_SILENT,	 /* reads CONNECT, never answers */
	HV_CLOSE_ONCE,	 /* closes the first connection, answers the second */
	HV_CLOSE_ALWAYS, /* closes every connection */
};

/* Reads the CONNECT line; 0 if it is exactly the one expected. */
static int hv_read_connect(int c, unsigned port)
{
	char line[64], want[32];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		if (read(c, line + n, 1) != 1)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	snprintf(want, sizeof(want), "CONNECT %u\n", port);
	return strcmp(line, want) ? -1 : 0;
}

static int hv_peer(int l, enum hv_mode mode, unsigned port)
{
	alarm(CHILD_ALARM_S);
	int c = accept(l, NULL, NULL);
	if (c < 0 || hv_read_connect(c, port) < 0)
		return 2;
	static const char long_line[200] = {[0 ... 198] = 'A'};
	const char *reply = mode == HV_GARBAGE	? "ERR no listener on port 1024\n"
			    : mode == HV_BINARY ? "\x01OK\xff\n"
			    : mode == HV_LONG	? long_line
						: NULL;
	switch (mode) {
	case HV_OK: {
		struct vc_error err = {0};
		const char *ok = "OK 1073741824\n";
		if (write(c, ok, strlen(ok)) != (ssize_t)strlen(ok) ||
		    vc_frame_write(c, VC_FRAME_STDOUT, 0, 1, "after", 5, &err) < 0)
			return 3;
		char x;
		return read(c, &x, 1) <= 0 ? 0 : 4; /* wait for the test to hang up */
	}
	case HV_GARBAGE:
	case HV_BINARY:
	case HV_LONG:
		if (write(c, reply, strlen(reply)) != (ssize_t)strlen(reply))
			return 3;
		char x;
		return read(c, &x, 1) <= 0 ? 0 : 4;
	case HV_SILENT:
		pause();
		return 0;
	case HV_CLOSE_ONCE:
		close(c);
		c = accept(l, NULL, NULL);
		if (c < 0 || hv_read_connect(c, port) < 0)
			return 5;
		if (write(c, "OK 5\n", 5) != 5)
			return 6;
		return 0;
	case HV_CLOSE_ALWAYS:
		for (;;) {
			close(c);
			c = accept(l, NULL, NULL);
			if (c < 0)
				return 7;
		}
	}
	return 9;
}

struct hv_result {
	int ret, status;
	long long ms;
	struct vc_error err;
	int fd;
};

/* Runs one fake VMM and one vc_transport_connect_hvsock against it. */
static void hv_run(enum hv_mode mode, int timeout_ms, struct hv_result *res)
{
	memset(res, 0, sizeof(*res));
	res->fd = -1;
	res->status = -1;
	_cleanup_free_ char *path = tmp_path("hv.sock");
	int l = unix_listen(path);
	if (l < 0) {
		res->ret = -errno;
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		res->ret = -errno;
		close(l);
		return;
	}
	if (pid == 0)
		_exit(hv_peer(l, mode, VC_AGENT_VSOCK_PORT));
	close(l);
	unsigned long long t0 = vc_now_ns();
	res->ret = vc_transport_connect_hvsock(path, VC_AGENT_VSOCK_PORT, timeout_ms, &res->err);
	res->ms = ms_since(t0);
	if (res->ret >= 0) {
		res->fd = res->ret;
		res->ret = 0;
	}
	bool waits_for_eof =
		mode == HV_OK || mode == HV_GARBAGE || mode == HV_BINARY || mode == HV_LONG;
	if (mode == HV_OK && res->fd >= 0) {
		/* The bytes behind the OK line belong to the caller. */
		struct vc_frame f;
		_cleanup_free_ uint8_t *body = NULL;
		struct vc_error err = {0};
		if (vc_frame_read_one(res->fd, &f, &body, &err) < 0 || f.len != 5 ||
		    memcmp(body, "after", 5))
			res->ret = -EBADMSG;
		close(res->fd);
		res->fd = -1;
	}
	res->status =
		waits_for_eof || mode == HV_CLOSE_ONCE ? vc_unit_reap(pid) : kill_and_reap(pid);
	if (res->fd >= 0)
		close(res->fd);
}

VC_TEST(hvsock_handshake_ok)
{
	struct hv_result r;
	hv_run(HV_OK, 2000, &r);
	if (r.ret < 0)
		fprintf(stderr, "# %s\n", r.err.msg);
	CHECK(r.ret == 0);
	CHECK(r.status == 0);
}

VC_TEST(hvsock_retries_closed_connection)
{
	struct hv_result r;
	hv_run(HV_CLOSE_ONCE, 2000, &r);
	if (r.ret < 0)
		fprintf(stderr, "# %s\n", r.err.msg);
	CHECK(r.ret == 0);
	CHECK(r.status == 0);

	hv_run(HV_CLOSE_ALWAYS, 200, &r);
	CHECK(r.ret == -ECONNRESET);
	CHECK(r.ms >= 190 && r.ms < 3000);
	CHECK_CONTAINS(r.err.msg, "hv.sock`: connection closed");
	CHECK_CONTAINS(r.err.msg, "CONNECT 1024");
}

VC_TEST(hvsock_rejects_garbage)
{
	struct hv_result r;
	hv_run(HV_GARBAGE, 2000, &r);
	CHECK(r.ret == -EPROTO);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.err.msg, "unexpected reply to CONNECT 1024: \"ERR no listener on port "
				  "1024\\n\" (want \"OK <port>\\n\")");

	hv_run(HV_BINARY, 2000, &r);
	CHECK(r.ret == -EPROTO);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.err.msg, "reply to CONNECT 1024: \"\\x01OK\\xff\\n\"");

	hv_run(HV_LONG, 2000, &r);
	CHECK(r.ret == -EPROTO);
	CHECK(r.status == 0);
	CHECK_CONTAINS(r.err.msg, "no newline in the first 64 bytes of the reply to CONNECT 1024: "
				  "\"AAAAAAAA");
}

VC_TEST(hvsock_times_out)
{
	struct hv_result r;
	hv_run(HV_SILENT, 300, &r);
	CHECK(r.ret == -ETIMEDOUT);
	CHECK(r.status == 128 + SIGKILL);
	CHECK(r.ms >= 290 && r.ms < 3000);
	CHECK_CONTAINS(r.err.msg, "hv.sock`: no reply to CONNECT 1024 in time (got \"\")");

	/* No VMM socket at all. */
	_cleanup_free_ char *path = tmp_path("no-vmm.sock");
	unlink(path);
	struct vc_error err = {0};
	CHECK(vc_transport_connect_hvsock(path, 1024, 50, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "hybrid vsock: connect `");
}

/* ---- vsock ---- */

VC_TEST(vsock_refuses_reserved_cids)
{
	static const uint32_t cids[] = {0, 1, 2, VMADDR_CID_ANY};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cids); i++) {
		struct vc_error err = {0};
		CHECK(vc_transport_connect_vsock(cids[i], 1024, 100, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, "vsock: refusing to connect to CID");
	}
	struct vc_error err = {0};
	CHECK(vc_transport_connect_vsock(2, 1024, 100, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "refusing to connect to CID 2 (0 is the hypervisor, 1 local, 2 the "
				"host");

	/* The refusal comes before any socket exists: in a child that cannot open
	 * another fd, CID 2 is still EINVAL while CID 3 fails at socket() (so it is
	 * never connected either). */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		struct rlimit rl = {(rlim_t)fd, (rlim_t)fd};
		close(fd);
		if (fd < 0 || setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(2);
		struct vc_error e = {0};
		if (vc_transport_connect_vsock(2, 1024, 0, &e) != -EINVAL)
			_exit(3);
		if (vc_transport_connect_vsock(3, 1024, 0, &e) != -EMFILE ||
		    !strstr(e.msg, "connect vsock CID 3 port 1024: socket"))
			_exit(4);
		_exit(0);
	}
	CHECK(vc_unit_reap(pid) == 0);
}

VC_TEST(vhost_vsock_detection)
{
	_cleanup_free_ char *dev = tmp_path("fake-dev");
	_cleanup_free_ char *node = tmp_path("fake-dev/vhost-vsock");
	struct vc_error err = {0};
	CHECK(vc_mkdir_p(dev, 0755, &err) == 0);
	CHECK(!vc_transport_vhost_vsock_available(dev));
	CHECK(vc_write_file(node, "", 0, &err) == 0);
	CHECK(vc_transport_vhost_vsock_available(dev));
	CHECK(!vc_transport_vhost_vsock_available("/nonexistent-vcrun-dev"));
	/* The real answer depends on the host; it must only not crash. */
	(void)vc_transport_vhost_vsock_available(NULL);
}

VC_TEST(vsock_listen)
{
	int probe = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		fprintf(stderr, "# skip: no AF_VSOCK here (%s)\n", strerror(errno));
		return;
	}
	close(probe);
	struct vc_error err = {0};
	int fd = -1;
	uint32_t port = 0;
	for (int i = 0; i < 20 && fd < 0; i++) {
		port = 0x40000000u + ((uint32_t)getpid() & 0xffff) * 32 + (uint32_t)i;
		fd = vc_transport_listen_vsock(port, &err);
	}
	if (fd < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(fd >= 0);
	_cleanup_close_ int l = fd;
	struct sockaddr_vm sa = {0};
	socklen_t len = sizeof(sa);
	int acc = 0;
	socklen_t alen = sizeof(acc);
	CHECK(getsockname(l, (struct sockaddr *)&sa, &len) == 0);
	CHECK(sa.svm_family == AF_VSOCK && sa.svm_port == port && sa.svm_cid == VMADDR_CID_ANY);
	CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc == 1);
	CHECK(fcntl(l, F_GETFD) & FD_CLOEXEC);
	/* The same port twice is an error naming it. */
	CHECK(vc_transport_listen_vsock(port, &err) == -EADDRINUSE);
	char want[64];
	snprintf(want, sizeof(want), "vsock: bind port %u: ", port);
	CHECK_CONTAINS(err.msg, want);
}

/* ---- virtio-serial ---- */

static int make_port(const char *sys, const char *entry, const char *name)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/class/virtio-ports/%s", sys, entry);
	_cleanup_free_ char *file = vc_strdup_printf("%s/name", dir);
	if (!dir || !file || vc_mkdir_p(dir, 0755, NULL) < 0)
		return -1;
	return name ? vc_write_file(file, name, strlen(name), NULL) : 0;
}

VC_TEST(open_serial_in_fake_sysfs)
{
	_cleanup_free_ char *sys = tmp_path("sys");
	_cleanup_free_ char *dev = tmp_path("dev");
	_cleanup_free_ char *fifo = tmp_path("dev/vport1p1");
	_cleanup_free_ char *plain = tmp_path("dev/vport1p2");
	struct vc_error err = {0};
	CHECK(make_port(sys, "vport1p1", "vcrun.agent\n") == 0);
	CHECK(make_port(sys, "vport1p2", "org.qemu.guest_agent.0\n") == 0);
	CHECK(make_port(sys, "vport2p1", NULL) == 0); /* no name file */
	CHECK(make_port(sys, "vport3p1", "lost\n") == 0);
	CHECK(vc_mkdir_p(dev, 0755, &err) == 0);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(vc_write_file(plain, "", 0, &err) == 0);

	_cleanup_close_ int fd = vc_transport_open_serial(sys, dev, VC_AGENT_SERIAL_NAME, &err);
	if (fd < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(fd >= 0);
	struct stat a, b;
	CHECK(fstat(fd, &a) == 0 && stat(fifo, &b) == 0);
	CHECK(S_ISFIFO(a.st_mode) && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	char buf[4] = {0};
	CHECK(write(fd, "abc", 3) == 3 && read(fd, buf, 3) == 3 && !strcmp(buf, "abc"));

	/* NULL name means the agent's port. */
	_cleanup_close_ int fd2 = vc_transport_open_serial(sys, dev, NULL, &err);
	CHECK(fd2 >= 0 && fstat(fd2, &a) == 0 && a.st_ino == b.st_ino);
	_cleanup_close_ int fd3 =
		vc_transport_open_serial(sys, dev, "org.qemu.guest_agent.0", &err);
	CHECK(fd3 >= 0 && fstat(fd3, &a) == 0 && S_ISREG(a.st_mode));

	/* Names match whole, not by prefix. */
	CHECK(vc_transport_open_serial(sys, dev, "vcrun", &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "no virtio-serial port named `vcrun` under `");
	CHECK_CONTAINS(err.msg, "/sys/class/virtio-ports`");
	CHECK(vc_transport_open_serial(sys, dev, "lost", &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "virtio-serial port `lost`: open `");
	CHECK_CONTAINS(err.msg, "/dev/vport3p1`: No such file or directory");
	CHECK(vc_transport_open_serial("/nonexistent-vcrun-sys", dev, "x", &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "open `/nonexistent-vcrun-sys/class/virtio-ports`");
}

VC_TESTS(VC_T(unix_connect_waits_for_late_listener), VC_T(unix_connect_gives_up),
	 VC_T(hvsock_handshake_ok), VC_T(hvsock_retries_closed_connection),
	 VC_T(hvsock_rejects_garbage), VC_T(hvsock_times_out), VC_T(vsock_refuses_reserved_cids),
	 VC_T(vhost_vsock_detection), VC_T(vsock_listen), VC_T(open_serial_in_fake_sysfs))
