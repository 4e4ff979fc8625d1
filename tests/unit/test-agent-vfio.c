/* The agent's vfio mode (agent/vfio.c) on a fake guest sysfs and /dev: root port
 * slots, functions on a guest driver, on vfio-pci already and on none, the writes
 * that move them, the container's device list after, and errors that name the entry
 * and the file. Device nodes are made with mknod (root needed, as test-agent). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/spec.h"
#include "tests/unit/unit.h"

struct tree {
	char *sys, *dev;
	bool ok;
};

static void put(struct tree *t, const char *root, const char *rel, const char *text)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", root, rel);
	_cleanup_free_ char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	if (vc_mkdir_p(dir, 0755, NULL) < 0 || vc_write_file(path, text, strlen(text), NULL) < 0)
		t->ok = false;
}

static void link_to(struct tree *t, const char *rel, const char *target)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", t->sys, rel);
	if (symlink(target, path) < 0)
		t->ok = false;
}

static void node(struct tree *t, const char *name, unsigned maj, unsigned min)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/vfio", t->dev);
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, name);
	if (vc_mkdir_p(dir, 0755, NULL) < 0 || mknod(path, S_IFCHR | 0600, makedev(maj, min)) < 0)
		t->ok = false;
}

/* A function: its driver_override, and links to its driver (NULL: none) and group. */
static void function(struct tree *t, const char *bdf, const char *driver, unsigned group)
{
	_cleanup_free_ char *rel = vc_strdup_printf("bus/pci/devices/%s/driver_override", bdf);
	put(t, t->sys, rel, "");
	_cleanup_free_ char *g = vc_strdup_printf("bus/pci/devices/%s/iommu_group", bdf);
	_cleanup_free_ char *gt = vc_strdup_printf("../../../../kernel/iommu_groups/%u", group);
	link_to(t, g, gt);
	if (driver) {
		_cleanup_free_ char *d = vc_strdup_printf("bus/pci/devices/%s/driver", bdf);
		_cleanup_free_ char *dt = vc_strdup_printf("../../drivers/%s", driver);
		link_to(t, d, dt);
	}
}

/* The guest: port 1 holds a NIC on e1000e (group 5), port 2 a two-function device,
 * function 0 on vfio-pci already, function 1 on no driver (group 6). */
static struct tree guest(const char *name)
{
	struct tree t = {.ok = true};
	t.sys = vc_strdup_printf("%s/%s/sys", vc_unit_tmpdir(), name);
	t.dev = vc_strdup_printf("%s/%s/dev", vc_unit_tmpdir(), name);
	put(&t, t.sys, "bus/pci/slots/1/address", "0000:01:00\n");
	put(&t, t.sys, "bus/pci/slots/2/address", "0000:02:00\n");
	put(&t, t.sys, "bus/pci/drivers_probe", "");
	put(&t, t.sys, "bus/pci/drivers/e1000e/unbind", "");
	put(&t, t.sys, "bus/pci/drivers/vfio-pci/unbind", "");
	function(&t, "0000:01:00.0", "e1000e", 5);
	function(&t, "0000:02:00.0", "vfio-pci", 6);
	function(&t, "0000:02:00.1", NULL, 6);
	node(&t, "5", 246, 0);
	node(&t, "6", 246, 1);
	node(&t, "vfio", 10, 196);
	return t;
}

static void tree_free(struct tree *t)
{
	free(t->sys);
	free(t->dev);
}

static char *slurp(const char *root, const char *rel)
{
	_cleanup_free_ char *path = vc_strdup_printf("%s/%s", root, rel);
	char *text = NULL;
	if (vc_read_file(path, 4096, &text, NULL, NULL) < 0)
		return strdup("(unreadable)");
	return text;
}

static struct vc_oci_spec *spec_with(const char *devices, const char *annotations)
{
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"root\":{\"path\":\"/r\"},\"annotations\":%s,\"linux\":{\"devices\":%s}}",
		annotations, devices);
	struct vc_oci_spec *spec = NULL;
	struct vc_error err = {0};
	if (vc_oci_spec_parse(text, strlen(text), "spec", &spec, &err) < 0)
		fprintf(stderr, "# spec: %s\n", err.msg);
	return spec;
}

