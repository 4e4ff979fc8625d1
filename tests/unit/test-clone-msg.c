/* CloneSetup (agent-proto/clone-msg.h): round trip with its exact wire form, each
 * refusal with its message, hostile bodies, and the fuzz entry driven with
 * deterministic inputs. Also the agent's reseed on a fake random device. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/clone-msg.h"
#include "agent/agent.h"
#include "common/cleanup.h"
#include "common/util.h"

#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-clone-msg.c"

static struct vc_clone_setup sample(void)
{
	struct vc_clone_setup cs = {
		.n_entropy = 32, .time_sec = 1796449182, .time_nsec = 7, .vsock_cid = 0};
	for (size_t i = 0; i < cs.n_entropy; i++)
		cs.entropy[i] = (uint8_t)(i * 7 + 1);
	snprintf(cs.hostname, sizeof(cs.hostname), "clone-1");
	return cs;
}

/* Decodes text; 0 or the negative errno, err filled. */
static int decode(const char *text, struct vc_clone_setup *cs, struct vc_error *err)
{
	_cleanup_json_ struct vc_json *v = NULL;
	*err = (struct vc_error){0};
	if (vc_json_parse(text, strlen(text), "test", &v, err) < 0)
		return -EINVAL;
	return vc_clone_setup_from_json(v, cs, err);
}

