/* The strict decoder: a parsed spec document (JSON or YAML, both as the JSON DOM)
 * into the model of cdi-internal.h, driven by one table per object type. Unknown
 * fields, keys given twice and wrong types are problems named by their field path;
 * the decoder goes on after one, so a file's problems are reported together.
 *
 * As in pkg/cdi (sigs.k8s.io/yaml + encoding/json): null means "not given"
 * (inside a string list it is ""), a number or boolean where a string belongs
 * becomes its text, and a float without a fraction fits an integer field. Field
 * names match exactly (Go would also take "CDIVERSION"). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "cdi/scalar.h"
#include "common/cleanup.h"

enum kind {
	K_STRING,     /* const char * */
	K_STRINGS,    /* const struct vc_json * (an array of strings) */
	K_INT64,      /* int64_t, has-flag at aux */
	K_UINT32,     /* uint32_t, has-flag at aux */
	K_BOOL,	      /* bool */
	K_STRING_MAP, /* count at aux (annotations) */
	K_EMBED,      /* a struct inside this one */
	K_OBJECT_PTR, /* a malloc'd struct */
	K_OBJECTS,    /* a malloc'd array of structs, count at aux */
	K_UINT32S,    /* a malloc'd uint32_t array, count at aux */
};

#define NOAUX ((size_t)-1)

struct schema;
struct field {
	const char *key;
	enum kind kind;
	size_t off, aux;
	const struct schema *sub;
};
struct schema {
	size_t size;
	const struct field *fields;
};

#define F(key, kind, type, member)                             \
	{                                                      \
		key, kind, offsetof(type, member), NOAUX, NULL \
	}
#define FA(key, kind, type, member, aux)                                     \
	{                                                                    \
		key, kind, offsetof(type, member), offsetof(type, aux), NULL \
	}
#define FS(key, kind, type, member, aux, sub)               \
	{                                                   \
		key, kind, offsetof(type, member), aux, sub \
	}

static const struct field device_node_fields[] = {
	F("path", K_STRING, struct cdi_device_node, path),
	F("hostPath", K_STRING, struct cdi_device_node, host_path),
	F("type", K_STRING, struct cdi_device_node, type),
	F("major", K_INT64, struct cdi_device_node, major),
	F("minor", K_INT64, struct cdi_device_node, minor),
	FA("fileMode", K_UINT32, struct cdi_device_node, file_mode, has_file_mode),
	F("permissions", K_STRING, struct cdi_device_node, permissions),
	FA("uid", K_UINT32, struct cdi_device_node, uid, has_uid),
	FA("gid", K_UINT32, struct cdi_device_node, gid, has_gid),
	{0},
};
static const struct schema device_node_schema = {sizeof(struct cdi_device_node),
						 device_node_fields};

static const struct field mount_fields[] = {
	F("hostPath", K_STRING, struct cdi_mount, host_path),
	F("containerPath", K_STRING, struct cdi_mount, container_path),
	F("options", K_STRINGS, struct cdi_mount, options),
	F("type", K_STRING, struct cdi_mount, type),
	{0},
};
static const struct schema mount_schema = {sizeof(struct cdi_mount), mount_fields};

static const struct field hook_fields[] = {
	F("hookName", K_STRING, struct cdi_hook, hook_name),
	F("path", K_STRING, struct cdi_hook, path),
	F("args", K_STRINGS, struct cdi_hook, args),
	F("env", K_STRINGS, struct cdi_hook, env),
	FA("timeout", K_INT64, struct cdi_hook, timeout, has_timeout),
	{0},
};
static const struct schema hook_schema = {sizeof(struct cdi_hook), hook_fields};

static const struct field intel_rdt_fields[] = {
	F("closID", K_STRING, struct cdi_intel_rdt, clos_id),
	F("l3CacheSchema", K_STRING, struct cdi_intel_rdt, l3_cache_schema),
	F("memBwSchema", K_STRING, struct cdi_intel_rdt, mem_bw_schema),
	F("schemata", K_STRINGS, struct cdi_intel_rdt, schemata),
	F("enableMonitoring", K_BOOL, struct cdi_intel_rdt, enable_monitoring),
	{0},
};
static const struct schema intel_rdt_schema = {sizeof(struct cdi_intel_rdt), intel_rdt_fields};

static const struct field net_device_fields[] = {
	F("hostInterfaceName", K_STRING, struct cdi_net_device, host_interface_name),
	F("name", K_STRING, struct cdi_net_device, name),
	{0},
};
static const struct schema net_device_schema = {sizeof(struct cdi_net_device), net_device_fields};

