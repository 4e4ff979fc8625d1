/* config.json "linux": namespaces, id mappings, devices, sysctl, masked and
 * read-only paths; resources and seccomp have files of their own. */
#include "oci/spec.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/parse-util.h"
#include "oci/spec-internal.h"

static const char *const ns_names[VC_NS__COUNT] = {
	[VC_NS_PID] = "pid",	   [VC_NS_NETWORK] = "network", [VC_NS_MOUNT] = "mount",
	[VC_NS_IPC] = "ipc",	   [VC_NS_UTS] = "uts",		[VC_NS_USER] = "user",
	[VC_NS_CGROUP] = "cgroup", [VC_NS_TIME] = "time",
};

/* The spec names four; runc and crun also take the recursive forms. */
static const char *const propagations[] = {
	"shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};

const char *vc_oci_ns_name(enum vc_oci_ns_type t)
{
	return (unsigned)t < VC_NS__COUNT ? ns_names[t] : NULL;
}

int vc_oci_ns_from_name(const char *name)
{
	int i = name ? pu_lookup(name, ns_names, VC_ARRAY_SIZE(ns_names)) : -1;
	return i < 0 ? -EINVAL : i;
}

void oci_linux_free(struct vc_oci_linux *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	vc_oci_resources_free(l->resources);
	free(l->cgroups_path);
	for (size_t i = 0; i < l->n_sysctl; i++) {
		free(l->sysctl[i].key);
		free(l->sysctl[i].value);
	}
	free(l->sysctl);
	oci_seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	pu_strv_free(l->masked_paths);
	pu_strv_free(l->readonly_paths);
	free(l->mount_label);
	free(l);
}

static int parse_namespace(const struct vc_json *o, const char *path, void *elem,
			   struct vc_error *err)
{
	struct vc_oci_namespace *ns = elem;
	_cleanup_free_ char *type = NULL;
	int r = pu_string(o, path, "type", PU_REQUIRED, &type, err);
	if (r < 0)
		return r;
	int t = vc_oci_ns_from_name(type);
	if (t < 0)
		return pu_fail(err, path, "type", "unknown namespace type \"%s\"", type);
	ns->type = (enum vc_oci_ns_type)t;
	r = pu_string(o, path, "path", 0, &ns->path, err);
	return r < 0 ? r : 0;
}

static int parse_id_mapping(const struct vc_json *o, const char *path, void *elem,
			    struct vc_error *err)
{
	struct vc_oci_id_mapping *m = elem;
	int r;
	if ((r = pu_u32(o, path, "containerID", PU_REQUIRED, &m->container_id, err)) < 0 ||
	    (r = pu_u32(o, path, "hostID", PU_REQUIRED, &m->host_id, err)) < 0 ||
	    (r = pu_u32(o, path, "size", PU_REQUIRED, &m->size, err)) < 0)
		return r;
	return 0;
}

static int parse_device(const struct vc_json *o, const char *path, void *elem, struct vc_error *err)
{
	struct vc_oci_device *d = elem;
	_cleanup_free_ char *type = NULL;
	int r;
	if ((r = pu_string(o, path, "type", PU_REQUIRED, &type, err)) < 0)
		return r;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return pu_fail(err, path, "type", "unknown device type \"%s\"", type);
	d->type = type[0];
	if ((r = pu_string(o, path, "path", PU_REQUIRED, &d->path, err)) < 0 ||
	    (r = pu_i64(o, path, "major", 0, &d->major, err)) < 0)
		return r;
	d->has_major = r > 0;
	if ((r = pu_i64(o, path, "minor", 0, &d->minor, err)) < 0)
		return r;
	d->has_minor = r > 0;
	if ((r = pu_u32(o, path, "fileMode", 0, &d->file_mode, err)) < 0)
		return r;
	d->has_file_mode = r > 0;
	if ((r = pu_u32(o, path, "uid", 0, &d->uid, err)) < 0)
		return r;
	d->has_uid = r > 0;
	if ((r = pu_u32(o, path, "gid", 0, &d->gid, err)) < 0)
		return r;
	d->has_gid = r > 0;
	return 0;
}

/* A member that is an object, parsed by fn into a zeroed struct of size bytes. */
static int parse_sub_object(const struct vc_json *v, const char *path, const char *key, size_t size,
			    void **out, pu_item_fn fn, struct vc_error *err)
{
	const struct vc_json *o = NULL;
	int r = pu_object(v, path, key, 0, &o, err);
	if (r <= 0)
		return r;
	*out = calloc(1, size);
	if (!*out)
		return pu_oom(err);
	char sp[PU_PATH_MAX];
	pu_path_key(sp, path, key);
	return fn(o, sp, *out, err);
}

static int resources_fn(const struct vc_json *o, const char *path, void *r, struct vc_error *err)
{
	return oci_resources_parse(o, path, r, err);
}

static int seccomp_fn(const struct vc_json *o, const char *path, void *s, struct vc_error *err)
{
	return oci_seccomp_parse(o, path, s, err);
}

int oci_linux_parse(const struct vc_json *v, const char *path, struct vc_oci_linux *l,
		    struct vc_error *err)
{
	void *resources = NULL, *seccomp = NULL;
	int r;
	if ((r = PU_OBJECT_ARRAY(v, path, "namespaces", 0, &l->namespaces, &l->n_namespaces,
				 parse_namespace, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(v, path, "uidMappings", 0, &l->uid_mappings, &l->n_uid_mappings,
				 parse_id_mapping, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(v, path, "gidMappings", 0, &l->gid_mappings, &l->n_gid_mappings,
				 parse_id_mapping, err)) < 0 ||
	    (r = PU_OBJECT_ARRAY(v, path, "devices", 0, &l->devices, &l->n_devices, parse_device,
				 err)) < 0)
		return r;
	r = parse_sub_object(v, path, "resources", sizeof(*l->resources), &resources, resources_fn,
			     err);
	l->resources = resources;
	if (r < 0)
		return r;
	r = parse_sub_object(v, path, "seccomp", sizeof(*l->seccomp), &seccomp, seccomp_fn, err);
	l->seccomp = seccomp;
	if (r < 0)
		return r;
	if ((r = pu_string(v, path, "cgroupsPath", 0, &l->cgroups_path, err)) < 0 ||
	    (r = PU_STRING_MAP(v, path, "sysctl", &l->sysctl, &l->n_sysctl, err)) < 0 ||
	    (r = pu_string(v, path, "rootfsPropagation", 0, &l->rootfs_propagation, err)) < 0 ||
	    (r = pu_strv(v, path, "maskedPaths", 0, &l->masked_paths, err)) < 0 ||
	    (r = pu_strv(v, path, "readonlyPaths", 0, &l->readonly_paths, err)) < 0 ||
	    (r = pu_string(v, path, "mountLabel", 0, &l->mount_label, err)) < 0)
		return r;
	return 0;
}

static int validate_namespaces(const struct vc_oci_linux *l, const char *path, struct vc_error *err)
{
	bool seen[VC_NS__COUNT] = {false};
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct vc_oci_namespace *ns = &l->namespaces[i];
		char np[PU_PATH_MAX];
		pu_path_index(np, path, "namespaces", i);
		if ((unsigned)ns->type >= VC_NS__COUNT)
			return pu_fail(err, np, "type", "unknown namespace type %d", (int)ns->type);
		if (seen[ns->type])
			return pu_fail(err, np, "type", "duplicate namespace type \"%s\"",
				       ns_names[ns->type]);
		seen[ns->type] = true;
		if (ns->path && pu_check_abs(ns->path, np, "path", err) < 0)
			return -EINVAL;
	}
	return 0;
}

static int validate_id_mappings(const struct vc_oci_id_mapping *m, size_t n, const char *path,
				const char *key, struct vc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].size == 0) {
			char mp[PU_PATH_MAX];
			pu_path_index(mp, path, key, i);
			return pu_fail(err, mp, "size", "must be greater than zero");
		}
	}
	return 0;
}

