/* Which directories a container's cgroup is: the hierarchies under the root, and
 * runc 1.1.5's rules for turning linux.cgroupsPath into a directory in each
 * (libcontainer/cgroups/fs/paths.go, fs2/defaultpath.go, systemd/common.go, v1.go,
 * v2.go; specconv's defaults). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"
#include "common/cleanup.h"
#include "common/util.h"

static bool exists(const char *dir, const char *file)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, file);
	return p && access(p, F_OK) == 0;
}

static int add_dir(struct vc_cgroup *cg, const char *mount, char **keys)
{
	struct vc_cgroup_dir *nd = realloc(cg->dirs, (cg->n_dirs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	cg->dirs = nd;
	cg->dirs[cg->n_dirs] = (struct vc_cgroup_dir){.keys = keys, .mount = strdup(mount)};
	if (!cg->dirs[cg->n_dirs].mount)
		return -ENOMEM;
	cg->n_dirs++;
	return 0;
}

/* Appends a directory in src's hierarchy (its keys and mount copied) at path, which
 * it takes; a NULL path is out of memory when need_path. */
static int add_dir_from(struct vc_cgroup *out, const struct vc_cgroup_dir *src, char *path,
			bool need_path)
{
	char **keys = NULL;
	if (need_path && !path)
		return -ENOMEM;
	for (char **k = src->keys; k && *k; k++)
		if (vc_strv_push(&keys, *k) < 0)
			goto nomem;
	if (add_dir(out, src->mount, keys) < 0)
		goto nomem;
	out->dirs[out->n_dirs - 1].path = path;
	return 0;
nomem:
	vc_strv_freep(&keys);
	free(path);
	return -ENOMEM;
}

/* runc's names for a v1 hierarchy mounted at DIR: its controllers (the mount
 * directory is named after them, "cpu,cpuacct"), name=systemd, or "" for cgroup2. */
