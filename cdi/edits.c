/* Container edits onto a config.json DOM, as pkg/cdi's ContainerEdits.Apply makes
 * them on an OCI spec: env replaced in place or appended; device nodes completed
 * from the host (lstat), replaced by path in linux.devices, with a cgroup allow
 * rule for block and char devices; net devices by host interface; mounts replaced
 * by destination, then all mounts stably sorted by depth; hooks appended to their
 * stage; intelRdt replaced; additional GIDs added once, never 0. Only the fields
 * an edit needs are created; everything else in the DOM is left as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cdi/cdi-internal.h"
#include "cdi/scalar.h"
#include "common/cleanup.h"
#include "common/util.h"

/* ---- DOM helpers ---- */

/* parent.key as an object or array, created when absent or null. */
static int child(struct vc_json *parent, const char *key, enum vc_json_type type, const char *path,
		 struct vc_json **out, struct vc_error *err)
{
	struct vc_json *v = vc_json_get(parent, key);
	if (!v || v->type == VC_JSON_NULL) {
		v = type == VC_JSON_OBJECT ? vc_json_new_object() : vc_json_new_array();
		if (vc_json_object_set(parent, key, v) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	} else if (v->type != type) {
		return vc_error_set(err, EINVAL, "config %s: expected %s, got %s", path,
				    type == VC_JSON_OBJECT ? "an object" : "an array",
				    cdi_type_phrase(v));
	}
	*out = v;
	return 0;
}

static void array_remove(struct vc_json *arr, size_t i)
{
	vc_json_free(arr->u.array.items[i]);
	memmove(&arr->u.array.items[i], &arr->u.array.items[i + 1],
		(arr->u.array.len - i - 1) * sizeof(*arr->u.array.items));
	arr->u.array.len--;
}

static void array_replace(struct vc_json *arr, size_t i, struct vc_json *v)
{
	vc_json_free(arr->u.array.items[i]);
	arr->u.array.items[i] = v;
}

/* The index of the first item at or after from whose member key is the string
 * want, or -1. */
static ssize_t find_by(const struct vc_json *arr, size_t from, const char *key, const char *want)
{
	for (size_t i = from; i < arr->u.array.len; i++) {
		const char *s = vc_json_str(vc_json_get(arr->u.array.items[i], key));
		if (s && !strcmp(s, want))
			return (ssize_t)i;
	}
	return -1;
}

/* Sticky object building: the first failure is kept, later values are freed. */
static void put(struct vc_json *obj, const char *key, struct vc_json *v, int *r)
{
	if (*r == 0)
		*r = vc_json_object_set(obj, key, v);
	else
		vc_json_free(v);
}

static void put_strings(struct vc_json *obj, const char *key, const struct vc_json *arr, int *r)
{
	if (arr && arr->u.array.len > 0) /* omitempty, as Go writes the OCI spec */
		put(obj, key, vc_json_clone(arr), r);
}

static void put_string(struct vc_json *obj, const char *key, const char *s, int *r)
{
	if (s && *s)
		put(obj, key, vc_json_new_string(s), r);
}

/* ---- env ---- */

static size_t env_key_len(const char *e)
{
	return strcspn(e, "=");
}

static int apply_env(struct vc_json *config, const struct cdi_edit_block *b, size_t n,
		     struct vc_error *err)
{
	struct vc_json *process = NULL, *env = NULL;
	int r;
	for (size_t i = 0; i < n; i++) {
		const struct vc_json *add = b[i].edits->env;
		for (size_t j = 0; add && j < add->u.array.len; j++) {
			const char *e = add->u.array.items[j]->u.string.ptr;
			size_t klen = env_key_len(e);
			if (!env && ((r = child(config, "process", VC_JSON_OBJECT, "process",
						&process, err)) < 0 ||
				     (r = child(process, "env", VC_JSON_ARRAY, "process.env", &env,
						err)) < 0))
				return r;
			/* The last entry with this name, as pkg/cdi's index of names. */
			ssize_t found = -1;
			for (size_t k = env->u.array.len; k-- > 0 && found < 0;) {
				const char *cur = vc_json_str(env->u.array.items[k]);
				if (cur && env_key_len(cur) == klen && !strncmp(cur, e, klen))
					found = (ssize_t)k;
			}
			struct vc_json *v = vc_json_new_string(e);
			if (!v)
				return vc_error_set(err, ENOMEM, "out of memory");
			if (found >= 0)
				array_replace(env, (size_t)found, v);
			else if (vc_json_array_append(env, v) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* ---- device nodes ---- */

struct node {
	const char *path, *host_path;
	char type[2];
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	uint32_t mode, uid, gid;
};

/* pkg/cdi's fillMissingInfo, on a copy: the spec itself stays as written. */
static int fill_node(const struct cdi_device_node *dn, const char *device, struct node *out,
		     struct vc_error *err)
{
	*out = (struct node){
		.path = dn->path,
		.host_path = dn->host_path && *dn->host_path ? dn->host_path : dn->path,
		.major = dn->major,
		.minor = dn->minor,
		.has_mode = dn->has_file_mode,
		.mode = dn->file_mode,
		.has_uid = dn->has_uid,
		.uid = dn->uid,
		.has_gid = dn->has_gid,
		.gid = dn->gid,
	};
	snprintf(out->type, sizeof(out->type), "%s", dn->type ? dn->type : "");
	bool minimal = out->type[0] && (out->major != 0 || out->type[0] == 'p');

	struct stat st;
	char host_type = 0;
	int e = 0;
	if (lstat(out->host_path, &st) < 0)
		e = errno;
	else if (S_ISBLK(st.st_mode))
		host_type = 'b';
	else if (S_ISCHR(st.st_mode))
		host_type = 'c';
	else if (S_ISFIFO(st.st_mode))
		host_type = 'p';
	if (e || !host_type) {
		/* A fully specified node needs nothing from the host. */
		if (minimal)
			return 0;
		return vc_error_set(err, e ? e : ENODEV, "CDI device %s: host device %s: %s",
				    device, out->host_path, e ? strerror(e) : "not a device node");
	}
	if (!out->has_mode) {
		out->has_mode = true;
		out->mode = st.st_mode & ~(mode_t)S_IFMT;
	}
	if (minimal)
		return 0;
	if (!out->type[0])
		out->type[0] = host_type;
	if (out->type[0] != host_type)
		return vc_error_set(
			err, EINVAL,
			"CDI device %s: %s is type %s in the spec but %c on the host (%s)", device,
			out->path, out->type, host_type, out->host_path);
	if (host_type != 'p' && out->major == 0) {
		out->major = major(st.st_rdev);
		out->minor = minor(st.st_rdev);
	}
	return 0;
}

static int record_node(struct vc_cdi_result *res, const struct node *n,
		       const struct cdi_edit_block *b)
{
	struct vc_cdi_node *a = realloc(res->nodes, (res->nnodes + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	res->nodes = a;
	struct vc_cdi_node *o = &a[res->nnodes];
	*o = (struct vc_cdi_node){
		.device = strdup(b->device),
		.spec_path = strdup(b->spec_path),
		.path = strdup(n->path),
		.host_path = strdup(n->host_path),
		.major = n->major,
		.minor = n->minor,
	};
	memcpy(o->type, n->type, sizeof(o->type));
	res->nnodes++; /* counted even when a copy failed, so that it is freed */
	return o->device && o->spec_path && o->path && o->host_path ? 0 : -ENOMEM;
}

/* process.user.uid or gid when it is a positive integer, else 0. */
static uint32_t process_id(const struct vc_json *config, const char *key)
{
	uint64_t v = 0;
	const struct vc_json *user = vc_json_get(vc_json_get(config, "process"), "user");
	if (vc_json_to_u64(vc_json_get(user, key), &v) < 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static struct vc_json *oci_device(const struct node *n, int *r)
{
	struct vc_json *d = vc_json_new_object();
	if (!d) {
		*r = -ENOMEM;
		return NULL;
	}
	put(d, "path", vc_json_new_string(n->path), r);
	put(d, "type", vc_json_new_string(n->type), r);
	put(d, "major", vc_json_new_int(n->major), r);
	put(d, "minor", vc_json_new_int(n->minor), r);
	if (n->has_mode)
		put(d, "fileMode", vc_json_new_uint(n->mode), r);
	if (n->has_uid)
		put(d, "uid", vc_json_new_uint(n->uid), r);
	if (n->has_gid)
		put(d, "gid", vc_json_new_uint(n->gid), r);
	return d;
}

static struct vc_json *cgroup_rule(const struct node *n, const char *permissions, int *r)
{
	const char *access = !permissions || !*permissions  ? "rwm"
			     : !strcmp(permissions, "none") ? ""
							    : permissions;
	struct vc_json *rule = vc_json_new_object();
	if (!rule) {
		*r = -ENOMEM;
		return NULL;
	}
	put(rule, "allow", vc_json_new_bool(true), r);
	put(rule, "type", vc_json_new_string(n->type), r);
	put(rule, "major", vc_json_new_int(n->major), r);
	put(rule, "minor", vc_json_new_int(n->minor), r);
	put_string(rule, "access", access, r);
	return rule;
}

static int apply_device_node(struct vc_json *config, const struct cdi_device_node *dn,
			     const struct cdi_edit_block *b, struct vc_cdi_result *res,
			     struct vc_error *err)
{
	struct node n;
	struct vc_json *linux_ = NULL, *devices = NULL, *resources = NULL, *rules = NULL;
	int r = fill_node(dn, b->device, &n, err);
	if (r < 0)
		return r;
	uint32_t uid = process_id(config, "uid"), gid = process_id(config, "gid");
	if (!n.has_uid && uid > 0) {
		n.has_uid = true;
		n.uid = uid;
	}
	if (!n.has_gid && gid > 0) {
		n.has_gid = true;
		n.gid = gid;
	}
	if ((r = child(config, "linux", VC_JSON_OBJECT, "linux", &linux_, err)) < 0 ||
	    (r = child(linux_, "devices", VC_JSON_ARRAY, "linux.devices", &devices, err)) < 0)
		return r;
	int br = 0;
	struct vc_json *dev = oci_device(&n, &br);
	if (br < 0) {
		vc_json_free(dev);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	/* RemoveDevice then AddDevice: the first entry of this path goes, a second one
	 * is replaced in place, else the device is appended. */
	ssize_t i = find_by(devices, 0, "path", n.path);
	if (i >= 0)
		array_remove(devices, (size_t)i);
	i = find_by(devices, 0, "path", n.path);
	if (i >= 0)
		array_replace(devices, (size_t)i, dev);
	else if (vc_json_array_append(devices, dev) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");

	if (n.type[0] == 'b' || n.type[0] == 'c') {
		if ((r = child(linux_, "resources", VC_JSON_OBJECT, "linux.resources", &resources,
			       err)) < 0 ||
		    (r = child(resources, "devices", VC_JSON_ARRAY, "linux.resources.devices",
			       &rules, err)) < 0)
			return r;
		struct vc_json *rule = cgroup_rule(&n, dn->permissions, &br);
		if (br < 0) {
			vc_json_free(rule);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		if (vc_json_array_append(rules, rule) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (res && record_node(res, &n, b) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* ---- net devices ---- */

static int apply_net_device(struct vc_json *config, const struct cdi_net_device *nd,
			    struct vc_error *err)
{
	struct vc_json *linux_ = NULL, *netdevs = NULL;
	int r;
	if ((r = child(config, "linux", VC_JSON_OBJECT, "linux", &linux_, err)) < 0 ||
	    (r = child(linux_, "netDevices", VC_JSON_OBJECT, "linux.netDevices", &netdevs, err)) <
		    0)
		return r;
	struct vc_json *v = vc_json_new_object();
	int br = v ? 0 : -ENOMEM;
	put_string(v, "name", nd->name, &br);
	if (br < 0) {
		vc_json_free(v);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (vc_json_object_set(netdevs, nd->host_interface_name, v) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* ---- mounts ---- */

size_t cdi_path_depth(const char *p)
{
	/* Lexical clean (Go's filepath.Clean), counting the components left. */
	bool rooted = p[0] == '/';
	size_t comps = 0, dotdots = 0; /* leading ".." of a relative path */
	while (*p) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (comps > dotdots)
				comps--;
			else if (!rooted) {
				comps++;
				dotdots++;
			}
		} else {
			comps++;
		}
		p += len;
	}
	/* "/a/b" has 2 slashes, "a/b" 1, "/" 1 and "." 0. */
	if (rooted)
		return comps ? comps : 1;
	return comps ? comps - 1 : 0;
}

static bool has_user_namespace(const struct vc_json *config)
{
	const struct vc_json *ns = vc_json_get(vc_json_get(config, "linux"), "namespaces");
	for (size_t i = 0; ns && ns->type == VC_JSON_ARRAY && i < ns->u.array.len; i++) {
		const char *t = vc_json_str(vc_json_get(ns->u.array.items[i], "type"));
		if (t && !strcmp(t, "user"))
			return true;
	}
	return false;
}

/* pkg/cdi's withIDMapForBindMount: a bind mount into a user namespace gets
 * "idmap" ("ridmap" for rbind) unless it has one already. */
static const char *idmap_option(const struct cdi_mount *m)
{
	const char *option = m->type && !strcmp(m->type, "bind") ? "idmap" : NULL;
	for (size_t i = 0; m->options && i < m->options->u.array.len; i++) {
		const char *o = m->options->u.array.items[i]->u.string.ptr;
		if (!strcmp(o, "idmap") || !strcmp(o, "ridmap"))
			return NULL;
		if (!strcmp(o, "bind"))
			option = "idmap";
		else if (!strcmp(o, "rbind"))
			option = "ridmap";
	}
	return option;
}

static struct vc_json *oci_mount(const struct cdi_mount *m, bool userns, int *r)
{
	struct vc_json *o = vc_json_new_object();
	if (!o) {
		*r = -ENOMEM;
		return NULL;
	}
	const char *extra = userns ? idmap_option(m) : NULL;
	put(o, "destination", vc_json_new_string(m->container_path), r);
	put_string(o, "type", m->type, r);
	put_string(o, "source", m->host_path, r);
	if (extra) {
		struct vc_json *opts = m->options ? vc_json_clone(m->options) : vc_json_new_array();
		if (opts && vc_json_array_append(opts, vc_json_new_string(extra)) < 0) {
			vc_json_free(opts);
			opts = NULL;
		}
		put(o, "options", opts, r);
	} else {
		put_strings(o, "options", m->options, r);
	}
	return o;
}

struct sort_item {
	size_t depth, index;
	struct vc_json *v;
};

static int cmp_sort_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* sort.Stable by the number of components of the destination. */
static int sort_mounts(struct vc_json *mounts)
{
	size_t n = mounts->u.array.len;
	_cleanup_free_ struct sort_item *items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *dest =
			vc_json_str(vc_json_get(mounts->u.array.items[i], "destination"));
		items[i] = (struct sort_item){cdi_path_depth(dest ? dest : ""), i,
					      mounts->u.array.items[i]};
	}
	qsort(items, n, sizeof(*items), cmp_sort_item);
	for (size_t i = 0; i < n; i++)
		mounts->u.array.items[i] = items[i].v;
	return 0;
}

static int apply_mounts(struct vc_json *config, const struct cdi_edit_block *b, size_t n,
			struct vc_error *err)
{
	struct vc_json *mounts = NULL;
	bool userns = has_user_namespace(config);
	int r;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < b[i].edits->n_mounts; j++) {
			const struct cdi_mount *m = &b[i].edits->mounts[j];
			if (!mounts && (r = child(config, "mounts", VC_JSON_ARRAY, "mounts",
						  &mounts, err)) < 0)
				return r;
			ssize_t k = find_by(mounts, 0, "destination", m->container_path);
			if (k >= 0)
				array_remove(mounts, (size_t)k);
			int br = 0;
			struct vc_json *o = oci_mount(m, userns, &br);
			if (br < 0) {
				vc_json_free(o);
				return vc_error_set(err, ENOMEM, "out of memory");
			}
			if (vc_json_array_append(mounts, o) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	if (mounts && sort_mounts(mounts) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* ---- hooks, intelRdt, additional GIDs ---- */

static int apply_hook(struct vc_json *config, const struct cdi_hook *h, struct vc_error *err)
{
	struct vc_json *hooks = NULL, *stage = NULL;
	char path[64];
	snprintf(path, sizeof(path), "hooks.%s", h->hook_name);
	int r;
	if ((r = child(config, "hooks", VC_JSON_OBJECT, "hooks", &hooks, err)) < 0 ||
	    (r = child(hooks, h->hook_name, VC_JSON_ARRAY, path, &stage, err)) < 0)
		return r;
	struct vc_json *o = vc_json_new_object();
	int br = o ? 0 : -ENOMEM;
	put(o, "path", vc_json_new_string(h->path), &br);
	put_strings(o, "args", h->args, &br);
	put_strings(o, "env", h->env, &br);
	if (h->has_timeout)
		put(o, "timeout", vc_json_new_int(h->timeout), &br);
	if (br < 0) {
		vc_json_free(o);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (vc_json_array_append(stage, o) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int apply_intel_rdt(struct vc_json *config, const struct cdi_intel_rdt *rdt,
			   struct vc_error *err)
{
	struct vc_json *linux_ = NULL;
	int r = child(config, "linux", VC_JSON_OBJECT, "linux", &linux_, err);
	if (r < 0)
		return r;
	struct vc_json *o = vc_json_new_object();
	int br = o ? 0 : -ENOMEM;
	put_string(o, "closID", rdt->clos_id, &br);
	put_string(o, "l3CacheSchema", rdt->l3_cache_schema, &br);
	put_string(o, "memBwSchema", rdt->mem_bw_schema, &br);
	put_strings(o, "schemata", rdt->schemata, &br);
	if (rdt->enable_monitoring)
		put(o, "enableMonitoring", vc_json_new_bool(true), &br);
	if (br < 0) {
		vc_json_free(o);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (vc_json_object_set(linux_, "intelRdt", o) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int apply_gid(struct vc_json *config, uint32_t gid, struct vc_error *err)
{
	struct vc_json *process = NULL, *user = NULL, *gids = NULL;
	int r;
	if ((r = child(config, "process", VC_JSON_OBJECT, "process", &process, err)) < 0 ||
	    (r = child(process, "user", VC_JSON_OBJECT, "process.user", &user, err)) < 0 ||
	    (r = child(user, "additionalGids", VC_JSON_ARRAY, "process.user.additionalGids", &gids,
		       err)) < 0)
		return r;
	for (size_t i = 0; i < gids->u.array.len; i++) {
		uint64_t have;
		if (vc_json_to_u64(gids->u.array.items[i], &have) == 0 && have == gid)
			return 0;
	}
	if (vc_json_array_append(gids, vc_json_new_uint(gid)) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int cdi_edits_apply(struct vc_json *config, const struct cdi_edit_block *b, size_t n,
		    struct vc_cdi_result *res, struct vc_error *err)
{
	int r;
	if (!config || config->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "config: expected an object");
	if ((r = apply_env(config, b, n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < b[i].edits->n_device_nodes; j++)
			if ((r = apply_device_node(config, &b[i].edits->device_nodes[j], &b[i], res,
						   err)) < 0)
				return r;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < b[i].edits->n_net_devices; j++)
			if ((r = apply_net_device(config, &b[i].edits->net_devices[j], err)) < 0)
				return r;
	if ((r = apply_mounts(config, b, n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < b[i].edits->n_hooks; j++)
			if ((r = apply_hook(config, &b[i].edits->hooks[j], err)) < 0)
				return r;
	const struct cdi_intel_rdt *rdt = NULL;
	for (size_t i = 0; i < n; i++)
		if (b[i].edits->intel_rdt)
			rdt = b[i].edits->intel_rdt;
	if (rdt && (r = apply_intel_rdt(config, rdt, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < b[i].edits->n_additional_gids; j++)
			if (b[i].edits->additional_gids[j] != 0 &&
			    (r = apply_gid(config, b[i].edits->additional_gids[j], err)) < 0)
				return r;
	return 0;
}