static int validate_devices(const struct vc_oci_linux *l, const char *path, struct vc_error *err)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct vc_oci_device *d = &l->devices[i];
		char dp[PU_PATH_MAX];
		pu_path_index(dp, path, "devices", i);
		if (!d->type || !strchr("cbup", d->type))
			return pu_fail(err, dp, "type", "unknown device type \"%c\"",
				       d->type ? d->type : '?');
		if (pu_check_abs(d->path, dp, "path", err) < 0)
			return -EINVAL;
		if (d->type == 'p')
			continue;
		if (!d->has_major)
			return pu_fail(err, dp, "major", "is required for device type \"%c\"",
				       d->type);
		if (!d->has_minor)
			return pu_fail(err, dp, "minor", "is required for device type \"%c\"",
				       d->type);
	}
	return 0;
}

int oci_linux_validate(const struct vc_oci_linux *l, const char *path, struct vc_error *err)
{
	int r;
	if ((r = validate_namespaces(l, path, err)) < 0 ||
	    (r = validate_id_mappings(l->uid_mappings, l->n_uid_mappings, path, "uidMappings",
				      err)) < 0 ||
	    (r = validate_id_mappings(l->gid_mappings, l->n_gid_mappings, path, "gidMappings",
				      err)) < 0 ||
	    (r = validate_devices(l, path, err)) < 0 ||
	    (r = pu_check_abs_strv(l->masked_paths, path, "maskedPaths", err)) < 0 ||
	    (r = pu_check_abs_strv(l->readonly_paths, path, "readonlyPaths", err)) < 0)
		return r;
	/* "" is unset, as Go reads it. */
	if (l->rootfs_propagation && l->rootfs_propagation[0] &&
	    (r = pu_check_known(l->rootfs_propagation, propagations, VC_ARRAY_SIZE(propagations),
				"propagation", path, "rootfsPropagation", err)) < 0)
		return r;
	if (l->seccomp) {
		char sp[PU_PATH_MAX];
		pu_path_key(sp, path, "seccomp");
		if ((r = oci_seccomp_validate(l->seccomp, sp, err)) < 0)
			return r;
	}
	return 0;
}
