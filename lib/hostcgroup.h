/* The container's cgroup on the host (cgroup/ does the work): made at create with
 * the stand-in in it, joined by the monitor before it starts QEMU and virtiofsd,
 * written by update, joined by exec's stand-ins, removed by delete. The
 * directories are recorded in ROOT/ID/cgroup.json. */
#ifndef VC_LIB_HOSTCGROUP_H
#define VC_LIB_HOSTCGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "lib/plan.h"
#include "lib/vcrun.h"
#include "oci/spec.h"

#define VC_HOST_CGROUP_FILE "cgroup.json"

/* After the stand-in is spawned: resolves linux.cgroupsPath as runc does (with
 * ctx->systemd_cgroup), records it, makes the directories, writes
 * linux.resources with the VM's room (plan: its RAM, vCPUs, accelerator) and puts
 * the stand-in in. */
int vc_host_cgroup_setup(const struct vc_ctx *ctx, const char *root, const char *id,
			 const struct vc_oci_spec *spec, const struct vc_plan *plan, pid_t standin,
			 struct vc_error *err);

/* update: the new linux.resources on the host too. */
int vc_host_cgroup_update(const char *root, const char *id, const struct vc_oci_resources *res,
			  struct vc_error *err);

/* exec: sub is runc's --cgroup list (NULL: the container's cgroup). check before
 * anything starts; add_pid puts the exec's stand-in there. */
int vc_host_cgroup_exec_check(const char *root, const char *id, char *const *sub,
			      struct vc_error *err);
int vc_host_cgroup_add_pid(const char *root, const char *id, char *const *sub, pid_t pid,
			   struct vc_error *err);

/* delete: once the processes are gone (warns, never fails). */
void vc_host_cgroup_remove(const char *root, const char *id);

/* For a process inside the cgroup that may outlive its record (a monitor whose
 * --root is removed under it): hold loads the record while the state dir is
 * there (NULL if none); drop frees it, and with remove first moves the caller to
 * its hierarchies' roots and removes the cgroup. */
struct vc_cgroup *vc_host_cgroup_hold(const char *root, const char *id);
void vc_host_cgroup_drop(struct vc_cgroup **held, const char *id, bool remove);

/* The OOM kills counted so far in the caller's own memory cgroup (v1
 * memory.oom_control, v2 memory.events): how the monitor tells a QEMU that the
 * host's OOM killer took from one killed by someone. 0 when it cannot tell. */
unsigned long long vc_host_cgroup_oom_kills(void);

#endif
