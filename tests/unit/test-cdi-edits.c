/* cdi/: requests (annotations and names), all or nothing, and every kind of edit
 * with pkg/cdi's semantics, checked on the exact JSON that comes out. */
#include <sys/sysmacros.h>

#include "tests/unit/test-cdi.h"

#define HEAD "cdiVersion: 1.1.0\nkind: vendor.com/gpu\n"

/* Writes each spec text (YAML) to a fresh directory DIR/sN.yaml, loads a registry
 * from it, applies devices to config_text and hands out the compact result. */
static int apply_specs(const char *dir, const char *const *specs, const char *config_text,
		       const char *const *devices, char **out, struct vc_cdi_result *res,
		       struct vc_error *err)
{
	_cleanup_free_ char *d = cdi_test_dir(dir);
	_cleanup_cdi_registry_ struct vc_cdi_registry *reg = NULL;
	_cleanup_json_ struct vc_json *config = NULL;
	for (size_t i = 0; specs[i]; i++) {
		char name[32];
		snprintf(name, sizeof(name), "s%zu.yaml", i);
		if (cdi_test_write(d, name, specs[i]) < 0)
			return -EIO;
	}
	const char *dirs[] = {d, NULL};
	int r = vc_cdi_registry_load(dirs, &reg, err);
	if (r < 0)
		return r;
	if ((r = vc_json_parse(config_text, strlen(config_text), "config", &config, err)) < 0)
		return r;
	r = vc_cdi_apply(reg, config, devices, res, err);
	if (r < 0) {
		/* Nothing was edited. */
		_cleanup_free_ char *after = NULL;
		vc_json_serialize(config, false, &after, NULL, NULL);
		*out = steal_ptr(after);
		return r;
	}
	return vc_json_serialize(config, false, out, NULL, err);
}

static int apply_one(const char *dir, const char *spec, const char *config_text, const char *device,
		     char **out)
{
	const char *specs[] = {spec, NULL};
	const char *devs[] = {device, NULL};
	struct vc_error err = {0};
	int r = apply_specs(dir, specs, config_text, devs, out, NULL, &err);
	if (r < 0)
		fprintf(stderr, "# apply: %s\n", err.msg);
	return r;
}

/* ---- env ---- */

VC_TEST(env_replace_and_append)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("env1",
			HEAD
			"containerEdits: {env: [SPEC=1, PATH=/spec]}\n"
			"devices: [{name: g, containerEdits: {env: [B=dev, NEW=1, NOVAL=x]}}]\n",
			"{\"process\":{\"env\":[\"PATH=/"
			"bin\",\"B=1\",\"B=2\",\"NOVAL\"],\"cwd\":\"/\"},"
			"\"x\":1}",
			"vendor.com/gpu=g", &out) == 0);
	/* PATH replaced in place; the last B replaced; "NOVAL" has the key NOVAL. */
	CHECK_STR(out, "{\"process\":{\"env\":[\"PATH=/spec\",\"B=1\",\"B=dev\",\"NOVAL=x\","
		       "\"SPEC=1\",\"NEW=1\"],\"cwd\":\"/\"},\"x\":1}");
}

VC_TEST(env_creates_process)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("env2",
			HEAD "devices: [{name: g, containerEdits: {env: [A=1, A=2, B=1]}}]\n",
			"{\"ociVersion\":\"1.2.0\"}", "vendor.com/gpu=g", &out) == 0);
	/* The second A replaces the first, as pkg/cdi's index of names does. */
	CHECK_STR(out, "{\"ociVersion\":\"1.2.0\",\"process\":{\"env\":[\"A=2\",\"B=1\"]}}");
}

/* Spec-wide edits come once, before the first device of that spec. */
VC_TEST(spec_edits_once_before_devices)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {
		HEAD "containerEdits: {env: [ORDER=spec]}\n"
		     "devices:\n"
		     "- {name: a, containerEdits: {env: [A=1, ORDER=a]}}\n"
		     "- {name: b, containerEdits: {env: [B=1]}}\n",
		"cdiVersion: 0.3.0\nkind: other.com/x\ncontainerEdits: {env: [OTHER=spec]}\n"
		"devices: [{name: o, containerEdits: {env: [O=1]}}]\n",
		NULL,
	};
	const char *devs[] = {"vendor.com/gpu=b", "other.com/x=o", "vendor.com/gpu=a", NULL};
	struct vc_error err = {0};
	CHECK(apply_specs("order", specs, "{}", devs, &out, NULL, &err) == 0);
	CHECK_STR(out, "{\"process\":{\"env\":[\"ORDER=a\",\"B=1\",\"OTHER=spec\",\"O=1\","
		       "\"A=1\"]}}");
}

