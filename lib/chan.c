#include "lib/chan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

void vc_chan_init(struct vc_chan *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	vc_frame_reader_init(&c->rd);
	if (fd >= 0)
		vc_set_nonblock(fd, true);
}

void vc_chan_close(struct vc_chan *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	vc_frame_reader_free(&c->rd);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_cap = c->out_off = 0;
	c->eof = true;
}

static int reserve(struct vc_chan *c, size_t more)
{
	if (c->out_off > 0 && c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	} else if (c->out_off > (1u << 20) && c->out_off > c->out_len / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + more <= c->out_cap)
		return 0;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + more)
		cap *= 2;
	uint8_t *n = realloc(c->out, cap);
	if (!n)
		return -ENOMEM;
	c->out = n;
	c->out_cap = cap;
	return 0;
}

int vc_chan_queue(struct vc_chan *c, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		  size_t len)
{
	if (c->eof)
		return -EPIPE;
	if (reserve(c, VC_PROTO_HDR_LEN + len) < 0)
		return -ENOMEM;
	vc_frame_header_encode(c->out + c->out_len, type, flags, id, (uint32_t)len);
	if (len)
		memcpy(c->out + c->out_len + VC_PROTO_HDR_LEN, body, len);
	c->out_len += VC_PROTO_HDR_LEN + len;
	return 0;
}

int vc_chan_queue_raw(struct vc_chan *c, const void *frames, size_t len)
{
	if (c->eof)
		return -EPIPE;
	if (reserve(c, len) < 0)
		return -ENOMEM;
	memcpy(c->out + c->out_len, frames, len);
	c->out_len += len;
	return 0;
}

int vc_chan_request(struct vc_chan *c, uint32_t id, enum vc_agent_req k, const void *m,
		    struct vc_error *err)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int r = vc_agent_req_encode(k, m, &body, &len, err);
	if (r < 0)
		return r;
	r = vc_chan_queue(c, VC_FRAME_REQUEST, 0, id, body, len);
	return r < 0 ? vc_error_sys(err, -r, "queue %s", vc_agent_req_name(k)) : 0;
}

int vc_chan_respond(struct vc_chan *c, uint32_t id, const struct vc_json *result)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int r = vc_proto_response_encode(result, &body, &len, NULL);
	if (r < 0)
		return r;
	return vc_chan_queue(c, VC_FRAME_RESPONSE, 0, id, body, len);
}

int vc_chan_respond_error(struct vc_chan *c, uint32_t id, int code, const char *msg)
{
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int r = vc_proto_response_encode_error(code < 0 ? -code : code, msg, &body, &len);
	if (r < 0)
		return r;
	return vc_chan_queue(c, VC_FRAME_RESPONSE, 0, id, body, len);
}

size_t vc_chan_pending(const struct vc_chan *c)
{
	return c->out_len - c->out_off;
}

int vc_chan_flush(struct vc_chan *c)
{
	while (c->fd >= 0 && vc_chan_pending(c) > 0) {
		ssize_t w = write(c->fd, c->out + c->out_off, vc_chan_pending(c));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			c->eof = true;
			return -errno;
		}
		c->out_off += (size_t)w;
	}
	return 0;
}

int vc_chan_fill(struct vc_chan *c)
{
	int r = vc_frame_reader_fill(&c->rd, c->fd);
	if (r == 0)
		c->eof = true;
	else if (r < 0 && r != -EAGAIN && r != -EINTR)
		c->eof = true;
	return r;
}

int vc_chan_drain(struct vc_chan *c, int timeout_ms)
{
	unsigned long long deadline = vc_now_ns() + (unsigned long long)timeout_ms * 1000000ULL;
	while (vc_chan_pending(c) > 0 && !c->eof) {
		if (vc_chan_flush(c) < 0)
			return -EPIPE;
		if (vc_chan_pending(c) == 0)
			break;
		unsigned long long now = vc_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		poll(&p, 1, (int)((deadline - now) / 1000000ULL) + 1);
	}
	return 0;
}
