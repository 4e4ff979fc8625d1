/* The container API behind the CLI. Each call is short-lived: state lives in the
 * --root store and in the per-VM monitor, which these calls talk to. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
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

/* ulimit -n below which create refuses to start: a VM's helpers open about 20
 * (measured: 15 fails, 20 runs one container), a pod's monitor one per caller. */
#define VC_MIN_NOFILE 64

int vc_id_validate(const char *id, struct vc_error *err)
{
	return vc_container_id_check(id, err);
}

/* VFIO groups for a new container: with binding on, what is about to change is
 * recorded in ROOT/ID/vfio.json first (so any later call can restore it), then the
 * devices go to vfio-pci, all under one host-wide lock, since two containers may
 * ask for the same group. Then every group must open as QEMU will open it. */
static int vfio_take(const char *root, const char *id, const struct vc_vfio_request *v, bool bind,
		     struct vc_error *err)
{
	if (v->n == 0)
		return 0;
	int r = 0;
	if (bind) {
		if (vc_mkdir_p(VC_ACCEL_CACHE_DIR, 0700, err) < 0)
			return -EIO;
		_cleanup_close_ int lock =
			open(VC_ACCEL_CACHE_DIR "/vfio.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) < 0)
			return vc_error_sys(err, errno, "lock " VC_ACCEL_CACHE_DIR "/vfio.lock");
		_cleanup_free_ char *record = vc_state_path(root, id, "vfio.json");
		if (!record)
			return vc_error_set(err, ENOMEM, "out of memory");
		if ((r = vc_vfio_bindings_save(record, v->bind, v->n, err)) < 0)
			return r;
		for (size_t i = 0; i < v->n; i++)
			if ((r = vc_vfio_bind(v->sysfs_root, &v->bind[i], err)) < 0)
				return r;
	}
	for (size_t i = 0; i < v->n; i++)
		if ((r = vc_vfio_group_open_check(&v->groups[i], err)) < 0)
			return r;
	return 0;
}

static char *abs_root(const char *root, struct vc_error *err)
{
	if (vc_mkdir_p(root, 0700, err) < 0)
		return NULL;
	char *r = realpath(root, NULL);
	if (!r)
		vc_error_sys(err, errno, "--root `%s`", root);
	return r;
}

static int now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	vc_format_rfc3339_nano(buf, len, ts.tv_sec, ts.tv_nsec);
	return 0;
}

static int initial_state(const char *id, const struct vc_oci_spec *spec,
			 const struct vc_sandbox_join *join, struct vc_state *st)
{
	char created[64];
	now_rfc3339(created, sizeof(created));
	memset(st, 0, sizeof(*st));
	st->id = strdup(id);
	st->bundle = strdup(spec->bundle);
	st->rootfs = strdup(spec->rootfs_abs);
	st->created = strdup(created);
	st->owner = strdup("");
	st->sandbox = strdup(join->owner ? join->owner : id);
	st->sandbox_key = strdup(join->key ? join->key : "");
	st->pod_sandbox = join->pod_sandbox;
	st->status = VC_STATUS_CREATING;
	if (!st->id || !st->bundle || !st->rootfs || !st->created || !st->owner || !st->sandbox ||
	    !st->sandbox_key)
		return -ENOMEM;
	/* The spec's annotations, and which sandbox the container lives in. */
	st->annotations = calloc(spec->n_annotations + 1, sizeof(*st->annotations));
	if (!st->annotations)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_annotations; i++) {
		if (!strcmp(spec->annotations[i].key, VC_ANNOT_SANDBOX))
			continue;
		struct vc_oci_annotation *a = &st->annotations[st->n_annotations++];
		a->key = strdup(spec->annotations[i].key);
		a->value = strdup(spec->annotations[i].value);
		if (!a->key || !a->value)
			return -ENOMEM;
	}
	struct vc_oci_annotation *a = &st->annotations[st->n_annotations++];
	a->key = strdup(VC_ANNOT_SANDBOX);
	a->value = strdup(st->sandbox);
	return a->key && a->value ? 0 : -ENOMEM;
}