/* ---- device nodes ---- */

VC_TEST(device_node_fully_specified)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("dn1",
			HEAD "devices: [{name: g, containerEdits: {deviceNodes: [{path: "
			     "/dev/vc-none, type: c, major: 195, minor: 3, fileMode: 0660, "
			     "permissions: rw, uid: 7, gid: 8}]}}]\n",
			"{\"linux\":{\"namespaces\":[]}}", "vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, "{\"linux\":{\"namespaces\":[],\"devices\":[{\"path\":\"/dev/vc-none\","
		       "\"type\":\"c\",\"major\":195,\"minor\":3,\"fileMode\":432,\"uid\":7,"
		       "\"gid\":8}],\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"c\","
		       "\"major\":195,\"minor\":3,\"access\":\"rw\"}]}}}");
}

/* Missing type, numbers and mode come from the host (lstat of hostPath, which
 * defaults to path). */
VC_TEST(device_node_from_host)
{
	struct stat st;
	CHECK(lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	_cleanup_free_ char *want = vc_strdup_printf(
		"{\"linux\":{\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":%u,"
		"\"minor\":%u,\"fileMode\":%u},{\"path\":\"/dev/"
		"mynull\",\"type\":\"c\",\"major\":%u,"
		"\"minor\":%u,\"fileMode\":%u}],\"resources\":{\"devices\":[{\"allow\":true,"
		"\"type\":\"c\",\"major\":%u,\"minor\":%u,\"access\":\"rwm\"},{\"allow\":true,"
		"\"type\":\"c\",\"major\":%u,\"minor\":%u}]}}}",
		major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777, major(st.st_rdev),
		minor(st.st_rdev), st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev),
		major(st.st_rdev), minor(st.st_rdev));
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("dn2",
			HEAD
			"devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/null}, "
			"{path: /dev/mynull, hostPath: /dev/null, permissions: none}]}}]\n",
			"{}", "vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, want);
}

VC_TEST(device_node_host_errors)
{
	_cleanup_free_ char *out = NULL;
	const char *cfg = "{\"keep\":true}";
	/* Not fully specified and not on the host. */
	const char *specs[] = {
		HEAD "devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/vc-missing, "
		     "type: c}]}}]\n",
		NULL};
	const char *devs[] = {"vendor.com/gpu=g", NULL};
	struct vc_error err = {0};
	CHECK(apply_specs("dn3", specs, cfg, devs, &out, NULL, &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "CDI device vendor.com/gpu=g: host device /dev/vc-missing: No such "
				"file or directory");
	CHECK_STR(out, cfg);
	/* The spec says block, the host has a char device. */
	free(out);
	out = NULL;
	const char *specs2[] = {
		HEAD "devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/null, type: "
		     "b}]}}]\n",
		NULL};
	CHECK(apply_specs("dn4", specs2, cfg, devs, &out, NULL, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "/dev/null is type b in the spec but c on the host");
	CHECK_STR(out, cfg);
	/* A regular file is no device node. */
	free(out);
	out = NULL;
	_cleanup_free_ char *d = cdi_test_dir("regular");
	CHECK(cdi_test_write(d, "file", "x") == 0);
	_cleanup_free_ char *spec3 = vc_strdup_printf(
		HEAD "devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/x, hostPath: "
		     "%s/file}]}}]\n",
		d);
	_cleanup_free_ char *want = vc_strdup_printf("host device %s/file: not a device node", d);
	const char *specs3[] = {spec3, NULL};
	CHECK(apply_specs("dn5", specs3, cfg, devs, &out, NULL, &err) == -ENODEV);
	CHECK_CONTAINS(err.msg, want);
}

VC_TEST(device_node_fifo)
{
	_cleanup_free_ char *d = cdi_test_dir("fifo");
	_cleanup_free_ char *fifo = vc_strdup_printf("%s/pipe", d);
	CHECK(mkfifo(fifo, 0640) == 0);
	_cleanup_free_ char *spec = vc_strdup_printf(
		HEAD "devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/pipe, "
		     "hostPath: %s}]}}]\n",
		fifo);
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("dn6", spec, "{}", "vendor.com/gpu=g", &out) == 0);
	/* No cgroup rule for a FIFO, and no numbers. */
	CHECK_STR(out, "{\"linux\":{\"devices\":[{\"path\":\"/dev/pipe\",\"type\":\"p\",\"major\":"
		       "0,\"minor\":0,\"fileMode\":416}]}}");
}

/* linux.devices: an entry with the same path is replaced (removed, then the
 * device appended); a second one of that path would be replaced in place. */
VC_TEST(device_node_replaces_by_path)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("dn7",
			HEAD
			"devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/a, type: "
			"u, major: 1, minor: 2}, {path: /dev/b, type: b, major: 8, minor: 0, "
			"permissions: r}]}}]\n",
			"{\"linux\":{\"devices\":[{\"path\":\"/dev/a\",\"old\":1},{\"path\":\"/dev/"
			"z\"},"
			"{\"path\":\"/dev/b\",\"old\":1},{\"path\":\"/dev/b\",\"old\":2}],"
			"\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}}}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out,
		  "{\"linux\":{\"devices\":[{\"path\":\"/dev/z\"},{\"path\":\"/dev/b\","
		  "\"type\":\"b\",\"major\":8,\"minor\":0},{\"path\":\"/dev/a\",\"type\":\"u\","
		  "\"major\":1,\"minor\":2}],\"resources\":{\"devices\":[{\"allow\":false,"
		  "\"access\":\"rwm\"},{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":0,"
		  "\"access\":\"r\"}]}}}");
}

/* Without their own uid/gid, nodes get the process's when above 0. */
VC_TEST(device_node_owner_from_process)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("dn8",
			HEAD
			"devices: [{name: g, containerEdits: {deviceNodes: [{path: /dev/a, type: "
			"c, major: 1, minor: 2}, {path: /dev/b, type: c, major: 1, minor: 3, "
			"uid: 0}]}}]\n",
			"{\"process\":{\"user\":{\"uid\":1000,\"gid\":0}}}", "vendor.com/gpu=g",
			&out) == 0);
	CHECK_CONTAINS(out,
		       "{\"path\":\"/dev/a\",\"type\":\"c\",\"major\":1,\"minor\":2,\"uid\":1000}");
	CHECK_CONTAINS(out,
		       "{\"path\":\"/dev/b\",\"type\":\"c\",\"major\":1,\"minor\":3,\"uid\":0}");
}

