/* Container Device Interface (CDI 1.1.0): qualified device names, spec files (JSON
 * and YAML, strict), a registry over spec directories, and the edits a set of
 * devices makes to a config.json. Behaviour follows the spec and its Go package
 * (tags.cncf.io/container-device-interface/pkg/cdi); cdi/README.md lists the few
 * places where vcrun deliberately differs. */
#ifndef VC_CDI_CDI_H
#define VC_CDI_CDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "oci/json.h"

/* The newest CDI spec version this implements. */
#define VC_CDI_SPEC_VERSION "1.1.0"
/* The annotation prefix that requests devices: "cdi.k8s.io/<anything>": "a/b=c,d/e=f". */
#define VC_CDI_ANNOTATION_PREFIX "cdi.k8s.io/"
/* Colon-separated spec directories that replace the defaults (for tests). */
#define VC_CDI_SPEC_DIRS_ENV "VCRUN_CDI_SPEC_DIRS"

/* ---- qualified names: "vendor/class=name" ---- */

/* 0 if name is a valid qualified name, else -EINVAL with the reason in err. */
int vc_cdi_parse_qualified_name(const char *name, struct vc_error *err);
/* The three parts alone (the error says which rule failed). */
int vc_cdi_validate_vendor(const char *vendor, struct vc_error *err);
int vc_cdi_validate_class(const char *cls, struct vc_error *err);
int vc_cdi_validate_device_name(const char *name, struct vc_error *err);

/* ---- spec files ---- */

/* Checks one spec file: read, parse (.json as JSON, anything else as YAML), decode
 * strictly, validate, check cdiVersion. *problems gets a NULL-terminated vector of
 * messages, one per problem, each starting with the file name; it is empty when the
 * file is a valid spec. Returns 0, or -ENOMEM (then nothing is handed out). */
int vc_cdi_validate_file(const char *path, char ***problems, struct vc_error *err);

/* ---- registry ---- */

struct vc_cdi_registry;

/* Loads every *.json and *.yaml file of dirs (NULL-terminated, in priority order:
 * a later directory wins), or of $VCRUN_CDI_SPEC_DIRS, or of /etc/cdi and
 * /var/run/cdi when dirs is NULL. Missing directories are skipped silently,
 * unreadable ones with an error; a bad spec file is left out with its errors and
 * never hides the others. Only running out of memory fails. */
int vc_cdi_registry_load(const char *const *dirs, struct vc_cdi_registry **out,
			 struct vc_error *err);
void vc_cdi_registry_free(struct vc_cdi_registry *reg);
static inline void vc_cdi_registry_freep(struct vc_cdi_registry **reg)
{
	vc_cdi_registry_free(*reg);
}
#define _cleanup_cdi_registry_ __attribute__((cleanup(vc_cdi_registry_freep)))

/* The qualified names the registry resolves, sorted (strcmp). */
const char *const *vc_cdi_registry_devices(const struct vc_cdi_registry *reg, size_t *n);
/* Every problem found while loading, one message each (file and field named). */
const char *const *vc_cdi_registry_errors(const struct vc_cdi_registry *reg, size_t *n);

/* ---- requests and edits ---- */

/* The device names requested by config's annotations: every key starting with
 * "cdi.k8s.io/", in sorted key order, its value split at commas. A name that is not
 * a valid qualified name fails the whole request. *names: NULL-terminated vector
 * (empty when nothing is requested). */
int vc_cdi_annotation_devices(const struct vc_json *config, char ***names, struct vc_error *err);

/* A device node one request added to linux.devices. */
struct vc_cdi_node {
	char *device;	 /* the qualified name that brought it in; for spec-wide edits, the
			  * first requested device of that spec */
	char *spec_path; /* the spec file it came from */
	char *path;	 /* in the container */
	char *host_path;
	char type[2]; /* "b", "c", "u" or "p" */
	int64_t major, minor;
};

struct vc_cdi_result {
	char **devices; /* NULL-terminated: the resolved device names, in the order applied */
	struct vc_cdi_node *nodes;
	size_t nnodes;
};
void vc_cdi_result_free(struct vc_cdi_result *res); /* and zeroes it */

/* Resolves the annotation requests of config, then extra_devices (NULL-terminated,
 * may be NULL); a name requested twice is applied once. If any name is not
 * resolvable the error lists all of them and nothing is edited. Otherwise the
 * edits are applied to a copy that then replaces *config; res (may be NULL) gets
 * what was applied. config may be any JSON object (a partial config.json): fields
 * the edits do not touch pass through unchanged. */
int vc_cdi_apply(const struct vc_cdi_registry *reg, struct vc_json *config,
		 const char *const *extra_devices, struct vc_cdi_result *res, struct vc_error *err);

#endif
