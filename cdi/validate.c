/* Every rule a decoded spec must meet (pkg/cdi's spec.validate, device.validate,
 * ContainerEdits.Validate and specs-go's ValidateVersion), each problem reported
 * with its field. Two rules of SPEC.md that pkg/cdi does not check are checked here
 * too, because the OCI runtime spec demands them of the hooks they become: a hook's
 * path is absolute and its timeout, when given, is above zero. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"

/* buf, formatted: a field path for a message. */
static const char *at(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *at(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, CDI_PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

static const char *const hook_names[] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

static void validate_env(const struct vc_json *env, const char *path, struct cdi_diag *d)
{
	char p[CDI_PATH_MAX];
	for (size_t i = 0; env && i < env->u.array.len; i++) {
		const char *e = env->u.array.items[i]->u.string.ptr;
		const char *eq = strchr(e, '=');
		if (!eq || eq == e)
			cdi_diag_field(d, at(p, "%s[%zu]", path, i),
				       "invalid environment variable \"%s\" (want NAME=VALUE)", e);
	}
}

static void validate_device_node(const struct cdi_device_node *n, const char *path,
				 struct cdi_diag *d)
{
	char p[CDI_PATH_MAX];
	if (!n->path || !*n->path)
		cdi_diag_field(d, at(p, "%s.path", path), "missing");
	const char *t = n->type ? n->type : "";
	if (*t && strcmp(t, "b") && strcmp(t, "c") && strcmp(t, "u") && strcmp(t, "p"))
		cdi_diag_field(d, at(p, "%s.type", path),
			       "invalid device type \"%s\" (want b, c, u or p)", t);
	const char *perm = n->permissions ? n->permissions : "";
	if (*perm && strcmp(perm, "none") && strspn(perm, "rwm") != strlen(perm))
		cdi_diag_field(d, at(p, "%s.permissions", path),
			       "invalid permissions \"%s\" (want letters of \"rwm\", or \"none\")",
			       perm);
}

static void validate_hook(const struct cdi_hook *h, const char *path, struct cdi_diag *d)
{
	bool known = false;
	for (size_t i = 0; i < VC_ARRAY_SIZE(hook_names) && h->hook_name; i++)
		known |= !strcmp(h->hook_name, hook_names[i]);
	char p[CDI_PATH_MAX];
	if (!h->hook_name || !*h->hook_name)
		cdi_diag_field(d, at(p, "%s.hookName", path), "missing");
	else if (!known)
		cdi_diag_field(d, at(p, "%s.hookName", path),
			       "invalid hook name \"%s\" (want prestart, createRuntime, "
			       "createContainer, startContainer, poststart or poststop)",
			       h->hook_name);
	if (!h->path || !*h->path)
		cdi_diag_field(d, at(p, "%s.path", path), "missing");
	else if (h->path[0] != '/')
		cdi_diag_field(d, at(p, "%s.path", path), "\"%s\" is not an absolute path",
			       h->path);
	validate_env(h->env, at(p, "%s.env", path), d);
	if (h->has_timeout && h->timeout <= 0)
		cdi_diag_field(d, at(p, "%s.timeout", path), "%lld is not above zero",
			       (long long)h->timeout);
}

static void validate_intel_rdt(const struct cdi_intel_rdt *r, const char *path, struct cdi_diag *d)
{
	/* The CLOS is a directory name under resctrl; "/" is the root CLOS. */
	const char *c = r->clos_id ? r->clos_id : "";
	if (strcmp(c, "/") &&
	    (strlen(c) >= 4096 || !strcmp(c, ".") || !strcmp(c, "..") || strpbrk(c, "/\n"))) {
		char p[CDI_PATH_MAX];
		cdi_diag_field(d, at(p, "%s.closID", path), "invalid CLOS ID \"%.64s\"", c);
	}
}

static void validate_net_devices(const struct cdi_edits *e, const char *path, struct cdi_diag *d)
{
	char p[CDI_PATH_MAX];
	for (size_t i = 0; i < e->n_net_devices; i++) {
		const struct cdi_net_device *n = &e->net_devices[i];
		const char *host = n->host_interface_name ? n->host_interface_name : "";
		const char *name = n->name ? n->name : "";
		if (!*host)
			cdi_diag_field(d, at(p, "%s[%zu].hostInterfaceName", path, i), "missing");
		if (!*name)
			cdi_diag_field(d, at(p, "%s[%zu].name", path, i), "missing");
		for (size_t j = 0; j < i; j++) {
			const struct cdi_net_device *o = &e->net_devices[j];
			if (*host && o->host_interface_name &&
			    !strcmp(host, o->host_interface_name))
				cdi_diag_field(d, at(p, "%s[%zu].hostInterfaceName", path, i),
					       "\"%s\" is also the host interface of [%zu]", host,
					       j);
			if (*name && o->name && !strcmp(name, o->name))
				cdi_diag_field(d, at(p, "%s[%zu].name", path, i),
					       "\"%s\" is also the name of [%zu]", name, j);
		}
	}
}

static void validate_edits(const struct cdi_edits *e, const char *path, struct cdi_diag *d)
{
	char p[CDI_PATH_MAX];
	validate_env(e->env, at(p, "%s.env", path), d);
	for (size_t i = 0; i < e->n_device_nodes; i++)
		validate_device_node(&e->device_nodes[i], at(p, "%s.deviceNodes[%zu]", path, i), d);
	for (size_t i = 0; i < e->n_hooks; i++)
		validate_hook(&e->hooks[i], at(p, "%s.hooks[%zu]", path, i), d);
	for (size_t i = 0; i < e->n_mounts; i++) {
		const struct cdi_mount *m = &e->mounts[i];
		if (!m->host_path || !*m->host_path)
			cdi_diag_field(d, at(p, "%s.mounts[%zu].hostPath", path, i), "missing");
		if (!m->container_path || !*m->container_path)
			cdi_diag_field(d, at(p, "%s.mounts[%zu].containerPath", path, i),
				       "missing");
	}
	if (e->intel_rdt)
		validate_intel_rdt(e->intel_rdt, at(p, "%s.intelRdt", path), d);
	validate_net_devices(e, at(p, "%s.netDevices", path), d);
}

/* pkg/cdi's isEmpty: what makes a device's edits count as given. */
static bool edits_empty(const struct cdi_edits *e)
{
	return !(e->env && e->env->u.array.len) && !e->n_device_nodes && !e->n_hooks &&
	       !e->n_mounts && !e->n_additional_gids && !e->intel_rdt && !e->n_net_devices;
}

static void validate_version(const struct cdi_spec *s, struct cdi_diag *d)
{
	if (!s->version || !*s->version) {
		cdi_diag_field(d, "cdiVersion", "missing");
		return;
	}
	int have = cdi_version_index(s->version);
	if (have < 0) {
		cdi_diag_field(d, "cdiVersion",
			       "unknown version \"%s\" (known: %s to %s, with or without a "
			       "leading v)",
			       s->version, cdi_version_name(0), VC_CDI_SPEC_VERSION);
		return;
	}
	char why[CDI_PATH_MAX];
	const char *min = cdi_spec_minimum_version(s, why, sizeof(why));
	if (cdi_version_index(min) > have)
		cdi_diag_field(d, "cdiVersion", "%s is too old: %s needs at least %s", s->version,
			       why, min);
}

/* Splits kind at its first '/' into vendor and class, as pkg/parser does. */
static int validate_kind(struct cdi_spec *s, struct cdi_diag *d)
{
	struct vc_error err = {0};
	if (!s->kind || !*s->kind) {
		cdi_diag_field(d, "kind", "missing");
		return 0;
	}
	const char *slash = strchr(s->kind, '/');
	if (!slash || slash == s->kind || !slash[1]) {
		cdi_diag_field(d, "kind", "\"%s\" is not vendor/class", s->kind);
		return 0;
	}
	free(s->vendor);
	free(s->cls);
	s->vendor = strndup(s->kind, (size_t)(slash - s->kind));
	s->cls = strdup(slash + 1);
	if (!s->vendor || !s->cls)
		return -ENOMEM;
	if (vc_cdi_validate_vendor(s->vendor, &err) < 0 || vc_cdi_validate_class(s->cls, &err) < 0)
		cdi_diag_field(d, "kind", "%s", err.msg);
	return 0;
}

int cdi_spec_validate(struct cdi_spec *s, struct cdi_diag *d)
{
	size_t before = d->n;
	char p[CDI_PATH_MAX];
	validate_version(s, d);
	if (validate_kind(s, d) < 0)
		return -ENOMEM;
	validate_edits(&s->edits, "containerEdits", d);
	if (s->n_devices == 0)
		cdi_diag_field(d, "devices", "no devices (a spec needs at least one)");
	for (size_t i = 0; i < s->n_devices; i++) {
		const struct cdi_device *dev = &s->devices[i];
		struct vc_error err = {0};
		at(p, "devices[%zu].name", i);
		if (!dev->name || !*dev->name)
			cdi_diag_field(d, p, "missing");
		else if (vc_cdi_validate_device_name(dev->name, &err) < 0)
			cdi_diag_field(d, p, "%s", err.msg);
		for (size_t j = 0; dev->name && j < i; j++) {
			if (s->devices[j].name && !strcmp(dev->name, s->devices[j].name)) {
				cdi_diag_field(d, p, "device \"%s\" is also devices[%zu]",
					       dev->name, j);
				break;
			}
		}
		at(p, "devices[%zu].containerEdits", i);
		if (edits_empty(&dev->edits))
			cdi_diag_field(d, p, "no edits (a device needs at least one)");
		validate_edits(&dev->edits, p, d);
	}
	if (d->oom)
		return -ENOMEM;
	if (d->n > before)
		return -EINVAL;
	for (size_t i = 0; i < s->n_devices; i++) {
		struct cdi_device *dev = &s->devices[i];
		free(dev->qualified);
		dev->qualified = vc_strdup_printf("%s=%s", s->kind, dev->name);
		if (!dev->qualified)
			return -ENOMEM;
	}
	return 0;
}
