/* The container's host cgroup, wired into create, exec, update and delete. The
 * rules (paths, files, the VM's room) live in cgroup/; this file reads the host
 * (VCRUN_CGROUP_ROOT, /proc/self/cgroup), keeps the record and logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/state.h"

/* What the VM's processes need beyond the guest's RAM (measured under TCG: QEMU
 * about 60 MiB of its own plus a private copy of the kernel image, virtiofsd,
 * monitor and stand-in about 2 MiB each), and under TCG QEMU's translation cache,
 * which grows to tcg_tb_size_mib, or to QEMU's default of 1 GiB. */
#define VM_OVERHEAD (256ull << 20)
#define TCG_CACHE   (1ull << 30)
/* QEMU's main, RCU and I/O threads (up to 64 workers), virtiofsd's, the monitor
 * and the stand-ins, plus one thread per vCPU. */
#define VM_PIDS_OVERHEAD  128
#define REMOVE_TIMEOUT_MS 2000

static const char *cgroup_root(void)
{
	const char *v = getenv("VCRUN_CGROUP_ROOT");
	return v && *v ? v : VC_CGROUP_DEFAULT_ROOT;
}

static char *proc_text(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (vc_read_file(path, 1 << 20, &text, &len, NULL) < 0)
		return strdup("");
	return text;
}

/* -ENOENT without a record: a container made before vcrun kept host cgroups. */
/* The container's directory as one hierarchy sees it ("/a/b"), for the log. */
static const char *shown(const struct vc_cgroup *cg)
{
	return cg->n_dirs ? cg->dirs[0].path + strlen(cg->dirs[0].mount) : "";
}

static int record_load(const char *root, const char *id, struct vc_cgroup *cg, struct vc_error *err)
{
	_cleanup_free_ char *path = vc_state_path(root, id, VC_HOST_CGROUP_FILE);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_read_file(path, 1 << 20, &text, &len, err);
	return r < 0 ? r : vc_cgroup_from_json(text, len, path, cg, err);
}

/* Rootless: host cgroups only in a cgroup v2 subtree delegated to the user (systemd's
 * user@UID.service, Delegate=yes), known by a cgroup.procs of its own cgroup that it
 * may write. Without one, no host cgroup at all (the guest still applies the
 * limits, inside the VM): said at warning level once per user and boot (a marker in
 * the user's run dir), then at debug level. */
static bool rootless_delegated(const char *croot, const char *self, const char *id)
{
	char why[128];
	if (!vc_rootless(why, sizeof(why)))
		return true;
	const char *v2 = strstr(self, "0::");
	_cleanup_free_ char *procs = NULL;
	_cleanup_free_ char *controllers = vc_strdup_printf("%s/cgroup.controllers", croot);
	if (v2 && (v2 == self || v2[-1] == '\n')) {
		size_t n = strcspn(v2 + 3, "\n");
		procs = vc_strdup_printf("%s%.*s/cgroup.procs", croot, (int)n, v2 + 3);
	}
	if (procs && controllers && access(controllers, F_OK) == 0 && access(procs, W_OK) == 0)
		return true;
	_cleanup_free_ char *marker = vc_strdup_printf("%s/cgroup-undelegated", vc_host_run_dir());
	bool said = !marker || access(marker, F_OK) == 0;
	vc_log(said ? VC_LOG_DEBUG : VC_LOG_WARN,
	       "container %s: rootless (%s) without a delegated cgroup v2 subtree (%s is not "
	       "writable): no host cgroup, limits apply inside the VM only",
	       id, why, procs ? procs : "no cgroup v2 line in /proc/self/cgroup");
	if (!said) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	return false;
}

/* Rootless, in a delegated subtree: what the delegation left out is not the user's
 * to set (runc and crun fail there); the VM's guest applies those limits, as it
 * does for a user with no delegation at all. */
static void rootless_trim(const struct vc_cgroup *cg, struct vc_cgroup_limits *lim, const char *id)
{
	char dropped[64];
	if (!vc_rootless(NULL, 0))
		return;
	vc_cgroup_limits_trim(cg, lim, dropped, sizeof(dropped));
	if (*dropped)
		vc_warn("container %s: rootless: the delegated cgroup has no %s controller (not "
			"delegated): those limits apply inside the VM only",
			id, dropped);
}

