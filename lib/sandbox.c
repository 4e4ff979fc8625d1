/* Which sandbox a new container goes to (lib/sandbox.h). */
#include "lib/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/plan.h"
#include "common/rootless.h"
#include "lib/state.h"
#include "lib/vcrun.h"
#include "oci/json.h"

char *vc_sandbox_host_name(const char *root, const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = root; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return vc_strdup_printf("%08x-%s", h, id);
}

char *vc_sandbox_share_dir(const char *root, const char *owner)
{
	_cleanup_free_ char *name = vc_sandbox_host_name(root, owner);
	/* rootless: the user's own run dir (common/rootless.h), never /run/vcrun */
	return name ? vc_strdup_printf("%s/shared/%s", vc_host_run_dir(), name) : NULL;
}

void vc_sandbox_join_release(struct vc_sandbox_join *j)
{
	free(j->owner);
	free(j->key);
	for (int i = 0; i < VC_NS__COUNT; i++)
		free(j->ns_member[i]);
	memset(j, 0, sizeof(*j));
}

/* The file under /proc/PID/ns/ for each type the stand-in can hold. */
static const char *const ns_file[VC_NS__COUNT] = {
	[VC_NS_PID] = "pid", [VC_NS_MOUNT] = "mnt",	[VC_NS_IPC] = "ipc",
	[VC_NS_UTS] = "uts", [VC_NS_CGROUP] = "cgroup", [VC_NS_NETWORK] = "net",
};

/* The other containers of the root, read once per create. */
struct peer {
	struct vc_state st;
	bool sandbox_live; /* its sandbox's monitor runs */
	bool standin_live;
};

struct peers {
	const char *root;
	struct peer *v;
	size_t n;
};

static void peers_free(struct peers *p)
{
	for (size_t i = 0; i < p->n; i++)
		vc_state_release(&p->v[i].st);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static char *plan_netns(const char *root, const char *id)
{
	struct vc_plan plan;
	if (vc_plan_load(root, id, &plan, NULL) < 0)
		return NULL;
	char *ns = steal_ptr(plan.netns_path);
	vc_plan_release(&plan);
	return ns;
}

static int peers_load(const char *root, const char *self, struct peers *out, struct vc_error *err)
{
	out->root = root;
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : vc_error_sys(err, errno, "open --root `%s`", root);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, self) ||
		    vc_id_validate(de->d_name, NULL) < 0)
			continue;
		struct peer p = {0};
		if (vc_state_read(root, de->d_name, &p.st, NULL) < 0)
			continue;
		p.sandbox_live = vc_proc_alive(p.st.monitor_pid, p.st.monitor_start);
		p.standin_live = vc_state_live_status(&p.st) != VC_STATUS_STOPPED &&
				 vc_proc_alive(p.st.standin_pid, 0);
		struct peer *n = realloc(out->v, (out->n + 1) * sizeof(*n));
		if (!n) {
			vc_state_release(&p.st);
			return vc_error_set(err, ENOMEM, "out of memory");
		}
		out->v = n;
		out->v[out->n++] = p;
	}
	return 0;
}

int vc_sandbox_vfio_free(const char *root, const char *id, const unsigned *groups, size_t n,
			 struct vc_error *err)
{
	if (n == 0)
		return 0;
	struct peers ps __attribute__((cleanup(peers_free))) = {0};
	int r = peers_load(root, id, &ps, err);
	for (size_t i = 0; r == 0 && i < ps.n; i++) {
		const struct peer *p = &ps.v[i];
		struct vc_plan plan;
		if (!p->sandbox_live || vc_plan_load(root, p->st.id, &plan, NULL) < 0)
			continue;
		for (size_t j = 0; r == 0 && j < plan.n_vfio_pci; j++)
			for (size_t k = 0; r == 0 && k < n; k++)
				if (plan.vfio_pci[j].group == groups[k])
					r = vc_error_set(err, EBUSY,
							 "linux.devices: VFIO group %u is held by "
							 "sandbox %s (container %s)",
							 groups[k], p->st.sandbox, p->st.id);
		vc_plan_release(&plan);
	}
	return r;
}

