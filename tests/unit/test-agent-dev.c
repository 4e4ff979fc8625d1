/* The device cgroup (agent/devcgroup.c): runc 1.1.5's rule semantics (its
 * defaults appended, deduplicated by linux.devices, cgroup v1's emulation, wildcard
 * holes refused), the eBPF program's shape, and, through a whole agent on the
 * host's cgroup v2 hierarchy (the unified one of a hybrid host), a container whose
 * opens of /dev/zero are refused or allowed by the program. */
#include <linux/bpf.h>

#include "oci/spec.h"
#include "tests/unit/test-agent-harness.h"

static struct vc_oci_spec *spec_with(const char *linux_json)
{
	_cleanup_free_ char *more = vc_strdup_printf("\"linux\":%s", linux_json);
	return vc_unit_spec(more);
}

/* The filter of a spec's linux object; false when it does not build (err set). */
static bool build(const char *linux_json, struct agent_devfilter *f, struct vc_error *err)
{
	_cleanup_spec_ struct vc_oci_spec *s = spec_with(linux_json);
	if (!s)
		return false;
	const struct vc_oci_linux *l = s->linux;
	return agent_devfilter_build(l ? l->resources : NULL, l, f, err) == 0;
}

static bool has(const struct agent_devfilter *f, char type, int64_t major, int64_t minor,
		unsigned access)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rules[i].type == type && f->rules[i].major == major &&
		    f->rules[i].minor == minor && f->rules[i].access == access)
			return true;
	return false;
}

#define RWM   (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)
#define MKNOD BPF_DEVCG_ACC_MKNOD
#define READ  BPF_DEVCG_ACC_READ

#define DOCKER_DENY_ALL "{\"allow\":false,\"access\":\"rwm\"}"

VC_TEST(test_runc_defaults)
{
	struct agent_devfilter f __attribute__((cleanup(agent_devfilter_free))) = {0};
	struct vc_error err = {0};
	/* no rules at all: deny-all plus runc's defaults */
	CHECK(build("{}", &f, &err));
	CHECK(!f.default_allow && f.n == 11);
	CHECK(has(&f, 'c', -1, -1, MKNOD) && has(&f, 'b', -1, -1, MKNOD));
	CHECK(has(&f, 'c', 1, 3, RWM) && has(&f, 'c', 1, 5, RWM) && has(&f, 'c', 1, 7, RWM));
	CHECK(has(&f, 'c', 1, 8, RWM) && has(&f, 'c', 1, 9, RWM) && has(&f, 'c', 5, 0, RWM));
	CHECK(has(&f, 'c', 136, -1, RWM) && has(&f, 'c', 5, 2, RWM) && has(&f, 'c', 10, 200, RWM));
	/* sorted by major, minor, type: the wildcards first, b before c */
	CHECK(f.rules[0].type == 'b' && f.rules[1].type == 'c' && f.rules[1].major == -1);
	CHECK(f.rules[2].major == 1 && f.rules[2].minor == 3);
	CHECK(f.rules[10].major == 136);
	agent_devfilter_free(&f);

	/* docker's deny-all first: the same */
	CHECK(build("{\"resources\":{\"devices\":[" DOCKER_DENY_ALL "]}}", &f, &err));
	CHECK(!f.default_allow && f.n == 11);
	agent_devfilter_free(&f);

	/* a default whose path linux.devices lists is not added */
	CHECK(build(
		"{\"devices\":[{\"path\":\"/dev/zero\",\"type\":\"c\",\"major\":1,\"minor\":5}],"
		"\"resources\":{\"devices\":[" DOCKER_DENY_ALL "]}}",
		&f, &err));
	CHECK(f.n == 10 && !has(&f, 'c', 1, 5, RWM));
	agent_devfilter_free(&f);

	/* the spec's allow for it comes back; rules merge per device */
	CHECK(build(
		"{\"devices\":[{\"path\":\"/dev/zero\",\"type\":\"c\",\"major\":1,\"minor\":5}],"
		"\"resources\":{\"devices\":[" DOCKER_DENY_ALL ","
		"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"r\"},"
		"{\"allow\":true,\"type\":\"b\",\"major\":254,\"minor\":16,\"access\":\"rw\"},"
		"{\"allow\":true,\"type\":\"b\",\"major\":254,\"minor\":16,\"access\":\"m\"},"
		"{\"allow\":false,\"type\":\"b\",\"major\":254,\"minor\":16,\"access\":\"w\"}]}}",
		&f, &err));
	CHECK(f.n == 12 && has(&f, 'c', 1, 5, READ));
	CHECK(has(&f, 'b', 254, 16, READ | MKNOD));
}

