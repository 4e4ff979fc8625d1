/* The sandbox plan: what `create` decided from the spec and vcrun's config, before
 * anything is started. Written to the state dir as plan.json so the monitor (a
 * separate process) executes exactly what was validated, and so `vcrun plan` can
 * print it. */
#ifndef VC_LIB_PLAN_H
#define VC_LIB_PLAN_H

#include "common/error.h"
#include "hv/hv.h"
#include "lib/blkroot.h"
#include "lib/config.h"
#include "oci/json.h"
#include "oci/spec.h"

/* "true" or "false": this container's VM is a template clone or not, whatever
 * vcrun's config says. */
#define VC_ANNOT_TEMPLATE "io.vcrun.template"
/* "true", or container paths separated by commas: those linux.devices entries are
 * made in the guest only (a node of the guest kernel's, no host device behind it),
 * where a host character device would be refused and a block device attached. */
#define VC_ANNOT_DEVICES_GUEST_ONLY "io.vcrun.devices.guest-only"

#define VC_GUEST_STORAGE_DIR "/run/vcrun/storage"
/* In the state dir: this container's VM bridged its network namespace (the taps
 * there are its own, for teardown to remove). */
#define VC_NETNS_BRIDGED_FILE "netns.bridged"

/* How passed PCI devices reach the container: the annotation io.vcrun.vfio-mode. */
enum vc_plan_vfio_mode {
	VC_PLAN_VFIO_GUEST_KERNEL, /* "guest-kernel" (default): a guest driver binds them */
	VC_PLAN_VFIO_VFIO,	   /* "vfio": vfio-pci in the guest, /dev/vfio/G in the container */
};

/* A host path bound into the sandbox share (lib/share.c) at target, relative to
 * the share: ID/rootfs or ID/mN-NAME. what names the spec field, for errors. */
struct vc_plan_bind {
	char *source, *target, *what;
	bool readonly, recursive, file;
};

/* The one share of a sandbox, and its tag in the guest. */
#define VC_SANDBOX_SHARE_TAG "sandbox"

struct vc_plan {
	char *container_id;
	char *qemu, *kernel, *initrd, *virtiofsd, *kernel_params;
	enum vc_hv_accel accel;
	enum vc_hv_fs fs;
	enum vc_hv_channel channel; /* vsock where the host has vhost-vsock */
	uint32_t vsock_cid;
	unsigned mem_mib, vcpus;
	int boot_timeout_ms;
	unsigned hotplug_ports;		     /* spare PCIe root ports (config hotplug_root_ports) */
	unsigned hotplug_mem_mib, max_vcpus; /* room to grow (config); 0: none */
	unsigned tcg_tb_size_mib;	     /* config tcg_tb_size_mib; 0: QEMU's default */
	struct vc_hv_share *shares;	     /* the sandbox share: one */
	size_t n_shares;
	struct vc_plan_bind *binds; /* this container's rootfs and bind mounts */
	size_t n_binds;
	/* VFIO passthrough: where each host function goes in the guest (vfio/ decides) */
	struct vc_hv_vfio_pci *vfio_pci;
	size_t n_vfio_pci;
	char **vfio_ap;
	size_t n_vfio_ap;
	uint64_t pci_hole64_bytes;
	/* vfio mode: the VM gets a virtual IOMMU, and the guest spec keeps /dev/vfio/N
	 * with an annotation per group saying where its functions went (agent/vfio.c). */
	enum vc_plan_vfio_mode vfio_mode;
	/* The container's network namespace (NULL: the host's, and the VM gets no NIC):
	 * the spec's path, or VC_NETNS_RUN_DIR/<id> that create makes (owned). The
	 * monitor scans it after the prestart hooks and bridges what it finds. */
	char *netns_path;
	bool netns_owned;
	/* Start as a clone of a template VM when one fits (lib/template.h): config
	 * "template", or the annotation io.vcrun.template. */
	bool template;
	/* QEMU confined (config confine_hypervisor, when vcrun runs as real root);
	 * uid base as in hv's vc_hv_config. */
	bool confine;
	uint32_t hv_uid_base;
	/* Host block devices as virtio-blk disks (hv's blks; target set for a
	 * linux.devices entry, NULL for a block-backed rootfs). */
	struct vc_hv_blk *blks;
	size_t n_blks;
	/* A block-backed rootfs (lib/blkroot.h): the host's mount that create unmounts
	 * and teardown mounts back; its disk is in blks (no target). NULL: the rootfs
	 * goes through the share. */
	struct vc_blkroot *blk_rootfs;
	struct vc_json *storages;   /* array of Storage (docs/agent-protocol.md) */
	struct vc_json *guest_spec; /* config.json rewritten for the guest */
};

