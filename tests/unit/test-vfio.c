/* vfio/ against fake sysfs trees (test-vfio-fake.h): PCI addresses and group paths,
 * discovery errors, the viability checks and their messages, binding and restore
 * (the writes read back from the fake tree, and nothing written outside the
 * group), and the binding record. Placement and the QEMU argv: test-vfio-place.c. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/test-vfio-fake.h"
#include "vfio/vfio.h"

static bool untouched(const struct fake *f)
{
	_cleanup_free_ char *o1 = fake_read(f, "devices/pci0000:00/0000:05:00.0/driver_override");
	_cleanup_free_ char *o2 = fake_read(f, "devices/pci0000:00/0000:01:00.2/driver_override");
	_cleanup_free_ char *u = fake_read(f, "bus/pci/drivers/xhci_hcd/unbind");
	_cleanup_free_ char *bd = fake_read(f, "bus/pci/drivers/xhci_hcd/bind");
	bool ok = !*o1 && !*o2 && !*u && !*bd;
	if (!ok)
		fprintf(stderr, "# a device outside the group was written\n");
	return ok;
}

VC_TEST(bdf_parse_and_format)
{
	struct vc_pci_bdf b;
	char out[VC_PCI_BDF_MAX];
	CHECK(vc_pci_bdf_parse("0000:01:00.1", &b) == 0);
	CHECK(b.domain == 0 && b.bus == 1 && b.slot == 0 && b.function == 1);
	CHECK(vc_pci_bdf_parse("10000:e1:1f.7", &b) == 0); /* a VMD domain */
	CHECK(b.domain == 0x10000 && b.bus == 0xe1 && b.slot == 0x1f && b.function == 7);
	vc_pci_bdf_format(&b, out);
	CHECK_STR(out, "10000:e1:1f.7");
	CHECK(vc_pci_bdf_parse("0000:0A:1F.0", &b) == 0);
	vc_pci_bdf_format(&b, out);
	CHECK_STR(out, "0000:0a:1f.0");
	const char *bad[] = {"",
			     "01:00.0",
			     "0000:01:00",
			     "0000:01:00.8",
			     "0000:01:20.0",
			     "0000:1:00.0",
			     "0000:01:00.0 ",
			     "0000:01:00.0\n",
			     "../../x",
			     "0000:01:00.0,",
			     "g000:01:00.0",
			     "000000000:01:00.0"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		if (vc_pci_bdf_parse(bad[i], &b) == 0) {
			fprintf(stderr, "# `%s` parsed\n", bad[i]);
			CHECK(false);
		}
	}
	struct vc_pci_bdf a = {0, 1, 0, 0}, c = {0, 1, 0, 1}, d = {0, 1, 1, 0};
	CHECK(vc_pci_same_slot(&a, &c));
	CHECK(!vc_pci_same_slot(&a, &d));
}

