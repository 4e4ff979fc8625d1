/* Frame header codec, blocking frame writes and reads, and the incremental reader. */
#include "agent-proto/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"

/* The reader's smallest buffer: one read(2) can take in many small frames. */
#define READER_MIN_CAP (16u << 10)
/* An emptied buffer larger than this is released, so one 4 MiB body does not pin
 * 4 MiB for the life of the channel. */
#define READER_SHRINK_ABOVE (256u << 10)

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

const char *vc_frame_type_name(uint16_t type)
{
	static const char *const names[] = {
		[VC_FRAME_REQUEST] = "REQUEST", [VC_FRAME_RESPONSE] = "RESPONSE",
		[VC_FRAME_STDIN] = "STDIN",	[VC_FRAME_STDOUT] = "STDOUT",
		[VC_FRAME_STDERR] = "STDERR",	[VC_FRAME_DNS] = "DNS",
	};
	return type < VC_ARRAY_SIZE(names) && names[type] ? names[type] : NULL;
}

void vc_frame_header_encode(uint8_t out[VC_PROTO_HDR_LEN], uint16_t type, uint16_t flags,
			    uint32_t id, uint32_t len)
{
	put_be32(out, len);
	put_be32(out + 4, id);
	put_be16(out + 8, type);
	put_be16(out + 10, flags);
}

int vc_frame_header_decode(const uint8_t in[VC_PROTO_HDR_LEN], struct vc_frame *f,
			   struct vc_error *err)
{
	f->len = get_be32(in);
	f->id = get_be32(in + 4);
	f->type = get_be16(in + 8);
	f->flags = get_be16(in + 10);
	f->body = NULL;

	const char *name = vc_frame_type_name(f->type);
	if (!name)
		return vc_error_set(err, EPROTO, "frame header: type: unknown value %u", f->type);
	if (f->flags & ~VC_FRAME_F_KNOWN)
		return vc_error_set(err, EPROTO, "frame header: flags: unknown bits 0x%x in 0x%x",
				    f->flags & ~VC_FRAME_F_KNOWN, f->flags);
	if (f->len > VC_PROTO_MAX_BODY)
		return vc_error_set(err, EMSGSIZE,
				    "frame header: len: %u exceeds the maximum of %u bytes", f->len,
				    VC_PROTO_MAX_BODY);
	bool message = f->type == VC_FRAME_REQUEST || f->type == VC_FRAME_RESPONSE;
	if (message && (f->flags & VC_FRAME_F_EOF))
		return vc_error_set(err, EPROTO,
				    "frame header: flags: EOF (0x%x) is not allowed on a %s frame",
				    f->flags, name);
	/* Id 0 is never valid: request ids and stream ids both start at 1, so 0 can
	 * stand for "no request" / "no stream" in the programs on either side. */
	if (f->id == 0)
		return vc_error_set(
			err, EPROTO,
			"frame header: id: 0 is not allowed on a %s frame (%s ids start "
			"at 1)",
			name, message ? "request" : "stream");
	return 0;
}

/* EAGAIN on a blocking fd comes from SO_RCVTIMEO/SO_SNDTIMEO: that is a timeout.
 * On a non-blocking fd the blocking helpers wait for it instead. */
static int wait_ready(int fd, short events)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK))
		return -ETIMEDOUT;
	struct pollfd p = {.fd = fd, .events = events};
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int vc_frame_write(int fd, uint16_t type, uint16_t flags, uint32_t id, const void *body, size_t len,
		   struct vc_error *err)
{
	if (len > VC_PROTO_MAX_BODY)
		return vc_error_set(err, EMSGSIZE,
				    "write frame: body of %zu bytes exceeds the maximum of %u", len,
				    VC_PROTO_MAX_BODY);
	if (len && !body)
		return vc_error_set(err, EINVAL, "write frame: no body for %zu bytes", len);
	uint8_t hdr[VC_PROTO_HDR_LEN];
	vc_frame_header_encode(hdr, type, flags, id, (uint32_t)len);
	/* The same rules as the reader's, so a bad frame fails here, where the bug is,
	 * not as a closed channel on the other side. */
	struct vc_frame f;
	int r = vc_frame_header_decode(hdr, &f, err);
	if (r < 0)
		return vc_error_wrap(err, "write frame");

	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)body, len}};
	struct iovec *v = iov;
	int nv = len ? 2 : 1;
	/* sendmsg(MSG_NOSIGNAL) so a peer that went away is EPIPE, not SIGPIPE; virtio
	 * serial ports and pipes are not sockets and take writev. */
	bool sock = true;
	while (nv > 0) {
		ssize_t n;
		if (sock) {
			struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)nv};
			n = sendmsg(fd, &m, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				sock = false;
				continue;
			}
		} else {
			n = writev(fd, v, nv);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? wait_ready(fd, POLLOUT)
								    : -errno;
			if (r == 0)
				continue;
			return vc_error_sys(err, -r, "write %s frame (id %u, %zu bytes)",
					    vc_frame_type_name(type), id, len);
		}
		size_t done = (size_t)n;
		while (nv > 0 && done >= v->iov_len) {
			done -= v->iov_len;
			v++;
			nv--;
		}
		if (nv > 0) {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	return 0;
}

/* ---- incremental reader ---- */