/* Where a container goes: its --root (absolute) and id, the container whose
 * sandbox it lives in (owner: its own id when it boots the VM), and where
 * /dev/vhost-vsock and a rootfs's block node are looked for ("/dev"; a fake tree in
 * tests); mountinfo and sysfs_root (NULL: /proc/self/mountinfo, /sys) are where a
 * block-backed rootfs is found. */
struct vc_plan_where {
	const char *root, *id, *owner, *dev_root;
	const char *mountinfo, *sysfs_root;
};
/* accel must already be resolved (KVM or TCG). */
int vc_plan_build(const struct vc_plan_where *w, const struct vc_oci_spec *spec,
		  const struct vc_config *cfg, enum vc_hv_accel accel, struct vc_plan *plan,
		  struct vc_error *err);

/* Takes the VFIO placement into the plan (copied). In guest-kernel mode it drops the
 * /dev/vfio nodes from the guest's spec: the guest gets PCI devices, not the host's
 * group nodes. In vfio mode the nodes stay and each group N gets the annotation
 * io.vcrun.vfio.group.N = "PORT.FUNCTION,..." for the agent; AP devices are refused. */
struct vc_vfio_plan;
int vc_plan_set_vfio(struct vc_plan *plan, const struct vc_vfio_plan *vp, struct vc_error *err);
/* The rest of linux.devices (lib/plan-devices.c): each host block device becomes a
 * disk of the plan (read-only when the spec's device cgroup rules deny it `w`),
 * its entry kept for the agent; a host character device that the guest kernel
 * lacks is refused (EINVAL naming the entry) unless io.vcrun.devices.guest-only
 * names it; a privileged spec (every device allowed) attaches and refuses nothing.
 * Call after vc_plan_set_vfio. */
int vc_plan_set_devices(struct vc_plan *plan, const struct vc_oci_spec *spec, struct vc_error *err);
int vc_plan_to_json(const struct vc_plan *plan, char **out, size_t *len, struct vc_error *err);
int vc_plan_from_json(const char *text, size_t len, const char *source, struct vc_plan *plan,
		      struct vc_error *err);
/* ROOT/ID/plan.json read (bounded) and parsed; errors name the file (ENOENT when
 * there is none). */
int vc_plan_load(const char *root, const char *id, struct vc_plan *plan, struct vc_error *err);
/* The hypervisor config for the plan (pointers borrowed from plan). */
void vc_plan_hv_config(const struct vc_plan *plan, const char *state_dir, struct vc_hv_config *cfg);
void vc_plan_release(struct vc_plan *plan);
/* The id (virtio-blk serial, QEMU id) of this container's disk number index:
 * unique in a VM as container ids are, VC_HV_BLK_ID_MAX at most. */
void vc_plan_blk_id(const char *container_id, size_t index, char id[VC_HV_BLK_ID_MAX + 1]);
/* CreateContainer's `devices` for the agent (docs/agent-protocol.md, "Device"):
 * one per disk with a target. NULL when out of memory. */
struct vc_json *vc_plan_agent_devices(const struct vc_plan *plan);
/* "guest-kernel" or "vfio". */
const char *vc_plan_vfio_mode_name(enum vc_plan_vfio_mode m);
/* The IPv4 loopback resolver that the container's resolv.conf names (docker's
 * 127.0.0.11), which the guest reaches only through the agent's DNS relay; *addr
 * NULL when it names none. Read when the VM boots, not at create: docker rewrites
 * the file from its prestart hook, when it starts its resolver. */
int vc_plan_dns_relay(const struct vc_plan *plan, char **addr);

#endif
