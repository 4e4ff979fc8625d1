/* lib/plan-devices.c: which linux.devices entries become disks, which stay nodes made
 * in the guest, which are refused and how, read-only from the cgroup rules, the
 * guest-only annotation and privileged specs. The disks use a real block device of
 * this host (any: the first /sys/dev/block lists whose node is in /dev). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/plan.h"
#include "oci/spec.h"
#include "tests/unit/unit.h"

/* A block device of this host: its numbers and node. */
static bool host_disk(unsigned *major, unsigned *minor, char node[64])
{
	DIR *d = opendir("/sys/dev/block");
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		if (sscanf(e->d_name, "%u:%u", major, minor) != 2)
			continue;
		_cleanup_free_ char *uevent =
			vc_strdup_printf("/sys/dev/block/%s/uevent", e->d_name);
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		if (!uevent || vc_read_file(uevent, 4096, &text, &len, NULL) < 0)
			continue;
		const char *name = strstr(text, "DEVNAME=");
		if (!name)
			continue;
		snprintf(node, 64, "/dev/%.*s", (int)strcspn(name + 8, "\n"), name + 8);
		struct stat st;
		found = stat(node, &st) == 0 && S_ISBLK(st.st_mode);
	}
	if (d)
		closedir(d);
	return found;
}

static unsigned maj, mnr;
static char node[64];

/* The devices (a JSON array's inside), the cgroup rules and the annotations. */
static struct vc_oci_spec *spec_of(const char *devices, const char *rules, const char *annots)
{
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"root\":{\"path\":\"rootfs\"},\"annotations\":{%s},"
		"\"linux\":{\"devices\":[%s],\"resources\":{\"devices\":[%s]}}}",
		annots, devices, rules);
	struct vc_oci_spec *spec = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_parse_runnable(text, strlen(text), "config.json", &spec, &err) < 0)
		fprintf(stderr, "# spec: %s\n", err.msg);
	return spec;
}

/* The host disk at /dev/xvda plus what else, classified for container c1. */
static int classify(const char *more, const char *rules, const char *annots, struct vc_plan *p,
		    struct vc_error *err)
{
	_cleanup_free_ char *devs =
		vc_strdup_printf("{\"path\":\"/dev/xvda\",\"type\":\"b\",\"major\":%u,\"minor\":%u,"
				 "\"fileMode\":384}%s%s",
				 maj, mnr, more[0] ? "," : "", more);
	_cleanup_spec_ struct vc_oci_spec *spec = spec_of(devs, rules, annots);
	memset(p, 0, sizeof(*p));
	p->container_id = strdup("c1");
	if (!spec || !p->container_id)
		return -ENOMEM;
	vc_error_clear(err);
	return vc_plan_set_devices(p, spec, err);
}

#define KVM "{\"path\":\"/dev/kvm\",\"type\":\"c\",\"major\":10,\"minor\":232}"
#define KERNELS                                                                  \
	"{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3},"       \
	"{\"path\":\"/dev/net/tun\",\"type\":\"c\",\"major\":10,\"minor\":200}," \
	"{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"    \
	"{\"path\":\"/dev/pts/3\",\"type\":\"c\",\"major\":136,\"minor\":3},"    \
	"{\"path\":\"/dev/vfio/7\",\"type\":\"c\",\"major\":243,\"minor\":0},"   \
	"{\"path\":\"/dev/fifo\",\"type\":\"p\"}"
#define DENY_ALL "{\"allow\":false,\"access\":\"rwm\"}"

static char *allow_disk(const char *access)
{
	return vc_strdup_printf("%s,{\"allow\":true,\"type\":\"b\",\"major\":%u,\"minor\":%u,"
				"\"access\":\"%s\"}",
				DENY_ALL, maj, mnr, access);
}

/* docker --device: the disk, read-write, with the guest's own char devices beside
 * it; nothing else becomes a disk and the agent hears of this one. */
VC_TEST(block_device_becomes_a_disk)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	_cleanup_free_ char *rw = allow_disk("rwm");
	CHECK(classify(KERNELS, rw, "", &p, &err) == 0);
	CHECK(p.n_blks == 1);
	char id[VC_HV_BLK_ID_MAX + 1];
	vc_plan_blk_id("c1", 0, id);
	if (p.n_blks == 1) {
		CHECK_STR(p.blks[0].path, node);
		CHECK_STR(p.blks[0].id, id);
		CHECK_STR(p.blks[0].target, "/dev/xvda");
		CHECK(!p.blks[0].readonly);
	}
	_cleanup_json_ struct vc_json *devs = vc_plan_agent_devices(&p);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(devs && vc_json_serialize(devs, false, &text, &len, &err) == 0);
	_cleanup_free_ char *want = vc_strdup_printf(
		"[{\"type\":\"blk\",\"id\":\"%s\",\"container_path\":\"/dev/xvda\"}]", id);
	CHECK_STR(text, want);
	vc_plan_release(&p);

	/* No rules at all: the cgroup does not restrict it. */
	CHECK(classify("", "", "", &p, &err) == 0);
	CHECK(p.n_blks == 1 && !p.blks[0].readonly);
	vc_plan_release(&p);
}