/* No other live container may hold one of the groups (lib/sandbox.c names it). */
static int vfio_groups_free(const char *root, const char *id, const struct vc_vfio_request *v,
			    struct vc_error *err)
{
	_cleanup_free_ unsigned *g = v->n ? calloc(v->n, sizeof(*g)) : NULL;
	if (v->n && !g)
		return vc_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < v->n; i++)
		g[i] = v->groups[i].id;
	return vc_sandbox_vfio_free(root, id, g, v->n, err);
}

/* A container that joins gets its functions hot-plugged into the running VM's spare
 * root ports (lib/monitor-hotplug.c), each on a port of its own: the guest kernel's
 * drivers take them; the vfio mode needs the placement at boot. */
static int vfio_joinable(const struct vc_plan *plan, const struct vc_sandbox_join *join,
			 const struct vc_vfio_request *v, struct vc_error *err)
{
	if (!join->owner || v->n == 0)
		return 0;
	if (plan->vfio_mode == VC_PLAN_VFIO_VFIO)
		return vc_error_set(err, ENOTSUP,
				    "linux.devices: VFIO group %u: a container that joins the "
				    "running sandbox %s gets its devices through the guest kernel "
				    "only (io.vcrun.vfio-mode=vfio needs them at boot)",
				    v->groups[0].id, join->owner);
	if (plan->n_vfio_ap)
		return vc_error_set(err, ENOTSUP,
				    "linux.devices: VFIO group %u: AP devices cannot join the "
				    "running sandbox %s",
				    v->groups[0].id, join->owner);
	return 0;
}

/* Spec to plan, and which sandbox: everything decided before anything starts. */
/* The sandbox a caller names (vc_create_opts.sandbox): the owner of the one that
 * container lives in, which must run. */
static int named_sandbox(const char *root, const char *name, struct vc_sandbox_join *join,
			 struct vc_error *err)
{
	struct vc_state st;
	int r = vc_id_validate(name, err);
	if (r < 0 || (r = vc_state_read(root, name, &st, err)) < 0)
		return vc_error_wrap(err, "sandbox %s", name);
	bool live = vc_proc_alive(st.monitor_pid, st.monitor_start);
	join->owner = strdup(st.sandbox && *st.sandbox ? st.sandbox : name);
	vc_state_release(&st);
	if (!join->owner)
		return vc_error_set(err, ENOMEM, "out of memory");
	if (!live)
		return vc_error_set(err, ESRCH, "sandbox %s has stopped", join->owner);
	return 0;
}

/* Rootless (common/rootless.h): what needs the host's root is refused here, before
 * the state directory exists, so nothing is left behind. */
static int rootless_refuse(const struct vc_oci_spec *spec, bool vfio_bind, struct vc_error *err)
{
	char why[128];
	if (!vc_rootless(why, sizeof(why)))
		return 0;
	int r = vc_hooks_check_runnable(spec, err);
	if (r < 0)
		return vc_error_wrap(err,
				     "rootless (%s): a hook this user cannot run (one that needs "
				     "root cannot run rootless)",
				     why);
	const struct vc_oci_linux *lx = spec->linux;
	for (size_t i = 0; vfio_bind && lx && i < lx->n_devices; i++)
		if (lx->devices[i].path && !strncmp(lx->devices[i].path, "/dev/vfio/", 10))
			return vc_error_set(err, EPERM,
					    "rootless (%s): linux.devices %s: binding a device to "
					    "vfio-pci needs root (set vfio_bind off in vcrun's "
					    "config, bind it as root and give the user the group)",
					    why, lx->devices[i].path);
	enum vc_netns_mode mode;
	const char *path = NULL;
	r = vc_netns_mode_from_spec(spec, &mode, &path, err);
	if (r == 0 && path && (r = vc_netns_check_owned(path, err)) < 0)
		vc_error_wrap(err, "rootless (%s): linux.namespaces network path", why);
	if (r < 0)
		return r;
	/* The shares and the network namespace pins live in the user's run dir;
	 * without one, create would fail half-way in root's /run/vcrun. */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || !*xdg)
		return vc_error_set(
			err, EPERM,
			"rootless (%s): $XDG_RUNTIME_DIR is not set: a rootless VM "
			"keeps its shares and namespace pins in $XDG_RUNTIME_DIR/vcrun "
			"(set it to a directory the user owns, as a login session does)",
			why);
	return 0;
}

