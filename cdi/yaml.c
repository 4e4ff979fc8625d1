/* YAML spec files to the JSON DOM with libyaml's event parser, so that one strict
 * decoder (decode.c) serves both formats. Plain scalars are typed as go-yaml v2
 * types them; mapping keys become strings as sigs.k8s.io/yaml makes them; aliases
 * are expanded, within a node budget that stops "billion laughs" documents. Keys
 * given twice stay twice in the DOM: the decoder reports them with their field. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cdi/cdi-internal.h"
#include "cdi/scalar.h"
#include "common/cleanup.h"

#define YAML_MAX_DEPTH 64
/* Nodes built, aliases expanded included; real specs have a few thousand. */
#define YAML_MAX_NODES (1u << 18)

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
	char *name;
	const struct vc_json *node;
	size_t nodes;
};

struct yctx {
	yaml_parser_t p;
	const char *source;
	struct vc_error *err;
	struct anchor *anchors;
	size_t nanchors, cap;
	size_t nodes;
};

static int fail_at(struct yctx *c, const yaml_mark_t *m, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(struct yctx *c, const yaml_mark_t *m, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vc_error_set(c->err, code, "%s: line %zu, column %zu: %s", c->source, m->line + 1,
			    m->column + 1, msg);
}

static int next_event(struct yctx *c, yaml_event_t *ev)
{
	if (yaml_parser_parse(&c->p, ev))
		return 0;
	if (c->p.error == YAML_MEMORY_ERROR)
		return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
	const char *problem = c->p.problem ? c->p.problem : "invalid YAML";
	if (c->p.context)
		return fail_at(c, &c->p.problem_mark, EINVAL, "%s: %s", c->p.context, problem);
	return fail_at(c, &c->p.problem_mark, EINVAL, "%s", problem);
}

static void event_deletep(yaml_event_t *ev)
{
	yaml_event_delete(ev);
}
#define _cleanup_event_ __attribute__((cleanup(event_deletep)))

static int count_node(struct yctx *c, const yaml_mark_t *m, size_t n)
{
	if (c->nodes + n > YAML_MAX_NODES)
		return fail_at(c, m, E2BIG, "document too large (more than %u nodes)",
			       YAML_MAX_NODES);
	c->nodes += n;
	return 0;
}

static struct vc_json *float_node(double f)
{
	if (isnan(f))
		return vc_json_new_string("NaN"); /* no JSON number; Go's text for it */
	char text[40];
	if (isinf(f))
		snprintf(text, sizeof(text), "%s", f < 0 ? "-1e999" : "1e999");
	else
		snprintf(text, sizeof(text), "%.17g", f);
	struct vc_json *v = NULL;
	struct vc_error ignored = {0};
	if (vc_json_parse(text, strlen(text), NULL, &v, &ignored) < 0)
		return NULL;
	return v;
}

static struct vc_json *scalar_node(const struct cdi_scalar *s)
{
	switch (s->type) {
	case CDI_SCALAR_NULL:
		return vc_json_new_null();
	case CDI_SCALAR_BOOL:
		return vc_json_new_bool(s->b);
	case CDI_SCALAR_INT:
		return vc_json_new_int(s->i);
	case CDI_SCALAR_UINT:
		return vc_json_new_uint(s->u);
	case CDI_SCALAR_FLOAT:
		return float_node(s->f);
	case CDI_SCALAR_STRING:
		break;
	}
	return NULL;
}

/* The type a scalar gets: its explicit tag, or YAML 1.1 resolution when plain. */
static int resolve_scalar(struct yctx *c, const yaml_event_t *ev, struct cdi_scalar *s)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *text = (const char *)ev->data.scalar.value;
	bool has_nul = strlen(text) != ev->data.scalar.length;
	memset(s, 0, sizeof(*s));
	s->type = CDI_SCALAR_STRING;
	if (!tag) {
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !has_nul &&
		    cdi_scalar_resolve(text, s) < 0)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		return 0;
	}
	if (!strcmp(tag, "!") || !strcmp(tag, TAG_PREFIX "str"))
		return 0;
	static const struct {
		const char *tag;
		enum cdi_scalar_type type;
	} typed[] = {
		{TAG_PREFIX "null", CDI_SCALAR_NULL},
		{TAG_PREFIX "bool", CDI_SCALAR_BOOL},
		{TAG_PREFIX "int", CDI_SCALAR_INT},
		{TAG_PREFIX "float", CDI_SCALAR_FLOAT},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(typed); i++) {
		if (strcmp(tag, typed[i].tag))
			continue;
		if (!has_nul && cdi_scalar_resolve(text, s) < 0)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		if (typed[i].type == CDI_SCALAR_FLOAT && s->type == CDI_SCALAR_INT) {
			s->type = CDI_SCALAR_FLOAT;
			s->f = (double)s->i;
		} else if (typed[i].type == CDI_SCALAR_FLOAT && s->type == CDI_SCALAR_UINT) {
			s->type = CDI_SCALAR_FLOAT;
			s->f = (double)s->u;
		} else if (typed[i].type == CDI_SCALAR_INT && s->type == CDI_SCALAR_UINT) {
			/* fine: a large integer */
		} else if (s->type != typed[i].type || has_nul) {
			return fail_at(c, &ev->start_mark, EINVAL, "\"%s\" is not a valid %s", text,
				       tag + strlen(TAG_PREFIX));
		}
		return 0;
	}
	return fail_at(c, &ev->start_mark, EINVAL, "unsupported tag %s", tag);
}

