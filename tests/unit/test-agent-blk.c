/* Host block devices in the guest (agent/blk.c, the blk storage driver): a disk
 * found by its serial on a fake sysfs and /dev (at once, late, never), the
 * CreateContainer `devices` parser and its errors, the spec's renumbering (entry
 * and cgroup rules), and, through a whole agent, a container given a renamed disk
 * and a container whose rootfs is an ext4 image on a loop device found by serial.
 * Device nodes are made with mknod and loop devices attached: root needed. */
#include <stdio.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "oci/spec.h"
#include "tests/unit/test-agent-harness.h"

struct disks {
	char *sys, *dev;
	bool ok;
};

static void put(struct disks *t, const char *rel, const char *text)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", t->sys, rel);
	_cleanup_free_ char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	if (vc_mkdir_p(dir, 0755, NULL) < 0 || vc_write_file(path, text, strlen(text), NULL) < 0)
		t->ok = false;
}

/* sysfs's block/NAME/{serial,dev} and the node DEV/NAME (maj:min). */
static void disk(struct disks *t, const char *name, const char *serial, unsigned maj, unsigned min)
{
	_cleanup_free_ char *s = vc_strdup_printf("block/%s/serial", name);
	_cleanup_free_ char *sv = vc_strdup_printf("%s\n", serial);
	_cleanup_free_ char *d = vc_strdup_printf("block/%s/dev", name);
	_cleanup_free_ char *dv = vc_strdup_printf("%u:%u\n", maj, min);
	_cleanup_free_ char *node = vc_strdup_printf("%s/%s", t->dev, name);
	put(t, s, sv);
	put(t, d, dv);
	if (vc_mkdir_p(t->dev, 0755, NULL) < 0 ||
	    mknod(node, S_IFBLK | 0600, makedev(maj, min)) < 0)
		t->ok = false;
}

static struct disks tree(const char *name)
{
	struct disks t = {.ok = true};
	t.sys = vc_strdup_printf("%s/%s/sys", vc_unit_tmpdir(), name);
	t.dev = vc_strdup_printf("%s/%s/dev", vc_unit_tmpdir(), name);
	_cleanup_free_ char *b = vc_strdup_printf("%s/block", t.sys);
	if (!b || vc_mkdir_p(b, 0755, NULL) < 0 || vc_mkdir_p(t.dev, 0755, NULL) < 0)
		t.ok = false;
	/* a disk without a serial, and one of another id */
	put(&t, "block/loop0/dev", "7:0\n");
	disk(&t, "vda", "vcbother", 254, 0);
	return t;
}

static void tree_free(struct disks *t)
{
	free(t->sys);
	free(t->dev);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool root_or_skip(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "# SKIP: mknod needs root\n");
	return false;
}

VC_TEST(test_find_by_serial)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("find");
	disk(&t, "vdc", "vcb1a2b3c4d5e6f00", 254, 32);
	put(&t, "block/vdd/serial", "vcbpadded   \n"); /* padded to its width */
	put(&t, "block/vdd/dev", "254:48\n");
	_cleanup_free_ char *n = vc_strdup_printf("%s/vdd", t.dev);
	CHECK(mknod(n, S_IFBLK | 0600, makedev(254, 48)) == 0);
	CHECK(t.ok);
	struct agent_blk_env env = {t.sys, t.dev, NULL, 1000};
	struct agent_blk_disk d;
	struct vc_error err = {0};
	CHECK(agent_blk_find(&env, "vcb1a2b3c4d5e6f00", &d, &err) == 0);
	_cleanup_free_ char *want = vc_strdup_printf("%s/vdc", t.dev);
	CHECK_STR(d.node, want);
	CHECK(d.major == 254 && d.minor == 32);
	CHECK(agent_blk_find(&env, "vcbpadded", &d, &err) == 0);
	CHECK(d.minor == 48);
	/* a serial that is a prefix of another is not that one */
	CHECK(agent_blk_find(&(struct agent_blk_env){t.sys, t.dev, NULL, 0}, "vcb1a2b3", &d,
			     &err) == -ENODEV);
}