static int create_plan(const char *root, const char *id, const char *named,
		       struct vc_oci_spec *spec, struct vc_sandbox_join *join,
		       struct vc_vfio_request *vreq, struct vc_plan *plan, char *tcg_why,
		       size_t tcg_len, struct vc_error *err)
{
	struct vc_config cfg;
	int r = vc_config_load(&cfg, err);
	if (r < 0)
		return r;
	enum vc_hv_accel accel = VC_ACCEL_TCG;
	tcg_why[0] = '\0';
	r = named ? named_sandbox(root, named, join, err)
		  : vc_sandbox_resolve(root, id, spec, join, err);
	if (r == 0)
		r = rootless_refuse(spec, cfg.vfio_bind, err);
	/* A VM that runs already has its accelerator. */
	if (r == 0 && !join->owner)
		r = vc_config_resolve_accel(&cfg, root, &accel, tcg_why, tcg_len, err);
	if (r == 0)
		r = vc_devices_vfio_prepare(spec, cfg.vfio_bind, vreq, err);
	if (r == 0)
		r = vfio_groups_free(root, id, vreq, err);
	struct vc_plan_where w = {root,		  id,	join->owner ? join->owner : id,
				  vreq->dev_root, NULL, vreq->sysfs_root};
	if (r == 0 && (r = vc_plan_build(&w, spec, &cfg, accel, plan, err)) == 0 &&
	    ((r = vc_plan_set_vfio(plan, &vreq->place, err)) < 0 ||
	     (r = vc_plan_set_devices(plan, spec, err)) < 0 ||
	     (r = vfio_joinable(plan, join, vreq, err)) < 0 ||
	     (r = vc_sandbox_guest_namespaces(plan->guest_spec, join, err)) < 0))
		vc_plan_release(plan);
	/* Room for memory costs every boot about 0.2 s under TCG (QEMU's slots and
	 * maxmem; bench/start.sh): only a VM that expects members pays it, one booted by
	 * a pod's sandbox container or under a CRI sandbox id. */
	if (r == 0 && !join->owner && !join->pod_sandbox && !join->key)
		plan->hotplug_mem_mib = 0;
	vc_config_release(&cfg);
	return r;
}

/* A container that joins: the owner's monitor must still run, and its pid is what
 * says whether this container lives. Holds the owner's lock while it joins, so
 * that the sandbox cannot be deleted under it. */
static int join_sandbox(const char *root, const struct vc_sandbox_join *join, struct vc_state *st,
			int *owner_lock, struct vc_error *err)
{
	*owner_lock = vc_state_lock(root, join->owner, err);
	if (*owner_lock < 0)
		return vc_error_wrap(err, "sandbox %s", join->owner);
	struct vc_state ost;
	int r = vc_state_read(root, join->owner, &ost, NULL);
	bool live = r == 0 && vc_proc_alive(ost.monitor_pid, ost.monitor_start);
	if (live) {
		st->monitor_pid = ost.monitor_pid;
		st->monitor_start = ost.monitor_start;
		st->hv_pid = ost.hv_pid;
	}
	if (r == 0)
		vc_state_release(&ost);
	if (!live)
		return vc_error_set(err, ESRCH, "sandbox %s has stopped", join->owner);
	return 0;
}

struct vc_container_config {
	char *root, *id;
	struct vc_create_opts opts;
	bool foreground_tty;
	struct vc_oci_spec *spec;
	struct vc_plan plan;
	bool have_plan;
	struct vc_vfio_request vreq;
	struct vc_sandbox_join join;
	char tcg_why[512];
};