/* A container by id, or the sandbox started under a CRI sandbox id. */
static const struct peer *find_sandbox(const struct peers *ps, const char *key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].st.id, key))
			return &ps->v[i];
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].sandbox_live && !strcmp(ps->v[i].st.sandbox_key, key))
			return &ps->v[i];
	return NULL;
}

static bool same_file(const char *a, const struct stat *b)
{
	struct stat sa;
	return stat(a, &sa) == 0 && sa.st_dev == b->st_dev && sa.st_ino == b->st_ino;
}

/* The live member whose stand-in holds the namespace at path (type t), by device
 * and inode (a stand-in holds every namespace type the spec names, pid and user
 * included). Only namespaces a stand-in made or joined count: one it shares with
 * vcrun itself (the host's) says nothing about which container it belongs to. */
static const struct peer *ns_owner(const struct peers *ps, enum vc_oci_ns_type t, const char *path)
{
	struct stat want;
	if (!ns_file[t] || stat(path, &want) < 0)
		return NULL;
	char own[64];
	snprintf(own, sizeof(own), "/proc/self/ns/%s", ns_file[t]);
	if (same_file(own, &want))
		return NULL;
	for (size_t i = 0; i < ps->n; i++) {
		const struct peer *p = &ps->v[i];
		char ns[64];
		snprintf(ns, sizeof(ns), "/proc/%d/ns/%s", (int)p->st.standin_pid, ns_file[t]);
		if (p->standin_live && same_file(ns, &want))
			return p;
	}
	/* A network namespace bridged into a VM whose own container has gone: only
	 * then are the owners' plans read, not on every create. */
	for (size_t i = 0; t == VC_NS_NETWORK && i < ps->n; i++) {
		const struct peer *p = &ps->v[i];
		if (!p->sandbox_live || strcmp(p->st.sandbox, p->st.id))
			continue;
		_cleanup_free_ char *netns = plan_netns(ps->root, p->st.id);
		if (netns && same_file(netns, &want))
			return p;
	}
	return NULL;
}

