/* lib/blkroot.c: a block-backed rootfs found in a fake mountinfo, sysfs and /dev;
 * the plan it makes (disk, Storage, root.path, plan.json); unmount and mount back
 * (tmpfs in a private mount namespace). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/blkroot.h"
#include "lib/config.h"
#include "lib/plan.h"
#include "oci/spec.h"
#include "tests/unit/unit.h"

/* A fake host: TMP/NAME/{sys,dev,mountinfo} with block device 7:42 (loop42). */
struct fake {
	char dir[512], sys[600], dev[600], mountinfo[600];
};

static void fake_host(struct fake *f, const char *name)
{
	snprintf(f->dir, sizeof(f->dir), "%s/%s", vc_unit_tmpdir(), name);
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->dir);
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->dir);
	_cleanup_free_ char *blk = vc_strdup_printf("%s/dev/block/7:42", f->sys);
	_cleanup_free_ char *uevent = vc_strdup_printf("%s/uevent", blk);
	_cleanup_free_ char *node = vc_strdup_printf("%s/loop42", f->dev);
	_cleanup_free_ char *other = vc_strdup_printf("%s/loop43", f->dev);
	vc_mkdir_p(blk, 0755, NULL);
	vc_mkdir_p(f->dev, 0755, NULL);
	const char *ev = "MAJOR=7\nMINOR=42\nDEVNAME=loop42\nDEVTYPE=disk\n";
	vc_write_file(uevent, ev, strlen(ev), NULL);
	mknod(node, S_IFBLK | 0600, makedev(7, 42));
	/* 7:43's node is there, but sysfs does not know it. */
	mknod(other, S_IFBLK | 0600, makedev(7, 43));
}

/* The fake mountinfo: the host's root, then lines (%s is the rootfs). */
static void fake_mounts(const struct fake *f, const char *rootfs, const char *lines)
{
	_cleanup_free_ char *body = vc_strdup_printf(lines, rootfs, rootfs, rootfs);
	_cleanup_free_ char *text = vc_strdup_printf(
		"1 0 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
		"22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
		"%s",
		body);
	vc_write_file(f->mountinfo, text, strlen(text), NULL);
}

static char *rootfs_dir(const struct fake *f, const char *sub)
{
	char *p = vc_strdup_printf("%s/%s", f->dir, sub);
	vc_mkdir_p(p, 0755, NULL);
	return p;
}

VC_TEST(find_a_loop_mounted_rootfs)
{
	struct fake f;
	fake_host(&f, "find");
	_cleanup_free_ char *rootfs = rootfs_dir(&f, "b/rootfs");
	fake_mounts(&f, rootfs,
		    "70 1 7:42 / %s rw,nosuid,noatime shared:9 - ext4 /dev/loop42 "
		    "rw,errors=remount-ro\n");
	struct vc_blkroot_where w = {f.mountinfo, f.sys, f.dev};
	struct vc_blkroot b;
	struct vc_error err = {0};
	char why[256] = "";
	CHECK(vc_blkroot_find(&w, rootfs, &b, why, sizeof(why), &err) == 1);
	CHECK_STR(b.path, rootfs);
	CHECK_STR(b.source, "/dev/loop42");
	_cleanup_free_ char *node = vc_strdup_printf("%s/loop42", f.dev);
	CHECK_STR(b.device, node);
	CHECK_STR(b.fstype, "ext4");
	CHECK(b.flags == (MS_NOSUID | MS_NOATIME));
	CHECK_STR(b.data, "errors=remount-ro");
	/* The guest: every word but rw/ro. */
	CHECK(b.options && b.options[0] && b.options[1] && b.options[2] && !b.options[3]);
	CHECK_STR(b.options[0], "nosuid");
	CHECK_STR(b.options[1], "noatime");
	CHECK_STR(b.options[2], "errors=remount-ro");
	vc_blkroot_release(&b);

	/* A trailing slash and a read-only mount without an atime word (strictatime). */
	_cleanup_free_ char *slash = vc_strdup_printf("%s/", rootfs);
	fake_mounts(&f, rootfs, "70 1 7:42 / %s ro - ext4 /dev/loop42 ro\n");
	CHECK(vc_blkroot_find(&w, slash, &b, why, sizeof(why), &err) == 1);
	CHECK(b.flags == (MS_RDONLY | MS_STRICTATIME));
	CHECK_STR(b.data, "");
	CHECK(b.options && b.options[0] && !b.options[1]);
	CHECK_STR(b.options[0], "strictatime");
	vc_blkroot_release(&b);

	/* mountinfo's escapes: a space in the path. */
	_cleanup_free_ char *spaced = rootfs_dir(&f, "b 2/rootfs");
	_cleanup_free_ char *line = vc_strdup_printf(
		"70 1 7:42 / %s/b\\0402/rootfs rw,relatime - ext4 /dev/loop42 rw\n", f.dir);
	fake_mounts(&f, "", line);
	CHECK(vc_blkroot_find(&w, spaced, &b, why, sizeof(why), &err) == 1);
	CHECK_STR(b.path, spaced);
	vc_blkroot_release(&b);
}