void vc_frame_reader_init(struct vc_frame_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void vc_frame_reader_free(struct vc_frame_reader *r)
{
	free(r->buf);
	vc_frame_reader_init(r);
}

size_t vc_frame_reader_pending(const struct vc_frame_reader *r)
{
	return r->len - r->consumed;
}

/* Where the frames announced in the buffer end (from buf[0]), if the last one is
 * incomplete; 0 when that is not known yet (a partial or bad header). */
static size_t announced_end(const struct vc_frame_reader *r)
{
	size_t off = r->consumed;
	while (r->len - off >= VC_PROTO_HDR_LEN) {
		struct vc_frame f;
		if (vc_frame_header_decode(r->buf + off, &f, NULL) < 0)
			return 0;
		size_t end = off + VC_PROTO_HDR_LEN + f.len;
		if (end > r->len)
			return end;
		off = end;
	}
	return 0;
}

/* Makes room for `extra` more bytes. Consumed bytes are dropped by moving the
 * unread tail to the front only when the free space runs out, and the buffer grows
 * by doubling: each byte is copied a bounded number of times however small the
 * pieces it arrives in. Growth stops at the end of the frame being assembled, so a
 * header alone never makes the buffer larger than its announced body + header. */
static int reader_reserve(struct vc_frame_reader *r, size_t extra)
{
	size_t pending = r->len - r->consumed;
	if (r->cap > READER_SHRINK_ABOVE && pending <= READER_MIN_CAP &&
	    extra <= READER_MIN_CAP - pending) {
		/* The big frame is gone: give its memory back. */
		uint8_t *nb = malloc(READER_MIN_CAP);
		if (nb) {
			memcpy(nb, r->buf + r->consumed, pending);
			free(r->buf);
			r->buf = nb;
			r->cap = READER_MIN_CAP;
			r->len = pending;
			r->consumed = 0;
		}
	}
	if (r->consumed == r->len)
		r->consumed = r->len = 0;
	if (r->cap - r->len >= extra)
		return 0;
	if (r->consumed > 0) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
		if (r->cap - r->len >= extra)
			return 0;
	}
	if (extra > SIZE_MAX / 4 - r->len)
		return -ENOMEM;
	size_t need = r->len + extra;
	size_t ncap = r->cap > READER_MIN_CAP / 2 ? r->cap * 2 : READER_MIN_CAP;
	size_t goal = announced_end(r);
	if (goal >= need && ncap > goal)
		ncap = goal > READER_MIN_CAP ? goal : READER_MIN_CAP;
	if (ncap < need)
		ncap = need;
	uint8_t *nb = realloc(r->buf, ncap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

int vc_frame_reader_fill(struct vc_frame_reader *r, int fd)
{
	int ret = reader_reserve(r, 1);
	if (ret < 0)
		return ret;
	size_t room = r->cap - r->len;
	if (room > INT_MAX)
		room = INT_MAX;
	for (;;) {
		ssize_t n = read(fd, r->buf + r->len, room);
		if (n >= 0) {
			r->len += (size_t)n;
			return (int)n;
		}
		if (errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno != EINTR)
			return -errno;
	}
}

int vc_frame_reader_push(struct vc_frame_reader *r, const void *data, size_t len)
{
	if (!len)
		return 0;
	int ret = reader_reserve(r, len);
	if (ret < 0)
		return ret;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int vc_frame_reader_next(struct vc_frame_reader *r, struct vc_frame *f, struct vc_error *err)
{
	size_t avail = r->len - r->consumed;
	if (avail < VC_PROTO_HDR_LEN)
		return 0;
	int ret = vc_frame_header_decode(r->buf + r->consumed, f, err);
	if (ret < 0)
		return ret;
	if (avail - VC_PROTO_HDR_LEN < f->len)
		return 0;
	f->body = r->buf + r->consumed + VC_PROTO_HDR_LEN;
	r->consumed += VC_PROTO_HDR_LEN + f->len;
	return 1;
}

/* ---- one blocking frame ---- */

/* Reads up to len bytes, fewer only at EOF; never past len, so the fd stays at a
 * frame boundary for the next caller. */
static ssize_t read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		int r = errno == EAGAIN || errno == EWOULDBLOCK ? wait_ready(fd, POLLIN) : -errno;
		if (r < 0)
			return r;
	}
	return (ssize_t)got;
}

int vc_frame_read_one(int fd, struct vc_frame *f, uint8_t **body, struct vc_error *err)
{
	uint8_t hdr[VC_PROTO_HDR_LEN];
	ssize_t n = read_exact(fd, hdr, sizeof(hdr));
	if (n < 0)
		return vc_error_sys(err, (int)-n, "read frame header");
	if (n == 0)
		return vc_error_set(err, EPIPE, "connection closed");
	if ((size_t)n < sizeof(hdr))
		return vc_error_set(
			err, EPROTO,
			"truncated frame header: connection closed after %zd of %u bytes", n,
			VC_PROTO_HDR_LEN);
	int r = vc_frame_header_decode(hdr, f, err);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *b = malloc((size_t)f->len + 1);
	if (!b)
		return vc_error_set(err, ENOMEM, "out of memory for a %u-byte frame body", f->len);
	n = read_exact(fd, b, f->len);
	if (n < 0)
		return vc_error_sys(err, (int)-n, "read %s frame body (id %u)",
				    vc_frame_type_name(f->type), f->id);
	if ((size_t)n < f->len)
		return vc_error_set(err, EPROTO,
				    "truncated %s frame (id %u): connection closed after %zd of %u "
				    "body bytes",
				    vc_frame_type_name(f->type), f->id, n, f->len);
	b[f->len] = '\0';
	f->body = b;
	*body = steal_ptr(b);
	return 0;
}
