/* A container's end on the host, from any half-built state: what delete and a
 * failed create both undo (the monitor asked to destroy it, the processes by pid
 * otherwise, VFIO bindings, taps and pins, the share's binds, cgroups, the state
 * dir), and a sandbox's own things with its last container. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/config.h"
#include "lib/container.h"
#include "lib/devices.h"
#include "lib/fault.h"
#include "lib/hooks.h"
#include "lib/hostcgroup.h"
#include "lib/log.h"
#include "lib/monitor.h"
#include "lib/plan.h"
#include "lib/sandbox.h"
#include "lib/spawn.h"
#include "lib/standin.h"
#include "lib/state.h"
#include "lib/vcrun.h"
#include "netns/netns.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "vfio/vfio.h"

/* Puts devices back on their host drivers; only once QEMU is gone, since unbinding
 * from vfio-pci while QEMU holds the group blocks in the kernel. */
static void vfio_give_back(const char *root, const char *id)
{
	_cleanup_free_ char *record = vc_state_path(root, id, "vfio.json");
	struct vc_vfio_binding *b = NULL;
	size_t n = 0;
	struct vc_error err = {0};
	if (!record || vc_vfio_bindings_load(record, &b, &n, &err) < 0) {
		if (err.msg[0])
			vc_warn("container %s: VFIO record: %s", id, err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (vc_vfio_restore(vc_devices_sysfs_root(), &b[i], &err) < 0)
			vc_warn("container %s: restore VFIO group %u: %s", id, b[i].group, err.msg);
		else
			vc_debug("container %s: VFIO group %u given back to its host drivers", id,
				 b[i].group);
	}
	vc_vfio_bindings_free(b, n);
}

/* What create did to the container's network namespace: vcrun's taps and
 * filters go (the engine's interfaces stay, as it left them), and so does the
 * namespace when vcrun made it. Only once QEMU is gone, which holds the taps. */
/* The container's plan.json; false (warned about, for what) when it cannot be
 * read, and quietly when there is none. */
static bool plan_load(const char *root, const char *id, const char *what, struct vc_plan *plan)
{
	struct vc_error err = {0};
	if (vc_plan_load(root, id, plan, &err) < 0) {
		if (err.code && err.code != ENOENT)
			vc_warn("container %s: %s: %s", id, what, err.msg);
		return false;
	}
	return true;
}

static void netns_give_back(const char *root, const char *id)
{
	struct vc_plan plan;
	struct vc_error err = {0};
	if (!plan_load(root, id, "network clean-up", &plan))
		return;
	_cleanup_free_ char *bridged = vc_state_path(root, id, VC_NETNS_BRIDGED_FILE);
	if (plan.netns_path && bridged && access(bridged, F_OK) == 0) {
		if (vc_netns_teardown(plan.netns_path, &err) < 0)
			vc_warn("container %s: %s", id, err.msg);
	}
	if (plan.netns_path && plan.netns_owned && vc_netns_remove(plan.netns_path, &err) < 0)
		vc_warn("container %s: %s", id, err.msg);
	vc_plan_release(&plan);
}

/* A block-backed rootfs goes back on the host as create found it, once the VM let
 * go of its disk (vm_let_go: the VM is gone, or its guest removed the container);
 * a rootfs mounted already (create failed before it unmounted, or a second
 * teardown) is left as it is. */
static void blk_rootfs_give_back(const char *root, const char *id, bool vm_let_go)
{
	struct vc_plan plan;
	if (!plan_load(root, id, "block rootfs", &plan))
		return;
	const struct vc_blkroot *b = plan.blk_rootfs;
	struct vc_error err = {0};
	int r = 0;
	if (b && !vm_let_go)
		vc_warn("container %s: rootfs `%s` left unmounted: the sandbox's VM may still "
			"use `%s` (mount it back once the VM is gone: mount -t %s %s %s)",
			id, b->path, b->device, b->fstype, b->source, b->path);
	else if (b && (r = vc_blkroot_remount(b, NULL, &err)) < 0)
		vc_warn("container %s: rootfs: %s", id, err.msg);
	else if (b && r == 1)
		vc_info("container %s: `%s` (%s) mounted back at `%s`", id, b->source, b->fstype,
			b->path);
	vc_plan_release(&plan);
}

/* Kills a QEMU left by the sandbox of owner: only one that runs in its state dir. */
static void kill_stray_qemu(const char *root, const char *owner, pid_t hv)
{
	if (hv <= 0 || !vc_proc_alive(hv, 0))
		return;
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)hv);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	_cleanup_free_ char *dir = vc_state_dir(root, owner);
	if (n > 0 && dir) {
		target[n] = '\0';
		if (!strcmp(target, dir)) {
			kill(hv, SIGKILL);
			vc_wait_exit(hv, false, 2000, NULL);
		}
	}
}

/* The monitor of a create that died between spawning it and its first state
 * write (the monitor records itself only once QEMU runs): found by the argv that
 * vc_helper_argv gave it, "vcrun __monitor --root ROOT --id ID ...". */