/* ---- net devices ---- */

VC_TEST(net_devices)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("net",
			HEAD
			"devices: [{name: g, containerEdits: {netDevices: [{hostInterfaceName: "
			"enp1, name: eth1}, {hostInterfaceName: enp2, name: eth2}]}}]\n",
			"{\"linux\":{\"netDevices\":{\"enp2\":{\"name\":\"old\"},\"lo9\":{}}}}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, "{\"linux\":{\"netDevices\":{\"enp2\":{\"name\":\"eth2\"},\"lo9\":{},"
		       "\"enp1\":{\"name\":\"eth1\"}}}}");
}

/* ---- mounts ---- */

VC_TEST(mounts_replace_and_sort)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("m1",
			HEAD "devices: [{name: g, containerEdits: {mounts: ["
			     "{hostPath: /h/lib, containerPath: /usr/lib/x, options: [ro, bind]}, "
			     "{hostPath: /h/run, containerPath: /run, type: tmpfs}, "
			     "{hostPath: /h/new, containerPath: /data}]}}]\n",
			"{\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},"
			"{\"destination\":\"/a/b/c/d\"},{\"destination\":\"/data\",\"source\":\"/"
			"old\"},"
			"{\"destination\":\"/x/../y\"},{\"source\":\"nodest\"}]}",
			"vendor.com/gpu=g", &out) == 0);
	/* Depth: "" 0, /proc 1, /y 1, /run 1, /data 1, /usr/lib/x 3, /a/b/c/d 4. */
	CHECK_STR(out,
		  "{\"mounts\":[{\"source\":\"nodest\"},{\"destination\":\"/proc\",\"type\":"
		  "\"proc\"},{\"destination\":\"/x/../y\"},{\"destination\":\"/run\","
		  "\"type\":\"tmpfs\",\"source\":\"/h/run\"},{\"destination\":\"/data\","
		  "\"source\":\"/h/new\"},{\"destination\":\"/usr/lib/x\",\"source\":"
		  "\"/h/lib\",\"options\":[\"ro\",\"bind\"]},{\"destination\":\"/a/b/c/d\"}]}");
}

