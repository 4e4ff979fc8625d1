/* Shared by the files of cgroup/ only. */
#ifndef VC_CGROUP_INTERNAL_H
#define VC_CGROUP_INTERNAL_H

#include <stdbool.h>

#include "cgroup/cgroup.h"

bool vc_cgroup_dir_has(const struct vc_cgroup_dir *d, const char *key);
/* runc's utils.CleanPath (malloc'd). */
char *vc_cgroup_clean(const char *path);
/* A deep copy; -ENOMEM. */
int vc_cgroup_copy(const struct vc_cgroup *cg, struct vc_cgroup *out);

#endif
