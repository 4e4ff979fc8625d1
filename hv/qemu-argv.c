/* The QEMU command line for a sandbox VM: a pure function of the config, so
 * `vcrun plan` and the unit tests can print and check it. */
#include "hv/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-proto/transport.h" /* VC_AGENT_SERIAL_NAME: one spelling for host and guest */
#include "common/cleanup.h"
#include "common/rootless.h"
#include "common/util.h"

/* The guest kernel's command line. Past the console and panic/reboot settings, these
 * skip work a VM does not need (as Kata's defaults do): TSC calibration and timer
 * checks, the i8042 keyboard probe, the crypto self-tests, scanning PCI buses past
 * bus 0, extra UARTs, and slow RCU grace periods. Under TCG they cut the guest's boot
 * by about a quarter (guest/README.md). */
#define HV_KERNEL_PARAMS                                                                       \
	"console=ttyS0 panic=-1 reboot=k quiet tsc=reliable no_timer_check "                   \
	"rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 " \
	"noreplace-smp cryptomgr.notests pci=lastbus=0 8250.nr_uarts=1"

/* Linux x86 COMMAND_LINE_SIZE, NUL included. */
#define HV_CMDLINE_MAX 2048
/* virtio-9p and virtio-fs mount tags (the 9p limit; virtio-fs allows 36). */
#define HV_TAG_MAX 31
/* Strongest -sandbox that still runs everything this argv uses (see hv/README.md). */
#define HV_SANDBOX_OPTS "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

static int check_socket_path(const char *state_dir, const char *name, struct vc_error *err)
{
	struct sockaddr_un sa;
	/* "/" + name + NUL must fit in sun_path. */
	if (strlen(state_dir) + 1 + strlen(name) + 1 > sizeof(sa.sun_path))
		return vc_error_set(err, ENAMETOOLONG,
				    "state_dir: `%s` is too long for the Unix socket `%s` in it",
				    state_dir, name);
	return 0;
}

static const char *channel_name(enum vc_hv_channel c)
{
	return c == VC_CHANNEL_VSOCK ? "vsock" : "serial";
}

/* " vcrun.modules=SET,..." (or ""): the guest's on-demand module sets this VM needs
 * at boot (guest/modules.list); every other VM skips their load time. */
static void module_sets(const struct vc_hv_config *cfg, char *buf, size_t len)
{
	const char *sets[3];
	size_t n = 0;
	if (cfg->channel == VC_CHANNEL_VSOCK)
		sets[n++] = "vsock";
	if (cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0)
		sets[n++] = "virtiofs";
	if (cfg->n_nics > 0)
		sets[n++] = "net";
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
			 i ? "," : " vcrun.modules=", sets[i]);
}

/* The guest kernel's command line, as -append gets it; NULL on ENOMEM. */
static char *kernel_cmdline(const struct vc_hv_config *cfg)
{
	char sets[64];
	module_sets(cfg, sets, sizeof(sets));
	/* Hot-added memory movable: only such memory can be offlined again. */
	return vc_strdup_printf(HV_KERNEL_PARAMS " vcrun.channel=%s%s%s%s%s%s",
				channel_name(cfg->channel), sets,
				cfg->hotplug_mem_mib ? " memhp_default_state=online_movable" : "",
				cfg->viommu ? " " HV_VIOMMU_PARAMS : "",
				cfg->cmdline_extra && *cfg->cmdline_extra ? " " : "",
				cfg->cmdline_extra ? cfg->cmdline_extra : "");
}

