/* lib/: ids, the state store, the sandbox plan. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/plan.h"
#include "lib/sandbox.h"
#include "lib/standin.h"
#include "lib/state.h"
#include "lib/vcrun.h"
#include "oci/spec.h"
#include "tests/unit/unit.h"
#include "vfio/vfio.h"

VC_TEST(id_rules)
{
	struct vc_error err = {0};
	CHECK(vc_id_validate("abc-DEF_1.2+3", &err) == 0);
	CHECK(vc_id_validate("a/b", &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "a/b");
	CHECK(vc_id_validate("", &err) == -EINVAL);
	CHECK(vc_id_validate("..", &err) == -EINVAL);
	CHECK(vc_id_validate("a b", &err) == -EINVAL);
	char big[1100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(vc_id_validate(big, &err) == -EINVAL);
}

VC_TEST(state_round_trip)
{
	struct vc_error err = {0};
	const char *root = vc_unit_tmpdir();
	_cleanup_free_ char *dir = vc_state_dir(root, "c1");
	CHECK(mkdir(dir, 0700) == 0);
	struct vc_oci_annotation ann[] = {{"k1", "v1"}, {"k2", "v\"2"}};
	struct vc_state st = {
		.id = "c1",
		.bundle = "/b",
		.rootfs = "/b/rootfs",
		.created = "2026-11-23T09:00:00.000000001Z",
		.owner = "",
		.status = VC_STATUS_RUNNING,
		.standin_pid = 1234,
		.monitor_pid = 99999999,
		.monitor_start = 42,
		.hv_pid = 77,
		.annotations = ann,
		.n_annotations = 2,
	};
	CHECK(vc_state_write(root, &st, &err) == 0);
	struct vc_state back;
	CHECK(vc_state_read(root, "c1", &back, &err) == 0);
	CHECK_STR(back.id, "c1");
	CHECK_STR(back.bundle, "/b");
	CHECK_STR(back.created, st.created);
	CHECK(back.status == VC_STATUS_RUNNING);
	CHECK(back.standin_pid == 1234 && back.hv_pid == 77 && back.monitor_start == 42);
	CHECK(back.n_annotations == 2);
	CHECK_STR(back.annotations[1].value, "v\"2");
	/* Its monitor does not exist: a "running" container is really stopped. */
	CHECK(vc_state_live_status(&back) == VC_STATUS_STOPPED);
	back.monitor_pid = getpid();
	back.monitor_start = vc_proc_starttime(getpid());
	CHECK(vc_state_live_status(&back) == VC_STATUS_RUNNING);
	/* pid reuse: same pid, other start time. */
	back.monitor_start += 1;
	CHECK(vc_state_live_status(&back) == VC_STATUS_STOPPED);
	vc_state_release(&back);

	CHECK(vc_state_read(root, "nope", &back, &err) == -ENOENT);
	CHECK_STR(err.msg, "container does not exist");
	int lock = vc_state_lock(root, "c1", &err);
	CHECK(lock >= 0);
	close(lock);
	CHECK(vc_rm_rf(dir, &err) == 0);
}

/* A bundle with a rootfs, a shared directory and a shared file. */
static char *make_bundle(const char *name, const char *mounts_json)
{
	const char *tmp = vc_unit_tmpdir();
	char *bundle = vc_strdup_printf("%s/%s", tmp, name);
	_cleanup_free_ char *rootfs = vc_strdup_printf("%s/rootfs", bundle);
	_cleanup_free_ char *data = vc_strdup_printf("%s/data", bundle);
	_cleanup_free_ char *file = vc_strdup_printf("%s/etc-hosts", bundle);
	_cleanup_free_ char *cfg = vc_strdup_printf("%s/config.json", bundle);
	vc_mkdir_p(rootfs, 0755, NULL);
	vc_mkdir_p(data, 0755, NULL);
	vc_write_file(file, "127.0.0.1 localhost\n", 20, NULL);
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\","
		"\"user\":{\"uid\":0,\"gid\":0},\"env\":[\"PATH=/bin\"]},"
		"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"mounts\":%s,"
		"\"linux\":{\"resources\":{\"memory\":{\"limit\":1073741824}}},\"x-unknown\":7}",
		mounts_json);
	vc_write_file(cfg, text, strlen(text), NULL);
	return bundle;
}