/* Hot-plug is asynchronous: the disk shows up while the agent waits. */
VC_TEST(test_find_waits_for_a_late_disk)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("late");
	CHECK(t.ok);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(300 * 1000);
		disk(&t, "vdf", "vcblate", 254, 80);
		_exit(t.ok ? 0 : 1);
	}
	struct agent_blk_env env = {t.sys, t.dev, NULL, 5000};
	struct agent_blk_disk d;
	struct vc_error err = {0};
	long t0 = now_ms();
	int r = agent_blk_find(&env, "vcblate", &d, &err);
	long took = now_ms() - t0;
	CHECK(vc_unit_reap(pid) == 0);
	if (r < 0)
		fprintf(stderr, "# %s\n", err.msg);
	CHECK(r == 0);
	CHECK(d.major == 254 && d.minor == 80);
	CHECK(took >= 250 && took < 4000);
}

VC_TEST(test_find_errors)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("errs");
	put(&t, "block/vdx/serial", "vcbbaddev\n");
	put(&t, "block/vdx/dev", "254:x\n");
	disk(&t, "vdy", "vcbwrongnode", 254, 96);
	put(&t, "block/vdy/dev", "254:97\n"); /* the node says 254:96 */
	char big[200];
	memset(big, 'a', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put(&t, "block/vdz/serial", big); /* bounded read: skipped, not trusted */
	CHECK(t.ok);
	struct agent_blk_env env = {t.sys, t.dev, NULL, 200};
	struct agent_blk_disk d;
	struct vc_error err = {0};
	long t0 = now_ms();
	CHECK(agent_blk_find(&env, "vcbnever", &d, &err) == -ENODEV);
	CHECK(now_ms() - t0 >= 200);
	CHECK_CONTAINS(err.msg, "no disk with serial vcbnever appeared within 200 ms");
	CHECK(agent_blk_find(&env, "vcbbaddev", &d, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "vdx/dev: `254:x` is not MAJOR:MINOR");
	CHECK(agent_blk_find(&env, "vcbwrongnode", &d, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "vdy is not block device 254:97");
	CHECK(agent_blk_find(&env, "../x", &d, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "`../x` is not a disk serial");
	/* no sysfs block directory at all: still a bounded wait, then the id */
	env.sysfs = "/nonexistent";
	CHECK(agent_blk_find(&env, "vcbnever", &d, &err) == -ENODEV);
}

static struct vc_json *json(const char *text)
{
	struct vc_json *v = NULL;
	struct vc_error err = {0};
	if (vc_json_parse(text, strlen(text), "test", &v, &err) < 0)
		fprintf(stderr, "# json: %s\n", err.msg);
	return v;
}

VC_TEST(test_devices_read)
{
	_cleanup_json_ struct vc_json *ok =
		json("[{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":\"/dev/xvda\"},"
		     "{\"type\":\"blk\",\"id\":\"vcb2\",\"container_path\":\"/dev/sdb\"}]");
	CHECK(ok);
	_cleanup_free_ struct agent_device_req *d = NULL;
	size_t n = 9;
	struct vc_error err = {0};
	CHECK(agent_devices_read(ok, "params.devices", &d, &n, &err) == 0);
	CHECK(n == 2);
	CHECK_STR(d[1].id, "vcb2");
	CHECK_STR(d[1].container_path, "/dev/sdb");
	CHECK(agent_devices_read(NULL, "params.devices", &d, &n, &err) == 0 && n == 0 && !d);

	static const struct {
		const char *json, *want;
	} bad[] = {
		{"[1]", "params.devices[0]: must be an object"},
		{"[{\"id\":\"vcb1\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[0].type: required"},
		{"[{\"type\":\"chr\",\"id\":\"vcb1\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[0].type: unknown device type `chr`"},
		{"[{\"type\":\"blk\",\"id\":\"VCB\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[0].id: `VCB` is not 1 to 20 lower-case letters"},
		{"[{\"type\":\"blk\",\"id\":\"\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[0].id: `` is not"},
		{"[{\"type\":\"blk\",\"id\":\"vcb123456789012345678\",\"container_path\":\"/dev/"
		 "x\"}]",
		 "params.devices[0].id: `vcb123456789012345678` is not"},
		{"[{\"type\":\"blk\",\"id\":\"9ab\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[0].id: `9ab`"},
		{"[{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":\"dev/x\"}]",
		 "params.devices[0].container_path: `dev/x` is not absolute"},
		{"[{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":7}]",
		 "params.devices[0].container_path: must be a string"},
		{"[{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":\"/dev/x\"},"
		 "{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":\"/dev/y\"}]",
		 "params.devices[1].id: `vcb1` is devices[0]'s too"},
		{"[{\"type\":\"blk\",\"id\":\"vcb1\",\"container_path\":\"/dev/x\"},"
		 "{\"type\":\"blk\",\"id\":\"vcb2\",\"container_path\":\"/dev/x\"}]",
		 "params.devices[1].container_path: `/dev/x` is devices[0]'s too"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		_cleanup_json_ struct vc_json *v = json(bad[i].json);
		CHECK(v);
		_cleanup_free_ struct agent_device_req *dd = NULL;
		err = (struct vc_error){0};
		CHECK(agent_devices_read(v, "params.devices", &dd, &n, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, bad[i].want);
		CHECK(!dd);
	}
}

static struct vc_oci_spec *spec_with(const char *linux_json)
{
	_cleanup_free_ char *text =
		vc_strdup_printf("{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":"
				 "\"/\"},\"root\":{\"path\":\"/r\"},\"linux\":%s}",
				 linux_json);
	struct vc_oci_spec *spec = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_parse(text, strlen(text), "spec", &spec, &err) < 0)
		fprintf(stderr, "# spec: %s\n", err.msg);
	return spec;
}

/* Two host disks: 7:0 at /dev/xvda and 254:0 at /dev/sdb. The guest numbers them
 * 254:0 and 254:16, so the rule for host 254:0 must not be taken for the first
 * disk's new number, nor 7:0's rewritten twice. */
#define TWO_DISKS                                                                       \
	"{\"devices\":[{\"path\":\"/dev/xvda\",\"type\":\"b\",\"major\":7,\"minor\":0," \
	"\"fileMode\":416,\"uid\":0,\"gid\":6},"                                        \
	"{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"           \
	"{\"path\":\"/dev/sdb\",\"type\":\"b\",\"major\":254,\"minor\":0}],"            \
	"\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"             \
	"{\"allow\":true,\"type\":\"b\",\"major\":7,\"minor\":0,\"access\":\"rw\"},"    \
	"{\"allow\":true,\"type\":\"b\",\"major\":254,\"minor\":0,\"access\":\"r\"},"   \
	"{\"allow\":true,\"type\":\"c\",\"major\":7,\"minor\":0,\"access\":\"rwm\"},"   \
	"{\"allow\":true,\"type\":\"b\",\"major\":7,\"access\":\"m\"},"                 \
	"{\"allow\":false,\"type\":\"b\",\"major\":7,\"minor\":1,\"access\":\"rwm\"}]}}"

VC_TEST(test_devices_apply_renumbers)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("apply");
	disk(&t, "vdb", "vcbone", 254, 16);
	disk(&t, "vdc", "vcbtwo", 254, 32);
	CHECK(t.ok);
	_cleanup_spec_ struct vc_oci_spec *s = spec_with(TWO_DISKS);
	CHECK(s);
	/* vda (vcbother) is the first disk: host 7:0 becomes the guest's 254:0 */
	struct agent_device_req devs[] = {{"blk", "vcbother", "/dev/xvda"},
					  {"blk", "vcbone", "/dev/sdb"}};
	struct agent_blk_env env = {t.sys, t.dev, NULL, 100};
	struct vc_error err = {0};
	CHECK(agent_blk_devices_apply(s, devs, 2, &env, &err) == 0);
	const struct vc_oci_device *x = &s->linux->devices[0], *f = &s->linux->devices[1],
				   *b = &s->linux->devices[2];
	CHECK(x->major == 254 && x->minor == 0 && x->type == 'b');
	CHECK(x->has_file_mode && x->file_mode == 0640 && x->has_gid && x->gid == 6);
	CHECK(f->major == 10 && f->minor == 229);
	CHECK(b->major == 254 && b->minor == 16);
	const struct vc_oci_device_cgroup *r = s->linux->resources->devices;
	CHECK(s->linux->resources->n_devices == 6);
	CHECK(!r[0].has_major);					   /* deny all */
	CHECK(r[1].major == 254 && r[1].minor == 0 && r[1].allow); /* host 7:0 */
	CHECK(r[2].major == 254 && r[2].minor == 16 && !strcmp(r[2].access, "r"));
	CHECK(r[3].type == 'c' && r[3].major == 7 && r[3].minor == 0); /* char stays */
	CHECK(r[4].major == 7 && !r[4].has_minor);		       /* wildcard stays */
	CHECK(r[5].major == 7 && r[5].minor == 1);		       /* another device */
}

VC_TEST(test_devices_apply_errors)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("applyerr");
	CHECK(t.ok);
	struct agent_blk_env env = {t.sys, t.dev, NULL, 100};
	static const struct {
		struct agent_device_req d;
		const char *want;
	} cases[] = {
		{{"blk", "vcbother", "/dev/xvdb"},
		 "devices[0].container_path: no linux.devices entry has path `/dev/xvdb`"},
		{{"blk", "vcbother", "/dev/fuse"},
		 "devices[0]: linux.devices[1] /dev/fuse is not a block device (type c)"},
		{{"blk", "vcbgone", "/dev/xvda"},
		 "devices[0] (id vcbgone, container_path /dev/xvda): no disk with serial vcbgone"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_spec_ struct vc_oci_spec *s = spec_with(TWO_DISKS);
		CHECK(s);
		struct vc_error err = {0};
		CHECK(agent_blk_devices_apply(s, &cases[i].d, 1, &env, &err) < 0);
		CHECK_CONTAINS(err.msg, cases[i].want);
		/* nothing changed */
		CHECK(s->linux->devices[0].major == 7 &&
		      s->linux->resources->devices[1].major == 7);
	}
}

/* ---- through a whole agent ------------------------------------------------- */

/* Runs argv; its stdout (trimmed) in out when out is not NULL. */
static int run(char *const argv[], char *out, size_t n)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char buf[512] = "";
	ssize_t got = vc_read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (out)
		snprintf(out, n, "%s", buf);
	return vc_unit_reap(pid);
}

