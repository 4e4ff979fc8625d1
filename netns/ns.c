/* Finding, creating, pinning and entering network namespaces, and the fd-passing
 * child every other operation goes through.
 *
 * Why a child and not setns() back and forth in the caller: a thread that fails
 * to get back would stay in the container's namespace, and the monitor's other
 * threads (or the caller's) must never see a half-moved process. A forked child
 * can setns() freely; what it opens there (a netlink socket, /dev/net/tun, the
 * namespace fd) keeps acting on that namespace once it is in the parent. */
#include "netns/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/tap.h"
#include "common/nl.h"
#include "common/rootless.h"
#include "common/util.h"
#include "netns/internal.h"

struct child_reply {
	int32_t code; /* 0, or the errno of what failed */
	char msg[256];
};

static int open_kind(enum netns_fd_kind kind, const char **what)
{
	switch (kind) {
	case NETNS_FD_ROUTE: {
		*what = "socket(AF_NETLINK, NETLINK_ROUTE)";
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		/* bound here so the parent's libnl finds the kernel-chosen port */
		struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
		if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			*what = "bind(AF_NETLINK)";
			close(fd);
			return -1;
		}
		return fd;
	}
	case NETNS_FD_TUN:
		*what = "open /dev/net/tun";
		return open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	case NETNS_FD_NS:
		*what = "open /proc/self/ns/net";
		return open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	case NETNS_FD_UDP4:
		*what = "socket(AF_INET, SOCK_DGRAM)";
		return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	errno = EINVAL;
	*what = "unknown fd kind";
	return -1;
}

