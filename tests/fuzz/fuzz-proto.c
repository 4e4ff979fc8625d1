/* libFuzzer entry for the agent protocol: the frame reader, the header codec, the
 * request/response decoders and the params field readers, fed untrusted bytes.
 *
 * `make fuzz` builds it (build/fuzz/fuzz-proto); tests/integration/51-fuzz.bats runs it
 * for a few seconds on a copy of tests/fuzz/corpus/proto.
 * By hand: build/fuzz/fuzz-proto -max_len=65536 CORPUS_DIR
 *
 * tests/unit/test-proto.c includes this file and drives it with its own
 * deterministic inputs, so it is compiled (and run under ASan) by every build.
 *
 * Input: byte 0 picks the size of the pieces the rest reaches the reader in (0: all
 * at once), so frames are split at every offset; the rest is also decoded as a bare
 * request and response body. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/proto.h"
#include "tests/fuzz/fuzz.h"

/* How far inputs got, so a driver can tell that the interesting paths ran. */
static struct {
	unsigned long frames, bad_frames, requests, responses, remote_errors, fields_ok;
} fuzz_proto_stats;

static void fuzz_fields(const struct vc_json *params, const char *method)
{
	static const char *const keys[] = {
		"container_id", "exec_id",	     "stream_id", "signal",	      "spec",
		"storages",	"spec.process.args", "version",	  "process.terminal", "a.b.c.d",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (int required = 0; required < 2; required++) {
			struct vc_error err = {0};
			const char *s = NULL;
			const struct vc_json *v = NULL;
			uint32_t u = 0;
			int r = vc_proto_get_string(params, method, keys[i], required, &s, &err);
			FUZZ_ASSERT(r == 0 || err.msg[0]);
			if (r == 0 && s) {
				FUZZ_ASSERT(strlen(s) < SIZE_MAX);
				fuzz_proto_stats.fields_ok++;
			}
			r = vc_proto_get_u32(params, method, keys[i], required, &u, &err);
			FUZZ_ASSERT(r == 0 || err.msg[0]);
			r = vc_proto_get_object(params, method, keys[i], required, &v, &err);
			FUZZ_ASSERT(r == 0 || err.msg[0]);
			FUZZ_ASSERT(r < 0 || !v || v->type == VC_JSON_OBJECT);
			r = vc_proto_get_array(params, method, keys[i], required, &v, &err);
			FUZZ_ASSERT(r == 0 || err.msg[0]);
			FUZZ_ASSERT(r < 0 || !v || v->type == VC_JSON_ARRAY);
		}
	}
}

static void fuzz_request(const uint8_t *body, size_t len)
{
	struct vc_error err = {0};
	char *method = NULL;
	struct vc_json *params = NULL;
	if (vc_proto_request_decode(body, len, &method, &params, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code);
		return;
	}
	fuzz_proto_stats.requests++;
	FUZZ_ASSERT(method && params && params->type == VC_JSON_OBJECT);
	fuzz_fields(params, method);
	/* What decoded must encode again and decode to the same method. */
	char *out = NULL;
	size_t n = 0;
	if (vc_proto_request_encode(method, params, &out, &n, &err) == 0) {
		char *m2 = NULL;
		struct vc_json *p2 = NULL;
		FUZZ_ASSERT(vc_proto_request_decode(out, n, &m2, &p2, &err) == 0);
		FUZZ_ASSERT(m2 && !strcmp(m2, method));
		free(m2);
		vc_json_free(p2);
		free(out);
	} else {
		FUZZ_ASSERT(err.msg[0]);
	}
	free(method);
	vc_json_free(params);
}

static void fuzz_response(const uint8_t *body, size_t len)
{
	struct vc_error err = {0};
	struct vc_json *result = NULL;
	int r = vc_proto_response_decode(body, len, &result, &err);
	if (r < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code == -r && !result);
		if (r != -EBADMSG && r != -ENOMEM)
			fuzz_proto_stats.remote_errors++;
		return;
	}
	fuzz_proto_stats.responses++;
	FUZZ_ASSERT(result && result->type == VC_JSON_OBJECT);
	fuzz_fields(result, "response");
	vc_json_free(result);
}

static void fuzz_frames(const uint8_t *data, size_t size, size_t piece)
{
	struct vc_frame_reader rd;
	vc_frame_reader_init(&rd);
	size_t off = 0;
	bool closed = false;
	while (off < size && !closed) {
		size_t n = piece && piece < size - off ? piece : size - off;
		FUZZ_ASSERT(vc_frame_reader_push(&rd, data + off, n) == 0);
		off += n;
		for (;;) {
			struct vc_error err = {0};
			struct vc_frame f;
			int r = vc_frame_reader_next(&rd, &f, &err);
			if (r == 0)
				break;
			if (r < 0) {
				/* A bad frame closes the channel. */
				FUZZ_ASSERT(err.msg[0]);
				fuzz_proto_stats.bad_frames++;
				closed = true;
				break;
			}
			fuzz_proto_stats.frames++;
			FUZZ_ASSERT(f.len <= VC_PROTO_MAX_BODY && f.id != 0);
			FUZZ_ASSERT(f.body >= rd.buf && f.body + f.len <= rd.buf + rd.len);
			if (f.type == VC_FRAME_REQUEST)
				fuzz_request(f.body, f.len);
			else if (f.type == VC_FRAME_RESPONSE)
				fuzz_response(f.body, f.len);
		}
		/* Memory follows the bytes that came, never a length a header claims:
		 * beyond its 16 KiB floor the buffer is at most twice the input. */
		FUZZ_ASSERT(vc_frame_reader_pending(&rd) <= off);
		FUZZ_ASSERT(rd.cap <= (16u << 10) || rd.cap <= 2 * size);
	}
	vc_frame_reader_free(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] % 32;
	data++;
	size--;
	if (size >= VC_PROTO_HDR_LEN) {
		struct vc_error err = {0};
		struct vc_frame f;
		if (vc_frame_header_decode(data, &f, &err) < 0)
			FUZZ_ASSERT(err.msg[0] && err.code);
	}
	fuzz_frames(data, size, piece);
	fuzz_request(data, size);
	fuzz_response(data, size);
	return 0;
}
