#include "lib/config.h"

#include <errno.h>
#include <stdio.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"
#include "lib/log.h"
#include "lib/spawn.h"
#include "lib/vcrun.h"
#include "oci/json.h"

/* dirname(the vcrun program)/../share/vcrun/NAME */
static char *beside_exe(const char *name)
{
	_cleanup_free_ char *exe = realpath(vc_self_exe(), NULL);
	return exe ? vc_strdup_printf("%s/../share/vcrun/%s", dirname(exe), name) : NULL;
}

static int take_string(const struct vc_json *doc, const char *key, const char *file, char **dst,
		       struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(doc, key);
	if (!v)
		return 0;
	if (v->type != VC_JSON_STRING)
		return vc_error_set(err, EINVAL, "%s: %s: must be a string", file, key);
	char *s = strdup(v->u.string.ptr);
	if (!s)
		return vc_error_set(err, ENOMEM, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

static int take_uint(const struct vc_json *doc, const char *key, const char *file, unsigned max,
		     unsigned *dst, struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(doc, key);
	uint64_t u;
	if (!v)
		return 0;
	if (vc_json_to_u64(v, &u) < 0 || u == 0 || u > max)
		return vc_error_set(err, EINVAL, "%s: %s: must be an integer from 1 to %u", file,
				    key, max);
	*dst = (unsigned)u;
	return 0;
}

static int take_bool(const struct vc_json *doc, const char *key, const char *file, bool *dst,
		     struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(doc, key);
	if (v && v->type != VC_JSON_BOOL)
		return vc_error_set(err, EINVAL, "%s: %s: must be true or false", file, key);
	if (v)
		*dst = v->u.boolean;
	return 0;
}

/* 0 (QEMU keeps uid 0), or a base whose whole range of pids stays a plain uid. */
static int take_uid_base(const struct vc_json *doc, const char *file, uint32_t *dst,
			 struct vc_error *err)
{
	const struct vc_json *v = vc_json_get(doc, "hypervisor_uid_base");
	uint64_t u;
	const uint64_t max = (1ull << 31) - VC_HV_PID_MAX;
	if (!v)
		return 0;
	if (vc_json_to_u64(v, &u) < 0 || (u != 0 && (u < 65536 || u > max)))
		return vc_error_set(err, EINVAL,
				    "%s: hypervisor_uid_base: must be 0 (uid 0) or an integer "
				    "from 65536 to %llu",
				    file, (unsigned long long)max);
	*dst = (uint32_t)u;
	return 0;
}

int vc_config_parse(struct vc_config *cfg, const char *buf, size_t len, const char *file,
		    struct vc_error *err)
{
	_cleanup_json_ struct vc_json *doc = NULL;
	if (vc_json_parse(buf, len, file, &doc, err) < 0)
		return -EINVAL;
	if (doc->type != VC_JSON_OBJECT)
		return vc_error_set(err, EINVAL, "%s: must be a JSON object", file);
	if (take_string(doc, "qemu", file, &cfg->qemu, err) < 0 ||
	    take_string(doc, "kernel", file, &cfg->kernel, err) < 0 ||
	    take_string(doc, "initrd", file, &cfg->initrd, err) < 0 ||
	    take_string(doc, "virtiofsd", file, &cfg->virtiofsd, err) < 0 ||
	    take_string(doc, "kernel_params", file, &cfg->kernel_params, err) < 0 ||
	    take_uint(doc, "memory_mib", file, 1 << 20, &cfg->mem_mib, err) < 0 ||
	    take_uint(doc, "vcpus", file, 256, &cfg->vcpus, err) < 0)
		return -EINVAL;
	/* 0 is a valid count here (no spare ports), unlike the sizes above. */
	const struct vc_json *ports = vc_json_get(doc, "hotplug_root_ports");
	uint64_t u = 0;
	if (ports && (vc_json_to_u64(ports, &u) < 0 || u > VC_HV_HOTPLUG_PORTS_MAX))
		return vc_error_set(err, EINVAL,
				    "%s: hotplug_root_ports: must be an integer from 0 to %d", file,
				    VC_HV_HOTPLUG_PORTS_MAX);
	if (ports)
		cfg->hotplug_root_ports = (unsigned)u;
	const struct vc_json *hmem = vc_json_get(doc, "hotplug_memory_mib");
	if (hmem && (vc_json_to_u64(hmem, &u) < 0 || u > (1u << 20)))
		return vc_error_set(err, EINVAL,
				    "%s: hotplug_memory_mib: must be an integer from 0 to %u", file,
				    1u << 20);
	if (hmem)
		cfg->hotplug_memory_mib = (unsigned)u;
	if (take_uint(doc, "max_vcpus", file, 255, &cfg->max_vcpus, err) < 0)
		return -EINVAL;
	const struct vc_json *tb = vc_json_get(doc, "tcg_tb_size_mib");
	if (tb && (vc_json_to_u64(tb, &u) < 0 || u > VC_CONFIG_TCG_TB_SIZE_MAX))
		return vc_error_set(err, EINVAL,
				    "%s: tcg_tb_size_mib: must be an integer from 0 (QEMU's "
				    "default) to %d",
				    file, VC_CONFIG_TCG_TB_SIZE_MAX);
	if (tb)
		cfg->tcg_tb_size_mib = (unsigned)u;
	if (take_bool(doc, "vfio_bind", file, &cfg->vfio_bind, err) < 0 ||
	    take_bool(doc, "template", file, &cfg->template, err) < 0 ||
	    take_bool(doc, "block_rootfs", file, &cfg->block_rootfs, err) < 0 ||
	    take_bool(doc, "confine_hypervisor", file, &cfg->confine_hypervisor, err) < 0 ||
	    take_uid_base(doc, file, &cfg->hypervisor_uid_base, err) < 0)
		return -EINVAL;
	unsigned timeout_s = 0;
	if (take_uint(doc, "boot_timeout_seconds", file, 3600, &timeout_s, err) < 0)
		return -EINVAL;
	if (timeout_s)
		cfg->boot_timeout_ms = (int)timeout_s * 1000;
	const char *accel = vc_json_str(vc_json_get(doc, "accel"));
	if (vc_json_get(doc, "accel")) {
		if (accel && !strcmp(accel, "auto"))
			cfg->accel = VC_ACCEL_AUTO;
		else if (accel && !strcmp(accel, "kvm"))
			cfg->accel = VC_ACCEL_KVM;
		else if (accel && !strcmp(accel, "tcg"))
			cfg->accel = VC_ACCEL_TCG;
		else
			return vc_error_set(err, EINVAL,
					    "%s: accel: must be \"auto\", \"kvm\" or \"tcg\"",
					    file);
	}
	const char *fs = vc_json_str(vc_json_get(doc, "shared_fs"));
	if (vc_json_get(doc, "shared_fs")) {
		if (fs && !strcmp(fs, "9p"))
			cfg->fs = VC_FS_9P;
		else if (fs && !strcmp(fs, "virtio-fs"))
			cfg->fs = VC_FS_VIRTIOFS;
		else
			return vc_error_set(err, EINVAL,
					    "%s: shared_fs: must be \"9p\" or \"virtio-fs\"", file);
	}
	return 0;
}

const char *vc_kernel_kind_name(enum vc_kernel_kind k)
{
	return k == VC_KERNEL_LEAN ? "lean" : k == VC_KERNEL_DEBIAN ? "debian" : "path";
}

/* "kernel": auto (or absent), debian, lean or a path, into the files to boot. The
 * lean kernel's initramfs has no modules (they are built in), so it goes with its
 * own initrd unless the config names one. */
static int choose_kernel(struct vc_config *cfg, const char *file, struct vc_error *err)
{
	_cleanup_free_ char *lean = beside_exe(VC_KERNEL_LEAN_FILE);
	_cleanup_free_ char *lean_initrd = beside_exe(VC_INITRD_LEAN_FILE);
	if (!lean || !lean_initrd)
		return vc_error_set(err, ENOMEM, "out of memory");
	const char *k = cfg->kernel;
	cfg->kernel_auto = !k || !strcmp(k, "auto");
	if (cfg->kernel_auto)
		cfg->kernel_kind = access(lean, R_OK) == 0 && access(lean_initrd, R_OK) == 0
					   ? VC_KERNEL_LEAN
					   : VC_KERNEL_DEBIAN;
	else if (!strcmp(k, "lean"))
		cfg->kernel_kind = VC_KERNEL_LEAN;
	else if (!strcmp(k, "debian"))
		cfg->kernel_kind = VC_KERNEL_DEBIAN;
	else
		cfg->kernel_kind = VC_KERNEL_PATH;
	if (cfg->kernel_kind == VC_KERNEL_LEAN && !cfg->kernel_auto) {
		const char *missing = access(lean, R_OK) < 0			      ? lean
				      : !cfg->initrd && access(lean_initrd, R_OK) < 0 ? lean_initrd
										      : NULL;
		if (missing)
			return vc_error_set(err, errno,
					    "%s: kernel: \"lean\": `%s`: %s (make "
					    "guest-kernel builds it)",
					    file, missing, strerror(errno));
	}
	bool lean_kind = cfg->kernel_kind == VC_KERNEL_LEAN;
	if (cfg->kernel_kind != VC_KERNEL_PATH) {
		free(cfg->kernel);
		cfg->kernel = lean_kind ? steal_ptr(lean) : beside_exe(VC_KERNEL_DEBIAN_FILE);
	}
	if (!cfg->initrd)
		cfg->initrd =
			lean_kind ? steal_ptr(lean_initrd) : beside_exe(VC_INITRD_DEBIAN_FILE);
	if (!cfg->kernel || !cfg->initrd)
		return vc_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int apply_file(struct vc_config *cfg, const char *file, struct vc_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (vc_read_file(file, 1 << 20, &buf, &len, err) < 0)
		return err && err->code == ENOENT ? 0 : -EIO;
	return vc_config_parse(cfg, buf, len, file, err);
}

bool vc_config_confines(const struct vc_config *cfg)
{
	return cfg->confine_hypervisor && geteuid() == 0 && !vc_rootless(NULL, 0);
}

int vc_config_load(struct vc_config *cfg, struct vc_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->qemu = strdup(VC_QEMU_DEFAULT);
	cfg->virtiofsd = strdup("/usr/lib/qemu/virtiofsd");
	cfg->mem_mib = 512;
	cfg->vcpus = 1;
	cfg->accel = VC_ACCEL_AUTO;
	cfg->fs = VC_FS_9P;
	cfg->boot_timeout_ms = 120000;
	cfg->hotplug_root_ports = VC_CONFIG_HOTPLUG_PORTS;
	cfg->hotplug_memory_mib = VC_CONFIG_HOTPLUG_MEMORY_MIB;
	cfg->tcg_tb_size_mib = VC_CONFIG_TCG_TB_SIZE_MIB;
	cfg->confine_hypervisor = true;
	cfg->hypervisor_uid_base = VC_HV_UID_BASE_DEFAULT;
	if (!cfg->qemu || !cfg->virtiofsd) {
		vc_config_release(cfg);
		return vc_error_set(err, ENOMEM, "out of memory");
	}
	const char *file = getenv("VCRUN_CONFIG");
	if (!file || !*file)
		file = VC_CONFIG_DEFAULT;
	int r = apply_file(cfg, file, err);
	if (r == 0)
		r = choose_kernel(cfg, file, err);
	if (r < 0) {
		vc_config_release(cfg);
		return r == -ENOMEM ? r : -EINVAL;
	}
	vc_debug("guest kernel: %s (%s%s), initrd %s", cfg->kernel,
		 vc_kernel_kind_name(cfg->kernel_kind), cfg->kernel_auto ? ", auto" : "",
		 cfg->initrd);
	return 0;
}

void vc_config_release(struct vc_config *cfg)
{
	free(cfg->qemu);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->virtiofsd);
	free(cfg->kernel_params);
	memset(cfg, 0, sizeof(*cfg));
}

static int resolve_accel(const struct vc_config *cfg, const char *root, bool why_cached,
			 enum vc_hv_accel *out, char *why, size_t why_len, struct vc_error *err)
{
	why[0] = '\0';
	if (cfg->accel != VC_ACCEL_AUTO) {
		*out = cfg->accel;
		return 0;
	}
	_cleanup_free_ char *cache = vc_accel_cache_path(root);
	bool probed = false;
	int r = vc_hv_accel_probe(cfg->qemu, cache, out, &probed, why, why_len, err);
	if (r < 0)
		return r;
	if (*out == VC_ACCEL_TCG && !why[0])
		snprintf(why, why_len, "KVM is not usable here");
	/* Said on stderr by the call that decided; every later one only logs it
	 * (`vcrun check` always says it). */
	if (*out == VC_ACCEL_TCG && !probed) {
		vc_debug("%s: using TCG emulation (decided earlier, cached in %s)", why,
			 cache ? cache : "?");
		if (!why_cached)
			why[0] = '\0';
	}
	return 0;
}

int vc_config_resolve_accel(const struct vc_config *cfg, const char *root, enum vc_hv_accel *out,
			    char *why, size_t why_len, struct vc_error *err)
{
	return resolve_accel(cfg, root, false, out, why, why_len, err);
}

int vc_config_describe_accel(const struct vc_config *cfg, const char *root, enum vc_hv_accel *out,
			     char *why, size_t why_len, struct vc_error *err)
{
	return resolve_accel(cfg, root, true, out, why, why_len, err);
}