/* A container that boots its own sandbox, in root /r. */
#define WHERE(id, dev) (&(struct vc_plan_where){"/r", id, id, dev, NULL, NULL})

VC_TEST(plan_shares_and_guest_spec)
{
	struct vc_error err = {0};
	_cleanup_free_ char *bundle = make_bundle(
		"b1", "[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		      "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
		      "\"options\":[\"rbind\",\"ro\"]},"
		      "{\"destination\":\"/etc/hosts\",\"source\":\"etc-hosts\","
		      "\"options\":[\"bind\"]}]");
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	CHECK(vc_oci_spec_load(bundle, &spec, &err) == 0);
	struct vc_config cfg;
	vc_unit_config(&cfg);
	struct vc_plan plan;
	CHECK(vc_plan_build(WHERE("c1", "/nonexistent"), spec, &cfg, VC_ACCEL_TCG, &plan, &err) ==
	      0);
	vc_config_release(&cfg);
	/* One share for the sandbox (outside --root, named for the root and owner);
	 * the rootfs (writable even for a read-only root: mount points are made in it
	 * first, recursive), data (ro, rbind) and the file are bound below it. */
	CHECK(plan.n_shares == 1);
	CHECK_STR(plan.shares[0].tag, VC_SANDBOX_SHARE_TAG);
	CHECK(!plan.shares[0].readonly);
	_cleanup_free_ char *share = vc_sandbox_share_dir("/r", "c1");
	CHECK_STR(plan.shares[0].host_path, share);
	CHECK(!strncmp(share, VC_SHARE_RUN_DIR "/", strlen(VC_SHARE_RUN_DIR) + 1));
	CHECK(plan.n_binds == 3);
	CHECK_STR(plan.binds[0].target, "c1/rootfs");
	CHECK_STR(plan.binds[0].source, spec->rootfs_abs);
	CHECK(!plan.binds[0].readonly && plan.binds[0].recursive && !plan.binds[0].file);
	CHECK_STR(plan.binds[1].target, "c1/m1-data");
	CHECK(plan.binds[1].readonly && plan.binds[1].recursive && !plan.binds[1].file);
	CHECK_STR(plan.binds[2].target, "c1/m2-etc-hosts");
	CHECK(!plan.binds[2].readonly && !plan.binds[2].recursive && plan.binds[2].file);
	CHECK_STR(plan.binds[2].what, "mounts[2].source");
	/* 1 GiB limit: the VM gets the limit plus room for the kernel. */
	CHECK(plan.mem_mib == 1024 + 128);
	CHECK_STR(vc_json_str(vc_json_get(vc_json_get(plan.guest_spec, "root"), "path")),
		  VC_GUEST_STORAGE_DIR "/" VC_SANDBOX_SHARE_TAG "/c1/rootfs");
	const struct vc_json *m = vc_json_get(plan.guest_spec, "mounts");
	CHECK(m && m->u.array.len == 3);
	CHECK_STR(vc_json_str(vc_json_get(m->u.array.items[0], "source")), "proc");
	CHECK_STR(vc_json_str(vc_json_get(m->u.array.items[1], "source")),
		  VC_GUEST_STORAGE_DIR "/" VC_SANDBOX_SHARE_TAG "/c1/m1-data");
	CHECK_STR(vc_json_str(vc_json_get(m->u.array.items[2], "source")),
		  VC_GUEST_STORAGE_DIR "/" VC_SANDBOX_SHARE_TAG "/c1/m2-etc-hosts");
	/* Unknown fields travel to the guest untouched. */
	CHECK(vc_json_get(plan.guest_spec, "x-unknown") != NULL);
	CHECK(plan.storages->u.array.len == 1);

	/* plan.json round trip, as the monitor reads it */
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_plan_to_json(&plan, &text, &len, &err) == 0);
	struct vc_plan back;
	CHECK(vc_plan_from_json(text, len, "plan.json", &back, &err) == 0);
	CHECK(back.n_shares == 1 && back.mem_mib == plan.mem_mib && back.accel == VC_ACCEL_TCG);
	CHECK(back.n_binds == 3 && back.binds[2].file && back.binds[1].readonly);
	CHECK_STR(back.binds[1].source, plan.binds[1].source);
	struct vc_hv_config hc;
	vc_plan_hv_config(&back, ".", &hc);
	CHECK(hc.n_shares == 1 && hc.sandbox && hc.channel == VC_CHANNEL_SERIAL);
	/* The room to grow travels to the VM's config. */
	CHECK(hc.hotplug_ports == 3 && hc.hotplug_mem_mib == 1024 && hc.max_vcpus == 4);
	CHECK(hc.tcg_tb_size_mib == 96);
	vc_plan_release(&back);
	/* A bind whose target leaves the container's place in the share is refused. */
	char *evil = strstr(text, "\"c1/m1-data\"");
	CHECK(evil != NULL);
	if (evil) {
		memcpy(evil, "\"../m1-data\"", 12);
		CHECK(vc_plan_from_json(text, len, "plan.json", &back, &err) == -EINVAL);
		CHECK(strstr(err.msg, "binds[1]") != NULL);
	}
	vc_plan_release(&plan);
}

