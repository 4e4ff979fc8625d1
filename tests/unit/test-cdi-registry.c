/* cdi/: the registry over spec directories (priority, conflicts, bad files, what
 * is skipped), vc_cdi_validate_file on the fixture files, and the fuzz entry
 * point replayed over the fixtures and hostile inputs. */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/test-cdi.h"

/* The fuzz entry is compiled here so it cannot rot while only clang builds the
 * real target: a failed property is counted instead of trapping. */
#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-cdi.c"

static char *fixture(const char *sub)
{
	return vc_strdup_printf("%s/%s", cdi_test_fixtures(), sub);
}

static const char *const registry_names[] = {
	"example.com/dup=w",
	"example.com/dup=z",
	"vendor.com/gpu=gpu0",
	"vendor.com/gpu=gpu1",
	"vendor.com/gpu=gpu2",
	"vendor.com/nic=eth0",
	NULL,
};

VC_TEST(registry_fixtures)
{
	_cleanup_free_ char *etc = fixture("registry/etc");
	_cleanup_free_ char *run = fixture("registry/run");
	_cleanup_free_ char *missing = fixture("registry/missing");
	const char *dirs[] = {etc, missing, run, NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(dirs, &reg, &err) == 0);

	size_t n;
	const char *const *names = vc_cdi_registry_devices(reg, &n);
	CHECK(n == VC_ARRAY_SIZE(registry_names) - 1);
	for (size_t i = 0; i < n; i++)
		CHECK_STR(names[i], registry_names[i]);
	CHECK(names[n] == NULL);

	size_t nerr;
	char *const *errs = (char *const *)vc_cdi_registry_errors(reg, &nerr);
	if (nerr != 6)
		cdi_test_dump(errs);
	/* broken.yaml, invalid.json, and conflicts x and z, each for both files. The
	 * missing directory, README.txt, ignored.yml and subdir.json/ say nothing. */
	CHECK(nerr == 6);
	CHECK(cdi_test_has(errs, "registry/etc/broken.yaml: line 4, column 1:"));
	CHECK(cdi_test_has(errs, "registry/etc/invalid.json: devices[0]: unknown field \"extra\""));
	CHECK(cdi_test_has(errs, "registry/etc/conflict-a.yaml: conflicting device "
				 "\"example.com/dup=x\": also defined in "));
	CHECK(cdi_test_has(errs, "registry/etc/conflict-b.json: conflicting device "
				 "\"example.com/dup=x\": also defined in "));
	CHECK(cdi_test_has(errs, "registry/etc/conflict-a.yaml: conflicting device "
				 "\"example.com/dup=z\""));
	CHECK(!cdi_test_has(errs, "missing"));
	CHECK(!cdi_test_has(errs, "ignored"));
	CHECK(!cdi_test_has(errs, "nested"));
	CHECK(!cdi_test_has(errs, "README"));

	/* Who won: run/ over etc/, also over a conflict in etc/. */
	_cleanup_json_ struct vc_json *config = NULL;
	CHECK(vc_json_parse("{}", 2, "c", &config, &err) == 0);
	const char *devs[] = {"vendor.com/gpu=gpu1", "example.com/dup=z", "vendor.com/gpu=gpu0",
			      NULL};
	CHECK(vc_cdi_apply(reg, config, devs, NULL, &err) == 0);
	_cleanup_free_ char *out = NULL;
	CHECK(vc_json_serialize(config, false, &out, NULL, &err) == 0);
	/* gpu1 from run/, gpu0 from etc/: each file's spec-wide env once, etc/'s last
	 * (it replaces run/'s GPU_SPEC in place). */
	CHECK_CONTAINS(out, "\"env\":[\"GPU_SPEC=etc\",\"GPU1=run\",\"FROM=run\",\"GPU0=yes\"]");

	/* The conflicted name resolves nowhere. */
	const char *x[] = {"example.com/dup=x", NULL};
	CHECK(vc_cdi_apply(reg, config, x, NULL, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "unresolvable CDI devices: example.com/dup=x (the CDI specs have 6 "
				"problems");
}

/* The order of the directories is their priority: reversed, etc/ wins. */
VC_TEST(registry_priority_order)
{
	_cleanup_free_ char *etc = fixture("registry/etc");
	_cleanup_free_ char *run = fixture("registry/run");
	const char *dirs[] = {run, etc, NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(dirs, &reg, &err) == 0);
	_cleanup_json_ struct vc_json *config = NULL;
	CHECK(vc_json_parse("{}", 2, "c", &config, &err) == 0);
	const char *devs[] = {"vendor.com/gpu=gpu1", NULL};
	CHECK(vc_cdi_apply(reg, config, devs, NULL, &err) == 0);
	_cleanup_free_ char *out = NULL;
	CHECK(vc_json_serialize(config, false, &out, NULL, &err) == 0);
	CHECK_STR(out, "{\"process\":{\"env\":[\"GPU_SPEC=etc\",\"GPU1=etc\"]}}");
	/* z: etc/ has the conflict and wins, so z resolves nowhere now. */
	const char *const *names = vc_cdi_registry_devices(reg, NULL);
	bool has_z = false;
	for (; *names; names++)
		has_z |= !strcmp(*names, "example.com/dup=z");
	CHECK(!has_z);
}

VC_TEST(registry_env_and_defaults)
{
	_cleanup_free_ char *etc = fixture("registry/etc");
	_cleanup_free_ char *run = fixture("registry/run");
	_cleanup_free_ char *env = vc_strdup_printf("::%s:%s:", etc, run);
	CHECK(setenv(VC_CDI_SPEC_DIRS_ENV, env, 1) == 0);
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(NULL, &reg, &err) == 0);
	size_t n;
	vc_cdi_registry_devices(reg, &n);
	CHECK(n == VC_ARRAY_SIZE(registry_names) - 1);

	/* Explicit directories win over the environment. */
	const char *none[] = {NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *empty = NULL;
	CHECK(vc_cdi_registry_load(none, &empty, &err) == 0);
	vc_cdi_registry_devices(empty, &n);
	CHECK(n == 0);
	CHECK(vc_cdi_registry_devices(empty, NULL)[0] == NULL);
	CHECK(vc_cdi_registry_errors(empty, NULL)[0] == NULL);

	/* Unset (or empty): /etc/cdi and /var/run/cdi, which may or may not exist. */
	CHECK(setenv(VC_CDI_SPEC_DIRS_ENV, "", 1) == 0);
	_cleanup_cdi_registry_ struct vc_cdi_registry *defaults = NULL;
	CHECK(vc_cdi_registry_load(NULL, &defaults, &err) == 0);
	unsetenv(VC_CDI_SPEC_DIRS_ENV);
}

/* What is skipped and what is reported, in a directory built here. */
VC_TEST(registry_odd_files)
{
	_cleanup_free_ char *d = cdi_test_dir("odd");
	_cleanup_free_ char *fifo = vc_strdup_printf("%s/pipe.json", d);
	_cleanup_free_ char *big = vc_strdup_printf("%s/big.yaml", d);
	_cleanup_free_ char *link = vc_strdup_printf("%s/link.yaml", d);
	_cleanup_free_ char *dirlink = vc_strdup_printf("%s/dirlink.json", d);
	_cleanup_free_ char *dangling = vc_strdup_printf("%s/dangling.json", d);
	_cleanup_free_ char *notdir = vc_strdup_printf("%s/good.json", d);
	CHECK(cdi_test_write(d, "good.json",
			     "{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/b\",\"devices\":[{\"name\":"
			     "\"c\",\"containerEdits\":{\"env\":[\"A=1\"]}}]}") == 0);
	CHECK(cdi_test_write(d, "empty.yaml", "") == 0);
	CHECK(mkfifo(fifo, 0600) == 0);
	_cleanup_close_ int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, CDI_SPEC_MAX_BYTES + 1) == 0);
	CHECK(symlink("good.json", link) == 0);
	CHECK(symlink("/", dirlink) == 0);
	CHECK(symlink("/nonexistent-vc", dangling) == 0);

	const char *dirs[] = {d, notdir, NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(dirs, &reg, &err) == 0);
	size_t nerr;
	char *const *errs = (char *const *)vc_cdi_registry_errors(reg, &nerr);
	if (nerr != 7)
		cdi_test_dump(errs);
	CHECK(cdi_test_has(errs, "/odd/pipe.json: not a regular file"));
	CHECK(cdi_test_has(errs, "/odd/big.yaml: larger than"));
	CHECK(cdi_test_has(errs, "/odd/empty.yaml: empty document"));
	CHECK(cdi_test_has(errs, "/odd/dangling.json: cannot read: No such file or directory"));
	CHECK(cdi_test_has(errs, "/odd/good.json: cannot read the directory, skipped: Not a "
				 "directory"));
	/* The same spec twice (through a link) in one directory is a conflict. */
	CHECK(cdi_test_has(errs, "/odd/good.json: conflicting device \"a/b=c\": also defined in "));
	CHECK(cdi_test_has(errs, "/odd/link.yaml: conflicting device \"a/b=c\""));
	CHECK(nerr == 7);
}

