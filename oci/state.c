/* State JSON as runc prints it (`state`) and as hooks read it. Callers parse
 * these (containerd, podman, CRI-O), so the field order and layout follow runc's
 * Go structs exactly; annotations come from a Go map, hence sorted. */
#include "oci/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

struct ann_ref {
	const struct vc_oci_annotation *a;
	size_t index;
};

static int ann_cmp(const void *x, const void *y)
{
	const struct ann_ref *a = x, *b = y;
	int c = strcmp(a->a->key, b->a->key);
	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Emits "annotations": {...} sorted by key, the last of duplicated keys winning
 * as in a Go map; nothing when there are none (omitempty). */
static int emit_annotations(struct vc_jgen *g, const struct vc_oci_state *st, struct vc_error *err)
{
	if (st->n_annotations == 0)
		return 0;
	_cleanup_free_ struct ann_ref *refs = calloc(st->n_annotations, sizeof(*refs));
	if (!refs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < st->n_annotations; i++)
		refs[i] = (struct ann_ref){&st->annotations[i], i};
	qsort(refs, st->n_annotations, sizeof(*refs), ann_cmp);
	vc_jgen_key(g, "annotations");
	vc_jgen_object_open(g);
	for (size_t i = 0; i < st->n_annotations; i++) {
		if (i + 1 < st->n_annotations && !strcmp(refs[i].a->key, refs[i + 1].a->key))
			continue;
		vc_jgen_kv_string(g, refs[i].a->key, refs[i].a->value ? refs[i].a->value : "");
	}
	vc_jgen_object_close(g);
	return 0;
}

static const char *str(const char *s)
{
	return s ? s : "";
}

static int finish(struct vc_jgen *g, char **out, struct vc_error *err)
{
	size_t len = 0;
	int r = vc_jgen_finish(g, out, &len, err);
	if (r < 0)
		return r;
	/* Go's encoders end without a newline; yajl's beautifier adds one. */
	while (len > 0 && (*out)[len - 1] == '\n')
		(*out)[--len] = '\0';
	return 0;
}

int vc_oci_state_to_json(const struct vc_oci_state *st, bool pretty, char **out,
			 struct vc_error *err)
{
	/* runc: json.MarshalIndent(cs, "", "  "). */
	_cleanup_jgen_ struct vc_jgen *g = pretty ? vc_jgen_new_indent("  ") : vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "ociVersion", st->oci_version ? st->oci_version : VC_OCI_VERSION);
	vc_jgen_kv_string(g, "id", str(st->id));
	vc_jgen_kv_int(g, "pid", st->pid);
	vc_jgen_kv_string(g, "status", str(st->status));
	vc_jgen_kv_string(g, "bundle", str(st->bundle));
	vc_jgen_kv_string(g, "rootfs", str(st->rootfs));
	vc_jgen_kv_string(g, "created", str(st->created));
	int r = emit_annotations(g, st, err);
	if (r < 0)
		return r;
	vc_jgen_kv_string(g, "owner", str(st->owner));
	vc_jgen_object_close(g);
	return finish(g, out, err);
}

int vc_oci_state_to_hook_json(const struct vc_oci_state *st, char **out, struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(false);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "ociVersion", st->oci_version ? st->oci_version : VC_OCI_VERSION);
	vc_jgen_kv_string(g, "id", str(st->id));
	vc_jgen_kv_string(g, "status", str(st->status));
	if (st->pid)
		vc_jgen_kv_int(g, "pid", st->pid);
	vc_jgen_kv_string(g, "bundle", str(st->bundle));
	int r = emit_annotations(g, st, err);
	if (r < 0)
		return r;
	vc_jgen_object_close(g);
	return finish(g, out, err);
}