VC_TEST(mounts_idmap_in_user_namespace)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("m2",
			HEAD "devices: [{name: g, containerEdits: {mounts: ["
			     "{hostPath: /a, containerPath: /a, options: [rbind]}, "
			     "{hostPath: /b, containerPath: /b, type: bind}, "
			     "{hostPath: /c, containerPath: /c, options: [bind, idmap]}, "
			     "{hostPath: /d, containerPath: /d, type: tmpfs}]}}]\n",
			"{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"user\"}]}}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_CONTAINS(out, "{\"destination\":\"/a\",\"source\":\"/a\",\"options\":[\"rbind\","
			    "\"ridmap\"]}");
	CHECK_CONTAINS(out, "{\"destination\":\"/b\",\"type\":\"bind\",\"source\":\"/b\","
			    "\"options\":[\"idmap\"]}");
	CHECK_CONTAINS(out, "{\"destination\":\"/c\",\"source\":\"/c\",\"options\":[\"bind\","
			    "\"idmap\"]}");
	CHECK_CONTAINS(out, "{\"destination\":\"/d\",\"type\":\"tmpfs\",\"source\":\"/d\"}");
}

VC_TEST(path_depth)
{
	static const struct {
		const char *p;
		size_t depth;
	} t[] = {
		{"", 0},	{".", 0},	{"/", 1},	  {"//", 1},	  {"/a", 1},
		{"/a/", 1},	{"/a/b", 2},	{"/a//b/./c", 3}, {"/a/../b", 1}, {"/../a", 1},
		{"a", 0},	{"a/b", 1},	{"../a", 1},	  {"../../a", 2}, {"a/..", 0},
		{"/a/b/..", 1}, {"./a/./b", 1},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		if (cdi_path_depth(t[i].p) != t[i].depth)
			fprintf(stderr, "# depth of \"%s\": %zu\n", t[i].p, cdi_path_depth(t[i].p));
		CHECK(cdi_path_depth(t[i].p) == t[i].depth);
	}
}

/* ---- hooks, intelRdt, additional GIDs ---- */

VC_TEST(hooks_appended)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("h",
			HEAD
			"containerEdits: {hooks: [{hookName: prestart, path: /p}]}\n"
			"devices: [{name: g, containerEdits: {hooks: ["
			"{hookName: createRuntime, path: /c, args: [c, -v], env: [E=1], timeout: "
			"5}, {hookName: poststop, path: /s, args: []}]}}]\n",
			"{\"hooks\":{\"createRuntime\":[{\"path\":\"/first\"}]}}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, "{\"hooks\":{\"createRuntime\":[{\"path\":\"/first\"},{\"path\":\"/c\","
		       "\"args\":[\"c\",\"-v\"],\"env\":[\"E=1\"],\"timeout\":5}],\"prestart\":[{"
		       "\"path\":\"/p\"}],\"poststop\":[{\"path\":\"/s\"}]}}");
}

VC_TEST(intel_rdt_last_wins)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {
		HEAD
		"devices:\n"
		"- {name: a, containerEdits: {intelRdt: {closID: a, l3CacheSchema: 'L3:0=1'}}}\n"
		"- {name: b, containerEdits: {intelRdt: {closID: b, memBwSchema: 'MB:0=20', "
		"schemata: ['L2:0=3'], enableMonitoring: true}}}\n"
		"- {name: c, containerEdits: {intelRdt: {}}}\n",
		NULL,
	};
	const char *ab[] = {"vendor.com/gpu=a", "vendor.com/gpu=b", NULL};
	struct vc_error err = {0};
	CHECK(apply_specs("rdt", specs, "{\"linux\":{\"intelRdt\":{\"closID\":\"old\"}}}", ab, &out,
			  NULL, &err) == 0);
	CHECK_STR(out, "{\"linux\":{\"intelRdt\":{\"closID\":\"b\",\"memBwSchema\":\"MB:0=20\","
		       "\"schemata\":[\"L2:0=3\"],\"enableMonitoring\":true}}}");
	free(out);
	out = NULL;
	const char *c[] = {"vendor.com/gpu=c", NULL};
	CHECK(apply_specs("rdt2", specs, "{}", c, &out, NULL, &err) == 0);
	CHECK_STR(out, "{\"linux\":{\"intelRdt\":{}}}");
}