void vc_container_config_free(struct vc_container_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->have_plan)
		vc_plan_release(&cfg->plan);
	vc_devices_vfio_release(&cfg->vreq);
	vc_sandbox_join_release(&cfg->join);
	vc_oci_spec_free(cfg->spec);
	free(cfg->root);
	free(cfg->id);
	free(cfg);
}

const char *vc_container_config_sandbox(const struct vc_container_config *cfg)
{
	return cfg->join.owner;
}

const char *vc_container_config_id(const struct vc_container_config *cfg)
{
	return cfg->id;
}

static void config_freep(struct vc_container_config **cfg)
{
	vc_container_config_free(*cfg);
}

int vc_container_config_load(const struct vc_ctx *ctx, const char *id,
			     const struct vc_create_opts *opts, struct vc_container_config **out,
			     struct vc_error *err)
{
	*out = NULL;
	int r = vc_id_validate(id, err);
	if (r < 0)
		return r;
	/* Said before anything is made: without root, create would fail halfway (the
	 * namespace pins, the share's mounts, cgroups) and could not clean up. */
	if (geteuid() != 0)
		return vc_error_set(
			err, EPERM,
			"needs root: a container's VM needs host mounts, network "
			"namespaces and cgroups (running as uid %u; as an ordinary "
			"user, run it inside a user namespace, as rootless podman does)",
			(unsigned)geteuid());
	__attribute__((cleanup(config_freep))) struct vc_container_config *cfg =
		calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->id = strdup(id)))
		return vc_error_set(err, ENOMEM, "out of memory");
	cfg->opts = *opts;
	if (!(cfg->root = abs_root(ctx->root, err)))
		return -EIO;
	if ((r = vc_oci_spec_load(opts->bundle ? opts->bundle : ".", &cfg->spec, err)) < 0 ||
	    (r = vc_devices_apply_cdi(&cfg->spec, err)) < 0)
		return r;

	/* runc's rules and words (checkTerminal): without a console socket only a run in
	 * the foreground has a terminal to give, the caller's own; a console socket is
	 * for a detached process with a terminal. */
	bool foreground = opts->run && !opts->detach;
	bool terminal = cfg->spec->process->terminal;
	cfg->foreground_tty = terminal && !opts->console_socket && foreground;
	if (terminal && !opts->console_socket && !foreground)
		return vc_error_set(
			err, EINVAL,
			"cannot allocate tty if vcrun will detach without setting console "
			"socket (process.terminal is true, and no --console-socket)");
	if (opts->console_socket && (foreground || !terminal))
		return vc_error_set(
			err, EINVAL,
			"cannot use console socket if vcrun will not detach or allocate "
			"tty (--console-socket with %s)",
			terminal ? "run in the foreground" : "process.terminal false");
	if (opts->preserve_fds > 0)
		return vc_error_set(err, ENOTSUP,
				    "--preserve-fds %d: file descriptors cannot be passed into the "
				    "container's VM",
				    opts->preserve_fds);
	/* The stand-in, the monitor and QEMU inherit the caller's limit. Below this
	 * floor one of them would run out half-way, each in its own words (a QEMU
	 * that cannot make its event loop, a 9p server that cannot open the share). */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < VC_MIN_NOFILE)
		return vc_error_set(err, EMFILE,
				    "RLIMIT_NOFILE (ulimit -n) is %llu: a container's stand-in, "
				    "monitor and QEMU need at least %d open files, or they fail "
				    "with EMFILE (Too many open files)",
				    (unsigned long long)nofile.rlim_cur, VC_MIN_NOFILE);

	_cleanup_free_ char *dir = vc_state_dir(cfg->root, id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	/* Early and cheap; the mkdir at create is what settles a race. */
	if (access(dir, F_OK) == 0)
		return vc_error_set(err, EEXIST, "container with id exists: %s", id);
	if ((r = create_plan(cfg->root, id, opts->sandbox, cfg->spec, &cfg->join, &cfg->vreq,
			     &cfg->plan, cfg->tcg_why, sizeof(cfg->tcg_why), err)) < 0)
		return r;
	cfg->have_plan = true;
	*out = steal_ptr(cfg);
	return 0;
}