VC_TEST(group_id_from_path)
{
	unsigned id = 0;
	struct vc_error err = {0};
	CHECK(vc_vfio_group_id_from_path("/dev/vfio/16", &id, &err) == 0 && id == 16);
	CHECK(vc_vfio_group_id_from_path("/tmp/fake/dev/vfio/0", &id, &err) == 0 && id == 0);
	CHECK(vc_vfio_group_id_from_path("vfio/7", &id, &err) == 0 && id == 7);
	CHECK(vc_vfio_group_id_from_path("42", &id, &err) == 0 && id == 42);

	CHECK(vc_vfio_group_id_from_path("/dev/vfio/vfio", &id, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "container node");
	CHECK(vc_vfio_group_id_from_path("/dev/vfio/noiommu-3", &id, &err) == -ENOTSUP);
	CHECK_CONTAINS(err.msg, "no-IOMMU");
	CHECK(vc_vfio_group_id_from_path("/dev/vfio/devices/vfio0", &id, &err) == -ENOTSUP);
	CHECK_CONTAINS(err.msg, "iommufd");
	const char *bad[] = {"",	   "/dev/vfio/016",	    "/dev/null",    "/dev/xvfio/3",
			     "/dev/vfio/", "/dev/vfio/99999999999", "/dev/vfio/-1", "/dev/vfio/1a"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		if (vc_vfio_group_id_from_path(bad[i], &id, &err) != -EINVAL) {
			fprintf(stderr, "# `%s` accepted\n", bad[i]);
			CHECK(false);
		}
	}
	CHECK(vc_vfio_is_vfio_path("/dev/vfio/16"));
	CHECK(!vc_vfio_is_vfio_path("/dev/fuse"));
}

VC_TEST(no_iommu)
{
	struct fake f = fake_new("noiommu");
	CHECK(fake_ok);
	struct vc_error err = {0};
	CHECK(vc_vfio_iommu_check(f.sys, NULL, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, "no IOMMU is enabled");
	CHECK_CONTAINS(err.msg, "intel_iommu=on");
	struct vc_vfio_group g;
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, "no IOMMU is enabled");

	/* An IOMMU the kernel found but did not turn on: the other hint. */
	fake_dir("%s/class/iommu/dmar0", f.sys);
	CHECK(vc_vfio_iommu_check(f.sys, NULL, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, "lists an IOMMU");
	CHECK(vc_vfio_driver_check(f.sys, f.dev, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, "modprobe vfio-pci");
}

VC_TEST(group_errors_name_the_group)
{
	struct fake f = fake_host("grouperr");
	struct fake_pci nic = {"0000:03:00.0", 7, NULL, NULL, NULL, "e1000e", NULL, NULL};
	fake_add_pci(&f, &nic);
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 99, &g, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "IOMMU group 99 does not exist");

	fake_dir("%s/kernel/iommu_groups/5/devices", f.sys);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 5, &g, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "IOMMU group 5 has no devices");

	/* The group lists a device that names another group as its own. */
	fake_link("../../../../devices/pci0000:00/0000:03:00.0",
		  "%s/kernel/iommu_groups/8/devices/0000:03:00.0", f.sys);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 8, &g, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "IOMMU group 8 lists device 0000:03:00.0, but the device is in "
				"group 7");

	/* A vendor file that is not a number. */
	fake_file("nonsense\n", "%s/devices/pci0000:00/0000:03:00.0/vendor", f.sys);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "0000:03:00.0");
	CHECK_CONTAINS(err.msg, "vendor");
}

VC_TEST(group_not_viable)
{
	struct fake f = fake_host("notviable");
	struct fake_pci nic = {"0000:03:00.0", 7, NULL, NULL, NULL, "e1000e", nic_resource, NULL};
	struct fake_pci nic2 = {"0000:03:00.1", 7,	    NULL,	  NULL,
				NULL,		"vfio-pci", nic_resource, NULL};
	fake_add_pci(&f, &nic);
	fake_add_pci(&f, &nic2);
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g, &err) == 0);
	CHECK(vc_vfio_group_check(&g, false, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "IOMMU group 7 is not viable");
	CHECK_CONTAINS(err.msg, "device 0000:03:00.0 [8086:10d3] is on e1000e, not vfio-pci");
	/* With binding asked for, the same group is fine: vcrun would move it. */
	CHECK(vc_vfio_group_check(&g, true, &err) == 0);

	free(g.pci[0].driver);
	g.pci[0].driver = NULL;
	CHECK(vc_vfio_group_check(&g, false, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "is on no driver, not vfio-pci");
}

VC_TEST(busy_device_is_not_bound)
{
	struct fake f = fake_host("busy");
	struct fake_pci nic = {"0000:03:00.0", 7,	 NULL, NULL,
			       NULL,	       "e1000e", NULL, "eth0:0x1003\n"};
	fake_add_pci(&f, &nic);
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g, &err) == 0);
	CHECK_STR(g.pci[0].in_use, "its network interface eth0 is up");
	CHECK(vc_vfio_group_check(&g, true, &err) == -EBUSY);
	CHECK_CONTAINS(err.msg, "device 0000:03:00.0 (e1000e) is busy: its network interface eth0 "
				"is up on the host");

	/* The interface down: free to take. */
	fake_file("0x1002\n", "%s/devices/pci0000:00/0000:03:00.0/net/eth0/flags", f.sys);
	struct vc_vfio_group g2 __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g2, &err) == 0);
	CHECK(!g2.pci[0].in_use);
	CHECK(vc_vfio_group_check(&g2, true, &err) == 0);
}

