/* cdi/'s own model of a spec file, shared by its files, its unit tests and its
 * fuzz target. Nothing outside cdi/ and tests/ includes this. */
#ifndef VC_CDI_INTERNAL_H
#define VC_CDI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdi/cdi.h"

/* Spec files larger than this are refused (real ones are a few hundred KiB). */
#define CDI_SPEC_MAX_BYTES (16u << 20)
/* Field paths in messages ("devices[3].containerEdits.mounts[0].hostPath"). */
#define CDI_PATH_MAX 256

/* ---- problems ---- */

/* A list of messages, each "SOURCE: TEXT" (just TEXT while source is NULL).
 * Running out of memory is sticky. */
struct cdi_diag {
	const char *source;
	char **msgs;
	size_t n, cap;
	bool oom;
};
void cdi_diag_add(struct cdi_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* At a field: "SOURCE: PATH: TEXT" (or "SOURCE: TEXT" when path is empty). */
void cdi_diag_field(struct cdi_diag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cdi_diag_release(struct cdi_diag *d);
/* Hands the messages out as a NULL-terminated vector; -ENOMEM if any was lost. */
int cdi_diag_steal(struct cdi_diag *d, char ***out);

/* Appends item to *list, comma-separated ("a, b"); -ENOMEM leaves *list as it was. */
int cdi_list_append(char **list, const char *item);

/* ---- the model; strings and string arrays point into the spec's DOM ---- */

struct cdi_device_node {
	const char *path, *host_path, *type, *permissions; /* NULL: absent */
	int64_t major, minor;
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

struct cdi_mount {
	const char *host_path, *container_path, *type;
	const struct vc_json *options; /* array of strings, or NULL */
};

struct cdi_hook {
	const char *hook_name, *path;
	const struct vc_json *args, *env;
	bool has_timeout;
	int64_t timeout;
};

struct cdi_intel_rdt {
	const char *clos_id, *l3_cache_schema, *mem_bw_schema;
	const struct vc_json *schemata; /* non-NULL (maybe empty) when given */
	bool enable_monitoring;
};

struct cdi_net_device {
	const char *host_interface_name, *name;
};

struct cdi_edits {
	const struct vc_json *env;
	struct cdi_device_node *device_nodes;
	size_t n_device_nodes;
	struct cdi_net_device *net_devices;
	size_t n_net_devices;
	struct cdi_hook *hooks;
	size_t n_hooks;
	struct cdi_mount *mounts;
	size_t n_mounts;
	struct cdi_intel_rdt *intel_rdt; /* NULL: absent */
	uint32_t *additional_gids;
	size_t n_additional_gids;
};

struct cdi_spec;

struct cdi_device {
	const char *name;
	size_t n_annotations;
	struct cdi_edits edits;
	char *qualified; /* vendor/class=name, set once the spec is valid */
	struct cdi_spec *spec;
};

struct cdi_spec {
	char *path;
	struct vc_json *doc;
	const char *version, *kind;
	char *vendor, *cls; /* kind split at its first '/' (empty when there is none) */
	size_t n_annotations;
	struct cdi_device *devices;
	size_t n_devices;
	struct cdi_edits edits;
	int priority;
};

void cdi_spec_free(struct cdi_spec *s);
static inline void cdi_spec_freep(struct cdi_spec **s)
{
	cdi_spec_free(*s);
}
#define _cleanup_cdi_spec_ __attribute__((cleanup(cdi_spec_freep)))

enum cdi_format { CDI_FORMAT_JSON, CDI_FORMAT_YAML };
/* .json: JSON; anything else: YAML. */
enum cdi_format cdi_format_for_path(const char *path);

/* YAML text to the JSON DOM (scalars typed as YAML 1.1 does, aliases expanded within
 * a node budget). Duplicate keys, more than one document and unknown tags are
 * errors; messages give line and column. */
int cdi_yaml_parse(const char *buf, size_t len, const char *source, struct vc_json **out,
		   struct vc_error *err);

/* Strict decode of a parsed document into a spec (unknown fields, duplicate keys,
 * wrong types go to diag). Takes doc. The spec is returned even with problems
 * (what could be decoded), so validation can report more. */
int cdi_spec_decode(struct vc_json *doc, const char *path, struct cdi_spec **out,
		    struct cdi_diag *diag);
/* Every rule of the spec, the cdiVersion included; problems go to diag. On success
 * the devices get their qualified names. */
int cdi_spec_validate(struct cdi_spec *s, struct cdi_diag *diag);
/* Parse + decode + validate a buffer. *out is set only when there was no problem. */
int cdi_spec_parse(const char *buf, size_t len, const char *path, enum cdi_format fmt,
		   struct cdi_spec **out, struct cdi_diag *diag);
/* Read a file and parse it; I/O errors are problems too. */
int cdi_spec_load(const char *path, int priority, struct cdi_spec **out, struct cdi_diag *diag);

/* ---- versions ---- */

/* Index into the known versions (0 = 0.1.0 ...), or -1. A leading 'v' is allowed. */
int cdi_version_index(const char *v);
const char *cdi_version_name(int index);
/* The oldest version that has every feature the spec uses; why (may be NULL) gets
 * the field that needs it ("devices[0].containerEdits.deviceNodes[1].hostPath"). */
const char *cdi_spec_minimum_version(const struct cdi_spec *s, char *why, size_t len);

/* ---- registry ---- */

/* The device a qualified name resolves to, or NULL. */
const struct cdi_device *cdi_registry_lookup(const struct vc_cdi_registry *reg, const char *name);
/* Whether loading left any problem (for hints in messages). */
size_t cdi_registry_nerrors(const struct vc_cdi_registry *reg);

/* ---- edits ---- */

/* One block of edits to apply, with who asked for it (for messages and results). */
struct cdi_edit_block {
	const struct cdi_edits *edits;
	const char *device; /* qualified name */
	const char *spec_path;
};

/* Applies the blocks to config in place, in Go's order (all env, then all device
 * nodes, net devices, mounts, hooks, intelRdt, additional GIDs). On failure config
 * may be half edited: the caller works on a copy. */
int cdi_edits_apply(struct vc_json *config, const struct cdi_edit_block *blocks, size_t n,
		    struct vc_cdi_result *res, struct vc_error *err);

/* Go's strings.Count(filepath.Clean(p), "/"): the mount sort key. */
size_t cdi_path_depth(const char *p);

#endif
