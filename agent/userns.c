/* User namespaces: runc's checks on linux.uidMappings / gidMappings, the maps the
 * agent (the parent, root of the guest) writes for a new init, and the child's
 * switch to the namespace's root once they are there. The namespace is made by the
 * init's clone together with the others, so that each of them is owned by it. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int64_t agent_userns_host_id(const struct vc_oci_id_mapping *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
			return (int64_t)m[i].host_id + (id - m[i].container_id);
	}
	return -1;
}

/* runc 1.1.5's setupUserNamespace (HostRootUID, then HostRootGID), with its words;
 * the field comes first. Without a user namespace runc ignores the mappings (its
 * validator's "mappings specified, but USER namespace isn't enabled" never sees
 * them), and so does the agent. */
int agent_userns_check(const struct vc_oci_spec *spec, bool new_userns, struct vc_error *err)
{
	const struct vc_oci_linux *l = spec->linux;
	size_t nu = l ? l->n_uid_mappings : 0, ng = l ? l->n_gid_mappings : 0;
	if (!new_userns)
		return 0;
	if (!nu)
		return vc_error_set(err, EINVAL,
				    "linux.uidMappings: User namespaces enabled, but no uid "
				    "mappings found.");
	if (agent_userns_host_id(l->uid_mappings, nu, 0) < 0)
		return vc_error_set(err, EINVAL,
				    "linux.uidMappings: User namespaces enabled, but no user "
				    "mapping found.");
	if (!ng)
		return vc_error_set(err, EINVAL,
				    "linux.gidMappings: User namespaces enabled, but no gid "
				    "mappings found.");
	if (agent_userns_host_id(l->gid_mappings, ng, 0) < 0)
		return vc_error_set(err, EINVAL,
				    "linux.gidMappings: User namespaces enabled, but no group "
				    "mapping found.");
	return 0;
}

/* The kernel takes a map in one write of less than a page; it refuses overlaps
 * and overflows itself (EINVAL), and so the message names the field. */
static int write_map(pid_t pid, const char *file, const char *field,
		     const struct vc_oci_id_mapping *m, size_t n, struct vc_error *err)
{
	char buf[4096];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			return vc_error_set(err, E2BIG,
					    "linux.%s: %zu mappings do not fit in one write of "
					    "/proc/PID/%s",
					    field, n, file);
		len += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_error_sys(err, errno, "linux.%s: open %s", field, path);
	ssize_t w = write(fd, buf, len);
	if (w < 0)
		return vc_error_sys(err, errno, "linux.%s: write %s", field, path);
	if ((size_t)w != len)
		return vc_error_set(err, EIO, "linux.%s: short write to %s", field, path);
	return 0;
}

/* setgroups stays "allow", as runc leaves it for a container it runs as root: the
 * agent holds CAP_SETGID where the namespace was made, so the kernel needs no
 * "deny" before gid_map. */
int agent_userns_map(pid_t pid, const struct vc_oci_linux *l, struct vc_error *err)
{
	int r = write_map(pid, "uid_map", "uidMappings", l->uid_mappings, l->n_uid_mappings, err);
	if (r == 0)
		r = write_map(pid, "gid_map", "gidMappings", l->gid_mappings, l->n_gid_mappings,
			      err);
	return r;
}

int agent_userns_wait(int sync_fd, struct vc_error *err)
{
	char c = 0;
	ssize_t n;
	while ((n = read(sync_fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || c != AGENT_SYNC_MAPPED)
		return vc_error_set(err, EIO, "the agent did not write the id mappings");
	return 0;
}

int agent_userns_become_root(struct vc_error *err)
{
	/* Until now the child kept the agent's ids (unmapped here); root of the
	 * namespace owns the image (a rootfs chowned to the mapping) and its
	 * mount points. */
	if (setresgid(0, 0, 0) < 0)
		return vc_error_sys(err, errno, "setresgid 0 in the user namespace");
	if (setgroups(0, NULL) < 0)
		return vc_error_sys(err, errno, "setgroups in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return vc_error_sys(err, errno, "setresuid 0 in the user namespace");
	return 0;
}

/* runc gives the process's host uid its cgroup (the directory and the files the
 * kernel lists as delegatable) when the container has a cgroup namespace of its
 * own and a writable cgroupfs at /sys/fs/cgroup: it can then manage its subtree. */
bool agent_userns_cgroup_owner(const struct vc_oci_spec *spec, uid_t *uid)
{
	const struct vc_oci_linux *l = spec->linux;
	const struct vc_oci_namespace *cg = vc_oci_spec_namespace(spec, VC_NS_CGROUP);
	if (!l || !cg || cg->path || !vc_oci_spec_namespace(spec, VC_NS_USER))
		return false;
	bool rw_cgroupfs = false;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct vc_oci_mount *m = &spec->mounts[i];
		const char *d = m->destination;
		size_t n = strlen(d);
		while (n > 1 && d[n - 1] == '/')
			n--;
		if (!m->type || (strcmp(m->type, "cgroup") && strcmp(m->type, "cgroup2")) ||
		    n != strlen("/sys/fs/cgroup") || strncmp(d, "/sys/fs/cgroup", n))
			continue;
		struct agent_mount_opts o;
		if (agent_mount_opts_parse(m->options, &o, NULL) < 0)
			continue;
		agent_mount_opts_free(&o);
		rw_cgroupfs = !(o.flags & MS_RDONLY);
	}
	int64_t host =
		agent_userns_host_id(l->uid_mappings, l->n_uid_mappings, spec->process->user.uid);
	if (!rw_cgroupfs || host < 0)
		return false;
	*uid = (uid_t)host;
	return true;
}

int agent_userns_gid_range(const struct vc_oci_linux *l, const char *key, const char *value,
			   char *out, size_t n, struct vc_error *err)
{
	unsigned long lo, hi;
	int end = 0;
	if (sscanf(value, " %lu %lu %n", &lo, &hi, &end) != 2 || value[end] || lo > UINT32_MAX ||
	    hi > UINT32_MAX)
		return vc_error_set(err, EINVAL, "linux.sysctl %s: `%s` is not two group ids", key,
				    value);
	int64_t hlo = agent_userns_host_id(l->gid_mappings, l->n_gid_mappings, (uint32_t)lo);
	int64_t hhi = agent_userns_host_id(l->gid_mappings, l->n_gid_mappings, (uint32_t)hi);
	if (hlo < 0 || hhi < 0)
		return vc_error_set(err, EINVAL,
				    "linux.sysctl %s: group %lu is not in linux.gidMappings", key,
				    hlo < 0 ? lo : hi);
	snprintf(out, n, "%lld %lld", (long long)hlo, (long long)hhi);
	return 0;
}