static char **hierarchy_keys(const char *root, const char *name)
{
	char **keys = NULL;
	_cleanup_free_ char *dir = vc_strdup_printf("%s/%s", root, name);
	if (!dir)
		return NULL;
	if (!strcmp(name, "unified") || exists(dir, "cgroup.controllers")) {
		if (vc_strv_push(&keys, "") < 0)
			vc_strv_freep(&keys);
		return keys;
	}
	if (!strcmp(name, "systemd")) {
		if (vc_strv_push(&keys, "name=systemd") < 0)
			vc_strv_freep(&keys);
		return keys;
	}
	_cleanup_free_ char *copy = strdup(name);
	char *save = NULL;
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save))
		if (vc_strv_push(&keys, tok) < 0) {
			vc_strv_freep(&keys);
			return NULL;
		}
	return keys;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vc_cgroup_hierarchies(const char *root, struct vc_cgroup *out, struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	if (exists(root, "cgroup.controllers")) {
		out->mode = VC_CGROUP_V2;
		char **keys = NULL;
		if (vc_strv_push(&keys, "") < 0 || add_dir(out, root, keys) < 0) {
			vc_strv_freep(&keys);
			vc_cgroup_release(out);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		return 0;
	}
	out->mode = VC_CGROUP_V1;
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d)
		return vc_error_sys(err, errno, "cgroup root `%s`", root);
	_cleanup_strv_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat sb;
		_cleanup_free_ char *p = vc_strdup_printf("%s/%s", root, de->d_name);
		if (de->d_name[0] == '.' || !p || lstat(p, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
		    !exists(p, "cgroup.procs"))
			continue;
		if (vc_strv_push(&names, de->d_name) < 0)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	size_t n = vc_strv_len(names);
	if (n == 0)
		return vc_error_set(err, ENOENT,
				    "cgroup root `%s`: no cgroup hierarchy mounted there", root);
	/* Sorted: the record and the tests see one order. */
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *mount = vc_strdup_printf("%s/%s", root, names[i]);
		char **keys = mount ? hierarchy_keys(root, names[i]) : NULL;
		if (!keys || add_dir(out, mount, keys) < 0) {
			vc_strv_freep(&keys);
			vc_cgroup_release(out);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

bool vc_cgroup_dir_has(const struct vc_cgroup_dir *d, const char *key)
{
	for (char **k = d->keys; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

/* The path of the line in /proc/PID/cgroup text that names d's hierarchy
 * ("4:memory:/a", "1:name=systemd:/", "0::/"); NULL if none. */
static char *proc_path(const struct vc_cgroup_dir *d, const char *text)
{
	const char *line = text;
	while (line && *line) {
		const char *end = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2) {
			_cleanup_free_ char *ctrls = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
			bool match = false;
			if (ctrls && !*ctrls)
				match = vc_cgroup_dir_has(d, "");
			char *save = NULL;
			for (char *tok = ctrls && *ctrls ? strtok_r(ctrls, ",", &save) : NULL;
			     tok && !match; tok = strtok_r(NULL, ",", &save))
				match = vc_cgroup_dir_has(d, tok);
			if (match)
				return strndup(c2 + 1, (size_t)(end - c2 - 1));
		}
		line = *end ? end + 1 : NULL;
	}
	return NULL;
}

/* Go's filepath.Clean on a path whose ".." cannot climb above its start (runc's
 * utils.CleanPath): "" stays "", "/a/../../b" -> "/b", "../x" -> "x". */
char *vc_cgroup_clean(const char *path)
{
	if (!path || !*path)
		return strdup("");
	bool abs = path[0] == '/';
	size_t cap = strlen(path) + 2;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t len = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		if (len > 0 || abs)
			out[len++] = '/';
		memcpy(out + len, s, n);
		len += n;
	}
	if (len == 0 && abs)
		out[len++] = '/';
	out[len] = '\0';
	return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
	_cleanup_free_ char *j = vc_strdup_printf("%s/%s/%s", a, b ? b : "", c ? c : "");
	if (!j)
		return NULL;
	char *clean = vc_cgroup_clean(j);
	return clean;
}

int vc_cgroup_expand_slice(const char *slice, char **out, struct vc_error *err)
{
	static const char suffix[] = ".slice";
	size_t n = strlen(slice), sl = sizeof(suffix) - 1;
	*out = NULL;
	if (n < sl || strcmp(slice + n - sl, suffix) || strchr(slice, '/'))
		return vc_error_set(err, EINVAL, "invalid slice name: %s", slice);
	_cleanup_free_ char *name = strndup(slice, n - sl);
	if (!name)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (!*name)
		return vc_error_set(err, EINVAL, "invalid slice name: %s", slice);
	if (!strcmp(name, "-"))
		return (*out = strdup("/")) ? 0 : vc_error_set(err, ENOMEM, "out of memory");
	size_t cap = 2 * (n + 1) * (n + 1);
	_cleanup_free_ char *path = calloc(1, cap);
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t len = 0;
	for (const char *c = name; *c;) {
		const char *dash = strchrnul(c, '-');
		if (dash == c)
			return vc_error_set(err, EINVAL, "invalid slice name: %s", slice);
		/* "/" + the name up to and including this component + ".slice" */
		len += (size_t)snprintf(path + len, cap - len, "/%.*s%s", (int)(dash - name), name,
					suffix);
		if (!*dash)
			break;
		c = dash + 1;
		if (!*c)
			return vc_error_set(err, EINVAL, "invalid slice name: %s", slice);
	}
	*out = steal_ptr(path);
	return 0;
}

/* systemd's scope (or slice) path: "slice:prefix:name"; runc's default
 * "system.slice", "runc", the container id. */
static int systemd_inner(const char *cgroups_path, const char *id, char **inner,
			 struct vc_error *err)
{
	_cleanup_free_ char *slice = NULL;
	_cleanup_free_ char *unit = NULL;
	if (!cgroups_path || !*cgroups_path) {
		slice = strdup("/system.slice");
		unit = vc_strdup_printf("runc-%s.scope", id);
	} else {
		const char *c1 = strchr(cgroups_path, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':'))
			return vc_error_set(
				err, EINVAL,
				"linux.cgroupsPath: expected cgroupsPath to be of format "
				"\"slice:prefix:name\" for systemd cgroups, got \"%s\" "
				"instead",
				cgroups_path);
		_cleanup_free_ char *parent = strndup(cgroups_path, (size_t)(c1 - cgroups_path));
		_cleanup_free_ char *prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		const char *name = c2 + 1;
		if (!parent || !prefix)
			return vc_error_set(err, ENOMEM, "out of memory");
		if (strchr(prefix, '/') || strchr(name, '/') || !*name || !strcmp(name, ".") ||
		    !strcmp(name, ".."))
			return vc_error_set(err, EINVAL,
					    "linux.cgroupsPath: `%s`: the unit's prefix and name "
					    "cannot hold `/` (and the name cannot be empty)",
					    cgroups_path);
		if (!*parent)
			slice = strdup("/system.slice");
		else if (vc_cgroup_expand_slice(parent, &slice, err) < 0)
			return vc_error_wrap(err, "linux.cgroupsPath");
		size_t nl = strlen(name);
		/* A name that is itself a slice is used as it is; else a scope, and runc
		 * 1.1.5 puts the dash there even for an empty prefix. */
		if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
			unit = strdup(name);
		else
			unit = vc_strdup_printf("%s-%s.scope", prefix, name);
	}
	if (!slice || !unit)
		return vc_error_set(err, ENOMEM, "out of memory");
	*inner = join3("", slice, unit);
	return *inner ? 0 : vc_error_set(err, ENOMEM, "out of memory");
}

int vc_cgroup_resolve(struct vc_cgroup *cg, const char *cgroups_path, const char *id, bool systemd,
		      const char *self_cgroup, const char *init_cgroup, struct vc_error *err)
{
	_cleanup_free_ char *inner = NULL;
	bool below_init = false;
	int r;
	cg->systemd = systemd;
	if (systemd) {
		if ((r = systemd_inner(cgroups_path, id, &inner, err)) < 0)
			return r;
		/* Only v1's legacy manager starts from pid 1's cgroup (minus init.scope). */
		below_init = cg->mode == VC_CGROUP_V1;
	} else {
		inner = vc_cgroup_clean(cgroups_path && *cgroups_path ? cgroups_path : id);
		if (!inner)
			return vc_error_set(err, ENOMEM, "out of memory");
		if (!*inner || !strcmp(inner, "/") || !strcmp(inner, "."))
			return vc_error_set(err, EINVAL,
					    "linux.cgroupsPath: `%s` names no cgroup of its own",
					    cgroups_path ? cgroups_path : "");
	}
	bool abs = inner[0] == '/';
	for (size_t i = 0; i < cg->n_dirs; i++) {
		struct vc_cgroup_dir *d = &cg->dirs[i];
		_cleanup_free_ char *base = NULL;
		if (below_init) {
			base = proc_path(d, init_cgroup ? init_cgroup : "");
			size_t bl = base ? strlen(base) : 0;
			if (base && bl >= 10 && !strcmp(base + bl - 10, "init.scope"))
				base[bl - 10] = '\0';
		} else if (!abs) {
			base = proc_path(d, self_cgroup ? self_cgroup : "");
			if (!base)
				return vc_error_set(err, ENOENT,
						    "linux.cgroupsPath: `%s` is relative, but this "
						    "process's cgroup in `%s` is unknown",
						    inner, d->mount);
			/* fs2 starts from the parent: the own cgroup has tasks, so
			 * no controller could be delegated below it. */
			if (cg->mode == VC_CGROUP_V2) {
				char *slash = strrchr(base, '/');
				if (slash)
					slash[slash == base ? 1 : 0] = '\0';
			}
		}
		free(d->path);
		d->path = join3(d->mount, base, inner);
		if (!d->path)
			return vc_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int vc_cgroup_of_process(const struct vc_cgroup *cg, const char *proc_cgroup, struct vc_cgroup *out,
			 struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	out->mode = cg->mode;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		_cleanup_free_ char *p = proc_path(&cg->dirs[i], proc_cgroup);
		if (p &&
		    add_dir_from(out, &cg->dirs[i], join3(cg->dirs[i].mount, p, NULL), true) < 0) {
			vc_cgroup_release(out);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

int vc_cgroup_copy(const struct vc_cgroup *cg, struct vc_cgroup *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = cg->mode;
	out->systemd = cg->systemd;
	out->vm = cg->vm;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		const char *p = cg->dirs[i].path;
		if (add_dir_from(out, &cg->dirs[i], p ? strdup(p) : NULL, p != NULL) < 0) {
			vc_cgroup_release(out);
			return -ENOMEM;
		}
	}
	return 0;
}

int vc_cgroup_roots(const struct vc_cgroup *cg, struct vc_cgroup *out, struct vc_error *err)
{
	memset(out, 0, sizeof(*out));
	out->mode = cg->mode;
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (add_dir_from(out, &cg->dirs[i], strdup(cg->dirs[i].mount), true) < 0) {
			vc_cgroup_release(out);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
	return 0;
}

/* runc's getSubCgroupPaths and newSetnsProcess: one path for all, or per
 * controller; each must stay below the container's directory. */
int vc_cgroup_sub(const struct vc_cgroup *cg, char *const *args, struct vc_cgroup *out,
		  struct vc_error *err)
{
	if (vc_cgroup_copy(cg, out) < 0)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t n = vc_strv_len(args);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *a = args[i];
		const char *c1 = strchr(a, ':');
		if (c1 && strchr(c1 + 1, ':')) {
			r = vc_error_set(err, EINVAL, "invalid --cgroup argument: %s", a);
			break;
		}
		if (!c1 && n != 1) {
			r = vc_error_set(
				err, EINVAL,
				"invalid --cgroup argument: %s (missing <controller>: prefix)", a);
			break;
		}
		const char *sub = c1 ? c1 + 1 : a;
		_cleanup_free_ char *ctrls = c1 ? strndup(a, (size_t)(c1 - a)) : strdup("");
		if (!ctrls) {
			r = vc_error_set(err, ENOMEM, "out of memory");
			break;
		}
		char *save = NULL;
		char *tok = c1 ? strtok_r(ctrls, ",", &save) : ctrls;
		for (; r == 0 && tok; tok = c1 ? strtok_r(NULL, ",", &save) : NULL) {
			bool found = false;
			for (size_t j = 0; r == 0 && j < out->n_dirs; j++) {
				struct vc_cgroup_dir *d = &out->dirs[j];
				if (c1 && !vc_cgroup_dir_has(d, tok))
					continue;
				found = true;
				_cleanup_free_ char *p = join3(cg->dirs[j].path, sub, NULL);
				size_t bl = strlen(cg->dirs[j].path);
				if (!p)
					r = vc_error_set(err, ENOMEM, "out of memory");
				else if (strncmp(p, cg->dirs[j].path, bl) ||
					 (p[bl] != '\0' && p[bl] != '/'))
					r = vc_error_set(err, EINVAL, "%s is not a sub cgroup path",
							 sub);
				else {
					free(d->path);
					d->path = steal_ptr(p);
				}
			}
			if (r == 0 && !found)
				r = vc_error_set(err, EINVAL,
						 "unknown controller %s in SubCgroupPaths", tok);
		}
	}
	for (size_t j = 0; r == 0 && n > 0 && j < out->n_dirs; j++) {
		struct stat sb;
		if (stat(out->dirs[j].path, &sb) < 0 || !S_ISDIR(sb.st_mode))
			r = vc_error_sys(err, errno ? errno : ENOTDIR, "--cgroup: `%s`",
					 out->dirs[j].path);
	}
	if (r < 0)
		vc_cgroup_release(out);
	return r;
}

void vc_cgroup_release(struct vc_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		vc_strv_freep(&cg->dirs[i].keys);
		free(cg->dirs[i].mount);
		free(cg->dirs[i].path);
	}
	free(cg->dirs);
	cg->dirs = NULL;
	cg->n_dirs = 0;
}
