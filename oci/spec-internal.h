/* Internal to oci/: how the spec-*.c files hand parts of the model to each other.
 * Each part parses into a zeroed struct its owner allocated; after a failure the
 * owner's free function releases whatever was filled in. */
#ifndef VC_OCI_SPEC_INTERNAL_H
#define VC_OCI_SPEC_INTERNAL_H

#include "oci/spec.h"

/* spec-process.c */
int oci_process_parse(const struct vc_json *v, const char *path, struct vc_oci_process *p,
		      struct vc_error *err);

/* spec-linux.c */
int oci_linux_parse(const struct vc_json *v, const char *path, struct vc_oci_linux *l,
		    struct vc_error *err);
int oci_linux_validate(const struct vc_oci_linux *l, const char *path, struct vc_error *err);
void oci_linux_free(struct vc_oci_linux *l);

/* spec-resources.c */
int oci_resources_parse(const struct vc_json *v, const char *path, struct vc_oci_resources *r,
			struct vc_error *err);

/* spec-seccomp.c */
int oci_seccomp_parse(const struct vc_json *v, const char *path, struct vc_oci_seccomp *s,
		      struct vc_error *err);
int oci_seccomp_validate(const struct vc_oci_seccomp *s, const char *path, struct vc_error *err);
void oci_seccomp_free(struct vc_oci_seccomp *s);

#endif
