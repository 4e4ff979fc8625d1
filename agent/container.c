/* Container lifecycle in the guest: CreateContainer (storages, cgroup, the init
 * child blocked before execve), StartContainer (release it), RemoveContainer,
 * the cgroup-backed requests, and the sandbox-wide CreateSandbox /
 * DestroySandbox. A failed create leaves nothing behind. */
#include "agent-proto/agent-msg.h"
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define START_TIMEOUT_MS 10000

struct agent_container *agent_container_find(struct agent *a, const char *id)
{
	for (struct agent_container *c = a->containers; c; c = c->next) {
		if (!strcmp(c->id, id))
			return c;
	}
	return NULL;
}

/* Which namespaces the init gets; the network is the VM's own. A path of the form
 * /run/vcrun/container/ID (the host's word for "the namespace of container ID of this
 * sandbox", a pod's) joins that container's: *ns_fds gets it open. Any other path
 * names a namespace of the host, which means nothing here: the container gets a
 * namespace of its own, and the host's stand-in holds the one the path names. */
static int plan_namespaces(struct agent *a, const struct vc_oci_spec *spec, bool *new_ns,
			   unsigned long *flags, int *ns_fds, struct vc_error *err)
{
	static const unsigned long clone_flag[VC_NS__COUNT] = {
		[VC_NS_PID] = CLONE_NEWPID,
		[VC_NS_MOUNT] = CLONE_NEWNS,
		[VC_NS_IPC] = CLONE_NEWIPC,
		[VC_NS_UTS] = CLONE_NEWUTS, /* cgroup: the child makes it, once in its cgroup */
		/* in the same clone: the kernel makes it first and it owns the others */
		[VC_NS_USER] = CLONE_NEWUSER,
	};
	size_t joined = SIZE_MAX;
	const struct vc_oci_linux *l = spec->linux;
	for (size_t i = 0; l && i < l->n_namespaces; i++) {
		const struct vc_oci_namespace *ns = &l->namespaces[i];
		if (ns->type == VC_NS_NETWORK)
			continue;
		if (ns->type == VC_NS_USER && ns->path)
			return vc_error_set(err, ENOTSUP,
					    "linux.namespaces[%zu]: joining a user namespace "
					    "(`%s`) is not supported in the guest",
					    i, ns->path);
		if (ns->type == VC_NS_TIME)
			return vc_error_set(err, ENOTSUP,
					    "linux.namespaces[%zu]: time namespaces are not "
					    "supported in the guest yet",
					    i);
		size_t plen = strlen(VC_NS_CONTAINER_PREFIX);
		if (ns->path && !strncmp(ns->path, VC_NS_CONTAINER_PREFIX, plen) &&
		    ns->type != VC_NS_MOUNT) {
			struct agent_container *o = agent_container_find(a, ns->path + plen);
			if (!o || !o->init || o->init->exited)
				return vc_error_set(err, ESRCH,
						    "linux.namespaces[%zu]: the %s namespace of "
						    "container %s: %s",
						    i, vc_oci_ns_name(ns->type), ns->path + plen,
						    o ? "its process has exited"
						      : "no such container");
			int r = agent_open_ns(o->init->pid, ns->type, &ns_fds[ns->type], err);
			if (r < 0)
				return vc_error_wrap(err, "linux.namespaces[%zu]", i);
			/* not the agent's: exec joins it like one of its own */
			new_ns[ns->type] = true;
			joined = i;
			continue;
		}
		new_ns[ns->type] = true;
		*flags |= clone_flag[ns->type];
	}
	/* pivot_root must never touch the agent's own mount namespace */
	new_ns[VC_NS_MOUNT] = true;
	*flags |= CLONE_NEWNS;
	/* another container's namespace belongs to the guest's user namespace, which a
	 * process of a new one has no rights over */
	if (new_ns[VC_NS_USER] && joined != SIZE_MAX)
		return vc_error_set(err, ENOTSUP,
				    "linux.namespaces[%zu]: the %s namespace of another "
				    "container cannot be joined from a new user namespace",
				    joined, vc_oci_ns_name(l->namespaces[joined].type));
	int r = agent_userns_check(spec, new_ns[VC_NS_USER], err);
	if (r < 0)
		return r;
	if ((spec->hostname || spec->domainname) && !new_ns[VC_NS_UTS])
		return vc_error_set(
			err, EINVAL,
			"hostname: cannot set the hostname without a new uts namespace");
	return 0;
}

