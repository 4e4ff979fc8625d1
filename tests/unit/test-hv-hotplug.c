/* hv/ hot-plug: the spare root ports on the command line, the QMP arguments of
 * each hot-plug, and a real QEMU (a multiboot kernel that only halts) taking a NIC
 * into a spare port, refusing a device with a reason that names it, running out
 * of ports, and an unplug that the guest never acknowledges. QEMU runs in a
 * network namespace of the test's own, so the tap it makes goes with it. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"

static size_t count(char **argv, const char *tok)
{
	size_t n = 0;
	for (size_t i = 0; argv[i]; i++)
		n += !strcmp(argv[i], tok);
	return n;
}

static struct vc_hv_config config(const char *state)
{
	return (struct vc_hv_config){
		.qemu_path = "qemu-system-x86_64",
		.kernel = "/s/vmlinuz",
		.initrd = "/s/initramfs.img",
		.mem_mib = 64,
		.vcpus = 1,
		.state_dir = state,
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
	};
}

VC_TEST(argv_spare_ports_follow_the_vfio_ports)
{
	struct vc_hv_config c = config("/run/vc/x");
	c.hotplug_ports = 3;
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_spare_port_first(&c) == 1);
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK(count(argv, "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,io-reserve=0") == 1);
	CHECK(count(argv, "pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0,io-reserve=0") == 1);
	CHECK(count(argv, "pcie-root-port,id=rp4,chassis=4,slot=4,bus=pcie.0,io-reserve=0") == 0);
	vc_strv_freep(&argv);

	/* After VFIO's ports 1 and 2: the spare ones are 3 and 4. */
	struct vc_hv_vfio_pci pci[] = {{.host = "0000:01:00.0", .port = 1},
				       {.host = "0000:02:00.0", .port = 2}};
	c.vfio_pci = pci;
	c.n_vfio_pci = 2;
	c.hotplug_ports = 2;
	CHECK(vc_hv_spare_port_first(&c) == 3);
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK(count(argv, "pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0") == 1);
	CHECK(count(argv, "pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0,io-reserve=0") == 1);
	CHECK(count(argv, "pcie-root-port,id=rp4,chassis=4,slot=4,bus=pcie.0,io-reserve=0") == 1);
	vc_strv_freep(&argv);

	/* None: no spare port at all. */
	c.hotplug_ports = 0;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	for (size_t i = 0; argv[i]; i++)
		CHECK(!strstr(argv[i], "io-reserve=0"));
}

VC_TEST(argv_spare_ports_are_bounded)
{
	struct vc_hv_config c = config("/run/vc/x");
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	c.hotplug_ports = VC_HV_HOTPLUG_PORTS_MAX + 1;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "hotplug_ports: 65 is more than 64");
	/* A VFIO port near the top leaves no room for them. */
	struct vc_hv_vfio_pci pci[] = {{.host = "0000:01:00.0", .port = 250}};
	c.vfio_pci = pci;
	c.n_vfio_pci = 1;
	c.hotplug_ports = 8;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg,
		       "hotplug_ports: 8 spare ports after VFIO port 250 go past port 255");
	c.hotplug_ports = 5;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
}

static const char *after(char **argv, const char *tok)
{
	for (size_t i = 0; argv[i]; i++)
		if (!strcmp(argv[i], tok))
			return argv[i + 1];
	return NULL;
}

VC_TEST(argv_room_for_memory_and_vcpus)
{
	struct vc_hv_config c = config("/run/vc/x");
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK_STR(after(argv, "-m"), "64M");
	CHECK_STR(after(argv, "-smp"), "1");
	CHECK(!strstr(after(argv, "-append"), "memhp_default_state"));
	vc_strv_freep(&argv);
	c.hotplug_mem_mib = 2048;
	c.max_vcpus = 4;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK_STR(after(argv, "-m"), "64M,slots=8,maxmem=2112M");
	CHECK_STR(after(argv, "-smp"), "1,maxcpus=4");
	CHECK(strstr(after(argv, "-append"), " memhp_default_state=online_movable"));
	vc_strv_freep(&argv);
	/* No more vCPUs than it boots with: no maxcpus. */
	c.max_vcpus = 1;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK_STR(after(argv, "-smp"), "1");
	c.max_vcpus = 256;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "max_vcpus: 256 is more than 255");
}