static const struct field edits_fields[] = {
	F("env", K_STRINGS, struct cdi_edits, env),
	FS("deviceNodes", K_OBJECTS, struct cdi_edits, device_nodes,
	   offsetof(struct cdi_edits, n_device_nodes), &device_node_schema),
	FS("netDevices", K_OBJECTS, struct cdi_edits, net_devices,
	   offsetof(struct cdi_edits, n_net_devices), &net_device_schema),
	FS("hooks", K_OBJECTS, struct cdi_edits, hooks, offsetof(struct cdi_edits, n_hooks),
	   &hook_schema),
	FS("mounts", K_OBJECTS, struct cdi_edits, mounts, offsetof(struct cdi_edits, n_mounts),
	   &mount_schema),
	FS("intelRdt", K_OBJECT_PTR, struct cdi_edits, intel_rdt, NOAUX, &intel_rdt_schema),
	FA("additionalGids", K_UINT32S, struct cdi_edits, additional_gids, n_additional_gids),
	{0},
};
static const struct schema edits_schema = {sizeof(struct cdi_edits), edits_fields};

static const struct field device_fields[] = {
	F("name", K_STRING, struct cdi_device, name),
	{"annotations", K_STRING_MAP, 0, offsetof(struct cdi_device, n_annotations), NULL},
	FS("containerEdits", K_EMBED, struct cdi_device, edits, NOAUX, &edits_schema),
	{0},
};
static const struct schema device_schema = {sizeof(struct cdi_device), device_fields};

static const struct field spec_fields[] = {
	F("cdiVersion", K_STRING, struct cdi_spec, version),
	F("kind", K_STRING, struct cdi_spec, kind),
	{"annotations", K_STRING_MAP, 0, offsetof(struct cdi_spec, n_annotations), NULL},
	FS("devices", K_OBJECTS, struct cdi_spec, devices, offsetof(struct cdi_spec, n_devices),
	   &device_schema),
	FS("containerEdits", K_EMBED, struct cdi_spec, edits, NOAUX, &edits_schema),
	{0},
};

/* Where a value is, as a chain up to the document; turned into text only for a
 * problem, so the happy path formats nothing. */
struct path {
	const struct path *up;
	const char *key; /* NULL: an array index */
	size_t index;
};

static size_t format_path(const struct path *p, char *buf, size_t len)
{
	if (!p)
		return 0;
	size_t o = format_path(p->up, buf, len);
	if (o >= len)
		return o;
	int n = p->key ? snprintf(buf + o, len - o, "%s%s", o ? "." : "", p->key)
		       : snprintf(buf + o, len - o, "[%zu]", p->index);
	return o + (n > 0 ? (size_t)n : 0);
}

static void problem(struct cdi_diag *d, const struct path *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct cdi_diag *d, const struct path *p, const char *fmt, ...)
{
	char where[CDI_PATH_MAX] = "";
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	format_path(p, where, sizeof(where));
	cdi_diag_field(d, where, "%s", what);
}

/* Replaces v by a string node holding text, in place, so pointers to v stay good. */
static int become_string(struct vc_json *v, const char *text)
{
	struct vc_json *s = vc_json_new_string(text);
	if (!s)
		return -ENOMEM;
	struct vc_json tmp = *v;
	*v = *s;
	*s = tmp;
	vc_json_free(s);
	return 0;
}