int hv_config_validate(const struct vc_hv_config *cfg, struct vc_error *err)
{
	if (!cfg)
		return vc_error_set(err, EINVAL, "no hypervisor config");
	if (!cfg->qemu_path || !*cfg->qemu_path)
		return vc_error_set(err, EINVAL, "qemu_path: must be set");
	if (!cfg->kernel || !*cfg->kernel)
		return vc_error_set(err, EINVAL, "kernel: must be set");
	if (!cfg->initrd || !*cfg->initrd)
		return vc_error_set(err, EINVAL, "initrd: must be set");
	if (!cfg->state_dir || !*cfg->state_dir)
		return vc_error_set(err, EINVAL, "state_dir: must be set");
	if (cfg->mem_mib == 0)
		return vc_error_set(err, EINVAL, "mem_mib: must be > 0");
	if (cfg->vcpus == 0)
		return vc_error_set(err, EINVAL, "vcpus: must be > 0");
	if (cfg->max_vcpus > 255)
		return vc_error_set(err, EINVAL, "max_vcpus: %u is more than 255", cfg->max_vcpus);
	if ((uint64_t)cfg->mem_mib + cfg->hotplug_mem_mib > (1u << 22))
		return vc_error_set(err, EINVAL, "hotplug_mem_mib: %u MiB above %u MiB is too much",
				    cfg->hotplug_mem_mib, cfg->mem_mib);
	if (cfg->accel != VC_ACCEL_KVM && cfg->accel != VC_ACCEL_TCG)
		return vc_error_set(err, EINVAL,
				    "accel: must be resolved to kvm or tcg (probe first)");
	if (cfg->tcg_tb_size_mib > VC_HV_TCG_TB_SIZE_MAX)
		return vc_error_set(err, EINVAL, "tcg_tb_size_mib: %u is more than %d",
				    cfg->tcg_tb_size_mib, VC_HV_TCG_TB_SIZE_MAX);
	if (cfg->channel != VC_CHANNEL_SERIAL && cfg->channel != VC_CHANNEL_VSOCK)
		return vc_error_set(err, EINVAL, "channel: unknown value %d", (int)cfg->channel);
	/* 0 and 1 are reserved, 2 is the host, U32_MAX is VMADDR_CID_ANY. */
	if (cfg->channel == VC_CHANNEL_VSOCK &&
	    (cfg->vsock_cid < 3 || cfg->vsock_cid == UINT32_MAX))
		return vc_error_set(err, EINVAL,
				    "vsock_cid: %u is not a guest CID (3 to 4294967294)",
				    cfg->vsock_cid);
	if (cfg->fs != VC_FS_9P && cfg->fs != VC_FS_VIRTIOFS)
		return vc_error_set(err, EINVAL, "fs: unknown value %d", (int)cfg->fs);
	if (cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0 &&
	    (!cfg->virtiofsd_path || !*cfg->virtiofsd_path))
		return vc_error_set(err, EINVAL,
				    "virtiofsd_path: must be set for virtio-fs shares");
	if (cfg->n_shares > 0 && !cfg->shares)
		return vc_error_set(err, EINVAL, "shares: NULL with n_shares %zu", cfg->n_shares);

	for (size_t i = 0; i < cfg->n_shares; i++) {
		const struct vc_hv_share *s = &cfg->shares[i];
		if (!s->tag || !*s->tag)
			return vc_error_set(err, EINVAL, "shares[%zu].tag: must not be empty", i);
		if (strlen(s->tag) > HV_TAG_MAX)
			return vc_error_set(err, EINVAL,
					    "shares[%zu].tag: `%s` is longer than %d bytes", i,
					    s->tag, HV_TAG_MAX);
		for (const char *p = s->tag; *p; p++) {
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return vc_error_set(err, EINVAL,
						    "shares[%zu].tag: `%s` contains a space or "
						    "control character",
						    i, s->tag);
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(cfg->shares[j].tag, s->tag))
				return vc_error_set(err, EINVAL,
						    "shares[%zu].tag: `%s` is also shares[%zu].tag",
						    i, s->tag, j);
		}
		if (!s->host_path || !*s->host_path)
			return vc_error_set(err, EINVAL, "shares[%zu].host_path: must not be empty",
					    i);
	}

	if (cfg->n_nics > 0 && (!cfg->nics || !cfg->netns_path))
		return vc_error_set(err, EINVAL, "nics: need a network namespace (netns_path)");
	for (size_t i = 0; i < cfg->n_nics; i++) {
		const struct vc_hv_nic *n = &cfg->nics[i];
		if (!n->tap || !*n->tap || strlen(n->tap) >= 16)
			return vc_error_set(err, EINVAL, "nics[%zu].tap: must be an interface name",
					    i);
		unsigned b[6];
		char tail;
		if (!n->mac || sscanf(n->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
				      &b[3], &b[4], &b[5], &tail) != 6)
			return vc_error_set(err, EINVAL, "nics[%zu].mac: `%s` is not a MAC address",
					    i, n->mac ? n->mac : "");
		if (n->mtu && (n->mtu < 68 || n->mtu > 65535))
			return vc_error_set(err, EINVAL, "nics[%zu].mtu: %u is out of range", i,
					    n->mtu);
	}

	if (cfg->mem_path && (!*cfg->mem_path || (cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares)))
		return vc_error_set(err, EINVAL,
				    "mem_path: must be a file, and not with virtio-fs shares "
				    "(their RAM is a memfd)");
	if (cfg->vmgenid) {
		for (const char *p = cfg->vmgenid; *p; p++)
			if (!strchr("0123456789abcdefABCDEF-", *p) && strcmp(cfg->vmgenid, "auto"))
				return vc_error_set(err, EINVAL,
						    "vmgenid: `%s` is not a GUID or \"auto\"",
						    cfg->vmgenid);
	}
	int r = hv_vfio_validate(cfg, err);
	if (r == 0)
		r = hv_blk_validate(cfg, err);
	if (r == 0)
		r = check_socket_path(cfg->state_dir, HV_QMP_SOCK, err);
	if (r == 0)
		r = check_socket_path(cfg->state_dir, HV_AGENT_SOCK, err);
	if (r == 0 && cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0) {
		char name[64];
		snprintf(name, sizeof(name), HV_VIRTIOFSD_FMT ".sock", cfg->n_shares - 1);
		r = check_socket_path(cfg->state_dir, name, err);
	}
	if (r < 0)
		return r;

	_cleanup_free_ char *line = kernel_cmdline(cfg);
	if (!line)
		return vc_error_set(err, ENOMEM, "out of memory");
	size_t cmdline = strlen(line);
	if (cmdline >= HV_CMDLINE_MAX)
		return vc_error_set(err, EINVAL,
				    "cmdline_extra: the kernel command line would be %zu bytes "
				    "(at most %d)",
				    cmdline, HV_CMDLINE_MAX - 1);
	return 0;
}

