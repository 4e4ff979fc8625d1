/* libFuzzer entry for the monitor protocol's typed messages (agent-proto/monitor-msg.h):
 * every body is decoded as a request and as each of the monitor's answers. What
 * decodes must hold the promised invariants (a known method, a valid container id,
 * a signal below NSIG, exit codes and signals in range, the objects exec and update
 * need) and must survive encode + decode unchanged.
 *
 * `make build/fuzz/fuzz-monitor` builds it with clang -fsanitize=fuzzer,address,undefined;
 * tests/integration/50-cdi.bats runs it for a few seconds on a copy of
 * tests/fuzz/corpus/monitor. By hand: build/fuzz/fuzz-monitor CORPUS_DIR
 *
 * tests/unit/test-monitor-msg.c includes this file and drives it with its own
 * deterministic inputs, so it is compiled and run by every build.
 *
 * Input: one REQUEST or RESPONSE body (JSON). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/monitor-msg.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

/* How far inputs got, so a driver can tell that the interesting paths ran. */
static struct {
	unsigned long requests, refused, answers;
} fuzz_monitor_stats;

/* Two JSON values are the same when they serialize alike (both NULL counts). */
static int fuzz_same_json(const struct vc_json *a, const struct vc_json *b)
{
	if (!a || !b)
		return a == b;
	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	int same = vc_json_serialize(a, false, &ta, &la, NULL) == 0 &&
		   vc_json_serialize(b, false, &tb, &lb, NULL) == 0 && la == lb &&
		   !memcmp(ta, tb, la);
	free(ta);
	free(tb);
	return same;
}

static void fuzz_monitor_request(const uint8_t *data, size_t size)
{
	struct vc_mon_request req, again;
	struct vc_error err = {0};
	if (vc_mon_request_decode(data, size, &req, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code);
		FUZZ_ASSERT(!req.container_id && !req.process && !req.resources);
		fuzz_monitor_stats.refused++;
		return;
	}
	fuzz_monitor_stats.requests++;
	FUZZ_ASSERT(vc_mon_method_name(req.method));
	FUZZ_ASSERT(!req.container_id || vc_container_id_check(req.container_id, NULL) == 0);
	FUZZ_ASSERT(req.signal < NSIG);
	FUZZ_ASSERT(req.method == VC_MON_EXEC ? req.process && req.process->type == VC_JSON_OBJECT
					      : !req.process);
	FUZZ_ASSERT(!req.resources ||
		    (req.method == VC_MON_UPDATE && req.resources->type == VC_JSON_OBJECT));
	char *body = NULL;
	size_t len = 0;
	int r = vc_mon_request_encode(&req, &body, &len, &err);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r == 0) {
		FUZZ_ASSERT(vc_mon_request_decode(body, len, &again, &err) == 0);
		FUZZ_ASSERT(again.method == req.method && again.stream_id == req.stream_id &&
			    again.signal == req.signal && again.all == req.all &&
			    again.rows == req.rows && again.cols == req.cols &&
			    again.details == req.details && again.environ == req.environ);
		FUZZ_ASSERT(!req.container_id == !again.container_id);
		FUZZ_ASSERT(!req.container_id || !strcmp(req.container_id, again.container_id));
		FUZZ_ASSERT(fuzz_same_json(req.process, again.process));
		FUZZ_ASSERT(fuzz_same_json(req.resources, again.resources));
		vc_mon_request_release(&again);
		free(body);
	}
	vc_mon_request_release(&req);
	FUZZ_ASSERT(!req.container_id && !req.process && !req.resources);
}

static void fuzz_monitor_answers(const uint8_t *data, size_t size)
{
	struct vc_error err = {0};
	char *body = NULL;
	size_t len = 0;
	struct vc_mon_stream s, s2;
	if (vc_mon_stream_decode(data, size, &s, &err) == 0) {
		fuzz_monitor_stats.answers++;
		FUZZ_ASSERT(s.stream_id != 0);
		FUZZ_ASSERT(vc_mon_stream_encode(&s, &body, &len, NULL) == 0);
		FUZZ_ASSERT(vc_mon_stream_decode(body, len, &s2, NULL) == 0);
		FUZZ_ASSERT(s2.stream_id == s.stream_id);
		free(body);
	} else {
		FUZZ_ASSERT(err.msg[0] && err.code);
	}
	struct vc_mon_exit e, e2;
	if (vc_mon_exit_decode(data, size, &e, &err) == 0) {
		fuzz_monitor_stats.answers++;
		FUZZ_ASSERT(e.exit_code >= 0 && e.exit_code <= 255);
		FUZZ_ASSERT(e.signal >= 0 && e.signal < NSIG);
		FUZZ_ASSERT(vc_mon_exit_encode(&e, &body, &len, NULL) == 0);
		FUZZ_ASSERT(vc_mon_exit_decode(body, len, &e2, NULL) == 0);
		FUZZ_ASSERT(e2.exit_code == e.exit_code && e2.signal == e.signal);
		free(body);
	}
	struct vc_mon_removed rm, rm2;
	if (vc_mon_removed_decode(data, size, &rm, &err) == 0) {
		fuzz_monitor_stats.answers++;
		FUZZ_ASSERT(vc_mon_removed_encode(&rm, &body, &len, NULL) == 0);
		FUZZ_ASSERT(vc_mon_removed_decode(body, len, &rm2, NULL) == 0);
		FUZZ_ASSERT(rm2.sandbox == rm.sandbox);
		free(body);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_monitor_request(data, size);
	fuzz_monitor_answers(data, size);
	return 0;
}
