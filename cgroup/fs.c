/* The cgroup file system: directories, limits, membership, removal. Writes go
 * through vc_sysfs_write (one write per value, never creating a file), so a fake
 * tree in the unit tests keeps every value written, in order. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"
#include "common/cleanup.h"
#include "common/sysfs.h"
#include "common/util.h"

static bool has_file(const char *dir, const char *file)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, file);
	return p && access(p, F_OK) == 0;
}

/* A control file's first line, without the newline ("" when empty or absent). */
static char *read_value(const char *dir, const char *file)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, file);
	char *text = NULL;
	size_t len = 0;
	if (!p || vc_read_file(p, 1 << 16, &text, &len, NULL) < 0)
		return strdup("");
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static int write_value(const char *dir, const char *file, const char *value, const char *field,
		       struct vc_error *err)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", dir, file);
	if (!p)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_sysfs_write(p, value, err);
	return r < 0 && field ? vc_error_wrap(err, "linux.resources.%s", field) : r;
}

static int write_i64(const char *dir, const char *file, int64_t v, bool max_word, const char *field,
		     struct vc_error *err)
{
	char buf[32];
	if (v < 0 && max_word)
		snprintf(buf, sizeof(buf), "max");
	else
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	return write_value(dir, file, buf, field, err);
}

/* Each level from the hierarchy's root down to the container's directory. */
static int for_each_level(const struct vc_cgroup_dir *d,
			  int (*fn)(const char *parent, const char *level, bool leaf, void *arg),
			  void *arg, struct vc_error *err)
{
	size_t ml = strlen(d->mount);
	if (strncmp(d->path, d->mount, ml) || (d->path[ml] && d->path[ml] != '/'))
		return vc_error_set(err, EINVAL, "cgroup `%s` is not below `%s`", d->path,
				    d->mount);
	_cleanup_free_ char *level = strdup(d->path);
	if (!level)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (char *p = level + ml; *p;) {
		char *slash = strchr(p + 1, '/');
		if (slash)
			*slash = '\0';
		_cleanup_free_ char *parent = strndup(level, (size_t)(p - level));
		if (!parent)
			return vc_error_set(err, ENOMEM, "out of memory");
		int r = fn(parent, level, !slash, arg);
		if (r < 0)
			return vc_error_sys(err, -r, "cgroup `%s`", level);
		if (!slash)
			break;
		*slash = '/';
		p = slash;
	}
	return 0;
}