/* Everything up to a running monitor and attached stand-in; on failure nothing is
 * left behind. *standin gets the stand-in's pid. */
int vc_container_create_cfg(const struct vc_ctx *ctx, struct vc_container_config *cfg,
			    pid_t *standin, struct vc_error *err)
{
	if (!cfg->have_plan)
		return vc_error_set(err, EINVAL, "container %s: its config was used already",
				    cfg->id);
	const char *root = cfg->root, *id = cfg->id;
	const struct vc_create_opts *opts = &cfg->opts;
	struct vc_oci_spec *spec = cfg->spec;
	bool foreground_tty = cfg->foreground_tty;
	int r;
	/* The plan is this call's from here on: a config creates one container. */
	struct vc_plan plan = cfg->plan;
	cfg->have_plan = false;
	const char *owner = cfg->join.owner ? cfg->join.owner : id;
	_cleanup_free_ char *dir = vc_state_dir(root, id);
	if (!dir) {
		vc_plan_release(&plan);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	if (mkdir(dir, 0700) < 0) {
		vc_plan_release(&plan);
		if (errno == EEXIST)
			return vc_error_set(err, EEXIST, "container with id exists: %s", id);
		return vc_error_sys(err, errno, "mkdir `%s`", dir);
	}

	/* From here on, failure tears down the state directory. */
	struct vc_state st;
	_cleanup_free_ char *plan_text = NULL;
	_cleanup_free_ char *plan_path = vc_state_path(root, id, "plan.json");
	_cleanup_free_ char *log_path = vc_state_path(root, id, "monitor.log");
	_cleanup_free_ char *share = vc_sandbox_share_dir(root, owner);
	_cleanup_free_ char *pin = vc_sandbox_host_name(root, id);
	_cleanup_strv_ char **margv = vc_helper_argv(ctx, "__monitor", root, id, NULL, NULL);
	_cleanup_strv_ char **sargv = vc_helper_argv(ctx, "__standin", root, id, NULL, NULL);
	if (sargv && vc_standin_ns_args(spec, plan.netns_path, &sargv) < 0)
		vc_strv_freep(&sargv);
	size_t plan_len = 0;
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int owner_lock = -1;
	_cleanup_close_ int standin_ctl = -1;
	int mlog = -1;
	r = initial_state(id, spec, &cfg->join, &st);
	if (r < 0 || !plan_path || !log_path || !margv || !sargv || !share || !pin) {
		r = vc_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if ((lock = vc_state_lock(root, id, err)) < 0 ||
	    (cfg->join.owner && (r = join_sandbox(root, &cfg->join, &st, &owner_lock, err)) < 0) ||
	    (r = vc_plan_to_json(&plan, &plan_text, &plan_len, err)) < 0 ||
	    (r = vc_write_file_atomic(plan_path, plan_text, plan_len, 0600, err)) < 0 ||
	    (r = vc_hooks_save_spec(root, id, spec, err)) < 0 ||
	    (r = vc_state_write(root, &st, err)) < 0) {
		r = r < 0 ? r : lock;
		goto fail;
	}

	vc_fault_point("create.state");
	if ((r = vfio_take(root, id, &cfg->vreq, cfg->vreq.bind != NULL, err)) < 0)
		goto fail;

	/* docker asks for a new network namespace and fills it from its prestart
	 * hook; it must outlive any one process (QEMU joins it later), so it is pinned
	 * (plan.json, written above, tells teardown to unpin it). */
	if (plan.netns_owned) {
		_cleanup_free_ char *made = NULL;
		if ((r = vc_netns_create(NULL, pin, &made, err)) < 0)
			goto fail;
		vc_fault_point("create.netns");
	}
	/* A block-backed rootfs leaves the host before anything can open or copy its
	 * mount: the stand-in's new mount namespace would keep it mounted there, and
	 * the VM opens the disk. plan.json, written above, tells teardown what to
	 * mount back. */
	if (plan.blk_rootfs) {
		if ((r = vc_blkroot_unmount(plan.blk_rootfs, err)) < 0)
			goto fail;
		vc_info("container %s: unmounted `%s` (%s on `%s`) from the host: the VM has "
			"it as a disk until delete",
			id, plan.blk_rootfs->path, plan.blk_rootfs->fstype,
			plan.blk_rootfs->source);
	}
	/* The rootfs and bind mounts reach the guest through the sandbox's share. */
	if ((!cfg->join.owner && (r = vc_share_prepare(share, err)) < 0) ||
	    (r = vc_share_bind(share, &plan, err)) < 0)
		goto fail;
	vc_fault_point("create.share");

	/* The stand-in first: its pid is the container's for the hooks, and it sits in
	 * the container's namespaces, where docker's libnetwork-setkey looks. */
	r = vc_standin_spawn_held(sargv, opts->console_socket, spec->process, foreground_tty,
				  opts->stdio, standin, &standin_ctl, err);
	if (r < 0)
		goto fail;
	st.standin_pid = *standin;
	vc_fault_point("create.standin");
	if ((r = vc_host_cgroup_setup(ctx, root, id, spec, &plan, *standin, err)) < 0)
		goto fail_standin;
	vc_fault_point("create.cgroup");
	static const enum vc_hook_stage before_vm[] = {VC_HOOK_PRESTART, VC_HOOK_CREATE_RUNTIME};
	for (size_t i = 0; r == 0 && i < VC_ARRAY_SIZE(before_vm); i++)
		r = vc_hooks_run(spec, before_vm[i], &st, "creating", err);
	if (r < 0)
		goto fail_standin;

	if (cfg->join.owner) {
		/* The running VM creates it; its monitor serves it from now on. */
		r = vc_monitor_call(root, id, &(struct vc_mon_request){.method = VC_MON_ADD}, NULL,
				    err);
		if (r < 0)
			goto fail_standin;
	} else {
		/* Then the VM, on the network the hooks built. */
		mlog = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (mlog < 0) {
			r = vc_error_sys(err, errno, "open `%s`", log_path);
			goto fail_standin;
		}
		/* The monitor gets no stdio of the caller's: it outlives this call, and a
		 * copy of the caller's pipes would keep them from ever seeing EOF. */
		const int mstdio[3] = {-1, mlog, mlog};
		pid_t mpid = 0;
		int sync[2];
		if (pipe2(sync, O_CLOEXEC) < 0) {
			r = vc_error_sys(err, errno, "pipe");
			goto fail_standin;
		}
		/* It joins the container's cgroup itself before it starts QEMU
		 * (monitor-boot.c): one move instead of ours there and back. */
		r = vc_spawn_self(margv, mstdio, sync[1], true, &mpid, err);
		close(sync[1]);
		close(mlog);
		mlog = -1;
		if (r == 0) {
			/* The monitor records itself in state.json; this copy is for our own
			 * clean-up should it fail before it got that far. */
			st.monitor_pid = mpid;
			st.monitor_start = vc_proc_starttime(mpid);
			vc_fault_point("create.monitor");
			r = vc_sync_read(sync[0], "the sandbox monitor", err);
		}
		close(sync[0]);
	}
	if (r == 0)
		r = vc_standin_release(standin_ctl, err);
	/* The container exists in the guest: the last hook of create. */
	if (r == 0)
		r = vc_hooks_run(spec, VC_HOOK_CREATE_CONTAINER, &st, "created", err);
	if (r == 0)
		vc_fault_point("create.created");
	if (r == 0 && opts->pid_file)
		r = vc_write_pid_file(opts->pid_file, *standin, err);
	if (r < 0)
		goto fail_standin;
	vc_state_release(&st);
	vc_plan_release(&plan);
	/* Said only once the container exists, so that a failed call prints exactly
	 * one line: its error. */
	if (cfg->tcg_why[0])
		vc_warn("%s: using TCG emulation instead, which is much slower", cfg->tcg_why);
	return 0;

fail_standin:
	kill(*standin, SIGKILL);
	waitpid(*standin, NULL, 0);
fail:
	if (mlog >= 0)
		close(mlog);
	{
		struct vc_state cur;
		struct vc_error terr = {0};
		bool have = vc_state_read(root, id, &cur, NULL) == 0;
		if (have && cur.monitor_pid == 0) {
			cur.monitor_pid = st.monitor_pid;
			cur.monitor_start = st.monitor_start;
		}
		if (vc_container_teardown(root, id, have ? &cur : &st, &terr) < 0)
			vc_warn("clean up after a failed create: %s", terr.msg);
		if (have)
			vc_state_release(&cur);
	}
	vc_state_release(&st);
	vc_plan_release(&plan);
	return r;
}

int vc_container_start(const struct vc_ctx *ctx, const char *id, struct vc_error *err)
{
	enum vc_status s;
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0)
		return r;
	if (s == VC_STATUS_STOPPED)
		return vc_error_set(err, EINVAL, "cannot start a container that has stopped");
	if (s != VC_STATUS_CREATED)
		return vc_error_set(err, EINVAL, "cannot start an already running container");
	_cleanup_close_ int lock = vc_state_lock(ctx->root, id, err);
	if (lock < 0)
		return lock;
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	struct vc_state st;
	if ((r = vc_hooks_load_spec(ctx->root, id, &spec, err)) < 0 ||
	    (r = vc_state_read(ctx->root, id, &st, err)) < 0)
		return r;
	/* A failed startContainer hook stops the container: the runtime-spec's rule. */
	r = vc_hooks_run(spec, VC_HOOK_START_CONTAINER, &st, "created", err);
	vc_fault_point("start.hooks");
	if (r < 0) {
		struct vc_error kerr = {0};
		struct vc_mon_request kill = {.method = VC_MON_KILL, .signal = SIGKILL};
		vc_monitor_call(ctx->root, id, &kill, NULL, &kerr);
	} else if ((r = vc_monitor_call(ctx->root, id,
					&(struct vc_mon_request){.method = VC_MON_START}, NULL,
					err)) == 0) {
		vc_fault_point("start.started");
		struct vc_error herr = {0};
		if (vc_hooks_run(spec, VC_HOOK_POSTSTART, &st, "running", &herr) < 0)
			vc_warn("%s", herr.msg);
	}
	vc_state_release(&st);
	return r;
}

int vc_container_kill(const struct vc_ctx *ctx, const char *id, int sig, bool all,
		      struct vc_error *err)
{
	enum vc_status s;
	int r = vc_state_live(ctx->root, id, &s, err);
	if (r < 0)
		return r;
	/* runc: --all on a stopped container signals no one, and succeeds */
	if (s == VC_STATUS_STOPPED)
		return all ? 0 : vc_error_set(err, ESRCH, "container not running");
	struct vc_mon_request kill = {.method = VC_MON_KILL, .signal = (uint32_t)sig, .all = all};
	r = vc_monitor_call(ctx->root, id, &kill, NULL, err);
	return all && r == -ESRCH ? 0 : r;
}

int vc_container_delete(const struct vc_ctx *ctx, const char *id, bool force, struct vc_error *err)
{
	int r = vc_id_validate(id, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = vc_state_dir(ctx->root, id);
	if (!dir)
		return vc_error_set(err, ENOMEM, "out of memory");
	struct stat sb;
	if (lstat(dir, &sb) < 0) {
		if (errno == ENOENT)
			return force ? 0 : vc_error_set(err, ENOENT, "container does not exist");
		return vc_error_sys(err, errno, "stat `%s`", dir);
	}
	/* Waits for a create (or start) under way to finish first; removing the state
	 * directory removes the lock file too, which is fine for an flock. */
	_cleanup_close_ int lock = vc_state_lock(ctx->root, id, err);
	if (lock < 0)
		return lock == -ENOENT && force ? 0 : lock;
	struct vc_state st;
	struct vc_error serr = {0};
	bool have = vc_state_read(ctx->root, id, &st, &serr) == 0;
	if (!have && !force)
		return vc_error_set(err, serr.code ? serr.code : EIO, "%s", serr.msg);
	if (have) {
		enum vc_status s = vc_state_live_status(&st);
		if (!force && (s == VC_STATUS_RUNNING || s == VC_STATUS_PAUSED)) {
			vc_state_release(&st);
			return vc_error_set(err, EBUSY,
					    "cannot delete container %s that is not stopped: %s",
					    id, vc_status_name(s));
		}
	}
	/* poststop runs once everything is gone, from the spec saved at create. */
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	struct vc_error herr = {0};
	if (have && vc_hooks_load_spec(ctx->root, id, &spec, &herr) < 0)
		vc_warn("poststop hooks: %s", herr.msg);
	vc_fault_point("delete.locked");
	r = vc_container_teardown(ctx->root, id, have ? &st : NULL, err);
	if (r == 0 && have && vc_hooks_run(spec, VC_HOOK_POSTSTOP, &st, "stopped", &herr) < 0)
		vc_warn("%s", herr.msg);
	if (have)
		vc_state_release(&st);
	return r;
}

int vc_container_state_json(const struct vc_ctx *ctx, const char *id, char **json,
			    struct vc_error *err)
{
	struct vc_state st;
	int r = vc_id_validate(id, err);
	if (r < 0 || (r = vc_state_read(ctx->root, id, &st, err)) < 0)
		return r;
	enum vc_status s = vc_state_live_status(&st);
	struct vc_oci_state os = {
		.id = st.id,
		.pid = s == VC_STATUS_STOPPED ? 0 : st.standin_pid,
		.status = vc_status_name(s),
		.bundle = st.bundle,
		.rootfs = st.rootfs,
		.created = st.created,
		.owner = st.owner,
		.annotations = st.annotations,
		.n_annotations = st.n_annotations,
	};
	r = vc_oci_state_to_json(&os, true, json, err);
	vc_state_release(&st);
	return r;
}

int vc_container_wait(pid_t pid)
{
	return vc_wait_standin(pid);
}

void vc_container_info_free(struct vc_container_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].id);
		free(list[i].status);
		free(list[i].bundle);
		free(list[i].created);
		free(list[i].owner);
	}
	free(list);
}

