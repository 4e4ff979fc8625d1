/* One spec file from bytes to a valid model: the problem list, parsing by format,
 * decoding, validation, and the file reading that the registry and `vcrun cdi
 * validate` share. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static void diag_push(struct cdi_diag *d, char *msg)
{
	if (!msg) {
		d->oom = true;
		return;
	}
	if (d->n + 1 >= d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msgs, cap * sizeof(*m));
		if (!m) {
			free(msg);
			d->oom = true;
			return;
		}
		d->msgs = m;
		d->cap = cap;
	}
	d->msgs[d->n++] = msg;
	d->msgs[d->n] = NULL;
}

static void diag_vadd(struct cdi_diag *d, const char *path, const char *fmt, va_list ap)
{
	_cleanup_free_ char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0) {
		d->oom = true;
		return;
	}
	const char *src = d->source ? d->source : "";
	const char *sep = d->source ? ": " : "";
	diag_push(d, path && *path ? vc_strdup_printf("%s%s%s: %s", src, sep, path, text)
				   : vc_strdup_printf("%s%s%s", src, sep, text));
}

void cdi_diag_add(struct cdi_diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, NULL, fmt, ap);
	va_end(ap);
}

void cdi_diag_field(struct cdi_diag *d, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, path, fmt, ap);
	va_end(ap);
}

void cdi_diag_release(struct cdi_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}

int cdi_diag_steal(struct cdi_diag *d, char ***out)
{
	if (d->oom)
		return -ENOMEM;
	if (!d->msgs && !(d->msgs = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*out = steal_ptr(d->msgs);
	d->n = d->cap = 0;
	return 0;
}

int cdi_list_append(char **list, const char *item)
{
	char *l = vc_strdup_printf("%s%s%s", *list ? *list : "", *list ? ", " : "", item);
	if (!l)
		return -ENOMEM;
	free(*list);
	*list = l;
	return 0;
}

enum cdi_format cdi_format_for_path(const char *path)
{
	size_t n = strlen(path);
	return n >= 5 && !strcmp(path + n - 5, ".json") ? CDI_FORMAT_JSON : CDI_FORMAT_YAML;
}

int cdi_spec_parse(const char *buf, size_t len, const char *path, enum cdi_format fmt,
		   struct cdi_spec **out, struct cdi_diag *diag)
{
	struct vc_error err = {0};
	struct vc_json *doc = NULL;
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	const char *saved = diag->source;
	int r = fmt == CDI_FORMAT_JSON ? vc_json_parse(buf, len, path, &doc, &err)
				       : cdi_yaml_parse(buf, len, path, &doc, &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* The parsers' messages name the source already. */
		diag_push(diag, strdup(err.msg));
		return diag->oom ? -ENOMEM : r;
	}
	diag->source = path;
	r = cdi_spec_decode(doc, path, &s, diag);
	if (r == 0)
		r = cdi_spec_validate(s, diag);
	diag->source = saved;
	if (diag->oom)
		return -ENOMEM;
	if (r < 0)
		return r;
	*out = steal_ptr(s);
	return 0;
}

/* Opens without blocking (a FIFO named x.json must not hang the registry). */
static int read_spec_file(const char *path, char **buf, size_t *len, struct cdi_diag *diag)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		cdi_diag_add(diag, "cannot read: %s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		cdi_diag_add(diag, "not a regular file");
		return -EINVAL;
	}
	struct vc_error err = {0};
	int r = vc_read_fd(fd, CDI_SPEC_MAX_BYTES, buf, len, &err);
	if (r == -EFBIG)
		cdi_diag_add(diag, "larger than %u bytes", CDI_SPEC_MAX_BYTES);
	else if (r < 0)
		cdi_diag_add(diag, "cannot read: %s", strerror(-r));
	return r;
}

int cdi_spec_load(const char *path, int priority, struct cdi_spec **out, struct cdi_diag *diag)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	const char *saved = diag->source;
	diag->source = path;
	int r = read_spec_file(path, &buf, &len, diag);
	if (r == 0)
		r = cdi_spec_parse(buf, len, path, cdi_format_for_path(path), out, diag);
	if (r == 0)
		(*out)->priority = priority;
	diag->source = saved;
	return diag->oom ? -ENOMEM : r;
}

int vc_cdi_validate_file(const char *path, char ***problems, struct vc_error *err)
{
	struct cdi_diag d = {0};
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	int r = cdi_spec_load(path, 0, &s, &d);
	if (r == -ENOMEM || cdi_diag_steal(&d, problems) < 0) {
		cdi_diag_release(&d);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}
