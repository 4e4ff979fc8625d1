/* Host cgroups for a container's VM, made as runc makes them: the same directories
 * (cgroupfs or systemd driver, cgroup v1/hybrid or v2), the same files written with
 * the same values, except where a VM needs room of its own (memory, pids: see
 * cgroup/README.md). Every function takes whole paths under a root (default
 * /sys/fs/cgroup), so unit tests run against a fake tree. */
#ifndef VC_CGROUP_CGROUP_H
#define VC_CGROUP_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/json.h"
#include "oci/spec.h"

#define VC_CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"

enum vc_cgroup_mode {
	VC_CGROUP_V1, /* per-controller hierarchies, plus cgroup2 at unified/ when hybrid */
	VC_CGROUP_V2, /* one cgroup2 hierarchy at the root */
};

/* One hierarchy and this container's directory in it. keys are the names runc
 * gives it: its controllers ("cpu", "cpuacct"), "name=systemd", or "" for a
 * cgroup2 hierarchy. */
struct vc_cgroup_dir {
	char **keys;
	char *mount; /* the hierarchy's root directory */
	char *path;  /* the container's directory, below mount */
};

/* What the VM adds on top of a container's own limits (README.md: "The VM's room"). */
struct vc_cgroup_vm {
	uint64_t ram;	       /* the guest's RAM, bytes */
	uint64_t overhead;     /* QEMU, virtiofsd, monitor, stand-in: bytes beyond the RAM */
	int64_t pids_overhead; /* host tasks of the VM itself */
};

struct vc_cgroup {
	enum vc_cgroup_mode mode;
	bool systemd; /* the systemd driver's path (made directly: no D-Bus) */
	struct vc_cgroup_dir *dirs;
	size_t n_dirs;
	struct vc_cgroup_vm vm;
};

/* The hierarchies under root: a cgroup2 root (pure v2), or one directory per
 * mounted v1 hierarchy (symlinks such as cpu -> cpu,cpuacct skipped). out is
 * overwritten, not released: pass a fresh one. */
int vc_cgroup_hierarchies(const char *root, struct vc_cgroup *out, struct vc_error *err);

/* Where the container's cgroup goes, as runc 1.1.5 decides:
 * - cgroupfs: cgroups_path cleaned; absolute: below each hierarchy's root;
 *   relative (and the default, the container id): below this process's own cgroup
 *   (v1 and hybrid: per hierarchy; pure v2: its parent, as runc's fs2).
 * - systemd: "slice:prefix:name" (default "system.slice:runc:ID") ->
 *   <expanded slice>/<prefix>-<name>.scope, below pid 1's cgroup on v1.
 * self_cgroup and init_cgroup are the text of /proc/self/cgroup and /proc/1/cgroup.
 * out must come from vc_cgroup_hierarchies; its dirs get their paths. */
int vc_cgroup_resolve(struct vc_cgroup *cg, const char *cgroups_path, const char *id, bool systemd,
		      const char *self_cgroup, const char *init_cgroup, struct vc_error *err);

/* The cgroups a process is in now (from the text of /proc/PID/cgroup), one per
 * hierarchy of cg: to go back to after vc_cgroup_join. */
int vc_cgroup_of_process(const struct vc_cgroup *cg, const char *proc_cgroup, struct vc_cgroup *out,
			 struct vc_error *err);

/* The roots of cg's hierarchies, as a cgroup to join: where a process goes to
 * leave cg before it is removed. */
int vc_cgroup_roots(const struct vc_cgroup *cg, struct vc_cgroup *out, struct vc_error *err);

/* systemd's slice expansion: "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> "/". */
int vc_cgroup_expand_slice(const char *slice, char **out, struct vc_error *err);

/* Makes the directories: v1 cpuset levels get their parent's cpus and mems (or no
 * task could join), v2 parents delegate the controllers they have. */
int vc_cgroup_create(const struct vc_cgroup *cg, struct vc_error *err);

/* The values vcrun writes on the host for the container's linux.resources: runc's
 * files and conversions; memory and pids leave room for the VM. */
struct vc_cgroup_limits {
	bool has_memory, has_memory_low, has_memsw;
	int64_t memory, memory_low, memsw; /* -1: unlimited; memsw: v1 memory+swap, v2 swap */
	uint64_t cpu_shares;		   /* v1 shares, or v2 weight; 0: unset */
	int64_t cpu_quota;		   /* 0: unset, -1: max */
	uint64_t cpu_period;		   /* 0: unset */
	const char *cpus, *mems;	   /* borrowed; NULL or "": unset */
	int64_t pids;			   /* 0: unset, -1: max */
	uint16_t blkio_weight;		   /* 0: unset (v1 value; v2 converts) */
};
int vc_cgroup_limits(enum vc_cgroup_mode mode, const struct vc_oci_resources *res,
		     const struct vc_cgroup_vm *vm, struct vc_cgroup_limits *out,
		     struct vc_error *err);
/* runc's ConvertCPUSharesToCgroupV2Value and ConvertBlkIOToIOWeightValue. */
uint64_t vc_cgroup_shares_to_weight(uint64_t shares);
uint64_t vc_cgroup_blkio_to_io_weight(uint16_t weight);

/* cgroup v2: drops from l the limits whose controller the cgroup lacks (its
 * cgroup.controllers, once created): a rootless user's delegated subtree may not
 * have them all, and the guest enforces the limits anyway. The controllers
 * dropped go into dropped ("memory pids", "" when none). v1: nothing is dropped
 * (a hierarchy that is not mounted has no directory to write into). */
void vc_cgroup_limits_trim(const struct vc_cgroup *cg, struct vc_cgroup_limits *l, char *dropped,
			   size_t len);

/* Writes the limits (errors name the linux.resources field and the file). */
int vc_cgroup_set(const struct vc_cgroup *cg, const struct vc_cgroup_limits *lim,
		  struct vc_error *err);

/* Puts pid in every directory of cg (0: the caller). */
int vc_cgroup_join(const struct vc_cgroup *cg, pid_t pid, struct vc_error *err);

/* runc exec's --cgroup: "[ctrl[,ctrl]:]path" relative to the container's
 * cgroup (a bare path only alone, for every hierarchy). *out gets cg with those
 * directories swapped in; each must exist. */
int vc_cgroup_sub(const struct vc_cgroup *cg, char *const *args, struct vc_cgroup *out,
		  struct vc_error *err);

/* Removes the directories (and sub-cgroups below them); retries EBUSY for up to
 * timeout_ms while the last tasks leave. */
int vc_cgroup_remove(const struct vc_cgroup *cg, int timeout_ms, struct vc_error *err);

/* The record kept in the state dir, so later calls need not resolve again (a
 * relative path depends on the caller's own cgroup). */
int vc_cgroup_to_json(const struct vc_cgroup *cg, char **out, size_t *len, struct vc_error *err);
int vc_cgroup_from_json(const char *text, size_t len, const char *source, struct vc_cgroup *cg,
			struct vc_error *err);

void vc_cgroup_release(struct vc_cgroup *cg);

#endif