int vc_container_list(const struct vc_ctx *ctx, struct vc_container_info **out, size_t *n,
		      struct vc_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_closedir_ DIR *d = opendir(ctx->root);
	if (!d)
		return errno == ENOENT ? 0
				       : vc_error_sys(err, errno, "open --root `%s`", ctx->root);
	struct vc_container_info *list = NULL;
	size_t len = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || vc_id_validate(de->d_name, NULL) < 0)
			continue;
		struct vc_state st;
		if (vc_state_read(ctx->root, de->d_name, &st, NULL) < 0)
			continue;
		struct vc_container_info *nl = realloc(list, (len + 1) * sizeof(*nl));
		if (!nl) {
			vc_state_release(&st);
			vc_container_info_free(list, len);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		list = nl;
		enum vc_status s = vc_state_live_status(&st);
		list[len] = (struct vc_container_info){
			.id = steal_ptr(st.id),
			.status = strdup(vc_status_name(s)),
			.bundle = steal_ptr(st.bundle),
			.created = steal_ptr(st.created),
			.owner = steal_ptr(st.owner),
			.pid = s == VC_STATUS_STOPPED ? 0 : st.standin_pid,
		};
		len++;
		vc_state_release(&st);
	}
	*out = list;
	*n = len;
	return 0;
}