/* With vhost-vsock on the host, the agent channel is vsock with a guest CID. */
VC_TEST(plan_picks_vsock_when_the_host_has_it)
{
	struct vc_error err = {0};
	_cleanup_free_ char *bundle = make_bundle("bv", "[]");
	_cleanup_free_ char *dev = vc_strdup_printf("%s/fakedev", vc_unit_tmpdir());
	_cleanup_free_ char *node = vc_strdup_printf("%s/vhost-vsock", dev);
	vc_mkdir_p(dev, 0755, NULL);
	vc_write_file(node, "", 0, NULL);
	_cleanup_spec_ struct vc_oci_spec *spec = NULL;
	CHECK(vc_oci_spec_load(bundle, &spec, &err) == 0);
	struct vc_config cfg;
	vc_unit_config(&cfg);
	struct vc_plan plan, serial, back;
	CHECK(vc_plan_build(WHERE("v", dev), spec, &cfg, VC_ACCEL_KVM, &plan, &err) == 0);
	CHECK(vc_plan_build(WHERE("s", "/nonexistent"), spec, &cfg, VC_ACCEL_KVM, &serial, &err) ==
	      0);
	vc_config_release(&cfg);
	CHECK(plan.channel == VC_CHANNEL_VSOCK && plan.vsock_cid >= 3 &&
	      plan.vsock_cid != UINT32_MAX);
	CHECK(serial.channel == VC_CHANNEL_SERIAL);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_plan_to_json(&plan, &text, &len, &err) == 0);
	CHECK(vc_plan_from_json(text, len, "plan.json", &back, &err) == 0);
	CHECK(back.channel == VC_CHANNEL_VSOCK && back.vsock_cid == plan.vsock_cid);
	struct vc_hv_config hc;
	vc_plan_hv_config(&back, ".", &hc);
	CHECK(hc.channel == VC_CHANNEL_VSOCK && hc.vsock_cid == plan.vsock_cid);
	vc_plan_release(&back);
	vc_plan_release(&serial);
	vc_plan_release(&plan);
}

/* The network namespace: joined by path, or made by vcrun (owned) for a spec that
 * asks for a new one; none without a "network" entry. And the DNS relay is wanted
 * only for a resolv.conf whose first nameserver is on IPv4 loopback. */
