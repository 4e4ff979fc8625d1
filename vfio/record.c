/* The record of what vcrun bound, so that `delete` (a later process) can give the
 * devices back to their drivers. It is read back as untrusted input: every BDF and
 * driver name is checked before it becomes part of a sysfs path. */
#include "vfio/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define RECORD_VERSION 1
#define RECORD_MAX     (1024 * 1024)

void vc_vfio_bindings_free(struct vc_vfio_binding *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		vc_vfio_binding_release(&b[i]);
	free(b);
}

int vc_vfio_bindings_to_json(const struct vc_vfio_binding *b, size_t n, char **out, size_t *len,
			     struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new_indent("  ");
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_int(g, "version", RECORD_VERSION);
	vc_jgen_key(g, "groups");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		vc_jgen_object_open(g);
		vc_jgen_kv_int(g, "group", b[i].group);
		vc_jgen_key(g, "devices");
		vc_jgen_array_open(g);
		for (size_t j = 0; j < b[i].n_devs; j++) {
			vc_jgen_object_open(g);
			vc_jgen_kv_string(g, "bdf", b[i].devs[j].bdf);
			vc_jgen_kv_string(g, "driver", b[i].devs[j].driver); /* NULL -> null */
			vc_jgen_object_close(g);
		}
		vc_jgen_array_close(g);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, out, len, err);
}

static int parse_device(const struct vc_json *dj, const char *source, size_t gi, size_t di,
			struct vc_vfio_bound *d, struct vc_error *err)
{
	const char *bdf = vc_json_str(vc_json_get(dj, "bdf"));
	struct vc_pci_bdf addr;
	if (!bdf || vc_pci_bdf_parse(bdf, &addr) < 0)
		return vc_error_set(err, EINVAL,
				    "%s: groups[%zu].devices[%zu].bdf: not a PCI address", source,
				    gi, di);
	/* Canonical form only: the record is what vcrun wrote. */
	vc_pci_bdf_format(&addr, d->bdf);
	if (strcmp(d->bdf, bdf))
		return vc_error_set(err, EINVAL,
				    "%s: groups[%zu].devices[%zu].bdf: `%s` is not canonical",
				    source, gi, di, bdf);
	const struct vc_json *drv = vc_json_get(dj, "driver");
	if (!drv || drv->type == VC_JSON_NULL)
		return 0;
	const char *name = vc_json_str(drv);
	if (!name || !vfio_driver_name_ok(name))
		return vc_error_set(
			err, EINVAL,
			"%s: groups[%zu].devices[%zu].driver: not a driver name or null", source,
			gi, di);
	if (!(d->driver = strdup(name)))
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int parse_group(const struct vc_json *gj, const char *source, size_t gi,
		       struct vc_vfio_binding *b, struct vc_error *err)
{
	uint64_t id = 0;
	if (vc_json_to_u64(vc_json_get(gj, "group"), &id) < 0 || id > INT32_MAX)
		return vc_error_set(err, EINVAL, "%s: groups[%zu].group: not a group number",
				    source, gi);
	b->group = (unsigned)id;
	const struct vc_json *devs = vc_json_get(gj, "devices");
	if (!devs || devs->type != VC_JSON_ARRAY)
		return vc_error_set(err, EINVAL, "%s: groups[%zu].devices: not an array", source,
				    gi);
	if (devs->u.array.len == 0)
		return 0;
	b->devs = calloc(devs->u.array.len, sizeof(*b->devs));
	if (!b->devs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t j = 0; j < devs->u.array.len; j++) {
		int r = parse_device(devs->u.array.items[j], source, gi, j, &b->devs[j], err);
		b->n_devs = j + 1; /* so release frees what parse_device allocated */
		if (r < 0)
			return r;
	}
	return 0;
}

int vc_vfio_bindings_from_json(const char *text, size_t len, const char *source,
			       struct vc_vfio_binding **out, size_t *n, struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_json_ struct vc_json *doc = NULL;
	int r = vc_json_parse(text, len, source, &doc, err);
	if (r < 0)
		return r;
	int64_t version = 0;
	if (vc_json_to_i64(vc_json_get(doc, "version"), &version) < 0 || version != RECORD_VERSION)
		return vc_error_set(err, EINVAL, "%s: version: want %d", source, RECORD_VERSION);
	const struct vc_json *groups = vc_json_get(doc, "groups");
	if (!groups || groups->type != VC_JSON_ARRAY)
		return vc_error_set(err, EINVAL, "%s: groups: not an array", source);
	size_t count = groups->u.array.len;
	if (count == 0)
		return 0;
	struct vc_vfio_binding *b = calloc(count, sizeof(*b));
	if (!b)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		r = parse_group(groups->u.array.items[i], source, i, &b[i], err);
		if (r < 0) {
			vc_vfio_bindings_free(b, i + 1);
			return r;
		}
	}
	*out = b;
	*n = count;
	return 0;
}

int vc_vfio_bindings_save(const char *path, const struct vc_vfio_binding *b, size_t n,
			  struct vc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = vc_vfio_bindings_to_json(b, n, &text, &len, err);
	if (r < 0)
		return r;
	return vc_write_file_atomic(path, text, len, 0600, err);
}

int vc_vfio_bindings_load(const char *path, struct vc_vfio_binding **out, size_t *n,
			  struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct vc_error rerr = {0};
	int r = vc_read_file(path, RECORD_MAX, &text, &len, &rerr);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return vc_error_set(err, rerr.code, "%s", rerr.msg);
	return vc_vfio_bindings_from_json(text, len, path, out, n, err);
}