/* Read-only from the rules in order: an allow without `w`, or a later deny of `w`. */
VC_TEST(read_only_from_the_cgroup_rules)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	_cleanup_free_ char *ro = allow_disk("r");
	CHECK(classify("", ro, "", &p, &err) == 0);
	CHECK(p.n_blks == 1 && p.blks[0].readonly);
	vc_plan_release(&p);

	_cleanup_free_ char *denied =
		vc_strdup_printf("{\"allow\":true,\"type\":\"b\",\"access\":\"rwm\"},{\"allow\":"
				 "false,\"type\":\"b\","
				 "\"major\":%u,\"minor\":-1,\"access\":\"w\"}",
				 maj);
	CHECK(classify("", denied, "", &p, &err) == 0);
	CHECK(p.n_blks == 1 && p.blks[0].readonly);
	vc_plan_release(&p);

	/* A rule for another device or of type c changes nothing for this one. */
	_cleanup_free_ char *other = vc_strdup_printf(
		"%s,{\"allow\":true,\"type\":\"c\",\"major\":%u,\"minor\":%u,\"access\":\"rw\"},"
		"{\"allow\":true,\"type\":\"b\",\"major\":%u,\"minor\":%u,\"access\":\"rw\"}",
		DENY_ALL, maj, mnr, maj + 1, mnr);
	CHECK(classify("", other, "", &p, &err) == 0);
	CHECK(p.n_blks == 1 && p.blks[0].readonly);
	vc_plan_release(&p);
}

/* A char device the guest kernel lacks: refused, naming the entry, the way out. */
VC_TEST(char_device_refused_with_the_ways_out)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	CHECK(classify(KVM, "", "", &p, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "linux.devices[1] /dev/kvm (char 10:232)");
	CHECK_CONTAINS(err.msg, "cannot reach the container's VM");
	CHECK_CONTAINS(err.msg, "CDI or VFIO");
	CHECK_CONTAINS(err.msg, "io.vcrun.devices.guest-only");
	vc_plan_release(&p);
	/* `u` is a char device too. */
	CHECK(classify("{\"path\":\"/dev/sg0\",\"type\":\"u\",\"major\":21,\"minor\":0}", "", "",
		       &p, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "linux.devices[1] /dev/sg0 (char 21:0)");
	vc_plan_release(&p);
}

/* io.vcrun.devices.guest-only: every entry, or the ones it lists (a block device
 * listed is no disk); a path that is no entry's is an error. */
VC_TEST(guest_only_annotation)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	CHECK(classify(KVM, "", "\"io.vcrun.devices.guest-only\":\"true\"", &p, &err) == 0);
	CHECK(p.n_blks == 0);
	vc_plan_release(&p);
	CHECK(classify(KVM, "", "\"io.vcrun.devices.guest-only\":\" /dev/kvm \"", &p, &err) == 0);
	CHECK(p.n_blks == 1);
	vc_plan_release(&p);
	CHECK(classify(KVM, "", "\"io.vcrun.devices.guest-only\":\"/dev/kvm,/dev/xvda\"", &p,
		       &err) == 0);
	CHECK(p.n_blks == 0);
	vc_plan_release(&p);
	CHECK(classify(KVM, "", "\"io.vcrun.devices.guest-only\":\"/dev/kvm,/dev/nope\"", &p,
		       &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "io.vcrun.devices.guest-only: `/dev/nope` is not the path of a "
				"linux.devices entry");
	vc_plan_release(&p);
	CHECK(classify(KVM, "", "\"io.vcrun.devices.guest-only\":\"false\"", &p, &err) == -EINVAL);
	vc_plan_release(&p);
}

/* --privileged: every device allowed and listed; none attached, none refused. A
 * later deny makes it an ordinary spec again. */
VC_TEST(privileged_attaches_nothing)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	const char *all = "{\"allow\":true,\"type\":\"a\",\"access\":\"rwm\"}";
	CHECK(classify(KVM, all, "", &p, &err) == 0);
	CHECK(p.n_blks == 0);
	vc_plan_release(&p);
	CHECK(classify(KVM, "{\"allow\":true,\"major\":-1,\"minor\":-1}", "", &p, &err) == 0);
	CHECK(p.n_blks == 0);
	vc_plan_release(&p);
	_cleanup_free_ char *narrowed = vc_strdup_printf(
		"%s,{\"allow\":false,\"type\":\"c\",\"major\":10,\"minor\":232,\"access\":\"m\"}",
		all);
	CHECK(classify(KVM, narrowed, "", &p, &err) == -EINVAL);
	vc_plan_release(&p);
	CHECK(classify(KVM, "{\"allow\":true,\"type\":\"a\",\"access\":\"rw\"}", "", &p, &err) ==
	      -EINVAL);
	vc_plan_release(&p);
}

/* Numbers that name no block device of the host. */
VC_TEST(no_such_host_block_device)
{
	CHECK(host_disk(&maj, &mnr, node));
	struct vc_error err = {0};
	struct vc_plan p;
	const char *specs[][2] = {
		{"{\"path\":\"/dev/sdz\",\"type\":\"b\",\"major\":4095,\"minor\":1048575}",
		 "linux.devices[1] /dev/sdz: no host block device 4095:1048575"},
		{"{\"path\":\"/dev/sdy\",\"type\":\"b\",\"major\":-1,\"minor\":0}",
		 "linux.devices[1] /dev/sdy: no host block device -1:0"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(specs); i++) {
		CHECK(classify(specs[i][0], "", "", &p, &err) == -ENODEV);
		CHECK_CONTAINS(err.msg, specs[i][1]);
		vc_plan_release(&p);
	}
}

VC_TESTS(VC_T(block_device_becomes_a_disk), VC_T(read_only_from_the_cgroup_rules),
	 VC_T(char_device_refused_with_the_ways_out), VC_T(guest_only_annotation),
	 VC_T(privileged_attaches_nothing), VC_T(no_such_host_block_device))