/* sigs.k8s.io/yaml turns every mapping key into a string; a null key is an error. */
static int key_text(struct yctx *c, const yaml_event_t *ev, char **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	if (strlen(text) != ev->data.scalar.length)
		return fail_at(c, &ev->start_mark, EINVAL, "mapping key contains a NUL byte");
	struct cdi_scalar s;
	int r = resolve_scalar(c, ev, &s);
	if (r < 0)
		return r;
	char buf[64];
	switch (s.type) {
	case CDI_SCALAR_NULL:
		return fail_at(c, &ev->start_mark, EINVAL, "null mapping key");
	case CDI_SCALAR_STRING:
		*out = strdup(text);
		break;
	case CDI_SCALAR_BOOL:
		*out = strdup(s.b ? "true" : "false");
		break;
	case CDI_SCALAR_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)s.i);
		*out = strdup(buf);
		break;
	case CDI_SCALAR_UINT:
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s.u);
		*out = strdup(buf);
		break;
	case CDI_SCALAR_FLOAT:
		cdi_format_go_float32(s.f, buf, sizeof(buf));
		if (!strcmp(buf, "+Inf"))
			snprintf(buf, sizeof(buf), ".inf");
		else if (!strcmp(buf, "-Inf"))
			snprintf(buf, sizeof(buf), "-.inf");
		else if (!strcmp(buf, "NaN"))
			snprintf(buf, sizeof(buf), ".nan");
		*out = strdup(buf);
		break;
	}
	return *out ? 0 : vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
}

static int check_collection_tag(struct yctx *c, const yaml_event_t *ev, const char *tag,
				const char *want)
{
	if (!tag || !strcmp(tag, "!") || !strcmp(tag, want))
		return 0;
	return fail_at(c, &ev->start_mark, EINVAL, "unsupported tag %s", tag);
}

static int add_anchor(struct yctx *c, const char *name, const struct vc_json *node, size_t nodes)
{
	if (c->nanchors == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct anchor *a = realloc(c->anchors, cap * sizeof(*a));
		if (!a)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		c->anchors = a;
		c->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
	c->anchors[c->nanchors++] = (struct anchor){copy, node, nodes};
	return 0;
}

static int parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth, struct vc_json **out,
		      size_t *nodes);

