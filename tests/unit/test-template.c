/* VM templates' host side (lib/template.h) without a VM: the key and what changes
 * it, which plans no template fits, and list/remove on a fake root. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "hv/hv.h"
#include "lib/template.h"

static char *tmp_file(const char *name, const char *text)
{
	char *p = vc_strdup_printf("%s/%s", vc_unit_tmpdir(), name);
	if (p && vc_write_file(p, text, strlen(text), NULL) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* A plan with just what the key reads. */
static void plan_for(struct vc_plan *p, char *kernel, char *initrd)
{
	memset(p, 0, sizeof(*p));
	p->kernel = kernel;
	p->initrd = initrd;
	p->qemu = "/bin/sh"; /* any program that exists */
	p->mem_mib = 512;
	p->vcpus = 1;
	p->max_vcpus = 2;
	p->hotplug_ports = 4;
	p->accel = VC_ACCEL_TCG;
	p->kernel_params = "";
}

static int key_of(const struct vc_plan *p, char key[VC_TEMPLATE_KEY_LEN + 1])
{
	_cleanup_json_ struct vc_json *in = NULL;
	struct vc_error err = {0};
	return vc_template_key(p, key, &in, &err);
}

VC_TEST(key_follows_its_inputs)
{
	_cleanup_free_ char *k = tmp_file("vmlinuz", "kernel");
	_cleanup_free_ char *i = tmp_file("initrd", "initrd");
	CHECK(k && i);
	struct vc_plan p;
	plan_for(&p, k, i);
	char a[VC_TEMPLATE_KEY_LEN + 1], b[VC_TEMPLATE_KEY_LEN + 1];
	CHECK(key_of(&p, a) == 0 && key_of(&p, b) == 0);
	CHECK(strlen(a) == VC_TEMPLATE_KEY_LEN && strspn(a, "0123456789abcdef") == strlen(a));
	CHECK_STR(a, b);
	/* Each input changes it. */
	p.mem_mib = 1024;
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	plan_for(&p, k, i);
	p.vcpus = 2;
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	plan_for(&p, k, i);
	p.channel = VC_CHANNEL_VSOCK;
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	plan_for(&p, k, i);
	p.hotplug_mem_mib = 4096;
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	plan_for(&p, k, i);
	p.kernel_params = "debug";
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	/* A new kernel at the same path: its size or mtime. */
	plan_for(&p, k, i);
	CHECK(vc_write_file(k, "kernel2", 7, NULL) == 0);
	CHECK(key_of(&p, b) == 0 && strcmp(a, b));
	/* Not the vsock CID: each clone has its own. */
	char c[VC_TEMPLATE_KEY_LEN + 1];
	p.vsock_cid = 1234;
	CHECK(key_of(&p, c) == 0);
	CHECK_STR(b, c);
	/* A missing input is an error naming it. */
	p.initrd = "/nonexistent/initrd";
	_cleanup_json_ struct vc_json *in = NULL;
	struct vc_error err = {0};
	CHECK(vc_template_key(&p, c, &in, &err) == -ENOENT && !in);
	CHECK_CONTAINS(err.msg, "initrd `/nonexistent/initrd`");
}

VC_TEST(unfit_plans)
{
	struct vc_plan p;
	plan_for(&p, "k", "i");
	CHECK(vc_template_unfit(&p, 0) == NULL);
	CHECK(vc_template_unfit(&p, 4) == NULL);
	CHECK_CONTAINS(vc_template_unfit(&p, 5), "hotplug_root_ports");
	struct vc_hv_vfio_pci fn = {.host = "0000:01:00.0", .port = 1};
	p.vfio_pci = &fn;
	p.n_vfio_pci = 1;
	CHECK_CONTAINS(vc_template_unfit(&p, 0), "VFIO");
	plan_for(&p, "k", "i");
	struct vc_hv_share sh = {.tag = "sandbox", .host_path = "/x"};
	p.shares = &sh;
	p.n_shares = 1;
	CHECK(vc_template_unfit(&p, 0) == NULL);
	p.fs = VC_FS_VIRTIOFS;
	CHECK_CONTAINS(vc_template_unfit(&p, 0), "virtio-fs");
}

