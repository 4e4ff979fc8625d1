/* The only file that includes yajl. */
#include "oci/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "common/cleanup.h"

/* yajl's generator stops at 128 levels: what we parse, we must be able to write back. */
#define DEFAULT_MAX_DEPTH 127

static struct vc_json *new_value(enum vc_json_type t)
{
	struct vc_json *v = calloc(1, sizeof(*v));
	if (v)
		v->type = t;
	return v;
}

void vc_json_free(struct vc_json *v)
{
	if (!v)
		return;
	switch (v->type) {
	case VC_JSON_NUMBER:
		free(v->u.number.text);
		break;
	case VC_JSON_STRING:
		free(v->u.string.ptr);
		break;
	case VC_JSON_ARRAY:
		for (size_t i = 0; i < v->u.array.len; i++)
			vc_json_free(v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case VC_JSON_OBJECT:
		for (size_t i = 0; i < v->u.object.len; i++) {
			free(v->u.object.members[i].key);
			vc_json_free(v->u.object.members[i].value);
		}
		free(v->u.object.members);
		break;
	default:
		break;
	}
	free(v);
}

struct vc_json *vc_json_new_null(void)
{
	return new_value(VC_JSON_NULL);
}

struct vc_json *vc_json_new_bool(bool b)
{
	struct vc_json *v = new_value(VC_JSON_BOOL);
	if (v)
		v->u.boolean = b;
	return v;
}

static struct vc_json *new_number_text(const char *text, size_t len)
{
	struct vc_json *v = new_value(VC_JSON_NUMBER);
	if (!v)
		return NULL;
	v->u.number.text = strndup(text, len);
	if (!v->u.number.text) {
		free(v);
		return NULL;
	}
	v->u.number.is_int = strcspn(v->u.number.text, ".eE") == strlen(v->u.number.text);
	return v;
}

struct vc_json *vc_json_new_int(int64_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, i);
	return new_number_text(buf, (size_t)n);
}

struct vc_json *vc_json_new_uint(uint64_t u)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, u);
	return new_number_text(buf, (size_t)n);
}

struct vc_json *vc_json_new_string_len(const char *s, size_t len)
{
	struct vc_json *v = new_value(VC_JSON_STRING);
	if (!v)
		return NULL;
	v->u.string.ptr = malloc(len + 1);
	if (!v->u.string.ptr) {
		free(v);
		return NULL;
	}
	memcpy(v->u.string.ptr, s, len);
	v->u.string.ptr[len] = '\0';
	v->u.string.len = len;
	return v;
}

struct vc_json *vc_json_new_string(const char *s)
{
	return vc_json_new_string_len(s, strlen(s));
}

struct vc_json *vc_json_new_array(void)
{
	return new_value(VC_JSON_ARRAY);
}

struct vc_json *vc_json_new_object(void)
{
	return new_value(VC_JSON_OBJECT);
}

int vc_json_array_append(struct vc_json *arr, struct vc_json *value)
{
	if (!value)
		return -ENOMEM;
	if (!arr || arr->type != VC_JSON_ARRAY) {
		vc_json_free(value);
		return -EINVAL;
	}
	if (arr->u.array.len == arr->u.array.cap) {
		size_t cap = arr->u.array.cap ? arr->u.array.cap * 2 : 4;
		struct vc_json **n = realloc(arr->u.array.items, cap * sizeof(*n));
		if (!n) {
			vc_json_free(value);
			return -ENOMEM;
		}
		arr->u.array.items = n;
		arr->u.array.cap = cap;
	}
	arr->u.array.items[arr->u.array.len++] = value;
	return 0;
}

