#include "lib/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"

static int send_fd(const char *socket_path, int fd, const char *name, struct vc_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return vc_error_set(err, ENAMETOOLONG, "--console-socket `%s`: path too long",
				    socket_path);
	strcpy(sa.sun_path, socket_path);
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vc_error_sys(err, errno, "--console-socket `%s`", socket_path);
	char ctrl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return vc_error_sys(err, errno,
					    "send the terminal to --console-socket `%s`",
					    socket_path);
	return 0;
}

int vc_console_send(const char *socket_path, uint16_t rows, uint16_t cols, int *slave,
		    struct vc_error *err)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return vc_error_sys(err, errno, "open a pty");
	char name[128];
	if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
		return vc_error_sys(err, errno, "set up a pty");
	_cleanup_close_ int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return vc_error_sys(err, errno, "open `%s`", name);
	struct termios t;
	if (tcgetattr(s, &t) < 0)
		return vc_error_sys(err, errno, "tcgetattr `%s`", name);
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t) < 0)
		return vc_error_sys(err, errno, "tcsetattr `%s`", name);
	if (rows && cols) {
		struct winsize ws = {.ws_row = rows, .ws_col = cols};
		ioctl(master, TIOCSWINSZ, &ws);
	}
	int r = send_fd(socket_path, master, name, err);
	if (r < 0)
		return r;
	*slave = steal_fd(s);
	return 0;
}
