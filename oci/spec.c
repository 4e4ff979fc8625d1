/* config.json top level: root, mounts, hooks, annotations; parse, validate, load
 * and free. The process and linux parts live in spec-process.c and spec-linux.c. */
#include "oci/spec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "oci/parse-util.h"
#include "oci/spec-internal.h"

/* runc reads config.json without a limit; a cap keeps a hostile bundle from
 * exhausting memory while leaving room for very large seccomp profiles. */
#define CONFIG_MAX_BYTES (64u << 20)

static const struct {
	const char *key;
	size_t items_off, n_off;
} hook_kinds[] = {
#define HOOK_KIND(key, f)                                                                   \
	{                                                                                   \
		key, offsetof(struct vc_oci_hooks, f), offsetof(struct vc_oci_hooks, n_##f) \
	}
	HOOK_KIND("prestart", prestart),
	HOOK_KIND("createRuntime", create_runtime),
	HOOK_KIND("createContainer", create_container),
	HOOK_KIND("startContainer", start_container),
	HOOK_KIND("poststart", poststart),
	HOOK_KIND("poststop", poststop),
#undef HOOK_KIND
};

static struct vc_oci_hook **hook_items(const struct vc_oci_hooks *h, size_t kind)
{
	return (struct vc_oci_hook **)((char *)h + hook_kinds[kind].items_off);
}

static size_t *hook_count(const struct vc_oci_hooks *h, size_t kind)
{
	return (size_t *)((char *)h + hook_kinds[kind].n_off);
}

static void hooks_free(struct vc_oci_hooks *h)
{
	if (!h)
		return;
	for (size_t k = 0; k < VC_ARRAY_SIZE(hook_kinds); k++) {
		struct vc_oci_hook *items = *hook_items(h, k);
		for (size_t i = 0; i < *hook_count(h, k); i++) {
			free(items[i].path);
			pu_strv_free(items[i].args);
			pu_strv_free(items[i].env);
		}
		free(items);
	}
	free(h);
}

void vc_oci_spec_free(struct vc_oci_spec *spec)
{
	if (!spec)
		return;
	free(spec->oci_version);
	vc_oci_process_free(spec->process);
	if (spec->root) {
		free(spec->root->path);
		free(spec->root);
	}
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		struct vc_oci_mount *m = &spec->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		pu_strv_free(m->options);
	}
	free(spec->mounts);
	hooks_free(spec->hooks);
	for (size_t i = 0; i < spec->n_annotations; i++) {
		free(spec->annotations[i].key);
		free(spec->annotations[i].value);
	}
	free(spec->annotations);
	oci_linux_free(spec->linux);
	free(spec->bundle);
	free(spec->rootfs_abs);
	vc_json_free(spec->raw);
	free(spec);
}

static int parse_process(const struct vc_json *doc, struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(doc, "", "process", 0, &o, err);
	if (r <= 0)
		return r;
	spec->process = calloc(1, sizeof(*spec->process));
	if (!spec->process)
		return pu_oom(err);
	return oci_process_parse(o, "process", spec->process, err);
}

static int parse_root(const struct vc_json *doc, struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(doc, "", "root", 0, &o, err);
	if (r <= 0)
		return r;
	spec->root = calloc(1, sizeof(*spec->root));
	if (!spec->root)
		return pu_oom(err);
	if ((r = pu_string(o, "root", "path", PU_REQUIRED, &spec->root->path, err)) < 0 ||
	    (r = pu_bool(o, "root", "readonly", 0, &spec->root->readonly, err)) < 0)
		return r;
	return 0;
}

static int parse_mount(const struct vc_json *o, const char *path, void *elem, struct vc_error *err)
{
	struct vc_oci_mount *m = elem;
	int r;
	if ((r = pu_string(o, path, "destination", PU_REQUIRED, &m->destination, err)) < 0 ||
	    (r = pu_string(o, path, "type", 0, &m->type, err)) < 0 ||
	    (r = pu_string(o, path, "source", 0, &m->source, err)) < 0 ||
	    (r = pu_strv(o, path, "options", 0, &m->options, err)) < 0)
		return r;
	return 0;
}

