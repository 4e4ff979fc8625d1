/* What plan.c (building a plan) and plan-json.c (reading plan.json back) share:
 * the plan's own adders, which the reader uses so that a plan read back holds
 * exactly what one built would. Beyond those two, only the plan's other builders
 * (plan-devices.c, blkroot.c) and `vcrun plan` (planview.c) include this. */
#ifndef VC_LIB_PLAN_INTERNAL_H
#define VC_LIB_PLAN_INTERNAL_H

#include <stdbool.h>

#include "lib/plan.h"

int vc_plan_add_bind(struct vc_plan *plan, const char *source, const char *what, bool readonly,
		     bool recursive, bool file);
int vc_plan_vfio_mode_parse(const char *s, enum vc_plan_vfio_mode *m);
int vc_plan_add_pci(struct vc_plan *plan, const char *host, unsigned port, unsigned function,
		    bool multifunction, unsigned group);
int vc_plan_add_ap(struct vc_plan *plan, const char *path);
/* The disks as plan.json's "blk" array, under key (`vcrun plan` says "disks"). */
void vc_plan_blks_to_json(struct vc_jgen *g, const char *key, const struct vc_plan *plan);
/* target may be NULL (a block-backed rootfs). -ENOMEM only. */
int vc_plan_add_blk(struct vc_plan *plan, const char *path, const char *id, bool readonly,
		    const char *target);
/* The plan's block-backed rootfs (lib/blkroot.c), when config or annotation asks
 * for one and the rootfs is a block device's mount: its disk, its Storage, and
 * root.path at the Storage's mount point; 1 then, 0 when the rootfs stays shared
 * (the debug log says why). */
int vc_plan_blk_rootfs(const struct vc_plan_where *w, const struct vc_oci_spec *spec,
		       const struct vc_config *cfg, struct vc_plan *plan, struct vc_error *err);

#endif