VC_TEST(additional_gids)
{
	_cleanup_free_ char *out = NULL;
	CHECK(apply_one("gids",
			HEAD "containerEdits: {additionalGids: [0, 5]}\n"
			     "devices: [{name: g, containerEdits: {additionalGids: [44, 5, 0, 44, "
			     "4294967295]}}]\n",
			"{\"process\":{\"user\":{\"uid\":0,\"additionalGids\":[44]}}}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, "{\"process\":{\"user\":{\"uid\":0,\"additionalGids\":[44,5,4294967295]}}}");
	/* Only zeros: nothing is created. */
	free(out);
	out = NULL;
	CHECK(apply_one("gids0",
			HEAD "devices: [{name: g, containerEdits: {additionalGids: [0]}}]\n", "{}",
			"vendor.com/gpu=g", &out) == 0);
	CHECK_STR(out, "{}");
}

/* ---- requests ---- */

VC_TEST(annotation_names)
{
	static const struct {
		const char *config, *names, *error;
	} t[] = {
		{"{}", "", NULL},
		{"{\"annotations\":{}}", "", NULL},
		{"{\"annotations\":{\"other\":\"a/b=c\"}}", "", NULL},
		{"{\"annotations\":{\"cdi.k8s.io/z\":\"v.com/c=2\",\"cdi.k8s.io/a\":\"v.com/"
		 "c=1,v.com/"
		 "c=0\"}}",
		 "v.com/c=1 v.com/c=0 v.com/c=2", NULL},
		{"{\"annotations\":{\"cdi.k8s.io/a\":\"v.com/c=1\",\"cdi.k8s.io/a\":\"v.com/"
		 "c=9\"}}",
		 "v.com/c=9", NULL},
		{"{\"annotations\":{\"cdi.k8s.io/x\":\"v.com/c=1,\"}}", NULL,
		 "annotations.cdi.k8s.io/x: invalid CDI device name: unqualified device \"\""},
		{"{\"annotations\":{\"cdi.k8s.io/x\":\"\"}}", NULL, "annotations.cdi.k8s.io/x"},
		{"{\"annotations\":{\"cdi.k8s.io/x\":\"gpu0\"}}", NULL,
		 "unqualified device \"gpu0\": want vendor/class=name"},
		{"{\"annotations\":{\"cdi.k8s.io/x\":\"v.com/c=a b\"}}", NULL,
		 "invalid character ' '"},
		{"{\"annotations\":{\"cdi.k8s.io/x\":5}}", NULL,
		 "annotations.cdi.k8s.io/x: expected a string"},
		{"{\"annotations\":[\"cdi.k8s.io/x\"]}", "", NULL},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		_cleanup_json_ struct vc_json *config = NULL;
		_cleanup_strv_ char **names = NULL;
		struct vc_error err = {0};
		CHECK(vc_json_parse(t[i].config, strlen(t[i].config), "c", &config, &err) == 0);
		int r = vc_cdi_annotation_devices(config, &names, &err);
		if (t[i].error) {
			CHECK(r == -EINVAL);
			CHECK_CONTAINS(err.msg, t[i].error);
			CHECK(names == NULL);
			continue;
		}
		CHECK(r == 0);
		char joined[256] = "";
		for (char **n = names; *n; n++)
			snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
				 n == names ? "" : " ", *n);
		CHECK_STR(joined, t[i].names);
	}
}

/* Annotations first, then the named devices; each device once. */
VC_TEST(requests_annotations_and_names)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {
		HEAD "devices:\n- {name: a, containerEdits: {env: [A=1], hooks: [{hookName: "
		     "poststop, path: /a}]}}\n- {name: b, containerEdits: {env: [B=1]}}\n",
		NULL,
	};
	const char *devs[] = {"vendor.com/gpu=b", "vendor.com/gpu=a", "vendor.com/gpu=b", NULL};
	struct vc_error err = {0};
	struct vc_cdi_result res = {0};
	CHECK(apply_specs("req", specs,
			  "{\"annotations\":{\"cdi.k8s.io/y\":\"vendor.com/gpu=a\",\"x\":\"y\"}}",
			  devs, &out, &res, &err) == 0);
	CHECK_STR(out, "{\"annotations\":{\"cdi.k8s.io/y\":\"vendor.com/gpu=a\",\"x\":\"y\"},"
		       "\"process\":{\"env\":[\"A=1\",\"B=1\"]},\"hooks\":{\"poststop\":[{\"path\":"
		       "\"/a\"}]}}");
	CHECK(vc_strv_len(res.devices) == 2);
	CHECK_STR(res.devices[0], "vendor.com/gpu=a");
	CHECK_STR(res.devices[1], "vendor.com/gpu=b");
	vc_cdi_result_free(&res);
	CHECK(res.devices == NULL && res.nnodes == 0);
}

