/* The hypervisor interface. QEMU is the first backend (hv/qemu.c); the monitor in
 * lib/ only sees this header. */
#ifndef VC_HV_HV_H
#define VC_HV_HV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum vc_hv_accel {
	VC_ACCEL_AUTO, /* probe: KVM if a guest really runs on it, else TCG */
	VC_ACCEL_KVM,
	VC_ACCEL_TCG,
};

enum vc_hv_channel {
	VC_CHANNEL_SERIAL, /* virtio-serial port on a chardev socket */
	VC_CHANNEL_VSOCK,  /* vhost-vsock-pci with a guest CID */
};

enum vc_hv_fs {
	VC_FS_9P,
	VC_FS_VIRTIOFS,
};

/* A host directory shared into the guest under a mount tag. */
struct vc_hv_share {
	char *tag;	 /* <= 31 bytes, unique */
	char *host_path; /* directory */
	bool readonly;
};

/* A host PCI function passed through with vfio-pci. It sits behind pcie-root-port
 * `port` (id rpN, chassis N, slot N, on pcie.0) as function `function` of that
 * port's only slot. vfio/ fills these (vc_vfio_place), so the functions of one
 * host slot stay functions of one guest slot. */
struct vc_hv_vfio_pci {
	char *host;	    /* BDF, "0000:01:00.0" */
	unsigned port;	    /* 1..255 */
	unsigned function;  /* 0..7 */
	bool multifunction; /* on function 0 of a slot with several functions */
	/* Added for the vfio mode (append only): */
	unsigned group; /* the host IOMMU group it came from (hv does not use it) */
};

/* A guest NIC: virtio-net on an existing tap of the network namespace QEMU runs in
 * (netns/ made the tap and its redirect; QEMU only attaches to it). */
struct vc_hv_nic {
	char *tap;    /* tap device name in cfg->netns_path */
	char *mac;    /* "02:42:ac:11:00:02": the namespace interface's, so ARP stays true */
	unsigned mtu; /* told to the guest driver (host_mtu); 0: QEMU's default */
};

/* A host block device given to the guest as a virtio-blk disk (issue 16). id is
 * both its QEMU device id and its virtio-blk serial, which is how the guest agent
 * finds it (/sys/block/vdX/serial): 1 to VC_HV_BLK_ID_MAX letters and digits,
 * starting with a letter. Its drive is the blockdev node "d" + id. */
struct vc_hv_blk {
	char *path;    /* the host's block node, "/dev/loop3" */
	char *id;      /* "vcb1a2b3c4d5e6f00" */
	bool readonly; /* read-only drive: the guest cannot write it */
	/* Not the hypervisor's (hv does not use it): where the container sees it, the
	 * spec's linux.devices path; NULL for a block-backed rootfs. */
	char *target;
};
#define VC_HV_BLK_ID_MAX 20 /* VIRTIO_BLK_ID_BYTES: a longer serial is cut */

