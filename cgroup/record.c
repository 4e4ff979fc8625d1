/* The cgroup record (ROOT/ID/cgroup.json): the directories create made and the
 * VM's room, so that update, exec and delete use the same ones whoever calls them
 * (a relative cgroupsPath depends on the caller's own cgroup). */
#include <errno.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/util.h"

int vc_cgroup_to_json(const struct vc_cgroup *cg, char **out, size_t *len, struct vc_error *err)
{
	_cleanup_jgen_ struct vc_jgen *g = vc_jgen_new(true);
	if (!g)
		return vc_error_set(err, ENOMEM, "out of memory");
	vc_jgen_object_open(g);
	vc_jgen_kv_string(g, "mode", cg->mode == VC_CGROUP_V2 ? "v2" : "v1");
	vc_jgen_kv_string(g, "driver", cg->systemd ? "systemd" : "cgroupfs");
	vc_jgen_key(g, "vm");
	vc_jgen_object_open(g);
	vc_jgen_key(g, "ram");
	vc_jgen_uint(g, cg->vm.ram);
	vc_jgen_key(g, "overhead");
	vc_jgen_uint(g, cg->vm.overhead);
	vc_jgen_kv_int(g, "pids_overhead", cg->vm.pids_overhead);
	vc_jgen_object_close(g);
	vc_jgen_key(g, "dirs");
	vc_jgen_array_open(g);
	for (size_t i = 0; i < cg->n_dirs; i++) {
		vc_jgen_object_open(g);
		vc_jgen_key(g, "keys");
		vc_jgen_array_open(g);
		for (char **k = cg->dirs[i].keys; k && *k; k++)
			vc_jgen_string(g, *k);
		vc_jgen_array_close(g);
		vc_jgen_kv_string(g, "mount", cg->dirs[i].mount);
		vc_jgen_kv_string(g, "path", cg->dirs[i].path);
		vc_jgen_object_close(g);
	}
	vc_jgen_array_close(g);
	vc_jgen_object_close(g);
	return vc_jgen_finish(g, out, len, err);
}

/* Absolute, below its mount, no "..": the record is ours, but rmdir trusts it. */
static bool path_ok(const char *mount, const char *path)
{
	size_t ml = strlen(mount);
	return mount[0] == '/' && !strncmp(path, mount, ml) && path[ml] == '/' &&
	       !strstr(path, "/../") && strcmp(path + strlen(path) - 3, "/..") != 0;
}

int vc_cgroup_from_json(const char *text, size_t len, const char *source, struct vc_cgroup *cg,
			struct vc_error *err)
{
	memset(cg, 0, sizeof(*cg));
	_cleanup_json_ struct vc_json *doc = NULL;
	if (vc_json_parse(text, len, source, &doc, err) < 0)
		return -EINVAL;
	const char *mode = vc_json_str(vc_json_get(doc, "mode"));
	const char *driver = vc_json_str(vc_json_get(doc, "driver"));
	const struct vc_json *vm = vc_json_get(doc, "vm");
	const struct vc_json *dirs = vc_json_get(doc, "dirs");
	if (!mode || !driver || !dirs || dirs->type != VC_JSON_ARRAY ||
	    vc_json_to_u64(vc_json_get(vm, "ram"), &cg->vm.ram) < 0 ||
	    vc_json_to_u64(vc_json_get(vm, "overhead"), &cg->vm.overhead) < 0 ||
	    vc_json_to_i64(vc_json_get(vm, "pids_overhead"), &cg->vm.pids_overhead) < 0)
		return vc_error_set(err, EINVAL, "%s: mode, driver, vm, dirs: missing or invalid",
				    source);
	cg->mode = !strcmp(mode, "v2") ? VC_CGROUP_V2 : VC_CGROUP_V1;
	cg->systemd = !strcmp(driver, "systemd");
	cg->dirs = calloc(dirs->u.array.len + 1, sizeof(*cg->dirs));
	if (!cg->dirs)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < dirs->u.array.len; i++) {
		const struct vc_json *d = dirs->u.array.items[i];
		const struct vc_json *keys = vc_json_get(d, "keys");
		const char *mount = vc_json_str(vc_json_get(d, "mount"));
		const char *path = vc_json_str(vc_json_get(d, "path"));
		struct vc_cgroup_dir *o = &cg->dirs[cg->n_dirs];
		if (!keys || keys->type != VC_JSON_ARRAY || !mount || !path ||
		    !path_ok(mount, path)) {
			vc_cgroup_release(cg);
			return vc_error_set(err, EINVAL, "%s: dirs[%zu]: invalid", source, i);
		}
		cg->n_dirs++;
		for (size_t k = 0; k < keys->u.array.len; k++) {
			const char *key = vc_json_str(keys->u.array.items[k]);
			if (key && vc_strv_push(&o->keys, key) < 0)
				goto nomem;
		}
		if (!(o->mount = strdup(mount)) || !(o->path = strdup(path)))
			goto nomem;
	}
	return 0;
nomem:
	vc_cgroup_release(cg);
	return vc_error_set(err, ENOMEM, "out of memory");
}
