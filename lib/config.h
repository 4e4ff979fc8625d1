/* vcrun's own configuration: /etc/vcrun/config.json (or $VCRUN_CONFIG), with the
 * guest image found next to the executable by default, so bin/vcrun in the source
 * tree and an installed /usr/local/bin/vcrun both work without configuration. */
#ifndef VC_LIB_CONFIG_H
#define VC_LIB_CONFIG_H

#include "common/error.h"
#include "hv/hv.h"

#define VC_CONFIG_DEFAULT "/etc/vcrun/config.json"

/* Which guest kernel: "kernel" in the config is "auto" (or absent), "debian",
 * "lean" or a path. auto takes the lean kernel when `make guest-kernel` put one
 * beside the executable, else Debian's. */
enum vc_kernel_kind {
	VC_KERNEL_DEBIAN,
	VC_KERNEL_LEAN,
	VC_KERNEL_PATH,
};

struct vc_config {
	char *qemu, *kernel, *initrd, *virtiofsd;
	enum vc_kernel_kind kernel_kind; /* what kernel/initrd are */
	bool kernel_auto;		 /* chosen by "auto", not named in the config */
	unsigned mem_mib, vcpus;
	enum vc_hv_accel accel; /* AUTO unless configured */
	enum vc_hv_fs fs;
	int boot_timeout_ms; /* agent handshake */
	char *kernel_params; /* extra kernel command line */
	bool vfio_bind;	     /* bind requested VFIO groups to vfio-pci (off by default) */
	/* Spare PCIe root ports each VM boots with, for devices added while it runs
	 * (a late NIC, a joining container's VFIO device); 0: none. */
	unsigned hotplug_root_ports;
	/* Room for a joining container's memory limit and CPUs: memory that can be
	 * added to a running VM (MiB), and the vCPUs it may grow to (0: the host's
	 * CPU count). */
	unsigned hotplug_memory_mib, max_vcpus;
	/* Start VMs as clones of a saved template VM (lib/template.h); the annotation
	 * io.vcrun.template overrides it per container. */
	bool template;
	/* TCG's translation cache (-accel tcg,tb-size=N), MiB; 0: QEMU's own default
	 * (1 GiB in QEMU 7.2). KVM ignores it. */
	unsigned tcg_tb_size_mib;
	/* A rootfs that is the mount of a host block device goes to the VM as that
	 * disk, not through the share (lib/blkroot.h); the annotation
	 * io.vcrun.block-rootfs overrides it per container. Off by default. */
	bool block_rootfs;
	/* QEMU confined (hv/jail.c): its own mount namespace, uid
	 * hypervisor_uid_base + its pid (0: uid 0), no capability but the 9p
	 * server's. On by default; only root can confine. */
	bool confine_hypervisor;
	uint32_t hypervisor_uid_base;
};

/* Whether create confines QEMU (hv/jail.c): asked for, and only real root can
 * make it a mount namespace and another uid (rootless, QEMU is the user's). */
bool vc_config_confines(const struct vc_config *cfg);

/* Default hotplug_root_ports: see hv/README.md for what each port costs at boot. */
#define VC_CONFIG_HOTPLUG_PORTS	     4
#define VC_CONFIG_HOTPLUG_MEMORY_MIB 4096
/* Default tcg_tb_size_mib: bench/tcg.sh and bench/README.md measured it. */
#define VC_CONFIG_TCG_TB_SIZE_MIB 32
#define VC_CONFIG_TCG_TB_SIZE_MAX VC_HV_TCG_TB_SIZE_MAX

/* The guest image files beside the executable (../share/vcrun/). */
#define VC_KERNEL_DEBIAN_FILE "vmlinuz"
#define VC_INITRD_DEBIAN_FILE "initramfs.img"
#define VC_KERNEL_LEAN_FILE   "vmlinux-lean"
#define VC_INITRD_LEAN_FILE   "initramfs-lean.img"

/* "debian", "lean" or "path": for `vcrun check` and the debug log. */
const char *vc_kernel_kind_name(enum vc_kernel_kind k);

/* Reads the config file if present (a missing file is fine; a bad one is an error
 * naming the file and field) and fills defaults. */
int vc_config_load(struct vc_config *cfg, struct vc_error *err);
void vc_config_release(struct vc_config *cfg);
/* The in-memory core of load: applies the text of a config file (file names it in
 * errors) over what cfg holds. On error cfg may be half-applied: release it. */
int vc_config_parse(struct vc_config *cfg, const char *buf, size_t len, const char *file,
		    struct vc_error *err);

/* The accelerator to use: the configured one, or the probe's answer (cached per
 * boot, see vc_accel_cache_path). why gets the reason, the warning to give, when
 * this call's probe chose TCG because KVM cannot run guests; a TCG answer from the
 * cache leaves it empty and only goes to the debug log. */
int vc_config_resolve_accel(const struct vc_config *cfg, const char *root, enum vc_hv_accel *out,
			    char *why, size_t why_len, struct vc_error *err);
/* The same for reports (`vcrun plan`): why gets the reason for TCG, cached or not. */
int vc_config_describe_accel(const struct vc_config *cfg, const char *root, enum vc_hv_accel *out,
			     char *why, size_t why_len, struct vc_error *err);

#endif