/* A file given twice at two priorities shadows itself without a conflict. */
VC_TEST(registry_same_dir_twice)
{
	_cleanup_free_ char *run = fixture("registry/run");
	const char *dirs[] = {run, run, NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(dirs, &reg, &err) == 0);
	size_t n, nerr;
	vc_cdi_registry_devices(reg, &n);
	vc_cdi_registry_errors(reg, &nerr);
	CHECK(n == 3 && nerr == 0);
}

VC_TEST(validate_fixture_files)
{
	static const struct {
		const char *file;
		size_t problems;
		const char *first;
	} t[] = {
		{"valid/gpu.yaml", 0, NULL},
		{"valid/nic.json", 0, NULL},
		{"valid/minimal.json", 0, NULL},
		{"valid/anchors.yaml", 0, NULL},
		{"invalid/unknown-field.yaml", 1, "devices[0]: unknown field \"containerEdit\""},
		{"invalid/duplicate-key.json", 1, "duplicate-key.json: duplicate key \"kind\""},
		{"invalid/duplicate-key.yaml", 1,
		 "devices[0].containerEdits: duplicate key \"env\""},
		{"invalid/unknown-version.json", 1, "cdiVersion: unknown version \"0.9.0\""},
		{"invalid/too-old.yaml", 1,
		 "cdiVersion: 0.4.0 is too old: devices[0].containerEdits.deviceNodes[0].hostPath "
		 "needs at least 0.5.0"},
		{"invalid/syntax.yaml", 1, "syntax.yaml: line 3, column 8: "},
		{"invalid/syntax.json", 1, "syntax.json: parse error at byte"},
		{"invalid/many-problems.yaml", 5, "devices[0].name: invalid device name \"-bad\""},
		{"invalid/does-not-exist.yaml", 1, "cannot read: No such file or directory"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		_cleanup_free_ char *path = fixture(t[i].file);
		_cleanup_strv_ char **problems = NULL;
		struct vc_error err = {0};
		CHECK(vc_cdi_validate_file(path, &problems, &err) == 0);
		if (vc_strv_len(problems) != t[i].problems) {
			fprintf(stderr, "# %s:\n", t[i].file);
			cdi_test_dump(problems);
		}
		CHECK(vc_strv_len(problems) == t[i].problems);
		if (t[i].first) {
			CHECK_CONTAINS(problems[0], t[i].first);
			CHECK(!strncmp(problems[0], path, strlen(path)));
		}
	}
}

/* The valid fixtures apply cleanly, and the GPU one gives what pkg/cdi gives. */
VC_TEST(fixture_gpu_apply)
{
	_cleanup_free_ char *valid = fixture("valid");
	const char *dirs[] = {valid, NULL};
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	struct vc_error err = {0};
	CHECK(vc_cdi_registry_load(dirs, &reg, &err) == 0);
	size_t n, nerr;
	vc_cdi_registry_devices(reg, &n);
	vc_cdi_registry_errors(reg, &nerr);
	CHECK(n == 9 && nerr == 0);
	_cleanup_json_ struct vc_json *config = NULL;
	const char *cfg = "{\"process\":{\"user\":{\"uid\":0,\"gid\":0}},\"annotations\":{"
			  "\"cdi.k8s.io/gpu\":\"vendor.com/gpu=1,vendor.com/gpu=all\"}}";
	CHECK(vc_json_parse(cfg, strlen(cfg), "c", &config, &err) == 0);
	struct vc_cdi_result res = {0};
	CHECK(vc_cdi_apply(reg, config, NULL, &res, &err) == 0);
	_cleanup_free_ char *out = NULL;
	CHECK(vc_json_serialize(config, false, &out, NULL, &err) == 0);
	CHECK_STR(
		out,
		"{\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[44]},\"env\":["
		"\"VENDOR_VISIBLE=all\"]},\"annotations\":{\"cdi.k8s.io/gpu\":\"vendor.com/gpu=1,"
		"vendor.com/gpu=all\"},\"linux\":{\"devices\":[{\"path\":\"/dev/vendor-gpu0\","
		"\"type\":\"c\",\"major\":195,\"minor\":0},{\"path\":\"/dev/vendor-gpu1\",\"type\":"
		"\"c\",\"major\":195,\"minor\":1}],\"resources\":{\"devices\":[{\"allow\":true,"
		"\"type\":\"c\",\"major\":195,\"minor\":1,\"access\":\"rwm\"},{\"allow\":true,"
		"\"type\":\"c\",\"major\":195,\"minor\":0,\"access\":\"rwm\"},{\"allow\":true,"
		"\"type\":\"c\",\"major\":195,\"minor\":1,\"access\":\"rwm\"}]},\"netDevices\":{"
		"\"vgpu-net0\":{\"name\":\"eth1\"}},\"intelRdt\":{\"closID\":\"gpu-clos\","
		"\"schemata\":[\"L3:0=ff\"],\"enableMonitoring\":true}},\"mounts\":[{"
		"\"destination\":"
		"\"/usr/lib/vendor/libvendor.so.1\",\"source\":\"/usr/lib/vendor/libvendor.so.1\","
		"\"options\":[\"ro\",\"nosuid\",\"nodev\",\"bind\"]}],\"hooks\":{"
		"\"createContainer\":"
		"[{\"path\":\"/usr/bin/vendor-hook\",\"args\":[\"vendor-hook\",\"update-ldcache\","
		"\"--folder\",\"/usr/lib/vendor\"],\"env\":[\"LD_LIBRARY_PATH=/usr/lib/vendor\"],"
		"\"timeout\":10}]}}");
	CHECK(res.nnodes == 3);
	vc_cdi_result_free(&res);
}

/* ---- the fuzz entry ---- */

static void fuzz_file(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (vc_read_file(path, 1 << 20, &buf, &len, NULL) == 0)
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
}

static void fuzz_tree(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = vc_strdup_printf("%s/%s", dir, e->d_name);
		struct stat st;
		if (!path || stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			fuzz_tree(path);
		else
			fuzz_file(path);
	}
}

static const char *const hostile[] = {
	"",
	"{",
	"[",
	"null",
	"\"x\"",
	"---\n---\n",
	"a: &a [*a]",
	"{\"devices\":[{}]}",
	"cdiVersion: 1.1.0\nkind: a/b\ndevices: [{name: c, containerEdits: {deviceNodes: [{path: "
	"/dev/null}], mounts: [{hostPath: /, containerPath: /}], hooks: [{hookName: poststop, "
	"path: "
	"/x}], intelRdt: {}, additionalGids: [1], netDevices: [{hostInterfaceName: a, name: b}], "
	"env: [A=1]}}]\n",
	"{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/"
	"b\",\"devices\":[{\"name\":\"c\",\"containerEdits\":"
	"{\"deviceNodes\":[{\"path\":\"/dev/vc-no\"}]}}]}",
	"vendor.com/class=name",
	"a/b=c=d",
	"\xff\xfe\x00\x01",
	"key: \"\\uD800\"",
	"a: !!float .inf\nb: !!float 1\nc: !!null ~\nd: !!bool yes\n",
};

VC_TEST(fuzz_replay)
{
	memset(&fuzz_cdi_stats, 0, sizeof(fuzz_cdi_stats));
	fuzz_tree(cdi_test_fixtures());
	for (size_t i = 0; i < VC_ARRAY_SIZE(hostile); i++)
		LLVMFuzzerTestOneInput((const uint8_t *)hostile[i], strlen(hostile[i]));
	/* Every byte of one valid spec cut off, and every byte flipped. */
	_cleanup_free_ char *gpu = fixture("valid/gpu.yaml");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	CHECK(vc_read_file(gpu, 1 << 20, &buf, &len, NULL) == 0);
	for (size_t cut = 0; cut < len; cut += 7)
		LLVMFuzzerTestOneInput((const uint8_t *)buf, cut);
	for (size_t i = 0; i < len; i += 5) {
		char saved = buf[i];
		buf[i] = (char)(buf[i] ^ 0x20);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		buf[i] = saved;
	}
	CHECK(fuzz_assert_failures == 0);
	/* The interesting paths ran: valid specs applied, bad ones reported. */
	CHECK(fuzz_cdi_stats.valid >= 8);
	CHECK(fuzz_cdi_stats.applied >= 8);
	CHECK(fuzz_cdi_stats.apply_errors >= 1);
	CHECK(fuzz_cdi_stats.problems >= 20);
	CHECK(fuzz_cdi_stats.names_ok >= 1);
}

VC_TESTS(VC_T(registry_fixtures), VC_T(registry_priority_order), VC_T(registry_env_and_defaults),
	 VC_T(registry_odd_files), VC_T(registry_same_dir_twice), VC_T(validate_fixture_files),
	 VC_T(fixture_gpu_apply), VC_T(fuzz_replay))
