/* Scalar typing shared by cdi/yaml.c and cdi/decode.c (internal to cdi/). */
#ifndef VC_CDI_SCALAR_H
#define VC_CDI_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/json.h"

enum cdi_scalar_type {
	CDI_SCALAR_NULL,
	CDI_SCALAR_BOOL,
	CDI_SCALAR_INT,
	CDI_SCALAR_UINT, /* above INT64_MAX */
	CDI_SCALAR_FLOAT,
	CDI_SCALAR_STRING,
};

struct cdi_scalar {
	enum cdi_scalar_type type;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
};

/* go-yaml v2's resolve of a plain (unquoted, untagged) scalar; timestamps stay
 * strings. -ENOMEM only. */
int cdi_scalar_resolve(const char *s, struct cdi_scalar *out);

/* strconv.FormatFloat(d, 'g', -1, 32), which sigs.k8s.io/yaml uses. */
void cdi_format_go_float32(double d, char *buf, size_t len);

/* A number or boolean as the string pkg/cdi would read in its place; -EINVAL for
 * other types. */
int cdi_scalar_text(const struct vc_json *v, char *buf, size_t len);

/* A number that Go would accept into an integer field: its sign and magnitude.
 * -EINVAL if it has a fraction (or is not a number), -ERANGE if too large. */
int cdi_number_integral(const struct vc_json *v, bool *neg, uint64_t *mag);

/* "a string", "an object", ... for messages ("expected an array, got a string"). */
const char *cdi_type_phrase(const struct vc_json *v);

#endif
