/* A frame channel for a poll loop: a non-blocking fd, a frame reader and an
 * output queue. Writes never block, so the monitor cannot deadlock against an agent
 * that is itself blocked writing output to us. */
#ifndef VC_LIB_CHAN_H
#define VC_LIB_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-proto/agent-req.h"
#include "agent-proto/proto.h"
#include "common/error.h"

struct vc_chan {
	int fd;
	struct vc_frame_reader rd;
	uint8_t *out;
	size_t out_len, out_cap, out_off;
	bool eof; /* peer closed, or a fatal error */
};

void vc_chan_init(struct vc_chan *c, int fd);
void vc_chan_close(struct vc_chan *c);
/* Queues a whole frame. */
int vc_chan_queue(struct vc_chan *c, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		  size_t len);
/* Queues bytes that are already whole frames (a buffer handed from one channel
 * to another). */
int vc_chan_queue_raw(struct vc_chan *c, const void *frames, size_t len);
/* Queues the agent request of kind k (m: its struct, agent-proto/agent-req.h); an
 * encoder's refusal is EINVAL with err naming the field. */
int vc_chan_request(struct vc_chan *c, uint32_t id, enum vc_agent_req k, const void *m,
		    struct vc_error *err);
/* Queues a response built from JSON. */
int vc_chan_respond(struct vc_chan *c, uint32_t id, const struct vc_json *result);
int vc_chan_respond_error(struct vc_chan *c, uint32_t id, int code, const char *msg);
size_t vc_chan_pending(const struct vc_chan *c);
/* Writes what it can; -errno on a fatal error. */
int vc_chan_flush(struct vc_chan *c);
/* Reads what is there; sets eof at EOF. */
int vc_chan_fill(struct vc_chan *c);
/* Blocks (poll) until everything queued is written or timeout_ms passes. */
int vc_chan_drain(struct vc_chan *c, int timeout_ms);

#endif
