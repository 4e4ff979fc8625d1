#include "oci/parse-util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"

void pu_path_key(char buf[PU_PATH_MAX], const char *parent, const char *key)
{
	if (parent && parent[0])
		snprintf(buf, PU_PATH_MAX, "%s.%s", parent, key);
	else
		snprintf(buf, PU_PATH_MAX, "%s", key);
}

void pu_path_index(char buf[PU_PATH_MAX], const char *parent, const char *key, size_t i)
{
	char base[PU_PATH_MAX];
	if (key)
		pu_path_key(base, parent, key);
	else
		snprintf(base, sizeof(base), "%s", parent ? parent : "");
	snprintf(buf, PU_PATH_MAX, "%s[%zu]", base, i);
}

int pu_fail(struct vc_error *err, const char *parent, const char *key, const char *fmt, ...)
{
	char path[PU_PATH_MAX], msg[VC_ERROR_MSG_MAX];
	if (key)
		pu_path_key(path, parent, key);
	else
		snprintf(path, sizeof(path), "%s", parent ? parent : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!path[0])
		return vc_error_set(err, EINVAL, "%s", msg);
	return vc_error_set(err, EINVAL, "%s: %s", path, msg);
}

int pu_oom(struct vc_error *err)
{
	return vc_error_set(err, ENOMEM, "out of memory");
}

/* A JSON null reads as absent, as Go's encoding/json (runc) treats it. */
static const struct vc_json *member(const struct vc_json *obj, const char *key)
{
	const struct vc_json *v = vc_json_get(obj, key);
	return v && v->type != VC_JSON_NULL ? v : NULL;
}

static int absent(const char *path, const char *key, unsigned flags, struct vc_error *err)
{
	if (flags & PU_NONEMPTY)
		return pu_fail(err, path, key, "must be a non-empty array");
	if (flags & PU_REQUIRED)
		return pu_fail(err, path, key, "is required");
	return 0;
}

/* NULL when v is a string usable as a C string, else what is wrong with it. */
static const char *string_problem(const struct vc_json *v)
{
	if (v->type != VC_JSON_STRING)
		return "must be a string";
	if (memchr(v->u.string.ptr, '\0', v->u.string.len))
		return "must not contain NUL bytes";
	return NULL;
}

int pu_string(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	      char **out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	const char *problem = string_problem(v);
	if (problem)
		return pu_fail(err, path, key, "%s", problem);
	char *s = strdup(v->u.string.ptr);
	if (!s)
		return pu_oom(err);
	*out = s;
	return 1;
}

int pu_bool(const struct vc_json *obj, const char *path, const char *key, unsigned flags, bool *out,
	    struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (v->type != VC_JSON_BOOL)
		return pu_fail(err, path, key, "must be a boolean");
	*out = v->u.boolean;
	return 1;
}

static bool to_u32(const struct vc_json *v, uint32_t *out)
{
	uint64_t u;
	if (vc_json_to_u64(v, &u) < 0 || u > UINT32_MAX)
		return false;
	*out = (uint32_t)u;
	return true;
}

int pu_int(const struct vc_json *obj, const char *path, const char *key, unsigned flags, int *out,
	   struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	int64_t i;
	if (vc_json_to_i64(v, &i) < 0 || i < INT_MIN || i > INT_MAX)
		return pu_fail(err, path, key, "must be a 32-bit integer");
	*out = (int)i;
	return 1;
}

int pu_u32(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   uint32_t *out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (!to_u32(v, out))
		return pu_fail(err, path, key, "must be an unsigned 32-bit integer");
	return 1;
}

int pu_i64(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   int64_t *out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (vc_json_to_i64(v, out) < 0)
		return pu_fail(err, path, key, "must be a 64-bit integer");
	return 1;
}

int pu_u64(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	   uint64_t *out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (vc_json_to_u64(v, out) < 0)
		return pu_fail(err, path, key, "must be an unsigned 64-bit integer");
	return 1;
}

int pu_object(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	      const struct vc_json **out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (v->type != VC_JSON_OBJECT)
		return pu_fail(err, path, key, "must be an object");
	*out = v;
	return 1;
}

int pu_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	     const struct vc_json **out, struct vc_error *err)
{
	const struct vc_json *v = member(obj, key);
	if (!v)
		return absent(path, key, flags, err);
	if (v->type != VC_JSON_ARRAY || ((flags & PU_NONEMPTY) && v->u.array.len == 0))
		return pu_fail(err, path, key,
			       (flags & PU_NONEMPTY) ? "must be a non-empty array"
						     : "must be an array");
	*out = v;
	return 1;
}