#define TWO_GROUPS                                                              \
	"[{\"path\":\"/dev/vfio/12\",\"type\":\"c\",\"major\":243,\"minor\":3," \
	"\"fileMode\":432,\"uid\":1000,\"gid\":1000},"                          \
	"{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"   \
	"{\"path\":\"/dev/vfio/16\",\"type\":\"c\",\"major\":243,\"minor\":4}]"

static const struct vc_oci_device *find(const struct vc_oci_spec *s, const char *path)
{
	for (size_t i = 0; i < s->linux->n_devices; i++)
		if (!strcmp(s->linux->devices[i].path, path))
			return &s->linux->devices[i];
	return NULL;
}

VC_TEST(groups_move_to_vfio_pci_and_become_guest_nodes)
{
	struct tree t __attribute__((cleanup(tree_free))) = guest("map");
	CHECK(t.ok);
	_cleanup_spec_ struct vc_oci_spec *s = spec_with(
		TWO_GROUPS, "{\"io.vcrun.vfio.group.12\":\"1.0\",\"io.vcrun.vfio.group.16\":"
			    "\"2.0,2.1\"}");
	CHECK(s);
	struct vc_error err = {0};
	CHECK(agent_vfio_setup(s, t.sys, t.dev, NULL, &err) == 0);

	/* the writes: override, unbind from e1000e, probe; nothing for 02:00.0 */
	_cleanup_free_ char *o1 = slurp(t.sys, "bus/pci/devices/0000:01:00.0/driver_override");
	_cleanup_free_ char *o2 = slurp(t.sys, "bus/pci/devices/0000:02:00.0/driver_override");
	_cleanup_free_ char *o3 = slurp(t.sys, "bus/pci/devices/0000:02:00.1/driver_override");
	_cleanup_free_ char *un = slurp(t.sys, "bus/pci/drivers/e1000e/unbind");
	_cleanup_free_ char *vun = slurp(t.sys, "bus/pci/drivers/vfio-pci/unbind");
	_cleanup_free_ char *pr = slurp(t.sys, "bus/pci/drivers_probe");
	CHECK_STR(o1, "vfio-pci\n");
	CHECK_STR(o2, "");
	CHECK_STR(o3, "vfio-pci\n");
	CHECK_STR(un, "0000:01:00.0\n");
	CHECK_STR(vun, "");
	CHECK_STR(pr, "0000:01:00.0\n0000:02:00.1\n");

	/* the container's devices: guest groups in place of the host's, /dev/fuse
	 * kept, the container node added */
	CHECK(s->linux->n_devices == 4);
	CHECK_STR(s->linux->devices[0].path, "/dev/vfio/5");
	CHECK_STR(s->linux->devices[1].path, "/dev/fuse");
	CHECK_STR(s->linux->devices[2].path, "/dev/vfio/6");
	CHECK_STR(s->linux->devices[3].path, "/dev/vfio/vfio");
	const struct vc_oci_device *g5 = find(s, "/dev/vfio/5"), *g6 = find(s, "/dev/vfio/6");
	const struct vc_oci_device *c = find(s, "/dev/vfio/vfio");
	CHECK(g5 && g5->type == 'c' && g5->major == 246 && g5->minor == 0);
	/* the entry's owner and mode carry over */
	CHECK(g5->has_file_mode && g5->file_mode == 0660 && g5->has_uid && g5->uid == 1000);
	CHECK(g6 && g6->major == 246 && g6->minor == 1 && !g6->has_file_mode);
	CHECK(c && c->type == 'c' && c->major == 10 && c->minor == 196 && c->file_mode == 0666);
	CHECK(find(s, "/dev/vfio/12") == NULL && find(s, "/dev/vfio/16") == NULL);
}

/* Without /dev/vfio/N entries (guest-kernel mode, or none asked) nothing is touched. */
VC_TEST(no_group_entries_no_change)
{
	struct tree t __attribute__((cleanup(tree_free))) = guest("none");
	CHECK(t.ok);
	_cleanup_spec_ struct vc_oci_spec *s = spec_with(
		"[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}]", "{}");
	CHECK(s);
	struct vc_error err = {0};
	CHECK(agent_vfio_setup(s, t.sys, t.dev, "/nonexistent", &err) == 0);
	CHECK(s->linux->n_devices == 1);
	_cleanup_free_ char *pr = slurp(t.sys, "bus/pci/drivers_probe");
	CHECK_STR(pr, "");
}