VC_TEST(plan_network_namespace_and_dns_relay)
{
	struct vc_error err = {0};
	_cleanup_free_ char *bundle = make_bundle("bn", "[]");
	_cleanup_free_ char *cfgp = vc_strdup_printf("%s/config.json", bundle);
	_cleanup_free_ char *resolv = vc_strdup_printf("%s/resolv.conf", bundle);
	const char *namespaces[] = {"[{\"type\":\"network\",\"path\":\"/run/netns/ctr\"}]",
				    "[{\"type\":\"network\"}]", "[{\"type\":\"pid\"}]"};
	const char *resolvs[] = {"search x\nnameserver 127.0.0.11\noptions ndots:0\n",
				 "nameserver 10.89.0.1\nnameserver 127.0.0.11\n",
				 "nameserver ::1\n"};
	struct vc_config cfg;
	vc_unit_config(&cfg);
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *text = vc_strdup_printf(
			"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
			"\"root\":{\"path\":\"rootfs\"},\"mounts\":[{\"destination\":"
			"\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"%s\"}],"
			"\"linux\":{\"namespaces\":%s}}",
			resolv, namespaces[i]);
		vc_write_file(cfgp, text, strlen(text), NULL);
		vc_write_file(resolv, resolvs[i], strlen(resolvs[i]), NULL);
		_cleanup_spec_ struct vc_oci_spec *spec = NULL;
		CHECK(vc_oci_spec_load(bundle, &spec, &err) == 0);
		struct vc_plan plan, back;
		CHECK(vc_plan_build(WHERE("n1", "/nonexistent"), spec, &cfg, VC_ACCEL_TCG, &plan,
				    &err) == 0);
		_cleanup_free_ char *json = NULL;
		size_t len = 0;
		CHECK(vc_plan_to_json(&plan, &json, &len, &err) == 0);
		CHECK(vc_plan_from_json(json, len, "plan.json", &back, &err) == 0);
		_cleanup_free_ char *relay = NULL;
		CHECK(vc_plan_dns_relay(&back, &relay) == 0);
		struct vc_hv_config hc;
		vc_plan_hv_config(&back, ".", &hc);
		if (i == 0) {
			CHECK_STR(back.netns_path, "/run/netns/ctr");
			CHECK(!back.netns_owned);
			CHECK_STR(relay, "127.0.0.11");
			CHECK_STR(hc.netns_path, "/run/netns/ctr");
		} else if (i == 1) {
			/* named for the root too: two roots may use the same id */
			_cleanup_free_ char *name = vc_sandbox_host_name("/r", "n1");
			_cleanup_free_ char *pin = vc_strdup_printf("/run/vcrun/netns/%s", name);
			CHECK_STR(back.netns_path, pin);
			_cleanup_free_ char *other = vc_sandbox_host_name("/r2", "n1");
			CHECK(strcmp(name, other) != 0);
			CHECK(back.netns_owned);
			CHECK(relay == NULL); /* the first nameserver is not on loopback */
		} else {
			CHECK(back.netns_path == NULL && hc.netns_path == NULL);
			CHECK(relay == NULL);
		}
		vc_plan_release(&back);
		vc_plan_release(&plan);
	}
	vc_config_release(&cfg);
}

/* A bundle whose spec asks for /dev/vfio/7 and /dev/vfio/16, with annotations. */
static char *make_vfio_bundle(const char *name, const char *annotations_json)
{
	char *bundle = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	_cleanup_free_ char *rootfs = vc_strdup_printf("%s/rootfs", bundle);
	_cleanup_free_ char *cfg = vc_strdup_printf("%s/config.json", bundle);
	vc_mkdir_p(rootfs, 0755, NULL);
	_cleanup_free_ char *text = vc_strdup_printf(
		"{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"root\":{\"path\":\"rootfs\"},\"annotations\":%s,"
		"\"linux\":{\"devices\":[{\"path\":\"/dev/vfio/7\",\"type\":\"c\",\"major\":243,"
		"\"minor\":0},{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229},"
		"{\"path\":\"/dev/vfio/16\",\"type\":\"c\",\"major\":243,\"minor\":1}]}}",
		annotations_json);
	vc_write_file(cfg, text, strlen(text), NULL);
	return bundle;
}

static size_t guest_devices(const struct vc_plan *plan, const char *path)
{
	const struct vc_json *d = vc_json_get(vc_json_get(plan->guest_spec, "linux"), "devices");
	size_t n = 0;
	for (size_t i = 0; d && i < d->u.array.len; i++)
		n += !strcmp(vc_json_str(vc_json_get(d->u.array.items[i], "path")), path);
	return n;
}

static const char *guest_annotation(const struct vc_plan *plan, const char *key)
{
	return vc_json_str(vc_json_get(vc_json_get(plan->guest_spec, "annotations"), key));
}

/* io.vcrun.vfio-mode: the default drops /dev/vfio/N from the guest's spec; "vfio"
 * keeps the nodes, annotates each group's placement, turns the virtual IOMMU on and
 * survives plan.json; any other value is refused by name; annotations that would
 * steer the agent are vcrun's alone. */