static pid_t unrecorded_monitor(const char *root, const char *id)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end = NULL;
		long pid = strtol(de->d_name, &end, 10);
		if (pid > 1 && !*end && pid != getpid() &&
		    vc_helper_is((pid_t)pid, "__monitor", root, id))
			return (pid_t)pid;
	}
	return 0;
}

/* What a sandbox holds on the host once its VM is gone: VFIO bindings, taps and
 * the namespace pin, the share, and the owner's state dir. */
static int sandbox_give_back(const char *root, const char *owner, struct vc_error *err)
{
	vfio_give_back(root, owner);
	netns_give_back(root, owner);
	vc_host_cgroup_remove(root, owner);
	_cleanup_free_ char *share = vc_sandbox_share_dir(root, owner);
	_cleanup_free_ char *dir = vc_state_dir(root, owner);
	if (!share || !dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* Never remove a state dir below which a rootfs may still be bound. */
	int r = vc_share_release(share, err);
	return r < 0 ? r : vc_rm_rf(dir, err);
}

/* Stops everything a container has on the host, from any half-built state: the
 * container leaves its sandbox through the monitor if it answers (the sandbox, and
 * the VM, go with its last container or with the pod's sandbox container), else
 * the processes go by pid; then its binds and its state dir. A sandbox's owner
 * that leaves while others still run in its VM keeps its dir (monitor, QEMU, plan)
 * without a state.json; the last one out removes it. */
int vc_container_teardown(const char *root, const char *id, const struct vc_state *st,
			  struct vc_error *err)
{
	const char *owner = st && st->sandbox && *st->sandbox ? st->sandbox : id;
	bool is_owner = !strcmp(owner, id);
	bool sandbox_gone = true, removed_ok = false;
	if (st && vc_proc_alive(st->monitor_pid, st->monitor_start)) {
		struct vc_error merr = {0};
		_cleanup_json_ struct vc_json *res = NULL;
		struct vc_mon_removed removed;
		if (vc_monitor_call(root, id, &(struct vc_mon_request){.method = VC_MON_DESTROY},
				    &res, &merr) < 0) {
			vc_debug("destroy through the monitor: %s", merr.msg);
			/* A member the monitor does not know is no reason to stop the VM;
			 * an owner whose monitor fails is stopped by force. Nor does the VM
			 * hold anything of it: a failed add is undone, its disks unplugged. */
			sandbox_gone = is_owner;
			removed_ok = merr.code == ENOENT;
		} else if (vc_mon_removed_from_json(res, &removed, NULL) == 0) {
			sandbox_gone = removed.sandbox;
			removed_ok = true;
		}
		if (sandbox_gone && !vc_wait_exit(st->monitor_pid, false, 10000, NULL)) {
			vc_warn("container %s: monitor %d did not exit: killing it", id,
				(int)st->monitor_pid);
			kill(st->monitor_pid, SIGKILL);
			vc_wait_exit(st->monitor_pid, false, 2000, NULL);
		}
	}
	/* Its QEMU is bound to it (hv_spawn_opts.bound) and goes with it. */
	pid_t unrecorded = st && st->monitor_pid == 0 ? unrecorded_monitor(root, id) : 0;
	if (unrecorded > 0) {
		vc_warn("container %s: its create ended before the monitor %d recorded itself: "
			"killing it",
			id, (int)unrecorded);
		kill(unrecorded, SIGKILL);
		vc_wait_exit(unrecorded, false, 2000, NULL);
	}
	vc_fault_point("delete.monitor");
	if (sandbox_gone && st)
		kill_stray_qemu(root, owner, st->hv_pid);
	blk_rootfs_give_back(root, id, sandbox_gone || removed_ok);
	_cleanup_free_ char *share = vc_sandbox_share_dir(root, owner);
	_cleanup_free_ char *dir = vc_state_dir(root, id);
	if (!share || !dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	int r = vc_share_unbind(share, id, err);
	if (r < 0)
		return r;
	vc_fault_point("delete.share");
	if (is_owner && !sandbox_gone) {
		/* Gone from list and state; the sandbox lives on in this dir. */
		_cleanup_free_ char *state = vc_state_path(root, id, "state.json");
		if (state && unlink(state) < 0 && errno != ENOENT)
			return vc_error_sys(err, errno, "remove `%s`", state);
		return 0;
	}
	if (is_owner)
		return sandbox_give_back(root, id, err);
	/* The monitor unplugged its VFIO devices in destroy (or moved the record to
	 * the owner's when the guest would not let go). */
	vfio_give_back(root, id);
	netns_give_back(root, id);
	vc_host_cgroup_remove(root, id);
	if ((r = vc_rm_rf(dir, err)) < 0)
		return r;
	/* The last container out of a sandbox whose owner left before it. */
	_cleanup_free_ char *odir = vc_state_dir(root, owner);
	_cleanup_free_ char *ostate = vc_state_path(root, owner, "state.json");
	if (sandbox_gone && odir && ostate && access(odir, F_OK) == 0 && access(ostate, F_OK) < 0 &&
	    errno == ENOENT)
		return sandbox_give_back(root, owner, err);
	return 0;
}
