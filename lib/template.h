/* VM templates (README.md, "VM templates"; docs/ARCHITECTURE.md): a VM booted once
 * per key up to its agent's first answer, paused and saved (device state in a file,
 * RAM in a memory file on the state root's tmpfs), then restored as a clone for
 * each container that opts in, instead of a cold boot.
 *
 * Under ROOT/templates/: KEY/ (memory, state, meta.json, ready: written last) and
 * KEY.lock (flock: one builder per key; rm takes it too). A clone's state dir holds
 * VC_TEMPLATE_CLONE_FILE ("KEY QEMU-PID"), which `template list` counts. */
#ifndef VC_LIB_TEMPLATE_H
#define VC_LIB_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "lib/plan.h"
#include "oci/json.h"

#define VC_TEMPLATE_DIR	       "templates"
#define VC_TEMPLATE_CLONE_FILE "template.clone"
/* In ROOT/templates/KEY/. */
#define VC_TEMPLATE_MEM_FILE   "memory"
#define VC_TEMPLATE_STATE_FILE "state"
#define VC_TEMPLATE_READY_FILE "ready"
/* Bumped whenever what a template holds changes meaning: old ones get new keys. */
#define VC_TEMPLATE_FORMAT  1
#define VC_TEMPLATE_KEY_LEN 32 /* hex digits */

/* Why this plan's VM cannot be a clone (a cold boot), or NULL when it can. n_nics:
 * the interfaces its network namespace has now (each is hot-plugged into a spare
 * root port after the restore). */
const char *vc_template_unfit(const struct vc_plan *plan, size_t n_nics);

/* The key of the template a plan's VM is a clone of, and the inputs it hashes
 * (the kernel, initrd and QEMU binary with their size and mtime, memory, vCPUs,
 * machine, accelerator, channel, shared file system, hot-plug room, kernel
 * parameters, VC_TEMPLATE_FORMAT), as the JSON object meta.json keeps. An input
 * file that cannot be read is an error naming it. */
int vc_template_key(const struct vc_plan *plan, char key[VC_TEMPLATE_KEY_LEN + 1],
		    struct vc_json **inputs, struct vc_error *err);

/* Makes sure ROOT/templates/KEY is a ready template: waits for a builder that holds
 * its lock (at most timeout_ms), and builds it when it is missing or half built
 * (a builder died). Building boots the plan's VM without NICs, VFIO or a mounted
 * share, waits for the agent's Check, saves it (hv: vc_hv_snapshot) and stops it.
 * *dir gets ROOT/templates/KEY. *built says whether this call built it. */
int vc_template_ensure(const char *root, const struct vc_plan *plan, const char *key,
		       const struct vc_json *inputs, int timeout_ms, char **dir, bool *built,
		       struct vc_error *err);

/* Before a clone loads them: the template's state and memory files are the ones
 * its builder saved (meta.json's "files": the state file's size and checksum, the
 * memory file's inode, size and mtime). EBADMSG when not (the caller names the
 * template). */
int vc_template_verify(const char *dir, struct vc_error *err);

struct vc_template_info {
	char key[VC_TEMPLATE_KEY_LEN + 1];
	time_t created;	 /* 0: unknown (half built) */
	uint64_t bytes;	 /* memory and state files, as allocated */
	unsigned clones; /* live clones (their QEMU runs) */
	bool ready;	 /* the ready marker is there */
	bool stale;	 /* an input file is gone or changed since it was built */
};
/* Every template under root, sorted by key. */
int vc_template_list(const char *root, struct vc_template_info **out, size_t *n,
		     struct vc_error *err);
/* Removes one template. EBUSY while live clones use it, unless force: a clone's
 * RAM is a private mapping of the memory file, which outlives the file's name. */
int vc_template_remove(const char *root, const char *key, bool force, struct vc_error *err);

#endif
