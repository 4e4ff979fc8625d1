/* Qualified device names ("vendor/class=name") and the annotation requests that
 * carry them, with pkg/parser's grammar: vendor and class start with a letter and
 * end with a letter or digit, with [A-Za-z0-9_.-] between; a device name starts and
 * ends with a letter or digit, with [A-Za-z0-9_.:-] between. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static bool is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c)
{
	return is_letter(c) || (c >= '0' && c <= '9');
}

/* Shared by vendor and class, whose rules are the same. */
static int validate_segment(const char *what, const char *s, struct vc_error *err)
{
	size_t n = strlen(s);
	if (n == 0)
		return vc_error_set(err, EINVAL, "invalid %s: empty", what);
	if (!is_letter(s[0]))
		return vc_error_set(err, EINVAL, "invalid %s \"%s\": must start with a letter",
				    what, s);
	for (size_t i = 1; i + 1 < n; i++) {
		char c = s[i];
		if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
			return vc_error_set(err, EINVAL,
					    "invalid %s \"%s\": invalid character '%c'", what, s,
					    c);
	}
	if (!is_alnum(s[n - 1]))
		return vc_error_set(err, EINVAL,
				    "invalid %s \"%s\": must end with a letter or digit", what, s);
	return 0;
}

int vc_cdi_validate_vendor(const char *vendor, struct vc_error *err)
{
	return validate_segment("vendor", vendor, err);
}

int vc_cdi_validate_class(const char *cls, struct vc_error *err)
{
	return validate_segment("class", cls, err);
}

int vc_cdi_validate_device_name(const char *name, struct vc_error *err)
{
	size_t n = strlen(name);
	if (n == 0)
		return vc_error_set(err, EINVAL, "invalid device name: empty");
	if (!is_alnum(name[0]))
		return vc_error_set(err, EINVAL,
				    "invalid device name \"%s\": must start with a letter or digit",
				    name);
	for (size_t i = 1; i + 1 < n; i++) {
		char c = name[i];
		if (!is_alnum(c) && c != '_' && c != '-' && c != '.' && c != ':')
			return vc_error_set(err, EINVAL,
					    "invalid device name \"%s\": invalid character '%c'",
					    name, c);
	}
	if (!is_alnum(name[n - 1]))
		return vc_error_set(err, EINVAL,
				    "invalid device name \"%s\": must end with a letter or digit",
				    name);
	return 0;
}

int vc_cdi_parse_qualified_name(const char *name, struct vc_error *err)
{
	/* pkg/parser's ParseDevice: "vendor/class=name", cut at the first '=' and then
	 * at the first '/', every part non-empty; a path is never a qualified name. */
	const char *eq = strchr(name, '=');
	const char *slash = strchr(name, '/');
	if (name[0] == '/' || !eq || eq == name || !eq[1] || !slash || slash > eq ||
	    slash == name || slash + 1 == eq)
		return vc_error_set(err, EINVAL,
				    "unqualified device \"%s\": want vendor/class=name", name);
	_cleanup_free_ char *vendor = strndup(name, (size_t)(slash - name));
	_cleanup_free_ char *cls = strndup(slash + 1, (size_t)(eq - slash - 1));
	if (!vendor || !cls)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (vc_cdi_validate_vendor(vendor, err) < 0 || vc_cdi_validate_class(cls, err) < 0 ||
	    vc_cdi_validate_device_name(eq + 1, err) < 0)
		return vc_error_wrap(err, "invalid device \"%s\"", name);
	return 0;
}

static int cmp_member_keys(const void *a, const void *b)
{
	const struct vc_json_member *const *x = a, *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

/* A key given more than once counts once, with its last value (vc_json_get's rule). */
static bool shadowed_later(const struct vc_json *obj, size_t i)
{
	for (size_t j = i + 1; j < obj->u.object.len; j++)
		if (!strcmp(obj->u.object.members[j].key, obj->u.object.members[i].key))
			return true;
	return false;
}

int vc_cdi_annotation_devices(const struct vc_json *config, char ***names, struct vc_error *err)
{
	_cleanup_strv_ char **out = calloc(1, sizeof(char *));
	_cleanup_free_ const struct vc_json_member **keys = NULL;
	if (!out)
		return vc_error_set(err, ENOMEM, "out of memory");
	const struct vc_json *ann = vc_json_get(config, "annotations");
	size_t nkeys = 0;
	if (ann && ann->type == VC_JSON_OBJECT && ann->u.object.len > 0) {
		keys = calloc(ann->u.object.len, sizeof(*keys));
		if (!keys)
			return vc_error_set(err, ENOMEM, "out of memory");
		size_t plen = strlen(VC_CDI_ANNOTATION_PREFIX);
		for (size_t i = 0; i < ann->u.object.len; i++) {
			const struct vc_json_member *m = &ann->u.object.members[i];
			if (!strncmp(m->key, VC_CDI_ANNOTATION_PREFIX, plen) &&
			    !shadowed_later(ann, i))
				keys[nkeys++] = m;
		}
		qsort(keys, nkeys, sizeof(*keys), cmp_member_keys);
	}
	for (size_t i = 0; i < nkeys; i++) {
		const char *value = vc_json_str(keys[i]->value);
		if (!value || strlen(value) != keys[i]->value->u.string.len)
			return vc_error_set(err, EINVAL, "annotations.%s: expected a string",
					    keys[i]->key);
		/* Go's strings.Split: "" is one empty name, which is invalid. */
		const char *p = value;
		for (;;) {
			size_t len = strcspn(p, ",");
			_cleanup_free_ char *name = strndup(p, len);
			if (!name)
				return vc_error_set(err, ENOMEM, "out of memory");
			if (vc_cdi_parse_qualified_name(name, err) < 0)
				return vc_error_wrap(err, "annotations.%s: invalid CDI device name",
						     keys[i]->key);
			if (vc_strv_push(&out, name) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
			if (!p[len])
				break;
			p += len + 1;
		}
	}
	*names = steal_ptr(out);
	return 0;
}
