/* The wire format between host and guest agent, also used between the short-lived
 * CLI / stand-ins and the sandbox monitor.
 *
 * A frame is a 12-byte big-endian header followed by `len` body bytes:
 *   u32 len | u32 id | u16 type | u16 flags
 * REQUEST/RESPONSE bodies are JSON; id is the request id (chosen by the caller,
 * echoed in the response). STDIN/STDOUT/STDERR bodies are raw bytes; id is the
 * process's stream id (chosen by the host, non-zero); flag EOF marks the end of
 * that stream (an empty body with EOF closes the process's stdin).
 * Id 0 is invalid on every frame type (ids start at 1), and EOF is invalid on
 * REQUEST/RESPONSE. vc_frame_write applies the same rules as the reader, so a
 * sender's bug fails at the sender.
 *
 * Nothing in a frame is trusted: an unknown type, unknown flag bits, a length
 * over VC_PROTO_MAX_BODY or a body that is not the JSON its type needs is an error
 * that closes the channel; it never crashes either side. */
#ifndef VC_AGENT_PROTO_PROTO_H
#define VC_AGENT_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/json.h"

#define VC_PROTO_VERSION  1
#define VC_PROTO_HDR_LEN  12
#define VC_PROTO_MAX_BODY (4u << 20)
/* Output is sent in chunks of at most this many bytes, so one busy stream cannot
 * starve the others on the single channel. */
#define VC_PROTO_STREAM_CHUNK (64u << 10)

enum vc_frame_type {
	VC_FRAME_REQUEST = 1,
	VC_FRAME_RESPONSE = 2,
	VC_FRAME_STDIN = 3,
	VC_FRAME_STDOUT = 4,
	VC_FRAME_STDERR = 5,
	VC_FRAME_DNS = 6, /* one DNS message, either way, id VC_DNS_FRAME_ID: see StartDNSRelay */
};
#define VC_DNS_FRAME_ID 1 /* ids are never 0; DNS frames have no request or stream */

#define VC_FRAME_F_EOF	 0x1u
#define VC_FRAME_F_KNOWN (VC_FRAME_F_EOF)

struct vc_frame {
	uint32_t len, id;
	uint16_t type, flags;
	uint8_t *body; /* points into the reader's buffer: valid until the next call */
};

/* "REQUEST", "STDOUT", ...; NULL for an unknown type. */
const char *vc_frame_type_name(uint16_t type);

void vc_frame_header_encode(uint8_t out[VC_PROTO_HDR_LEN], uint16_t type, uint16_t flags,
			    uint32_t id, uint32_t len);
/* Validates a header; fills f (without body). */
int vc_frame_header_decode(const uint8_t in[VC_PROTO_HDR_LEN], struct vc_frame *f,
			   struct vc_error *err);

/* Blocking write of one whole frame (header + body, writev, EINTR-safe). On a
 * socket it never raises SIGPIPE (EPIPE instead); on a non-blocking fd it waits
 * with poll(2) rather than leave half a frame behind. */
int vc_frame_write(int fd, uint16_t type, uint16_t flags, uint32_t id, const void *body, size_t len,
		   struct vc_error *err);

/* Incremental reader for a (possibly non-blocking) fd. The buffer grows by
 * doubling, up to the end of the frame being assembled (never past the announced
 * body + header beyond a 16 KiB floor), and consumed bytes are dropped lazily, so a
 * 4 MiB body in small pieces costs linear time. A bad header is returned by every
 * later _next() call too: the channel is unusable after it. */
struct vc_frame_reader {
	uint8_t *buf;
	size_t len, cap, consumed;
};
void vc_frame_reader_init(struct vc_frame_reader *r);
void vc_frame_reader_free(struct vc_frame_reader *r);
/* One read(2) into the buffer: >0 bytes read, 0 at EOF, -EAGAIN, or -errno. */
int vc_frame_reader_fill(struct vc_frame_reader *r, int fd);
/* Appends bytes (for tests, fuzzing and non-fd transports). */
int vc_frame_reader_push(struct vc_frame_reader *r, const void *data, size_t len);
/* 1: a whole frame is in *f; 0: need more bytes; <0: a bad frame (err says why). */
int vc_frame_reader_next(struct vc_frame_reader *r, struct vc_frame *f, struct vc_error *err);
/* Bytes buffered but not yet returned as frames: non-zero at EOF means the peer
 * stopped in the middle of a frame. */
size_t vc_frame_reader_pending(const struct vc_frame_reader *r);

/* Blocking: reads exactly one frame from fd (used by simple synchronous callers),
 * never a byte past it. *body is malloc'd (NUL-terminated) and f->body points to
 * it. Returns 0, or -EPIPE at a clean EOF (EPROTO for EOF inside a frame);
 * -ETIMEDOUT when SO_RCVTIMEO expires. */