static int object_append(struct vc_json *obj, char *key, struct vc_json *value)
{
	if (obj->u.object.len == obj->u.object.cap) {
		size_t cap = obj->u.object.cap ? obj->u.object.cap * 2 : 4;
		struct vc_json_member *n = realloc(obj->u.object.members, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		obj->u.object.members = n;
		obj->u.object.cap = cap;
	}
	obj->u.object.members[obj->u.object.len].key = key;
	obj->u.object.members[obj->u.object.len].value = value;
	obj->u.object.len++;
	return 0;
}

int vc_json_object_set(struct vc_json *obj, const char *key, struct vc_json *value)
{
	if (!value)
		return -ENOMEM;
	if (!obj || obj->type != VC_JSON_OBJECT) {
		vc_json_free(value);
		return -EINVAL;
	}
	for (size_t i = obj->u.object.len; i-- > 0;) {
		if (!strcmp(obj->u.object.members[i].key, key)) {
			vc_json_free(obj->u.object.members[i].value);
			obj->u.object.members[i].value = value;
			return 0;
		}
	}
	char *k = strdup(key);
	if (!k || object_append(obj, k, value) < 0) {
		free(k);
		vc_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

int vc_json_object_append(struct vc_json *obj, const char *key, struct vc_json *value)
{
	if (!value)
		return -ENOMEM;
	if (!obj || obj->type != VC_JSON_OBJECT) {
		vc_json_free(value);
		return -EINVAL;
	}
	char *k = strdup(key);
	if (!k || object_append(obj, k, value) < 0) {
		free(k);
		vc_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

bool vc_json_object_remove(struct vc_json *obj, const char *key)
{
	if (!obj || obj->type != VC_JSON_OBJECT)
		return false;
	bool found = false;
	size_t w = 0;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		struct vc_json_member *m = &obj->u.object.members[i];
		if (!strcmp(m->key, key)) {
			free(m->key);
			vc_json_free(m->value);
			found = true;
			continue;
		}
		obj->u.object.members[w++] = *m;
	}
	obj->u.object.len = w;
	return found;
}

struct vc_json *vc_json_get(const struct vc_json *obj, const char *key)
{
	if (!obj || obj->type != VC_JSON_OBJECT)
		return NULL;
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (!strcmp(obj->u.object.members[i].key, key))
			return obj->u.object.members[i].value;
	return NULL;
}

const char *vc_json_str(const struct vc_json *v)
{
	return v && v->type == VC_JSON_STRING ? v->u.string.ptr : NULL;
}

const char *vc_json_type_name(enum vc_json_type t)
{
	static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
	return (unsigned)t < VC_ARRAY_SIZE(names) ? names[t] : "unknown";
}

int vc_json_to_i64(const struct vc_json *v, int64_t *out)
{
	if (!v || v->type != VC_JSON_NUMBER || !v->u.number.is_int)
		return -EINVAL;
	char *end;
	errno = 0;
	long long x = strtoll(v->u.number.text, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*out = x;
	return 0;
}

int vc_json_to_u64(const struct vc_json *v, uint64_t *out)
{
	if (!v || v->type != VC_JSON_NUMBER || !v->u.number.is_int)
		return -EINVAL;
	if (v->u.number.text[0] == '-')
		return -ERANGE;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v->u.number.text, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*out = x;
	return 0;
}

struct vc_json *vc_json_clone(const struct vc_json *v)
{
	if (!v)
		return NULL;
	struct vc_json *c;
	switch (v->type) {
	case VC_JSON_NULL:
		return vc_json_new_null();
	case VC_JSON_BOOL:
		return vc_json_new_bool(v->u.boolean);
	case VC_JSON_NUMBER:
		return new_number_text(v->u.number.text, strlen(v->u.number.text));
	case VC_JSON_STRING:
		return vc_json_new_string_len(v->u.string.ptr, v->u.string.len);
	case VC_JSON_ARRAY:
		c = vc_json_new_array();
		for (size_t i = 0; c && i < v->u.array.len; i++)
			if (vc_json_array_append(c, vc_json_clone(v->u.array.items[i])) < 0) {
				vc_json_free(c);
				return NULL;
			}
		return c;
	case VC_JSON_OBJECT:
		c = vc_json_new_object();
		for (size_t i = 0; c && i < v->u.object.len; i++) {
			struct vc_json *val = vc_json_clone(v->u.object.members[i].value);
			char *k = strdup(v->u.object.members[i].key);
			if (!val || !k || object_append(c, k, val) < 0) {
				free(k);
				vc_json_free(val);
				vc_json_free(c);
				return NULL;
			}
		}
		return c;
	}
	return NULL;
}

/* ---- parsing ---- */

struct parse_ctx {
	struct vc_json **stack;
	size_t depth, max_depth;
	char *pending_key; /* key waiting for its value */
	struct vc_json *root;
	const char *error; /* our own reason, when we stop the parse */
};

static int attach(struct parse_ctx *c, struct vc_json *v)
{
	if (!v) {
		c->error = "out of memory";
		return 0;
	}
	if (c->depth == 0) {
		if (c->root) {
			vc_json_free(v);
			c->error = "more than one top-level value";
			return 0;
		}
		c->root = v;
		return 1;
	}
	struct vc_json *parent = c->stack[c->depth - 1];
	if (parent->type == VC_JSON_ARRAY) {
		if (vc_json_array_append(parent, v) < 0) {
			c->error = "out of memory";
			return 0;
		}
		return 1;
	}
	char *key = c->pending_key;
	c->pending_key = NULL;
	if (object_append(parent, key, v) < 0) {
		free(key);
		vc_json_free(v);
		c->error = "out of memory";
		return 0;
	}
	return 1;
}

static int push(struct parse_ctx *c, struct vc_json *v)
{
	if (c->depth >= c->max_depth) {
		vc_json_free(v);
		c->error = "nesting too deep";
		return 0;
	}
	if (!attach(c, v))
		return 0;
	c->stack[c->depth++] = v;
	return 1;
}

static int cb_null(void *ctx)
{
	return attach(ctx, vc_json_new_null());
}

static int cb_bool(void *ctx, int b)
{
	return attach(ctx, vc_json_new_bool(b));
}

static int cb_number(void *ctx, const char *s, size_t len)
{
	return attach(ctx, new_number_text(s, len));
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	return attach(ctx, vc_json_new_string_len((const char *)s, len));
}

static int cb_start_map(void *ctx)
{
	return push(ctx, vc_json_new_object());
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct parse_ctx *c = ctx;
	if (memchr(s, '\0', len)) {
		c->error = "object key contains a NUL byte";
		return 0;
	}
	free(c->pending_key);
	c->pending_key = strndup((const char *)s, len);
	if (!c->pending_key) {
		c->error = "out of memory";
		return 0;
	}
	return 1;
}

static int cb_end(void *ctx)
{
	struct parse_ctx *c = ctx;
	if (c->depth > 0)
		c->depth--;
	return 1;
}

static int cb_start_array(void *ctx)
{
	return push(ctx, vc_json_new_array());
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end,
};

/* yajl's message without its "parse error: " prefix (ours says it) and trailing
 * newline; edits msg in place. */
static const char *yajl_message(unsigned char *msg)
{
	char *m = (char *)msg;
	size_t n = strlen(m);
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
	static const char prefix[] = "parse error: ";
	if (!strncmp(m, prefix, sizeof(prefix) - 1))
		m += sizeof(prefix) - 1;
	return m;
}

int vc_json_parse(const char *buf, size_t len, const char *source, struct vc_json **out,
		  struct vc_error *err)
{
	struct vc_json *stack[DEFAULT_MAX_DEPTH];
	struct parse_ctx c = {.stack = stack, .max_depth = DEFAULT_MAX_DEPTH};
	const char *src = source ? source : "JSON";
	yajl_handle h = yajl_alloc(&callbacks, NULL, &c);
	if (!h)
		return vc_error_set(err, ENOMEM, "%s: out of memory", src);
	yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
	/* yajl counts bytes per call: an error found by complete_parse (premature
	 * EOF) is at the end of the input, not at what that call consumed. */
	size_t off = st == yajl_status_ok ? len : yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	int r = 0;
	if (st != yajl_status_ok) {
		if (c.error) {
			r = vc_error_set(err, EINVAL, "%s: parse error at byte %zu: %s", src, off,
					 c.error);
		} else {
			unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)buf, len);
			r = vc_error_set(err, EINVAL, "%s: parse error at byte %zu: %s", src, off,
					 msg ? yajl_message(msg) : "invalid JSON");
			if (msg)
				yajl_free_error(h, msg);
		}
	} else if (!c.root) {
		r = vc_error_set(err, EINVAL, "%s: empty document", src);
	}
	yajl_free(h);
	free(c.pending_key);
	if (r < 0) {
		vc_json_free(c.root);
		return r;
	}
	*out = c.root;
	return 0;
}

/* ---- generating ---- */

struct vc_jgen {
	yajl_gen g;
	int status; /* first yajl_gen_status that was not ok */
};

struct vc_jgen *vc_jgen_new(bool pretty)
{
	struct vc_jgen *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->g = yajl_gen_alloc(NULL);
	if (!g->g) {
		free(g);
		return NULL;
	}
	yajl_gen_config(g->g, yajl_gen_beautify, pretty ? 1 : 0);
	if (pretty)
		yajl_gen_config(g->g, yajl_gen_indent_string, "\t");
	yajl_gen_config(g->g, yajl_gen_validate_utf8, 0);
	return g;
}

struct vc_jgen *vc_jgen_new_indent(const char *indent)
{
	struct vc_jgen *g = vc_jgen_new(true);
	if (g && !yajl_gen_config(g->g, yajl_gen_indent_string, indent)) {
		vc_jgen_free(g);
		return NULL;
	}
	return g;
}

void vc_jgen_free(struct vc_jgen *g)
{
	if (!g)
		return;
	yajl_gen_free(g->g);
	free(g);
}

static void note(struct vc_jgen *g, yajl_gen_status s)
{
	if (s != yajl_gen_status_ok && !g->status)
		g->status = (int)s;
}

void vc_jgen_object_open(struct vc_jgen *g)
{
	note(g, yajl_gen_map_open(g->g));
}

void vc_jgen_object_close(struct vc_jgen *g)
{
	note(g, yajl_gen_map_close(g->g));
}

void vc_jgen_array_open(struct vc_jgen *g)
{
	note(g, yajl_gen_array_open(g->g));
}

void vc_jgen_array_close(struct vc_jgen *g)
{
	note(g, yajl_gen_array_close(g->g));
}

void vc_jgen_string_len(struct vc_jgen *g, const char *s, size_t len)
{
	note(g, yajl_gen_string(g->g, (const unsigned char *)s, len));
}

void vc_jgen_string(struct vc_jgen *g, const char *s)
{
	if (!s)
		vc_jgen_null(g);
	else
		vc_jgen_string_len(g, s, strlen(s));
}

void vc_jgen_key(struct vc_jgen *g, const char *key)
{
	vc_jgen_string_len(g, key, strlen(key));
}

void vc_jgen_int(struct vc_jgen *g, int64_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, i);
	note(g, yajl_gen_number(g->g, buf, (size_t)n));
}

void vc_jgen_uint(struct vc_jgen *g, uint64_t u)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, u);
	note(g, yajl_gen_number(g->g, buf, (size_t)n));
}

