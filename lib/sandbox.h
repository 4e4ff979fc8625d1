/* Sandboxes: one VM, one monitor, one share, and the containers that live in it.
 * A container either boots a sandbox of its own (it is then the sandbox's owner:
 * its state dir holds the monitor, QEMU and the share) or joins a running one.
 * Which one is decided here, from the CRI annotations and from the namespaces the
 * spec joins by path (compared by device and inode with those that other vcrun
 * containers' stand-ins hold). share.c binds each container's rootfs and bind
 * mounts into the owner's share on the host, so joining needs no new device. */
#ifndef VC_LIB_SANDBOX_H
#define VC_LIB_SANDBOX_H

#include <stdbool.h>

#include "common/error.h"
#include "oci/spec.h"

#define VC_ANNOT_CRI_TYPE	 "io.kubernetes.cri.container-type"
#define VC_ANNOT_CRI_SANDBOX_ID	 "io.kubernetes.cri.sandbox-id"
#define VC_ANNOT_CRIO_TYPE	 "io.kubernetes.cri-o.ContainerType"
#define VC_ANNOT_CRIO_SANDBOX_ID "io.kubernetes.cri-o.SandboxID"
/* What `state` shows: the id of the container whose VM this one runs in. */
#define VC_ANNOT_SANDBOX "io.vcrun.sandbox"
/* The guest spec's form of "the namespace of container ID of this sandbox". */
#define VC_GUEST_NS_CONTAINER_PREFIX "/run/vcrun/container/"

/* A name for host-wide things of container id (a network namespace pin, a
 * share): the id alone would collide between two --root directories. */
char *vc_sandbox_host_name(const char *root, const char *id);
/* Where the share of a sandbox lives: outside --root, so that a caller removing
 * the state root never walks into a container's rootfs bound there. */
#define VC_SHARE_RUN_DIR "/run/vcrun/shared"
char *vc_sandbox_share_dir(const char *root, const char *owner);

struct vc_sandbox_join {
	char *owner;	  /* the container whose sandbox to join; NULL: boot one */
	char *key;	  /* the CRI sandbox id this container names or starts, or NULL */
	bool pod_sandbox; /* the pod's sandbox container: the pod ends with it */
	/* For each namespace type: the sandbox member whose namespace the spec's path
	 * names (the guest gives the container that member's namespace), or NULL. */
	char *ns_member[VC_NS__COUNT];
};
void vc_sandbox_join_release(struct vc_sandbox_join *j);

/* Decides where container id of spec goes, within root. Errors name the
 * annotation or linux.namespaces entry at fault: an unknown or stopped sandbox,
 * namespaces of two different sandboxes. */
int vc_sandbox_resolve(const char *root, const char *id, const struct vc_oci_spec *spec,
		       struct vc_sandbox_join *j, struct vc_error *err);

/* A VFIO group goes to one container: EBUSY naming the group, the sandbox and
 * the container when a live container of root (other than id) has one of
 * groups[0..n) in its plan. */
int vc_sandbox_vfio_free(const char *root, const char *id, const unsigned *groups, size_t n,
			 struct vc_error *err);

/* The guest spec's namespaces (guest_spec is the plan's JSON copy): a path that
 * names a member's namespace becomes VC_GUEST_NS_CONTAINER_PREFIX + member; any
 * other path is dropped (the container gets a namespace of its own in the guest,
 * and the network is the VM's), but a user namespace's: the agent refuses it. */
struct vc_json;
int vc_sandbox_guest_namespaces(struct vc_json *guest_spec, const struct vc_sandbox_join *j,
				struct vc_error *err);

/* share.c: a container's binds into the sandbox share (the plan's binds, targets
 * relative to the share dir). Mounted on the host; undone in reverse, and only
 * empty directories and placeholder files are ever removed, so a bind that will
 * not go never costs the data behind it. */
struct vc_plan;
int vc_share_prepare(const char *share_dir, struct vc_error *err);
int vc_share_bind(const char *share_dir, const struct vc_plan *plan, struct vc_error *err);
/* Undoes one container's binds (a missing one is fine). */
int vc_share_unbind(const char *share_dir, const char *id, struct vc_error *err);
/* Unmounts everything under the share dir, then the share itself. */
int vc_share_release(const char *share_dir, struct vc_error *err);

#endif