/* Unresolvable names fail the request, all of them listed, nothing edited. */
VC_TEST(requests_all_or_nothing)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {HEAD "devices: [{name: a, containerEdits: {env: [A=1]}}]\n", NULL};
	const char *devs[] = {"vendor.com/gpu=a", "vendor.com/gpu=zz", "gpu0", NULL};
	const char *cfg = "{\"annotations\":{\"cdi.k8s.io/k\":\"other.com/x=1\"},\"p\":[1]}";
	struct vc_error err = {0};
	CHECK(apply_specs("none", specs, cfg, devs, &out, NULL, &err) == -ENOENT);
	CHECK_STR(err.msg, "unresolvable CDI devices: other.com/x=1, vendor.com/gpu=zz, gpu0");
	CHECK_STR(out, cfg);

	/* A failure half way through the edits leaves the config as it was too. */
	free(out);
	out = NULL;
	const char *specs2[] = {
		HEAD "devices:\n- {name: a, containerEdits: {env: [A=1], mounts: [{hostPath: /a, "
		     "containerPath: /a}]}}\n"
		     "- {name: b, containerEdits: {deviceNodes: [{path: /dev/vc-nothing-here}]}}\n",
		NULL,
	};
	const char *ab[] = {"vendor.com/gpu=a", "vendor.com/gpu=b", NULL};
	struct vc_cdi_result res = {0};
	CHECK(apply_specs("half", specs2, "{\"process\":{\"env\":[]}}", ab, &out, &res, &err) ==
	      -ENOENT);
	CHECK_CONTAINS(err.msg, "CDI device vendor.com/gpu=b: host device /dev/vc-nothing-here");
	CHECK_STR(out, "{\"process\":{\"env\":[]}}");
	CHECK(res.devices == NULL && res.nodes == NULL);

	/* With problems in the specs, the message points at them. */
	free(out);
	out = NULL;
	const char *specs3[] = {"cdiVersion: 0.3.0\nkind: v/c\nbad: 1\n", NULL};
	const char *one[] = {"v/c=x", NULL};
	CHECK(apply_specs("hint", specs3, "{}", one, &out, NULL, &err) == -ENOENT);
	CHECK_STR(err.msg, "unresolvable CDI devices: v/c=x (the CDI specs have 1 problem: see "
			   "`vcrun cdi list`)");
}

VC_TEST(nothing_requested)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {HEAD "devices: [{name: a, containerEdits: {env: [A=1]}}]\n", NULL};
	struct vc_error err = {0};
	struct vc_cdi_result res = {0};
	CHECK(apply_specs("nothing", specs, "{\"a\":[1,2.50,\"x\"]}", NULL, &out, &res, &err) == 0);
	CHECK_STR(out, "{\"a\":[1,2.50,\"x\"]}");
	CHECK(res.devices && !res.devices[0] && res.nnodes == 0);
	vc_cdi_result_free(&res);
}