static int parse_hook(const struct vc_json *o, const char *path, void *elem, struct vc_error *err)
{
	struct vc_oci_hook *h = elem;
	int r;
	if ((r = pu_string(o, path, "path", PU_REQUIRED, &h->path, err)) < 0 ||
	    (r = pu_strv(o, path, "args", 0, &h->args, err)) < 0 ||
	    (r = pu_strv(o, path, "env", 0, &h->env, err)) < 0 ||
	    (r = pu_int(o, path, "timeout", 0, &h->timeout, err)) < 0)
		return r;
	h->has_timeout = r > 0;
	return 0;
}

static int parse_hooks(const struct vc_json *doc, struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(doc, "", "hooks", 0, &o, err);
	if (r <= 0)
		return r;
	spec->hooks = calloc(1, sizeof(*spec->hooks));
	if (!spec->hooks)
		return pu_oom(err);
	for (size_t k = 0; k < VC_ARRAY_SIZE(hook_kinds); k++) {
		void *items = NULL;
		r = pu_object_array(o, "hooks", hook_kinds[k].key, 0, sizeof(struct vc_oci_hook),
				    &items, hook_count(spec->hooks, k), parse_hook, err);
		*hook_items(spec->hooks, k) = items;
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_linux(const struct vc_json *doc, struct vc_oci_spec *spec, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(doc, "", "linux", 0, &o, err);
	if (r <= 0)
		return r;
	spec->linux = calloc(1, sizeof(*spec->linux));
	if (!spec->linux)
		return pu_oom(err);
	return oci_linux_parse(o, "linux", spec->linux, err);
}

int vc_oci_spec_from_json(struct vc_json *doc, struct vc_oci_spec **out, struct vc_error *err)
{
	if (!doc || doc->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "the configuration must be a JSON object");
	_cleanup_spec_ struct vc_oci_spec *spec = calloc(1, sizeof(*spec));
	if (!spec)
		return pu_oom(err);
	int r;
	if ((r = pu_string(doc, "", "ociVersion", PU_REQUIRED, &spec->oci_version, err)) < 0 ||
	    (r = parse_process(doc, spec, err)) < 0 || (r = parse_root(doc, spec, err)) < 0 ||
	    (r = pu_string(doc, "", "hostname", 0, &spec->hostname, err)) < 0 ||
	    (r = pu_string(doc, "", "domainname", 0, &spec->domainname, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(doc, "", "mounts", 0, &spec->mounts, &spec->n_mounts, parse_mount,
				 err)) < 0 ||
	    (r = parse_hooks(doc, spec, err)) < 0 ||
	    (r = PU_STRING_MAP(doc, "", "annotations", &spec->annotations, &spec->n_annotations,
			       err)) < 0 ||
	    (r = parse_linux(doc, spec, err)) < 0)
		return r;
	spec->raw = doc;
	*out = steal_ptr(spec);
	return 0;
}

int vc_oci_spec_parse(const char *buf, size_t len, const char *source, struct vc_oci_spec **out,
		      struct vc_error *err)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	int r = vc_json_parse(buf, len, source, &doc, err);
	if (r < 0)
		return r;
	r = vc_oci_spec_from_json(doc, out, err);
	if (r < 0)
		return source ? vc_error_wrap(err, "%s", source) : r;
	doc = NULL; /* owned by the spec now */
	return 0;
}

static int validate_hooks(const struct vc_oci_hooks *h, struct vc_error *err)
{
	for (size_t k = 0; k < VC_ARRAY_SIZE(hook_kinds); k++) {
		const struct vc_oci_hook *items = *hook_items(h, k);
		for (size_t i = 0; i < *hook_count(h, k); i++) {
			char hp[PU_PATH_MAX];
			pu_path_index(hp, "hooks", hook_kinds[k].key, i);
			if (pu_check_abs(items[i].path, hp, "path", err) < 0)
				return -EINVAL;
			if (items[i].has_timeout && items[i].timeout <= 0)
				return pu_fail(err, hp, "timeout", "must be greater than zero");
		}
	}
	return 0;
}

int vc_oci_spec_validate(const struct vc_oci_spec *spec, struct vc_error *err)
{
	int r;
	if (!spec->oci_version || !spec->oci_version[0])
		return pu_fail(err, "", "ociVersion", "is required");
	if (spec->process && (r = vc_oci_process_validate(spec->process, "process", err)) < 0)
		return r;
	if (spec->root && (!spec->root->path || !spec->root->path[0]))
		return pu_fail(err, "root", "path", "must not be empty");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		char mp[PU_PATH_MAX];
		pu_path_index(mp, "", "mounts", i);
		if (pu_check_abs(spec->mounts[i].destination, mp, "destination", err) < 0)
			return -EINVAL;
	}
	if (spec->hooks && (r = validate_hooks(spec->hooks, err)) < 0)
		return r;
	if (spec->linux && (r = oci_linux_validate(spec->linux, "linux", err)) < 0)
		return r;
	return 0;
}

/* root.path against the bundle; it must name an existing directory. */
static int resolve_rootfs(const char *bundle, const char *root, char **out, struct vc_error *err)
{
	_cleanup_free_ char *joined =
		root[0] == '/' ? strdup(root) : vc_strdup_printf("%s/%s", bundle, root);
	if (!joined)
		return pu_oom(err);
	struct stat st;
	if (stat(joined, &st) < 0) {
		if (errno == ENOENT)
			return vc_error_set(err, ENOENT, "root.path: rootfs `%s` does not exist",
					    joined);
		return vc_error_sys(err, errno, "root.path: rootfs `%s`", joined);
	}
	if (!S_ISDIR(st.st_mode))
		return vc_error_set(err, ENOTDIR, "root.path: rootfs `%s` is not a directory",
				    joined);
	/* Symlinks resolved once here, so the path shared with the VM cannot change. */
	char *real = realpath(joined, NULL);
	if (!real)
		return vc_error_sys(err, errno, "root.path: rootfs `%s`", joined);
	*out = real;
	return 0;
}

int vc_oci_spec_parse_runnable(const char *buf, size_t len, const char *source,
			       struct vc_oci_spec **out, struct vc_error *err)
{
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	int r = vc_oci_spec_parse(buf, len, source, &spec, err);
	if (r < 0)
		return r;
	/* The spec lets both be absent; runc, and so vcrun, needs them to run anything. */
	if (!spec->process)
		return vc_error_set(err, EINVAL, "%s: process: is required", source);
	if (!spec->root)
		return vc_error_set(err, EINVAL, "%s: root: is required", source);
	if ((r = vc_oci_spec_validate(spec, err)) < 0)
		return vc_error_wrap(err, "%s", source);
	*out = steal_ptr(spec);
	return 0;
}

int vc_oci_spec_load(const char *bundle, struct vc_oci_spec **out, struct vc_error *err)
{
	_cleanup_free_ char *abs = realpath(bundle, NULL);
	if (!abs)
		return vc_error_sys(err, errno, "bundle `%s`", bundle);
	struct stat st;
	if (stat(abs, &st) < 0)
		return vc_error_sys(err, errno, "bundle `%s`", bundle);
	if (!S_ISDIR(st.st_mode))
		return vc_error_sys(err, ENOTDIR, "bundle `%s`", bundle);

	_cleanup_free_ char *config = vc_strdup_printf("%s/config.json", abs);
	if (!config)
		return pu_oom(err);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = vc_read_file(config, CONFIG_MAX_BYTES, &buf, &len, err);
	if (r < 0)
		return r;

	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	if ((r = vc_oci_spec_parse_runnable(buf, len, config, &spec, err)) < 0)
		return r;
	if ((r = resolve_rootfs(abs, spec->root->path, &spec->rootfs_abs, err)) < 0)
		return vc_error_wrap(err, "%s", config);
	spec->bundle = steal_ptr(abs);
	*out = steal_ptr(spec);
	return 0;
}

const struct vc_oci_namespace *vc_oci_spec_namespace(const struct vc_oci_spec *spec,
						     enum vc_oci_ns_type t)
{
	if (!spec->linux)
		return NULL;
	for (size_t i = 0; i < spec->linux->n_namespaces; i++)
		if (spec->linux->namespaces[i].type == t)
			return &spec->linux->namespaces[i];
	return NULL;
}

const char *vc_oci_spec_annotation(const struct vc_oci_spec *spec, const char *key)
{
	/* Last occurrence wins, as for every other duplicated JSON key. */
	for (size_t i = spec->n_annotations; i-- > 0;)
		if (!strcmp(spec->annotations[i].key, key))
			return spec->annotations[i].value;
	return NULL;
}