int vc_host_cgroup_setup(const struct vc_ctx *ctx, const char *root, const char *id,
			 const struct vc_oci_spec *spec, const struct vc_plan *plan, pid_t standin,
			 struct vc_error *err)
{
	struct vc_cgroup cg __attribute__((cleanup(vc_cgroup_release))) = {0};
	const char *croot = cgroup_root();
	_cleanup_free_ char *self = proc_text("/proc/self/cgroup");
	_cleanup_free_ char *init = proc_text("/proc/1/cgroup");
	const struct vc_oci_linux *lx = spec->linux;
	const struct vc_oci_resources *res = lx ? lx->resources : NULL;
	if (!rootless_delegated(croot, self, id))
		return 0;
	int r = vc_cgroup_hierarchies(croot, &cg, err);
	if (r < 0 || (r = vc_cgroup_resolve(&cg, lx ? lx->cgroups_path : NULL, id,
					    ctx->systemd_cgroup, self, init, err)) < 0)
		return r;
	if (ctx->systemd_cgroup) {
		struct stat sb;
		bool running = lstat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
		vc_debug("container %s: systemd cgroup driver: %s; %s made directly through "
			 "cgroupfs (vcrun does not talk D-Bus to systemd)",
			 id, running ? "systemd runs here" : "systemd does not run here",
			 shown(&cg));
	}
	cg.vm = (struct vc_cgroup_vm){
		.ram = (uint64_t)plan->mem_mib << 20,
		.overhead = VM_OVERHEAD + (plan->accel != VC_ACCEL_TCG ? 0
					   : plan->tcg_tb_size_mib
						   ? (uint64_t)plan->tcg_tb_size_mib << 20
						   : TCG_CACHE),
		.pids_overhead = VM_PIDS_OVERHEAD + (int64_t)plan->vcpus,
	};
	struct vc_cgroup_limits lim;
	if ((r = vc_cgroup_limits(cg.mode, res, &cg.vm, &lim, err)) < 0)
		return r;

	/* Recorded first: a failure from here on leaves directories that delete
	 * finds in the record. */
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *path = vc_state_path(root, id, VC_HOST_CGROUP_FILE);
	size_t len = 0;
	if (!path)
		return vc_error_set(err, ENOMEM, "out of memory");
	if ((r = vc_cgroup_to_json(&cg, &text, &len, err)) < 0 ||
	    (r = vc_write_file_atomic(path, text, len, 0600, err)) < 0)
		return r;
	if ((r = vc_cgroup_create(&cg, err)) < 0)
		return r;
	rootless_trim(&cg, &lim, id);
	if ((r = vc_cgroup_set(&cg, &lim, err)) < 0 || (r = vc_cgroup_join(&cg, standin, err)) < 0)
		return r;
	vc_debug("container %s: host cgroup %s in %zu hierarchies under %s (%s)", id, shown(&cg),
		 cg.n_dirs, croot, cg.mode == VC_CGROUP_V2 ? "cgroup v2" : "cgroup v1");
	return 0;
}

int vc_host_cgroup_update(const char *root, const char *id, const struct vc_oci_resources *res,
			  struct vc_error *err)
{
	struct vc_cgroup cg __attribute__((cleanup(vc_cgroup_release))) = {0};
	struct vc_cgroup_limits lim;
	int r = record_load(root, id, &cg, err);
	if (r == -ENOENT) {
		vc_debug("container %s: no host cgroup record: update left to the guest", id);
		vc_error_clear(err);
		return 0;
	}
	if (r < 0 || (r = vc_cgroup_limits(cg.mode, res, &cg.vm, &lim, err)) < 0)
		return r;
	rootless_trim(&cg, &lim, id);
	return vc_cgroup_set(&cg, &lim, err);
}

/* Where an exec's stand-in goes: the container's cgroup, or runc's --cgroup
 * sub-cgroups of it. 1: nothing to join (a container made before vcrun kept host
 * cgroups, and no --cgroup asked for). */