VC_TEST(test_emulation)
{
	struct agent_devfilter f __attribute__((cleanup(agent_devfilter_free))) = {0};
	struct vc_error err = {0};
	/* allow-all (privileged): no exceptions, runc's allows are no-ops */
	CHECK(build("{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}}", &f,
		    &err));
	CHECK(f.default_allow && f.n == 0);
	agent_devfilter_free(&f);
	/* allow-all then a deny: the exception stays (runc adds no allow for 1:1) */
	CHECK(build(
		"{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"},"
		"{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":1,\"access\":\"rwm\"},"
		"{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"}]}}",
		&f, &err));
	/* runc's default allow of 1:5 takes the deny of /dev/zero out again */
	CHECK(f.default_allow && f.n == 1 && has(&f, 'c', 1, 1, RWM));
	agent_devfilter_free(&f);
	/* a later deny-all wipes what came before */
	CHECK(build("{\"resources\":{\"devices\":["
		    "{\"allow\":true,\"type\":\"c\",\"major\":4,\"minor\":1,\"access\":\"rwm\"}"
		    "," DOCKER_DENY_ALL "]}}",
		    &f, &err));
	CHECK(!f.default_allow && f.n == 11 && !has(&f, 'c', 4, 1, RWM));
	agent_devfilter_free(&f);

	static const struct {
		const char *rules, *want;
	} bad[] = {
		/* v1 ignores a hole punched in a wildcard: refused, naming both */
		{"{\"allow\":true,\"type\":\"c\",\"access\":\"rwm\"},"
		 "{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"r\"}",
		 "linux.resources.devices[2]: c 1:5 r cannot be taken out of the wildcard rule "
		 "c *:* rwm"},
		{"{\"allow\":true,\"type\":\"b\",\"major\":8,\"access\":\"rw\"},"
		 "{\"allow\":false,\"type\":\"b\",\"major\":8,\"minor\":0,\"access\":\"w\"}",
		 "b 8:0 w cannot be taken out of the wildcard rule b 8:* rw"},
		{"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5}",
		 "linux.resources.devices[1]: access: must not be empty"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *l = vc_strdup_printf(
			"{\"resources\":{\"devices\":[" DOCKER_DENY_ALL ",%s]}}", bad[i].rules);
		err = (struct vc_error){0};
		agent_devfilter_free(&f);
		CHECK(!build(l, &f, &err));
		CHECK_CONTAINS(err.msg, bad[i].want);
		CHECK(f.n == 0 && !f.rules);
	}
}

VC_TEST(test_program_shape)
{
	struct agent_devfilter f __attribute__((cleanup(agent_devfilter_free))) = {0};
	struct vc_error err = {0};
	CHECK(build("{\"resources\":{\"devices\":[" DOCKER_DENY_ALL "]}}", &f, &err));
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t n = 0;
	CHECK(agent_devfilter_program(&f, &p, &n, &err) == 0);
	/* 6 to read the context; b *:* m and c *:* m: type, access (3), verdict (2);
	 * 8 exact rwm devices: type, major, minor, verdict (2); c 136:* rwm: type,
	 * major, verdict (2); the default (2) */
	CHECK(n == 6 + 2 * 6 + 8 * 5 + 4 + 2);
	CHECK(p[0].code == (BPF_LDX | BPF_MEM | BPF_W) && p[0].dst_reg == 2 && p[0].off == 0);
	CHECK(p[3].code == (BPF_ALU | BPF_RSH | BPF_K) && p[3].imm == 16);
	CHECK(p[5].dst_reg == 5 && p[5].off == 8);
	/* block 1: b *:* m */
	CHECK(p[6].code == (BPF_JMP | BPF_JNE | BPF_K) && p[6].imm == BPF_DEVCG_DEV_BLOCK);
	CHECK(p[6].off == 5); /* to the next block, 6 + 1 + 5 = 12 */
	CHECK(p[8].code == (BPF_ALU | BPF_AND | BPF_K) && p[8].imm == BPF_DEVCG_ACC_MKNOD);
	CHECK(p[9].code == (BPF_JMP | BPF_JNE | BPF_X) && p[9].off == 2);
	CHECK(p[10].code == (BPF_ALU | BPF_MOV | BPF_K) && p[10].dst_reg == 0 && p[10].imm == 1);
	CHECK(p[11].code == (BPF_JMP | BPF_EXIT));
	/* block 3: c 1:3 rwm, no access check */
	CHECK(p[18].imm == BPF_DEVCG_DEV_CHAR && p[18].off == 4);
	CHECK(p[19].dst_reg == 4 && p[19].imm == 1 && p[19].off == 3);
	CHECK(p[20].dst_reg == 5 && p[20].imm == 3 && p[20].off == 2);
	/* every jump lands inside the program */
	for (size_t i = 0; i < n; i++)
		if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) == BPF_JNE)
			CHECK(i + 1 + (size_t)p[i].off < n);
	/* the default: deny */
	CHECK(p[n - 2].code == (BPF_ALU | BPF_MOV | BPF_K) && p[n - 2].imm == 0);
	CHECK(p[n - 1].code == (BPF_JMP | BPF_EXIT));

	/* allow-all: the context read and "allow" */
	agent_devfilter_free(&f);
	CHECK(build("{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}}", &f,
		    &err));
	free(p);
	p = NULL;
	CHECK(agent_devfilter_program(&f, &p, &n, &err) == 0);
	CHECK(n == 8 && p[6].imm == 1);
}