static char loopdev[64];

static void detach_loop(void)
{
	if (loopdev[0])
		run((char *[]){"losetup", "-d", loopdev, NULL}, NULL, 0);
	loopdev[0] = '\0';
}

/* The container gets the disk at the path the spec asks (a rename), with the
 * spec's mode and group and the guest's number. */
VC_TEST(test_container_gets_renamed_disk)
{
	if (!root_or_skip())
		return;
	struct disks t __attribute__((cleanup(tree_free))) = tree("ctr");
	CHECK(t.ok);
	h_sysfs = t.sys;
	h_devroot = t.dev;
	h_blk_wait_ms = 300;
	START(h);
	_cleanup_free_ char *spec = spec_json(
		rootfs,
		"[\"sh\",\"-c\",\"ls -ln /dev/xvda | { read m l u g ma mi r; echo $m $u $g $ma$mi; "
		"}\"]",
		false,
		",\"devices\":[{\"path\":\"/dev/xvda\",\"type\":\"b\",\"major\":7,\"minor\":200,"
		"\"fileMode\":416,\"uid\":0,\"gid\":6}]");
	char *r = CALL(&h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"d1\",\"stream_id\":5,\"storages\":[],\"spec\":%s,"
		       "\"devices\":[{\"type\":\"blk\",\"id\":\"vcbother\","
		       "\"container_path\":\"/dev/xvda\"}]}",
		       spec);
	CHECK(is_ok(r));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"d1\"}")));
	r = wait_process(&h, "d1", NULL, 5, NULL);
	CHECK(r && result_int(r, "exit_code") == 0);
	struct stream *s = stream_get(&h, 5);
	CHECK(s && s->out);
	CHECK_STR(s->out, "brw-r----- 0 6 254,0\n");

	/* a device the guest never gets: an error naming it, nothing left */
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"d2\",\"stream_id\":6,\"storages\":[],\"spec\":%s,"
		 "\"devices\":[{\"type\":\"blk\",\"id\":\"vcbmissing\","
		 "\"container_path\":\"/dev/xvda\"}]}",
		 spec);
	CHECK(!is_ok(r));
	CHECK_CONTAINS(r, "CreateContainer: params.devices[0] (id vcbmissing, container_path "
			  "/dev/xvda): no disk with serial vcbmissing appeared within 300 ms");
	r = CALL(&h, VC_M_LIST_PROCESSES, "{\"container_id\":\"d2\"}");
	CHECK(!is_ok(r) && err_code(r) == ENOENT);
	r = CALL(&h, VC_M_CREATE_CONTAINER,
		 "{\"container_id\":\"d3\",\"stream_id\":7,\"storages\":[],\"spec\":%s,"
		 "\"devices\":[{\"type\":\"disk\",\"id\":\"vcbother\","
		 "\"container_path\":\"/dev/xvda\"}]}",
		 spec);
	CHECK_CONTAINS(r, "CreateContainer: params.devices[0].type: unknown device type `disk`");
	STOP(h);
	h_sysfs = h_devroot = NULL;
	h_blk_wait_ms = 0;
}

