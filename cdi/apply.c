/* A request: the names from config's annotations and the caller, resolved all or
 * nothing, then the edits of each spec (once, before its first device's) and of
 * each device applied to a copy of config that replaces it only on success. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"

void vc_cdi_result_free(struct vc_cdi_result *res)
{
	if (!res)
		return;
	vc_strv_freep(&res->devices);
	for (size_t i = 0; i < res->nnodes; i++) {
		free(res->nodes[i].device);
		free(res->nodes[i].spec_path);
		free(res->nodes[i].path);
		free(res->nodes[i].host_path);
	}
	free(res->nodes);
	memset(res, 0, sizeof(*res));
}

static void result_freep(struct vc_cdi_result *res)
{
	vc_cdi_result_free(res);
}

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

/* Annotation names first (sorted keys), then the caller's; each name once. */
static int requested_names(const struct vc_json *config, const char *const *extra, char ***out,
			   struct vc_error *err)
{
	_cleanup_strv_ char **ann = NULL;
	_cleanup_strv_ char **names = calloc(1, sizeof(char *));
	if (!names)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_cdi_annotation_devices(config, &ann, err);
	if (r < 0)
		return r;
	for (char **p = ann; *p; p++)
		if (!strv_has(names, *p) && vc_strv_push(&names, *p) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	for (const char *const *p = extra; p && *p; p++)
		if (!strv_has(names, *p) && vc_strv_push(&names, *p) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	*out = steal_ptr(names);
	return 0;
}

static int unresolvable(const struct vc_cdi_registry *reg, char *const *names,
			const struct cdi_device **devs, struct vc_error *err)
{
	_cleanup_free_ char *list = NULL;
	for (size_t i = 0; names[i]; i++)
		if (!devs[i] && cdi_list_append(&list, names[i]) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	size_t nerr = cdi_registry_nerrors(reg);
	if (nerr)
		return vc_error_set(err, ENOENT,
				    "unresolvable CDI devices: %s (the CDI specs have %zu "
				    "problem%s: see `vcrun cdi list`)",
				    list, nerr, nerr == 1 ? "" : "s");
	return vc_error_set(err, ENOENT, "unresolvable CDI devices: %s", list);
}

int vc_cdi_apply(const struct vc_cdi_registry *reg, struct vc_json *config,
		 const char *const *extra_devices, struct vc_cdi_result *res, struct vc_error *err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ const struct cdi_device **devs = NULL;
	_cleanup_free_ struct cdi_edit_block *blocks = NULL;
	_cleanup_free_ const struct cdi_spec **seen = NULL;
	struct vc_cdi_result out __attribute__((cleanup(result_freep))) = {0};
	_cleanup_json_ struct vc_json *copy = NULL;
	if (!config || config->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "config: expected a JSON object");
	int r = requested_names(config, extra_devices, &names, err);
	if (r < 0)
		return r;
	size_t n = vc_strv_len(names);
	devs = calloc(n + 1, sizeof(*devs));
	blocks = calloc(2 * n + 1, sizeof(*blocks));
	seen = calloc(n + 1, sizeof(*seen));
	if (!devs || !blocks || !seen)
		return vc_error_set(err, ENOMEM, "out of memory");
	bool missing = false;
	for (size_t i = 0; i < n; i++) {
		devs[i] = cdi_registry_lookup(reg, names[i]);
		missing |= !devs[i];
	}
	if (missing)
		return unresolvable(reg, names, devs, err);

	size_t nblocks = 0, nseen = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cdi_spec *s = devs[i]->spec;
		bool known = false;
		for (size_t j = 0; j < nseen && !known; j++)
			known = seen[j] == s;
		if (!known) {
			seen[nseen++] = s;
			blocks[nblocks++] = (struct cdi_edit_block){&s->edits, names[i], s->path};
		}
		blocks[nblocks++] = (struct cdi_edit_block){&devs[i]->edits, names[i], s->path};
	}
	if (!(copy = vc_json_clone(config)))
		return vc_error_set(err, ENOMEM, "out of memory");
	if ((r = cdi_edits_apply(copy, blocks, nblocks, &out, err)) < 0)
		return r;
	/* Swap the contents: config's address stays the caller's. */
	struct vc_json tmp = *config;
	*config = *copy;
	*copy = tmp;
	if (res) {
		out.devices = steal_ptr(names);
		*res = out;
		memset(&out, 0, sizeof(out));
	}
	return 0;
}
