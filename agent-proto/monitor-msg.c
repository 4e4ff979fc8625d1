/* The monitor protocol's typed messages: the one place where its JSON is read and
 * written (rules in monitor-msg.h and docs/monitor-protocol.md). */
#include "agent-proto/monitor-msg.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Bits of the fields a method reads. */
enum {
	F_STREAM = 1u << 0,   /* stream_id, optional */
	F_STREAM_R = 1u << 1, /* stream_id, required */
	F_SIGNAL = 1u << 2,
	F_ALL = 1u << 3,
	F_SIZE = 1u << 4,
	F_PS = 1u << 5,
	F_PROCESS = 1u << 6,
	F_RESOURCES = 1u << 7,
};

static const struct {
	const char *name;
	unsigned fields;
} methods[VC_MON_N_METHODS] = {
	[VC_MON_ATTACH] = {"attach", F_STREAM},
	[VC_MON_WAIT] = {"wait", F_STREAM},
	[VC_MON_SIGNAL] = {"signal", F_STREAM | F_SIGNAL},
	[VC_MON_KILL] = {"kill", F_SIGNAL | F_ALL},
	[VC_MON_RESIZE] = {"resize", F_STREAM_R | F_SIZE},
	[VC_MON_START] = {"start", 0},
	[VC_MON_PAUSE] = {"pause", 0},
	[VC_MON_RESUME] = {"resume", 0},
	[VC_MON_PS] = {"ps", F_PS},
	[VC_MON_STATS] = {"stats", 0},
	[VC_MON_UPDATE] = {"update", F_RESOURCES},
	[VC_MON_EXEC] = {"exec", F_PROCESS},
	[VC_MON_ADD] = {"add", 0},
	[VC_MON_DESTROY] = {"destroy", 0},
	[VC_MON_KILL_STANDIN] = {"kill_standin", 0},
};

const char *vc_mon_method_name(enum vc_mon_method m)
{
	return (unsigned)m < VC_MON_N_METHODS ? methods[m].name : NULL;
}

/* ---- requests ---- */

/* The rules decode enforces, checked before sending too, so that a sender's bug
 * fails at the sender with the message the monitor would have given. */
