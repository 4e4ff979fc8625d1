/* vfio/ placement and hv/'s VFIO argv, from fake sysfs trees (test-vfio-fake.h):
 * one NIC in its own group; a GPU and its audio function in one group (one guest
 * slot); a bridge plus an endpoint; an AP matrix device; several groups at once;
 * the 64-bit MMIO window; hv's validation of the placement; `vcrun plan`'s JSON. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"
#include "oci/json.h"
#include "tests/unit/test-vfio-fake.h"
#include "vfio/vfio.h"

static struct vc_hv_config hv_base(void)
{
	return (struct vc_hv_config){
		.qemu_path = "/usr/bin/qemu-system-x86_64",
		.kernel = "/s/vmlinuz",
		.initrd = "/s/initramfs.img",
		.mem_mib = 512,
		.vcpus = 1,
		.state_dir = "/run/vc/x",
		.accel = VC_ACCEL_KVM,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
	};
}

/* The argv from the first token after the agent channel on, compared with want. */
static bool vfio_argv_is(const struct vc_hv_config *c, const char *const *want)
{
	_cleanup_strv_ char **argv = NULL;
	struct vc_error err = {0};
	if (vc_hv_qemu_argv(c, &argv, &err) < 0) {
		fprintf(stderr, "# argv: %s\n", err.msg);
		return false;
	}
	size_t i = 0;
	while (argv[i] && !strstr(argv[i], "name=vcrun.agent"))
		i++;
	if (!argv[i++])
		return false;
	size_t k = 0;
	for (; argv[i] && want[k]; i++, k++) {
		if (strcmp(argv[i], want[k])) {
			fprintf(stderr, "# token %zu: `%s`, want `%s`\n", k, argv[i], want[k]);
			return false;
		}
	}
	if (argv[i] || want[k]) {
		fprintf(stderr, "# token %zu: `%s`, want `%s`\n", k, argv[i] ? argv[i] : "(end)",
			want[k] ? want[k] : "(end)");
		return false;
	}
	return true;
}

static void plan_to_hv(const struct vc_vfio_plan *p, struct vc_hv_config *c)
{
	c->vfio_pci = p->pci;
	c->n_vfio_pci = p->n_pci;
	c->vfio_ap = p->ap;
	c->n_vfio_ap = p->n_ap;
	c->pci_hole64_bytes = p->pci_hole64_bytes;
}

VC_TEST(nic_in_its_own_group)
{
	struct fake f = fake_host("nic");
	struct fake_pci nic = {"0000:03:00.0", 7, NULL, NULL, NULL, "vfio-pci", nic_resource, NULL};
	fake_add_pci(&f, &nic);
	fake_group_node(&f, 7);
	CHECK(fake_ok);

	struct vc_error err = {0};
	unsigned n = 0;
	CHECK(vc_vfio_iommu_check(f.sys, &n, &err) == 0 && n == 1);
	CHECK(vc_vfio_driver_check(f.sys, f.dev, &err) == 0);
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g, &err) == 0);
	CHECK(g.id == 7 && g.n_pci == 1 && g.n_ap == 0);
	const struct vc_vfio_pci_dev *d = &g.pci[0];
	CHECK_STR(d->bdf, "0000:03:00.0");
	CHECK(d->vendor == 0x8086 && d->device == 0x10d3 && d->class_code == 0x020000);
	CHECK_STR(d->driver, "vfio-pci");
	CHECK(!d->bridge && d->bar64_known && d->bar64_bytes == 0 && !d->in_use);
	_cleanup_free_ char *node = vc_strdup_printf("%s/vfio/7", f.dev);
	CHECK_STR(g.dev_path, node);
	CHECK(vc_vfio_group_check(&g, false, &err) == 0);
	CHECK(vc_vfio_group_open_check(&g, &err) == 0);

	struct vc_vfio_binding b __attribute__((cleanup(vc_vfio_binding_release))) = {0};
	CHECK(vc_vfio_bind_plan(&g, &b, &err) == 0);
	CHECK(b.group == 7 && b.n_devs == 0);

	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	CHECK(vc_vfio_place(&g, 1, 1, &p, &err) == 0);
	CHECK(p.n_pci == 1 && p.n_ap == 0 && p.n_ports == 1);
	CHECK_STR(p.pci[0].host, "0000:03:00.0");
	CHECK(p.pci[0].port == 1 && p.pci[0].function == 0 && !p.pci[0].multifunction);
	CHECK(p.pci_hole64_bytes == VC_VFIO_HOLE64_MIN);

	struct vc_hv_config c = hv_base();
	plan_to_hv(&p, &c);
	static const char *const want[] = {
		"-global", "q35-pcihost.pci-hole64-size=32G",
		"-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0",
		"-device", "vfio-pci,host=0000:03:00.0,bus=rp1,addr=0x0.0",
		NULL,
	};
	CHECK(vfio_argv_is(&c, want));
}

