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
};

/* Reads the config file if present (a missing file is fine; a bad one is an error
 * naming the file and field) and fills defaults. */
int vc_config_load(struct vc_config *cfg, struct vc_error *err);
void vc_config_release(struct vc_config *cfg);

#endif