VC_TEST(result_nodes)
{
	_cleanup_free_ char *out = NULL;
	const char *specs[] = {
		HEAD
		"containerEdits: {deviceNodes: [{path: /dev/ctl, type: c, major: 10, minor: "
		"1}]}\n"
		"devices:\n- {name: a, containerEdits: {deviceNodes: [{path: /dev/vfio/7, type: "
		"c, major: 240, minor: 7}]}}\n- {name: b, containerEdits: {deviceNodes: [{path: "
		"/dev/b0, hostPath: /dev/hb0, type: b, major: 8, minor: 16}]}}\n",
		NULL,
	};
	const char *devs[] = {"vendor.com/gpu=b", "vendor.com/gpu=a", NULL};
	struct vc_error err = {0};
	struct vc_cdi_result res = {0};
	CHECK(apply_specs("res", specs, "{}", devs, &out, &res, &err) == 0);
	CHECK(res.nnodes == 3);
	/* The spec-wide node is put on the first device requested from that spec. */
	CHECK_STR(res.nodes[0].device, "vendor.com/gpu=b");
	CHECK_STR(res.nodes[0].path, "/dev/ctl");
	CHECK_STR(res.nodes[1].device, "vendor.com/gpu=b");
	CHECK_STR(res.nodes[1].path, "/dev/b0");
	CHECK_STR(res.nodes[1].host_path, "/dev/hb0");
	CHECK_STR(res.nodes[1].type, "b");
	CHECK(res.nodes[1].major == 8 && res.nodes[1].minor == 16);
	CHECK_STR(res.nodes[2].device, "vendor.com/gpu=a");
	CHECK_STR(res.nodes[2].path, "/dev/vfio/7");
	CHECK_CONTAINS(res.nodes[2].spec_path, "/s0.yaml");
	vc_cdi_result_free(&res);
}

/* Only an object can be edited, and what an edit walks into must have the type it needs. */
VC_TEST(config_shapes)
{
	static const struct {
		const char *config, *spec_edits, *error;
	} t[] = {
		{"[]", "{env: [A=1]}", "config: expected a JSON object"},
		{"{\"process\":\"x\"}", "{env: [A=1]}",
		 "config process: expected an object, got a string"},
		{"{\"process\":{\"env\":{}}}", "{env: [A=1]}",
		 "config process.env: expected an array, got an object"},
		{"{\"linux\":[]}", "{netDevices: [{hostInterfaceName: a, name: b}]}",
		 "config linux: expected an object, got an array"},
		{"{\"mounts\":{}}", "{mounts: [{hostPath: /a, containerPath: /b}]}",
		 "config mounts: expected an array, got an object"},
		{"{\"hooks\":{\"poststop\":1}}", "{hooks: [{hookName: poststop, path: /x}]}",
		 "config hooks.poststop: expected an array, got a number"},
		{"{\"process\":{\"user\":{\"additionalGids\":\"x\"}}}", "{additionalGids: [1]}",
		 "config process.user.additionalGids: expected an array, got a string"},
		{"{\"process\":null}", "{env: [A=1]}", NULL},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		_cleanup_free_ char *spec = vc_strdup_printf(
			HEAD "devices: [{name: g, containerEdits: %s}]\n", t[i].spec_edits);
		_cleanup_free_ char *out = NULL;
		const char *specs[] = {spec, NULL};
		const char *devs[] = {"vendor.com/gpu=g", NULL};
		char dir[32];
		snprintf(dir, sizeof(dir), "shape%zu", i);
		struct vc_error err = {0};
		int r = apply_specs(dir, specs, t[i].config, devs, &out, NULL, &err);
		if (!t[i].error) {
			CHECK(r == 0);
			continue;
		}
		CHECK(r == -EINVAL);
		CHECK_STR(err.msg, t[i].error);
	}
}

VC_TESTS(VC_T(env_replace_and_append), VC_T(env_creates_process),
	 VC_T(spec_edits_once_before_devices), VC_T(device_node_fully_specified),
	 VC_T(device_node_from_host), VC_T(device_node_host_errors), VC_T(device_node_fifo),
	 VC_T(device_node_replaces_by_path), VC_T(device_node_owner_from_process),
	 VC_T(net_devices), VC_T(mounts_replace_and_sort), VC_T(mounts_idmap_in_user_namespace),
	 VC_T(path_depth), VC_T(hooks_appended), VC_T(intel_rdt_last_wins), VC_T(additional_gids),
	 VC_T(annotation_names), VC_T(requests_annotations_and_names),
	 VC_T(requests_all_or_nothing), VC_T(nothing_requested), VC_T(result_nodes),
	 VC_T(config_shapes))