int pu_strv(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
	    char ***out, struct vc_error *err)
{
	const struct vc_json *a = NULL;
	int r = pu_array(obj, path, key, flags, &a, err);
	if (r <= 0)
		return r;
	size_t len = a->u.array.len;
	_cleanup_strv_ char **v = calloc(len + 1, sizeof(*v));
	if (!v)
		return pu_oom(err);
	for (size_t i = 0; i < len; i++) {
		const struct vc_json *item = a->u.array.items[i];
		const char *problem = string_problem(item);
		if (problem) {
			char ip[PU_PATH_MAX];
			pu_path_index(ip, path, key, i);
			return pu_fail(err, ip, NULL, "%s", problem);
		}
		v[i] = strdup(item->u.string.ptr);
		if (!v[i])
			return pu_oom(err);
	}
	*out = steal_ptr(v);
	return 1;
}

int pu_u32_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
		 uint32_t **out, size_t *n, struct vc_error *err)
{
	const struct vc_json *a = NULL;
	int r = pu_array(obj, path, key, flags, &a, err);
	if (r <= 0)
		return r;
	size_t len = a->u.array.len;
	_cleanup_free_ uint32_t *v = calloc(len ? len : 1, sizeof(*v));
	if (!v)
		return pu_oom(err);
	for (size_t i = 0; i < len; i++) {
		if (!to_u32(a->u.array.items[i], &v[i])) {
			char ip[PU_PATH_MAX];
			pu_path_index(ip, path, key, i);
			return pu_fail(err, ip, NULL, "must be an unsigned 32-bit integer");
		}
	}
	*out = steal_ptr(v);
	*n = len;
	return 1;
}

int pu_object_array(const struct vc_json *obj, const char *path, const char *key, unsigned flags,
		    size_t elem_size, void **items, size_t *n, pu_item_fn fn, struct vc_error *err)
{
	const struct vc_json *a = NULL;
	int r = pu_array(obj, path, key, flags, &a, err);
	if (r <= 0)
		return r;
	size_t len = a->u.array.len;
	if (len == 0)
		return 1;
	char *arr = calloc(len, elem_size);
	if (!arr)
		return pu_oom(err);
	*items = arr;
	*n = len;
	for (size_t i = 0; i < len; i++) {
		const struct vc_json *item = a->u.array.items[i];
		char ip[PU_PATH_MAX];
		pu_path_index(ip, path, key, i);
		if (item->type != VC_JSON_OBJECT)
			return pu_fail(err, ip, NULL, "must be an object");
		r = fn(item, ip, arr + i * elem_size, err);
		if (r < 0)
			return r;
	}
	return 1;
}

int pu_string_map(const struct vc_json *obj, const char *path, const char *key, size_t elem_size,
		  size_t key_off, size_t value_off, void **items, size_t *n, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(obj, path, key, 0, &o, err);
	if (r <= 0)
		return r;
	size_t len = o->u.object.len;
	if (len == 0)
		return 1;
	char *arr = calloc(len, elem_size);
	if (!arr)
		return pu_oom(err);
	*items = arr;
	*n = len;
	char mp[PU_PATH_MAX];
	pu_path_key(mp, path, key);
	for (size_t i = 0; i < len; i++) {
		const struct vc_json_member *m = &o->u.object.members[i];
		const char *problem = string_problem(m->value);
		if (problem)
			return pu_fail(err, mp, m->key, "%s", problem);
		char *elem = arr + i * elem_size;
		char **k = (char **)(elem + key_off), **v = (char **)(elem + value_off);
		*k = strdup(m->key);
		*v = strdup(m->value->u.string.ptr);
		if (!*k || !*v)
			return pu_oom(err);
	}
	return 1;
}

int pu_lookup(const char *name, const char *const *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (table[i] && !strcmp(table[i], name))
			return (int)i;
	return -1;
}

int pu_check_known(const char *name, const char *const *table, size_t n, const char *what,
		   const char *parent, const char *key, struct vc_error *err)
{
	if (!name)
		return pu_fail(err, parent, key, "is required");
	if (pu_lookup(name, table, n) < 0)
		return pu_fail(err, parent, key, "unknown %s \"%s\"", what, name);
	return 0;
}

int pu_check_known_strv(char *const *v, const char *const *table, size_t n, const char *what,
			const char *parent, const char *key, struct vc_error *err)
{
	for (size_t i = 0; v && v[i]; i++) {
		if (pu_lookup(v[i], table, n) < 0) {
			char ip[PU_PATH_MAX];
			pu_path_index(ip, parent, key, i);
			return pu_fail(err, ip, NULL, "unknown %s \"%s\"", what, v[i]);
		}
	}
	return 0;
}

int pu_check_abs(const char *s, const char *parent, const char *key, struct vc_error *err)
{
	if (!s || s[0] != '/')
		return pu_fail(err, parent, key, "must be an absolute path");
	return 0;
}

int pu_check_abs_strv(char *const *v, const char *parent, const char *key, struct vc_error *err)
{
	for (size_t i = 0; v && v[i]; i++) {
		if (v[i][0] != '/') {
			char ip[PU_PATH_MAX];
			pu_path_index(ip, parent, key, i);
			return pu_fail(err, ip, NULL, "must be an absolute path");
		}
	}
	return 0;
}
