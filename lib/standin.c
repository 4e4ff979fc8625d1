/* The stand-in: one per container process, started by `create` as `vcrun __standin`
 * and left running as its child. Its pid is what --pid-file names, so containerd's
 * shim, conmon and docker treat it as the container process: it keeps the stdio it
 * was given and carries it to and from the guest process through the monitor, it
 * forwards every catchable signal to that process, and it exits with the process's
 * status (the exit code, or the same fatal signal re-raised). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/chan.h"
#include "lib/log.h"
#include "lib/monitor.h"
#include "lib/spawn.h"
#include "lib/standin.h"
#include "lib/vcrun.h"

#define REQ_ATTACH  1
#define REQ_WAIT    2
#define REQ_SIGNAL  3
#define REQ_RESIZE  4
#define REQ_KILL_ME 5
/* The monitor vanished (the VM died with it): report what a SIGKILL would. */
#define EXIT_MONITOR_LOST 137

struct standin {
	const char *id;
	struct vc_chan mon;
	uint32_t stream;
	int sync_fd;
	bool stdin_open, stdout_ok, stderr_ok;
	bool tty; /* stdio is a terminal whose size the guest's pty follows */
	bool raw; /* the caller's terminal was put in raw mode: restore it */
	struct termios saved;
	bool done;
	int exit_code, exit_signal;
};

/* Queues a request; one that cannot be encoded (out of memory) is dropped, as a
 * signal or a size the monitor never got. */
static int request(struct standin *s, uint32_t id, const struct vc_mon_request *req)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int r = vc_mon_request_encode(req, &body, &len, NULL);
	return r < 0 ? r : vc_chan_queue(&s->mon, VC_FRAME_REQUEST, 0, id, body, len);
}

/* The process a request of ours is about: by its stream, or, for the init before
 * the attach is answered, by its container. */
static struct vc_mon_request about(const struct standin *s, enum vc_mon_method method)
{
	return (struct vc_mon_request){.method = method,
				       .stream_id = s->stream,
				       .container_id = s->stream ? NULL : (char *)s->id};
}

static void send_signal(struct standin *s, int sig)
{
	struct vc_mon_request req = about(s, VC_MON_SIGNAL);
	req.signal = (uint32_t)sig;
	request(s, REQ_SIGNAL, &req);
}

