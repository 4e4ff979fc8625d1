/* libnl-3 helpers shared by netns/ (host) and agent/network.c (guest): libnl's
 * own error codes mapped back to errno values, a vc_error filler that names the
 * cause, and cleanup attributes for libnl objects. Only code that links libnl-3
 * includes this header (it needs LIBNL_CFLAGS); everything is static inline but
 * one thread-local int (common/nl.c), so it adds nothing to anyone else's link. */
#ifndef VC_COMMON_NL_H
#define VC_COMMON_NL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/object.h>
#include <netlink/socket.h>

#include "common/error.h"

/* libnl turns kernel errnos into NLE_* codes; this undoes it for the common ones
 * so callers (and the agent's error responses) see EEXIST, ENOENT, ... again. */
static inline int vc_nl_errno(int nlerr)
{
	static const struct {
		int nle, err;
	} map[] = {
		{NLE_INTR, EINTR},
		{NLE_BAD_SOCK, EBADF},
		{NLE_AGAIN, EAGAIN},
		{NLE_NOMEM, ENOMEM},
		{NLE_EXIST, EEXIST},
		{NLE_INVAL, EINVAL},
		{NLE_RANGE, ERANGE},
		{NLE_MSGSIZE, EMSGSIZE},
		{NLE_OPNOTSUPP, EOPNOTSUPP},
		{NLE_AF_NOSUPPORT, EAFNOSUPPORT},
		{NLE_OBJ_NOTFOUND, ENOENT},
		{NLE_NOATTR, ENOENT},
		{NLE_MISSING_ATTR, EINVAL},
		{NLE_AF_MISMATCH, EINVAL},
		{NLE_SEQ_MISMATCH, EPROTO},
		{NLE_MSG_OVERFLOW, EOVERFLOW},
		{NLE_MSG_TRUNC, EMSGSIZE},
		{NLE_NOADDR, EADDRNOTAVAIL},
		{NLE_SRCRT_NOSUPPORT, EOPNOTSUPP},
		{NLE_MSG_TOOSHORT, EPROTO},
		{NLE_MSGTYPE_NOSUPPORT, EOPNOTSUPP},
		{NLE_OBJ_MISMATCH, EINVAL},
		{NLE_NOCACHE, ENOENT},
		{NLE_BUSY, EBUSY},
		{NLE_PROTO_MISMATCH, EPROTONOSUPPORT},
		{NLE_NOACCESS, EACCES},
		{NLE_PERM, EPERM},
		{NLE_PKTLOC_FILE, ENOENT},
		{NLE_PARSE_ERR, EINVAL},
		{NLE_NODEV, ENODEV},
		{NLE_IMMUTABLE, EPERM},
		{NLE_DUMP_INTR, EINTR},
		{NLE_ATTRSIZE, EINVAL},
	};
	if (nlerr < 0)
		nlerr = -nlerr;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].nle == nlerr)
			return map[i].err;
	}
	return EIO;
}

/* libnl keeps only its own code of a kernel error, "Unspecific failure" for
 * most (ENETDOWN, ENETUNREACH, ...). A socket set up with vc_nl_keep_errno
 * records the kernel's errno of its last failed request here (per thread;
 * defined in common/nl.c), and vc_nl_error prefers it. */
extern __thread int vc_nl_kernel_errno;

static inline int vc_nl_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error < 0 ? -e->error : e->error;
	return NL_STOP; /* what libnl does without a callback */
}

static inline int vc_nl_keep_errno(struct nl_sock *sk)
{
	return nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, vc_nl_err_cb, &vc_nl_kernel_errno);
}

/* Fills err with "<what>: <cause>" and returns -errno. */
static inline __attribute__((format(printf, 3, 4))) int vc_nl_error(struct vc_error *err, int nlerr,
								    const char *fmt, ...)
{
	char what[VC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int kerr = vc_nl_kernel_errno;
	vc_nl_kernel_errno = 0;
	/* only when it is the error at hand, not one an earlier caller ignored */
	if (kerr > 0 && nl_syserr2nlerr(kerr) == (nlerr < 0 ? -nlerr : nlerr))
		return vc_error_sys(err, kerr, "%s", what);
	return vc_error_set(err, vc_nl_errno(nlerr), "%s: %s", what, nl_geterror(nlerr));
}

static inline void vc_nl_sockp(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}

static inline void vc_nl_cachep(struct nl_cache **c)
{
	if (*c)
		nl_cache_free(*c);
}

/* Every rtnl object (link, addr, route, neigh, qdisc, cls, act) starts with the
 * common object header, so nl_object_put releases any of them. */
static inline void vc_nl_objectp(void *p)
{
	struct nl_object **o = p;
	if (*o)
		nl_object_put(*o);
}

static inline void vc_nl_addrp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}

#define _cleanup_nlsock_   __attribute__((cleanup(vc_nl_sockp)))
#define _cleanup_nlcache_  __attribute__((cleanup(vc_nl_cachep)))
#define _cleanup_nlobject_ __attribute__((cleanup(vc_nl_objectp)))
#define _cleanup_nladdr_   __attribute__((cleanup(vc_nl_addrp)))

#endif