int vc_frame_read_one(int fd, struct vc_frame *f, uint8_t **body, struct vc_error *err);

/* JSON bodies.
 * request:  {"method": "CreateContainer", "params": {...}}
 * response: {"result": {...}}  or  {"error": {"code": 22, "message": "..."}}
 * code is a positive errno value (1..4095).
 * method is 1 to 64 letters, digits or underscores. "params" may be left out of a
 * request (decoded as {}); when present it must be an object. Request decode errors
 * are EINVAL ("request: method: must be a string, not number"); a malformed response
 * is EBADMSG, so it cannot be mistaken for the remote's own error code. */
int vc_proto_request_encode(const char *method, const struct vc_json *params, char **out,
			    size_t *len, struct vc_error *err);
int vc_proto_request_decode(const void *body, size_t len, char **method, struct vc_json **params,
			    struct vc_error *err);
int vc_proto_response_encode(const struct vc_json *result, char **out, size_t *len,
			     struct vc_error *err);
int vc_proto_response_encode_error(int code, const char *message, char **out, size_t *len);
/* Returns 0 with *result (may be an empty object), or the remote error as
 * -code with remote_err filled with the remote message; or a decode error. */
int vc_proto_response_decode(const void *body, size_t len, struct vc_json **result,
			     struct vc_error *remote_err);

/* Synchronous call: writes a request with a fresh id and waits for its response,
 * skipping (and dropping) stream frames and other requests' responses. For the CLI
 * and tests. A remote error comes back as -code with err holding the remote
 * message as is; EOF first is -EPIPE "connection closed before the reply to M". */
int vc_proto_call(int fd, const char *method, const struct vc_json *params, struct vc_json **result,
		  struct vc_error *err);

/* Field readers for validating params; each names the field in its error
 * ("CreateContainer: params.container_id: must be a string",
 * "CreateContainer: params.container_id is required"). NULL *out when an
 * optional field is absent; JSON null counts as absent. A key with dots walks
 * into nested objects ("process.terminal" is params.process.terminal). Strings
 * with a NUL byte are refused. vc_proto_get_u32 leaves *out untouched when an
 * optional field is absent, so preset the default. */
int vc_proto_get_string(const struct vc_json *params, const char *method, const char *key,
			bool required, const char **out, struct vc_error *err);
int vc_proto_get_u32(const struct vc_json *params, const char *method, const char *key,
		     bool required, uint32_t *out, struct vc_error *err);
int vc_proto_get_object(const struct vc_json *params, const char *method, const char *key,
			bool required, const struct vc_json **out, struct vc_error *err);
int vc_proto_get_array(const struct vc_json *params, const char *method, const char *key,
		       bool required, const struct vc_json **out, struct vc_error *err);

/* Method names (Kata's agent API). */
#define VC_M_CHECK	       "Check"
#define VC_M_CREATE_SANDBOX    "CreateSandbox"
#define VC_M_DESTROY_SANDBOX   "DestroySandbox"
#define VC_M_CREATE_CONTAINER  "CreateContainer"
#define VC_M_START_CONTAINER   "StartContainer"
#define VC_M_REMOVE_CONTAINER  "RemoveContainer"
#define VC_M_EXEC_PROCESS      "ExecProcess"
#define VC_M_SIGNAL_PROCESS    "SignalProcess"
#define VC_M_WAIT_PROCESS      "WaitProcess"
#define VC_M_TTY_WIN_RESIZE    "TtyWinResize"
#define VC_M_LIST_PROCESSES    "ListProcesses"
#define VC_M_PAUSE_CONTAINER   "PauseContainer"
#define VC_M_RESUME_CONTAINER  "ResumeContainer"
#define VC_M_UPDATE_CONTAINER  "UpdateContainer"
#define VC_M_STATS_CONTAINER   "StatsContainer"
#define VC_M_GET_GUEST_DETAILS "GetGuestDetails"
#define VC_M_UPDATE_INTERFACE  "UpdateInterface"
#define VC_M_UPDATE_ROUTES     "UpdateRoutes"
#define VC_M_ADD_ARP_NEIGHBORS "AddARPNeighbors"
#define VC_M_START_DNS_RELAY   "StartDNSRelay"
#define VC_M_ONLINE_CPUS       "OnlineCPUs"

/* Annotations of the spec in CreateContainer (docs/agent-protocol.md, "VFIO"). The
 * user's choice of mode, and per host IOMMU group N that the container lists as
 * /dev/vfio/N, where the host put its functions: "PORT.FUNCTION[,PORT.FUNCTION...]". */
#define VC_ANNOT_VFIO_MODE	  "io.vcrun.vfio-mode"
#define VC_ANNOT_VFIO_GROUP	  "io.vcrun.vfio.group." /* + N */
#define VC_VFIO_MODE_GUEST_KERNEL "guest-kernel"
#define VC_VFIO_MODE_VFIO	  "vfio"

#endif