static void close_ns_fds(int *fds)
{
	for (int i = 0; i < VC_NS__COUNT; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* After the storages are mounted: the rootfs is usually one of them. */
static int check_rootfs(const char *method, const struct vc_oci_spec *spec, struct vc_error *err)
{
	struct stat st;
	if (stat(spec->root->path, &st) < 0)
		return vc_error_sys(err, errno, "%s: params.spec.root.path: %s", method,
				    spec->root->path);
	if (!S_ISDIR(st.st_mode))
		return vc_error_set(err, ENOTDIR,
				    "%s: params.spec.root.path: %s is not a directory", method,
				    spec->root->path);
	return 0;
}

static int check_spec(const struct vc_oci_spec *spec, struct vc_error *err)
{
	if (!spec->process)
		return vc_error_set(err, EINVAL, "process: required");
	if (!spec->root || !spec->root->path || spec->root->path[0] != '/')
		return vc_error_set(err, EINVAL, "root.path: must be an absolute guest path");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const char *d = spec->mounts[i].destination;
		if (!d || d[0] != '/')
			return vc_error_set(err, EINVAL,
					    "mounts[%zu].destination: must be absolute", i);
	}
	if (!spec->process->cwd || spec->process->cwd[0] != '/')
		return vc_error_set(err, EINVAL, "process.cwd: must be absolute");
	return 0;
}

static void container_free(struct agent_container *c)
{
	if (c->devprog_fd >= 0)
		close(c->devprog_fd);
	vc_oci_spec_free(c->spec);
	free(c->cgroup);
	vc_strv_freep(&c->storages);
	free(c->id);
	free(c);
}

static void container_link(struct agent *a, struct agent_container *c)
{
	c->next = a->containers;
	a->containers = c;
}

static void container_unlink(struct agent *a, struct agent_container *c)
{
	for (struct agent_container **pp = &a->containers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* "METHOD: params.WHEREmessage" for a message that names a field below params. */
static int in_params(struct vc_error *err, const char *method, const char *where)
{
	char msg[VC_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return vc_error_set(err, err->code ? err->code : EINVAL, "%s: params.%s%s", method, where,
			    msg);
}

/* overlay is an on-demand module set (guest/modules.list): loaded for the first
 * container that mounts one. */
static int load_overlay(const struct vc_oci_spec *spec, struct vc_error *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].type && !strcmp(spec->mounts[i].type, "overlay"))
			return agent_modules_load(AGENT_MODULES_DIR, "overlay.load-order", true,
						  err);
	return 0;
}

int agent_h_create_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err)
{
	unsigned long flags = 0;
	int ns_fds[VC_NS__COUNT];
	for (int i = 0; i < VC_NS__COUNT; i++)
		ns_fds[i] = -1;
	struct agent_container *c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(r->rq->u.create_container.container_id))) {
		free(c);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	c->devprog_fd = -1;
	int rc = check_spec(r->spec, err);
	if (rc == 0)
		rc = plan_namespaces(a, r->spec, c->new_ns, &flags, ns_fds, err);
	if (rc < 0) {
		close_ns_fds(ns_fds);
		container_free(c);
		return in_params(err, r->method, "spec.");
	}
	rc = agent_storages_acquire(a, r->storages, r->n_storages, &c->storages, err);
	if (rc < 0)
		vc_error_wrap(err, "%s: params", r->method);
	if (rc == 0)
		rc = check_rootfs(r->method, r->spec, err);
	/* before anything reads linux.devices or the device rules: they name the
	 * host's numbers of the disks until then */
	if (rc == 0 && r->n_devices > 0) {
		struct agent_blk_env env;
		agent_blk_env_of(a, &env);
		rc = agent_blk_devices_apply(r->spec, r->devices, r->n_devices, &env, err);
		if (rc < 0)
			in_params(err, r->method, "");
	}
	if (rc == 0 && (rc = agent_vfio_setup(r->spec, "/sys", "/dev", AGENT_MODULES_DIR, err)) < 0)
		vc_error_wrap(err, "%s: params.spec", r->method);
	if (rc == 0 && (rc = load_overlay(r->spec, err)) < 0)
		vc_error_wrap(err, "%s: params.spec.mounts", r->method);
	if (rc == 0)
		rc = agent_cgroup_create(a->opts->cgroup_root, c->id, &c->cgroup, err);
	const struct vc_oci_linux *l = r->spec->linux;
	if (rc == 0)
		agent_cgroup_apply(c->cgroup, l ? l->resources : NULL);
	if (rc == 0 && (rc = agent_devcgroup_apply(c->cgroup, r->spec, &c->devprog_fd, err)) < 0)
		in_params(err, r->method, "spec.");
	uid_t owner;
	if (rc == 0 && agent_userns_cgroup_owner(r->spec, &owner))
		agent_cgroup_chown(c->cgroup, owner);

	struct agent_stdio s = {.child_in = -1,
				.child_out = -1,
				.child_err = -1,
				.in_fd = -1,
				.out_fd = -1,
				.err_fd = -1};
	if (rc == 0)
		rc = agent_stdio_open(&s, r->spec->process->terminal,
				      r->rq->u.create_container.stdin, err);
	if (rc == 0) {
		struct agent_child_cfg cfg = {.is_init = true,
					      .spec = r->spec,
					      .process = r->spec->process,
					      .cgroup = c->cgroup,
					      .stdio = &s,
					      .devnull = a->devnull};
		for (int i = 0; i < VC_NS__COUNT; i++) {
			cfg.ns_fds[i] = ns_fds[i];
			cfg.new_ns[i] = c->new_ns[i] && ns_fds[i] < 0;
		}
		/* a pid namespace is entered by the agent for the child (setns never
		 * moves the caller itself) */
		cfg.ns_fds[VC_NS_PID] = -1;
		rc = agent_process_spawn(a, c, &cfg, flags, ns_fds[VC_NS_PID], NULL,
					 r->rq->u.create_container.stream_id, &c->init, err);
	}
	close_ns_fds(ns_fds);
	agent_stdio_close(&s);
	if (rc < 0) {
		agent_cgroup_remove(c->cgroup);
		agent_storages_release(a, c->storages);
		container_free(c);
		/* setup errors read as runc's: `exec: "x": executable file not found` */
		return rc;
	}
	c->spec = steal_ptr(r->spec);
	c->state = AGENT_CTR_CREATED;
	container_link(a, c);
	agent_info("container %s created (pid %d)", c->id, (int)c->init->pid);
	return vc_agent_pid_encode(&(struct vc_agent_pid){.pid = c->init->pid}, res, err);
}