struct vc_hv_config {
	const char *qemu_path;
	const char *kernel, *initrd;
	const char *cmdline_extra; /* appended to the kernel command line, may be NULL */
	unsigned mem_mib, vcpus;
	const char *state_dir;	/* qmp.sock, agent.sock, console.log, virtiofsd sockets */
	enum vc_hv_accel accel; /* resolved: KVM or TCG, never AUTO here */
	enum vc_hv_channel channel;
	uint32_t vsock_cid; /* for VC_CHANNEL_VSOCK */
	enum vc_hv_fs fs;
	const char *virtiofsd_path; /* for VC_FS_VIRTIOFS */
	struct vc_hv_share *shares;
	size_t n_shares;
	bool sandbox; /* -sandbox on */
	/* Added for VFIO (append only): */
	const struct vc_hv_vfio_pci *vfio_pci; /* grouped by port, function 0 first */
	size_t n_vfio_pci;
	char *const *vfio_ap; /* AP mediated devices: sysfs paths for vfio-ap */
	size_t n_vfio_ap;
	uint64_t pci_hole64_bytes; /* q35's 64-bit MMIO window; 0: QEMU's default */
	/* Added for networking (append only): */
	const char *netns_path; /* QEMU runs in this network namespace; NULL: the caller's */
	const struct vc_hv_nic *nics;
	size_t n_nics;
	/* Added for the vfio mode (append only): a virtual IOMMU, so the guest has IOMMU
	 * groups of its own for a program in the container to open through VFIO:
	 * intel-iommu before the root ports, kernel-irqchip=split under KVM (interrupt
	 * remapping needs the I/O APIC in QEMU), intel_iommu=on for the guest kernel, and
	 * ACPI hot-plug off on the root ports so pciehp names each port's slot by its
	 * number (/sys/bus/pci/slots/N in the guest). */
	bool viommu;
	/* Added for hot-plug (append only): spare pcie-root-ports, empty at boot, for
	 * devices added while the VM runs (vc_hv_hotplug_*). They are numbered after
	 * the VFIO ports: rpN, chassis N, slot N, N from vc_hv_spare_port_first. */
	unsigned hotplug_ports; /* at most VC_HV_HOTPLUG_PORTS_MAX */
	/* Room for memory and vCPUs added while the VM runs: -m N,slots=S,maxmem=N+M
	 * (S = VC_HV_MEM_SLOTS) with hot-added memory onlined movable by the guest
	 * kernel, so that it can be given back; -smp N,maxcpus=C. 0: none. */
	unsigned hotplug_mem_mib, max_vcpus;
	/* Added for VM templates (append only; hv/template.c). Guest RAM in the file
	 * mem_path (memory-backend-file): a template maps it shared, so its memory
	 * lands in the file; a clone maps it private (mem_private), a copy-on-write
	 * view whose untouched pages stay the page cache's, shared by every clone.
	 * A clone's QEMU runs without transparent huge pages (hv_spawn_opts.no_thp). */
	const char *mem_path;
	bool mem_private;
	/* -device vmgenid,guid=G ("auto": QEMU picks one): a clone's new id makes
	 * the guest kernel reseed its CRNG when it resumes. NULL: no device. */
	const char *vmgenid;
	bool incoming; /* -incoming defer: the machine waits for vc_hv_restore */
	/* QEMU dies with the process that started it (a template's builder: a monitor
	 * killed half-way must not leave its template VM running). */
	bool bound;
	/* Added for the TCG footprint (append only): TCG's translation cache in MiB,
	 * `-accel tcg,tb-size=N`; 0 keeps `-M q35,accel=tcg` and QEMU's default (1 GiB
	 * in QEMU 7.2, most of an idle VM's RSS once touched: bench/tcg.sh). */
	unsigned tcg_tb_size_mib; /* at most VC_HV_TCG_TB_SIZE_MAX */
	/* Added for block devices (append only): virtio-blk disks at boot, on pcie.0. */
	const struct vc_hv_blk *blks;
	size_t n_blks;
	/* Added for confinement (append only; hv/jail.c, issue 12): QEMU in a mount
	 * namespace of its own holding only what it needs, as uid hv_uid_base + its
	 * pid and gid hv_uid_base (0: uid 0), with no capability but the 9p server's,
	 * and every socket, log, tap, disk and vhost device passed in as an fd. */
	bool confine;
	uint32_t hv_uid_base;
	/* -name guest=NAME (NULL: none): the container's state dir, so that `ps`
	 * (and the tests) can tell which container a QEMU serves once its cwd and
	 * argv no longer name it (a confined QEMU lives in / of its jail). */
	const char *vm_name;
};
/* The default hv_uid_base: above systemd's container range (524288 to
 * 1879048191), below the 2^31 that tools read as negative; with pid_max at most
 * 2^22 a QEMU's uid stays under 0x70400000. */
#define VC_HV_UID_BASE_DEFAULT 0x70000000u
#define VC_HV_PID_MAX	       (1u << 22)

#define VC_HV_MEM_SLOTS 8
/* Linux adds memory in blocks of 128 MiB on x86: a DIMM is a multiple of it. */
#define VC_HV_MEM_BLOCK_MIB 128

/* Spare root ports at most: each one costs the guest's boot a little (hv/README.md). */
#define VC_HV_HOTPLUG_PORTS_MAX 64
#define VC_HV_TCG_TB_SIZE_MAX	16384 /* MiB: 16 GiB, past any useful cache */

struct vc_hv {
	pid_t pid;	    /* QEMU */
	pid_t *helper_pids; /* virtiofsd, one per share */
	size_t n_helpers;
	char *qmp_path, *agent_path, *console_path;
	/* Added after the first version (append only): */
	char *log_path;	       /* qemu.log: QEMU's stdout and stderr */
	char **helper_sockets; /* virtiofsd sockets, NULL-terminated, parallel to helper_pids */
	/* Added for hot-plug (append only): the spare root ports and what was plugged
	 * into them (vc_hv_hotplug_*; vc_hv_start fills the range). */
	unsigned spare_first, n_spare;
	struct vc_hv_plugged *plugged;
	size_t n_plugged;
	unsigned hotplug_mem_mib; /* room left for DIMMs */
	bool shared_mem;	  /* virtio-fs: guest RAM must be shareable memfd */
	enum vc_hv_accel accel;	  /* which CPU model a hot-added vCPU is */
	/* Added for confinement (append only): QEMU opens no tap or disk itself;
	 * hot-plug passes them over QMP. netns_path: where its taps are. */
	bool confined;
	char *netns_path;
};