/* ---- loaded for real: the host's cgroup v2 (root) -------------------------- */

static char *zero_spec(void)
{
	return spec_json(rootfs,
			 "[\"sh\",\"-c\",\"head -c1 /dev/zero | wc -c; echo x > /dev/zero && echo "
			 "wrote; head -c1 /dev/null; echo null\"]",
			 false,
			 ",\"devices\":[{\"path\":\"/dev/zero\",\"type\":\"c\",\"major\":1,"
			 "\"minor\":5,\"fileMode\":438}]");
}

/* zero_spec() with rules (a JSON list's inside) in place of docker's deny-all. */
static char *with_rules(const char *rules)
{
	_cleanup_free_ char *base = zero_spec();
	const char *old = "\"devices\":[" DOCKER_DENY_ALL "]";
	char *at = base ? strstr(base, old) : NULL;
	if (!at)
		return NULL;
	*at = '\0';
	return vc_strdup_printf("%s\"devices\":[%s]%s", base, rules, at + strlen(old));
}

/* Runs the container with those rules; its stdout+stderr. */
static bool run_rules(struct harness *h, const char *id, uint32_t stream, const char *rules,
		      char **out)
{
	_cleanup_free_ char *spec = with_rules(rules);
	if (!spec)
		return false;
	char *r = CALL(h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"%s\",\"stream_id\":%u,\"storages\":[],\"spec\":%s}", id,
		       stream, spec);
	if (!is_ok(r)) {
		fprintf(stderr, "# CreateContainer %s: %s\n", id, r ? r : "(none)");
		return false;
	}
	if (!is_ok(CALL(h, VC_M_START_CONTAINER, "{\"container_id\":\"%s\"}", id)))
		return false;
	if (!wait_process(h, id, NULL, stream, NULL))
		return false;
	struct stream *s = stream_get(h, stream);
	*out = vc_strdup_printf("%s%s", s && s->out ? s->out : "", s && s->err ? s->err : "");
	return is_ok(CALL(h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"%s\"}", id));
}

VC_TEST(test_filter_enforced)
{
	START(h);
	if (!cgroot[0]) {
		fprintf(stderr, "# no cgroup v2 hierarchy on this host\n");
		CHECK(false);
	}
	/* linux.devices lists /dev/zero, so runc adds no allow for it: deny-all
	 * refuses it, runc's defaults still give /dev/null; then read allowed, write
	 * not; then both (out: stdout, then stderr) */
	static const struct {
		const char *id, *rules, *want[3];
	} cases[] = {
		{"z1",
		 DOCKER_DENY_ALL,
		 {"0\nnull\n", "head: /dev/zero: Operation not permitted",
		  "can't create /dev/zero: Operation not permitted"}},
		{"z2",
		 DOCKER_DENY_ALL ",{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,"
				 "\"access\":\"r\"}",
		 {"1\nnull\n", "can't create /dev/zero: Operation not permitted"}},
		{"z3",
		 DOCKER_DENY_ALL ",{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,"
				 "\"access\":\"rw\"}",
		 {"1\nwrote\nnull\n"}},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *out = NULL;
		CHECK(run_rules(&h, cases[i].id, (uint32_t)(11 + i), cases[i].rules, &out));
		for (size_t k = 0; k < 3 && cases[i].want[k]; k++)
			CHECK_CONTAINS(out, cases[i].want[k]);
		CHECK(i == 2 || !strstr(out, "wrote"));
	}
	/* a rule that cannot be honoured fails the create, naming it */
	_cleanup_free_ char *spec = with_rules("{\"allow\":true,\"access\":\"\"}");
	CHECK(spec);
	char *r = CALL(&h, VC_M_CREATE_CONTAINER,
		       "{\"container_id\":\"z4\",\"stream_id\":14,\"storages\":[],\"spec\":%s}",
		       spec);
	CHECK(!is_ok(r));
	CHECK_CONTAINS(r,
		       "CreateContainer: params.spec.linux.resources.devices[0].access: cannot be "
		       "empty");
	STOP(h);
}

VC_TESTS(VC_T(test_runc_defaults), VC_T(test_emulation), VC_T(test_program_shape),
	 VC_T(test_filter_enforced))