static int exec_target(const char *root, const char *id, char *const *sub, struct vc_cgroup *target,
		       struct vc_error *err)
{
	struct vc_cgroup cg __attribute__((cleanup(vc_cgroup_release))) = {0};
	int r = record_load(root, id, &cg, err);
	if (r == -ENOENT && !sub) {
		vc_error_clear(err);
		return 1;
	}
	if (r < 0)
		return sub ? vc_error_wrap(err, "--cgroup") : r;
	return vc_cgroup_sub(&cg, sub, target, err);
}

int vc_host_cgroup_exec_check(const char *root, const char *id, char *const *sub,
			      struct vc_error *err)
{
	struct vc_cgroup target __attribute__((cleanup(vc_cgroup_release))) = {0};
	int r = exec_target(root, id, sub, &target, err);
	return r < 0 ? r : 0;
}

int vc_host_cgroup_add_pid(const char *root, const char *id, char *const *sub, pid_t pid,
			   struct vc_error *err)
{
	struct vc_cgroup target __attribute__((cleanup(vc_cgroup_release))) = {0};
	int r = exec_target(root, id, sub, &target, err);
	if (r != 0)
		return r < 0 ? r : 0;
	return vc_cgroup_join(&target, pid, err);
}

void vc_host_cgroup_remove(const char *root, const char *id)
{
	struct vc_cgroup cg __attribute__((cleanup(vc_cgroup_release))) = {0};
	struct vc_error err = {0};
	if (record_load(root, id, &cg, &err) < 0) {
		if (err.code != ENOENT)
			vc_warn("container %s: host cgroup: %s", id, err.msg);
		return;
	}
	if (vc_cgroup_remove(&cg, REMOVE_TIMEOUT_MS, &err) < 0)
		vc_warn("container %s: %s", id, err.msg);
	else
		vc_debug("container %s: host cgroup %s removed", id, shown(&cg));
}

struct vc_cgroup *vc_host_cgroup_hold(const char *root, const char *id)
{
	struct vc_cgroup *held = calloc(1, sizeof(*held));
	struct vc_error err = {0};
	if (held && record_load(root, id, held, &err) == 0)
		return held;
	if (err.code && err.code != ENOENT)
		vc_warn("container %s: host cgroup: %s", id, err.msg);
	free(held);
	return NULL;
}

void vc_host_cgroup_drop(struct vc_cgroup **held, const char *id, bool remove)
{
	if (!*held)
		return;
	struct vc_cgroup top __attribute__((cleanup(vc_cgroup_release))) = {0};
	struct vc_error err = {0};
	/* The roots take any task (cgroup v2's no-internal-process rule spares
	 * them); the caller is on its way out anyway. */
	if (remove &&
	    (vc_cgroup_roots(*held, &top, &err) < 0 || vc_cgroup_join(&top, getpid(), &err) < 0 ||
	     vc_cgroup_remove(*held, REMOVE_TIMEOUT_MS, &err) < 0))
		vc_warn("container %s: %s", id, err.msg);
	vc_cgroup_release(*held);
	free(*held);
	*held = NULL;
}

/* COUNT of "oom_kill COUNT" in a memory cgroup file; 0 without one. */
static unsigned long long oom_kill_line(const char *path)
{
	_cleanup_free_ char *text = proc_text(path);
	const char *p = text ? strstr(text, "oom_kill ") : NULL;
	/* not "oom_kill_disable 0": the count's line starts a line */
	while (p && p != text && p[-1] != '\n')
		p = strstr(p + 1, "oom_kill ");
	return p ? strtoull(p + strlen("oom_kill "), NULL, 10) : 0;
}

unsigned long long vc_host_cgroup_oom_kills(void)
{
	_cleanup_free_ char *self = proc_text("/proc/self/cgroup");
	char *save = NULL;
	for (char *line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(line, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctrls++;
		_cleanup_free_ char *file = NULL;
		if (!strcmp(ctrls, "memory") || strstr(ctrls, ",memory") ||
		    !strncmp(ctrls, "memory,", 7))
			file = vc_strdup_printf("%s/memory%s/memory.oom_control", cgroup_root(),
						path);
		else if (!*ctrls && !strcmp(line, "0"))
			file = vc_strdup_printf("%s%s/memory.events", cgroup_root(), path);
		unsigned long long n = file ? oom_kill_line(file) : 0;
		if (n)
			return n;
	}
	return 0;
}