VC_TEST(gpu_and_audio_share_a_guest_slot)
{
	struct fake f = fake_host("gpu");
	struct fake_pci a = gpu, b = gpu_audio;
	a.driver = b.driver = "vfio-pci";
	fake_add_pci(&f, &b); /* creation order must not matter */
	fake_add_pci(&f, &a);
	CHECK(fake_ok);

	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g, &err) == 0);
	CHECK(g.n_pci == 2);
	CHECK_STR(g.pci[0].bdf, "0000:01:00.0");
	CHECK_STR(g.pci[1].bdf, "0000:01:00.1");
	CHECK(g.pci[0].vendor == 0x10de && g.pci[0].device == 0x2204);
	CHECK(g.pci[0].class_code == 0x030000 && g.pci[1].class_code == 0x040300);
	CHECK(g.pci[0].bar64_bytes == 16 * GIB + (32ULL << 20));
	CHECK(g.pci[1].bar64_known && g.pci[1].bar64_bytes == 0);
	CHECK(vc_vfio_group_check(&g, false, &err) == 0);
	/* No /dev/vfio/16 in this tree: what QEMU would hit. */
	CHECK(vc_vfio_group_open_check(&g, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "IOMMU group 16");
	CHECK_CONTAINS(err.msg, "not every device");

	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	CHECK(vc_vfio_place(&g, 1, 1, &p, &err) == 0);
	CHECK(p.n_pci == 2 && p.n_ports == 1);
	CHECK(p.pci[0].port == 1 && p.pci[0].function == 0 && p.pci[0].multifunction);
	CHECK(p.pci[1].port == 1 && p.pci[1].function == 1 && !p.pci[1].multifunction);
	/* 16 GiB + 32 MiB -> a 32 GiB window, doubled for alignment. */
	CHECK(p.pci_hole64_bytes == 64 * GIB);

	struct vc_hv_config c = hv_base();
	plan_to_hv(&p, &c);
	static const char *const want[] = {
		"-global", "q35-pcihost.pci-hole64-size=64G",
		"-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0",
		"-device", "vfio-pci,host=0000:01:00.0,bus=rp1,addr=0x0.0,multifunction=on",
		"-device", "vfio-pci,host=0000:01:00.1,bus=rp1,addr=0x0.1",
		NULL,
	};
	CHECK(vfio_argv_is(&c, want));
}

VC_TEST(bridge_stays_on_the_host)
{
	struct fake f = fake_host("bridge");
	struct fake_pci br = {"0000:00:1c.0", 3,	  NULL, "0xa2b8\n",
			      "0x060400\n",   "pcieport", NULL, NULL};
	struct fake_pci ep = {"0000:02:00.0", 3, NULL, NULL, NULL, "vfio-pci", NULL, NULL};
	fake_add_pci(&f, &br);
	fake_add_pci(&f, &ep);
	CHECK(fake_ok);

	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 3, &g, &err) == 0);
	CHECK(g.n_pci == 2 && g.pci[0].bridge && !g.pci[1].bridge);
	CHECK(!g.pci[1].bar64_known); /* no resource file */
	CHECK(vc_vfio_group_check(&g, false, &err) == 0);

	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	CHECK(vc_vfio_place(&g, 1, 1, &p, &err) == 0);
	CHECK(p.n_pci == 1);
	CHECK_STR(p.pci[0].host, "0000:02:00.0");
	CHECK(p.pci_hole64_bytes == VC_VFIO_HOLE64_DEFAULT); /* BARs unknown */

	struct vc_vfio_binding b __attribute__((cleanup(vc_vfio_binding_release))) = {0};
	CHECK(vc_vfio_bind_plan(&g, &b, &err) == 0 && b.n_devs == 0); /* bridges never */

	/* A bridge without a driver is fine too; on another driver it is not. */
	free(g.pci[0].driver);
	g.pci[0].driver = NULL;
	CHECK(vc_vfio_group_check(&g, false, &err) == 0);
	g.pci[0].driver = strdup("shpchp");
	CHECK(vc_vfio_group_check(&g, true, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "bridge 0000:00:1c.0 is bound to shpchp");

	/* A group of bridges alone has nothing to pass. */
	struct fake f2 = fake_host("bridge2");
	fake_add_pci(&f2, &br);
	struct vc_vfio_group g2 __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f2.sys, f2.dev, 3, &g2, &err) == 0);
	CHECK(vc_vfio_group_check(&g2, false, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "only bridges");
}

