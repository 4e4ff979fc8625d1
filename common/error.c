#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int ret_code(int code)
{
	return code > 0 ? -code : (code < 0 ? code : -EIO);
}

int vc_error_set(struct vc_error *err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code ? code : EIO;
	}
	return ret_code(code);
}

int vc_error_sys(struct vc_error *err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (err) {
		char buf[VC_ERROR_MSG_MAX];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		snprintf(err->msg, sizeof(err->msg), "%s: %s", buf, strerror(code ? code : EIO));
		err->code = code ? code : EIO;
	}
	return ret_code(code);
}

int vc_error_wrap(struct vc_error *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	char prefix[VC_ERROR_MSG_MAX];
	char old[VC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (old[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", prefix);
	if (!err->code)
		err->code = EIO;
	return -err->code;
}

void vc_error_clear(struct vc_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