static int parse_sequence(struct yctx *c, unsigned depth, struct vc_json *arr, size_t *nodes)
{
	for (;;) {
		_cleanup_event_ yaml_event_t ev = {0};
		struct vc_json *item = NULL;
		size_t n = 0;
		int r = next_event(c, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if ((r = parse_node(c, &ev, depth + 1, &item, &n)) < 0)
			return r;
		if (vc_json_array_append(arr, item) < 0)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		*nodes += n;
	}
}

static int parse_mapping(struct yctx *c, unsigned depth, struct vc_json *obj, size_t *nodes)
{
	for (;;) {
		_cleanup_event_ yaml_event_t kev = {0};
		_cleanup_event_ yaml_event_t vev = {0};
		_cleanup_free_ char *key = NULL;
		struct vc_json *value = NULL;
		size_t n = 0;
		int r = next_event(c, &kev);
		if (r < 0)
			return r;
		if (kev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (kev.type != YAML_SCALAR_EVENT)
			return fail_at(c, &kev.start_mark, EINVAL, "mapping keys must be scalars");
		if ((r = key_text(c, &kev, &key)) < 0 || (r = next_event(c, &vev)) < 0 ||
		    (r = parse_node(c, &vev, depth + 1, &value, &n)) < 0)
			return r;
		if (vc_json_object_append(obj, key, value) < 0)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		*nodes += n;
	}
}

/* ev is the node's first event; *nodes gets the size of the subtree built. */
static int parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth, struct vc_json **out,
		      size_t *nodes)
{
	_cleanup_json_ struct vc_json *v = NULL;
	const char *anchor = NULL;
	size_t n = 1;
	int r;
	if (depth > YAML_MAX_DEPTH)
		return fail_at(c, &ev->start_mark, EINVAL, "nesting deeper than %d levels",
			       YAML_MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		const struct anchor *a = NULL;
		for (size_t i = c->nanchors; i-- > 0 && !a;)
			if (!strcmp(c->anchors[i].name, name))
				a = &c->anchors[i];
		if (!a)
			return fail_at(c, &ev->start_mark, EINVAL, "unknown anchor \"%s\"", name);
		if ((r = count_node(c, &ev->start_mark, a->nodes)) < 0)
			return r;
		if (!(v = vc_json_clone(a->node)))
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		*nodes = a->nodes;
		*out = steal_ptr(v);
		return 0;
	}
	case YAML_SCALAR_EVENT: {
		struct cdi_scalar s;
		anchor = (const char *)ev->data.scalar.anchor;
		if ((r = resolve_scalar(c, ev, &s)) < 0)
			return r;
		v = s.type == CDI_SCALAR_STRING
			    ? vc_json_new_string_len((const char *)ev->data.scalar.value,
						     ev->data.scalar.length)
			    : scalar_node(&s);
		if (!v)
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		if ((r = count_node(c, &ev->start_mark, 1)) < 0)
			return r;
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)ev->data.sequence_start.anchor;
		if ((r = check_collection_tag(c, ev, (const char *)ev->data.sequence_start.tag,
					      TAG_PREFIX "seq")) < 0 ||
		    (r = count_node(c, &ev->start_mark, 1)) < 0)
			return r;
		if (!(v = vc_json_new_array()))
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		if ((r = parse_sequence(c, depth, v, &n)) < 0)
			return r;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)ev->data.mapping_start.anchor;
		if ((r = check_collection_tag(c, ev, (const char *)ev->data.mapping_start.tag,
					      TAG_PREFIX "map")) < 0 ||
		    (r = count_node(c, &ev->start_mark, 1)) < 0)
			return r;
		if (!(v = vc_json_new_object()))
			return vc_error_set(c->err, ENOMEM, "%s: out of memory", c->source);
		if ((r = parse_mapping(c, depth, v, &n)) < 0)
			return r;
		break;
	default:
		return fail_at(c, &ev->start_mark, EINVAL, "unexpected YAML event");
	}
	/* Registered once complete, so an alias inside its own anchor is unknown. */
	if (anchor && (r = add_anchor(c, anchor, v, n)) < 0)
		return r;
	*nodes = n;
	*out = steal_ptr(v);
	return 0;
}

static int parse_stream(struct yctx *c, struct vc_json **out)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	bool seen_doc = false;
	for (;;) {
		_cleanup_event_ yaml_event_t ev = {0};
		int r = next_event(c, &ev);
		if (r < 0)
			return r;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT: {
			if (seen_doc)
				return fail_at(c, &ev.start_mark, EINVAL,
					       "more than one YAML document");
			seen_doc = true;
			_cleanup_event_ yaml_event_t node = {0};
			size_t n = 0;
			if ((r = next_event(c, &node)) < 0 ||
			    (r = parse_node(c, &node, 0, &doc, &n)) < 0)
				return r;
			break;
		}
		case YAML_STREAM_END_EVENT:
			if (!doc)
				return vc_error_set(c->err, EINVAL, "%s: empty document",
						    c->source);
			*out = steal_ptr(doc);
			return 0;
		default:
			return fail_at(c, &ev.start_mark, EINVAL, "unexpected YAML event");
		}
	}
}

int cdi_yaml_parse(const char *buf, size_t len, const char *source, struct vc_json **out,
		   struct vc_error *err)
{
	struct yctx c = {.source = source ? source : "YAML", .err = err};
	if (!yaml_parser_initialize(&c.p))
		return vc_error_set(err, ENOMEM, "%s: out of memory", c.source);
	yaml_parser_set_input_string(&c.p, (const unsigned char *)buf, len);
	int r = parse_stream(&c, out);
	yaml_parser_delete(&c.p);
	for (size_t i = 0; i < c.nanchors; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	return r;
}