VC_TEST(ap_matrix_device)
{
	struct fake f = fake_host("ap");
	const char *uuid = "4a6f5f5e-3c4f-4a1b-9c5e-1d2e3f4a5b6c";
	fake_add_ap(&f, 9, uuid);
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 9, &g, &err) == 0);
	CHECK(g.n_pci == 0 && g.n_ap == 1);
	CHECK_STR(g.ap[0].uuid, uuid);
	_cleanup_free_ char *want_path =
		vc_strdup_printf("%s/devices/vfio_ap/matrix/%s", f.sys, uuid);
	CHECK_STR(g.ap[0].sysfs_path, want_path);
	CHECK(vc_vfio_group_check(&g, false, &err) == 0);

	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	CHECK(vc_vfio_place(&g, 1, 1, &p, &err) == 0);
	CHECK(p.n_pci == 0 && p.n_ap == 1 && p.n_ports == 0 && p.pci_hole64_bytes == 0);
	CHECK_STR(p.ap[0], want_path);

	struct vc_hv_config c = hv_base();
	plan_to_hv(&p, &c);
	_cleanup_free_ char *dev = vc_strdup_printf("vfio-ap,sysfsdev=%s", want_path);
	const char *const want[] = {"-device", dev, NULL};
	CHECK(vfio_argv_is(&c, want));

	/* Another mediated device (a vGPU under a PCI device) is refused by name. */
	fake_dir("%s/devices/pci0000:00/0000:01:00.0/%s", f.sys,
		 "11111111-2222-3333-4444-555555555555");
	fake_link(
		"../../../../devices/pci0000:00/0000:01:00.0/11111111-2222-3333-4444-555555555555",
		"%s/kernel/iommu_groups/10/devices/11111111-2222-3333-4444-555555555555", f.sys);
	struct vc_vfio_group g2 = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 10, &g2, &err) == -ENOTSUP);
	CHECK_CONTAINS(err.msg, "11111111-2222-3333-4444-555555555555");
	CHECK_CONTAINS(err.msg, "neither a PCI device nor an AP matrix device");
}