/* A string where one belongs: numbers and booleans become their text. */
static int decode_string(struct vc_json *v, const struct path *path, bool null_is_empty,
			 const char **out, struct cdi_diag *d)
{
	char text[64];
	if (v->type == VC_JSON_NULL && null_is_empty) {
		if (become_string(v, "") < 0)
			return -ENOMEM;
	} else if (v->type == VC_JSON_BOOL || v->type == VC_JSON_NUMBER) {
		cdi_scalar_text(v, text, sizeof(text));
		if (become_string(v, text) < 0)
			return -ENOMEM;
	} else if (v->type != VC_JSON_STRING) {
		problem(d, path, "expected a string, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	if (strlen(v->u.string.ptr) != v->u.string.len) {
		problem(d, path, "contains a NUL byte");
		return -EINVAL;
	}
	*out = v->u.string.ptr;
	return 0;
}

static int decode_strings(struct vc_json *v, const struct path *path, struct cdi_diag *d)
{
	if (v->type != VC_JSON_ARRAY) {
		problem(d, path, "expected an array of strings, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	int ret = 0;
	for (size_t i = 0; i < v->u.array.len; i++) {
		struct path p = {path, NULL, i};
		const char *ignored;
		int r = decode_string(v->u.array.items[i], &p, true, &ignored, d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static int decode_integer(const struct vc_json *v, const struct path *path, int64_t min,
			  uint64_t max, const char *what, int64_t *out, struct cdi_diag *d)
{
	bool neg;
	uint64_t mag;
	if (v->type != VC_JSON_NUMBER) {
		problem(d, path, "expected an integer, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	int r = cdi_number_integral(v, &neg, &mag);
	if (r == -EINVAL) {
		problem(d, path, "expected an integer, got %s", v->u.number.text);
		return r;
	}
	if (r < 0 || (neg && mag > (uint64_t)0 - (uint64_t)min) || (!neg && mag > max)) {
		problem(d, path, "%s out of range for %s", v->u.number.text, what);
		return -ERANGE;
	}
	*out = neg ? (int64_t)((uint64_t)0 - mag) : (int64_t)mag;
	return 0;
}

struct keyref {
	const char *key;
	size_t index;
};

static int cmp_keyref(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Marks every member whose key an earlier member already has. */
static int find_duplicates(const struct vc_json *obj, bool **dup)
{
	size_t n = obj->u.object.len;
	*dup = calloc(n ? n : 1, sizeof(bool));
	if (!*dup)
		return -ENOMEM;
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i && !(*dup)[i]; j++)
				(*dup)[i] = !strcmp(obj->u.object.members[i].key,
						    obj->u.object.members[j].key);
		return 0;
	}
	/* Sorting keeps a huge annotations map from costing n^2 comparisons. */
	_cleanup_free_ struct keyref *refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct keyref){obj->u.object.members[i].key, i};
	qsort(refs, n, sizeof(*refs), cmp_keyref);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(refs[i].key, refs[i - 1].key))
			(*dup)[refs[i].index] = true;
	return 0;
}

static int decode_object(struct vc_json *v, const struct path *path, const struct field *fields,
			 void *dst, struct cdi_diag *d);

static int decode_string_map(struct vc_json *v, const struct path *path, size_t *count,
			     struct cdi_diag *d)
{
	if (v->type != VC_JSON_OBJECT) {
		problem(d, path, "expected an object of strings, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	_cleanup_free_ bool *dup = NULL;
	if (find_duplicates(v, &dup) < 0)
		return -ENOMEM;
	int ret = 0;
	for (size_t i = 0; i < v->u.object.len; i++) {
		struct vc_json_member *m = &v->u.object.members[i];
		struct path p = {path, m->key, 0};
		const char *ignored;
		if (dup[i]) {
			problem(d, path, "duplicate key \"%s\"", m->key);
			ret = -EINVAL;
			continue;
		}
		int r = decode_string(m->value, &p, true, &ignored, d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	*count = v->u.object.len;
	return ret;
}

static int decode_uint32s(const struct vc_json *v, const struct path *path, uint32_t **out,
			  size_t *count, struct cdi_diag *d)
{
	if (v->type != VC_JSON_ARRAY) {
		problem(d, path, "expected an array of integers, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	uint32_t *a = calloc(v->u.array.len ? v->u.array.len : 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*out = a;
	*count = v->u.array.len;
	int ret = 0;
	for (size_t i = 0; i < v->u.array.len; i++) {
		struct path p = {path, NULL, i};
		int64_t x = 0;
		/* encoding/json leaves a null element at zero */
		if (v->u.array.items[i]->type == VC_JSON_NULL)
			continue;
		if (decode_integer(v->u.array.items[i], &p, 0, UINT32_MAX, "uint32", &x, d) < 0)
			ret = -EINVAL;
		a[i] = (uint32_t)x;
	}
	return ret;
}

static int decode_objects(struct vc_json *v, const struct path *path, const struct schema *s,
			  void **out, size_t *count, struct cdi_diag *d)
{
	if (v->type != VC_JSON_ARRAY) {
		problem(d, path, "expected an array, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	size_t n = v->u.array.len;
	char *a = calloc(n ? n : 1, s->size);
	if (!a)
		return -ENOMEM;
	*out = a;
	*count = n;
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct path p = {path, NULL, i};
		int r = decode_object(v->u.array.items[i], &p, s->fields, a + i * s->size, d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static int decode_field(const struct field *f, struct vc_json *v, const struct path *path,
			char *base, struct cdi_diag *d)
{
	void *dst = base + f->off;
	int64_t x = 0;
	int r;
	switch (f->kind) {
	case K_STRING:
		return decode_string(v, path, false, (const char **)dst, d);
	case K_STRINGS:
		if ((r = decode_strings(v, path, d)) == 0)
			*(const struct vc_json **)dst = v;
		return r;
	case K_INT64:
		if ((r = decode_integer(v, path, INT64_MIN, INT64_MAX, "int64", &x, d)) < 0)
			return r;
		*(int64_t *)dst = x;
		break;
	case K_UINT32:
		if ((r = decode_integer(v, path, 0, UINT32_MAX, "uint32", &x, d)) < 0)
			return r;
		*(uint32_t *)dst = (uint32_t)x;
		break;
	case K_BOOL:
		if (v->type != VC_JSON_BOOL) {
			problem(d, path, "expected a boolean, got %s", cdi_type_phrase(v));
			return -EINVAL;
		}
		*(bool *)dst = v->u.boolean;
		return 0;
	case K_STRING_MAP:
		return decode_string_map(v, path, (size_t *)(base + f->aux), d);
	case K_EMBED:
		return decode_object(v, path, f->sub->fields, dst, d);
	case K_OBJECT_PTR: {
		void *p = calloc(1, f->sub->size);
		if (!p)
			return -ENOMEM;
		*(void **)dst = p;
		return decode_object(v, path, f->sub->fields, p, d);
	}
	case K_OBJECTS:
		return decode_objects(v, path, f->sub, (void **)dst, (size_t *)(base + f->aux), d);
	case K_UINT32S:
		return decode_uint32s(v, path, (uint32_t **)dst, (size_t *)(base + f->aux), d);
	}
	if (f->aux != NOAUX)
		*(bool *)(base + f->aux) = true;
	return 0;
}

static int decode_object(struct vc_json *v, const struct path *path, const struct field *fields,
			 void *dst, struct cdi_diag *d)
{
	if (v->type != VC_JSON_OBJECT) {
		problem(d, path, "expected an object, got %s", cdi_type_phrase(v));
		return -EINVAL;
	}
	_cleanup_free_ bool *dup = NULL;
	if (find_duplicates(v, &dup) < 0)
		return -ENOMEM;
	int ret = 0;
	for (size_t i = 0; i < v->u.object.len; i++) {
		struct vc_json_member *m = &v->u.object.members[i];
		const struct field *f = fields;
		while (f->key && strcmp(f->key, m->key))
			f++;
		if (dup[i]) {
			problem(d, path, "duplicate key \"%s\"", m->key);
			ret = -EINVAL;
			continue;
		}
		if (!f->key) {
			problem(d, path, "unknown field \"%s\"", m->key);
			ret = -EINVAL;
			continue;
		}
		if (m->value->type == VC_JSON_NULL)
			continue;
		struct path p = {path, m->key, 0};
		int r = decode_field(f, m->value, &p, dst, d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static void free_edits(struct cdi_edits *e)
{
	free(e->device_nodes);
	free(e->net_devices);
	free(e->hooks);
	free(e->mounts);
	free(e->intel_rdt);
	free(e->additional_gids);
}

void cdi_spec_free(struct cdi_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_devices; i++) {
		free_edits(&s->devices[i].edits);
		free(s->devices[i].qualified);
	}
	free(s->devices);
	free_edits(&s->edits);
	free(s->vendor);
	free(s->cls);
	free(s->path);
	vc_json_free(s->doc);
	free(s);
}

int cdi_spec_decode(struct vc_json *doc, const char *path, struct cdi_spec **out,
		    struct cdi_diag *diag)
{
	_cleanup_cdi_spec_ struct cdi_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		vc_json_free(doc);
		return -ENOMEM;
	}
	s->doc = doc;
	if (!(s->path = strdup(path)))
		return -ENOMEM;
	int r;
	if (doc->type == VC_JSON_NULL) {
		cdi_diag_add(diag, "no spec data");
		r = -EINVAL;
	} else {
		r = decode_object(doc, NULL, spec_fields, s, diag);
	}
	if (r == -ENOMEM)
		return r;
	for (size_t i = 0; i < s->n_devices; i++)
		s->devices[i].spec = s;
	*out = steal_ptr(s);
	return r;
}