/* Each reason to keep the share, and the words the debug log gets. */
VC_TEST(find_falls_back_with_a_reason)
{
	struct fake f;
	fake_host(&f, "fallback");
	_cleanup_free_ char *rootfs = rootfs_dir(&f, "b/rootfs");
	struct vc_blkroot_where w = {f.mountinfo, f.sys, f.dev};
	static const struct {
		const char *lines, *why;
	} cases[] = {
		{"", "is no mount point"},
		{"70 1 0:55 / %s rw - overlay overlay rw,lowerdir=/l\n",
		 "its filesystem (overlay) has no block device"},
		{"70 1 0:56 / %s rw - tmpfs tmpfs rw\n", "has no block device"},
		{"70 1 7:42 /images/one %s rw - ext4 /dev/loop42 rw\n",
		 "a bind of `/images/one` inside its filesystem"},
		{"69 1 7:42 / /mnt/img rw - ext4 /dev/loop42 rw\n"
		 "70 1 7:42 / %s rw - ext4 /dev/loop42 rw\n",
		 "mounted at `/mnt/img` on the host too"},
		{"70 1 7:42 / %s rw - ext4 /dev/loop42 rw\n"
		 "71 70 0:57 / %s/proc rw - proc proc rw\n",
		 "is mounted below it on the host"},
		{"70 1 7:43 / %s rw - ext4 /dev/loop43 rw\n", "7:43 is no block device"},
		{"70 1 8:1 / %s rw - ext4 /dev/sda1 rw\n", "8:1 is no block device"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		fake_mounts(&f, rootfs, cases[i].lines);
		struct vc_blkroot b;
		struct vc_error err = {0};
		char why[512] = "";
		CHECK(vc_blkroot_find(&w, rootfs, &b, why, sizeof(why), &err) == 0);
		CHECK_CONTAINS(why, cases[i].why);
		CHECK(!b.path && !b.device);
	}
	/* A node that is some other device than sysfs says. */
	_cleanup_free_ char *uevent = vc_strdup_printf("%s/dev/block/7:42/uevent", f.sys);
	const char *ev = "MAJOR=7\nMINOR=42\nDEVNAME=loop43\n";
	vc_write_file(uevent, ev, strlen(ev), NULL);
	fake_mounts(&f, rootfs, "70 1 7:42 / %s rw - ext4 /dev/loop42 rw\n");
	struct vc_blkroot b;
	struct vc_error err = {0};
	char why[512] = "";
	CHECK(vc_blkroot_find(&w, rootfs, &b, why, sizeof(why), &err) == 0);
	CHECK_CONTAINS(why, "loop43` is not the block device 7:42");
	/* An unreadable mountinfo is an error, not a fallback. */
	w.mountinfo = "/nonexistent/mountinfo";
	CHECK(vc_blkroot_find(&w, rootfs, &b, why, sizeof(why), &err) < 0);
	CHECK_CONTAINS(err.msg, "/nonexistent/mountinfo");
}

/* A bundle at TMP/NAME/b: rootfs, a bind mount of data, the annotation (NULL:
 * none), root.readonly. */
static struct vc_oci_spec *bundle(const struct fake *f, const char *annotation, bool ro)
{
	_cleanup_free_ char *b = vc_strdup_printf("%s/b", f->dir);
	_cleanup_free_ char *data = vc_strdup_printf("%s/data", b);
	_cleanup_free_ char *cfg = vc_strdup_printf("%s/config.json", b);
	vc_mkdir_p(data, 0755, NULL);
	_cleanup_free_ char *an =
		annotation ? vc_strdup_printf(",\"annotations\":{\"" VC_ANNOT_BLOCK_ROOTFS
					      "\":\"%s\"}",
					      annotation)
			   : strdup("");
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\","
		"\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\",\"readonly\":%s},"
		"\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
		"\"options\":[\"rbind\"]}]%s}",
		ro ? "true" : "false", an);
	vc_write_file(cfg, text, strlen(text), NULL);
	struct vc_oci_spec *spec = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_load(b, &spec, &err) < 0)
		fprintf(stderr, "# %s\n", err.msg);
	return spec;
}