VC_TEST(plan_vfio_mode)
{
	struct vc_error err = {0};
	struct vc_hv_vfio_pci pci[] = {
		/* group 7: a NIC; group 16: a GPU and its audio function, and a second slot */
		{.host = "0000:03:00.0", .port = 1, .function = 0, .group = 7},
		{.host = "0000:01:00.0",
		 .port = 2,
		 .function = 0,
		 .multifunction = true,
		 .group = 16},
		{.host = "0000:01:00.1", .port = 2, .function = 1, .group = 16},
		{.host = "0000:02:00.0", .port = 3, .function = 0, .group = 16},
	};
	struct vc_vfio_plan vp = {.pci = pci, .n_pci = 4, .pci_hole64_bytes = 32ULL << 30};
	struct vc_config cfg;
	vc_unit_config(&cfg);

	/* default: guest-kernel */
	_cleanup_free_ char *b0 = make_vfio_bundle("v0", "{\"io.vcrun.vfio.group.9\":\"1.0\"}");
	_cleanup_spec_ struct vc_oci_spec *s0 = NULL;
	CHECK(vc_oci_spec_load(b0, &s0, &err) == 0);
	struct vc_plan p0;
	CHECK(vc_plan_build(WHERE("c0", "/nonexistent"), s0, &cfg, VC_ACCEL_TCG, &p0, &err) == 0);
	CHECK(p0.vfio_mode == VC_PLAN_VFIO_GUEST_KERNEL);
	CHECK(vc_plan_set_vfio(&p0, &vp, &err) == 0);
	CHECK(guest_devices(&p0, "/dev/vfio/7") == 0 && guest_devices(&p0, "/dev/fuse") == 1);
	CHECK(guest_annotation(&p0, "io.vcrun.vfio.group.9") == NULL);
	struct vc_hv_config hc;
	vc_plan_hv_config(&p0, "/run/x", &hc);
	CHECK(!hc.viommu);
	vc_plan_release(&p0);

	/* vfio */
	_cleanup_free_ char *b1 = make_vfio_bundle(
		"v1", "{\"io.vcrun.vfio-mode\":\"vfio\",\"io.vcrun.vfio.group.16\":\"9.9\"}");
	_cleanup_spec_ struct vc_oci_spec *s1 = NULL;
	CHECK(vc_oci_spec_load(b1, &s1, &err) == 0);
	struct vc_plan p1;
	CHECK(vc_plan_build(WHERE("c1", "/nonexistent"), s1, &cfg, VC_ACCEL_TCG, &p1, &err) == 0);
	CHECK(p1.vfio_mode == VC_PLAN_VFIO_VFIO);
	CHECK(vc_plan_set_vfio(&p1, &vp, &err) == 0);
	CHECK(guest_devices(&p1, "/dev/vfio/7") == 1 && guest_devices(&p1, "/dev/vfio/16") == 1);
	CHECK_STR(guest_annotation(&p1, "io.vcrun.vfio.group.7"), "1.0");
	CHECK_STR(guest_annotation(&p1, "io.vcrun.vfio.group.16"), "2.0,2.1,3.0");
	CHECK_STR(guest_annotation(&p1, "io.vcrun.vfio-mode"), "vfio");
	vc_plan_hv_config(&p1, "/run/x", &hc);
	CHECK(hc.viommu && hc.n_vfio_pci == 4);

	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	CHECK(vc_plan_to_json(&p1, &text, &len, &err) == 0);
	CHECK_CONTAINS(text, "\"mode\":\"vfio\"");
	struct vc_plan back;
	CHECK(vc_plan_from_json(text, len, "plan.json", &back, &err) == 0);
	CHECK(back.vfio_mode == VC_PLAN_VFIO_VFIO && back.n_vfio_pci == 4);
	CHECK(back.vfio_pci[3].group == 16 && back.vfio_pci[0].group == 7);
	CHECK_STR(guest_annotation(&back, "io.vcrun.vfio.group.16"), "2.0,2.1,3.0");
	vc_plan_release(&back);
	/* a plan.json from before the mode existed reads as guest-kernel */
	char *at = strstr(text, "\"mode\":\"vfio\",");
	CHECK(at != NULL);
	memmove(at, at + strlen("\"mode\":\"vfio\","),
		strlen(at + strlen("\"mode\":\"vfio\",")) + 1);
	CHECK(vc_plan_from_json(text, strlen(text), "plan.json", &back, &err) == 0);
	CHECK(back.vfio_mode == VC_PLAN_VFIO_GUEST_KERNEL);
	vc_plan_release(&back);

	/* AP devices have no PCI function for the container to open */
	char *ap[] = {"/sys/devices/vfio_ap/matrix/u1"};
	struct vc_vfio_plan vap = {.ap = ap, .n_ap = 1};
	vc_error_clear(&err);
	CHECK(vc_plan_set_vfio(&p1, &vap, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "io.vcrun.vfio-mode");
	CHECK_CONTAINS(err.msg, "AP device");
	vc_plan_release(&p1);

	/* anything else names the annotation and the value */
	_cleanup_free_ char *b2 = make_vfio_bundle("v2", "{\"io.vcrun.vfio-mode\":\"dpdk\"}");
	_cleanup_spec_ struct vc_oci_spec *s2 = NULL;
	CHECK(vc_oci_spec_load(b2, &s2, &err) == 0);
	struct vc_plan p2;
	vc_error_clear(&err);
	CHECK(vc_plan_build(WHERE("c2", "/nonexistent"), s2, &cfg, VC_ACCEL_TCG, &p2, &err) ==
	      -EINVAL);
	CHECK_CONTAINS(err.msg, "io.vcrun.vfio-mode: unknown value `dpdk`");
	vc_config_release(&cfg);
}

VC_TEST(plan_rejects_bad_mounts)
{
	struct vc_error err = {0};
	struct vc_config cfg;
	_cleanup_free_ char *b1 = make_bundle(
		"b2",
		"[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/nonexistent/vcrun\"}]");
	_cleanup_spec_ struct vc_oci_spec *s1 = NULL;
	CHECK(vc_oci_spec_load(b1, &s1, &err) == 0);
	struct vc_plan plan;
	vc_unit_config(&cfg);
	CHECK(vc_plan_build(WHERE("c", "/dev"), s1, &cfg, VC_ACCEL_TCG, &plan, &err) < 0);
	CHECK_CONTAINS(err.msg, "mounts[0].source");
	CHECK_CONTAINS(err.msg, "/nonexistent/vcrun");

	_cleanup_free_ char *b2 = make_bundle(
		"b3",
		"[{\"destination\":\"/dev/null2\",\"type\":\"bind\",\"source\":\"/dev/null\"}]");
	_cleanup_spec_ struct vc_oci_spec *s2 = NULL;
	CHECK(vc_oci_spec_load(b2, &s2, &err) == 0);
	CHECK(vc_plan_build(WHERE("c", "/dev"), s2, &cfg, VC_ACCEL_TCG, &plan, &err) < 0);
	CHECK_CONTAINS(err.msg, "only those can be shared into a VM");

	/* A missing guest kernel is named with the way to fix it. */
	free(cfg.kernel);
	cfg.kernel = strdup("/nonexistent/vmlinuz");
	_cleanup_free_ char *b3 = make_bundle("b4", "[]");
	_cleanup_spec_ struct vc_oci_spec *s3 = NULL;
	CHECK(vc_oci_spec_load(b3, &s3, &err) == 0);
	CHECK(vc_plan_build(WHERE("c", "/dev"), s3, &cfg, VC_ACCEL_TCG, &plan, &err) < 0);
	CHECK_CONTAINS(err.msg, "/nonexistent/vmlinuz");
	vc_config_release(&cfg);
}

VC_TEST(config_file_errors_name_the_field)
{
	struct vc_error err = {0};
	_cleanup_free_ char *path = vc_strdup_printf("%s/vcrun-config.json", vc_unit_tmpdir());
	const char *bad = "{\"accel\":\"fast\"}";
	vc_write_file(path, bad, strlen(bad), NULL);
	setenv("VCRUN_CONFIG", path, 1);
	struct vc_config cfg;
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "accel");
	CHECK_CONTAINS(err.msg, path);
	const char *good = "{\"accel\":\"tcg\",\"memory_mib\":256,\"kernel\":\"/k\"}";
	vc_write_file(path, good, strlen(good), NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(cfg.accel == VC_ACCEL_TCG && cfg.mem_mib == 256);
	CHECK_STR(cfg.kernel, "/k");
	vc_config_release(&cfg);
	const char *wrong = "{\"vcpus\":0}";
	vc_write_file(path, wrong, strlen(wrong), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "vcpus");
	/* The hot-plug room: defaults, 0 allowed, too many named. */
	const char *none = "{\"hotplug_root_ports\":0,\"hotplug_memory_mib\":0}";
	vc_write_file(path, none, strlen(none), NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(cfg.hotplug_root_ports == 0 && cfg.hotplug_memory_mib == 0 && cfg.max_vcpus == 0);
	vc_config_release(&cfg);
	vc_write_file(path, "{}", 2, NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(cfg.hotplug_root_ports == VC_CONFIG_HOTPLUG_PORTS &&
	      cfg.hotplug_memory_mib == VC_CONFIG_HOTPLUG_MEMORY_MIB);
	vc_config_release(&cfg);
	const char *many = "{\"hotplug_root_ports\":65}";
	vc_write_file(path, many, strlen(many), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "hotplug_root_ports: must be an integer from 0 to 64");
	const char *cpus = "{\"max_vcpus\":300}";
	vc_write_file(path, cpus, strlen(cpus), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "max_vcpus");
	unsetenv("VCRUN_CONFIG");
}

/* --uid-map / --gid-map as the stand-in writes them to uid_map / gid_map. */
VC_TEST(standin_id_maps)
{
	char out[64];
	CHECK(vc_standin_id_map_text("0:100000:65536", out, sizeof(out)) == 0);
	CHECK_STR(out, "0 100000 65536\n");
	CHECK(vc_standin_id_map_text("0:1000:1,1:100000:65535", out, sizeof(out)) == 0);
	CHECK_STR(out, "0 1000 1\n1 100000 65535\n");
	static const char *const bad[] = {"",	    "0:1",    "0:1:0",	       "a:b:c",
					  "0:1:2;", "0:1:2,", "0:4294967296:1"};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++)
		CHECK(vc_standin_id_map_text(bad[i], out, sizeof(out)) == -EINVAL);
	CHECK(vc_standin_id_map_text("0:100000:65536,65536:200000:65536", out, 20) == -E2BIG);
}

/* A spec whose linux object is linux_json. */
static struct vc_oci_spec *spec_with_linux(const char *linux_json)
{
	_cleanup_free_ char *more = vc_strdup_printf("\"linux\":%s", linux_json);
	return vc_unit_spec(more);
}

/* argv from `vcrun __standin ... --ns ...` joined by spaces. */
static char *ns_args_text(const struct vc_oci_spec *spec, const char *netns)
{
	_cleanup_strv_ char **v = NULL;
	if (vc_strv_push(&v, "x") < 0 || vc_standin_ns_args(spec, netns, &v) < 0)
		return NULL;
	char *out = strdup("");
	for (size_t i = 1; out && v[i]; i++) {
		char *next = vc_strdup_printf("%s%s%s", out, i > 1 ? " " : "", v[i]);
		free(out);
		out = next;
	}
	return out;
}

/* The stand-in's namespaces: the spec's, in its order, paths kept, the network's
 * the pinned one; a user namespace with its mappings, or left to the guest's
 * refusal (a path, a missing list); time never. */
VC_TEST(standin_ns_args)
{
	_cleanup_spec_ struct vc_oci_spec *s = spec_with_linux(
		"{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
		"{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"},{\"type\":\"time\"},"
		"{\"type\":\"user\"},{\"type\":\"cgroup\"}],"
		"\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536},"
		"{\"containerID\":65536,\"hostID\":300000,\"size\":1}],"
		"\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]}");
	CHECK(s != NULL);
	_cleanup_free_ char *got = ns_args_text(s, "/run/vcrun/netns/h-c");
	CHECK_STR(got, "--ns pid --ns network:/run/vcrun/netns/h-c --ns ipc:/proc/1/ns/ipc "
		       "--ns user --uid-map 0:100000:65536,65536:300000:1 --gid-map "
		       "0:100000:65536 --ns cgroup");

	_cleanup_spec_ struct vc_oci_spec *path =
		spec_with_linux("{\"namespaces\":[{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"},"
				"{\"type\":\"pid\",\"path\":\"/proc/7/ns/pid\"}],"
				"\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}],"
				"\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}");
	CHECK(path != NULL);
	_cleanup_free_ char *got2 = ns_args_text(path, NULL);
	CHECK_STR(got2, "--ns pid:/proc/7/ns/pid");

	_cleanup_spec_ struct vc_oci_spec *nogid =
		spec_with_linux("{\"namespaces\":[{\"type\":\"user\"}],"
				"\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}");
	CHECK(nogid != NULL);
	_cleanup_free_ char *got3 = ns_args_text(nogid, NULL);
	CHECK_STR(got3, "");
}

/* PID 1 of a new pid namespace (the stand-in of a spec with one) ends of the fault
 * signals for real; a raised SIGTERM does nothing to it, which is why. */
static int end_as_pid1(int sig, bool by_fault)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWPID | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
	if (pid == 0) {
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		signal(sig, SIG_DFL);
		if (by_fault)
			vc_standin_fault(sig);
		else
			raise(sig);
		_exit(99);
	}
	int st = 0;
	if (pid < 0 || waitpid((pid_t)pid, &st, 0) < 0)
		return -1;
	return WIFSIGNALED(st) ? WTERMSIG(st) : 1000 + WEXITSTATUS(st);
}

