/* Errors travel as values: a negative errno-style return plus a vc_error whose
 * message names the cause (file, JSON path, device, syscall). */
#ifndef VC_COMMON_ERROR_H
#define VC_COMMON_ERROR_H

#include <stddef.h>

#define VC_ERROR_MSG_MAX 1024

struct vc_error {
	int code; /* positive errno value, 0 when unset */
	char msg[VC_ERROR_MSG_MAX];
};

/* Fills err (if non-NULL) and returns -code (or -EIO when code is 0), so callers
 * can write `return vc_error_set(err, EINVAL, "...")`. */
int vc_error_set(struct vc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like vc_error_set, appending ": strerror(code)". */
int vc_error_sys(struct vc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with context ("open `x`: <old>"); keeps code. */
int vc_error_wrap(struct vc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void vc_error_clear(struct vc_error *err);

#endif
