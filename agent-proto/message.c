/* JSON request/response bodies, the params field readers and the synchronous call. */
#include "agent-proto/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* Method names are identifiers: they end up in logs and error messages. */
#define METHOD_MAX 64
/* Errno values a response may carry; anything else is a malformed response. */
#define REMOTE_CODE_MAX 4095

/* The last member named key (as vc_json_get picks it), so its value can be taken. */
static struct vc_json **member_slot(struct vc_json *obj, const char *key, size_t keylen)
{
	for (size_t i = obj->u.object.len; i-- > 0;) {
		struct vc_json_member *m = &obj->u.object.members[i];
		if (strlen(m->key) == keylen && !memcmp(m->key, key, keylen))
			return &m->value;
	}
	return NULL;
}

static int finish_body(struct vc_jgen *g, const char *what, char **out, size_t *len,
		       struct vc_error *err)
{
	_cleanup_free_ char *s = NULL;
	size_t n;
	int r = vc_jgen_finish(g, &s, &n, err);
	if (r < 0)
		return vc_error_wrap(err, "encode %s", what);
	if (n > VC_PROTO_MAX_BODY)
		return vc_error_set(err, EMSGSIZE, "%s body of %zu bytes exceeds the maximum of %u",
				    what, n, VC_PROTO_MAX_BODY);
	*out = steal_ptr(s);
	if (len)
		*len = n;
	return 0;
}

static void gen_object_or_empty(struct vc_jgen *g, const struct vc_json *v)
{
	if (v) {
		vc_jgen_value(g, v);
	} else {
		vc_jgen_object_open(g);
		vc_jgen_object_close(g);
	}
}

