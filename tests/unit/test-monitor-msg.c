/* The monitor protocol's typed messages (agent-proto/monitor-msg.h): round trips of
 * every method and answer, each refusal with its message, hostile bodies, and the
 * fuzz entry driven with deterministic inputs. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/monitor-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-monitor.c"

static struct vc_json *obj(const char *text)
{
	struct vc_json *v = NULL;
	if (vc_json_parse(text, strlen(text), "test", &v, NULL) < 0)
		return NULL;
	return v;
}

/* Decodes text; 0 or the negative errno, err filled. */
static int decode(const char *text, struct vc_mon_request *req, struct vc_error *err)
{
	*err = (struct vc_error){0};
	return vc_mon_request_decode(text, strlen(text), req, err);
}

/* The body must be refused with code and a message containing want. */
static int refused(const char *body, int code, const char *want)
{
	struct vc_mon_request req;
	struct vc_error err;
	int r = decode(body, &req, &err);
	if (r != -code || err.code != code || !strstr(err.msg, want)) {
		fprintf(stderr, "# %s\n#   -> %d `%s` (want %d `%s`)\n", body, r, err.msg, -code,
			want);
		return 0;
	}
	return !req.container_id && !req.process && !req.resources;
}

/* Encodes req, decodes it and compares every field. */
static int round_trip(const struct vc_mon_request *req)
{
	char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	struct vc_mon_request got;
	if (vc_mon_request_encode(req, &body, &len, &err) < 0) {
		fprintf(stderr, "# encode %s: %s\n", vc_mon_method_name(req->method), err.msg);
		return 0;
	}
	int r = vc_mon_request_decode(body, len, &got, &err);
	free(body);
	if (r < 0) {
		fprintf(stderr, "# decode %s: %s\n", vc_mon_method_name(req->method), err.msg);
		return 0;
	}
	int same = got.method == req->method && got.stream_id == req->stream_id &&
		   got.signal == req->signal && got.all == req->all && got.rows == req->rows &&
		   got.cols == req->cols && got.details == req->details &&
		   got.environ == req->environ && !got.container_id == !req->container_id &&
		   (!req->container_id || !strcmp(got.container_id, req->container_id)) &&
		   fuzz_same_json(got.process, req->process) &&
		   fuzz_same_json(got.resources, req->resources);
	vc_mon_request_release(&got);
	return same;
}

VC_TEST(method_names)
{
	static const char *const names[] = {"attach", "wait",  "signal", "kill",    "resize",
					    "start",  "pause", "resume", "ps",	    "stats",
					    "update", "exec",  "add",	 "destroy", "kill_standin"};
	CHECK(VC_MON_N_METHODS == VC_ARRAY_SIZE(names));
	for (size_t i = 0; i < VC_ARRAY_SIZE(names); i++)
		CHECK_STR(vc_mon_method_name((enum vc_mon_method)i), names[i]);
	CHECK(!vc_mon_method_name(VC_MON_N_METHODS));
	CHECK(!vc_mon_method_name((enum vc_mon_method) - 1));
}