/* The terminal's size goes to the guest's pty (at attach and on every SIGWINCH). */
static void send_size(struct standin *s)
{
	struct winsize ws;
	if (!s->tty || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	struct vc_mon_request req = {.method = VC_MON_RESIZE,
				     .stream_id = s->stream,
				     .rows = ws.ws_row,
				     .cols = ws.ws_col};
	request(s, REQ_RESIZE, &req);
}

static void write_output(int fd, bool *ok, const struct vc_frame *f)
{
	/* A reader that went away (EPIPE) must not stop the process or its other
	 * stream; the data is dropped as a closed pipe would drop it. */
	if (*ok && f->len > 0 && vc_write_all(fd, f->body, f->len) < 0)
		*ok = false;
}

static int handle_response(struct standin *s, const struct vc_frame *f, struct vc_error *err)
{
	struct vc_error rerr = {0};
	if (f->id == REQ_ATTACH) {
		_cleanup_json_ struct vc_json *res = NULL;
		struct vc_mon_stream got;
		int r = vc_proto_response_decode(f->body, f->len, &res, &rerr);
		if (r < 0)
			return vc_error_set(err, -r, "attach to the container's stdio: %s",
					    rerr.msg);
		if (vc_mon_stream_from_json(res, &got, NULL) < 0 ||
		    (s->stream && got.stream_id != s->stream))
			return vc_error_set(err, EPROTO, "attach: the monitor named no stream");
		s->stream = got.stream_id;
		send_size(s);
		vc_sync_write_ok(s->sync_fd);
		if (s->sync_fd >= 0)
			close(s->sync_fd);
		s->sync_fd = -1;
	} else if (f->id == REQ_WAIT) {
		struct vc_mon_exit e = {EXIT_MONITOR_LOST, 0};
		if (vc_mon_exit_decode(f->body, f->len, &e, &rerr) < 0)
			e = (struct vc_mon_exit){EXIT_MONITOR_LOST, 0};
		s->exit_code = e.exit_code;
		s->exit_signal = e.signal;
		s->done = true;
	}
	return 0;
}

static int pump_monitor(struct standin *s, struct vc_error *err)
{
	vc_chan_fill(&s->mon);
	for (;;) {
		struct vc_frame f;
		int r = vc_frame_reader_next(&s->mon.rd, &f, err);
		if (r <= 0)
			return r;
		if (f.type == VC_FRAME_STDOUT && f.id == s->stream)
			write_output(STDOUT_FILENO, &s->stdout_ok, &f);
		else if (f.type == VC_FRAME_STDERR && f.id == s->stream)
			write_output(STDERR_FILENO, &s->stderr_ok, &f);
		else if (f.type == VC_FRAME_RESPONSE && (r = handle_response(s, &f, err)) < 0)
			return r;
		if (s->done)
			return 0;
	}
}

static void pump_stdin(struct standin *s)
{
	char buf[VC_PROTO_STREAM_CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		s->stdin_open = false;
		vc_chan_queue(&s->mon, VC_FRAME_STDIN, VC_FRAME_F_EOF, s->stream, NULL, 0);
		return;
	}
	vc_chan_queue(&s->mon, VC_FRAME_STDIN, 0, s->stream, buf, (size_t)n);
}

static int run(struct standin *s, int sig_fd, struct vc_error *err)
{
	while (!s->done) {
		struct pollfd p[3] = {
			{.fd = s->mon.fd,
			 .events = POLLIN | (vc_chan_pending(&s->mon) ? POLLOUT : 0)},
			{.fd = sig_fd, .events = POLLIN},
			/* Stop reading stdin while the monitor is slow to take it, and
			 * until the attach named our stream. */
			{.fd = s->stdin_open && s->stream && vc_chan_pending(&s->mon) < (1u << 20)
				       ? STDIN_FILENO
				       : -1,
			 .events = POLLIN},
		};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return vc_error_sys(err, errno, "poll");
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGWINCH && s->tty)
					send_size(s);
				else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE)
					send_signal(s, (int)si.ssi_signo);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			pump_stdin(s);
		if (p[2].revents & POLLNVAL)
			s->stdin_open = false;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = pump_monitor(s, err);
			if (r < 0)
				return r;
			if (s->mon.eof && !s->done)
				return vc_error_set(err, EPIPE,
						    "the container's monitor went away");
		}
		if (vc_chan_flush(&s->mon) < 0 && !s->done)
			return vc_error_set(err, EPIPE, "the container's monitor went away");
	}
	return 0;
}

/* The caller's own terminal becomes the container's (run, exec -t in the
 * foreground): raw, so that only the guest's pty does line editing and echo. */
static void enter_raw(struct standin *s)
{
	struct termios t;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &s->saved) < 0)
		return;
	t = s->saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		s->raw = true;
}

static void leave_raw(struct standin *s)
{
	if (s->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &s->saved);
	s->raw = false;
}

/* Mirrors the guest process's end: the same signal (without a core dump of our
 * own), or its exit code. As PID 1 of our pid namespace only a fault can still do
 * that here (SIGKILL came from the monitor, see die_by_monitor); any other signal
 * can only have ended a guest process that is not its namespace's init either,
 * and becomes the shell's 128+N. */
static int finish(struct standin *s)
{
	leave_raw(s);
	if (s->exit_signal > 0 && s->exit_signal < NSIG) {
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none);
		/* A pipe in core_pattern ignores RLIMIT_CORE; this one does not. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		signal(s->exit_signal, SIG_DFL);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, s->exit_signal);
		sigprocmask(SIG_UNBLOCK, &m, NULL);
		/* kill, not raise: the stand-in proper of a pid namespace was made by a
		 * raw clone, behind glibc's back (raise trusts only the kernel's tid
		 * since glibc 2.34, kill always does). */
		if (getpid() == 1)
			vc_standin_fault(s->exit_signal);
		else
			kill(getpid(), s->exit_signal);
		return 128 + s->exit_signal;
	}
	return s->exit_code;
}

