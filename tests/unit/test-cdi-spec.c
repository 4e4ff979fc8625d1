/* cdi/: qualified names, versions and the minimum version a spec needs, YAML and
 * JSON typing as pkg/cdi reads them, strict decoding (unknown fields, duplicate
 * keys, types) and every validation rule, each with the field it names. */
#include <math.h>

#include "cdi/scalar.h"
#include "tests/unit/test-cdi.h"

/* ---- names ---- */

static const struct {
	const char *name;
	const char *error; /* NULL: valid */
} names[] = {
	{"vendor.com/class=name", NULL},
	{"a/b=c", NULL},
	{"vendor.com/class=0", NULL},
	{"v/c=dev:with.colons_and-dashes", NULL},
	{"vendor.com/cl.ass_x-y=x", NULL},
	{"Vendor9/C=Z", NULL},
	{"vendor.com/class=", "want vendor/class=name"},
	{"=x", "want vendor/class=name"},
	{"vendor.com=x", "want vendor/class=name"},
	{"/vendor/class=x", "want vendor/class=name"},
	{"vendor/=x", "want vendor/class=name"},
	{"vendor/class", "want vendor/class=name"},
	{"", "want vendor/class=name"},
	{"1vendor/class=x", "invalid vendor \"1vendor\": must start with a letter"},
	{"vendor-/class=x", "invalid vendor \"vendor-\": must end with a letter or digit"},
	{"ven@dor/class=x", "invalid vendor \"ven@dor\": invalid character '@'"},
	{"vendor/1class=x", "invalid class \"1class\": must start with a letter"},
	{"vendor/cl@ss=x", "invalid class \"cl@ss\": invalid character '@'"},
	{"vendor/class/extra=x", "invalid class \"class/extra\": invalid character '/'"},
	{"vendor/class=-x", "must start with a letter or digit"},
	{"vendor/class=x-", "must end with a letter or digit"},
	{"vendor/class=a b", "invalid character ' '"},
	{"vendor/class=a=b", "invalid character '='"},
	{"vendor/class=a/b", "invalid character '/'"},
	{"vendor/class=é", "must start with a letter or digit"},
};

VC_TEST(qualified_names)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(names); i++) {
		struct vc_error err = {0};
		int r = vc_cdi_parse_qualified_name(names[i].name, &err);
		if (!names[i].error) {
			if (r != 0)
				fprintf(stderr, "# %s: %s\n", names[i].name, err.msg);
			CHECK(r == 0);
		} else {
			CHECK(r == -EINVAL);
			CHECK_CONTAINS(err.msg, names[i].error);
			CHECK_CONTAINS(err.msg, names[i].name);
		}
	}
}

VC_TEST(name_parts)
{
	struct vc_error err = {0};
	CHECK(vc_cdi_validate_vendor("a", &err) == 0);
	CHECK(vc_cdi_validate_vendor("a.b-c_d9", &err) == 0);
	CHECK(vc_cdi_validate_vendor("", &err) < 0);
	CHECK_CONTAINS(err.msg, "invalid vendor: empty");
	CHECK(vc_cdi_validate_class("9", &err) < 0);
	CHECK(vc_cdi_validate_device_name("9", &err) == 0);
	CHECK(vc_cdi_validate_device_name("a:b", &err) == 0);
	CHECK(vc_cdi_validate_device_name(":", &err) < 0);
	CHECK(vc_cdi_validate_device_name("", &err) < 0);
	CHECK_CONTAINS(err.msg, "empty");
}

/* ---- versions ---- */

VC_TEST(known_versions)
{
	static const struct {
		const char *v;
		int index;
	} t[] = {
		{"0.3.0", 0},  {"v0.3.0", 0},	{"0.4.0", 1},	{"0.5.0", 2},  {"0.6.0", 3},
		{"0.7.0", 4},  {"0.8.0", 5},	{"1.0.0", 6},	{"1.1.0", 7},  {"v1.1.0", 7},
		{"0.2.0", -1}, {"0.1.0", -1},	{"1.2.0", -1},	{"1.1", -1},   {"V1.1.0", -1},
		{"", -1},      {"vv1.1.0", -1}, {"1.1.0 ", -1}, {"0.9.0", -1},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		if (cdi_version_index(t[i].v) != t[i].index)
			fprintf(stderr, "# version %s\n", t[i].v);
		CHECK(cdi_version_index(t[i].v) == t[i].index);
	}
	CHECK(cdi_version_index(NULL) == -1);
	CHECK_STR(cdi_version_name(0), "0.3.0");
	CHECK_STR(cdi_version_name(7), VC_CDI_SPEC_VERSION);
	CHECK(cdi_version_name(8) == NULL);
}

#define DEV(edits) "devices: [{name: d, containerEdits: " edits "}]\n"