int agent_h_start_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err)
{
	struct agent_container *c = r->ctr;
	struct agent_process *p = c->init;
	if (c->state != AGENT_CTR_CREATED || p->exited || p->sync_fd < 0)
		return vc_error_set(err, EINVAL, "%s: container %s is not in the created state",
				    r->method, c->id);
	if (vc_write_all(p->sync_fd, "S", 1) < 0)
		return vc_error_sys(err, errno, "%s: release container %s", r->method, c->id);
	/* The sync socket closes on execve (CLOEXEC) or when the process dies; an
	 * execve failure is the process's own exit 127, reported on its stderr. */
	struct pollfd pfd = {.fd = p->sync_fd, .events = POLLIN};
	while (poll(&pfd, 1, START_TIMEOUT_MS) < 0 && errno == EINTR)
		;
	close(p->sync_fd);
	p->sync_fd = -1;
	c->state = AGENT_CTR_RUNNING;
	return 0;
}

/* Reads /proc/<pid>/ns/pid's identity ("pid:[4026531836]"). */
static bool same_pidns(pid_t pid, const char *want)
{
	char path[64], got[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ssize_t n = readlink(path, got, sizeof(got) - 1);
	if (n < 0)
		return false;
	got[n] = '\0';
	return !strcmp(got, want);
}

static int scan_pidns(struct agent_container *c, pid_t **pids, size_t *n, struct vc_error *err)
{
	char path[64], want[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)c->init->pid);
	ssize_t wn = readlink(path, want, sizeof(want) - 1);
	if (wn < 0)
		return 0; /* init gone: so is its namespace */
	want[wn] = '\0';
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return vc_error_sys(err, errno, "opendir /proc");
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || !same_pidns((pid_t)pid, want))
			continue;
		pid_t *nb = realloc(*pids, (*n + 1) * sizeof(pid_t));
		if (!nb)
			return vc_error_set(err, ENOMEM, "out of memory");
		*pids = nb;
		(*pids)[(*n)++] = (pid_t)pid;
	}
	return 0;
}