VC_TEST(qmp_args_of_each_hotplug)
{
	struct vc_hv_nic nic = {.tap = "tap3_vc", .mac = "02:42:0a:2d:05:02", .mtu = 1400};
	_cleanup_free_ char *netdev = NULL, *dev = NULL, *vfio = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qmp_netdev_args("nic-3", &nic, &netdev, &err) == 0);
	CHECK_STR(netdev,
		  "{\"type\":\"tap\",\"id\":\"nic-3-net\",\"ifname\":\"tap3_vc\",\"script\":"
		  "\"no\",\"downscript\":\"no\",\"vhost\":false}");
	CHECK(vc_hv_qmp_nic_args("nic-3", &nic, 5, &dev, &err) == 0);
	CHECK_STR(dev, "{\"driver\":\"virtio-net-pci\",\"id\":\"nic-3\",\"netdev\":\"nic-3-net\","
		       "\"mac\":\"02:42:0a:2d:05:02\",\"host_mtu\":1400,\"romfile\":\"\",\"bus\":"
		       "\"rp5\",\"addr\":\"0\"}");
	free(dev);
	dev = NULL;
	nic.mtu = 0;
	CHECK(vc_hv_qmp_nic_args("nic-3", &nic, 5, &dev, &err) == 0);
	CHECK(!strstr(dev, "host_mtu"));
	CHECK(vc_hv_qmp_vfio_args("vfio-7", "0000:03:00.0", 2, &vfio, &err) == 0);
	CHECK_STR(vfio, "{\"driver\":\"vfio-pci\",\"id\":\"vfio-7\",\"host\":\"0000:03:00.0\","
			"\"bus\":\"rp2\",\"addr\":\"0\"}");
	_cleanup_free_ char *backend = NULL, *dimm = NULL;
	CHECK(vc_hv_qmp_memory_args("mem-1", 256, false, &backend, &dimm, &err) == 0);
	CHECK_STR(backend, "{\"qom-type\":\"memory-backend-ram\",\"id\":\"mem-1-mem\",\"size\":"
			   "268435456}");
	CHECK_STR(dimm, "{\"driver\":\"pc-dimm\",\"id\":\"mem-1\",\"memdev\":\"mem-1-mem\"}");
	free(backend);
	free(dimm);
	/* Under virtio-fs, shareable as the boot's RAM is; sizes in whole blocks only. */
	CHECK(vc_hv_qmp_memory_args("mem-1", 128, true, &backend, &dimm, &err) == 0);
	CHECK_STR(backend, "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"mem-1-mem\",\"size\":"
			   "134217728,\"share\":true}");
	free(backend);
	free(dimm);
	CHECK(vc_hv_qmp_memory_args("mem-1", 100, false, &backend, &dimm, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "100 MiB is not a multiple of 128 MiB");
	CHECK(backend == NULL && dimm == NULL);
}

/* A disk: its drive (host_device at boot and for a block node) and its device in a
 * spare port, serial = id; at boot the same pair on the command line. */