static const struct {
	const char *body; /* after cdiVersion */
	const char *min, *why, *previous;
} minimum[] = {
	{"kind: v.com/c\n" DEV("{env: [A=1]}"), "0.3.0", "nothing newer", NULL},
	{"kind: v.com/c\nannotations: {}\n" DEV("{env: [A=1], additionalGids: []}"), "0.3.0",
	 "nothing newer", NULL},
	{"kind: v.com/c\n" DEV("{mounts: [{hostPath: /a, containerPath: /b, type: bind}]}"),
	 "0.4.0", "devices[0].containerEdits.mounts[0].type", "0.3.0"},
	{"kind: v.com/c\ncontainerEdits: {mounts: [{hostPath: /a, containerPath: /b, type: "
	 "x}]}\n" DEV("{env: [A=1]}"),
	 "0.4.0", "containerEdits.mounts[0].type", "0.3.0"},
	{"kind: v.com/c\n" DEV("{deviceNodes: [{path: /dev/a, hostPath: /dev/b}]}"), "0.5.0",
	 "devices[0].containerEdits.deviceNodes[0].hostPath", "0.4.0"},
	{"kind: v.com/c\ndevices: [{name: \"0\", containerEdits: {env: [A=1]}}]\n", "0.5.0",
	 "devices[0].name (starts with a digit)", "0.4.0"},
	{"kind: v.com/c\nannotations: {a: b}\n" DEV("{env: [A=1]}"), "0.6.0", "annotations",
	 "0.5.0"},
	{"kind: v.com/c\ndevices: [{name: d, annotations: {a: b}, containerEdits: {env: [A=1]}}]\n",
	 "0.6.0", "devices[0].annotations", "v0.5.0"},
	{"kind: v.com/c.d\n" DEV("{env: [A=1]}"), "0.6.0", "kind (a dot in the class)", "0.5.0"},
	{"kind: v.com/c\n" DEV("{intelRdt: {}}"), "0.7.0", "devices[0].containerEdits.intelRdt",
	 "0.6.0"},
	{"kind: v.com/c\ncontainerEdits: {additionalGids: [5]}\n" DEV("{env: [A=1]}"), "0.7.0",
	 "containerEdits.additionalGids", "0.6.0"},
	{"kind: v.com/c\n" DEV("{intelRdt: {schemata: []}}"), "1.1.0",
	 "devices[0].containerEdits.intelRdt.schemata", "1.0.0"},
	{"kind: v.com/c\n" DEV("{intelRdt: {enableMonitoring: true}}"), "1.1.0",
	 "intelRdt.enableMonitoring", "0.8.0"},
	{"kind: v.com/c\n" DEV("{netDevices: [{hostInterfaceName: a, name: b}]}"), "1.1.0",
	 "devices[0].containerEdits.netDevices", "1.0.0"},
	/* The newest feature decides, whatever else is there. */
	{"kind: v.com/c.d\nannotations: {a: b}\n" DEV(
		 "{netDevices: [{hostInterfaceName: a, name: b}], mounts: [{hostPath: /a, "
		 "containerPath: /b, type: x}]}"),
	 "1.1.0", "netDevices", "0.7.0"},
};

VC_TEST(minimum_versions)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(minimum); i++) {
		_cleanup_free_ char *text =
			vc_strdup_printf("cdiVersion: 1.1.0\n%s", minimum[i].body);
		_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
		_cleanup_strv_ char **problems = NULL;
		int r = cdi_test_parse(text, CDI_FORMAT_YAML, &s, &problems);
		cdi_test_dump(problems);
		CHECK(r == 0);
		char why[CDI_PATH_MAX];
		CHECK_STR(cdi_spec_minimum_version(s, why, sizeof(why)), minimum[i].min);
		CHECK_CONTAINS(why, minimum[i].why);
		if (!minimum[i].previous)
			continue;
		/* One version older is refused, naming the field that needs more. */
		_cleanup_free_ char *old = vc_strdup_printf("cdiVersion: %s\n%s",
							    minimum[i].previous, minimum[i].body);
		_cleanup_cdi_spec_ struct cdi_spec *s2 = NULL;
		_cleanup_strv_ char **p2 = NULL;
		CHECK(cdi_test_parse(old, CDI_FORMAT_YAML, &s2, &p2) == -EINVAL);
		CHECK(!s2 && vc_strv_len(p2) == 1);
		CHECK_CONTAINS(p2[0], "t.yaml: cdiVersion: ");
		CHECK_CONTAINS(p2[0], minimum[i].why);
		CHECK_CONTAINS(p2[0], minimum[i].min);
		/* and the minimum itself is accepted */
		_cleanup_free_ char *exact =
			vc_strdup_printf("cdiVersion: %s\n%s", minimum[i].min, minimum[i].body);
		_cleanup_cdi_spec_ struct cdi_spec *s3 = NULL;
		_cleanup_strv_ char **p3 = NULL;
		CHECK(cdi_test_parse(exact, CDI_FORMAT_YAML, &s3, &p3) == 0);
	}
}

/* ---- scalars as pkg/cdi reads them ---- */