static int make_level(const char *parent, const char *level, bool leaf, void *arg)
{
	const struct vc_cgroup_dir *d = arg;
	if (mkdir(level, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* A v1 cpuset starts empty, and no task can join an empty one: runc copies
	 * the parent's into every level. */
	if (vc_cgroup_dir_has(d, "cpuset")) {
		static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
		for (size_t i = 0; i < 2; i++) {
			_cleanup_free_ char *cur = read_value(level, files[i]);
			_cleanup_free_ char *up =
				cur && !*cur ? read_value(parent, files[i]) : NULL;
			if (up && *up && write_value(level, files[i], up, NULL, NULL) < 0)
				return -EIO;
		}
	}
	/* cgroup2: the parent delegates what it has; a controller it cannot
	 * delegate shows up as a missing file when a limit needs it. */
	if (vc_cgroup_dir_has(d, "")) {
		_cleanup_free_ char *have = read_value(parent, "cgroup.controllers");
		char *save = NULL;
		for (char *c = have ? strtok_r(have, " ", &save) : NULL; c;
		     c = strtok_r(NULL, " ", &save)) {
			_cleanup_free_ char *plus = vc_strdup_printf("+%s", c);
			if (plus)
				write_value(parent, "cgroup.subtree_control", plus, NULL, NULL);
		}
	}
	(void)leaf;
	return 0;
}

int vc_cgroup_create(const struct vc_cgroup *cg, struct vc_error *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		int r = for_each_level(&cg->dirs[i], make_level, &cg->dirs[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct vc_cgroup_dir *dir_for(const struct vc_cgroup *cg, const char *key)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (vc_cgroup_dir_has(&cg->dirs[i], key))
			return &cg->dirs[i];
	return NULL;
}

/* runc's fs/memory.go setMemoryAndSwap: the kernel wants memory+swap >= memory at
 * every step, so the order depends on the current limit. */
static int v1_memory(const char *dir, const struct vc_cgroup_limits *l, struct vc_error *err)
{
	static const char limit[] = "memory.limit_in_bytes",
			  memsw[] = "memory.memsw.limit_in_bytes";
	bool has_sw = l->has_memsw;
	int64_t sw = l->memsw;
	if (has_sw && !has_file(dir, memsw))
		has_sw = false; /* no swap accounting: the guest still enforces it */
	if (l->has_memory && l->memory == -1 && !has_sw && has_file(dir, memsw)) {
		has_sw = true;
		sw = -1;
	}
	int r = 0;
	if (l->has_memory && has_sw) {
		_cleanup_free_ char *cur = read_value(dir, limit);
		uint64_t c = strtoull(cur ? cur : "0", NULL, 10);
		if (sw == -1 || c < (uint64_t)sw) {
			if ((r = write_i64(dir, memsw, sw, false, "memory.swap", err)) < 0)
				return r;
			return write_i64(dir, limit, l->memory, false, "memory.limit", err);
		}
	}
	if (l->has_memory && (r = write_i64(dir, limit, l->memory, false, "memory.limit", err)) < 0)
		return r;
	if (has_sw && (r = write_i64(dir, memsw, sw, false, "memory.swap", err)) < 0)
		return r;
	if (l->has_memory_low)
		r = write_i64(dir, "memory.soft_limit_in_bytes", l->memory_low, false,
			      "memory.reservation", err);
	return r;
}

/* runc's fs/cpu.go: a smaller period may be refused until the quota is set. */
static int v1_cpu(const char *dir, const struct vc_cgroup_limits *l, struct vc_error *err)
{
	int r;
	if (l->cpu_shares && (r = write_i64(dir, "cpu.shares", (int64_t)l->cpu_shares, false,
					    "cpu.shares", err)) < 0)
		return r;
	bool period_later = false;
	if (l->cpu_period) {
		r = write_i64(dir, "cpu.cfs_period_us", (int64_t)l->cpu_period, false, "cpu.period",
			      err);
		if (r == -EINVAL && l->cpu_quota)
			period_later = true;
		else if (r < 0)
			return r;
	}
	if (l->cpu_quota) {
		if ((r = write_i64(dir, "cpu.cfs_quota_us", l->cpu_quota, false, "cpu.quota",
				   err)) < 0)
			return r;
		if (period_later)
			return write_i64(dir, "cpu.cfs_period_us", (int64_t)l->cpu_period, false,
					 "cpu.period", err);
	}
	return 0;
}

static int cpuset(const char *dir, const struct vc_cgroup_limits *l, struct vc_error *err)
{
	int r = 0;
	if (l->cpus && *l->cpus &&
	    (r = write_value(dir, "cpuset.cpus", l->cpus, "cpu.cpus", err)) < 0)
		return r;
	if (l->mems && *l->mems)
		r = write_value(dir, "cpuset.mems", l->mems, "cpu.mems", err);
	return r;
}

static int set_v1(const struct vc_cgroup *cg, const struct vc_cgroup_limits *l,
		  struct vc_error *err)
{
	const struct vc_cgroup_dir *d;
	int r;
	if ((l->has_memory || l->has_memsw || l->has_memory_low) && (d = dir_for(cg, "memory")) &&
	    (r = v1_memory(d->path, l, err)) < 0)
		return r;
	if ((d = dir_for(cg, "cpu")) && (r = v1_cpu(d->path, l, err)) < 0)
		return r;
	if ((d = dir_for(cg, "cpuset")) && (r = cpuset(d->path, l, err)) < 0)
		return r;
	if (l->pids && (d = dir_for(cg, "pids")) &&
	    (r = write_i64(d->path, "pids.max", l->pids, true, "pids.limit", err)) < 0)
		return r;
	if (l->blkio_weight && (d = dir_for(cg, "blkio"))) {
		const char *f = has_file(d->path, "blkio.weight")	? "blkio.weight"
				: has_file(d->path, "blkio.bfq.weight") ? "blkio.bfq.weight"
									: NULL;
		if (f &&
		    (r = write_i64(d->path, f, l->blkio_weight, false, "blockIO.weight", err)) < 0)
			return r;
	}
	return 0;
}

/* runc's fs2: memory.swap.max before memory.max, cpu.max as "quota period". */
static int set_v2(const struct vc_cgroup *cg, const struct vc_cgroup_limits *l,
		  struct vc_error *err)
{
	const struct vc_cgroup_dir *d = dir_for(cg, "");
	if (!d)
		return 0;
	const char *p = d->path;
	int r;
	if (l->has_memsw && has_file(p, "memory.swap.max") &&
	    (r = write_i64(p, "memory.swap.max", l->memsw, true, "memory.swap", err)) < 0)
		return r;
	if (l->has_memory &&
	    (r = write_i64(p, "memory.max", l->memory, true, "memory.limit", err)) < 0)
		return r;
	if (l->has_memory_low &&
	    (r = write_i64(p, "memory.low", l->memory_low, true, "memory.reservation", err)) < 0)
		return r;
	if (l->cpu_shares &&
	    (r = write_i64(p, "cpu.weight", (int64_t)l->cpu_shares, false, "cpu.shares", err)) < 0)
		return r;
	if (l->cpu_quota || l->cpu_period) {
		char max[64];
		int n = l->cpu_quota > 0 ? snprintf(max, sizeof(max), "%" PRId64, l->cpu_quota)
					 : snprintf(max, sizeof(max), "max");
		if (l->cpu_period)
			snprintf(max + n, sizeof(max) - (size_t)n, " %" PRIu64, l->cpu_period);
		if ((r = write_value(p, "cpu.max", max, l->cpu_quota ? "cpu.quota" : "cpu.period",
				     err)) < 0)
			return r;
	}
	if ((r = cpuset(p, l, err)) < 0)
		return r;
	if (l->pids && (r = write_i64(p, "pids.max", l->pids, true, "pids.limit", err)) < 0)
		return r;
	if (l->blkio_weight) {
		if (has_file(p, "io.bfq.weight"))
			return write_i64(p, "io.bfq.weight", l->blkio_weight, false,
					 "blockIO.weight", err);
		if (has_file(p, "io.weight"))
			return write_i64(p, "io.weight",
					 (int64_t)vc_cgroup_blkio_to_io_weight(l->blkio_weight),
					 false, "blockIO.weight", err);
	}
	return 0;
}

static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

void vc_cgroup_limits_trim(const struct vc_cgroup *cg, struct vc_cgroup_limits *l, char *dropped,
			   size_t len)
{
	dropped[0] = '\0';
	const struct vc_cgroup_dir *d = cg->mode == VC_CGROUP_V2 ? dir_for(cg, "") : NULL;
	_cleanup_free_ char *have = d ? read_value(d->path, "cgroup.controllers") : NULL;
	if (!have)
		return;
	struct {
		const char *name;
		bool set;
	} want[] = {
		{"memory", l->has_memory || l->has_memory_low || l->has_memsw},
		{"cpu", l->cpu_shares || l->cpu_quota || l->cpu_period},
		{"cpuset", (l->cpus && *l->cpus) || (l->mems && *l->mems)},
		{"pids", l->pids != 0},
		{"io", l->blkio_weight != 0},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(want); i++) {
		if (!want[i].set || listed(have, want[i].name))
			continue;
		size_t used = strlen(dropped);
		snprintf(dropped + used, len - used, "%s%s", used ? " " : "", want[i].name);
		switch (i) {
		case 0:
			l->has_memory = l->has_memory_low = l->has_memsw = false;
			break;
		case 1:
			l->cpu_shares = 0, l->cpu_quota = 0, l->cpu_period = 0;
			break;
		case 2:
			l->cpus = l->mems = NULL;
			break;
		case 3:
			l->pids = 0;
			break;
		default:
			l->blkio_weight = 0;
		}
	}
}

int vc_cgroup_set(const struct vc_cgroup *cg, const struct vc_cgroup_limits *lim,
		  struct vc_error *err)
{
	return cg->mode == VC_CGROUP_V2 ? set_v2(cg, lim, err) : set_v1(cg, lim, err);
}

int vc_cgroup_join(const struct vc_cgroup *cg, pid_t pid, struct vc_error *err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_dirs; i++) {
		int r = write_value(cg->dirs[i].path, "cgroup.procs", buf, NULL, err);
		if (r < 0)
			return vc_error_wrap(err, "add pid %d to its cgroup", (int)pid);
	}
	return 0;
}

/* A cgroup directory's control files cannot be removed and need not be: rmdir
 * takes them. Only a fake tree (unit tests) answers ENOTEMPTY for them. */
static int rmdir_files(const char *path)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_type == DT_REG)
			unlinkat(dirfd(d), de->d_name, 0);
	return rmdir(path) < 0 ? -errno : 0;
}

static int remove_tree(const char *path, long long deadline_ns)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = vc_strdup_printf("%s/%s", path, de->d_name);
		int r = sub ? remove_tree(sub, deadline_ns) : -ENOMEM;
		if (r < 0)
			return r;
	}
	for (;;) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno == ENOTEMPTY)
			return rmdir_files(path);
		/* The last tasks may still be on their way out (QEMU just killed). */
		if (errno != EBUSY || (long long)vc_now_ns() > deadline_ns)
			return -errno;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
}

int vc_cgroup_remove(const struct vc_cgroup *cg, int timeout_ms, struct vc_error *err)
{
	long long deadline = (long long)vc_now_ns() + (long long)timeout_ms * 1000000LL;
	int first = 0;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		if (!cg->dirs[i].path)
			continue;
		int r = remove_tree(cg->dirs[i].path, deadline);
		if (r < 0 && first == 0)
			first = vc_error_sys(err, -r, "remove cgroup `%s`", cg->dirs[i].path);
	}
	return first;
}