VC_TEST(bind_writes_and_restore)
{
	struct fake f = bind_host("bind");
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g, &err) == 0);
	CHECK(vc_vfio_group_check(&g, true, &err) == 0);
	struct vc_vfio_binding b __attribute__((cleanup(vc_vfio_binding_release))) = {0};
	CHECK(vc_vfio_bind_plan(&g, &b, &err) == 0);
	CHECK(b.group == 16 && b.n_devs == 2);
	CHECK_STR(b.devs[0].bdf, "0000:01:00.0");
	CHECK_STR(b.devs[0].driver, "nvidia");
	CHECK_STR(b.devs[1].driver, "snd_hda_intel");

	/* Saved before binding, so a crash in between can still be undone. */
	_cleanup_free_ char *rec = vc_strdup_printf("%s/bind/vfio.json", vc_unit_tmpdir());
	CHECK(vc_vfio_bindings_save(rec, &b, 1, &err) == 0);
	CHECK(vc_vfio_bind(f.sys, &b, &err) == 0);

	_cleanup_free_ char *ov0 = fake_read(&f, "devices/pci0000:00/0000:01:00.0/driver_override");
	_cleanup_free_ char *ov1 = fake_read(&f, "devices/pci0000:00/0000:01:00.1/driver_override");
	_cleanup_free_ char *nv_unbind = fake_read(&f, "bus/pci/drivers/nvidia/unbind");
	_cleanup_free_ char *hda_unbind = fake_read(&f, "bus/pci/drivers/snd_hda_intel/unbind");
	_cleanup_free_ char *vfio_bind = fake_read(&f, "bus/pci/drivers/vfio-pci/bind");
	CHECK_STR(ov0, "vfio-pci\n");
	CHECK_STR(ov1, "vfio-pci\n");
	CHECK_STR(nv_unbind, "0000:01:00.0\n");
	CHECK_STR(hda_unbind, "0000:01:00.1\n");
	CHECK_STR(vfio_bind, "0000:01:00.0\n0000:01:00.1\n");
	CHECK(untouched(&f));

	/* The kernel's part: both now on vfio-pci. Then a later process restores from
	 * the record alone. */
	fake_set_driver(&f, "0000:01:00.0", "vfio-pci");
	fake_set_driver(&f, "0000:01:00.1", "vfio-pci");
	struct vc_vfio_binding *loaded = NULL;
	size_t n = 0;
	CHECK(vc_vfio_bindings_load(rec, &loaded, &n, &err) == 0);
	int r = vc_vfio_restore(f.sys, &loaded[0], &err);
	vc_vfio_bindings_free(loaded, n);
	CHECK(n == 1 && r == 0);

	_cleanup_free_ char *ov0b =
		fake_read(&f, "devices/pci0000:00/0000:01:00.0/driver_override");
	_cleanup_free_ char *vfio_unbind = fake_read(&f, "bus/pci/drivers/vfio-pci/unbind");
	_cleanup_free_ char *nv_bind = fake_read(&f, "bus/pci/drivers/nvidia/bind");
	_cleanup_free_ char *hda_bind = fake_read(&f, "bus/pci/drivers/snd_hda_intel/bind");
	_cleanup_free_ char *probe = fake_read(&f, "bus/pci/drivers_probe");
	CHECK_STR(ov0b, "vfio-pci\n\n"); /* a lone newline clears the override */
	CHECK_STR(vfio_unbind, "0000:01:00.0\n0000:01:00.1\n");
	CHECK_STR(nv_bind, "0000:01:00.0\n");
	CHECK_STR(hda_bind, "0000:01:00.1\n");
	CHECK_STR(probe, "");
	CHECK(untouched(&f));
	_cleanup_free_ char *other_unbind = fake_read(&f, "bus/pci/drivers/nvidia/unbind");
	CHECK_STR(other_unbind, "0000:01:00.0\n"); /* never 0000:05:00.0 */
}

VC_TEST(restore_after_a_crash_before_the_bind)
{
	struct fake f = bind_host("crash");
	CHECK(fake_ok);
	struct vc_vfio_bound devs[] = {{"0000:01:00.0", "nvidia"},
				       {"0000:01:00.1", "snd_hda_intel"}};
	struct vc_vfio_binding b = {16, devs, 2};
	struct vc_error err = {0};
	/* Still on their own drivers: only the override is cleared, twice is fine. */
	CHECK(vc_vfio_restore(f.sys, &b, &err) == 0);
	CHECK(vc_vfio_restore(f.sys, &b, &err) == 0);
	_cleanup_free_ char *ov = fake_read(&f, "devices/pci0000:00/0000:01:00.0/driver_override");
	_cleanup_free_ char *nv_bind = fake_read(&f, "bus/pci/drivers/nvidia/bind");
	_cleanup_free_ char *vfio_unbind = fake_read(&f, "bus/pci/drivers/vfio-pci/unbind");
	CHECK_STR(ov, "\n\n");
	CHECK_STR(nv_bind, "");
	CHECK_STR(vfio_unbind, "");

	/* The original driver is gone: drivers_probe lets the kernel choose. */
	fake_set_driver(&f, "0000:01:00.0", "vfio-pci");
	_cleanup_free_ char *bindfile = vc_strdup_printf("%s/bus/pci/drivers/nvidia/bind", f.sys);
	CHECK(unlink(bindfile) == 0);
	struct vc_vfio_binding one = {16, devs, 1};
	CHECK(vc_vfio_restore(f.sys, &one, &err) == 0);
	_cleanup_free_ char *probe = fake_read(&f, "bus/pci/drivers_probe");
	CHECK_STR(probe, "0000:01:00.0\n");
}