VC_TEST(placement_of_several_groups)
{
	struct fake f = fake_host("place");
	struct fake_pci a = gpu, b = gpu_audio;
	a.driver = b.driver = "vfio-pci";
	/* A 128 GiB BAR: the window must grow past the default. */
	a.resource = "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
		     "0x0000200000000000 0x0000201fffffffff 0x000000000014220c\n";
	fake_add_pci(&f, &a);
	fake_add_pci(&f, &b);
	struct fake_pci nic = {"0000:03:00.0", 7, NULL, NULL, NULL, "vfio-pci", nic_resource, NULL};
	fake_add_pci(&f, &nic);
	/* Functions 1 and 2 of a slot whose function 0 is elsewhere: renumbered 0, 1. */
	struct fake_pci f1 = {"0000:04:00.1", 20, NULL, NULL, NULL, "vfio-pci", nic_resource, NULL};
	struct fake_pci f2 = {"0000:04:00.2", 20, NULL, NULL, NULL, "vfio-pci", nic_resource, NULL};
	struct fake_pci other = {"0000:04:01.0", 20,	     NULL,	   NULL,
				 NULL,		 "vfio-pci", nic_resource, NULL};
	fake_add_pci(&f, &f1);
	fake_add_pci(&f, &f2);
	fake_add_pci(&f, &other);
	CHECK(fake_ok);

	struct vc_error err = {0};
	struct vc_vfio_group g[4] = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 7, &g[0], &err) == 0);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g[1], &err) == 0);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 20, &g[2], &err) == 0);
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g[3], &err) == 0); /* asked twice */
	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	int r = vc_vfio_place(g, 4, 3, &p, &err);
	for (size_t i = 0; i < 4; i++)
		vc_vfio_group_release(&g[i]);
	CHECK(r == 0);
	CHECK(p.n_pci == 6 && p.n_ports == 4);
	struct {
		const char *host;
		unsigned port, fn;
		bool mf;
	} want[] = {
		{"0000:03:00.0", 3, 0, false}, {"0000:01:00.0", 4, 0, true},
		{"0000:01:00.1", 4, 1, false}, {"0000:04:00.1", 5, 0, true},
		{"0000:04:00.2", 5, 1, false}, {"0000:04:01.0", 6, 0, false},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(want); i++) {
		CHECK_STR(p.pci[i].host, want[i].host);
		CHECK(p.pci[i].port == want[i].port && p.pci[i].function == want[i].fn &&
		      p.pci[i].multifunction == want[i].mf);
	}
	/* One 128 GiB window (the 32-bit BAR does not count), doubled. */
	CHECK(p.pci_hole64_bytes == 256 * GIB);

	struct vc_hv_config c = hv_base();
	plan_to_hv(&p, &c);
	static const char *const argv_want[] = {
		"-global", "q35-pcihost.pci-hole64-size=256G",
		"-device", "pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0",
		"-device", "vfio-pci,host=0000:03:00.0,bus=rp3,addr=0x0.0",
		"-device", "pcie-root-port,id=rp4,chassis=4,slot=4,bus=pcie.0",
		"-device", "vfio-pci,host=0000:01:00.0,bus=rp4,addr=0x0.0,multifunction=on",
		"-device", "vfio-pci,host=0000:01:00.1,bus=rp4,addr=0x0.1",
		"-device", "pcie-root-port,id=rp5,chassis=5,slot=5,bus=pcie.0",
		"-device", "vfio-pci,host=0000:04:00.1,bus=rp5,addr=0x0.0,multifunction=on",
		"-device", "vfio-pci,host=0000:04:00.2,bus=rp5,addr=0x0.1",
		"-device", "pcie-root-port,id=rp6,chassis=6,slot=6,bus=pcie.0",
		"-device", "vfio-pci,host=0000:04:01.0,bus=rp6,addr=0x0.0",
		NULL,
	};
	CHECK(vfio_argv_is(&c, argv_want));

	struct vc_vfio_plan none = {0};
	CHECK(vc_vfio_place(NULL, 0, 0, &none, &err) == -EINVAL);
	CHECK(vc_vfio_place(NULL, 0, 1, &none, &err) == 0 && none.n_pci == 0 &&
	      none.pci_hole64_bytes == 0);
	vc_vfio_plan_release(&none);
}

VC_TEST(hv_vfio_validation_names_the_field)
{
	struct vc_hv_vfio_pci ok0 = {"0000:01:00.0", 1, 0, true, 0},
			      ok1 = {"0000:01:00.1", 1, 1, false, 0};
	struct {
		struct vc_hv_vfio_pci d[2];
		size_t n;
		const char *want;
	} cases[] = {
		{{{"0000:01:00.0", 0, 0, false, 0}}, 1, "vfio_pci[0].port: 0 is not in 1..255"},
		{{{"0000:01:00.0", 256, 0, false, 0}}, 1, "vfio_pci[0].port: 256"},
		{{{"0000:01:00.0", 1, 8, false, 0}}, 1, "vfio_pci[0].function: 8 is not in 0..7"},
		{{{"0000:01:00.0,x-foo=1", 1, 0, false, 0}},
		 1,
		 "vfio_pci[0].host: `0000:01:00.0,x-foo"},
		{{{NULL, 1, 0, false, 0}}, 1, "vfio_pci[0].host: `(null)`"},
		{{ok0, {"0000:01:00.0", 2, 0, false, 0}},
		 2,
		 "vfio_pci[1].host: 0000:01:00.0 is also"},
		{{ok0, {"0000:01:00.2", 1, 0, false, 0}},
		 2,
		 "vfio_pci[1]: port 1 function 0 is also"},
		{{{"0000:01:00.1", 1, 1, false, 0}}, 1, "port 1 has no function 0"},
		{{{"0000:01:00.0", 1, 0, false, 0}, ok1},
		 2,
		 "vfio_pci[0].multifunction: port 1 has 2"},
		{{{"0000:01:00.1", 1, 1, true, 0}, ok0},
		 2,
		 "vfio_pci[0].multifunction: only function 0"},
	};
	struct vc_error err = {0};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		struct vc_hv_config c = hv_base();
		c.vfio_pci = cases[i].d;
		c.n_vfio_pci = cases[i].n;
		_cleanup_strv_ char **argv = NULL;
		vc_error_clear(&err);
		CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL && !argv);
		CHECK_CONTAINS(err.msg, cases[i].want);
	}
	char *rel[] = {"sys/devices/vfio_ap/matrix/x"};
	struct vc_hv_config c = hv_base();
	c.vfio_ap = rel;
	c.n_vfio_ap = 1;
	_cleanup_strv_ char **argv = NULL;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "vfio_ap[0]: `sys/devices/vfio_ap/matrix/x` is not an absolute");

	/* A comma in an AP path is escaped, and an odd window size is given in bytes. */
	char *comma[] = {"/s,ys/devices/vfio_ap/matrix/x"};
	c.vfio_ap = comma;
	c.pci_hole64_bytes = 3ULL << 29;
	CHECK(vc_hv_qemu_argv(&c, &argv, &err) == 0);
	static const char *const want[] = {
		"-global", "q35-pcihost.pci-hole64-size=1610612736",
		"-device", "vfio-ap,sysfsdev=/s,,ys/devices/vfio_ap/matrix/x",
		NULL,
	};
	CHECK(vfio_argv_is(&c, want));

	/* Without VFIO devices the argv has no trace of them. */
	struct vc_hv_config plain = hv_base();
	static const char *const nothing[] = {NULL};
	CHECK(vfio_argv_is(&plain, nothing));
}