VC_TEST(standin_faults_as_pid1)
{
	static const int sigs[] = {
		SIGSEGV,
		SIGBUS,
		SIGILL,
		SIGTRAP,
		SIGSYS,
#if defined(__x86_64__) || defined(__i386__)
		SIGFPE
#endif
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(sigs); i++) {
		int got = end_as_pid1(sigs[i], true);
		if (got != sigs[i])
			fprintf(stderr, "# signal %d: ended with %d\n", sigs[i], got);
		CHECK(got == sigs[i]);
	}
	CHECK(end_as_pid1(SIGTERM, false) == 1099);
	CHECK(end_as_pid1(SIGTERM, true) == 1099);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* "kernel": a path, "debian", "lean" (which must be there), or auto; the translation
 * cache's size. The unit test binary has no share/vcrun beside it, so auto means
 * Debian's and "lean" is an error naming the file. */
VC_TEST(config_kernel_choice_and_tb_size)
{
	struct vc_error err = {0};
	_cleanup_free_ char *path = vc_strdup_printf("%s/vcrun-config.json", vc_unit_tmpdir());
	setenv("VCRUN_CONFIG", path, 1);
	struct vc_config cfg;
	vc_write_file(path, "{}", 2, NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(cfg.kernel_auto && cfg.kernel_kind == VC_KERNEL_DEBIAN);
	CHECK(ends_with(cfg.kernel, "/share/vcrun/" VC_KERNEL_DEBIAN_FILE));
	CHECK(ends_with(cfg.initrd, "/share/vcrun/" VC_INITRD_DEBIAN_FILE));
	CHECK(cfg.tcg_tb_size_mib == VC_CONFIG_TCG_TB_SIZE_MIB);
	vc_config_release(&cfg);
	const char *paths = "{\"kernel\":\"/k\",\"initrd\":\"/i\",\"tcg_tb_size_mib\":0}";
	vc_write_file(path, paths, strlen(paths), NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(!cfg.kernel_auto && cfg.kernel_kind == VC_KERNEL_PATH && cfg.tcg_tb_size_mib == 0);
	CHECK_STR(cfg.kernel, "/k");
	CHECK_STR(cfg.initrd, "/i");
	vc_config_release(&cfg);
	const char *deb = "{\"kernel\":\"debian\"}";
	vc_write_file(path, deb, strlen(deb), NULL);
	CHECK(vc_config_load(&cfg, &err) == 0);
	CHECK(!cfg.kernel_auto && cfg.kernel_kind == VC_KERNEL_DEBIAN);
	CHECK(ends_with(cfg.kernel, "/" VC_KERNEL_DEBIAN_FILE));
	vc_config_release(&cfg);
	const char *lean = "{\"kernel\":\"lean\"}";
	vc_write_file(path, lean, strlen(lean), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, path);
	CHECK_CONTAINS(err.msg, "kernel: \"lean\"");
	CHECK_CONTAINS(err.msg, VC_KERNEL_LEAN_FILE);
	CHECK_CONTAINS(err.msg, "make guest-kernel");
	const char *big = "{\"tcg_tb_size_mib\":16385}";
	vc_write_file(path, big, strlen(big), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "tcg_tb_size_mib: must be an integer from 0");
	const char *str = "{\"tcg_tb_size_mib\":\"64\"}";
	vc_write_file(path, str, strlen(str), NULL);
	CHECK(vc_config_load(&cfg, &err) < 0);
	CHECK_CONTAINS(err.msg, "tcg_tb_size_mib");
	unsetenv("VCRUN_CONFIG");
}

VC_TESTS(VC_T(id_rules), VC_T(state_round_trip), VC_T(plan_shares_and_guest_spec),
	 VC_T(plan_picks_vsock_when_the_host_has_it), VC_T(plan_network_namespace_and_dns_relay),
	 VC_T(plan_vfio_mode), VC_T(plan_rejects_bad_mounts),
	 VC_T(config_file_errors_name_the_field), VC_T(standin_id_maps),
	 VC_T(standin_faults_as_pid1), VC_T(standin_ns_args),
	 VC_T(config_kernel_choice_and_tb_size))