VC_TEST(go_float_format)
{
	static const struct {
		double d;
		const char *text;
	} t[] = {
		{1, "1"},
		{1.5, "1.5"},
		{0.1, "0.1"},
		{100000, "100000"},
		{1e6, "1e+06"},
		{123456789, "1.2345679e+08"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{-2.5, "-2.5"},
		{3.14159, "3.14159"},
		{1e21, "1e+21"},
		{0, "0"},
		{-0.0, "-0"},
		{INFINITY, "+Inf"},
		{-INFINITY, "-Inf"},
		{NAN, "NaN"},
		{1e39, "+Inf"}, /* beyond float32 */
		{16777217, "1.6777216e+07"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		char buf[64];
		cdi_format_go_float32(t[i].d, buf, sizeof(buf));
		CHECK_STR(buf, t[i].text);
	}
}

VC_TEST(yaml_plain_scalars)
{
	static const struct {
		const char *in;
		enum cdi_scalar_type type;
		long long i;
	} t[] = {
		{"", CDI_SCALAR_NULL, 0},
		{"~", CDI_SCALAR_NULL, 0},
		{"null", CDI_SCALAR_NULL, 0},
		{"NULL", CDI_SCALAR_NULL, 0},
		{"nULL", CDI_SCALAR_STRING, 0},
		{"y", CDI_SCALAR_BOOL, 1},
		{"Yes", CDI_SCALAR_BOOL, 1},
		{"on", CDI_SCALAR_BOOL, 1},
		{"OFF", CDI_SCALAR_BOOL, 0},
		{"n", CDI_SCALAR_BOOL, 0},
		{"false", CDI_SCALAR_BOOL, 0},
		{"0", CDI_SCALAR_INT, 0},
		{"-17", CDI_SCALAR_INT, -17},
		{"+17", CDI_SCALAR_INT, 17},
		{"0x1f", CDI_SCALAR_INT, 31},
		{"-0x10", CDI_SCALAR_INT, -16},
		{"0o17", CDI_SCALAR_INT, 15},
		{"017", CDI_SCALAR_INT, 15},
		{"0b101", CDI_SCALAR_INT, 5},
		{"1_000", CDI_SCALAR_INT, 1000},
		{"08", CDI_SCALAR_FLOAT, 8},
		{"1.5", CDI_SCALAR_FLOAT, 0},
		{".5", CDI_SCALAR_FLOAT, 0},
		{"1e3", CDI_SCALAR_FLOAT, 0},
		{".inf", CDI_SCALAR_FLOAT, 0},
		{"-.Inf", CDI_SCALAR_FLOAT, 0},
		{".NaN", CDI_SCALAR_FLOAT, 0},
		{"1.2.3", CDI_SCALAR_STRING, 0},
		{"0x", CDI_SCALAR_STRING, 0},
		{"-", CDI_SCALAR_STRING, 0},
		{"abc", CDI_SCALAR_STRING, 0},
		{"2001-12-14", CDI_SCALAR_STRING, 0},
		{"18446744073709551615", CDI_SCALAR_UINT, 0},
		{"18446744073709551616", CDI_SCALAR_FLOAT, 0},
		{"-9223372036854775808", CDI_SCALAR_INT, INT64_MIN},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		struct cdi_scalar s;
		CHECK(cdi_scalar_resolve(t[i].in, &s) == 0);
		if (s.type != t[i].type)
			fprintf(stderr, "# scalar \"%s\": type %d\n", t[i].in, s.type);
		CHECK(s.type == t[i].type);
		if (t[i].type == CDI_SCALAR_INT)
			CHECK(s.i == t[i].i);
		if (t[i].type == CDI_SCALAR_BOOL)
			CHECK(s.b == (t[i].i != 0));
		if (!strcmp(t[i].in, "08"))
			CHECK(s.f == 8);
	}
}

/* What a device name written some way becomes (pkg/cdi coerces to strings). */
VC_TEST(yaml_names_become_strings)
{
	static const struct {
		const char *written, *name;
	} t[] = {
		{"0", "0"},	      {"0x10", "16"},
		{"010", "8"},	      {"1_000", "1000"},
		{"y", "true"},	      {"off", "false"},
		{"1.5", "1.5"},	      {"1e3", "1000"},
		{"\"0x10\"", "0x10"}, {"!!str 0x10", "0x10"},
		{"'y'", "y"},	      {".5", "0.5"},
		{"1.0", "1"},	      {"123456789", "123456789"},
		{"0.1", "0.1"},	      {"! 12", "12"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(t); i++) {
		_cleanup_free_ char *text = vc_strdup_printf(
			"cdiVersion: 0.5.0\nkind: v.com/c\ndevices:\n- name: %s\n  containerEdits: "
			"{env: [A=1]}\n",
			t[i].written);
		_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
		_cleanup_strv_ char **problems = NULL;
		int r = cdi_test_parse(text, CDI_FORMAT_YAML, &s, &problems);
		cdi_test_dump(problems);
		CHECK(r == 0);
		CHECK_STR(s->devices[0].name, t[i].name);
		_cleanup_free_ char *q = vc_strdup_printf("v.com/c=%s", t[i].name);
		CHECK_STR(s->devices[0].qualified, q);
	}
}

VC_TEST(json_numbers_become_strings)
{
	/* JSON goes through the same reading in pkg/cdi. */
	const char *text = "{\"cdiVersion\":\"0.6.0\",\"kind\":\"v.com/c\","
			   "\"annotations\":{\"n\":1.50,\"b\":true},"
			   "\"devices\":[{\"name\":7,\"containerEdits\":{\"env\":[\"A=1\"],"
			   "\"mounts\":[{\"hostPath\":\"/a\",\"containerPath\":\"/b\","
			   "\"options\":[\"ro\",12]}]}}]}";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	int r = cdi_test_parse(text, CDI_FORMAT_JSON, &s, &problems);
	cdi_test_dump(problems);
	CHECK(r == 0);
	CHECK_STR(s->devices[0].name, "7");
	CHECK_STR(vc_json_str(vc_json_get(vc_json_get(s->doc, "annotations"), "n")), "1.5");
	CHECK_STR(vc_json_str(vc_json_get(vc_json_get(s->doc, "annotations"), "b")), "true");
	CHECK_STR(vc_json_str(s->devices[0].edits.mounts[0].options->u.array.items[1]), "12");
}

/* ---- strict decoding ---- */

static const struct {
	enum cdi_format fmt;
	const char *text;
	const char *problem; /* a substring of one problem */
} strict[] = {
	/* unknown fields, at every level, with exact case */
	{CDI_FORMAT_JSON, "{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/b\",\"devices\":[],\"extra\":1}",
	 "t.json: unknown field \"extra\""},
	{CDI_FORMAT_JSON, "{\"CDIVersion\":\"0.3.0\"}", "t.json: unknown field \"CDIVersion\""},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\nkind: a/b\ndevices: [{name: x, containerEdits: {env: [A=1], envs: "
	 "[B=1]}}]\n",
	 "t.yaml: devices[0].containerEdits: unknown field \"envs\""},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\nkind: a/b\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: "
	 "/d, "
	 "mode: 1}]}}]\n",
	 "devices[0].containerEdits.deviceNodes[0]: unknown field \"mode\""},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 1.1.0\nkind: a/b\ndevices: [{name: x, containerEdits: {intelRdt: {enableCMT: "
	 "true}}}]\n",
	 "intelRdt: unknown field \"enableCMT\""},
	{CDI_FORMAT_YAML, "cdiVersion: 0.3.0\n<<: {kind: a/b}\n", "unknown field \"<<\""},
	/* duplicate keys, in both formats, in objects and in maps */
	{CDI_FORMAT_JSON, "{\"cdiVersion\":\"0.3.0\",\"cdiVersion\":\"0.3.0\"}",
	 "t.json: duplicate key \"cdiVersion\""},
	{CDI_FORMAT_JSON,
	 "{\"cdiVersion\":\"0.6.0\",\"kind\":\"a/b\",\"annotations\":{\"k\":\"1\",\"k\":\"2\"},"
	 "\"devices\":[]}",
	 "t.json: annotations: duplicate key \"k\""},
	{CDI_FORMAT_YAML, "cdiVersion: 0.3.0\nkind: a/b\nkind: a/c\n",
	 "t.yaml: duplicate key \"kind\""},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\nkind: a/b\ndevices: [{name: x, name: y, containerEdits: {env: "
	 "[A=1]}}]\n",
	 "devices[0]: duplicate key \"name\""},
	{CDI_FORMAT_YAML, "cdiVersion: 0.6.0\nannotations: {1: a, 0x1: b}\n",
	 "annotations: duplicate key \"1\""},
	/* types */
	{CDI_FORMAT_JSON, "{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/b\",\"devices\":{}}",
	 "t.json: devices: expected an array, got an object"},
	{CDI_FORMAT_JSON, "{\"cdiVersion\":[\"0.3.0\"]}",
	 "cdiVersion: expected a string, got an array"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\nkind: a/b\ndevices: [{name: x, containerEdits: {env: A=1}}]\n",
	 "devices[0].containerEdits.env: expected an array of strings, got a string"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\nkind: a/b\ndevices: [{name: x, containerEdits: {env: [{A: 1}]}}]\n",
	 "devices[0].containerEdits.env[0]: expected a string, got an object"},
	{CDI_FORMAT_YAML, "cdiVersion: 0.6.0\nannotations: {a: [b]}\n",
	 "annotations.a: expected a string, got an array"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: /d, major: "
	 "\"10\"}]}}]\n",
	 "deviceNodes[0].major: expected an integer, got a string"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: /d, major: "
	 "1.5}]}}]\n",
	 "deviceNodes[0].major: expected an integer, got 1.5"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: /d, "
	 "fileMode: -1}]}}]\n",
	 "deviceNodes[0].fileMode: -1 out of range for uint32"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.3.0\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: /d, uid: "
	 "4294967296}]}}]\n",
	 "deviceNodes[0].uid: 4294967296 out of range for uint32"},
	{CDI_FORMAT_JSON,
	 "{\"devices\":[{\"name\":\"x\",\"containerEdits\":{\"hooks\":[{\"hookName\":\"poststop\","
	 "\"path\":\"/x\",\"timeout\":9223372036854775808}]}}]}",
	 "hooks[0].timeout: 9223372036854775808 out of range for int64"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 0.7.0\ndevices: [{name: x, containerEdits: {additionalGids: [1, -2]}}]\n",
	 "additionalGids[1]: -2 out of range for uint32"},
	{CDI_FORMAT_YAML,
	 "cdiVersion: 1.1.0\ndevices: [{name: x, containerEdits: {intelRdt: {enableMonitoring: "
	 "\"yes\"}}}]\n",
	 "intelRdt.enableMonitoring: expected a boolean, got a string"},
	{CDI_FORMAT_YAML, "cdiVersion: 0.3.0\ndevices: [{name: x, containerEdits: [env]}]\n",
	 "devices[0].containerEdits: expected an object, got an array"},
	{CDI_FORMAT_YAML, "cdiVersion: 0.3.0\ndevices: [null]\n",
	 "devices[0]: expected an object, got null"},
	{CDI_FORMAT_JSON, "{\"kind\":\"a/b\\u0000c\"}", "kind: contains a NUL byte"},
	{CDI_FORMAT_YAML, "kind: \"a/b\\0c\"\n", "kind: contains a NUL byte"},
	/* documents */
	{CDI_FORMAT_JSON, "null", "t.json: no spec data"},
	{CDI_FORMAT_YAML, "---\n", "t.yaml: no spec data"},
	{CDI_FORMAT_YAML, "", "t.yaml: empty document"},
	{CDI_FORMAT_JSON, "", "t.json: parse error at byte 0"},
	{CDI_FORMAT_JSON, "[]", "t.json: expected an object, got an array"},
	{CDI_FORMAT_YAML, "just a string", "t.yaml: expected an object, got a string"},
	{CDI_FORMAT_JSON, "{\"kind\": \"a/b\",}", "t.json: parse error at byte"},
	{CDI_FORMAT_YAML, "kind: [a\n", "t.yaml: line 2, column 1:"},
	{CDI_FORMAT_YAML, "a: 1\n---\nb: 2\n",
	 "t.yaml: line 2, column 1: more than one YAML document"},
	{CDI_FORMAT_YAML, "a: *nope\n", "unknown anchor \"nope\""},
	{CDI_FORMAT_YAML, "a: &x [*x]\n", "unknown anchor \"x\""},
	{CDI_FORMAT_YAML, "a: !!binary aGk=\n", "unsupported tag tag:yaml.org,2002:binary"},
	{CDI_FORMAT_YAML, "a: !custom x\n", "unsupported tag !custom"},
	{CDI_FORMAT_YAML, "a: !!int x\n", "\"x\" is not a valid int"},
	{CDI_FORMAT_YAML, "a: !!set {x}\n", "unsupported tag tag:yaml.org,2002:set"},
	{CDI_FORMAT_YAML, "~: x\n", "null mapping key"},
	{CDI_FORMAT_YAML, "? [a]\n: x\n", "mapping keys must be scalars"},
	{CDI_FORMAT_YAML, "\"a\\0b\": x\n", "mapping key contains a NUL byte"},
	{CDI_FORMAT_YAML, "a: \"\\xff\"\n", "t.yaml:"},
};

VC_TEST(strict_decoding)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(strict); i++) {
		_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
		_cleanup_strv_ char **problems = NULL;
		int r = cdi_test_parse(strict[i].text, strict[i].fmt, &s, &problems);
		if (!cdi_test_has(problems, strict[i].problem)) {
			fprintf(stderr, "# input %zu: %s\n# want: %s\n# got:\n", i, strict[i].text,
				strict[i].problem);
			cdi_test_dump(problems);
		}
		CHECK(r == -EINVAL || (r < 0 && r != -ENOMEM));
		CHECK(s == NULL);
		CHECK(cdi_test_has(problems, strict[i].problem));
	}
}

/* Problems are all reported, not only the first. */
VC_TEST(decoding_reports_every_problem)
{
	const char *text = "cdiVersion: 0.3.0\nkind: a/b\nextra: 1\ndevices:\n"
			   "- name: x\n  other: 2\n  containerEdits: {env: 5, mounts: {}}\n";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	CHECK(cdi_test_parse(text, CDI_FORMAT_YAML, &s, &problems) == -EINVAL);
	CHECK(vc_strv_len(problems) == 4);
	CHECK(cdi_test_has(problems, "t.yaml: unknown field \"extra\""));
	CHECK(cdi_test_has(problems, "t.yaml: devices[0]: unknown field \"other\""));
	CHECK(cdi_test_has(problems, "devices[0].containerEdits.env: expected an array"));
	CHECK(cdi_test_has(problems, "devices[0].containerEdits.mounts: expected an array"));
}

VC_TEST(nulls_are_absent)
{
	/* As encoding/json: null leaves a field unset; inside a string list it is "". */
	const char *text =
		"{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/b\",\"annotations\":null,"
		"\"containerEdits\":null,\"devices\":[{\"name\":\"x\",\"containerEdits\":"
		"{\"env\":[\"A=1\"],\"intelRdt\":null,\"mounts\":[{\"hostPath\":\"/a\","
		"\"containerPath\":\"/b\",\"type\":null,\"options\":[null]}]}}]}";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	int r = cdi_test_parse(text, CDI_FORMAT_JSON, &s, &problems);
	cdi_test_dump(problems);
	CHECK(r == 0);
	CHECK(s->devices[0].edits.intel_rdt == NULL);
	CHECK(s->devices[0].edits.mounts[0].type == NULL);
	CHECK_STR(vc_json_str(s->devices[0].edits.mounts[0].options->u.array.items[0]), "");
	CHECK_STR(cdi_spec_minimum_version(s, NULL, 0), "0.3.0");

	_cleanup_cdi_spec_ struct cdi_spec *s2 = NULL;
	_cleanup_strv_ char **p2 = NULL;
	CHECK(cdi_test_parse("{\"cdiVersion\":\"0.3.0\",\"kind\":\"a/b\",\"devices\":[{\"name\":"
			     "\"x\",\"containerEdits\":{\"env\":[null]}}]}",
			     CDI_FORMAT_JSON, &s2, &p2) == -EINVAL);
	CHECK(cdi_test_has(p2,
			   "devices[0].containerEdits.env[0]: invalid environment variable \"\""));
}

VC_TEST(yaml_features)
{
	/* Anchors and aliases, flow and block style, comments, explicit tags. */
	const char *text = "# comment\n"
			   "cdiVersion: !!str 0.7.0\n"
			   "kind: 'v.com/c'\n"
			   "devices:\n"
			   "  - name: a\n"
			   "    containerEdits: &e\n"
			   "      env: [\"A=1\", B=2]\n"
			   "      additionalGids: [!!int 5, 0x10]\n"
			   "  - name: b\n"
			   "    containerEdits: *e\n"
			   "  - name: c\n"
			   "    containerEdits:\n"
			   "      deviceNodes:\n"
			   "        - path: /dev/c\n"
			   "          type: c\n"
			   "          major: 10\n"
			   "          fileMode: 0644\n"
			   "          permissions: >-\n"
			   "            rw\n";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	int r = cdi_test_parse(text, CDI_FORMAT_YAML, &s, &problems);
	cdi_test_dump(problems);
	CHECK(r == 0);
	CHECK(s->n_devices == 3);
	CHECK(s->devices[1].edits.n_additional_gids == 2);
	CHECK(s->devices[1].edits.additional_gids[1] == 16);
	CHECK_STR(vc_json_str(s->devices[1].edits.env->u.array.items[1]), "B=2");
	CHECK(s->devices[2].edits.device_nodes[0].file_mode == 0644);
	CHECK(s->devices[2].edits.device_nodes[0].has_file_mode);
	CHECK(!s->devices[2].edits.device_nodes[0].has_uid);
	CHECK_STR(s->devices[2].edits.device_nodes[0].permissions, "rw");
}

/* Hostile YAML ends in an error, quickly and without a crash. */
VC_TEST(yaml_limits)
{
	/* A billion laughs: each level doubles ten times. */
	_cleanup_free_ char *laughs = NULL;
	{
		char buf[4096];
		size_t o = (size_t)snprintf(buf, sizeof(buf),
					    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
		for (int i = 1; i < 10; i++)
			o += (size_t)snprintf(
				buf + o, sizeof(buf) - o,
				"a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
				"*a%d, *a%d, *a%d]\n",
				i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
				i - 1);
		laughs = strdup(buf);
	}
	CHECK(laughs);
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	CHECK(cdi_test_parse(laughs, CDI_FORMAT_YAML, &s, &problems) < 0);
	CHECK(cdi_test_has(problems, "document too large"));

	/* Deep nesting. */
	_cleanup_free_ char *deep = malloc(20001);
	CHECK(deep);
	memset(deep, '[', 20000);
	deep[20000] = '\0';
	_cleanup_strv_ char **p2 = NULL;
	_cleanup_cdi_spec_ struct cdi_spec *s2 = NULL;
	CHECK(cdi_test_parse(deep, CDI_FORMAT_YAML, &s2, &p2) < 0);
	CHECK(cdi_test_has(p2, "nesting deeper than"));
	_cleanup_strv_ char **p3 = NULL;
	_cleanup_cdi_spec_ struct cdi_spec *s3 = NULL;
	CHECK(cdi_test_parse(deep, CDI_FORMAT_JSON, &s3, &p3) < 0);
	CHECK(cdi_test_has(p3, "t.json: parse error"));
}

/* ---- validation ---- */

#define SPEC(devices) "cdiVersion: 1.1.0\nkind: vendor.com/gpu\ndevices: " devices "\n"
#define ONE(edits)    SPEC("[{name: d, containerEdits: " edits "}]")

static const struct {
	const char *text;
	const char *problem;
} rules[] = {
	{"kind: a/b\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "t.yaml: cdiVersion: missing"},
	{"cdiVersion: 0.3.0\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "t.yaml: kind: missing"},
	{"cdiVersion: 0.3.0\nkind: vendor\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "kind: \"vendor\" is not vendor/class"},
	{"cdiVersion: 0.3.0\nkind: vendor/\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "kind: \"vendor/\" is not vendor/class"},
	{"cdiVersion: 0.3.0\nkind: 9vendor/c\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "kind: invalid vendor \"9vendor\": must start with a letter"},
	{"cdiVersion: 0.3.0\nkind: v/c/d\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "kind: invalid class \"c/d\": invalid character '/'"},
	{"cdiVersion: 0.3.0\nkind: v/c\ndevices: []\n", "t.yaml: devices: no devices"},
	{"cdiVersion: 0.3.0\nkind: v/c\n", "t.yaml: devices: no devices"},
	{SPEC("[{containerEdits: {env: [A=1]}}]"), "devices[0].name: missing"},
	{SPEC("[{name: \"a b\", containerEdits: {env: [A=1]}}]"),
	 "devices[0].name: invalid device name \"a b\": invalid character ' '"},
	{SPEC("[{name: d, containerEdits: {env: [A=1]}}, {name: d, containerEdits: {env: [A=1]}}]"),
	 "devices[1].name: device \"d\" is also devices[0]"},
	{SPEC("[{name: d}]"), "devices[0].containerEdits: no edits"},
	{SPEC("[{name: d, containerEdits: {env: []}}]"), "devices[0].containerEdits: no edits"},
	{ONE("{env: [NOVALUE]}"),
	 "devices[0].containerEdits.env[0]: invalid environment variable \"NOVALUE\""},
	{ONE("{env: [A=1, \"=x\"]}"), "devices[0].containerEdits.env[1]: invalid environment"},
	{"cdiVersion: 0.3.0\nkind: v/c\ncontainerEdits: {env: [BAD]}\n"
	 "devices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	 "t.yaml: containerEdits.env[0]: invalid environment variable \"BAD\""},
	{ONE("{deviceNodes: [{type: c}]}"),
	 "devices[0].containerEdits.deviceNodes[0].path: missing"},
	{ONE("{deviceNodes: [{path: /d, type: x}]}"),
	 "deviceNodes[0].type: invalid device type \"x\" (want b, c, u or p)"},
	{ONE("{deviceNodes: [{path: /d, permissions: rwx}]}"),
	 "deviceNodes[0].permissions: invalid permissions \"rwx\""},
	{ONE("{deviceNodes: [{path: /d, permissions: all}]}"),
	 "deviceNodes[0].permissions: invalid permissions \"all\""},
	{ONE("{hooks: [{hookName: preStart, path: /x}]}"),
	 "hooks[0].hookName: invalid hook name \"preStart\""},
	{ONE("{hooks: [{path: /x}]}"), "hooks[0].hookName: missing"},
	{ONE("{hooks: [{hookName: poststop}]}"), "hooks[0].path: missing"},
	{ONE("{hooks: [{hookName: poststop, path: bin/x}]}"),
	 "hooks[0].path: \"bin/x\" is not an absolute path"},
	{ONE("{hooks: [{hookName: poststop, path: /x, env: [NOPE]}]}"),
	 "hooks[0].env[0]: invalid environment variable \"NOPE\""},
	{ONE("{hooks: [{hookName: poststop, path: /x, timeout: 0}]}"),
	 "hooks[0].timeout: 0 is not above zero"},
	{ONE("{hooks: [{hookName: poststop, path: /x, timeout: -5}]}"),
	 "hooks[0].timeout: -5 is not above zero"},
	{ONE("{mounts: [{containerPath: /b}]}"), "mounts[0].hostPath: missing"},
	{ONE("{mounts: [{hostPath: /a, containerPath: \"\"}]}"),
	 "mounts[0].containerPath: missing"},
	{ONE("{intelRdt: {closID: ..}}"), "intelRdt.closID: invalid CLOS ID \"..\""},
	{ONE("{intelRdt: {closID: .}}"), "intelRdt.closID: invalid CLOS ID \".\""},
	{ONE("{intelRdt: {closID: a/b}}"), "intelRdt.closID: invalid CLOS ID \"a/b\""},
	{ONE("{intelRdt: {closID: \"a\\nb\"}}"), "intelRdt.closID: invalid CLOS ID"},
	{ONE("{netDevices: [{name: eth0}]}"), "netDevices[0].hostInterfaceName: missing"},
	{ONE("{netDevices: [{hostInterfaceName: eth0}]}"), "netDevices[0].name: missing"},
	{ONE("{netDevices: [{hostInterfaceName: a, name: x}, {hostInterfaceName: a, name: y}]}"),
	 "netDevices[1].hostInterfaceName: \"a\" is also the host interface of [0]"},
	{ONE("{netDevices: [{hostInterfaceName: a, name: x}, {hostInterfaceName: b, name: x}]}"),
	 "netDevices[1].name: \"x\" is also the name of [0]"},
};

VC_TEST(validation_rules)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(rules); i++) {
		_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
		_cleanup_strv_ char **problems = NULL;
		int r = cdi_test_parse(rules[i].text, CDI_FORMAT_YAML, &s, &problems);
		if (!cdi_test_has(problems, rules[i].problem)) {
			fprintf(stderr, "# rule %zu: want %s\n# got:\n", i, rules[i].problem);
			cdi_test_dump(problems);
		}
		CHECK(r == -EINVAL && !s);
		CHECK(cdi_test_has(problems, rules[i].problem));
		CHECK(!strncmp(problems[0], "t.yaml: ", 8));
	}
}

/* What the rules allow. */
VC_TEST(validation_accepts)
{
	static const char *const ok[] = {
		ONE("{deviceNodes: [{path: /d, permissions: none}]}"),
		ONE("{deviceNodes: [{path: /d, permissions: rrw}]}"),
		ONE("{deviceNodes: [{path: /d, type: u}, {path: /e, type: p}, {path: /f, type: "
		    "b}]}"),
		ONE("{hooks: [{hookName: prestart, path: /x}, {hookName: createRuntime, path: /x}, "
		    "{hookName: createContainer, path: /x}, {hookName: startContainer, path: /x}, "
		    "{hookName: poststart, path: /x, timeout: 1}, {hookName: poststop, path: "
		    "/x}]}"),
		ONE("{intelRdt: {closID: /}}"),
		ONE("{intelRdt: {}}"),
		ONE("{additionalGids: [0]}"),
		ONE("{netDevices: [{hostInterfaceName: a, name: x}, {hostInterfaceName: b, name: "
		    "y}]}"),
		SPEC("[{name: a, containerEdits: {env: [A=]}}, {name: b, containerEdits: {env: "
		     "[A==]}}]"),
		"cdiVersion: 0.3.0\nkind: v/c\ncontainerEdits: {}\n"
		"devices: [{name: d, containerEdits: {env: [A=1]}}]\n",
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(ok); i++) {
		_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
		_cleanup_strv_ char **problems = NULL;
		int r = cdi_test_parse(ok[i], CDI_FORMAT_YAML, &s, &problems);
		cdi_test_dump(problems);
		CHECK(r == 0 && s && vc_strv_len(problems) == 0);
	}
}

VC_TEST(validation_reports_every_problem)
{
	const char *text = "cdiVersion: 0.2.0\nkind: v\ndevices:\n"
			   "- {name: -x, containerEdits: {env: [A]}}\n"
			   "- {name: y}\n";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	CHECK(cdi_test_parse(text, CDI_FORMAT_YAML, &s, &problems) == -EINVAL);
	if (vc_strv_len(problems) != 5)
		cdi_test_dump(problems);
	CHECK(vc_strv_len(problems) == 5);
	CHECK(cdi_test_has(problems, "cdiVersion: unknown version \"0.2.0\""));
	CHECK(cdi_test_has(problems, "kind: \"v\" is not vendor/class"));
	CHECK(cdi_test_has(problems, "devices[0].name: invalid device name \"-x\""));
	CHECK(cdi_test_has(problems, "devices[0].containerEdits.env[0]"));
	CHECK(cdi_test_has(problems, "devices[1].containerEdits: no edits"));
}

VC_TEST(json_spec_round_trip)
{
	const char *text =
		"{\"cdiVersion\":\"v1.1.0\",\"kind\":\"vendor.com/gpu\",\"containerEdits\":{"
		"\"env\":[\"G=1\"]},\"devices\":[{\"name\":\"gpu0\",\"annotations\":{\"a\":\"b\"},"
		"\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/g0\",\"hostPath\":\"/dev/"
		"h0\","
		"\"type\":\"c\",\"major\":195,\"minor\":1.0,\"fileMode\":438,\"permissions\":"
		"\"rw\","
		"\"uid\":1,\"gid\":2}],\"hooks\":[{\"hookName\":\"poststart\",\"path\":\"/h\","
		"\"args\":[\"h\"],\"env\":[\"E=1\"],\"timeout\":3}],\"mounts\":[{\"hostPath\":\"/"
		"a\","
		"\"containerPath\":\"/b\",\"options\":[\"ro\"],\"type\":\"bind\"}],\"intelRdt\":{"
		"\"closID\":\"c\",\"l3CacheSchema\":\"L3:0=f\",\"memBwSchema\":\"MB:0=50\","
		"\"schemata\":[\"x\"],\"enableMonitoring\":false},\"additionalGids\":[3,4],"
		"\"netDevices\":[{\"hostInterfaceName\":\"h\",\"name\":\"n\"}]}}]}";
	_cleanup_cdi_spec_ struct cdi_spec *s = NULL;
	_cleanup_strv_ char **problems = NULL;
	int r = cdi_test_parse(text, CDI_FORMAT_JSON, &s, &problems);
	cdi_test_dump(problems);
	CHECK(r == 0);
	CHECK_STR(s->vendor, "vendor.com");
	CHECK_STR(s->cls, "gpu");
	CHECK_STR(s->devices[0].qualified, "vendor.com/gpu=gpu0");
	const struct cdi_edits *e = &s->devices[0].edits;
	CHECK(e->n_device_nodes == 1 && e->device_nodes[0].major == 195 &&
	      e->device_nodes[0].minor == 1 && e->device_nodes[0].file_mode == 438 &&
	      e->device_nodes[0].uid == 1 && e->device_nodes[0].gid == 2);
	CHECK_STR(e->device_nodes[0].host_path, "/dev/h0");
	CHECK(e->n_hooks == 1 && e->hooks[0].has_timeout && e->hooks[0].timeout == 3);
	CHECK_STR(e->mounts[0].type, "bind");
	CHECK_STR(e->intel_rdt->mem_bw_schema, "MB:0=50");
	CHECK(!e->intel_rdt->enable_monitoring);
	CHECK(e->n_additional_gids == 2 && e->additional_gids[1] == 4);
	CHECK_STR(e->net_devices[0].name, "n");
	CHECK(s->devices[0].n_annotations == 1);
}

VC_TESTS(VC_T(qualified_names), VC_T(name_parts), VC_T(known_versions), VC_T(minimum_versions),
	 VC_T(go_float_format), VC_T(yaml_plain_scalars), VC_T(yaml_names_become_strings),
	 VC_T(json_numbers_become_strings), VC_T(strict_decoding),
	 VC_T(decoding_reports_every_problem), VC_T(nulls_are_absent), VC_T(yaml_features),
	 VC_T(yaml_limits), VC_T(validation_rules), VC_T(validation_accepts),
	 VC_T(validation_reports_every_problem), VC_T(json_spec_round_trip))