VC_TEST(plan_takes_the_disk)
{
	struct fake f;
	fake_host(&f, "plan");
	_cleanup_free_ char *rootfs = rootfs_dir(&f, "b/rootfs");
	fake_mounts(&f, rootfs, "70 1 7:42 / %s rw,relatime - ext4 /dev/loop42 rw\n");
	_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, "true", true);
	CHECK(spec);
	struct vc_config cfg;
	vc_unit_config(&cfg);
	struct vc_plan_where w = {"/r", "c1", "c1", f.dev, f.mountinfo, f.sys};
	struct vc_plan plan;
	struct vc_error err = {0};
	CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
	/* One disk, no target (a rootfs), read-only as root.readonly says. */
	CHECK(plan.n_blks == 1 && !plan.blks[0].target && plan.blks[0].readonly);
	_cleanup_free_ char *node = vc_strdup_printf("%s/loop42", f.dev);
	CHECK_STR(plan.blks[0].path, node);
	char serial[VC_HV_BLK_ID_MAX + 1];
	vc_plan_blk_id("c1", 0, serial);
	CHECK_STR(plan.blks[0].id, serial);
	/* No rootfs bind: the first bind is the mount's, named as it always was. */
	CHECK(plan.n_binds == 1);
	CHECK_STR(plan.binds[0].what, "mounts[0].source");
	CHECK_STR(plan.binds[0].target, "c1/m0-data");
	/* The share and the disk's Storage; root.path is its mount point. */
	CHECK(plan.storages->u.array.len == 2);
	const struct vc_json *st = plan.storages->u.array.items[0];
	_cleanup_free_ char *mp = vc_strdup_printf(VC_GUEST_STORAGE_DIR "/%s-rootfs", serial);
	CHECK_STR(vc_json_str(vc_json_get(st, "driver")), "blk");
	CHECK_STR(vc_json_str(vc_json_get(st, "source")), serial);
	CHECK_STR(vc_json_str(vc_json_get(st, "fstype")), "ext4");
	CHECK_STR(vc_json_str(vc_json_get(st, "mount_point")), mp);
	const struct vc_json *opts = vc_json_get(st, "options");
	CHECK(opts && opts->u.array.len == 1);
	CHECK_STR(vc_json_str(opts->u.array.items[0]), "relatime");
	CHECK(vc_json_get(st, "readonly")->u.boolean);
	CHECK_STR(vc_json_str(vc_json_get(vc_json_get(plan.guest_spec, "root"), "path")), mp);
	CHECK(plan.blk_rootfs && plan.blk_rootfs->flags == MS_RELATIME);
	/* No agent Device: a rootfs disk is a Storage. */
	_cleanup_json_ struct vc_json *devs = vc_plan_agent_devices(&plan);
	CHECK(devs && devs->u.array.len == 0);

	/* plan.json keeps what teardown mounts back. */
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_plan_to_json(&plan, &text, &len, &err) == 0);
	struct vc_plan back;
	CHECK(vc_plan_from_json(text, len, "plan.json", &back, &err) == 0);
	CHECK(back.blk_rootfs && back.n_blks == 1 && back.n_binds == 1);
	CHECK_STR(back.blk_rootfs->path, rootfs);
	CHECK_STR(back.blk_rootfs->source, "/dev/loop42");
	CHECK_STR(back.blk_rootfs->device, node);
	CHECK_STR(back.blk_rootfs->fstype, "ext4");
	CHECK(back.blk_rootfs->flags == MS_RELATIME);
	CHECK_STR(back.binds[0].target, "c1/m0-data");
	vc_plan_release(&back);
	/* A record whose device is none of the plan's disks is refused. */
	_cleanup_free_ char *forged = strdup(text);
	char *at = strstr(forged, "\"device\":\"");
	CHECK(at);
	at = strstr(at, "loop42");
	CHECK(at);
	at[5] = '3';
	CHECK(vc_plan_from_json(forged, len, "plan.json", &back, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "blk_rootfs: bad entry");
	vc_plan_release(&plan);
	vc_config_release(&cfg);
}

