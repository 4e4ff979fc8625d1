/* The sandbox plan: what `create` decided from the spec and vcrun's config, before
 * anything is started. Written to the state dir as plan.json so the monitor (a
 * separate process) executes exactly what was validated, and so `vcrun plan` can
 * print it. */
#ifndef VC_LIB_PLAN_H
#define VC_LIB_PLAN_H

#include "common/error.h"
#include "hv/hv.h"
#include "lib/config.h"
#include "oci/json.h"
#include "oci/spec.h"

#define VC_GUEST_STORAGE_DIR "/run/vcrun/storage"

struct vc_plan {
	char *container_id;
	char *qemu, *kernel, *initrd, *virtiofsd, *kernel_params;
	enum vc_hv_accel accel;
	enum vc_hv_fs fs;
	enum vc_hv_channel channel; /* vsock where the host has vhost-vsock */
	uint32_t vsock_cid;
	unsigned mem_mib, vcpus;
	int boot_timeout_ms;
	struct vc_hv_share *shares;
	size_t n_shares;
	/* VFIO passthrough: where each host function goes in the guest (vfio/ decides) */
	struct vc_hv_vfio_pci *vfio_pci;
	size_t n_vfio_pci;
	char **vfio_ap;
	size_t n_vfio_ap;
	uint64_t pci_hole64_bytes;
	/* The container's network namespace (NULL: the host's, and the VM gets no NIC):
	 * the spec's path, or VC_NETNS_RUN_DIR/<id> that create makes (owned). The
	 * monitor scans it after the prestart hooks and bridges what it finds. */
	char *netns_path;
	bool netns_owned;
	struct vc_json *storages;   /* array of Storage (docs/agent-protocol.md) */
	struct vc_json *guest_spec; /* config.json rewritten for the guest */
};

/* accel must already be resolved (KVM or TCG). dev_root is where /dev/vhost-vsock
 * is looked for ("/dev"; a fake tree in tests). */
int vc_plan_build(const char *id, const struct vc_oci_spec *spec, const struct vc_config *cfg,
		  enum vc_hv_accel accel, const char *dev_root, struct vc_plan *plan,
		  struct vc_error *err);
/* Takes the VFIO placement into the plan (copied) and drops the /dev/vfio nodes
 * from the guest's spec: the guest gets PCI devices, not the host's group nodes. */
struct vc_vfio_plan;
int vc_plan_set_vfio(struct vc_plan *plan, const struct vc_vfio_plan *vp, struct vc_error *err);
int vc_plan_to_json(const struct vc_plan *plan, char **out, size_t *len, struct vc_error *err);
int vc_plan_from_json(const char *text, size_t len, const char *source, struct vc_plan *plan,
		      struct vc_error *err);
/* The hypervisor config for the plan (pointers borrowed from plan). */
void vc_plan_hv_config(const struct vc_plan *plan, const char *state_dir, struct vc_hv_config *cfg);
void vc_plan_release(struct vc_plan *plan);
/* The IPv4 loopback resolver that the container's resolv.conf names (docker's
 * 127.0.0.11), which the guest reaches only through the agent's DNS relay; *addr
 * NULL when it names none. Read when the VM boots, not at create: docker rewrites
 * the file from its prestart hook, when it starts its resolver. */
int vc_plan_dns_relay(const struct vc_plan *plan, char **addr);

#endif
