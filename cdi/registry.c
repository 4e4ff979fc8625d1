/* The registry: every spec file of the spec directories, and which device each
 * qualified name resolves to (pkg/cdi's Cache, without the file watching: vcrun
 * loads once per call). A directory's index in the list is its priority; the
 * highest priority that defines a name wins. Two files of one priority that define
 * the same name are a conflict, reported for each of them, and that priority then
 * resolves nothing for the name (a higher priority still can; pkg/cdi drops the
 * name altogether, which leaves no way to override a conflict). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cdi/cdi-internal.h"
#include "common/cleanup.h"
#include "common/util.h"

struct entry {
	const char *name;
	const struct cdi_device *dev;
	size_t order;
};

struct vc_cdi_registry {
	struct cdi_spec **specs;
	size_t nspecs, cap;
	struct entry *resolved; /* sorted by name */
	size_t nresolved;
	const char **names; /* the same, names only */
	struct cdi_diag errors;
};

static const char *const default_dirs[] = {"/etc/cdi", "/var/run/cdi", NULL};

void vc_cdi_registry_free(struct vc_cdi_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->nspecs; i++)
		cdi_spec_free(reg->specs[i]);
	free(reg->specs);
	free(reg->resolved);
	free(reg->names);
	cdi_diag_release(&reg->errors);
	free(reg);
}

static bool is_spec_name(const char *name)
{
	/* Go's filepath.Ext: from the last dot. */
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".json") || !strcmp(dot, ".yaml"));
}

/* The names carry a one-character mark in front (see list_dir). */
static int cmp_marked(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static int add_spec(struct vc_cdi_registry *reg, struct cdi_spec *s)
{
	if (reg->nspecs == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 16;
		struct cdi_spec **n = realloc(reg->specs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		reg->specs = n;
		reg->cap = cap;
	}
	reg->specs[reg->nspecs++] = s;
	return 0;
}

/* The file names of one directory that may be specs, sorted as Go's ReadDir, each
 * behind a mark: '-' a regular file, '?' something to stat first (a link). */
static int list_dir(struct vc_cdi_registry *reg, const char *dir, char ***out)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			cdi_diag_add(&reg->errors, "%s: cannot read the directory, skipped: %s",
				     dir, strerror(errno));
		return reg->errors.oom ? -ENOMEM : 0;
	}
	_cleanup_strv_ char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((errno = 0, e = readdir(d))) {
		if (!is_spec_name(e->d_name) || e->d_type == DT_DIR)
			continue;
		/* A link may lead to a directory: marked for load_dir to look at. */
		bool check = e->d_type != DT_REG;
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				return -ENOMEM;
			names = nn;
		}
		if (!(names[n] = vc_strdup_printf("%c%s", check ? '?' : '-', e->d_name)))
			return -ENOMEM;
		names[++n] = NULL;
	}
	if (errno)
		cdi_diag_add(&reg->errors, "%s: reading the directory: %s", dir, strerror(errno));
	if (n)
		qsort(names, n, sizeof(*names), cmp_marked);
	*out = steal_ptr(names);
	return reg->errors.oom ? -ENOMEM : 0;
}