VC_TEST(request_round_trips)
{
	_cleanup_json_ struct vc_json *process = obj("{\"args\":[\"sh\",\"-c\",\"echo \\u00e9\"],"
						     "\"terminal\":true,\"env\":[\"A=1\"]}");
	_cleanup_json_ struct vc_json *resources = obj(
		"{\"memory\":{\"limit\":268435456},\"cpu\":{\"quota\":50000,\"period\":100000}}");
	CHECK(process && resources);
	char *id = "pod-1_a.b+c";
	const struct vc_mon_request reqs[] = {
		{.method = VC_MON_ATTACH, .container_id = id},
		{.method = VC_MON_ATTACH, .stream_id = 7},
		{.method = VC_MON_WAIT, .container_id = id},
		{.method = VC_MON_WAIT, .stream_id = UINT32_MAX},
		{.method = VC_MON_SIGNAL, .stream_id = 3, .signal = SIGWINCH},
		{.method = VC_MON_SIGNAL, .container_id = id, .signal = 0},
		{.method = VC_MON_KILL, .container_id = id, .signal = SIGKILL, .all = true},
		{.method = VC_MON_KILL, .signal = NSIG - 1},
		{.method = VC_MON_RESIZE, .stream_id = 2, .rows = 24, .cols = 80},
		{.method = VC_MON_RESIZE, .stream_id = 1, .rows = 0, .cols = UINT32_MAX},
		{.method = VC_MON_START, .container_id = id},
		{.method = VC_MON_PAUSE, .container_id = id},
		{.method = VC_MON_RESUME},
		{.method = VC_MON_PS, .container_id = id},
		{.method = VC_MON_PS, .container_id = id, .details = true, .environ = true},
		{.method = VC_MON_PS, .details = true},
		{.method = VC_MON_STATS, .container_id = id},
		{.method = VC_MON_UPDATE, .container_id = id, .resources = resources},
		{.method = VC_MON_UPDATE, .container_id = id},
		{.method = VC_MON_EXEC, .container_id = id, .process = process},
		{.method = VC_MON_ADD, .container_id = id},
		{.method = VC_MON_DESTROY, .container_id = id},
		{.method = VC_MON_DESTROY},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(reqs); i++) {
		if (!round_trip(&reqs[i]))
			fprintf(stderr, "# request %zu\n", i);
		CHECK(round_trip(&reqs[i]));
	}
}