VC_TEST(restore_never_touches_a_device_outside_the_group)
{
	struct fake f = bind_host("outside");
	CHECK(fake_ok);
	fake_set_driver(&f, "0000:01:00.0", "vfio-pci");
	/* An edited record: group 16 "owns" the other GPU and the USB function. */
	struct vc_vfio_bound devs[] = {{"0000:05:00.0", "nvidia"},
				       {"0000:01:00.2", "xhci_hcd"},
				       {"0000:01:00.0", "nvidia"}};
	struct vc_vfio_binding b = {16, devs, 3};
	struct vc_error err = {0};
	CHECK(vc_vfio_restore(f.sys, &b, &err) == -EPERM);
	CHECK_CONTAINS(err.msg, "device 0000:05:00.0 is in IOMMU group 17, not 16: vcrun does not "
				"touch it");
	CHECK(untouched(&f));
	/* The device that is in the group was still given back. */
	_cleanup_free_ char *nv_bind = fake_read(&f, "bus/pci/drivers/nvidia/bind");
	CHECK_STR(nv_bind, "0000:01:00.0\n");

	/* bind refuses such a record before writing anything at all. */
	struct vc_vfio_binding bad = {16, devs, 3};
	CHECK(vc_vfio_bind(f.sys, &bad, &err) == -EPERM);
	CHECK(untouched(&f));
	_cleanup_free_ char *vb = fake_read(&f, "bus/pci/drivers/vfio-pci/bind");
	CHECK_STR(vb, "");
}

VC_TEST(bind_failure_rolls_back)
{
	struct fake f = bind_host("rollback");
	CHECK(fake_ok);
	/* The audio driver cannot unbind (its file is missing): the GPU, already
	 * moved, must be given back. */
	_cleanup_free_ char *unbind =
		vc_strdup_printf("%s/bus/pci/drivers/snd_hda_intel/unbind", f.sys);
	CHECK(unlink(unbind) == 0);
	struct vc_vfio_bound devs[] = {{"0000:01:00.0", "nvidia"},
				       {"0000:01:00.1", "snd_hda_intel"}};
	struct vc_vfio_binding b = {16, devs, 2};
	struct vc_error err = {0};
	CHECK(vc_vfio_bind(f.sys, &b, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "IOMMU group 16: binding 0000:01:00.1 to vfio-pci");
	_cleanup_free_ char *ov0 = fake_read(&f, "devices/pci0000:00/0000:01:00.0/driver_override");
	_cleanup_free_ char *ov1 = fake_read(&f, "devices/pci0000:00/0000:01:00.1/driver_override");
	CHECK_STR(ov0, "vfio-pci\n\n");
	CHECK_STR(ov1, "vfio-pci\n\n");
	_cleanup_free_ char *vb = fake_read(&f, "bus/pci/drivers/vfio-pci/bind");
	CHECK_STR(vb, "0000:01:00.0\n");
	CHECK(untouched(&f));

	/* Without vfio-pci loaded nothing is written at all. */
	struct fake f2 = bind_host("novfio");
	_cleanup_free_ char *vdir = vc_strdup_printf("%s/bus/pci/drivers/vfio-pci", f2.sys);
	CHECK(vc_rm_rf(vdir, NULL) == 0);
	CHECK(vc_vfio_bind(f2.sys, &b, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, "modprobe vfio-pci");
	_cleanup_free_ char *ov = fake_read(&f2, "devices/pci0000:00/0000:01:00.0/driver_override");
	CHECK_STR(ov, "");

	/* A device that changed drivers since the plan: refused, nothing written. */
	struct fake f3 = bind_host("moved");
	fake_set_driver(&f3, "0000:01:00.1", "snd_soc_foo");
	CHECK(vc_vfio_bind(f3.sys, &b, &err) == -EAGAIN);
	CHECK_CONTAINS(err.msg, "0000:01:00.1 moved from snd_hda_intel to snd_soc_foo");
	_cleanup_free_ char *ov3 =
		fake_read(&f3, "devices/pci0000:00/0000:01:00.0/driver_override");
	CHECK_STR(ov3, "");
}

VC_TEST(binding_needs_root)
{
	struct fake f = bind_host("notroot");
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g, &err) == 0);
	if (geteuid() != 0) {
		CHECK(vc_vfio_group_check(&g, true, &err) == -EPERM);
		return;
	}
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		struct vc_error e = {0};
		if (vc_vfio_group_check(&g, true, &e) != -EPERM || !strstr(e.msg, "needs root"))
			_exit(11);
		if (vc_vfio_group_check(&g, false, &e) != -EINVAL) /* not viable as it is */
			_exit(12);
		struct vc_vfio_bound devs[] = {{"0000:01:00.0", "nvidia"}};
		struct vc_vfio_binding b = {16, devs, 1};
		if (vc_vfio_bind(f.sys, &b, &e) != -EPERM || !strstr(e.msg, "needs root"))
			_exit(13);
		_exit(0);
	}
	CHECK(vc_unit_reap(pid) == 0);
	_cleanup_free_ char *ov = fake_read(&f, "devices/pci0000:00/0000:01:00.0/driver_override");
	CHECK_STR(ov, "");
}