static int send_reply(int sock, const struct child_reply *rep, const int *fds, size_t n)
{
	struct iovec iov = {.iov_base = (void *)rep, .iov_len = sizeof(*rep)};
	union {
		char buf[CMSG_SPACE(NETNS_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n > 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static __attribute__((noreturn)) void child_main(int sock, const char *path,
						 const enum netns_fd_kind *kinds, size_t n)
{
	struct child_reply rep = {0};
	int fds[NETNS_MAX_FDS];
	const char *what = NULL;
	if (path) {
		int nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
			rep.code = errno;
			snprintf(rep.msg, sizeof(rep.msg), "%s %s", nsfd < 0 ? "open" : "setns",
				 path);
			goto out;
		}
		close(nsfd);
	} else if (unshare(CLONE_NEWNET) < 0) {
		rep.code = errno;
		snprintf(rep.msg, sizeof(rep.msg), "unshare(CLONE_NEWNET)");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		fds[i] = open_kind(kinds[i], &what);
		if (fds[i] < 0) {
			rep.code = errno;
			snprintf(rep.msg, sizeof(rep.msg), "%s in %s", what,
				 path ? path : "a new network namespace");
			goto out;
		}
	}
out:
	_exit(send_reply(sock, &rep, rep.code ? NULL : fds, rep.code ? 0 : n) < 0 ? 1 : 0);
}

static int recv_reply(int sock, struct child_reply *rep, int *fds, size_t n)
{
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
	union {
		char buf[CMSG_SPACE(NETNS_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	size_t got = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[NETNS_MAX_FDS];
		memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if (got < n)
				fds[got++] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	if (r != (ssize_t)sizeof(*rep) || (msg.msg_flags & MSG_CTRUNC) ||
	    (rep->code == 0 && got != n)) {
		for (size_t i = 0; i < got; i++)
			close(fds[i]);
		return -EPROTO;
	}
	rep->msg[sizeof(rep->msg) - 1] = '\0';
	return 0;
}

int netns_open_fds(const char *path, const enum netns_fd_kind *kinds, size_t n, int *fds,
		   struct vc_error *err)
{
	if (n > NETNS_MAX_FDS)
		return vc_error_set(err, EINVAL, "netns: %zu fds asked for, at most %d", n,
				    NETNS_MAX_FDS);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vc_error_sys(err, errno, "socketpair");
	_cleanup_close_ int mine = sv[0];
	_cleanup_close_ int theirs = sv[1];
	pid_t pid = fork();
	if (pid < 0)
		return vc_error_sys(err, errno, "fork");
	if (pid == 0)
		child_main(theirs, path, kinds, n);
	close(steal_fd(theirs));
	struct child_reply rep = {0};
	int rc = recv_reply(mine, &rep, fds, n);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	const char *where = path ? path : "a new network namespace";
	if (rc < 0)
		return vc_error_sys(err, -rc, "netns %s: no answer from the child (status 0x%x)",
				    where, (unsigned)status);
	if (rep.code)
		return vc_error_sys(err, rep.code, "%s", rep.msg);
	return 0;
}

int netns_route_socket(const char *path, struct nl_sock **out, struct vc_error *err)
{
	static const enum netns_fd_kind kind = NETNS_FD_ROUTE;
	_cleanup_close_ int fd = -1;
	int r = netns_open_fds(path, &kind, 1, &fd, err);
	if (r < 0)
		return r;
	_cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return vc_error_set(err, ENOMEM, "out of memory");
	r = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
	if (r < 0)
		return vc_nl_error(err, r, "netns %s: netlink socket", path);
	fd = -1; /* the nl_sock closes it */
	vc_nl_keep_errno(sk);
	/* libnl does not enable extended acks on a socket it did not connect */
	int one = 1;
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	*out = steal_ptr(sk);
	return 0;
}

int vc_netns_mode_from_spec(const struct vc_oci_spec *spec, enum vc_netns_mode *mode,
			    const char **path, struct vc_error *err)
{
	*mode = VC_NETNS_NONE;
	*path = NULL;
	const struct vc_oci_linux *l = spec ? spec->linux : NULL;
	for (size_t i = 0; l && i < l->n_namespaces; i++) {
		const struct vc_oci_namespace *ns = &l->namespaces[i];
		if (ns->type != VC_NS_NETWORK)
			continue;
		if (!ns->path || !ns->path[0]) {
			*mode = VC_NETNS_NEW;
			*path = NULL;
			continue;
		}
		if (ns->path[0] != '/')
			return vc_error_set(err, EINVAL,
					    "linux.namespaces[%zu].path: `%s` is not absolute", i,
					    ns->path);
		*mode = VC_NETNS_JOIN;
		*path = ns->path;
	}
	return 0;
}

static bool valid_pin_id(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < NAME_MAX && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

/* What `ip netns` does for /run/netns: a mount point of its own, shared, so pins
 * made below it propagate to the other mount namespaces of its peer group. */
static int make_shared_dir(const char *dir, struct vc_error *err)
{
	/* Only root uses the pins: 0700, also where an older vcrun made it 0755. */
	int r = vc_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	if (chmod(dir, 0700) < 0)
		return vc_error_sys(err, errno, "chmod `%s`", dir);
	for (bool bound = false;;) {
		if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0)
			return 0;
		if (errno != EINVAL || bound)
			return vc_error_sys(err, errno, "make %s a shared mount", dir);
		if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0)
			return vc_error_sys(err, errno, "bind mount %s on itself", dir);
		bound = true;
	}
}

static bool is_pinned(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

/* VC_NETNS_RUN_DIR, or when rootless the same under the user's run dir, which the user
 * can make a mount point inside its own mount namespace (podman's). */
static const char *default_run_dir(void)
{
	static char *dir;
	const char *host = vc_host_run_dir();
	if (!strcmp(host, VC_ROOTFUL_RUN_DIR))
		return VC_NETNS_RUN_DIR;
	if (!dir)
		dir = vc_strdup_printf("%s/netns", host);
	return dir ? dir : VC_NETNS_RUN_DIR;
}

char *vc_netns_pin_path(const char *run_dir, const char *id)
{
	return vc_strdup_printf("%s/%s", run_dir ? run_dir : default_run_dir(), id);
}

int vc_netns_create(const char *run_dir, const char *id, char **path, struct vc_error *err)
{
	if (!run_dir)
		run_dir = default_run_dir();
	if (!valid_pin_id(id))
		return vc_error_set(err, EINVAL, "netns: `%s` cannot name a namespace pin", id);
	int r = make_shared_dir(run_dir, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = vc_netns_pin_path(run_dir, id);
	if (!p)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (is_pinned(p))
		return vc_error_set(err, EEXIST, "netns %s: a namespace is pinned there already",
				    p);
	int fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return vc_error_sys(err, errno, "create %s", p);
	close(fd);
	static const enum netns_fd_kind kind = NETNS_FD_NS;
	_cleanup_close_ int nsfd = -1;
	r = netns_open_fds(NULL, &kind, 1, &nsfd, err);
	if (r == 0) {
		char src[64];
		snprintf(src, sizeof(src), "/proc/self/fd/%d", nsfd);
		if (mount(src, p, "none", MS_BIND, NULL) < 0)
			r = vc_error_sys(err, errno, "bind mount the new network namespace on %s",
					 p);
	}
	if (r < 0) {
		unlink(p);
		return r;
	}
	*path = steal_ptr(p);
	return 0;
}

int vc_netns_remove(const char *path, struct vc_error *err)
{
	/* a pin may be mounted more than once after a crash and a retry */
	for (int i = 0; i < 16 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
		;
	if (is_pinned(path))
		return vc_error_sys(err, errno, "unmount %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return vc_error_sys(err, errno, "remove %s", path);
	return 0;
}

int vc_netns_enter(const char *path, struct vc_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "open %s", path);
	if (setns(fd, CLONE_NEWNET) < 0)
		return vc_error_sys(err, errno, "setns %s", path);
	return 0;
}

int vc_netns_tap_open(const char *path, const char *name, bool vnet_hdr, int *out,
		      struct vc_error *err)
{
	if (!name[0] || strlen(name) >= IFNAMSIZ)
		return vc_error_set(err, EINVAL, "netns %s: `%s` is not an interface name", path,
				    name);
	static const enum netns_fd_kind kind = NETNS_FD_TUN;
	_cleanup_close_ int fd = -1;
	int r = netns_open_fds(path, &kind, 1, &fd, err);
	if (r < 0)
		return r;
	r = vc_tap_attach(fd, name, vnet_hdr);
	if (r == -ENOENT)
		return vc_error_set(err, ENOENT, "netns %s: no tap %s", path, name);
	if (r < 0)
		return vc_error_sys(err, -r, "netns %s: attach to tap %s", path, name);
	*out = steal_fd(fd);
	return 0;
}

int vc_netns_udp_connect(const char *path, const char *addr, uint16_t port, int *out,
			 struct vc_error *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return vc_error_set(err, EINVAL, "`%s` is not an IPv4 address", addr);
	static const enum netns_fd_kind kind = NETNS_FD_UDP4;
	int fd = -1;
	int r = netns_open_fds(path, &kind, 1, &fd, err);
	if (r < 0)
		return r;
	/* connect() only picks the route and source address: it sends nothing, and
	 * the routing table consulted is the namespace's, where the socket was made. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = vc_error_sys(err, errno, "network namespace `%s`: connect to %s:%u", path, addr,
				 (unsigned)port);
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static bool same_ns(int fd, const struct stat *want)
{
	struct stat sb;
	return fstat(fd, &sb) == 0 && sb.st_ino == want->st_ino && sb.st_dev == want->st_dev;
}

int vc_netns_check_owned(const char *path, struct vc_error *err)
{
	struct stat self;
	if (stat("/proc/self/ns/user", &self) < 0)
		return vc_error_sys(err, errno, "stat /proc/self/ns/user");
	_cleanup_close_ int net = open(path, O_RDONLY | O_CLOEXEC);
	if (net < 0)
		return vc_error_sys(err, errno, "network namespace %s", path);
	/* The owner, then its ancestors: the kernel answers EPERM for a parent outside
	 * our own user namespace, which is where "not ours" ends. */
	int cur = ioctl(net, NS_GET_USERNS);
	if (cur < 0 && errno != EPERM) /* EPERM: an owner outside our scope, below */
		return vc_error_sys(err, errno, "network namespace %s: its user namespace", path);
	for (int depth = 0; depth < 33 && cur >= 0; depth++) {
		if (same_ns(cur, &self)) {
			close(cur);
			return 0;
		}
		int parent = ioctl(cur, NS_GET_PARENT);
		close(cur);
		cur = parent;
	}
	if (cur >= 0)
		close(cur);
	return vc_error_set(err, EPERM,
			    "network namespace %s belongs to a user namespace this user "
			    "does not own (joining it and making a tap there needs CAP_NET_ADMIN "
			    "over it); give the container a namespace the user made (podman: "
			    "slirp4netns, pasta or --network none)",
			    path);
}