static bool method_valid(const char *s, size_t len)
{
	if (len == 0 || len > METHOD_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

int vc_proto_request_encode(const char *method, const struct vc_json *params, char **out,
			    size_t *len, struct vc_error *err)
{
	if (!method || !method_valid(method, strlen(method)))
		return vc_error_set(err, EINVAL,
				    "request: method `%s`: must be 1 to %d letters, digits or "
				    "underscores",
				    method ? method : "(null)", METHOD_MAX);
	if (params && params->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: params: must be an object", method);
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "method", method);
	vc_jgen_key(g, "params");
	gen_object_or_empty(g, params);
	vc_jgen_object_close(g);
	return finish_body(g, "request", out, len, err);
}

int vc_proto_request_decode(const void *body, size_t len, char **method, struct vc_json **params,
			    struct vc_error *err)
{
	_cleanup_json_ struct vc_json *root = NULL;
	int r = vc_json_parse(body, len, "request", &root, err);
	if (r < 0)
		return r;
	if (root->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "request: must be a JSON object, not %s",
				    vc_json_type_name(root->type));
	const struct vc_json *m = vc_json_get(root, "method");
	if (!m)
		return vc_error_set(err, EINVAL, "request: method is required");
	if (m->type != VC_JSON_STRING)
		return vc_error_set(err, EINVAL, "request: method: must be a string, not %s",
				    vc_json_type_name(m->type));
	if (!method_valid(m->u.string.ptr, m->u.string.len))
		return vc_error_set(err, EINVAL,
				    "request: method `%.*s`: must be 1 to %d letters, digits or "
				    "underscores",
				    METHOD_MAX, m->u.string.ptr, METHOD_MAX);
	struct vc_json **slot = member_slot(root, "params", strlen("params"));
	if (slot && (*slot)->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: params: must be an object, not %s",
				    m->u.string.ptr, vc_json_type_name((*slot)->type));
	_cleanup_free_ char *name = strndup(m->u.string.ptr, m->u.string.len);
	struct vc_json *p = slot ? steal_ptr(*slot) : vc_json_new_object();
	if (!name || !p) {
		vc_json_free(p);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	*method = steal_ptr(name);
	*params = p;
	return 0;
}

int vc_proto_response_encode(const struct vc_json *result, char **out, size_t *len,
			     struct vc_error *err)
{
	if (result && result->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "response: result: must be an object, not %s",
				    vc_json_type_name(result->type));
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "result");
	gen_object_or_empty(g, result);
	vc_jgen_object_close(g);
	return finish_body(g, "response", out, len, err);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Copies an error message (file names, peer text: any bytes) as valid UTF-8, each
 * bad byte as '?', cut on a character boundary to fit out, so the peer's JSON
 * parser always accepts the response. Returns the length. */
static size_t utf8_clean(const char *in, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t left = strlen(in), o = 0;
	while (left > 0) {
		size_t k = utf8_seq(s, left);
		if (o + (k ? k : 1) >= cap)
			break;
		if (k) {
			memcpy(out + o, s, k);
		} else {
			out[o] = '?';
			k = 1;
		}
		o += k;
		s += k;
		left -= k;
	}
	out[o] = '\0';
	return o;
}

int vc_proto_response_encode_error(int code, const char *message, char **out, size_t *len)
{
	if (code < 0)
		code = -code;
	if (code == 0 || code > REMOTE_CODE_MAX)
		code = EIO;
	if (!message || !*message)
		message = strerror(code);
	char text[VC_ERROR_MSG_MAX];
	size_t n = utf8_clean(message, text, sizeof(text));
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return -ENOMEM;
	vc_jgen_object_open(g);
	vc_jgen_key(g, "error");
	vc_jgen_object_open(g);
	vc_jgen_kv_int(g, "code", code);
	vc_jgen_key(g, "message");
	vc_jgen_string_len(g, text, n);
	vc_jgen_object_close(g);
	vc_jgen_object_close(g);
	return finish_body(g, "error response", out, len, NULL);
}

/* Sets *remote when the peer answered with an error (then err holds its message and
 * code); otherwise a failure is a malformed response (EBADMSG). */
static int response_decode(const void *body, size_t len, struct vc_json **result,
			   struct vc_error *err, bool *remote)
{
	*remote = false;
	_cleanup_json_ struct vc_json *root = NULL;
	int r = vc_json_parse(body, len, "response", &root, err);
	if (r < 0) {
		if (r != -EINVAL)
			return r;
		if (err)
			err->code = EBADMSG;
		return -EBADMSG;
	}
	if (root->type != VC_JSON_OBJECT)
		return vc_error_set(err, EBADMSG, "response: must be a JSON object, not %s",
				    vc_json_type_name(root->type));
	const struct vc_json *e = vc_json_get(root, "error");
	struct vc_json **slot = member_slot(root, "result", strlen("result"));
	if (e && slot)
		return vc_error_set(err, EBADMSG, "response: has both result and error");
	if (e) {
		if (e->type != VC_JSON_OBJECT)
			return vc_error_set(err, EBADMSG,
					    "response: error: must be an object, not %s",
					    vc_json_type_name(e->type));
		int64_t code;
		if (vc_json_to_i64(vc_json_get(e, "code"), &code) < 0 || code < 1 ||
		    code > REMOTE_CODE_MAX)
			return vc_error_set(
				err, EBADMSG,
				"response: error.code: must be an errno value from 1 to "
				"%d",
				REMOTE_CODE_MAX);
		const struct vc_json *msg = vc_json_get(e, "message");
		if (msg && msg->type != VC_JSON_STRING)
			return vc_error_set(err, EBADMSG,
					    "response: error.message: must be a string, not %s",
					    vc_json_type_name(msg->type));
		*remote = true;
		const char *text = msg ? msg->u.string.ptr : "";
		return vc_error_set(err, (int)code, "%s", *text ? text : strerror((int)code));
	}
	if (!slot)
		return vc_error_set(err, EBADMSG, "response: has neither result nor error");
	if ((*slot)->type != VC_JSON_OBJECT)
		return vc_error_set(err, EBADMSG, "response: result: must be an object, not %s",
				    vc_json_type_name((*slot)->type));
	if (result)
		*result = steal_ptr(*slot);
	return 0;
}

int vc_proto_response_decode(const void *body, size_t len, struct vc_json **result,
			     struct vc_error *remote_err)
{
	bool remote;
	return response_decode(body, len, result, remote_err, &remote);
}

/* ---- synchronous call ---- */

static uint32_t fresh_id(void)
{
	static uint32_t last;
	uint32_t id;
	do
		id = __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
	while (id == 0);
	return id;
}

int vc_proto_call(int fd, const char *method, const struct vc_json *params, struct vc_json **result,
		  struct vc_error *err)
{
	_cleanup_free_ char *req = NULL;
	size_t len;
	int r = vc_proto_request_encode(method, params, &req, &len, err);
	if (r < 0)
		return r;
	uint32_t id = fresh_id();
	r = vc_frame_write(fd, VC_FRAME_REQUEST, 0, id, req, len, err);
	if (r < 0)
		return vc_error_wrap(err, "%s", method);
	for (;;) {
		struct vc_frame f;
		_cleanup_free_ uint8_t *body = NULL;
		r = vc_frame_read_one(fd, &f, &body, err);
		if (r == -EPIPE)
			return vc_error_set(err, EPIPE, "connection closed before the reply to %s",
					    method);
		if (r < 0)
			return vc_error_wrap(err, "waiting for the reply to %s", method);
		/* Output of running processes and replies to someone else's requests
		 * are not ours to keep. */
		if (f.type != VC_FRAME_RESPONSE || f.id != id)
			continue;
		bool remote;
		r = response_decode(body, f.len, result, err, &remote);
		if (r < 0 && !remote)
			return vc_error_wrap(err, "reply to %s", method);
		return r;
	}
}

/* ---- params field readers ---- */

/* Finds key (dots walk into nested objects: "process.args") in params. JSON null
 * counts as absent. Errors name the path from params. */
static int lookup(const struct vc_json *params, const char *method, const char *key, bool required,
		  const struct vc_json **out, struct vc_error *err)
{
	*out = NULL;
	if (!method)
		method = "request";
	if (!params || params->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: params: must be an object", method);
	struct vc_json *cur = (struct vc_json *)params;
	const char *seg = key;
	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
		int pathlen = (int)(seg + n - key);
		struct vc_json **slot = member_slot(cur, seg, n);
		const struct vc_json *v = slot ? *slot : NULL;
		if (!v || v->type == VC_JSON_NULL) {
			if (required)
				return vc_error_set(err, EINVAL, "%s: params.%.*s is required",
						    method, pathlen, key);
			return 0;
		}
		if (!dot) {
			*out = v;
			return 0;
		}
		if (v->type != VC_JSON_OBJECT)
			return vc_error_set(err, EINVAL, "%s: params.%.*s: must be an object",
					    method, pathlen, key);
		cur = (struct vc_json *)v;
		seg = dot + 1;
	}
}

static int lookup_typed(const struct vc_json *params, const char *method, const char *key,
			bool required, enum vc_json_type type, const char *want,
			const struct vc_json **out, struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = lookup(params, method, key, required, &v, err);
	if (r < 0)
		return r;
	if (v && v->type != type)
		return vc_error_set(err, EINVAL, "%s: params.%s: must be %s",
				    method ? method : "request", key, want);
	*out = v;
	return 0;
}

int vc_proto_get_string(const struct vc_json *params, const char *method, const char *key,
			bool required, const char **out, struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = lookup_typed(params, method, key, required, VC_JSON_STRING, "a string", &v, err);
	if (r < 0)
		return r;
	/* A NUL inside would silently cut a path or an id short. */
	if (v && memchr(v->u.string.ptr, '\0', v->u.string.len))
		return vc_error_set(err, EINVAL, "%s: params.%s: must not contain a NUL byte",
				    method ? method : "request", key);
	*out = v ? v->u.string.ptr : NULL;
	return 0;
}

int vc_proto_get_u32(const struct vc_json *params, const char *method, const char *key,
		     bool required, uint32_t *out, struct vc_error *err)
{
	const struct vc_json *v = NULL;
	int r = lookup(params, method, key, required, &v, err);
	if (r < 0)
		return r;
	if (!v)
		return 0;
	uint64_t x;
	if (vc_json_to_u64(v, &x) < 0 || x > UINT32_MAX) {
		if (v->type == VC_JSON_NUMBER)
			return vc_error_set(err, EINVAL,
					    "%s: params.%s: must be an integer from 0 to %u (got "
					    "%.40s)",
					    method ? method : "request", key, UINT32_MAX,
					    v->u.number.text);
		return vc_error_set(err, EINVAL, "%s: params.%s: must be an integer from 0 to %u",
				    method ? method : "request", key, UINT32_MAX);
	}
	*out = (uint32_t)x;
	return 0;
}

int vc_proto_get_object(const struct vc_json *params, const char *method, const char *key,
			bool required, const struct vc_json **out, struct vc_error *err)
{
	return lookup_typed(params, method, key, required, VC_JSON_OBJECT, "an object", out, err);
}

int vc_proto_get_array(const struct vc_json *params, const char *method, const char *key,
		       bool required, const struct vc_json **out, struct vc_error *err)
{
	return lookup_typed(params, method, key, required, VC_JSON_ARRAY, "an array", out, err);
}