VC_TEST(test_blk_storage_checks)
{
	START(h);
	static const struct {
		const char *storage, *want;
	} bad[] = {
		{"{\"driver\":\"blk\",\"source\":\"vcb1\",\"fstype\":\"9p\",\"mount_point\":\"/"
		 "m\"}",
		 "params.storages[0].fstype: `9p` is not a disk's file system type (driver blk)"},
		{"{\"driver\":\"blk\",\"source\":\"vcb1\",\"fstype\":\"bind\",\"mount_point\":\"/"
		 "m\"}",
		 "`bind` is not a disk's file system type"},
		{"{\"driver\":\"blk\",\"source\":\"vcb1\",\"fstype\":\"../x\",\"mount_point\":\"/"
		 "m\"}",
		 "`../x` is not a disk's file system type"},
		{"{\"driver\":\"blk\",\"source\":\"vcb1\",\"fstype\":\"\",\"mount_point\":\"/m\"}",
		 "`` is not a disk's file system type"},
		{"{\"driver\":\"scsi\",\"source\":\"vcb1\",\"fstype\":\"ext4\",\"mount_point\":\"/"
		 "m\"}",
		 "params.storages[0].driver: unknown driver `scsi`"},
		{"{\"driver\":\"blk\",\"source\":\"/dev/sda\",\"fstype\":\"ext4\",\"mount_point\":"
		 "\"/m\"}",
		 "params.storages[0].source: `/dev/sda` is not a disk serial"},
		{"{\"source\":\"vcb1\",\"fstype\":\"ext4\",\"mount_point\":\"/m\"}",
		 "params.storages[0].fstype: unknown fstype `ext4`"},
		{"{\"driver\":5,\"source\":\"vcb1\",\"fstype\":\"ext4\",\"mount_point\":\"/m\"}",
		 "params.storages[0].driver: must be a string"},
	};
	_cleanup_free_ char *spec = spec_json(rootfs, "[\"true\"]", false, NULL);
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		char *r = CALL(&h, VC_M_CREATE_CONTAINER,
			       "{\"container_id\":\"s\",\"stream_id\":3,\"storages\":[%s],"
			       "\"spec\":%s}",
			       bad[i].storage, spec);
		CHECK(!is_ok(r));
		CHECK_CONTAINS(r, bad[i].want);
	}
	STOP(h);
}