int agent_container_pids(struct agent *a, struct agent_container *c, pid_t **pids, size_t *n,
			 struct vc_error *err)
{
	*pids = NULL;
	*n = 0;
	if (c->cgroup)
		return agent_cgroup_pids(c->cgroup, pids, n, err);
	if (c->new_ns[VC_NS_PID])
		return scan_pidns(c, pids, n, err);
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->ctr != c || p->exited)
			continue;
		pid_t *nb = realloc(*pids, (*n + 1) * sizeof(pid_t));
		if (!nb)
			return vc_error_set(err, ENOMEM, "out of memory");
		*pids = nb;
		(*pids)[(*n)++] = p->pid;
	}
	return 0;
}

void agent_container_destroy(struct agent *a, struct agent_container *c)
{
	if (c->cgroup)
		agent_cgroup_freeze(c->cgroup, false, NULL);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (agent_container_pids(a, c, &pids, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
	}
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->ctr == c && !p->exited)
			kill(p->pid, SIGKILL);
	}
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->ctr == c && !p->exited)
			agent_reap_pid(a, p->pid);
	}
	/* output written before the kill still goes out, then the waiters */
	for (struct agent_process *p = a->procs; p; p = p->next) {
		if (p->ctr == c)
			agent_process_drain(a, p);
	}
	struct agent_process *p = a->procs;
	while (p) {
		struct agent_process *next = p->next;
		if (p->ctr == c)
			agent_process_free(a, p);
		p = next;
	}
	agent_cgroup_remove(c->cgroup);
	agent_storages_release(a, c->storages);
	container_unlink(a, c);
	agent_info("container %s removed", c->id);
	container_free(c);
}

int agent_h_remove_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err)
{
	agent_container_destroy(a, r->ctr);
	return 0;
}

int agent_h_list_processes(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int rc = agent_container_pids(a, r->ctr, &pids, &n, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	if ((rc = vc_agent_pids_encode(&(struct vc_agent_pids){.pids = pids, .n = n}, res, err)) <
	    0)
		return vc_error_wrap(err, "%s", r->method);
	const struct vc_areq_list_processes *q = &r->rq->u.ps;
	return q->details ? agent_procinfo(res, pids, n, q->environ, err) : 0;
}

static int need_cgroup(struct agent_req *r, struct vc_error *err)
{
	if (!r->ctr->cgroup)
		return vc_error_set(err, ENOTSUP, "%s: cgroups are not available in the guest",
				    r->method);
	return 0;
}

static int set_frozen(struct agent_req *r, bool frozen, struct vc_error *err)
{
	int rc = need_cgroup(r, err);
	if (rc == 0 && agent_cgroup_freeze(r->ctr->cgroup, frozen, err) < 0)
		rc = vc_error_wrap(err, "%s", r->method);
	return rc;
}

int agent_h_pause_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err)
{
	return set_frozen(r, true, err);
}

int agent_h_resume_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err)
{
	return set_frozen(r, false, err);
}

int agent_h_update_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			     struct vc_error *err)
{
	int rc = need_cgroup(r, err);
	if (rc == 0)
		agent_cgroup_apply(r->ctr->cgroup, r->resources);
	return rc;
}

int agent_h_stats_container(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err)
{
	int rc = need_cgroup(r, err);
	if (rc < 0)
		return rc;
	struct vc_agent_stats st;
	agent_cgroup_stats(r->ctr->cgroup, &st);
	return vc_agent_stats_encode(&st, res, err);
}

int agent_h_create_sandbox(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			   struct vc_error *err)
{
	if (a->sandbox_id)
		return vc_error_set(err, EEXIST, "%s: sandbox %s already exists", r->method,
				    a->sandbox_id);
	const struct vc_areq_create_sandbox *q = &r->rq->u.create_sandbox;
	if (q->hostname && sethostname(q->hostname, strlen(q->hostname)) < 0)
		return vc_error_sys(err, errno, "%s: sethostname %s", r->method, q->hostname);
	int rc = agent_storages_acquire(a, r->storages, r->n_storages, &a->sandbox_storages, err);
	if (rc < 0)
		return vc_error_wrap(err, "%s", r->method);
	if (!(a->sandbox_id = strdup(q->sandbox_id)))
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int agent_h_destroy_sandbox(struct agent *a, struct agent_req *r, struct vc_jgen *res,
			    struct vc_error *err)
{
	/* the response goes out first; agent_serve tears down and powers off */
	a->quit = true;
	a->poweroff = !a->opts->not_pid1;
	return 0;
}