/* What goes on the wire: what the clients always sent, defaults left out. */
VC_TEST(request_wire_form)
{
	struct vc_error err = {0};
	_cleanup_json_ struct vc_json *p = NULL;
	_cleanup_free_ char *text = NULL;
	struct vc_mon_request kill = {.method = VC_MON_KILL, .container_id = "c", .signal = 15};
	CHECK(vc_mon_request_params(&kill, &p, &err) == 0);
	CHECK(vc_json_serialize(p, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "{\"container_id\":\"c\",\"signal\":15,\"all\":false}");
	vc_json_free(steal_ptr(p));
	free(steal_ptr(text));
	struct vc_mon_request ps = {.method = VC_MON_PS, .details = true};
	CHECK(vc_mon_request_params(&ps, &p, &err) == 0);
	CHECK(vc_json_serialize(p, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "{\"details\":true}");
	vc_json_free(steal_ptr(p));
	free(steal_ptr(text));
	/* Fields of other methods are not written. */
	struct vc_mon_request start = {
		.method = VC_MON_START, .container_id = "c", .stream_id = 4, .signal = 9};
	CHECK(vc_mon_request_params(&start, &p, &err) == 0);
	CHECK(vc_json_serialize(p, false, &text, NULL, &err) == 0);
	CHECK_STR(text, "{\"container_id\":\"c\"}");
}

VC_TEST(request_encode_refuses)
{
	char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	struct vc_mon_request bad_id = {.method = VC_MON_START, .container_id = "a/b"};
	CHECK(vc_mon_request_encode(&bad_id, &body, &len, &err) == -EINVAL && !body);
	CHECK_CONTAINS(err.msg, "start: params.container_id: invalid container id `a/b`");
	struct vc_mon_request bad_sig = {.method = VC_MON_KILL, .signal = NSIG};
	CHECK(vc_mon_request_encode(&bad_sig, &body, &len, &err) == -EINVAL && !body);
	CHECK_CONTAINS(err.msg, "kill: params.signal: must be below");
	struct vc_mon_request no_process = {.method = VC_MON_EXEC};
	CHECK(vc_mon_request_encode(&no_process, &body, &len, &err) == -EINVAL && !body);
	CHECK_STR(err.msg, "exec: params.process: must be an object");
	struct vc_mon_request bad_method = {.method = VC_MON_N_METHODS};
	CHECK(vc_mon_request_encode(&bad_method, &body, &len, &err) == -ENOSYS && !body);
}

VC_TEST(request_decode_refuses)
{
	/* the frame's own rules first */
	CHECK(refused("", EINVAL, "request"));
	CHECK(refused("[]", EINVAL, "request"));
	CHECK(refused("{\"method\":7}", EINVAL, "method"));
	CHECK(refused("{\"method\":\"kill\",\"params\":[]}", EINVAL, "params"));
	/* unknown method */
	CHECK(refused("{\"method\":\"reboot\"}", ENOSYS, "unknown monitor request `reboot`"));
	CHECK(refused("{\"method\":\"Attach\"}", ENOSYS, "unknown monitor request"));
	/* container_id */
	CHECK(refused("{\"method\":\"start\",\"params\":{\"container_id\":5}}", EINVAL,
		      "start: params.container_id: must be a string, not number"));
	CHECK(refused("{\"method\":\"start\",\"params\":{\"container_id\":\"../x\"}}", EINVAL,
		      "start: params.container_id: invalid container id `../x`"));
	CHECK(refused("{\"method\":\"start\",\"params\":{\"container_id\":\"\"}}", EINVAL,
		      "start: params.container_id: container id cannot be empty"));
	CHECK(refused("{\"method\":\"pause\",\"params\":{\"container_id\":\"..\"}}", EINVAL,
		      "pause: params.container_id: invalid container id `..`"));
	CHECK(refused("{\"method\":\"destroy\",\"params\":{\"container_id\":\"a\\u0000b\"}}",
		      EINVAL, "destroy: params.container_id: must not contain a NUL byte"));
	/* u32 fields */
	CHECK(refused("{\"method\":\"attach\",\"params\":{\"stream_id\":\"3\"}}", EINVAL,
		      "attach: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"wait\",\"params\":{\"stream_id\":-1}}", EINVAL,
		      "wait: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"wait\",\"params\":{\"stream_id\":4294967296}}", EINVAL,
		      "wait: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"wait\",\"params\":{\"stream_id\":1.5}}", EINVAL,
		      "wait: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"resize\",\"params\":{\"stream_id\":1,\"rows\":1e3,"
		      "\"cols\":80}}",
		      EINVAL, "resize: params.rows: must be an unsigned 32-bit number"));
	/* signal */
	CHECK(refused("{\"method\":\"kill\",\"params\":{\"signal\":65}}", EINVAL,
		      "kill: params.signal: must be below"));
	CHECK(refused("{\"method\":\"signal\",\"params\":{\"stream_id\":2,\"signal\":"
		      "99999999999999999999999}}",
		      EINVAL, "signal: params.signal: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"kill\",\"params\":{\"signal\":true}}", EINVAL,
		      "kill: params.signal: must be an unsigned 32-bit number"));
	/* booleans and objects */
	CHECK(refused("{\"method\":\"kill\",\"params\":{\"signal\":9,\"all\":1}}", EINVAL,
		      "kill: params.all: must be a boolean, not number"));
	CHECK(refused("{\"method\":\"ps\",\"params\":{\"details\":\"yes\"}}", EINVAL,
		      "ps: params.details: must be a boolean, not string"));
	CHECK(refused("{\"method\":\"ps\",\"params\":{\"details\":true,\"environ\":[]}}", EINVAL,
		      "ps: params.environ: must be a boolean, not array"));
	CHECK(refused("{\"method\":\"exec\",\"params\":{\"process\":[\"sh\"]}}", EINVAL,
		      "exec: params.process: must be an object, not array"));
	CHECK(refused("{\"method\":\"update\",\"params\":{\"resources\":\"big\"}}", EINVAL,
		      "update: params.resources: must be an object, not string"));
	/* required fields, per method */
	CHECK(refused("{\"method\":\"kill\",\"params\":{\"container_id\":\"c\"}}", EINVAL,
		      "kill: params.signal is required"));
	CHECK(refused("{\"method\":\"signal\",\"params\":{\"stream_id\":3,\"signal\":null}}",
		      EINVAL, "signal: params.signal is required"));
	CHECK(refused("{\"method\":\"resize\",\"params\":{\"rows\":1,\"cols\":2}}", EINVAL,
		      "resize: params.stream_id is required"));
	CHECK(refused("{\"method\":\"resize\",\"params\":{\"stream_id\":1,\"rows\":1}}", EINVAL,
		      "resize: params.cols is required"));
	CHECK(refused("{\"method\":\"exec\",\"params\":{\"container_id\":\"c\"}}", EINVAL,
		      "exec: params.process is required"));
	CHECK(refused("{\"method\":\"exec\"}", EINVAL, "exec: params.process is required"));
}

VC_TEST(request_decode_accepts)
{
	struct vc_mon_request req;
	struct vc_error err;
	/* unknown fields are ignored; so are fields of other methods; null is absent */
	CHECK(decode("{\"method\":\"start\",\"params\":{\"container_id\":\"c1\",\"future\":"
		     "{\"x\":[1,2]},\"signal\":\"not read\",\"process\":7}}",
		     &req, &err) == 0);
	CHECK(req.method == VC_MON_START && !strcmp(req.container_id, "c1"));
	CHECK(req.signal == 0 && !req.process);
	vc_mon_request_release(&req);
	CHECK(!req.container_id);
	CHECK(decode("{\"method\":\"attach\"}", &req, &err) == 0);
	CHECK(req.method == VC_MON_ATTACH && !req.container_id && req.stream_id == 0);
	CHECK(decode("{\"method\":\"kill\",\"params\":{\"container_id\":null,\"signal\":0,"
		     "\"all\":null}}",
		     &req, &err) == 0);
	CHECK(req.method == VC_MON_KILL && !req.container_id && req.signal == 0 && !req.all);
	CHECK(decode("{\"method\":\"update\",\"params\":{\"resources\":{\"pids\":{\"limit\":"
		     "5}}}}",
		     &req, &err) == 0);
	CHECK(req.resources && vc_json_get(req.resources, "pids"));
	vc_mon_request_release(&req);
	/* the longest id */
	char body[1200] = "{\"method\":\"add\",\"params\":{\"container_id\":\"";
	size_t n = strlen(body);
	memset(body + n, 'x', 1024);
	strcpy(body + n + 1024, "\"}}");
	CHECK(decode(body, &req, &err) == 0 && strlen(req.container_id) == 1024);
	vc_mon_request_release(&req);
	strcpy(body + n + 1024, "x\"}}");
	CHECK(refused(body, EINVAL, "add: params.container_id: container id is longer"));
}

VC_TEST(request_decode_hostile)
{
	/* deeper than the parser allows */
	size_t depth = 5000;
	char *deep = malloc(2 * depth + 100);
	CHECK(deep);
	int n = sprintf(deep, "{\"method\":\"exec\",\"params\":{\"process\":");
	for (size_t i = 0; i < depth; i++)
		deep[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[n++] = ']';
	strcpy(deep + n, "}}");
	struct vc_mon_request req;
	struct vc_error err;
	int r = decode(deep, &req, &err);
	free(deep);
	CHECK(r == -EINVAL && err.msg[0]);
	/* a process just within the depth limit survives the round trip */
	char nested[1024];
	n = sprintf(nested, "{\"method\":\"exec\",\"params\":{\"process\":");
	for (int i = 0; i < 120; i++)
		n += sprintf(nested + n, "{\"a\":");
	n += sprintf(nested + n, "1");
	for (int i = 0; i < 120; i++)
		nested[n++] = '}';
	strcpy(nested + n, "}}");
	CHECK(decode(nested, &req, &err) == 0 && req.process);
	CHECK(round_trip(&req));
	vc_mon_request_release(&req);
	/* a body cut short */
	CHECK(refused("{\"method\":\"exec\",\"params\":{\"process\":{\"a\":", EINVAL, "request"));
	/* huge numbers, negative zero, exponents */
	CHECK(refused("{\"method\":\"resize\",\"params\":{\"stream_id\":"
		      "18446744073709551616,\"rows\":1,\"cols\":1}}",
		      EINVAL, "resize: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"resize\",\"params\":{\"stream_id\":-0,\"rows\":1,"
		      "\"cols\":1}}",
		      EINVAL, "resize: params.stream_id: must be an unsigned 32-bit number"));
	CHECK(refused("{\"method\":\"kill\",\"params\":{\"signal\":9e0}}", EINVAL,
		      "kill: params.signal: must be an unsigned 32-bit number"));
	/* a method name with a NUL, an overlong one */
	CHECK(refused("{\"method\":\"kill\\u0000x\",\"params\":{\"signal\":9}}", EINVAL, "method"));
	/* bytes that are not JSON */
	const uint8_t junk[] = {0xff, 0xfe, '{', 0, '}'};
	CHECK(vc_mon_request_decode(junk, sizeof(junk), &req, &err) == -EINVAL);
}

VC_TEST(answer_round_trips)
{
	char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	struct vc_mon_stream s = {0};
	CHECK(vc_mon_stream_encode(&(struct vc_mon_stream){UINT32_MAX}, &body, &len, &err) == 0);
	CHECK(vc_mon_stream_decode(body, len, &s, &err) == 0 && s.stream_id == UINT32_MAX);
	free(body);
	struct vc_mon_exit e = {0};
	const struct vc_mon_exit exits[] = {{0, 0}, {255, 0}, {137, SIGKILL}, {0, NSIG - 1}};
	for (size_t i = 0; i < VC_ARRAY_SIZE(exits); i++) {
		CHECK(vc_mon_exit_encode(&exits[i], &body, &len, &err) == 0);
		CHECK(vc_mon_exit_decode(body, len, &e, &err) == 0);
		free(body);
		CHECK(e.exit_code == exits[i].exit_code && e.signal == exits[i].signal);
	}
	struct vc_mon_removed rm = {0};
	for (int b = 0; b < 2; b++) {
		CHECK(vc_mon_removed_encode(&(struct vc_mon_removed){b}, &body, &len, &err) == 0);
		CHECK(vc_mon_removed_decode(body, len, &rm, &err) == 0 && rm.sandbox == b);
		free(body);
	}
}

/* One decoder for all three answers, so that the refusals below share a helper. */
enum answer { STREAM, EXIT, REMOVED };

static int decode_answer(enum answer which, const char *body, struct vc_error *err)
{
	struct vc_mon_stream s;
	struct vc_mon_exit e;
	struct vc_mon_removed rm;
	size_t len = strlen(body);
	return which == STREAM ? vc_mon_stream_decode(body, len, &s, err)
	       : which == EXIT ? vc_mon_exit_decode(body, len, &e, err)
			       : vc_mon_removed_decode(body, len, &rm, err);
}

static int answer_refused(enum answer which, const char *body, int code, const char *want)
{
	struct vc_error err = {0};
	int r = decode_answer(which, body, &err);
	if (r != -code || !strstr(err.msg, want)) {
		fprintf(stderr, "# %s\n#   -> %d `%s` (want %d `%s`)\n", body, r, err.msg, -code,
			want);
		return 0;
	}
	return 1;
}

VC_TEST(answer_decode_refuses)
{
	/* the monitor's own error comes back as it is */
	CHECK(answer_refused(STREAM,
			     "{\"error\":{\"code\":2,\"message\":\"container does not exist\"}}",
			     ENOENT, "container does not exist"));
	CHECK(answer_refused(EXIT, "{\"error\":{\"code\":3,\"message\":\"container not running\"}}",
			     ESRCH, "container not running"));
	/* malformed */
	CHECK(answer_refused(STREAM, "nope", EBADMSG, ""));
	CHECK(answer_refused(STREAM, "{\"result\":{}}", EBADMSG,
			     "answer: result.stream_id is required"));
	CHECK(answer_refused(STREAM, "{\"result\":{\"stream_id\":0}}", EBADMSG,
			     "answer: result.stream_id: must not be 0"));
	CHECK(answer_refused(STREAM, "{\"result\":{\"stream_id\":4294967296}}", EBADMSG,
			     "answer: result.stream_id: must be an unsigned 32-bit number"));
	CHECK(answer_refused(STREAM, "{\"result\":{\"stream_id\":\"1\"}}", EBADMSG,
			     "answer: result.stream_id: must be an unsigned 32-bit number"));
	/* the guest's numbers are bounded */
	CHECK(answer_refused(EXIT, "{\"result\":{\"exit_code\":256,\"signal\":0}}", EBADMSG,
			     "answer: result.exit_code: must be from 0 to 255 (got 256)"));
	CHECK(answer_refused(EXIT, "{\"result\":{\"exit_code\":-1,\"signal\":0}}", EBADMSG,
			     "answer: result.exit_code: must be an unsigned 32-bit number"));
	CHECK(answer_refused(EXIT, "{\"result\":{\"exit_code\":0,\"signal\":65}}", EBADMSG,
			     "answer: result.signal: must be from 0 to"));
	CHECK(answer_refused(EXIT,
			     "{\"result\":{\"exit_code\":99999999999999999999999999,"
			     "\"signal\":0}}",
			     EBADMSG,
			     "answer: result.exit_code: must be an unsigned 32-bit number"));
	CHECK(answer_refused(EXIT, "{\"result\":{\"exit_code\":1}}", EBADMSG,
			     "answer: result.signal is required"));
	CHECK(answer_refused(REMOVED, "{\"result\":{\"sandbox\":1}}", EBADMSG,
			     "answer: result.sandbox: must be a boolean, not number"));
	CHECK(answer_refused(REMOVED, "{\"result\":{}}", EBADMSG,
			     "answer: result.sandbox is required"));
	/* unknown fields are ignored */
	struct vc_mon_exit e;
	const char *ok = "{\"result\":{\"exit_code\":3,\"signal\":0,\"oom\":true}}";
	CHECK(vc_mon_exit_decode(ok, strlen(ok), &e, NULL) == 0 && e.exit_code == 3);
}

/* ---- fuzzing ---- */

static unsigned long long rng_state;

static uint32_t rnd(void)
{
	return vc_unit_rand(&rng_state);
}

static const char *const fuzz_bodies[] = {
	"{\"method\":\"attach\",\"params\":{\"container_id\":\"c1\"}}",
	"{\"method\":\"wait\",\"params\":{\"stream_id\":3}}",
	"{\"method\":\"signal\",\"params\":{\"stream_id\":3,\"signal\":28}}",
	"{\"method\":\"kill\",\"params\":{\"container_id\":\"c1\",\"signal\":9,\"all\":true}}",
	"{\"method\":\"resize\",\"params\":{\"stream_id\":3,\"rows\":24,\"cols\":80}}",
	"{\"method\":\"start\",\"params\":{\"container_id\":\"c1\"}}",
	"{\"method\":\"ps\",\"params\":{\"container_id\":\"c1\",\"details\":true,\"environ\":"
	"false}}",
	"{\"method\":\"update\",\"params\":{\"container_id\":\"c1\",\"resources\":{\"memory\":"
	"{\"limit\":1048576}}}}",
	"{\"method\":\"exec\",\"params\":{\"container_id\":\"c1\",\"process\":{\"args\":[\"sh\"],"
	"\"terminal\":false}}}",
	"{\"method\":\"destroy\",\"params\":{\"container_id\":\"c1\"}}",
	"{\"result\":{\"stream_id\":5}}",
	"{\"result\":{\"exit_code\":137,\"signal\":9}}",
	"{\"result\":{\"sandbox\":true}}",
	"{\"error\":{\"code\":2,\"message\":\"container does not exist\"}}",
};

static size_t fuzz_input(uint8_t *buf, size_t cap)
{
	const char *tmpl = fuzz_bodies[rnd() % VC_ARRAY_SIZE(fuzz_bodies)];
	size_t n = strlen(tmpl);
	if (n > cap)
		n = cap;
	memcpy(buf, tmpl, n);
	return vc_unit_mutate(buf, n, cap, &rng_state);
}

VC_TEST(fuzz_decoders)
{
	static uint8_t buf[4096];
	rng_state = 0x6d6f6e69746f7221ULL;
	memset(&fuzz_monitor_stats, 0, sizeof(fuzz_monitor_stats));
	fuzz_assert_failures = 0;
	for (int i = 0; i < 20000; i++) {
		size_t n = fuzz_input(buf, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, n);
	}
	fprintf(stderr, "# fuzz: %lu requests, %lu refused, %lu answers\n",
		fuzz_monitor_stats.requests, fuzz_monitor_stats.refused,
		fuzz_monitor_stats.answers);
	CHECK(fuzz_assert_failures == 0);
	CHECK(fuzz_monitor_stats.requests > 2000 && fuzz_monitor_stats.refused > 2000);
	CHECK(fuzz_monitor_stats.answers > 500);
}

VC_TESTS(VC_T(method_names), VC_T(request_round_trips), VC_T(request_wire_form),
	 VC_T(request_encode_refuses), VC_T(request_decode_refuses), VC_T(request_decode_accepts),
	 VC_T(request_decode_hostile), VC_T(answer_round_trips), VC_T(answer_decode_refuses),
	 VC_T(fuzz_decoders))