VC_TEST(binding_record)
{
	struct vc_vfio_bound d1[] = {{"0000:01:00.0", "nvidia"}, {"0000:01:00.1", NULL}};
	struct vc_vfio_binding b[] = {{16, d1, 2}, {3, NULL, 0}};
	struct vc_error err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_vfio_bindings_to_json(b, 2, &text, &len, &err) == 0);
	struct vc_vfio_binding *out = NULL;
	size_t n = 0;
	CHECK(vc_vfio_bindings_from_json(text, len, "vfio.json", &out, &n, &err) == 0);
	bool same = n == 2 && out[0].group == 16 && out[0].n_devs == 2 &&
		    !strcmp(out[0].devs[0].bdf, "0000:01:00.0") &&
		    !strcmp(out[0].devs[0].driver, "nvidia") && out[0].devs[1].driver == NULL &&
		    out[1].group == 3 && out[1].n_devs == 0;
	vc_vfio_bindings_free(out, n);
	CHECK(same);

	_cleanup_free_ char *missing = vc_strdup_printf("%s/no-such-record.json", vc_unit_tmpdir());
	CHECK(vc_vfio_bindings_load(missing, &out, &n, &err) == 0 && n == 0 && !out);

	struct {
		const char *json, *want;
	} bad[] = {
		{"{", "parse error"},
		{"{\"version\":2,\"groups\":[]}", "version"},
		{"{\"version\":1}", "groups: not an array"},
		{"{\"version\":1,\"groups\":[{\"group\":-1,\"devices\":[]}]}", "groups[0].group"},
		{"{\"version\":1,\"groups\":[{\"group\":1,\"devices\":[{\"bdf\":\"../../x\"}]}]}",
		 "groups[0].devices[0].bdf"},
		{"{\"version\":1,\"groups\":[{\"group\":1,\"devices\":[{\"bdf\":\"0000:0A:00.0\"}]}"
		 "]}",
		 "not canonical"},
		{"{\"version\":1,\"groups\":[{\"group\":1,\"devices\":[{\"bdf\":\"0000:01:00.0\","
		 "\"driver\":\"../vfio-pci\"}]}]}",
		 "groups[0].devices[0].driver"},
		{"{\"version\":1,\"groups\":[{\"group\":1,\"devices\":[{\"bdf\":\"0000:01:00.0\","
		 "\"driver\":\"ok\"},7]}]}",
		 "groups[0].devices[1].bdf"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		out = NULL;
		n = 0;
		vc_error_clear(&err);
		int r = vc_vfio_bindings_from_json(bad[i].json, strlen(bad[i].json), "vfio.json",
						   &out, &n, &err);
		CHECK(r < 0 && !out && n == 0);
		CHECK_CONTAINS(err.msg, bad[i].want);
	}
}

VC_TESTS(VC_T(bdf_parse_and_format), VC_T(group_id_from_path), VC_T(no_iommu),
	 VC_T(group_errors_name_the_group), VC_T(group_not_viable), VC_T(busy_device_is_not_bound),
	 VC_T(bind_writes_and_restore), VC_T(restore_after_a_crash_before_the_bind),
	 VC_T(restore_never_touches_a_device_outside_the_group), VC_T(bind_failure_rolls_back),
	 VC_T(binding_needs_root), VC_T(binding_record))