char *hv_qopt(const char *s)
{
	size_t n = strlen(s), commas = 0;
	for (const char *p = s; *p; p++)
		commas += *p == ',';
	char *out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* Appends to a NULL-terminated argv; the first failure sticks in *r. */
static void add(char ***v, int *r, const char *s)
{
	if (*r == 0)
		*r = vc_strv_push(v, s);
}

static void __attribute__((format(printf, 3, 4))) addf(char ***v, int *r, const char *fmt, ...)
{
	if (*r != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		s = NULL;
		*r = -ENOMEM;
	}
	va_end(ap);
	if (s)
		add(v, r, s);
}

/* Path of a file in the state dir, escaped for an option string. */
static char *state_qopt(const struct vc_hv_config *cfg, const char *name)
{
	_cleanup_free_ char *p = vc_strdup_printf("%s/%s", cfg->state_dir, name);
	return p ? hv_qopt(p) : NULL;
}

static void add_channel(const struct vc_hv_config *cfg, char ***v, int *r)
{
	if (cfg->channel == VC_CHANNEL_VSOCK) {
		add(v, r, "-device");
		if (cfg->confine)
			addf(v, r, "vhost-vsock-pci,guest-cid=%u,vhostfd=%d", cfg->vsock_cid,
			     HV_FD_AGENT);
		else
			addf(v, r, "vhost-vsock-pci,guest-cid=%u", cfg->vsock_cid);
		return;
	}
	_cleanup_free_ char *sock = state_qopt(cfg, HV_AGENT_SOCK);
	if (!sock) {
		*r = -ENOMEM;
		return;
	}
	add(v, r, "-device");
	add(v, r, "virtio-serial-pci,id=vser0");
	add(v, r, "-chardev");
	if (cfg->confine)
		addf(v, r, "socket,id=agent,fd=%d,server=on,wait=off", HV_FD_AGENT);
	else
		addf(v, r, "socket,id=agent,path=%s,server=on,wait=off", sock);
	add(v, r, "-device");
	add(v, r, "virtserialport,bus=vser0.0,chardev=agent,name=" VC_AGENT_SERIAL_NAME);
}

static void add_shares(const struct vc_hv_config *cfg, char ***v, int *r)
{
	if (cfg->fs == VC_FS_VIRTIOFS && cfg->n_shares > 0) {
		/* vhost-user needs guest RAM that virtiofsd can map. */
		add(v, r, "-object");
		addf(v, r, "memory-backend-memfd,id=mem,size=%uM,share=on", cfg->mem_mib);
		add(v, r, "-numa");
		add(v, r, "node,memdev=mem");
	}
	for (size_t i = 0; i < cfg->n_shares && *r == 0; i++) {
		const struct vc_hv_share *s = &cfg->shares[i];
		_cleanup_free_ char *tag = hv_qopt(s->tag);
		if (!tag) {
			*r = -ENOMEM;
			return;
		}
		if (cfg->fs == VC_FS_9P) {
			_cleanup_free_ char *path = hv_qopt(s->host_path);
			if (!path) {
				*r = -ENOMEM;
				return;
			}
			/* multidevs=remap: a share spanning host filesystems (bind
			 * mounts in a rootfs) keeps unique inode numbers in the guest. */
			/* security_model: "none" as root (chown failures go unreported,
			 * as ever). Rootless inside podman's user namespace, "passthrough":
			 * QEMU is root there and the guest's uids are the namespace's,
			 * which map to the user's subuids, so the guest's chown is a real
			 * chown the kernel allows, and one to an unmapped uid fails
			 * visibly instead of leaving a file owned by the wrong user.
			 * mapped-xattr would keep ownership in xattrs the host's tools
			 * (podman's storage, the image's files) do not read. A plain
			 * non-zero euid can chown nothing: "none" there too. */
			bool pass = vc_rootless(NULL, 0) && geteuid() == 0;
			add(v, r, "-fsdev");
			addf(v, r, "local,id=fs%zu,path=%s,security_model=%s,multidevs=remap%s", i,
			     path, pass ? "passthrough" : "none",
			     s->readonly ? ",readonly=on" : "");
			add(v, r, "-device");
			addf(v, r, "virtio-9p-pci,fsdev=fs%zu,mount_tag=%s", i, tag);
		} else {
			char name[64];
			snprintf(name, sizeof(name), HV_VIRTIOFSD_FMT ".sock", i);
			_cleanup_free_ char *sock = state_qopt(cfg, name);
			if (!sock) {
				*r = -ENOMEM;
				return;
			}
			add(v, r, "-chardev");
			if (cfg->confine)
				addf(v, r, "socket,id=vfs%zu,fd=%d", i, hv_fd_vfsd(cfg, i));
			else
				addf(v, r, "socket,id=vfs%zu,path=%s", i, sock);
			add(v, r, "-device");
			addf(v, r, "vhost-user-fs-pci,chardev=vfs%zu,tag=%s", i, tag);
		}
	}
}

/* A template's or a clone's RAM: the same file, shared (the template writes its
 * memory there) or private (a clone's copy-on-write view of it). */
static void add_mem_file(const struct vc_hv_config *cfg, char ***v, int *r)
{
	if (!cfg->mem_path)
		return;
	_cleanup_free_ char *path = hv_qopt(cfg->mem_path);
	if (!path) {
		*r = -ENOMEM;
		return;
	}
	add(v, r, "-object");
	addf(v, r, "memory-backend-file,id=mem,size=%uM,mem-path=%s,share=%s", cfg->mem_mib, path,
	     cfg->mem_private ? "off" : "on");
}

/* The tap exists already (persistent, made by netns/): QEMU attaches by name in its
 * own network namespace and runs no scripts. No vhost (no /dev/vhost-net in most
 * sandboxes; QEMU falls back by itself only when asked with vhostforce=off), no
 * option ROM (the kernel is booted directly, so PXE is never used). */
static void add_nics(const struct vc_hv_config *cfg, char ***v, int *r)
{
	for (size_t i = 0; i < cfg->n_nics && *r == 0; i++) {
		const struct vc_hv_nic *n = &cfg->nics[i];
		_cleanup_free_ char *tap = hv_qopt(n->tap);
		_cleanup_free_ char *mac = hv_qopt(n->mac);
		if (!tap || !mac) {
			*r = -ENOMEM;
			return;
		}
		add(v, r, "-netdev");
		if (cfg->confine)
			addf(v, r, "tap,id=net%zu,fd=%d,vhost=off", i, hv_fd_nic(cfg, i));
		else
			addf(v, r, "tap,id=net%zu,ifname=%s,script=no,downscript=no,vhost=off", i,
			     tap);
		add(v, r, "-device");
		if (n->mtu)
			addf(v, r, "virtio-net-pci,netdev=net%zu,mac=%s,host_mtu=%u,romfile=", i,
			     mac, n->mtu);
		else
			addf(v, r, "virtio-net-pci,netdev=net%zu,mac=%s,romfile=", i, mac);
	}
}

int vc_hv_qemu_argv(const struct vc_hv_config *cfg, char ***argv, struct vc_error *err)
{
	int r = hv_config_validate(cfg, err);
	if (r < 0)
		return r;

	bool kvm = cfg->accel == VC_ACCEL_KVM;
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	_cleanup_free_ char *console = state_qopt(cfg, HV_CONSOLE_LOG);
	_cleanup_free_ char *qmp = state_qopt(cfg, HV_QMP_SOCK);
	if (!v || !console || !qmp)
		return vc_error_set(err, ENOMEM, "out of memory");

	add(&v, &r, cfg->qemu_path);
	add(&v, &r, "-M");
	/* intel-iommu's interrupt remapping needs the I/O APIC emulated in QEMU under
	 * KVM (QEMU refuses intremap=on with the in-kernel one); TCG has only that.
	 * TCG's tb-size is a property of the accelerator, which only -accel sets (and
	 * QEMU refuses -accel beside -M accel=). */
	bool tb_size = !kvm && cfg->tcg_tb_size_mib;
	addf(&v, &r, "%s%s",
	     kvm       ? (cfg->viommu ? "q35,accel=kvm,kernel-irqchip=split" : "q35,accel=kvm")
	     : tb_size ? "q35"
		       : "q35,accel=tcg",
	     cfg->mem_path ? ",memory-backend=mem" : "");
	if (tb_size) {
		add(&v, &r, "-accel");
		addf(&v, &r, "tcg,tb-size=%u", cfg->tcg_tb_size_mib);
	}
	add_mem_file(cfg, &v, &r);
	add(&v, &r, "-cpu");
	add(&v, &r, kvm ? "host" : "max");
	add(&v, &r, "-m");
	if (cfg->hotplug_mem_mib)
		addf(&v, &r, "%uM,slots=%d,maxmem=%uM", cfg->mem_mib, VC_HV_MEM_SLOTS,
		     cfg->mem_mib + cfg->hotplug_mem_mib);
	else
		addf(&v, &r, "%uM", cfg->mem_mib);
	add(&v, &r, "-smp");
	if (cfg->max_vcpus > cfg->vcpus)
		addf(&v, &r, "%u,maxcpus=%u", cfg->vcpus, cfg->max_vcpus);
	else
		addf(&v, &r, "%u", cfg->vcpus);
	/* No default NIC, VGA, serial, parallel, monitor or CD-ROM; no config files
	 * from the host; a guest reboot ends QEMU like a power-off does. */
	if (cfg->vm_name) {
		_cleanup_free_ char *name = hv_qopt(cfg->vm_name);
		add(&v, &r, "-name");
		if (!name)
			r = -ENOMEM;
		else
			addf(&v, &r, "guest=%s", name);
	}
	add(&v, &r, "-nodefaults");
	add(&v, &r, "-no-user-config");
	add(&v, &r, "-display");
	add(&v, &r, "none");
	add(&v, &r, "-no-reboot");
	if (cfg->sandbox) {
		add(&v, &r, "-sandbox");
		add(&v, &r, HV_SANDBOX_OPTS);
	}
	/* A confined QEMU's console log is an fd set of one (QEMU opens "/dev/fdset/N"
	 * by taking a dup of it), its QMP socket one made and listening already. */
	add(&v, &r, "-chardev");
	if (cfg->confine) {
		addf(&v, &r, "file,id=console,path=/dev/fdset/%d", HV_FD_CONSOLE);
		add(&v, &r, "-add-fd");
		addf(&v, &r, "fd=%d,set=%d", HV_FD_CONSOLE, HV_FD_CONSOLE);
	} else {
		addf(&v, &r, "file,id=console,path=%s", console);
	}
	add(&v, &r, "-serial");
	add(&v, &r, "chardev:console");
	add(&v, &r, "-chardev");
	if (cfg->confine)
		addf(&v, &r, "socket,id=qmp,fd=%d,server=on,wait=off", HV_FD_QMP);
	else
		addf(&v, &r, "socket,id=qmp,path=%s,server=on,wait=off", qmp);
	add(&v, &r, "-mon");
	add(&v, &r, "chardev=qmp,mode=control");
	add(&v, &r, "-kernel");
	add(&v, &r, cfg->kernel);
	add(&v, &r, "-initrd");
	add(&v, &r, cfg->initrd);
	add(&v, &r, "-append");
	_cleanup_free_ char *cmdline = kernel_cmdline(cfg);
	if (!cmdline)
		return vc_error_set(err, ENOMEM, "out of memory");
	add(&v, &r, cmdline);
	add_channel(cfg, &v, &r);
	add_shares(cfg, &v, &r);
	add_nics(cfg, &v, &r);
	if (r == 0)
		r = hv_blk_argv(cfg, &v);
	if (cfg->vmgenid) {
		add(&v, &r, "-device");
		addf(&v, &r, "vmgenid,guid=%s", cfg->vmgenid);
	}
	if (cfg->incoming) {
		add(&v, &r, "-incoming");
		add(&v, &r, "defer");
	}
	if (r == 0)
		r = hv_vfio_argv(cfg, &v);
	if (r < 0)
		return vc_error_set(err, -r, "building the QEMU command line: out of memory");
	*argv = steal_ptr(v);
	return 0;
}
