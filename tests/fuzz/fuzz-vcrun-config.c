/* libFuzzer entry for vcrun's own configuration file (/etc/vcrun/config.json or
 * $VCRUN_CONFIG; lib/config.c vc_config_parse, the in-memory core of
 * vc_config_load). What it accepts must be in the documented ranges; what it
 * refuses names the file and the field.
 *
 * `make fuzz` builds it (build/fuzz/fuzz-vcrun-config); tests/integration/51-fuzz.bats
 * runs it for a few seconds on a copy of tests/fuzz/corpus/vcrun-config.
 * By hand: build/fuzz/fuzz-vcrun-config -max_len=4096 CORPUS_DIR
 *
 * Input: the bytes of a config file. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "lib/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* vc_config_load's defaults, without its look at /proc/self/exe. */
	struct vc_config cfg = {
		.qemu = strdup("qemu-system-x86_64"),
		.kernel = strdup("/k"),
		.initrd = strdup("/i"),
		.virtiofsd = strdup("/v"),
		.mem_mib = 512,
		.vcpus = 1,
		.accel = VC_ACCEL_AUTO,
		.fs = VC_FS_9P,
		.boot_timeout_ms = 120000,
		.hotplug_root_ports = VC_CONFIG_HOTPLUG_PORTS,
		.hotplug_memory_mib = VC_CONFIG_HOTPLUG_MEMORY_MIB,
	};
	struct vc_error err = {0};
	int r = vc_config_parse(&cfg, (const char *)data, size, "config.json", &err);
	if (r < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code == -r);
		FUZZ_ASSERT(!strncmp(err.msg, "config.json", strlen("config.json")));
	} else {
		FUZZ_ASSERT(cfg.qemu && cfg.kernel && cfg.initrd && cfg.virtiofsd);
		FUZZ_ASSERT(cfg.mem_mib >= 1 && cfg.mem_mib <= (1u << 20));
		FUZZ_ASSERT(cfg.vcpus >= 1 && cfg.vcpus <= 256);
		FUZZ_ASSERT(cfg.boot_timeout_ms > 0 && cfg.boot_timeout_ms <= 3600 * 1000);
		FUZZ_ASSERT(cfg.hotplug_root_ports <= VC_HV_HOTPLUG_PORTS_MAX);
		FUZZ_ASSERT(cfg.hotplug_memory_mib <= (1u << 20) && cfg.max_vcpus <= 255);
	}
	vc_config_release(&cfg);
	return 0;
}