VC_TEST(errors_name_the_device_and_the_file)
{
	struct tree t __attribute__((cleanup(tree_free))) = guest("err");
	CHECK(t.ok);
	function(&t, "0000:03:00.0", NULL, 7); /* its group has no node in /dev */
	put(&t, t.sys, "bus/pci/slots/3/address", "0000:03:00\n");
	put(&t, t.sys, "bus/pci/devices/0000:04:00.0/driver_override", ""); /* no group */
	put(&t, t.sys, "bus/pci/slots/4/address", "0000:04:00\n");
	put(&t, t.sys, "bus/pci/slots/9/address", "../../x\n");
	CHECK(t.ok);
	static const struct {
		const char *annotations, *want[3];
	} cases[] = {
		{"{}", {"linux.devices[0] /dev/vfio/12", "io.vcrun.vfio.group.12"}},
		{"{\"io.vcrun.vfio.group.12\":\"1.8\"}",
		 {"/dev/vfio/12", "`1.8` is not PORT.FUNCTION"}},
		{"{\"io.vcrun.vfio.group.12\":\"1.0,x\"}", {"is not PORT.FUNCTION"}},
		{"{\"io.vcrun.vfio.group.12\":\"5.0\"}",
		 {"linux.devices[0] /dev/vfio/12: port 5 function 0", "/bus/pci/slots/5/address"}},
		{"{\"io.vcrun.vfio.group.12\":\"1.2\"}",
		 {"port 1 function 2", "/bus/pci/devices/0000:01:00.2"}},
		{"{\"io.vcrun.vfio.group.12\":\"4.0\"}",
		 {"port 4 function 0", "0000:04:00.0/iommu_group", "intel_iommu=on"}},
		{"{\"io.vcrun.vfio.group.12\":\"9.0\"}",
		 {"/bus/pci/slots/9/address", "not a slot"}},
		{"{\"io.vcrun.vfio.group.12\":\"3.0\"}",
		 {"linux.devices[0] /dev/vfio/12: port 3 function 0 (0000:03:00.0, guest group 7)",
		  "/vfio/7"}},
		{"{\"io.vcrun.vfio.group.12\":\"1.0\"}",
		 {"linux.devices[2] /dev/vfio/16", "io.vcrun.vfio.group.16"}},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_spec_ struct vc_oci_spec *s = spec_with(TWO_GROUPS, cases[i].annotations);
		CHECK(s);
		struct vc_error err = {0};
		CHECK(agent_vfio_setup(s, t.sys, t.dev, NULL, &err) < 0);
		for (size_t k = 0; k < 3 && cases[i].want[k]; k++)
			CHECK_CONTAINS(err.msg, cases[i].want[k]);
		/* the spec is left as it was */
		CHECK(s->linux->n_devices == 3);
		CHECK_STR(s->linux->devices[0].path, "/dev/vfio/12");
	}
}

/* The on-demand list: each module in order; none listed or no list: nothing. */
VC_TEST(modules_load_from_the_list)
{
	_cleanup_free_ char *dir = vc_strdup_printf("%s/mods", vc_unit_tmpdir());
	CHECK(vc_mkdir_p(dir, 0755, NULL) == 0);
	struct vc_error err = {0};
	CHECK(agent_modules_load(dir, "vfio.load-order", true, &err) == 0);
	_cleanup_free_ char *list = vc_strdup_printf("%s/vfio.load-order", dir);
	CHECK(vc_write_file(list, "# comment\n\nmissing.ko\n", 22, NULL) == 0);
	CHECK(agent_modules_load(dir, "vfio.load-order", true, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "mods/missing.ko");
}

VC_TESTS(VC_T(groups_move_to_vfio_pci_and_become_guest_nodes), VC_T(no_group_entries_no_change),
	 VC_T(errors_name_the_device_and_the_file), VC_T(modules_load_from_the_list))