VC_TEST(plan_opt_in_and_out)
{
	struct fake f;
	fake_host(&f, "optin");
	_cleanup_free_ char *rootfs = rootfs_dir(&f, "b/rootfs");
	fake_mounts(&f, rootfs, "70 1 7:42 / %s rw,relatime - ext4 /dev/loop42 rw\n");
	struct vc_config cfg;
	vc_unit_config(&cfg);
	struct vc_plan_where w = {"/r", "c2", "c2", f.dev, f.mountinfo, f.sys};
	struct vc_plan plan;
	struct vc_error err = {0};
	/* Off by default: the share. */
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, NULL, false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
		CHECK(plan.n_blks == 0 && !plan.blk_rootfs && plan.n_binds == 2);
		CHECK_STR(plan.binds[0].target, "c2/rootfs");
		CHECK_STR(plan.binds[1].target, "c2/m1-data");
		vc_plan_release(&plan);
	}
	/* The config turns it on, the annotation off again. */
	cfg.block_rootfs = true;
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, NULL, false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
		CHECK(plan.n_blks == 1 && plan.blk_rootfs && !plan.blks[0].readonly);
		vc_plan_release(&plan);
	}
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, "false", false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
		CHECK(plan.n_blks == 0 && !plan.blk_rootfs);
		vc_plan_release(&plan);
	}
	/* A read-only host mount gives a read-only disk, root.readonly or not. */
	fake_mounts(&f, rootfs, "70 1 7:42 / %s ro,relatime - ext4 /dev/loop42 ro\n");
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, NULL, false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
		CHECK(plan.n_blks == 1 && plan.blks[0].readonly);
		CHECK(vc_json_get(plan.storages->u.array.items[0], "readonly")->u.boolean);
		vc_plan_release(&plan);
	}
	/* On, but the rootfs is not a disk: the share. */
	fake_mounts(&f, rootfs, "");
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, "true", false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == 0);
		CHECK(plan.n_blks == 0 && !plan.blk_rootfs && plan.n_binds == 2);
		CHECK_STR(plan.binds[0].what, "root.path");
		vc_plan_release(&plan);
	}
	/* Anything but true or false is an error naming the annotation. */
	{
		_cleanup_spec_ struct vc_oci_spec *spec = bundle(&f, "yes", false);
		CHECK(vc_plan_build(&w, spec, &cfg, VC_ACCEL_TCG, &plan, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, VC_ANNOT_BLOCK_ROOTFS ": `yes`");
	}
	vc_config_release(&cfg);
}

VC_TEST(config_key)
{
	struct vc_config cfg;
	struct vc_error err = {0};
	memset(&cfg, 0, sizeof(cfg));
	const char *on = "{\"block_rootfs\": true}";
	CHECK(vc_config_parse(&cfg, on, strlen(on), "c.json", &err) == 0);
	CHECK(cfg.block_rootfs);
	const char *bad = "{\"block_rootfs\": \"yes\"}";
	CHECK(vc_config_parse(&cfg, bad, strlen(bad), "c.json", &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "c.json: block_rootfs: must be true or false");
	vc_config_release(&cfg);
}

/* Unmount and mount back, on a tmpfs in a mount namespace of this test's own. */
VC_TEST(unmount_and_mount_back)
{
	CHECK(unshare(CLONE_NEWNS) == 0);
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	struct fake f;
	fake_host(&f, "remount");
	_cleanup_free_ char *mnt = rootfs_dir(&f, "mnt");
	_cleanup_free_ char *dev = vc_strdup_printf("%s/not-a-device", f.dir);
	vc_write_file(dev, "", 0, NULL);
	struct vc_blkroot b = {.path = mnt,
			       .source = "vcrun-test",
			       .device = dev,
			       .fstype = "tmpfs",
			       .flags = MS_NOSUID | MS_NODEV,
			       .data = "size=1m,mode=700"};
	struct vc_error err = {0};
	/* Not a mount point (the fake mountinfo has none there): mounted, as it was. */
	fake_mounts(&f, mnt, "");
	CHECK(vc_blkroot_remount(&b, f.mountinfo, &err) == 1);
	struct stat st;
	CHECK(stat(mnt, &st) == 0 && (st.st_mode & 07777) == 0700);
	struct vc_blkroot found;
	char why[256];
	struct vc_blkroot_where w = {NULL, NULL, NULL};
	CHECK(vc_blkroot_find(&w, mnt, &found, why, sizeof(why), &err) == 0);
	CHECK_CONTAINS(why, "(tmpfs) has no block device");
	/* Mounted already (the real mountinfo): nothing more. */
	_cleanup_free_ char *mark = vc_strdup_printf("%s/mark", mnt);
	vc_write_file(mark, "x", 1, NULL);
	CHECK(vc_blkroot_remount(&b, NULL, &err) == 0);
	CHECK(access(mark, F_OK) == 0);
	/* Busy: refused with the path and why; still mounted. */
	int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(vc_blkroot_unmount(&b, &err) == -EBUSY);
	close(fd);
	CHECK_CONTAINS(err.msg, mnt);
	CHECK_CONTAINS(err.msg, "something on the host holds it");
	CHECK(access(mark, F_OK) == 0);
	CHECK(vc_blkroot_unmount(&b, &err) == 0);
	CHECK(access(mark, F_OK) < 0);
}

VC_TESTS(VC_T(find_a_loop_mounted_rootfs), VC_T(find_falls_back_with_a_reason),
	 VC_T(plan_takes_the_disk), VC_T(plan_opt_in_and_out), VC_T(config_key),
	 VC_T(unmount_and_mount_back))