VC_TEST(describe_for_plan)
{
	struct fake f = bind_host("describe");
	struct fake_pci br = {"0000:00:01.0", 16,	  NULL, "0xa2b8\n",
			      "0x060400\n",   "pcieport", NULL, NULL};
	fake_add_pci(&f, &br);
	fake_set_driver(&f, "0000:01:00.1", "vfio-pci");
	CHECK(fake_ok);
	struct vc_error err = {0};
	struct vc_vfio_group g __attribute__((cleanup(vc_vfio_group_release))) = {0};
	CHECK(vc_vfio_group_load(f.sys, f.dev, 16, &g, &err) == 0);
	struct vc_vfio_binding b __attribute__((cleanup(vc_vfio_binding_release))) = {0};
	CHECK(vc_vfio_bind_plan(&g, &b, &err) == 0 && b.n_devs == 1);
	struct vc_vfio_plan p __attribute__((cleanup(vc_vfio_plan_release))) = {0};
	CHECK(vc_vfio_place(&g, 1, 1, &p, &err) == 0);

	_cleanup_jgen_ struct vc_jgen *gen = vc_jgen_new(false);
	vc_jgen_array_open(gen);
	vc_vfio_group_describe(gen, &g, &b);
	vc_vfio_plan_describe(gen, &p);
	vc_jgen_array_close(gen);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_jgen_finish(gen, &text, &len, &err) == 0);
	_cleanup_json_ struct vc_json *doc = NULL;
	CHECK(vc_json_parse(text, len, "describe", &doc, &err) == 0);
	const struct vc_json *grp = doc->u.array.items[0], *plan = doc->u.array.items[1];
	CHECK(vc_json_get(grp, "group")->type == VC_JSON_NUMBER);
	const struct vc_json *devs = vc_json_get(grp, "devices");
	CHECK(devs && devs->u.array.len == 3);
	const struct vc_json *d0 = devs->u.array.items[0], *d1 = devs->u.array.items[1],
			     *d2 = devs->u.array.items[2];
	CHECK_STR(vc_json_str(vc_json_get(d0, "bdf")), "0000:00:01.0");
	CHECK_STR(vc_json_str(vc_json_get(d0, "action")), "host");
	CHECK_STR(vc_json_str(vc_json_get(d1, "action")), "bind");
	CHECK_STR(vc_json_str(vc_json_get(d1, "vendor")), "0x10de");
	CHECK_STR(vc_json_str(vc_json_get(d1, "class")), "0x030000");
	CHECK_STR(vc_json_str(vc_json_get(d1, "driver")), "nvidia");
	CHECK_STR(vc_json_str(vc_json_get(d2, "action")), "pass");
	const struct vc_json *pci = vc_json_get(plan, "pci");
	CHECK(pci && pci->u.array.len == 2);
	CHECK_STR(vc_json_str(vc_json_get(pci->u.array.items[0], "host")), "0000:01:00.0");
	CHECK(vc_json_get(pci->u.array.items[0], "multifunction")->u.boolean);
	uint64_t hole = 0;
	CHECK(vc_json_to_u64(vc_json_get(plan, "pci_hole64_bytes"), &hole) == 0 &&
	      hole == 64 * GIB);
}

VC_TESTS(VC_T(nic_in_its_own_group), VC_T(gpu_and_audio_share_a_guest_slot),
	 VC_T(bridge_stays_on_the_host), VC_T(ap_matrix_device), VC_T(placement_of_several_groups),
	 VC_T(hv_vfio_validation_names_the_field), VC_T(describe_for_plan))
