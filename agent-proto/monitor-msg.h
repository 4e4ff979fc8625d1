/* The monitor protocol's messages (docs/monitor-protocol.md), typed: one struct per
 * request and per answer the monitor itself writes, and an encode/decode pair for
 * each. Encoding writes the whole REQUEST/RESPONSE body; decoding is the gate every
 * body passes before anyone acts on it: a decoded struct holds only fields of the
 * right type and range, so the handlers and readers need no checks of their own.
 *
 * Decode errors name the method and field ("attach: params.stream_id: must be an
 * unsigned 32-bit number") and are EINVAL for requests (ENOSYS "unknown monitor
 * request" for a method that is not one), EBADMSG for answers. Fields a method does
 * not know are ignored, so an older peer reads a newer one's messages. */
#ifndef VC_AGENT_PROTO_MONITOR_MSG_H
#define VC_AGENT_PROTO_MONITOR_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/json.h"

enum vc_mon_method {
	VC_MON_ATTACH,
	VC_MON_WAIT,
	VC_MON_SIGNAL,
	VC_MON_KILL,
	VC_MON_RESIZE,
	VC_MON_START,
	VC_MON_PAUSE,
	VC_MON_RESUME,
	VC_MON_PS,
	VC_MON_STATS,
	VC_MON_UPDATE,
	VC_MON_EXEC,
	VC_MON_ADD,
	VC_MON_DESTROY,
	VC_MON_KILL_STANDIN,
	VC_MON_N_METHODS,
};

/* "attach", "wait", ...; NULL out of range. */
const char *vc_mon_method_name(enum vc_mon_method m);

/* Which fields a method reads is in docs/monitor-protocol.md; the others are left
 * zero by decode and not written by encode. */
struct vc_mon_request {
	enum vc_mon_method method;
	char *container_id;	   /* owned; NULL: the sandbox's owner (any method) */
	uint32_t stream_id;	   /* attach, wait, signal (0: by container_id); resize */
	uint32_t signal;	   /* signal, kill: below NSIG */
	bool all;		   /* kill: every process of the container */
	uint32_t rows, cols;	   /* resize */
	bool details, environ;	   /* ps: procps' facts per process, and environ */
	struct vc_json *process;   /* exec: the OCI process object, owned */
	struct vc_json *resources; /* update: linux.resources, owned; may be NULL */
};

int vc_mon_request_encode(const struct vc_mon_request *req, char **body, size_t *len,
			  struct vc_error *err);
/* The params object encode writes (for callers with a channel that takes params). */
int vc_mon_request_params(const struct vc_mon_request *req, struct vc_json **params,
			  struct vc_error *err);
/* On failure *req is zeroed (nothing to release). */
int vc_mon_request_decode(const void *body, size_t len, struct vc_mon_request *req,
			  struct vc_error *err);
void vc_mon_request_release(struct vc_mon_request *req);

/* Answers the monitor writes itself (ps, stats, update, start, pause, resume and
 * kill/signal/resize pass the agent's answer through, untyped). */
struct vc_mon_stream {	    /* attach, exec, add: the process's stream */
	uint32_t stream_id; /* non-zero */
};
struct vc_mon_exit {   /* wait: how the process ended (from the untrusted guest) */
	int exit_code; /* 0..255 */
	int signal;    /* 0..NSIG-1; 0: not killed by a signal */
};
struct vc_mon_removed { /* destroy */
	bool sandbox;	/* the whole sandbox (the VM) went, not only the container */
};

int vc_mon_stream_encode(const struct vc_mon_stream *s, char **body, size_t *len,
			 struct vc_error *err);
int vc_mon_exit_encode(const struct vc_mon_exit *e, char **body, size_t *len, struct vc_error *err);
int vc_mon_removed_encode(const struct vc_mon_removed *rm, char **body, size_t *len,
			  struct vc_error *err);
/* Each returns 0; the remote error as -code with err holding the monitor's message
 * (vc_proto_response_decode's rule); or -EBADMSG naming the field at fault. */
int vc_mon_stream_decode(const void *body, size_t len, struct vc_mon_stream *s,
			 struct vc_error *err);
int vc_mon_exit_decode(const void *body, size_t len, struct vc_mon_exit *e, struct vc_error *err);
int vc_mon_removed_decode(const void *body, size_t len, struct vc_mon_removed *rm,
			  struct vc_error *err);
/* The same checks on a result object already decoded (vc_proto_call's). */
int vc_mon_stream_from_json(const struct vc_json *result, struct vc_mon_stream *s,
			    struct vc_error *err);
int vc_mon_exit_from_json(const struct vc_json *result, struct vc_mon_exit *e,
			  struct vc_error *err);
int vc_mon_removed_from_json(const struct vc_json *result, struct vc_mon_removed *rm,
			     struct vc_error *err);

#endif