/* A device added while the VM runs: its QEMU id, the root port it took, and the
 * backend (a netdev's id) that goes with it. */
enum vc_hv_plug_kind {
	VC_HV_PLUG_PCI,	 /* in a spare root port; backend: a netdev or none */
	VC_HV_PLUG_DIMM, /* pc-dimm; backend: its memory-backend object */
	VC_HV_PLUG_CPU,
	VC_HV_PLUG_BLK, /* virtio-blk in a spare root port; backend: its blockdev node */
};

struct vc_hv_plugged {
	char id[32];
	unsigned port;
	char backend[32]; /* "" when none */
	/* Added after the first version (append only): */
	enum vc_hv_plug_kind kind;
	unsigned mib; /* a DIMM's size */
};

/* The QEMU argv (NULL-terminated, malloc'd strings) for a config: pure, no I/O,
 * so `vcrun plan` and unit tests can print and check it. */
int vc_hv_qemu_argv(const struct vc_hv_config *cfg, char ***argv, struct vc_error *err);

/* Starts QEMU (and virtiofsd) with stdio on /dev/null and stderr to
 * state_dir/qemu.log, in a new process group, without any fd of the caller's but
 * the ones it needs. Returns once QEMU has created its QMP socket, or fails with
 * the last lines of qemu.log in the message. */
int vc_hv_start(const struct vc_hv_config *cfg, struct vc_hv *hv, struct vc_error *err);

/* Asks QEMU to quit over QMP, waits up to timeout_ms, then SIGKILLs it (and the
 * helpers) and reaps them if they are our children. */
int vc_hv_stop(struct vc_hv *hv, int timeout_ms, struct vc_error *err);
void vc_hv_release(struct vc_hv *hv); /* frees strings and arrays, touches no process */

/* QMP: one command on a fresh connection (capabilities negotiated), e.g.
 * "quit", "stop", "cont". *reply may be NULL. */
int vc_hv_qmp_command(const char *qmp_path, const char *command, char **reply,
		      struct vc_error *err);
/* The same with arguments (a JSON object text, or NULL) and a timeout for the
 * whole exchange (<= 0: 5 s). *reply gets the "return" value as JSON text. A QMP
 * "error" reply fails with EIO and "CLASS: desc" in the message. */
int vc_hv_qmp_execute(const char *qmp_path, const char *command, const char *args_json,
		      int timeout_ms, char **reply, struct vc_error *err);

/* ---- templates (hv/template.c) ---------------------------------------------- */

/* Pauses the VM and saves its device state into state_file (created 0600,
 * replaced) with x-ignore-shared: RAM in a shared file (cfg->mem_path) is not
 * copied. The file goes to QEMU as an fd (QMP getfd): no shell, no exec. Bounded
 * by timeout_ms (<= 0: 30 s); the VM stays paused. */
int vc_hv_snapshot(const char *qmp_path, const char *state_file, int timeout_ms,
		   struct vc_error *err);
/* The clone's side: a VM started with cfg->incoming loads state_file (as an fd)
 * with x-ignore-shared, and runs (cont). A truncated or foreign file makes QEMU
 * fail the load (QEMU 7.2 then exits): an error, within timeout_ms (<= 0: 10 s). */
int vc_hv_restore(const struct vc_hv *hv, const char *state_file, int timeout_ms,
		  struct vc_error *err);

/* ---- block devices (hv/blk.c) -------------------------------------------- */

/* Checks a disk's id and path (messages name "blks[i]"-free fields: the caller
 * wraps them). */
int vc_hv_blk_check(const struct vc_hv_blk *b, struct vc_error *err);
/* blockdev-add's arguments (and -blockdev's JSON form at boot): the host_device
 * driver on b->path, node "d" + id, read-only as b says. Pure. */
int vc_hv_qmp_blockdev_args(const struct vc_hv_blk *b, char **out, struct vc_error *err);

/* ---- hot-plug (hv/hotplug.c) ---------------------------------------------- */

/* The number of the first spare root port of a config: one past its highest VFIO
 * port (1 without VFIO). */
unsigned vc_hv_spare_port_first(const struct vc_hv_config *cfg);

/* Spare root ports that hold no device of ours. */
unsigned vc_hv_spare_ports_free(const struct vc_hv *hv);