VC_TEST(qmp_args_of_a_disk)
{
	struct vc_hv_blk b = {.path = "/dev/loop3", .id = "vcb0123456789ab0", .readonly = true};
	_cleanup_free_ char *drive = NULL, *dev = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qmp_blockdev_args(&b, &drive, &err) == 0);
	CHECK_STR(drive, "{\"driver\":\"host_device\",\"node-name\":\"dvcb0123456789ab0\","
			 "\"filename\":\"/dev/loop3\",\"read-only\":true,\"aio\":\"threads\"}");
	CHECK(vc_hv_qmp_blk_device_args(&b, 4, &dev, &err) == 0);
	CHECK_STR(dev, "{\"driver\":\"virtio-blk-pci\",\"id\":\"vcb0123456789ab0\",\"drive\":"
		       "\"dvcb0123456789ab0\",\"serial\":\"vcb0123456789ab0\",\"bus\":\"rp4\","
		       "\"addr\":\"0\"}");
	char *out = NULL;
	/* An id QEMU or the guest would read otherwise, a path that is not one. */
	const char *bad_ids[] = {"", "Vcb1", "1vcb", "vcb-1", "vcb0123456789abcdef012"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad_ids); i++) {
		struct vc_hv_blk x = {.path = "/dev/loop3", .id = (char *)bad_ids[i]};
		CHECK(vc_hv_qmp_blk_device_args(&x, 1, &out, &err) == -EINVAL);
		CHECK(vc_hv_qmp_blockdev_args(&x, &out, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, "id: `");
	}
	struct vc_hv_blk rel = {.path = "loop3", .id = "vcb1"};
	CHECK(vc_hv_qmp_blockdev_args(&rel, &out, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "path: `loop3` is not an absolute path");
	CHECK(out == NULL);

	struct vc_hv_blk two[] = {{.path = "/dev/loop3", .id = "vcb1"},
				  {.path = "/dev/loop4", .id = "vcb2", .readonly = true}};
	struct vc_hv_config c = config("/run/vcrun/x");
	c.blks = two;
	c.n_blks = 2;
	_cleanup_strv_ char **argv = NULL;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	CHECK(count(argv, "-blockdev") == 2);
	CHECK(count(argv, "virtio-blk-pci,drive=dvcb2,id=vcb2,serial=vcb2") == 1);
	CHECK_CONTAINS(after(argv, "-blockdev"), "\"filename\":\"/dev/loop3\"");
	vc_strv_freep(&argv);
	two[1].id = "vcb1";
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "blks[1].id: `vcb1` is used twice");
}