void vc_jgen_bool(struct vc_jgen *g, bool b)
{
	note(g, yajl_gen_bool(g->g, b));
}

void vc_jgen_null(struct vc_jgen *g)
{
	note(g, yajl_gen_null(g->g));
}

void vc_jgen_value(struct vc_jgen *g, const struct vc_json *v)
{
	if (!v) {
		vc_jgen_null(g);
		return;
	}
	switch (v->type) {
	case VC_JSON_NULL:
		vc_jgen_null(g);
		break;
	case VC_JSON_BOOL:
		vc_jgen_bool(g, v->u.boolean);
		break;
	case VC_JSON_NUMBER:
		note(g, yajl_gen_number(g->g, v->u.number.text, strlen(v->u.number.text)));
		break;
	case VC_JSON_STRING:
		vc_jgen_string_len(g, v->u.string.ptr, v->u.string.len);
		break;
	case VC_JSON_ARRAY:
		vc_jgen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			vc_jgen_value(g, v->u.array.items[i]);
		vc_jgen_array_close(g);
		break;
	case VC_JSON_OBJECT:
		vc_jgen_object_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			vc_jgen_key(g, v->u.object.members[i].key);
			vc_jgen_value(g, v->u.object.members[i].value);
		}
		vc_jgen_object_close(g);
		break;
	}
}