/* The sandbox the CRI annotations name; *found false when they name none. */
static int from_annotations(const struct vc_oci_spec *spec, const char *id, const struct peers *ps,
			    struct vc_sandbox_join *j, const char **why, struct vc_error *err)
{
	const char *type = vc_oci_spec_annotation(spec, VC_ANNOT_CRI_TYPE);
	const char *key = vc_oci_spec_annotation(spec, VC_ANNOT_CRI_SANDBOX_ID);
	const char *key_name = VC_ANNOT_CRI_SANDBOX_ID;
	/* containerd's pause container always comes first: an unknown id is an error.
	 * CRI-O may drop the infra container (and podman's pods without one use its
	 * key): there, the first container names a sandbox that it starts. */
	bool may_start = false;
	if (!type) {
		type = vc_oci_spec_annotation(spec, VC_ANNOT_CRIO_TYPE);
		key = vc_oci_spec_annotation(spec, VC_ANNOT_CRIO_SANDBOX_ID);
		key_name = VC_ANNOT_CRIO_SANDBOX_ID;
		may_start = true;
	}
	if (!type && !key)
		return 0;
	if (type && !strcmp(type, "sandbox")) {
		j->pod_sandbox = true;
		j->key = strdup(key && *key ? key : id);
		return j->key ? 0 : vc_error_set(err, ENOMEM, "out of memory");
	}
	if (type && strcmp(type, "container"))
		return vc_error_set(err, EINVAL,
				    "annotations: %s: unknown container type `%s` (sandbox or "
				    "container)",
				    may_start ? VC_ANNOT_CRIO_TYPE : VC_ANNOT_CRI_TYPE, type);
	if (!key || !*key)
		return vc_error_set(err, EINVAL,
				    "annotations: %s: required for a container of a pod", key_name);
	*why = key_name;
	const struct peer *p = find_sandbox(ps, key);
	if (!p) {
		if (!may_start)
			return vc_error_set(
				err, ENOENT,
				"annotations: %s: there is no sandbox `%s` (its sandbox "
				"container must be created first)",
				key_name, key);
		j->key = strdup(key);
		return j->key ? 0 : vc_error_set(err, ENOMEM, "out of memory");
	}
	if (!p->sandbox_live)
		return vc_error_set(err, ESRCH, "annotations: %s: sandbox `%s` has stopped",
				    key_name, key);
	j->owner = strdup(p->st.sandbox);
	j->key = strdup(key);
	if (!j->owner || !j->key)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int vc_sandbox_resolve(const char *root, const char *id, const struct vc_oci_spec *spec,
		       struct vc_sandbox_join *j, struct vc_error *err)
{
	memset(j, 0, sizeof(*j));
	struct peers ps = {0};
	const char *why = NULL;
	int r = peers_load(root, id, &ps, err);
	if (r == 0)
		r = from_annotations(spec, id, &ps, j, &why, err);
	const struct vc_oci_linux *l = spec->linux;
	for (size_t i = 0; r == 0 && l && i < l->n_namespaces; i++) {
		const struct vc_oci_namespace *ns = &l->namespaces[i];
		if (!ns->path)
			continue;
		const struct peer *p = ns_owner(&ps, ns->type, ns->path);
		if (!p || !p->sandbox_live)
			continue;
		if (j->pod_sandbox) {
			r = vc_error_set(
				err, EINVAL,
				"linux.namespaces[%zu]: `%s` belongs to container %s, but a "
				"pod's sandbox container starts a sandbox of its own",
				i, ns->path, p->st.id);
		} else if (j->owner && strcmp(j->owner, p->st.sandbox)) {
			r = vc_error_set(err, EINVAL,
					 "linux.namespaces[%zu]: `%s` belongs to container %s of "
					 "sandbox %s, but %s puts this container in sandbox %s",
					 i, ns->path, p->st.id, p->st.sandbox,
					 why ? why : "another namespace", j->owner);
		} else {
			if (!j->owner && !(j->owner = strdup(p->st.sandbox)))
				r = vc_error_set(err, ENOMEM, "out of memory");
			why = why ? why : "another namespace";
			if (r == 0 && !(j->ns_member[ns->type] = strdup(p->st.id)))
				r = vc_error_set(err, ENOMEM, "out of memory");
		}
	}
	peers_free(&ps);
	if (r < 0)
		vc_sandbox_join_release(j);
	return r;
}

int vc_sandbox_guest_namespaces(struct vc_json *guest_spec, const struct vc_sandbox_join *j,
				struct vc_error *err)
{
	struct vc_json *nss = vc_json_get(vc_json_get(guest_spec, "linux"), "namespaces");
	if (!nss || nss->type != VC_JSON_ARRAY)
		return 0;
	for (size_t i = 0; i < nss->u.array.len; i++) {
		struct vc_json *ns = nss->u.array.items[i];
		const char *type = vc_json_str(vc_json_get(ns, "type"));
		if (!vc_json_get(ns, "path") || !type)
			continue;
		const char *member = NULL;
		for (int t = 0; t < VC_NS__COUNT && !member; t++)
			if (j->ns_member[t] && !strcmp(vc_oci_ns_name(t), type))
				member = j->ns_member[t];
		_cleanup_free_ char *key = strdup("path");
		_cleanup_free_ char *ref =
			member ? vc_strdup_printf(VC_GUEST_NS_CONTAINER_PREFIX "%s", member) : NULL;
		if (!key || (member && !ref))
			return vc_error_set(err, ENOMEM, "out of memory");
		/* The network is the VM's for every container of the sandbox. A user
		 * namespace's path is left for the agent to refuse: no stand-in holds
		 * one, and a new one in its place would run with other ids. */
		if (!strcmp(type, "user"))
			continue;
		if (ref && strcmp(type, "network")) {
			if (vc_json_object_set(ns, "path", vc_json_new_string(ref)) < 0)
				return vc_error_set(err, ENOMEM, "out of memory");
		} else {
			vc_json_object_remove(ns, key);
		}
	}
	return 0;
}