static int load_dir(struct vc_cdi_registry *reg, const char *dir, int priority)
{
	_cleanup_strv_ char **names = NULL;
	int r = list_dir(reg, dir, &names);
	if (r < 0)
		return r;
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_free_ char *path =
			vc_strdup_printf("%.*s/%s", (int)dlen, dir, names[i] + 1);
		struct cdi_spec *s = NULL;
		struct stat st;
		if (!path)
			return -ENOMEM;
		/* A directory, or a link to one, is not a spec (pkg/cdi skips them too). */
		if (names[i][0] == '?' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		r = cdi_spec_load(path, priority, &s, &reg->errors);
		if (r == -ENOMEM)
			return r;
		if (r == 0 && add_spec(reg, s) < 0) {
			cdi_spec_free(s);
			return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	/* Highest priority first, then in load order. */
	int px = x->dev->spec->priority, py = y->dev->spec->priority;
	if (px != py)
		return py - px;
	return (x->order > y->order) - (x->order < y->order);
}

/* Same-priority definitions of one name, e[0..n): a problem for every file. */
static void report_conflict(struct vc_cdi_registry *reg, const struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *others = NULL;
		for (size_t j = 0; j < n; j++) {
			if (j != i && cdi_list_append(&others, e[j].dev->spec->path) < 0) {
				reg->errors.oom = true;
				return;
			}
		}
		cdi_diag_add(&reg->errors, "%s: conflicting device \"%s\": also defined in %s",
			     e[i].dev->spec->path, e[i].name, others);
	}
}

static int resolve(struct vc_cdi_registry *reg)
{
	size_t total = 0;
	for (size_t i = 0; i < reg->nspecs; i++)
		total += reg->specs[i]->n_devices;
	_cleanup_free_ struct entry *all = calloc(total ? total : 1, sizeof(*all));
	reg->resolved = calloc(total ? total : 1, sizeof(*reg->resolved));
	reg->names = calloc(total + 1, sizeof(*reg->names));
	if (!all || !reg->resolved || !reg->names)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < reg->nspecs; i++)
		for (size_t j = 0; j < reg->specs[i]->n_devices; j++, n++) {
			const struct cdi_device *dev = &reg->specs[i]->devices[j];
			all[n] = (struct entry){dev->qualified, dev, n};
		}
	qsort(all, n, sizeof(*all), cmp_entry);
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && !strcmp(all[end].name, all[i].name))
			end++;
		/* Sub-groups of one priority, highest first; only the first can win. */
		for (size_t g = i; g < end;) {
			size_t gend = g;
			while (gend < end &&
			       all[gend].dev->spec->priority == all[g].dev->spec->priority)
				gend++;
			if (gend - g > 1)
				report_conflict(reg, all + g, gend - g);
			else if (g == i)
				reg->resolved[reg->nresolved++] = all[g];
			g = gend;
		}
		i = end;
	}
	for (size_t i = 0; i < reg->nresolved; i++)
		reg->names[i] = reg->resolved[i].name;
	return reg->errors.oom ? -ENOMEM : 0;
}

/* $VCRUN_CDI_SPEC_DIRS split at colons (empty parts dropped), or the defaults. */
static int default_spec_dirs(char ***out)
{
	const char *env = getenv(VC_CDI_SPEC_DIRS_ENV);
	_cleanup_strv_ char **dirs = calloc(1, sizeof(char *));
	if (!dirs)
		return -ENOMEM;
	for (const char *p = env ? env : ""; *p;) {
		size_t len = strcspn(p, ":");
		if (len) {
			_cleanup_free_ char *d = strndup(p, len);
			if (!d || vc_strv_push(&dirs, d) < 0)
				return -ENOMEM;
		}
		p += len + (p[len] == ':');
	}
	for (size_t i = 0; !dirs[0] && default_dirs[i]; i++)
		if (vc_strv_push(&dirs, default_dirs[i]) < 0)
			return -ENOMEM;
	*out = steal_ptr(dirs);
	return 0;
}

int vc_cdi_registry_load(const char *const *dirs, struct vc_cdi_registry **out,
			 struct vc_error *err)
{
	_cleanup_strv_ char **defaults = NULL;
	struct vc_cdi_registry *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (!dirs) {
		if (default_spec_dirs(&defaults) < 0) {
			vc_cdi_registry_free(reg);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		dirs = (const char *const *)defaults;
	}
	int r = 0;
	for (int i = 0; r == 0 && dirs[i]; i++)
		r = load_dir(reg, dirs[i], i);
	if (r == 0)
		r = resolve(reg);
	if (r < 0 || reg->errors.oom) {
		vc_cdi_registry_free(reg);
		return vc_error_set(err, ENOMEM, "loading CDI specs: out of memory");
	}
	*out = reg;
	return 0;
}

const char *const *vc_cdi_registry_devices(const struct vc_cdi_registry *reg, size_t *n)
{
	if (n)
		*n = reg->nresolved;
	return reg->names;
}

static const char *const no_errors[] = {NULL};

const char *const *vc_cdi_registry_errors(const struct vc_cdi_registry *reg, size_t *n)
{
	if (n)
		*n = reg->errors.n;
	return reg->errors.msgs ? (const char *const *)reg->errors.msgs : no_errors;
}

size_t cdi_registry_nerrors(const struct vc_cdi_registry *reg)
{
	return reg->errors.n;
}

static int cmp_key_entry(const void *key, const void *e)
{
	return strcmp(key, ((const struct entry *)e)->name);
}

const struct cdi_device *cdi_registry_lookup(const struct vc_cdi_registry *reg, const char *name)
{
	const struct entry *e =
		bsearch(name, reg->resolved, reg->nresolved, sizeof(*reg->resolved), cmp_key_entry);
	return e ? e->dev : NULL;
}