/* A block-backed rootfs: an ext4 image on a loop device, found by serial (the
 * fake sysfs names the loop device's number), mounted, used as the rootfs, and
 * unmounted when the container goes. */
VC_TEST(test_blk_storage_rootfs)
{
	if (!root_or_skip() || !fixtures())
		return;
	_cleanup_free_ char *img = vc_strdup_printf("%s/rootfs.img", vc_unit_tmpdir());
	_cleanup_free_ char *hello = vc_strdup_printf("%s/hello", rootfs);
	CHECK(vc_write_file(hello, "from the disk\n", 14, NULL) == 0);
	CHECK(run((char *[]){"truncate", "-s", "24M", img, NULL}, NULL, 0) == 0);
	CHECK(run((char *[]){"mkfs.ext4", "-q", "-F", "-d", rootfs, img, NULL}, NULL, 0) == 0);
	unlink(hello);
	atexit(detach_loop);
	CHECK(run((char *[]){"losetup", "-f", "--show", img, NULL}, loopdev, sizeof(loopdev)) == 0);
	struct stat st;
	CHECK(stat(loopdev, &st) == 0 && S_ISBLK(st.st_mode));
	struct disks t __attribute__((cleanup(tree_free))) = tree("rootfs");
	disk(&t, "vdr", "vcbroot", major(st.st_rdev), minor(st.st_rdev));
	CHECK(t.ok);
	h_sysfs = t.sys;
	h_devroot = t.dev;
	START(h);
	_cleanup_free_ char *mnt = vc_strdup_printf("%s/blkroot", vc_unit_tmpdir());
	_cleanup_free_ char *spec =
		spec_json(mnt, "[\"sh\",\"-c\",\"cat /hello; grep -c ' / ext4 ' /proc/mounts\"]",
			  false, NULL);
	char *r = CALL(&h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"b1\",\"stream_id\":9,\"storages\":[{\"driver\":\"blk\","
		       "\"source\":\"vcbroot\",\"fstype\":\"ext4\",\"mount_point\":\"%s\","
		       "\"options\":[\"noatime\",\"nodelalloc\"]}],\"spec\":%s}",
		       mnt, spec);
	if (!is_ok(r))
		fprintf(stderr, "# %s\n", r ? r : "(none)");
	CHECK(is_ok(r));
	CHECK(agent_mountinfo_has(&h, "noatime"));
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"b1\"}")));
	r = wait_process(&h, "b1", NULL, 9, NULL);
	CHECK(r && result_int(r, "exit_code") == 0);
	struct stream *s = stream_get(&h, 9);
	CHECK(s && s->out);
	CHECK_STR(s->out, "from the disk\n1\n");
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"b1\"}")));
	_cleanup_free_ char *mnt_entry = vc_strdup_printf(" %s ", mnt);
	CHECK(!agent_mountinfo_has(&h, mnt_entry));
	STOP(h);
	h_sysfs = h_devroot = NULL;
	detach_loop();
}

VC_TESTS(VC_T(test_find_by_serial), VC_T(test_find_waits_for_a_late_disk), VC_T(test_find_errors),
	 VC_T(test_devices_read), VC_T(test_devices_apply_renumbers),
	 VC_T(test_devices_apply_errors), VC_T(test_container_gets_renamed_disk),
	 VC_T(test_blk_storage_checks), VC_T(test_blk_storage_rootfs))
