/* vcrun's own configuration: /etc/vcrun/config.json (or $VCRUN_CONFIG), with the
 * guest image found next to the executable by default, so bin/vcrun in the source
 * tree and an installed /usr/local/bin/vcrun both work without configuration. */
#ifndef VC_LIB_CONFIG_H
#define VC_LIB_CONFIG_H

#include "common/error.h"
#include "hv/hv.h"

#define VC_CONFIG_DEFAULT "/etc/vcrun/config.json"

struct vc_config {
	char *qemu, *kernel, *initrd, *virtiofsd;
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
};

/* Default hotplug_root_ports: see hv/README.md for what each port costs at boot. */
#define VC_CONFIG_HOTPLUG_PORTS	     4
#define VC_CONFIG_HOTPLUG_MEMORY_MIB 4096

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