static int check_request(const struct vc_mon_request *req, struct vc_error *err)
{
	const char *name = vc_mon_method_name(req->method);
	if (!name)
		return vc_error_set(err, ENOSYS, "unknown monitor request %d", (int)req->method);
	struct vc_error why = {0};
	if (req->container_id && vc_container_id_check(req->container_id, &why) < 0)
		return vc_error_set(err, EINVAL, "%s: params.container_id: %s", name, why.msg);
	unsigned f = methods[req->method].fields;
	if ((f & F_SIGNAL) && req->signal >= NSIG)
		return vc_error_set(err, EINVAL, "%s: params.signal: must be below %d (got %u)",
				    name, NSIG, req->signal);
	if ((f & F_PROCESS) && (!req->process || req->process->type != VC_JSON_OBJECT))
		return vc_error_set(err, EINVAL, "%s: params.process: must be an object", name);
	if ((f & F_RESOURCES) && req->resources && req->resources->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: params.resources: must be an object", name);
	return 0;
}

static int set_uint(struct vc_json *o, const char *key, uint32_t v)
{
	return vc_json_object_set(o, key, vc_json_new_uint(v));
}

static int set_true(struct vc_json *o, const char *key)
{
	return vc_json_object_set(o, key, vc_json_new_bool(true));
}

int vc_mon_request_params(const struct vc_mon_request *req, struct vc_json **params,
			  struct vc_error *err)
{
	*params = NULL;
	int r = check_request(req, err);
	if (r < 0)
		return r;
	unsigned f = methods[req->method].fields;
	_cleanup_json_ struct vc_json *p = vc_json_new_object();
	/* Optional fields at their default are left out: what the clients always sent. */
	if (!p ||
	    (req->container_id &&
	     vc_json_object_set(p, "container_id", vc_json_new_string(req->container_id)) < 0) ||
	    ((f & F_STREAM_R) || ((f & F_STREAM) && req->stream_id)
		     ? set_uint(p, "stream_id", req->stream_id) < 0
		     : false) ||
	    ((f & F_SIGNAL) && set_uint(p, "signal", req->signal) < 0) ||
	    ((f & F_ALL) && vc_json_object_set(p, "all", vc_json_new_bool(req->all)) < 0) ||
	    ((f & F_SIZE) &&
	     (set_uint(p, "rows", req->rows) < 0 || set_uint(p, "cols", req->cols) < 0)) ||
	    ((f & F_PS) && ((req->details && set_true(p, "details") < 0) ||
			    (req->environ && set_true(p, "environ") < 0))) ||
	    ((f & F_PROCESS) &&
	     vc_json_object_set(p, "process", vc_json_clone(req->process)) < 0) ||
	    ((f & F_RESOURCES) && req->resources &&
	     vc_json_object_set(p, "resources", vc_json_clone(req->resources)) < 0))
		return vc_error_set(err, ENOMEM, "out of memory");
	*params = steal_ptr(p);
	return 0;
}

int vc_mon_request_encode(const struct vc_mon_request *req, char **body, size_t *len,
			  struct vc_error *err)
{
	_cleanup_json_ struct vc_json *p = NULL;
	int r = vc_mon_request_params(req, &p, err);
	if (r < 0)
		return r;
	return vc_proto_request_encode(vc_mon_method_name(req->method), p, body, len, err);
}

/* A field of params (or of a result): NULL when absent or null, else of type t. */
static int field(const struct vc_json *o, const char *what, const char *key, bool required,
		 enum vc_json_type t, const char *want, const struct vc_json **out, int code,
		 struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(o, key);
	*out = NULL;
	if (!v || v->type == VC_JSON_NULL)
		return required ? vc_error_set(err, code, "%s.%s is required", what, key) : 0;
	if (v->type != t)
		return vc_error_set(err, code, "%s.%s: must be %s, not %s", what, key, want,
				    vc_json_type_name(v->type));
	*out = v;
	return 0;
}

static int get_u32(const struct vc_json *o, const char *what, const char *key, bool required,
		   uint32_t *out, int code, struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(o, key);
	uint64_t x = 0;
	if (!v || v->type == VC_JSON_NULL)
		return required ? vc_error_set(err, code, "%s.%s is required", what, key) : 0;
	if (vc_json_to_u64(v, &x) < 0 || x > UINT32_MAX)
		return vc_error_set(err, code, "%s.%s: must be an unsigned 32-bit number", what,
				    key);
	*out = (uint32_t)x;
	return 0;
}

static int get_bool(const struct vc_json *o, const char *what, const char *key, bool *out,
		    struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = field(o, what, key, false, VC_JSON_BOOL, "a boolean", &v, EINVAL, err);
	if (r == 0 && v)
		*out = v->u.boolean;
	return r;
}

static int get_object(const struct vc_json *o, const char *what, const char *key, bool required,
		      struct vc_json **out, struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = field(o, what, key, required, VC_JSON_OBJECT, "an object", &v, EINVAL, err);
	if (r < 0 || !v)
		return r;
	if (!(*out = vc_json_clone(v)))
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int decode_params(const struct vc_json *params, struct vc_mon_request *req,
			 struct vc_error *err)
{
	const char *name = methods[req->method].name;
	unsigned f = methods[req->method].fields;
	char what[32];
	snprintf(what, sizeof(what), "%s: params", name);
	const struct vc_json *cid = NULL;
	int r = field(params, what, "container_id", false, VC_JSON_STRING, "a string", &cid, EINVAL,
		      err);
	if (r < 0)
		return r;
	if (cid) {
		struct vc_error why = {0};
		/* A NUL inside would cut the id short: what the rule sees must be all. */
		if (memchr(cid->u.string.ptr, '\0', cid->u.string.len))
			return vc_error_set(err, EINVAL,
					    "%s.container_id: must not contain a NUL byte", what);
		if (vc_container_id_check(cid->u.string.ptr, &why) < 0)
			return vc_error_set(err, EINVAL, "%s.container_id: %s", what, why.msg);
		if (!(req->container_id = strdup(cid->u.string.ptr)))
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	if ((f & (F_STREAM | F_STREAM_R)) && (r = get_u32(params, what, "stream_id", f & F_STREAM_R,
							  &req->stream_id, EINVAL, err)) < 0)
		return r;
	if (f & F_SIGNAL) {
		if ((r = get_u32(params, what, "signal", true, &req->signal, EINVAL, err)) < 0)
			return r;
		if (req->signal >= NSIG)
			return vc_error_set(err, EINVAL, "%s.signal: must be below %d (got %u)",
					    what, NSIG, req->signal);
	}
	if ((f & F_ALL) && (r = get_bool(params, what, "all", &req->all, err)) < 0)
		return r;
	if ((f & F_SIZE) &&
	    ((r = get_u32(params, what, "rows", true, &req->rows, EINVAL, err)) < 0 ||
	     (r = get_u32(params, what, "cols", true, &req->cols, EINVAL, err)) < 0))
		return r;
	if ((f & F_PS) && ((r = get_bool(params, what, "details", &req->details, err)) < 0 ||
			   (r = get_bool(params, what, "environ", &req->environ, err)) < 0))
		return r;
	if ((f & F_PROCESS) &&
	    (r = get_object(params, what, "process", true, &req->process, err)) < 0)
		return r;
	if ((f & F_RESOURCES) &&
	    (r = get_object(params, what, "resources", false, &req->resources, err)) < 0)
		return r;
	return 0;
}

int vc_mon_request_decode(const void *body, size_t len, struct vc_mon_request *req,
			  struct vc_error *err)
{
	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *params = NULL;
	memset(req, 0, sizeof(*req));
	int r = vc_proto_request_decode(body, len, &method, &params, err);
	if (r < 0)
		return r;
	size_t i;
	for (i = 0; i < VC_MON_N_METHODS && strcmp(methods[i].name, method); i++)
		;
	if (i == VC_MON_N_METHODS)
		return vc_error_set(err, ENOSYS, "unknown monitor request `%s`", method);
	req->method = (enum vc_mon_method)i;
	if ((r = decode_params(params, req, err)) < 0) {
		vc_mon_request_release(req);
		return r;
	}
	return 0;
}

void vc_mon_request_release(struct vc_mon_request *req)
{
	if (!req)
		return;
	free(req->container_id);
	vc_json_free(req->process);
	vc_json_free(req->resources);
	memset(req, 0, sizeof(*req));
}

/* ---- answers ---- */

static int respond(struct vc_json *o, char **body, size_t *len, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *res = o;
	if (!res)
		return vc_error_set(err, ENOMEM, "out of memory");
	return vc_proto_response_encode(res, body, len, err);
}

static struct vc_json *object1(const char *key, struct vc_json *v)
{
	struct vc_json *o = vc_json_new_object();
	if (o && vc_json_object_set(o, key, v) < 0) {
		vc_json_free(o);
		return NULL;
	}
	return o;
}

int vc_mon_stream_encode(const struct vc_mon_stream *s, char **body, size_t *len,
			 struct vc_error *err)
{
	return respond(object1("stream_id", vc_json_new_uint(s->stream_id)), body, len, err);
}

int vc_mon_exit_encode(const struct vc_mon_exit *e, char **body, size_t *len, struct vc_error *err)
{
	struct vc_json *o = object1("exit_code", vc_json_new_int(e->exit_code));
	if (o && vc_json_object_set(o, "signal", vc_json_new_int(e->signal)) < 0) {
		vc_json_free(o);
		o = NULL;
	}
	return respond(o, body, len, err);
}

int vc_mon_removed_encode(const struct vc_mon_removed *rm, char **body, size_t *len,
			  struct vc_error *err)
{
	return respond(object1("sandbox", vc_json_new_bool(rm->sandbox)), body, len, err);
}

int vc_mon_stream_from_json(const struct vc_json *result, struct vc_mon_stream *s,
			    struct vc_error *err)
{
	uint32_t sid = 0;
	int r = get_u32(result, "answer: result", "stream_id", true, &sid, EBADMSG, err);
	if (r < 0)
		return r;
	if (!sid)
		return vc_error_set(err, EBADMSG, "answer: result.stream_id: must not be 0");
	s->stream_id = sid;
	return 0;
}

/* An integer field of an answer, within [0, max]. */
static int get_bounded(const struct vc_json *o, const char *key, int max, int *out,
		       struct vc_error *err)
{
	uint32_t v = 0;
	int r = get_u32(o, "answer: result", key, true, &v, EBADMSG, err);
	if (r < 0)
		return r;
	if (v > (uint32_t)max)
		return vc_error_set(err, EBADMSG,
				    "answer: result.%s: must be from 0 to %d (got %u)", key, max,
				    v);
	*out = (int)v;
	return 0;
}

int vc_mon_exit_from_json(const struct vc_json *result, struct vc_mon_exit *e, struct vc_error *err)
{
	struct vc_mon_exit x = {0};
	int r;
	if ((r = get_bounded(result, "exit_code", 255, &x.exit_code, err)) < 0 ||
	    (r = get_bounded(result, "signal", NSIG - 1, &x.signal, err)) < 0)
		return r;
	*e = x;
	return 0;
}

int vc_mon_removed_from_json(const struct vc_json *result, struct vc_mon_removed *rm,
			     struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = field(result, "answer: result", "sandbox", true, VC_JSON_BOOL, "a boolean", &v,
		      EBADMSG, err);
	if (r < 0)
		return r;
	rm->sandbox = v->u.boolean;
	return 0;
}

#define DECODER(NAME, TYPE)                                                                       \
	int vc_mon_##NAME##_decode(const void *body, size_t len, TYPE *out, struct vc_error *err) \
	{                                                                                         \
		_cleanup_json_ struct vc_json *res = NULL;                                        \
		int r = vc_proto_response_decode(body, len, &res, err);                           \
		return r < 0 ? r : vc_mon_##NAME##_from_json(res, out, err);                      \
	}
DECODER(stream, struct vc_mon_stream)
DECODER(exit, struct vc_mon_exit)
DECODER(removed, struct vc_mon_removed)