/* A virtio-net NIC on an existing tap of the VM's network namespace (QEMU runs
 * there and opens it by name), in a free spare root port: netdev_add, then
 * device_add; the netdev is deleted again when device_add fails. id (1..24
 * characters of [A-Za-z0-9_-]) names the device (its netdev is id + "-net").
 * ENOSPC naming hotplug_ports when no spare port is left; EIO with QEMU's reason
 * (naming the device) when QEMU refuses. */
int vc_hv_hotplug_nic(struct vc_hv *hv, const char *id, const struct vc_hv_nic *nic,
		      struct vc_error *err);
/* A host PCI function (bound to vfio-pci) into a free spare root port. */
int vc_hv_hotplug_vfio(struct vc_hv *hv, const char *id, const char *host, struct vc_error *err);
/* mib MiB of guest memory as a pc-dimm (a multiple of VC_HV_MEM_BLOCK_MIB, within
 * the room hotplug_mem_mib left): object-add of its backend, then device_add;
 * the backend goes again when device_add fails. The guest kernel onlines it
 * (memhp_default_state=online_movable). */
int vc_hv_hotplug_memory(struct vc_hv *hv, const char *id, unsigned mib, struct vc_error *err);
/* One more vCPU (the first free one query-hotpluggable-cpus lists); the guest's
 * agent onlines it. ENOSPC when every possible vCPU is there. */
int vc_hv_hotplug_vcpu(struct vc_hv *hv, const char *id, struct vc_error *err);
/* A disk (hv/blk.c's struct) into a free spare root port: blockdev-add of node
 * "d" + id on b->path (QEMU's host_device driver for a block node, file for a
 * regular file), then virtio-blk-pci with id and serial b->id; the node goes again
 * when device_add fails. EEXIST when b->id is plugged already; ENOTBLK when the
 * path is neither. Its unplug deletes the node too, so the host device is closed. */
int vc_hv_hotplug_blk(struct vc_hv *hv, const struct vc_hv_blk *b, struct vc_error *err);
/* Removes a device vc_hv_hotplug_* added: device_del, then waits up to timeout_ms
 * (<= 0: 10 s) for QEMU's DEVICE_DELETED (the guest must let go of it first), then
 * deletes its backend and frees its port. ENOENT when id was not plugged; ENOTSUP
 * for a vCPU under TCG (QEMU 7.2 crashes there), which stays plugged. */
int vc_hv_unplug(struct vc_hv *hv, const char *id, int timeout_ms, struct vc_error *err);

/* The QMP arguments (JSON object text, malloc'd) that vc_hv_hotplug_* sends: pure,
 * for tests and `vcrun plan`. */
int vc_hv_qmp_netdev_args(const char *id, const struct vc_hv_nic *nic, char **out,
			  struct vc_error *err);
int vc_hv_qmp_nic_args(const char *id, const struct vc_hv_nic *nic, unsigned port, char **out,
		       struct vc_error *err);
int vc_hv_qmp_vfio_args(const char *id, const char *host, unsigned port, char **out,
			struct vc_error *err);
int vc_hv_qmp_blk_device_args(const struct vc_hv_blk *b, unsigned port, char **out,
			      struct vc_error *err);
int vc_hv_qmp_memory_args(const char *id, unsigned mib, bool shared, char **backend, char **device,
			  struct vc_error *err);

/* Picks the accelerator: KVM only if /dev/kvm opens and a tiny guest actually runs
 * on it under QEMU (a PVM host's /dev/kvm opens but cannot run ordinary guests).
 * The answer is cached in cache_file (keyed on the boot id and QEMU path) when
 * cache_file is non-NULL. why gets a short reason when TCG is chosen. *probed
 * (may be NULL) says whether this call ran the probe rather than reading the cache:
 * the decision is new, and worth telling the user once. */
int vc_hv_accel_probe(const char *qemu_path, const char *cache_file, enum vc_hv_accel *out,
		      bool *probed, char *why, size_t why_len, struct vc_error *err);

const char *vc_hv_accel_name(enum vc_hv_accel a);

/* The probe itself: runs a 64 KiB firmware that goes from real mode to long mode
 * with paging and then writes 0x2a to an isa-debug-exit port, under accel (KVM or
 * TCG), for at most timeout_ms (<= 0: 5 s). Returns 0
 * when QEMU could be started; *ran is true when the guest code ran (QEMU exited
 * 85); otherwise why gets QEMU's first stderr line or what happened instead. */
int vc_hv_probe_guest(const char *qemu_path, enum vc_hv_accel accel, int timeout_ms, bool *ran,
		      char *why, size_t why_len, struct vc_error *err);

#endif