VC_TEST(list_and_remove)
{
	_cleanup_free_ char *root = vc_strdup_printf("%s/root", vc_unit_tmpdir());
	_cleanup_free_ char *k = tmp_file("vmlinuz2", "kernel");
	_cleanup_free_ char *i = tmp_file("initrd2", "initrd");
	CHECK(root && k && i);
	struct vc_plan p;
	plan_for(&p, k, i);
	char key[VC_TEMPLATE_KEY_LEN + 1];
	_cleanup_json_ struct vc_json *in = NULL;
	struct vc_error err = {0};
	CHECK(vc_template_key(&p, key, &in, &err) == 0);
	/* A ready template as the builder leaves it, and a clone of it (our pid). */
	_cleanup_free_ char *dir = vc_strdup_printf("%s/templates/%s", root, key);
	_cleanup_free_ char *ctr = vc_strdup_printf("%s/c1", root);
	CHECK(dir && ctr && vc_mkdir_p(dir, 0700, &err) == 0 && vc_mkdir_p(ctr, 0700, &err) == 0);
	_cleanup_free_ char *inputs = NULL;
	CHECK(vc_json_serialize(in, false, &inputs, NULL, &err) == 0);
	_cleanup_free_ char *meta = vc_strdup_printf("{\"key\":\"%s\",\"created\":1796449182,"
						     "\"inputs\":%s}",
						     key, inputs);
	_cleanup_free_ char *mark = vc_strdup_printf("%s %d\n", key, (int)getpid());
	_cleanup_free_ char *p_meta = vc_strdup_printf("%s/meta.json", dir);
	_cleanup_free_ char *p_ready = vc_strdup_printf("%s/ready", dir);
	_cleanup_free_ char *p_mark = vc_strdup_printf("%s/" VC_TEMPLATE_CLONE_FILE, ctr);
	CHECK(vc_write_file(p_meta, meta, strlen(meta), &err) == 0 &&
	      vc_write_file(p_ready, "", 0, &err) == 0 &&
	      vc_write_file(p_mark, mark, strlen(mark), &err) == 0);

	_cleanup_free_ struct vc_template_info *t = NULL;
	size_t n = 0;
	CHECK(vc_template_list(root, &t, &n, &err) == 0 && n == 1);
	CHECK_STR(t[0].key, key);
	CHECK(t[0].ready && !t[0].stale && t[0].clones == 1 && t[0].created == 1796449182);
	/* meta.json without the files' identity: a clone would not trust them. */
	CHECK(vc_template_verify(dir, &err) < 0);
	free(t);
	t = NULL;
	/* A touched kernel makes it stale. */
	struct timespec ts[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	CHECK(utimensat(AT_FDCWD, k, ts, 0) == 0);
	CHECK(vc_template_list(root, &t, &n, &err) == 0 && n == 1 && t[0].stale);

	CHECK(vc_template_remove(root, key, false, &err) == -EBUSY);
	CHECK_CONTAINS(err.msg, "used by 1 running clone");
	CHECK(access(dir, F_OK) == 0);
	CHECK(vc_template_remove(root, "../etc", false, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "not a template key");
	CHECK(vc_template_remove(root, key, true, &err) == 0);
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
	CHECK(vc_template_remove(root, key, true, &err) == -ENOENT);
}

/* argv[i..] equals the words, in order, somewhere. */
static bool has_seq(char **argv, const char *a, const char *b)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], a) && !strcmp(argv[i + 1], b))
			return true;
	return false;
}

VC_TEST(argv_of_template_and_clone)
{
	struct vc_hv_config c = {
		.qemu_path = "qemu-system-x86_64",
		.kernel = "/s/vmlinuz",
		.initrd = "/s/initramfs.img",
		.mem_mib = 512,
		.vcpus = 1,
		.state_dir = "/run/vc/x",
		.accel = VC_ACCEL_TCG,
		.channel = VC_CHANNEL_SERIAL,
		.fs = VC_FS_9P,
		.mem_path = "/r/templates/k,1/memory",
		.vmgenid = "auto",
	};
	struct vc_error err = {0};
	_cleanup_strv_ char **t = NULL;
	CHECK(vc_hv_qemu_argv(&c, &t, &err) == 0);
	CHECK(has_seq(t, "-M", "q35,accel=tcg,memory-backend=mem"));
	CHECK(has_seq(t, "-object",
		      "memory-backend-file,id=mem,size=512M,"
		      "mem-path=/r/templates/k,,1/memory,share=on"));
	CHECK(has_seq(t, "-device", "vmgenid,guid=auto"));
	for (size_t i = 0; t[i]; i++)
		CHECK(strcmp(t[i], "-incoming"));
	/* The clone: the same but for the mapping, the id, and -incoming defer. */
	c.mem_private = true;
	c.vmgenid = "0f8fad5b-d9cb-469f-a165-70867728950e";
	c.incoming = true;
	_cleanup_strv_ char **k = NULL;
	CHECK(vc_hv_qemu_argv(&c, &k, &err) == 0);
	CHECK(has_seq(k, "-object",
		      "memory-backend-file,id=mem,size=512M,"
		      "mem-path=/r/templates/k,,1/memory,share=off"));
	CHECK(has_seq(k, "-device", "vmgenid,guid=0f8fad5b-d9cb-469f-a165-70867728950e"));
	CHECK(has_seq(k, "-incoming", "defer"));
	/* A guid with anything else in it, and a memory file with virtio-fs. */
	c.vmgenid = "x,id=evil";
	CHECK(vc_hv_qemu_argv(&c, &k, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "vmgenid");
	c.vmgenid = NULL;
	struct vc_hv_share sh = {.tag = "sandbox", .host_path = "/x"};
	c.fs = VC_FS_VIRTIOFS;
	c.virtiofsd_path = "virtiofsd";
	c.shares = &sh;
	c.n_shares = 1;
	CHECK(vc_hv_qemu_argv(&c, &k, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "mem_path");
}

VC_TESTS(VC_T(key_follows_its_inputs), VC_T(unfit_plans), VC_T(list_and_remove),
	 VC_T(argv_of_template_and_clone))