void vc_jgen_kv_string(struct vc_jgen *g, const char *key, const char *s)
{
	vc_jgen_key(g, key);
	vc_jgen_string(g, s);
}

void vc_jgen_kv_int(struct vc_jgen *g, const char *key, int64_t i)
{
	vc_jgen_key(g, key);
	vc_jgen_int(g, i);
}

void vc_jgen_kv_bool(struct vc_jgen *g, const char *key, bool b)
{
	vc_jgen_key(g, key);
	vc_jgen_bool(g, b);
}

int vc_jgen_finish(struct vc_jgen *g, char **out, size_t *len, struct vc_error *err)
{
	if (g->status)
		return vc_error_set(err, EINVAL, "JSON generation failed (yajl status %d)",
				    g->status);
	const unsigned char *buf;
	size_t n;
	if (yajl_gen_get_buf(g->g, &buf, &n) != yajl_gen_status_ok)
		return vc_error_set(err, EINVAL, "JSON generation incomplete");
	char *s = malloc(n + 1);
	if (!s)
		return vc_error_set(err, ENOMEM, "out of memory");
	memcpy(s, buf, n);
	s[n] = '\0';
	*out = s;
	if (len)
		*len = n;
	return 0;
}

int vc_json_serialize(const struct vc_json *v, bool pretty, char **out, size_t *len,
		      struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(pretty);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_value(g, v);
	return vc_jgen_finish(g, out, len, err);
}
