/* hv/: the QEMU argv token by token, config validation, the QMP client against a
 * fake QMP server, the accel probe (its firmware under TCG, the full probe and its
 * cache), and real QEMU start/stop with a tiny multiboot kernel. Every process a
 * test starts is reaped before it ends. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"

#define QEMU "qemu-system-x86_64"
/* A forked helper gives up on its own after this, should the test die first. */
#define CHILD_ALARM_S 15

static char *tmp_path(const char *name)
{
	return vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
}

static bool gone(pid_t pid)
{
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/* Compares argv with want (NULL-terminated); names the first difference. */
static bool argv_is(char **argv, const char *const *want)
{
	size_t i = 0;
	for (; argv[i] && want[i]; i++) {
		if (strcmp(argv[i], want[i])) {
			fprintf(stderr, "# argv[%zu]: `%s`, want `%s`\n", i, argv[i], want[i]);
			return false;
		}
	}
	if (argv[i] || want[i]) {
		fprintf(stderr, "# argv[%zu]: `%s`, want `%s`\n", i, argv[i] ? argv[i] : "(end)",
			want[i] ? want[i] : "(end)");
		return false;
	}
	return true;
}

static size_t argv_find(char **argv, const char *tok)
{
	for (size_t i = 0; argv[i]; i++)
		if (!strcmp(argv[i], tok))
			return i;
	return (size_t)-1;
}

static struct vc_hv_share two_shares[] = {
	{.tag = "rootfs", .host_path = "/b/rootfs", .readonly = false},
	{.tag = "cfg", .host_path = "/b/a,b", .readonly = true},
};

static struct vc_hv_config base_config(void)
{
	return (struct vc_hv_config){
		.qemu_path = "/usr/bin/qemu-system-x86_64",
		.kernel = "/s/vmlinuz",
		.initrd = "/s/initramfs.img",
		.mem_mib = 512,
		.vcpus = 2,
		.state_dir = "/run/vc/x",
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
	};
}

VC_TEST(argv_tcg_serial_9p)
{
	struct vc_hv_config c = base_config();
	c.shares = two_shares;
	c.n_shares = 2;
	c.cmdline_extra = "vcrun.debug=1";
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	/* clang-format off */
	static const char *const want[] = {
		"/usr/bin/qemu-system-x86_64",
		"-M", "q35,accel=tcg",
		"-cpu", "max",
		"-m", "512M",
		"-smp", "2",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-chardev", "file,id=console,path=/run/vc/x/console.log",
		"-serial", "chardev:console",
		"-chardev", "socket,id=qmp,path=/run/vc/x/qmp.sock,server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-kernel", "/s/vmlinuz",
		"-initrd", "/s/initramfs.img",
		"-append", "console=ttyS0 panic=-1 reboot=k quiet tsc=reliable no_timer_check "
		"rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 "
		"noreplace-smp cryptomgr.notests pci=lastbus=0 8250.nr_uarts=1 vcrun.channel=serial vcrun.debug=1",
		"-device", "virtio-serial-pci,id=vser0",
		"-chardev", "socket,id=agent,path=/run/vc/x/agent.sock,server=on,wait=off",
		"-device", "virtserialport,bus=vser0.0,chardev=agent,name=vcrun.agent",
		"-fsdev", "local,id=fs0,path=/b/rootfs,security_model=none,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=fs0,mount_tag=rootfs",
		/* the comma in the path is doubled, as QEMU's option parser wants */
		"-fsdev", "local,id=fs1,path=/b/a,,b,security_model=none,multidevs=remap,readonly=on",
		"-device", "virtio-9p-pci,fsdev=fs1,mount_tag=cfg",
		NULL,
	};
	/* clang-format on */
	CHECK(argv_is(argv, want));
}

VC_TEST(argv_kvm_vsock_sandbox)
{
	struct vc_hv_config c = base_config();
	c.accel = VC_ACCEL_KVM;
	c.channel = VC_CHANNEL_VSOCK;
	c.vsock_cid = 7;
	c.sandbox = true;
	c.vcpus = 1;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	/* clang-format off */
	static const char *const want[] = {
		"/usr/bin/qemu-system-x86_64",
		"-M", "q35,accel=kvm",
		"-cpu", "host",
		"-m", "512M",
		"-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
		"-chardev", "file,id=console,path=/run/vc/x/console.log",
		"-serial", "chardev:console",
		"-chardev", "socket,id=qmp,path=/run/vc/x/qmp.sock,server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-kernel", "/s/vmlinuz",
		"-initrd", "/s/initramfs.img",
		"-append", "console=ttyS0 panic=-1 reboot=k quiet tsc=reliable no_timer_check "
		"rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 "
		"noreplace-smp cryptomgr.notests pci=lastbus=0 8250.nr_uarts=1 vcrun.channel=vsock vcrun.modules=vsock",
		"-device", "vhost-vsock-pci,guest-cid=7",
		NULL,
	};
	/* clang-format on */
	CHECK(argv_is(argv, want));
}

/* Frees an argv for the next build (the cleanup attribute frees the last one). */
static void argv_reset(char ***argv)
{
	vc_strv_freep(argv);
	*argv = NULL;
}

/* The vfio mode: the virtual IOMMU precedes the root ports and the vfio-pci devices,
 * KVM gets a split irqchip (QEMU's intremap needs it), the guest kernel
 * intel_iommu=on. With no device at all the IOMMU is still there (the guest
 * boots with it; tests/integration/60-vfio.bats). */
VC_TEST(argv_vfio_mode_viommu)
{
	static const struct vc_hv_vfio_pci nic[] = {
		{.host = "0000:03:00.0", .port = 1, .function = 0, .group = 7},
	};
	struct vc_hv_config c = base_config();
	c.accel = VC_ACCEL_KVM;
	c.viommu = true;
	c.vfio_pci = nic;
	c.n_vfio_pci = 1;
	c.pci_hole64_bytes = 32ULL << 30;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	size_t m = argv_find(argv, "-M");
	CHECK(m != (size_t)-1 && argv[m + 1]);
	CHECK_STR(argv[m + 1], "q35,accel=kvm,kernel-irqchip=split");
	size_t ap = argv_find(argv, "-append");
	CHECK(ap != (size_t)-1 && argv[ap + 1]);
	CHECK(strstr(argv[ap + 1], " vcrun.channel=serial intel_iommu=on") != NULL);
	size_t io = argv_find(argv, "intel-iommu,intremap=on,caching-mode=on");
	size_t hp = argv_find(argv, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
	size_t rp = argv_find(argv, "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0");
	size_t dev = argv_find(argv, "vfio-pci,host=0000:03:00.0,bus=rp1,addr=0x0.0");
	CHECK(io != (size_t)-1 && hp != (size_t)-1 && rp != (size_t)-1 && dev != (size_t)-1);
	CHECK_STR(argv[io - 1], "-device");
	CHECK_STR(argv[hp - 1], "-global");
	CHECK(hp < io && io < rp && rp < dev);

	/* TCG: no irqchip option; no device: the IOMMU all the same */
	argv_reset(&argv);
	c.accel = VC_ACCEL_TCG;
	c.n_vfio_pci = 0;
	c.vfio_pci = NULL;
	c.pci_hole64_bytes = 0;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	m = argv_find(argv, "-M");
	CHECK_STR(argv[m + 1], "q35,accel=tcg");
	CHECK(argv_find(argv, "intel-iommu,intremap=on,caching-mode=on") != (size_t)-1);
	CHECK(argv_find(argv, "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0") == (size_t)-1);

	/* guest-kernel mode: nothing of it */
	argv_reset(&argv);
	c.viommu = false;
	c.accel = VC_ACCEL_KVM;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	m = argv_find(argv, "-M");
	CHECK_STR(argv[m + 1], "q35,accel=kvm");
	CHECK(argv_find(argv, "-accel") == (size_t)-1);
	ap = argv_find(argv, "-append");
	CHECK(strstr(argv[ap + 1], "intel_iommu") == NULL);
	CHECK(argv_find(argv, "intel-iommu,intremap=on,caching-mode=on") == (size_t)-1);

	/* the parameter counts against the kernel command line's limit */
	char extra[2048];
	size_t fixed = strlen(argv[ap + 1]) - strlen(" vcrun.channel=serial");
	size_t room = 2047 - fixed - strlen(" vcrun.channel=serial") - 1;
	memset(extra, 'x', room);
	extra[room] = '\0';
	c.cmdline_extra = extra;
	argv_reset(&argv);
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	argv_reset(&argv);
	c.viommu = true;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK(strstr(err.msg, "cmdline_extra") != NULL);
}

VC_TEST(argv_virtiofs)
{
	struct vc_hv_config c = base_config();
	c.fs = VC_FS_VIRTIOFS;
	c.virtiofsd_path = "/usr/lib/qemu/virtiofsd";
	c.shares = two_shares;
	c.n_shares = 2;
	c.mem_mib = 256;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	size_t i = argv_find(argv, "memory-backend-memfd,id=mem,size=256M,share=on");
	CHECK(i != (size_t)-1);
	/* clang-format off */
	static const char *const tail[] = {
		"-object", "memory-backend-memfd,id=mem,size=256M,share=on",
		"-numa", "node,memdev=mem",
		"-chardev", "socket,id=vfs0,path=/run/vc/x/virtiofsd-0.sock",
		"-device", "vhost-user-fs-pci,chardev=vfs0,tag=rootfs",
		"-chardev", "socket,id=vfs1,path=/run/vc/x/virtiofsd-1.sock",
		"-device", "vhost-user-fs-pci,chardev=vfs1,tag=cfg",
		NULL,
	};
	/* clang-format on */
	CHECK(argv_is(argv + i - 1, tail));
	CHECK(argv_find(argv, "-fsdev") == (size_t)-1);
	/* the rest is as with 9p */
	CHECK_STR(argv[argv_find(argv, "-m") + 1], "256M");
	CHECK(argv_find(argv, "virtio-serial-pci,id=vser0") != (size_t)-1);
}

/* NICs attach to taps that exist in the namespace QEMU runs in. */
VC_TEST(argv_nics)
{
	struct vc_hv_nic nics[] = {{.tap = "tap0_vc", .mac = "02:42:ac:11:00:02", .mtu = 1400},
				   {.tap = "tap1_vc", .mac = "0a:00:00:00:00:01", .mtu = 0}};
	struct vc_hv_config c = base_config();
	c.netns_path = "/run/netns/x";
	c.nics = nics;
	c.n_nics = 2;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	size_t i = argv_find(argv, "tap,id=net0,ifname=tap0_vc,script=no,downscript=no,vhost=off");
	CHECK(i != (size_t)-1 && !strcmp(argv[i - 1], "-netdev"));
	CHECK_STR(argv[i + 2], "virtio-net-pci,netdev=net0,mac=02:42:ac:11:00:02,host_mtu=1400,"
			       "romfile=");
	CHECK(argv_find(argv, "virtio-net-pci,netdev=net1,mac=0a:00:00:00:00:01,romfile=") !=
	      (size_t)-1);
	/* the guest loads virtio_net (the net module set) only for a VM with NICs */
	CHECK_CONTAINS(argv[argv_find(argv, "-append") + 1], " vcrun.modules=net");

	struct vc_hv_nic bad_mac[] = {{.tap = "tap0_vc", .mac = "02:42:ac:11:00", .mtu = 0}};
	struct vc_hv_nic bad_mtu[] = {{.tap = "tap0_vc", .mac = "02:42:ac:11:00:02", .mtu = 9}};
	struct vc_hv_nic bad_tap[] = {
		{.tap = "a-name-too-long-for-ifnamsiz", .mac = "02:42:ac:11:00:02"}};
	const struct {
		struct vc_hv_nic *nics;
		const char *ns, *msg;
	} cases[] = {
		{bad_mac, "/run/netns/x", "nics[0].mac: `02:42:ac:11:00` is not a MAC address"},
		{bad_mtu, "/run/netns/x", "nics[0].mtu: 9 is out of range"},
		{bad_tap, "/run/netns/x", "nics[0].tap: must be an interface name"},
		{nics, NULL, "nics: need a network namespace"},
	};
	for (size_t k = 0; k < VC_ARRAY_SIZE(cases); k++) {
		_cleanup_strv_ char **v = NULL;
		struct vc_error e = {0};
		c.nics = cases[k].nics;
		c.n_nics = 1;
		c.netns_path = cases[k].ns;
		CHECK(vc_hv_qemu_argv(&c, &v, &e) == -EINVAL);
		CHECK_CONTAINS(e.msg, cases[k].msg);
	}
}

/* Confined (hv/jail.c): nothing by a path only root may open. QMP, agent and console
 * are fds 3, 4, 5, then the taps, the virtiofsd connections and the disks, in that
 * order; -name says whose VM it is. */
VC_TEST(argv_confined_fds)
{
	struct vc_hv_nic nics[] = {{.tap = "tap0_vc", .mac = "02:42:ac:11:00:02"},
				   {.tap = "tap1_vc", .mac = "02:42:ac:11:00:03"}};
	struct vc_hv_blk blks[] = {{.path = "/dev/loop3", .id = "vb1"},
				   {.path = "/dev/loop4", .id = "vb2", .readonly = true}};
	struct vc_hv_config c = base_config();
	c.confine = true;
	c.vm_name = "/run/vc/x,y";
	c.netns_path = "/run/netns/x";
	c.nics = nics;
	c.n_nics = 2;
	c.blks = blks;
	c.n_blks = 2;
	c.shares = two_shares;
	c.n_shares = 2;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK(argv_find(argv, "guest=/run/vc/x,,y") != (size_t)-1);
	CHECK(argv_find(argv, "socket,id=qmp,fd=3,server=on,wait=off") != (size_t)-1);
	CHECK(argv_find(argv, "socket,id=agent,fd=4,server=on,wait=off") != (size_t)-1);
	size_t con = argv_find(argv, "file,id=console,path=/dev/fdset/5");
	CHECK(con != (size_t)-1 && !strcmp(argv[con + 2], "fd=5,set=5"));
	CHECK(argv_find(argv, "tap,id=net0,fd=6,vhost=off") != (size_t)-1);
	CHECK(argv_find(argv, "tap,id=net1,fd=7,vhost=off") != (size_t)-1);
	/* 9p shares are paths (bound into the jail), so the disks come next */
	CHECK(argv_find(argv, "fd=8,set=8") != (size_t)-1);
	CHECK(argv_find(argv, "fd=9,set=9") != (size_t)-1);
	size_t d2 = argv_find(argv, "fd=9,set=9");
	CHECK_CONTAINS(argv[d2 + 2], "\"filename\":\"/dev/fdset/9\",\"read-only\":true");
	for (size_t i = 0; argv[i]; i++) {
		CHECK(!strstr(argv[i], "ifname="));
		CHECK(!strstr(argv[i], "/dev/loop"));
		CHECK(!strstr(argv[i], "qmp.sock") && !strstr(argv[i], "console.log"));
	}

	/* virtio-fs: the virtiofsd connections sit between the taps and the disks;
	 * vsock: /dev/vhost-vsock is fd 4 */
	argv_reset(&argv);
	c.fs = VC_FS_VIRTIOFS;
	c.virtiofsd_path = "/usr/lib/qemu/virtiofsd";
	c.channel = VC_CHANNEL_VSOCK;
	c.vsock_cid = 9;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK(argv_find(argv, "socket,id=vfs0,fd=8") != (size_t)-1);
	CHECK(argv_find(argv, "socket,id=vfs1,fd=9") != (size_t)-1);
	CHECK(argv_find(argv, "fd=10,set=10") != (size_t)-1);
	CHECK(argv_find(argv, "fd=11,set=11") != (size_t)-1);
	CHECK(argv_find(argv, "vhost-vsock-pci,guest-cid=9,vhostfd=4") != (size_t)-1);
}

/* TCG's translation cache: -accel with tb-size instead of -M's accel=; KVM has none. */
VC_TEST(argv_tcg_tb_size)
{
	struct vc_hv_config c = base_config();
	c.tcg_tb_size_mib = 128;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	size_t m = argv_find(argv, "-M");
	CHECK_STR(argv[m + 1], "q35");
	CHECK_STR(argv[m + 2], "-accel");
	CHECK_STR(argv[m + 3], "tcg,tb-size=128");
	argv_reset(&argv);
	c.accel = VC_ACCEL_KVM;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK_STR(argv[argv_find(argv, "-M") + 1], "q35,accel=kvm");
	CHECK(argv_find(argv, "-accel") == (size_t)-1);
	argv_reset(&argv);
	c.accel = VC_ACCEL_TCG;
	c.tcg_tb_size_mib = VC_HV_TCG_TB_SIZE_MAX + 1;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "tcg_tb_size_mib");
}

VC_TEST(argv_invalid_configs_name_the_field)
{
	struct vc_hv_share long_tag[] = {
		{.tag = "a-tag-that-is-32-bytes-long-xxxx", .host_path = "/x"}};
	struct vc_hv_share dup[] = {{.tag = "t", .host_path = "/x"},
				    {.tag = "t", .host_path = "/y"}};
	struct vc_hv_share empty_tag[] = {{.tag = "", .host_path = "/x"}};
	struct vc_hv_share space_tag[] = {{.tag = "a b", .host_path = "/x"}};
	struct vc_hv_share empty_path[] = {{.tag = "t", .host_path = ""}};
	struct vc_hv_share null_path[] = {{.tag = "t", .host_path = NULL}};
	char long_extra[2100];
	memset(long_extra, 'x', sizeof(long_extra) - 1);
	long_extra[sizeof(long_extra) - 1] = '\0';
	char long_dir[120];
	memset(long_dir, 'd', sizeof(long_dir) - 1);
	long_dir[0] = '/';
	long_dir[sizeof(long_dir) - 1] = '\0';

	struct {
		const char *want;
		struct vc_hv_config c;
	} cases[] = {
		{"mem_mib", base_config()},
		{"vcpus", base_config()},
		{"qemu_path", base_config()},
		{"kernel", base_config()},
		{"initrd", base_config()},
		{"state_dir: must be set", base_config()},
		{"accel", base_config()},
		{"vsock_cid", base_config()},
		{"virtiofsd_path", base_config()},
		{"shares[0].tag: `a-tag-that-is-32-bytes-long-xxxx` is longer than 31",
		 base_config()},
		{"shares[1].tag: `t` is also shares[0].tag", base_config()},
		{"shares[0].tag: must not be empty", base_config()},
		{"shares[0].tag: `a b` contains a space", base_config()},
		{"shares[0].host_path", base_config()},
		{"shares[0].host_path", base_config()},
		{"cmdline_extra", base_config()},
		{"state_dir: `/ddd", base_config()},
		{"shares: NULL", base_config()},
	};
	size_t k = 0;
	cases[k++].c.mem_mib = 0;
	cases[k++].c.vcpus = 0;
	cases[k++].c.qemu_path = NULL;
	cases[k++].c.kernel = "";
	cases[k++].c.initrd = NULL;
	cases[k++].c.state_dir = NULL;
	cases[k++].c.accel = VC_ACCEL_AUTO;
	cases[k].c.channel = VC_CHANNEL_VSOCK;
	cases[k++].c.vsock_cid = 2;
	cases[k].c.fs = VC_FS_VIRTIOFS;
	cases[k].c.shares = dup;
	cases[k++].c.n_shares = 1;
	cases[k].c.shares = long_tag;
	cases[k++].c.n_shares = 1;
	cases[k].c.shares = dup;
	cases[k++].c.n_shares = 2;
	cases[k].c.shares = empty_tag;
	cases[k++].c.n_shares = 1;
	cases[k].c.shares = space_tag;
	cases[k++].c.n_shares = 1;
	cases[k].c.shares = empty_path;
	cases[k++].c.n_shares = 1;
	cases[k].c.shares = null_path;
	cases[k++].c.n_shares = 1;
	cases[k++].c.cmdline_extra = long_extra;
	cases[k++].c.state_dir = long_dir;
	cases[k].c.shares = NULL;
	cases[k++].c.n_shares = 3;
	CHECK(k == VC_ARRAY_SIZE(cases));

	for (size_t i = 0; i < k; i++) {
		char **argv = NULL;
		struct vc_error err = {0};
		int r = vc_hv_qemu_argv(&cases[i].c, &argv, &err);
		if (r != -EINVAL && r != -ENAMETOOLONG)
			fprintf(stderr, "# case %zu (%s): r=%d\n", i, cases[i].want, r);
		CHECK(r == -EINVAL || r == -ENAMETOOLONG);
		CHECK(argv == NULL);
		CHECK_CONTAINS(err.msg, cases[i].want);
	}
	/* The limits themselves are fine: 31-byte tag, CID 3. */
	struct vc_hv_share ok_tag[] = {
		{.tag = "a-tag-that-is-31-bytes-long-xxx", .host_path = "/x"}};
	struct vc_hv_config c = base_config();
	c.shares = ok_tag;
	c.n_shares = 1;
	c.channel = VC_CHANNEL_VSOCK;
	c.vsock_cid = 3;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
}

/* --- QMP against a fake server ------------------------------------------------- */

enum fake_mode {
	FAKE_OK,	   /* greeting, caps, an event, then the return */
	FAKE_ERROR,	   /* the command gets an error reply */
	FAKE_SILENT,	   /* no greeting at all */
	FAKE_BAD_GREETING, /* a greeting without "QMP" */
	FAKE_LONG_LINE,	   /* a reply line past the client's bound */
	FAKE_HANGUP,	   /* closes after the capabilities */
};

static int fake_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static int fake_write(int fd, const char *s)
{
	return vc_write_all(fd, s, strlen(s));
}

/* The server side, in a forked child. Exit status 0: it saw what a QMP client
 * must send. */
static void __attribute__((noreturn)) fake_qmp(int lfd, enum fake_mode mode)
{
	alarm(CHILD_ALARM_S);
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(10);
	char line[4096];
	if (mode == FAKE_SILENT) {
		fake_read_line(fd, line, sizeof(line)); /* until the client gives up */
		_exit(0);
	}
	if (mode == FAKE_BAD_GREETING) {
		fake_write(fd, "{\"hello\": 1}\n");
		fake_read_line(fd, line, sizeof(line));
		_exit(0);
	}
	fake_write(fd,
		   "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\n");
	if (fake_read_line(fd, line, sizeof(line)) < 0 ||
	    strcmp(line, "{\"execute\":\"qmp_capabilities\"}"))
		_exit(11);
	fake_write(fd, "{\"return\": {}}\n");
	if (mode == FAKE_HANGUP)
		_exit(0);
	if (fake_read_line(fd, line, sizeof(line)) < 0)
		_exit(12);
	if (mode == FAKE_OK) {
		if (strcmp(line,
			   "{\"execute\":\"query-status\",\"arguments\":{\"x\":[1,\"a\\\"b\"]}}"))
			_exit(13);
		fake_write(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
			       "\"RESUME\"}\n");
		fake_write(fd, "{\"return\": {\"status\": \"running\", \"running\": true}}\n");
	} else if (mode == FAKE_ERROR) {
		if (strcmp(line, "{\"execute\":\"no-such-command\"}"))
			_exit(14);
		fake_write(fd,
			   "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
			   "no-such-command has not been found\"}}\n");
	} else if (mode == FAKE_LONG_LINE) {
		char chunk[4096];
		memset(chunk, ' ', sizeof(chunk));
		/* 2 MiB without a newline; the client stops reading at 1 MiB. */
		for (int i = 0; i < 512; i++)
			if (vc_write_all(fd, chunk, sizeof(chunk)) < 0)
				break;
	}
	fake_read_line(fd, line, sizeof(line)); /* wait for the client to close */
	_exit(0);
}

static int run_fake(enum fake_mode mode, const char *command, const char *args, int timeout_ms,
		    char **reply, struct vc_error *err, int *server_status)
{
	_cleanup_free_ char *path = tmp_path("qmp-fake.sock");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	_cleanup_close_ int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		return -999;
	pid_t pid = fork();
	if (pid < 0)
		return -998;
	if (pid == 0)
		fake_qmp(lfd, mode);
	int r = vc_hv_qmp_execute(path, command, args, timeout_ms, reply, err);
	*server_status = vc_unit_reap(pid);
	unlink(path);
	return r;
}

VC_TEST(qmp_command_skips_events)
{
	_cleanup_free_ char *reply = NULL;
	struct vc_error err = {0};
	int st = -1;
	int r = run_fake(FAKE_OK, "query-status", "{\"x\": [1, \"a\\\"b\"]}", 3000, &reply, &err,
			 &st);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(r == 0);
	CHECK(st == 0);
	CHECK_STR(reply, "{\"status\":\"running\",\"running\":true}");
}

VC_TEST(qmp_error_reply)
{
	_cleanup_free_ char *reply = NULL;
	struct vc_error err = {0};
	int st = -1;
	int r = run_fake(FAKE_ERROR, "no-such-command", NULL, 3000, &reply, &err, &st);
	CHECK(st == 0);
	CHECK(r == -EIO);
	CHECK(reply == NULL);
	CHECK_CONTAINS(err.msg, "no-such-command: CommandNotFound: The command no-such-command has "
				"not been found");
}

VC_TEST(qmp_timeouts_and_bad_servers)
{
	struct vc_error err = {0};
	int st = -1;
	unsigned long long t0 = vc_now_ns();
	CHECK(run_fake(FAKE_SILENT, "quit", NULL, 300, NULL, &err, &st) == -ETIMEDOUT);
	CHECK((vc_now_ns() - t0) / 1000000ull < 3000);
	CHECK_CONTAINS(err.msg, "timed out waiting for the greeting");
	CHECK(st == 0);

	CHECK(run_fake(FAKE_BAD_GREETING, "quit", NULL, 3000, NULL, &err, &st) == -EPROTO);
	CHECK_CONTAINS(err.msg, "greeting");
	CHECK(st == 0);

	CHECK(run_fake(FAKE_LONG_LINE, "quit", NULL, 5000, NULL, &err, &st) == -EMSGSIZE);
	CHECK_CONTAINS(err.msg, "longer than");
	CHECK(st == 0);

	CHECK(run_fake(FAKE_HANGUP, "quit", NULL, 3000, NULL, &err, &st) == -ECONNRESET);
	CHECK_CONTAINS(err.msg, "connection closed");
	CHECK(st == 0);

	/* Nobody listening, and arguments that are not an object. */
	_cleanup_free_ char *nowhere = tmp_path("no-qmp.sock");
	CHECK(vc_hv_qmp_command(nowhere, "quit", NULL, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "connect");
	CHECK(vc_hv_qmp_execute(nowhere, "quit", "[1]", 100, NULL, &err) == -EINVAL);
	CHECK(vc_hv_qmp_execute(nowhere, "quit", "{", 100, NULL, &err) < 0);
}

/* --- accel probe --------------------------------------------------------------- */

VC_TEST(probe_firmware_runs_under_tcg)
{
	bool ran = false;
	char why[256];
	struct vc_error err = {0};
	unsigned long long t0 = vc_now_ns();
	int r = vc_hv_probe_guest(QEMU, VC_ACCEL_TCG, 5000, &ran, why, sizeof(why), &err);
	if (r < 0 || !ran)
		fprintf(stderr, "# r=%d err=%s why=%s\n", r, err.msg, why);
	CHECK(r == 0);
	CHECK(ran);
	fprintf(stderr, "# tcg probe: %llu ms\n", (vc_now_ns() - t0) / 1000000ull);

	/* The probe can fail: a guest given no time to finish did not run. */
	r = vc_hv_probe_guest(QEMU, VC_ACCEL_TCG, 1, &ran, why, sizeof(why), &err);
	CHECK(r == 0);
	CHECK(!ran);
	CHECK(why[0] != '\0');

	/* A QEMU that cannot be started is an error, not an answer. */
	r = vc_hv_probe_guest("/nonexistent/qemu", VC_ACCEL_TCG, 1000, &ran, why, sizeof(why),
			      &err);
	CHECK(r == -ENOENT);
	CHECK_CONTAINS(err.msg, "/nonexistent/qemu");
}

static char *read_text(const char *path)
{
	char *s = NULL;
	if (vc_read_file(path, 1 << 16, &s, NULL, NULL) < 0)
		return NULL;
	return s;
}

VC_TEST(accel_probe_answers_and_caches)
{
	_cleanup_free_ char *cache = tmp_path("accel.cache");
	enum vc_hv_accel a = VC_ACCEL_AUTO;
	char why[512] = "";
	struct vc_error err = {0};
	bool probed = false;
	int r = vc_hv_accel_probe(QEMU, cache, &a, &probed, why, sizeof(why), &err);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(r == 0);
	CHECK(probed); /* a fresh cache: this call decided */
	CHECK(a == VC_ACCEL_KVM || a == VC_ACCEL_TCG);
	CHECK(why[0] != '\0');
	fprintf(stderr, "# accel: %s (%s)\n", vc_hv_accel_name(a), why);

	_cleanup_free_ char *text = read_text(cache);
	CHECK(text);
	_cleanup_free_ char *boot_id = read_text("/proc/sys/kernel/random/boot_id");
	CHECK(boot_id);
	boot_id[strcspn(boot_id, "\n")] = '\0';
	_cleanup_free_ char *want_id = vc_strdup_printf("boot_id=%s\n", boot_id);
	_cleanup_free_ char *want_accel = vc_strdup_printf("accel=%s\n", vc_hv_accel_name(a));
	CHECK_CONTAINS(text, want_id);
	CHECK_CONTAINS(text, want_accel);
	CHECK_CONTAINS(text, "qemu=/");

	/* Reused: a marked reason comes back, and without a probe's delay. */
	char *reason = strstr(text, "reason=");
	CHECK(reason);
	*reason = '\0';
	_cleanup_free_ char *marked = vc_strdup_printf("%sreason=from the cache\n", text);
	CHECK(vc_write_file(cache, marked, strlen(marked), NULL) == 0);
	unsigned long long t0 = vc_now_ns();
	enum vc_hv_accel b = VC_ACCEL_AUTO;
	CHECK(vc_hv_accel_probe(QEMU, cache, &b, &probed, why, sizeof(why), &err) == 0);
	CHECK(!probed);
	CHECK((vc_now_ns() - t0) / 1000000ull < 200);
	CHECK(b == a);
	CHECK_STR(why, "from the cache");

	/* Another boot: probed again, and the file rewritten. */
	char *id = strstr(marked, want_id);
	CHECK(id);
	id[strlen("boot_id=")] = id[strlen("boot_id=")] == '0' ? '1' : '0';
	CHECK(vc_write_file(cache, marked, strlen(marked), NULL) == 0);
	CHECK(vc_hv_accel_probe(QEMU, cache, &b, &probed, why, sizeof(why), &err) == 0);
	CHECK(probed);
	CHECK(b == a);
	CHECK(strcmp(why, "from the cache") != 0);
	_cleanup_free_ char *again = read_text(cache);
	CHECK(again);
	CHECK_CONTAINS(again, want_id);
}

/* --- start and stop a real QEMU -------------------------------------------------- */

/* A multiboot kernel (QEMU loads it with -kernel, -initrd becomes a module) that
 * halts forever: enough for QEMU to run a VM without a Linux guest. */
static const unsigned char mb_kernel[] = {
	0x02, 0xb0, 0xad, 0x1b, /* magic 0x1BADB002 */
	0x00, 0x00, 0x01, 0x00, /* flags: the address fields are valid */
	0xfe, 0x4f, 0x51, 0xe4, /* checksum: -(magic + flags) */
	0x00, 0x00, 0x10, 0x00, /* header_addr 0x100000 */
	0x00, 0x00, 0x10, 0x00, /* load_addr */
	0x00, 0x00, 0x00, 0x00, /* load_end_addr: the whole file */
	0x00, 0x00, 0x00, 0x00, /* bss_end_addr: none */
	0x20, 0x00, 0x10, 0x00, /* entry 0x100020 */
	0xf4, 0xeb, 0xfd,	/* hlt; jmp back */
};

struct vm_files {
	char *kernel, *initrd, *share, *state;
};

static void vm_files_free(struct vm_files *f)
{
	free(f->kernel);
	free(f->initrd);
	free(f->share);
	free(f->state);
}

static bool vm_files(struct vm_files *f, const char *name)
{
	f->kernel = tmp_path("mb-kernel");
	f->initrd = tmp_path("mb-initrd");
	f->share = tmp_path("share");
	f->state = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	if (!f->kernel || !f->initrd || !f->share || !f->state)
		return false;
	mkdir(f->share, 0755);
	return vc_write_file(f->kernel, mb_kernel, sizeof(mb_kernel), NULL) == 0 &&
	       vc_write_file(f->initrd, "initrd\n", 7, NULL) == 0;
}

static bool is_socket(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

VC_TEST(start_query_stop)
{
	struct vm_files f = {0};
	CHECK(vm_files(&f, "vm1"));
	struct vc_hv_share share[] = {{.tag = "share", .host_path = f.share, .readonly = true}};
	struct vc_hv_config c = {
		.qemu_path = QEMU, /* found in PATH */
		.kernel = f.kernel,
		.initrd = f.initrd,
		.mem_mib = 64,
		.vcpus = 1,
		.state_dir = f.state,
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
		.shares = share,
		.n_shares = 1,
		.sandbox = true,
	};
	/* An fd of ours that QEMU must not inherit. */
	int p[2];
	CHECK(pipe(p) == 0);

	struct vc_hv hv;
	struct vc_error err = {0};
	unsigned long long t0 = vc_now_ns();
	int r = vc_hv_start(&c, &hv, &err);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	close(p[1]);
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	int hup = poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP);
	close(p[0]);
	CHECK(r == 0);
	fprintf(stderr, "# qemu up (QMP socket) in %llu ms\n", (vc_now_ns() - t0) / 1000000ull);
	pid_t pid = hv.pid;
	bool ok = hup && pid > 0 && !gone(pid) && is_socket(hv.qmp_path) &&
		  is_socket(hv.agent_path) && hv.console_path && hv.log_path && hv.n_helpers == 0;

	_cleanup_free_ char *reply = NULL;
	r = vc_hv_qmp_command(hv.qmp_path, "query-status", &reply, &err);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	bool running = r == 0 && reply && strstr(reply, "\"running\":true");

	/* The agent socket accepts (QEMU's chardev server, wait=off). */
	int afd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hv.agent_path ? hv.agent_path : "");
	afd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool agent_ok = afd >= 0 && connect(afd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (afd >= 0)
		close(afd);

	t0 = vc_now_ns();
	r = vc_hv_stop(&hv, 5000, &err);
	unsigned long long stop_ms = (vc_now_ns() - t0) / 1000000ull;
	fprintf(stderr, "# qemu stopped in %llu ms\n", stop_ms);
	bool cleaned = r == 0 && hv.pid == 0 && gone(pid) && !is_socket(hv.qmp_path) &&
		       !is_socket(hv.agent_path);
	vc_hv_release(&hv);
	vm_files_free(&f);
	if (!gone(pid)) {
		kill(pid, SIGKILL);
		vc_unit_reap(pid);
	}
	CHECK(ok);
	CHECK(running);
	CHECK(agent_ok);
	CHECK(cleaned);
	CHECK(stop_ms < 3000); /* quit worked: no SIGKILL after the full timeout */
}

VC_TEST(stop_after_qemu_is_gone)
{
	struct vm_files f = {0};
	CHECK(vm_files(&f, "vm2"));
	struct vc_hv_config c = {
		.qemu_path = QEMU,
		.kernel = f.kernel,
		.initrd = f.initrd,
		.mem_mib = 64,
		.vcpus = 1,
		.state_dir = f.state,
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_VSOCK, /* never booted: no vhost-vsock device needed */
		.vsock_cid = 3,
		.fs = VC_FS_9P,
	};
	/* vhost-vsock needs /dev/vhost-vsock; without it QEMU fails at start, which
	 * is what this test wants from the second half. */
	struct vc_hv hv;
	struct vc_error err = {0};
	bool vsock = access("/dev/vhost-vsock", R_OK | W_OK) == 0;
	int r = vc_hv_start(&c, &hv, &err);
	if (!vsock) {
		CHECK(r == -ECHILD);
		CHECK_CONTAINS(err.msg, "qemu exited with status 1 at start: ");
		CHECK_CONTAINS(err.msg, "vhost-vsock");
		CHECK(hv.pid == 0 && hv.qmp_path == NULL);
	} else {
		CHECK(r == 0);
		vc_hv_stop(&hv, 5000, &err);
		vc_hv_release(&hv);
	}

	/* A QEMU that quit on its own is reaped by stop without waiting. */
	c.channel = VC_CHANNEL_SERIAL;
	CHECK(vc_hv_start(&c, &hv, &err) == 0);
	pid_t pid = hv.pid;
	bool quit = vc_hv_qmp_command(hv.qmp_path, "quit", NULL, &err) == 0;
	unsigned long long t0 = vc_now_ns();
	r = vc_hv_stop(&hv, 5000, &err);
	unsigned long long ms = (vc_now_ns() - t0) / 1000000ull;
	vc_hv_release(&hv);
	vm_files_free(&f);
	CHECK(quit);
	CHECK(r == 0);
	CHECK(gone(pid));
	CHECK(ms < 2000);
}

VC_TEST(start_failures_are_explained)
{
	struct vm_files f = {0};
	CHECK(vm_files(&f, "vm3"));
	_cleanup_free_ char *missing = tmp_path("no-such-kernel");
	struct vc_hv_config c = {
		.qemu_path = QEMU,
		.kernel = missing,
		.initrd = f.initrd,
		.mem_mib = 64,
		.vcpus = 1,
		.state_dir = f.state,
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
	};
	struct vc_hv hv;
	struct vc_error err = {0};
	int r = vc_hv_start(&c, &hv, &err);
	CHECK(r == -ECHILD);
	CHECK_CONTAINS(err.msg, "qemu exited with status 1 at start: ");
	CHECK_CONTAINS(err.msg, "no-such-kernel"); /* QEMU's own words, from qemu.log */

	c.kernel = f.kernel;
	c.qemu_path = "/nonexistent/qemu-system-x86_64";
	r = vc_hv_start(&c, &hv, &err);
	CHECK(r == -ENOENT);
	CHECK_CONTAINS(err.msg, "exec `/nonexistent/qemu-system-x86_64`");

	c.qemu_path = QEMU;
	struct vc_hv_share share[] = {{.tag = "t", .host_path = f.kernel}};
	c.shares = share;
	c.n_shares = 1;
	r = vc_hv_start(&c, &hv, &err);
	CHECK(r == -ENOTDIR);
	CHECK_CONTAINS(err.msg, "shares[0].host_path");
	vm_files_free(&f);
}

VC_TEST(start_virtiofs)
{
	if (geteuid() != 0 || access("/usr/lib/qemu/virtiofsd", X_OK) != 0) {
		fprintf(stderr, "# skipped: virtiofsd needs root and /usr/lib/qemu/virtiofsd\n");
		return;
	}
	struct vm_files f = {0};
	CHECK(vm_files(&f, "vm4"));
	struct vc_hv_share share[] = {{.tag = "rootfs", .host_path = f.share}};
	struct vc_hv_config c = {
		.qemu_path = QEMU,
		.kernel = f.kernel,
		.initrd = f.initrd,
		.mem_mib = 64,
		.vcpus = 1,
		.state_dir = f.state,
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_VIRTIOFS,
		.virtiofsd_path = "/usr/lib/qemu/virtiofsd",
		.shares = share,
		.n_shares = 1,
		.sandbox = true,
	};
	struct vc_hv hv;
	struct vc_error err = {0};
	int r = vc_hv_start(&c, &hv, &err);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(r == 0);
	pid_t pid = hv.pid, helper = hv.n_helpers == 1 ? hv.helper_pids[0] : 0;
	bool ok = helper > 0 && !gone(helper) && hv.helper_sockets && hv.helper_sockets[0] &&
		  is_socket(hv.helper_sockets[0]);
	/* QEMU connected to virtiofsd (vhost-user) before it opened QMP. */
	_cleanup_free_ char *reply = NULL;
	bool qmp = vc_hv_qmp_command(hv.qmp_path, "query-status", &reply, &err) == 0;
	r = vc_hv_stop(&hv, 5000, &err);
	bool cleaned = r == 0 && gone(pid) && gone(helper) && hv.helper_pids[0] == 0;
	vc_hv_release(&hv);
	vm_files_free(&f);
	CHECK(ok);
	CHECK(qmp);
	CHECK(cleaned);
}

VC_TESTS(VC_T(argv_tcg_serial_9p), VC_T(argv_tcg_tb_size), VC_T(argv_confined_fds),
	 VC_T(argv_kvm_vsock_sandbox), VC_T(argv_virtiofs), VC_T(argv_vfio_mode_viommu),
	 VC_T(argv_nics), VC_T(argv_invalid_configs_name_the_field), VC_T(qmp_command_skips_events),
	 VC_T(qmp_error_reply), VC_T(qmp_timeouts_and_bad_servers),
	 VC_T(probe_firmware_runs_under_tcg), VC_T(accel_probe_answers_and_caches),
	 VC_T(start_query_stop), VC_T(stop_after_qemu_is_gone), VC_T(start_failures_are_explained),
	 VC_T(start_virtiofs))