VC_TEST(qmp_args_refuse_what_qemu_would_misread)
{
	struct vc_hv_nic nic = {.tap = "tap3_vc", .mac = "02:42:0a:2d:05:02"};
	char *out = NULL;
	struct vc_error err = {0};
	CHECK(vc_hv_qmp_nic_args("", &nic, 1, &out, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "device id ``");
	CHECK(vc_hv_qmp_nic_args("a,b", &nic, 1, &out, &err) == -EINVAL);
	CHECK(vc_hv_qmp_nic_args("0abc", &nic, 1, &out, &err) == -EINVAL);
	CHECK(vc_hv_qmp_nic_args("a-device-id-that-is-too-long", &nic, 1, &out, &err) == -EINVAL);
	nic.mac = "02:42:0a:2d:05";
	CHECK(vc_hv_qmp_netdev_args("nic-1", &nic, &out, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "mac: `02:42:0a:2d:05`");
	nic.mac = "02:42:0a:2d:05:02";
	nic.tap = "a-tap-name-too-long";
	CHECK(vc_hv_qmp_netdev_args("nic-1", &nic, &out, &err) == -EINVAL);
	nic.tap = "tap1_vc";
	nic.mtu = 40;
	CHECK(vc_hv_qmp_nic_args("nic-1", &nic, 1, &out, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "mtu: 40");
	CHECK(vc_hv_qmp_vfio_args("vfio-1", "0000:01:00.0,x-foo=1", 1, &out, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "is not a PCI address");
	CHECK(out == NULL);
}

/* ---- a real QEMU ---------------------------------------------------------------- */

static const unsigned char mb_kernel[] = {
	0x02, 0xb0, 0xad, 0x1b, 0x00, 0x00, 0x01, 0x00, 0xfe, 0x4f, 0x51, 0xe4,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x10, 0x00, 0xf4, 0xeb, 0xfd,
};

#define FAIL(code)                                                 \
	do {                                                       \
		fprintf(stderr, "# step %d: %s\n", code, err.msg); \
		vc_hv_stop(&hv, 3000, NULL);                       \
		vc_hv_release(&hv);                                \
		_exit(code);                                       \
	} while (0)

/* Whether QEMU has a block node of that name. */
static bool named_node(struct vc_hv *hv, const char *name)
{
	_cleanup_free_ char *reply = NULL;
	_cleanup_free_ char *quoted = vc_strdup_printf("\"node-name\":\"%s\"", name);
	return vc_hv_qmp_execute(hv->qmp_path, "query-named-block-nodes", NULL, 3000, &reply,
				 NULL) == 0 &&
	       quoted && strstr(reply, quoted);
}

/* Disks: a regular file (QEMU's file driver) read-only into the second spare port,
 * found by its serial; twice is refused; a refused device_add takes its drive
 * back; a path that is no disk is refused before QEMU is asked. */
static void disk_steps(struct vc_hv *phv, const char *dir)
{
	struct vc_hv hv = *phv; /* FAIL's */
	struct vc_error err = {0};
	_cleanup_free_ char *img = vc_strdup_printf("%s/disk.img", dir);
	char zeros[4096] = {0};
	if (!img || vc_write_file(img, zeros, sizeof(zeros), NULL) < 0)
		FAIL(30);
	struct vc_hv_blk disk = {.path = img, .id = "vcbdisk1", .readonly = true};
	if (vc_hv_hotplug_blk(phv, &disk, &err) < 0)
		FAIL(31);
	hv = *phv;
	const struct vc_hv_plugged *p = &phv->plugged[phv->n_plugged - 1];
	if (phv->n_plugged != 2 || p->port != 2 || p->kind != VC_HV_PLUG_BLK ||
	    strcmp(p->backend, "dvcbdisk1") || !named_node(phv, "dvcbdisk1"))
		FAIL(32);
	_cleanup_free_ char *reply = NULL;
	if (vc_hv_qmp_execute(phv->qmp_path, "qom-get",
			      "{\"path\":\"/machine/peripheral/vcbdisk1\",\"property\":\"serial\"}",
			      3000, &reply, &err) < 0 ||
	    strcmp(reply, "\"vcbdisk1\""))
		FAIL(33);
	if (vc_hv_hotplug_blk(phv, &disk, &err) != -EEXIST ||
	    !strstr(err.msg, "hot-plug disk vcbdisk1 (") || !strstr(err.msg, "plugged already"))
		FAIL(34);
	/* rp1 is a root port's id already: device_add fails, its drive goes. */
	struct vc_hv_blk clash = {.path = img, .id = "rp1"};
	if (vc_hv_hotplug_blk(phv, &clash, &err) != -EIO || !strstr(err.msg, "hot-plug disk rp1") ||
	    phv->n_plugged != 2 || named_node(phv, "drp1") || strstr(err.msg, "failed too"))
		FAIL(35);
	struct vc_hv_blk notblk = {.path = (char *)dir, .id = "vcbdir"};
	if (vc_hv_hotplug_blk(phv, &notblk, &err) != -ENOTBLK ||
	    !strstr(err.msg, "not a block device"))
		FAIL(36);
	struct vc_hv_blk gone = {.path = "/nonexistent/disk", .id = "vcbgone"};
	if (vc_hv_hotplug_blk(phv, &gone, &err) != -ENOENT || phv->n_plugged != 2)
		FAIL(37);
}

/* In a child with a network namespace of its own: exit 0 when every step did what
 * it should. */
static void __attribute__((noreturn)) qemu_steps(const char *dir)
{
	alarm(60);
	if (unshare(CLONE_NEWNET) < 0)
		_exit(2);
	_cleanup_free_ char *kernel = vc_strdup_printf("%s/mb", dir);
	_cleanup_free_ char *state = vc_strdup_printf("%s/vm", dir);
	if (!kernel || !state || vc_write_file(kernel, mb_kernel, sizeof(mb_kernel), NULL) < 0)
		_exit(3);
	struct vc_hv_config c = config(state);
	c.kernel = kernel;
	c.initrd = kernel;
	c.hotplug_ports = 3;
	c.hotplug_mem_mib = 256;
	c.max_vcpus = 2;
	struct vc_hv hv;
	struct vc_error err = {0};
	if (vc_hv_start(&c, &hv, &err) < 0) {
		fprintf(stderr, "# start: %s\n", err.msg);
		_exit(4);
	}
	if (hv.spare_first != 1 || hv.n_spare != 3)
		FAIL(5);
	/* QEMU refuses a device: the message names it, and no port stays taken. */
	if (vc_hv_hotplug_vfio(&hv, "vfio-x", "0000:ff:1f.7", &err) != -EIO ||
	    !strstr(err.msg, "hot-plug VFIO device vfio-x (0000:ff:1f.7)") || hv.n_plugged)
		FAIL(6);
	/* A NIC (QEMU makes the tap in our namespace), into the first spare port. */
	struct vc_hv_nic nic = {.tap = "tapx_vc", .mac = "02:00:00:00:00:01", .mtu = 1400};
	if (vc_hv_hotplug_nic(&hv, "nic-1", &nic, &err) < 0)
		FAIL(7);
	if (hv.n_plugged != 1 || hv.plugged[0].port != 1 ||
	    strcmp(hv.plugged[0].backend, "nic-1-net"))
		FAIL(8);
	_cleanup_free_ char *reply = NULL;
	if (vc_hv_qmp_execute(hv.qmp_path, "qom-get",
			      "{\"path\":\"/machine/peripheral/nic-1\",\"property\":\"mac\"}", 3000,
			      &reply, &err) < 0 ||
	    strcmp(reply, "\"02:00:00:00:00:01\""))
		FAIL(9);
	if (vc_hv_hotplug_nic(&hv, "nic-1", &nic, &err) != -EEXIST)
		FAIL(10);
	disk_steps(&hv, dir);
	/* A refused device_add takes its netdev back: port 3 holds a device that is
	 * not ours, so QEMU refuses the NIC there. */
	if (vc_hv_qmp_execute(hv.qmp_path, "device_add",
			      "{\"driver\":\"virtio-rng-pci\",\"id\":\"rng\",\"bus\":\"rp3\"}",
			      3000, NULL, &err) < 0)
		FAIL(11);
	struct vc_hv_nic second = {.tap = "tapy_vc", .mac = "02:00:00:00:00:02"};
	if (vc_hv_hotplug_nic(&hv, "nic-2", &second, &err) != -EIO ||
	    !strstr(err.msg, "hot-plug NIC nic-2 (tap tapy_vc, MAC 02:00:00:00:00:02)") ||
	    hv.n_plugged != 2)
		FAIL(12);
	free(reply);
	reply = NULL;
	if (vc_hv_qmp_execute(hv.qmp_path, "human-monitor-command",
			      "{\"command-line\":\"info network\"}", 3000, &reply, &err) < 0 ||
	    !strstr(reply, "nic-1-net") || strstr(reply, "nic-2-net"))
		FAIL(13);
	/* This guest never answers the eject: the unplug times out and says so, and
	 * the device stays recorded (QEMU may still remove it). */
	if (vc_hv_unplug(&hv, "nic-1", 500, &err) != -ETIMEDOUT ||
	    !strstr(err.msg, "unplug nic-1") || !strstr(err.msg, "DEVICE_DELETED") ||
	    hv.n_plugged != 2)
		FAIL(14);
	/* The same for a disk: it stays, and so does its drive (QEMU holds the file
	 * until the guest lets go or the VM ends). */
	if (vc_hv_unplug(&hv, "vcbdisk1", 500, &err) != -ETIMEDOUT || hv.n_plugged != 2 ||
	    !named_node(&hv, "dvcbdisk1"))
		FAIL(23);
	if (vc_hv_unplug(&hv, "nic-9", 500, &err) != -ENOENT)
		FAIL(15);
	/* Memory: a DIMM within the room, then one past it. */
	if (vc_hv_hotplug_memory(&hv, "mem-1", 128, &err) < 0 || hv.hotplug_mem_mib != 128)
		FAIL(17);
	free(reply);
	reply = NULL;
	if (vc_hv_qmp_execute(hv.qmp_path, "query-memory-devices", NULL, 3000, &reply, &err) < 0 ||
	    !strstr(reply, "\"id\":\"mem-1\"") || !strstr(reply, "\"size\":134217728"))
		FAIL(18);
	if (vc_hv_hotplug_memory(&hv, "mem-2", 256, &err) != -ENOSPC ||
	    !strstr(err.msg, "room for 128 MiB more"))
		FAIL(19);
	/* vCPUs: one more, then none left (maxcpus 2). */
	if (vc_hv_hotplug_vcpu(&hv, "cpu-1", &err) < 0)
		FAIL(20);
	if (vc_hv_hotplug_vcpu(&hv, "cpu-2", &err) != -ENOSPC ||
	    !strstr(err.msg, "every possible vCPU is there already"))
		FAIL(21);
	/* Under TCG a vCPU stays: QEMU 7.2 would crash. */
	if (vc_hv_unplug(&hv, "cpu-1", 500, &err) != -ENOTSUP || hv.n_plugged != 4)
		FAIL(22);
	if (vc_hv_stop(&hv, 5000, &err) < 0)
		FAIL(16);
	vc_hv_release(&hv);
	_exit(0);
}

VC_TEST(no_spare_port_left)
{
	/* Refused before QEMU is asked: no QMP socket needed. */
	struct vc_hv_plugged used = {.id = "nic-1", .port = 4};
	struct vc_hv hv = {.qmp_path = "/nonexistent/qmp.sock",
			   .spare_first = 4,
			   .n_spare = 1,
			   .plugged = &used,
			   .n_plugged = 1};
	struct vc_hv_nic nic = {.tap = "tap2_vc", .mac = "02:00:00:00:00:03"};
	struct vc_error err = {0};
	CHECK(vc_hv_hotplug_nic(&hv, "nic-2", &nic, &err) == -ENOSPC);
	CHECK_CONTAINS(err.msg, "hot-plug NIC nic-2 (tap tap2_vc, MAC 02:00:00:00:00:03): no spare "
				"PCIe root port left (the VM booted with 1: hotplug_root_ports");
	CHECK(vc_hv_hotplug_vfio(&hv, "vfio-1", "0000:01:00.0", &err) == -ENOSPC);
	hv.n_spare = 0;
	CHECK(vc_hv_hotplug_vfio(&hv, "vfio-1", "0000:01:00.0", &err) == -ENOSPC);
	CHECK_CONTAINS(err.msg, "booted with 0");
	CHECK(hv.n_plugged == 1);
	/* Only devices in ports take ports: a DIMM does not. */
	struct vc_hv_plugged two[] = {{.id = "mem-1", .kind = VC_HV_PLUG_DIMM, .mib = 128},
				      {.id = "nic-1", .port = 4}};
	struct vc_hv hv2 = {.spare_first = 4, .n_spare = 2, .plugged = two, .n_plugged = 2};
	CHECK(vc_hv_spare_ports_free(&hv2) == 1);
	hv2.n_plugged = 1;
	CHECK(vc_hv_spare_ports_free(&hv2) == 2);
}

VC_TEST(real_qemu_hotplug)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		qemu_steps(vc_unit_tmpdir());
	int st = vc_unit_reap(pid);
	if (st != 0)
		fprintf(stderr, "# the steps ended with %d\n", st);
	CHECK(st == 0);
}

VC_TESTS(VC_T(argv_spare_ports_follow_the_vfio_ports), VC_T(argv_spare_ports_are_bounded),
	 VC_T(argv_room_for_memory_and_vcpus), VC_T(qmp_args_of_each_hotplug),
	 VC_T(qmp_args_of_a_disk), VC_T(qmp_args_refuse_what_qemu_would_misread),
	 VC_T(no_spare_port_left), VC_T(real_qemu_hotplug))