/* PID 1 of a pid namespace ignores a SIGKILL of its own; one from the monitor, in
 * the host's namespace, is taken. Asked once all output is written (the writes
 * above were blocking); the monitor kills the peer of this connection through a
 * pidfd, so no other process can be hit. Returns only if it did not happen. */
static void die_by_monitor(struct standin *s)
{
	leave_raw(s);
	struct vc_mon_request req = {.method = VC_MON_KILL_STANDIN};
	if (request(s, REQ_KILL_ME, &req) < 0 || vc_chan_drain(&s->mon, 5000) < 0)
		return;
	/* The answer comes only when it failed; EOF when the monitor went. */
	unsigned long long deadline = vc_now_ns() + 10000000000ULL;
	while (!s->mon.eof && vc_now_ns() < deadline) {
		struct pollfd p = {.fd = s->mon.fd, .events = POLLIN};
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return;
		vc_chan_fill(&s->mon);
		struct vc_frame f;
		struct vc_error err = {0};
		while (vc_frame_reader_next(&s->mon.rd, &f, &err) > 0)
			if (f.type == VC_FRAME_RESPONSE && f.id == REQ_KILL_ME)
				return;
	}
}

int vc_standin_main(int argc, char **argv)
{
	struct vc_helper_args args;
	/* Never log to our stderr: it is the container's. */
	if (vc_helper_args_parse(argc, argv, "/dev/null", &args) < 0)
		return 2;
	struct standin s = {.id = args.id,
			    .sync_fd = args.sync_fd,
			    .stream = args.stream,
			    .stdin_open = true,
			    .stdout_ok = true,
			    .stderr_ok = true,
			    .tty = args.tty || args.tty_inherit};
	const char *root = args.root, *id = args.id;
	struct vc_error err = {0};
	int moved = vc_standin_enter_namespaces(&args, false, &err);
	if (moved < 0) {
		vc_sync_write_error(s.sync_fd, &err);
		return 1;
	}
	if (moved)
		return 0;

	/* The pty becomes our controlling terminal, so that its size changes reach us as
	 * SIGWINCH (the caller resizes the master it holds). */
	if (args.tty_inherit)
		enter_raw(&s);
	if (args.tty) {
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	}

	/* Every catchable signal is the container's. */
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigprocmask(SIG_BLOCK, &all, NULL);
	_cleanup_close_ int sig_fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);

	/* In place (for create: its hooks run now); attached only on the go-ahead,
	 * once the VM runs. EOF instead means that the call that started us failed. */
	char go = 0;
	ssize_t k;
	if (vc_write_all(s.sync_fd, "ready\n", 6) < 0)
		return 1;
	while ((k = read(s.sync_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (k != 1 || go != 'g') {
		leave_raw(&s);
		return 1;
	}
	if (vc_standin_enter_namespaces(&args, true, &err) < 0) {
		leave_raw(&s);
		vc_sync_write_error(s.sync_fd, &err);
		return 1;
	}

	int fd = vc_monitor_connect(root, id, 10000, &err);
	int r = fd;
	if (fd >= 0) {
		vc_chan_init(&s.mon, fd);
		/* A container's first process is named by the container (the monitor
		 * says which stream it is); an exec'd one by the stream exec made. */
		struct vc_mon_request attach = about(&s, VC_MON_ATTACH),
				      wait = about(&s, VC_MON_WAIT);
		if (request(&s, REQ_ATTACH, &attach) < 0 || request(&s, REQ_WAIT, &wait) < 0)
			r = vc_error_set(&err, ENOMEM, "out of memory");
		else
			r = run(&s, sig_fd, &err);
	}
	if (r < 0) {
		vc_err("container %s: stand-in: %s", id, err.msg);
		if (s.sync_fd >= 0) {
			leave_raw(&s);
			vc_sync_write_error(s.sync_fd, &err);
			return 1;
		}
		s.exit_code = EXIT_MONITOR_LOST;
	}
	if (r >= 0 && s.exit_signal == SIGKILL && getpid() == 1)
		die_by_monitor(&s);
	vc_chan_close(&s.mon);
	return finish(&s);
}