VC_TEST(round_trip_and_wire_form)
{
	struct vc_clone_setup cs = sample(), back;
	struct vc_error err = {0};
	_cleanup_json_ struct vc_json *v = NULL;
	CHECK(vc_clone_setup_to_json(&cs, &v, &err) == 0);
	_cleanup_free_ char *text = NULL;
	CHECK(vc_json_serialize(v, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "{\"entropy\":\"01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5"
			"ccd3da\",\"time_sec\":1796449182,\"time_nsec\":7,\"hostname\":\"clone-1\","
			"\"vsock_cid\":0}");
	CHECK(vc_clone_setup_from_json(v, &back, &err) == 0);
	CHECK(!memcmp(&cs, &back, sizeof(cs)));
}

VC_TEST(encode_refuses)
{
	struct vc_error err = {0};
	struct vc_json *v = NULL;
	struct vc_clone_setup cs = sample();
	cs.n_entropy = 31;
	CHECK(vc_clone_setup_to_json(&cs, &v, &err) == -EINVAL && !v);
	CHECK_CONTAINS(err.msg, "entropy");
	cs = sample();
	snprintf(cs.hostname, sizeof(cs.hostname), "a b");
	CHECK(vc_clone_setup_to_json(&cs, &v, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "hostname");
	cs = sample();
	cs.vsock_cid = 2; /* the host */
	CHECK(vc_clone_setup_to_json(&cs, &v, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "vsock_cid");
}

VC_TEST(decode_refuses)
{
	struct vc_clone_setup cs;
	struct vc_error err;
	const char *e32 = "\"0000000000000000000000000000000000000000000000000000000000000000\"";
	char buf[1024];
	static const struct {
		const char *fmt, *field;
	} cases[] = {
		{"[]", "params: must be an object"},
		{"{\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":0}",
		 "entropy is required"},
		{"{\"entropy\":\"00\",\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_"
		 "cid\":0}",
		 "entropy: must be 32 to 512"},
		{"{\"entropy\":%s,\"time_sec\":0,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":"
		 "0}",
		 "time_sec: must be after 1970"},
		{"{\"entropy\":%s,\"time_sec\":-5,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":"
		 "0}",
		 "time_sec: must be a number"},
		{"{\"entropy\":%s,\"time_sec\":1e3,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_"
		 "cid\":0}",
		 "time_sec: must be a number"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":1000000000,\"hostname\":\"h\","
		 "\"vsock_cid\":0}",
		 "time_nsec: must be a number from 0 to 999999999"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"\",\"vsock_cid\":"
		 "0}",
		 "hostname: must be 1 to 64"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"a/"
		 "b\",\"vsock_cid\":0}",
		 "hostname: must be"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"a\\u0000b\","
		 "\"vsock_cid\":0}",
		 "hostname: must be"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":"
		 "2}",
		 "vsock_cid: 2 is not a guest CID"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":"
		 "4294967295}",
		 "vsock_cid: must be a number"},
		{"{\"entropy\":%s,\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\"}",
		 "vsock_cid is required"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), cases[i].fmt, e32);
		CHECK(decode(buf, &cs, &err) == -EINVAL);
		CHECK_CONTAINS(err.msg, cases[i].field);
		static const struct vc_clone_setup zero;
		CHECK(!memcmp(&cs, &zero, sizeof(zero)));
	}
	/* Upper-case hex and a NUL byte inside the entropy are refused too. */
	CHECK(decode("{\"entropy\":"
		     "\"AB00000000000000000000000000000000000000000000000000000000000000\","
		     "\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":0}",
		     &cs, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "is not hex");
	CHECK(decode("{\"entropy\":"
		     "\"00\\u000000000000000000000000000000000000000000000000000000000000\","
		     "\"time_sec\":1,\"time_nsec\":0,\"hostname\":\"h\",\"vsock_cid\":0}",
		     &cs, &err) == -EINVAL);
}

VC_TEST(decode_hostile)
{
	/* A 1 MiB entropy string and a huge number: refused by their bounds. */
	size_t n = 1 << 20;
	_cleanup_free_ char *big = malloc(n + 200);
	CHECK(big);
	int off = snprintf(big, 200, "{\"entropy\":\"");
	memset(big + off, '0', n);
	snprintf(big + off + n, 200,
		 "\",\"time_sec\":99999999999999999999999,\"time_nsec\":0,\"hostname\":\"h\","
		 "\"vsock_cid\":0}");
	struct vc_clone_setup cs;
	struct vc_error err;
	CHECK(decode(big, &cs, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "entropy");
}

VC_TEST(reseed_needs_a_random_device)
{
	/* A regular file takes the write but not the ioctl: the error names it. */
	_cleanup_free_ char *path = vc_strdup_printf("%s/random", vc_unit_tmpdir());
	CHECK(path && vc_write_file(path, "", 0, NULL) == 0);
	uint8_t e[32] = {1};
	struct vc_error err = {0};
	CHECK(agent_clone_reseed(path, e, sizeof(e), &err) < 0);
	CHECK_CONTAINS(err.msg, "RNDADDENTROPY");
	CHECK(agent_clone_reseed("/nonexistent/random", e, sizeof(e), &err) == -ENOENT);
	CHECK_CONTAINS(err.msg, "/nonexistent/random");
}

static unsigned long long rng_state;

VC_TEST(fuzz_decoder)
{
	static uint8_t buf[4096];
	_cleanup_json_ struct vc_json *v = NULL;
	struct vc_clone_setup cs = sample();
	struct vc_error err = {0};
	CHECK(vc_clone_setup_to_json(&cs, &v, &err) == 0);
	_cleanup_free_ char *good = NULL;
	size_t glen = 0;
	CHECK(vc_json_serialize(v, false, &good, &glen, &err) == 0);
	rng_state = 0x636c6f6e652d6d73ULL;
	fuzz_assert_failures = 0;
	memset(&fuzz_clone_stats, 0, sizeof(fuzz_clone_stats));
	for (int i = 0; i < 20000; i++) {
		memcpy(buf, good, glen);
		size_t n = vc_unit_mutate(buf, glen, sizeof(buf), &rng_state);
		LLVMFuzzerTestOneInput(buf, n);
	}
	fprintf(stderr, "# fuzz: %lu decoded, %lu refused\n", fuzz_clone_stats.decoded,
		fuzz_clone_stats.refused);
	CHECK(fuzz_assert_failures == 0);
	CHECK(fuzz_clone_stats.decoded > 500 && fuzz_clone_stats.refused > 500);
}

VC_TESTS(VC_T(round_trip_and_wire_form), VC_T(encode_refuses), VC_T(decode_refuses),
	 VC_T(decode_hostile), VC_T(reseed_needs_a_random_device), VC_T(fuzz_decoder))
