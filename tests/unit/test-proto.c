/* Agent protocol: frame header codec, incremental reader, blocking frame I/O,
 * request/response bodies, field readers, vc_proto_call, and a fuzz loop. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"

/* The fuzz entry is compiled here so it cannot rot while the Makefile does not
 * build it; a broken property counts as a failed check instead of a trap. */
#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-proto.c"

#define BIG_CAP_LIMIT (VC_PROTO_HDR_LEN + VC_PROTO_MAX_BODY)

/* Appends one frame to buf at *off (no validation: tests build bad ones too). */
static void put_frame(uint8_t *buf, size_t *off, uint16_t type, uint16_t flags, uint32_t id,
		      const void *body, size_t len)
{
	vc_frame_header_encode(buf + *off, type, flags, id, (uint32_t)len);
	if (len)
		memcpy(buf + *off + VC_PROTO_HDR_LEN, body, len);
	*off += VC_PROTO_HDR_LEN + len;
}

/* ---- header ---- */

VC_TEST(header_round_trip)
{
	uint8_t h[VC_PROTO_HDR_LEN];
	vc_frame_header_encode(h, VC_FRAME_RESPONSE, 0, 0x01020304, 0x0a0b0c);
	static const uint8_t want[] = {0x00, 0x0a, 0x0b, 0x0c, 0x01, 0x02,
				       0x03, 0x04, 0x00, 0x02, 0x00, 0x00};
	CHECK(!memcmp(h, want, sizeof(want)));

	static const struct {
		uint16_t type, flags;
		uint32_t id, len;
	} ok[] = {
		{VC_FRAME_REQUEST, 0, 1, 0},
		{VC_FRAME_RESPONSE, 0, UINT32_MAX, VC_PROTO_MAX_BODY},
		{VC_FRAME_STDIN, VC_FRAME_F_EOF, 7, 0},
		{VC_FRAME_STDOUT, VC_FRAME_F_EOF, 0x80000000u, VC_PROTO_STREAM_CHUNK},
		{VC_FRAME_STDERR, 0, 2, 1},
		{VC_FRAME_DNS, 0, VC_DNS_FRAME_ID, 12},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(ok); i++) {
		struct vc_error err = {0};
		struct vc_frame f;
		vc_frame_header_encode(h, ok[i].type, ok[i].flags, ok[i].id, ok[i].len);
		CHECK(vc_frame_header_decode(h, &f, &err) == 0);
		CHECK(f.type == ok[i].type && f.flags == ok[i].flags);
		CHECK(f.id == ok[i].id && f.len == ok[i].len && !f.body);
	}
	CHECK_STR(vc_frame_type_name(VC_FRAME_STDERR), "STDERR");
	CHECK_STR(vc_frame_type_name(VC_FRAME_DNS), "DNS");
	CHECK(!vc_frame_type_name(0) && !vc_frame_type_name(7));
}

VC_TEST(header_rejects_bad)
{
	static const struct {
		uint16_t type, flags;
		uint32_t id, len;
		int code;
		const char *msg;
	} bad[] = {
		{0, 0, 1, 0, EPROTO, "frame header: type: unknown value 0"},
		{7, 0, 1, 0, EPROTO, "frame header: type: unknown value 7"},
		{VC_FRAME_DNS, 0, 0, 12, EPROTO, "id: 0 is not allowed on a DNS frame"},
		{0xffff, 0, 1, 0, EPROTO, "type: unknown value 65535"},
		{VC_FRAME_STDOUT, 0x2, 1, 0, EPROTO,
		 "frame header: flags: unknown bits 0x2 in 0x2"},
		{VC_FRAME_STDIN, 0x8001, 1, 0, EPROTO, "flags: unknown bits 0x8000 in 0x8001"},
		{VC_FRAME_REQUEST, 0, 1, VC_PROTO_MAX_BODY + 1, EMSGSIZE,
		 "frame header: len: 4194305 exceeds the maximum of 4194304 bytes"},
		{VC_FRAME_STDOUT, 0, 1, UINT32_MAX, EMSGSIZE, "len: 4294967295 exceeds"},
		{VC_FRAME_REQUEST, VC_FRAME_F_EOF, 1, 0, EPROTO,
		 "frame header: flags: EOF (0x1) is not allowed on a REQUEST frame"},
		{VC_FRAME_RESPONSE, VC_FRAME_F_EOF, 1, 0, EPROTO,
		 "EOF (0x1) is not allowed on a RESPONSE frame"},
		{VC_FRAME_REQUEST, 0, 0, 0, EPROTO,
		 "frame header: id: 0 is not allowed on a REQUEST frame (request ids start at 1)"},
		{VC_FRAME_RESPONSE, 0, 0, 5, EPROTO, "id: 0 is not allowed on a RESPONSE frame"},
		{VC_FRAME_STDIN, VC_FRAME_F_EOF, 0, 0, EPROTO,
		 "id: 0 is not allowed on a STDIN frame (stream ids start at 1)"},
		{VC_FRAME_STDERR, 0, 0, 3, EPROTO, "id: 0 is not allowed on a STDERR frame"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		uint8_t h[VC_PROTO_HDR_LEN];
		struct vc_error err = {0};
		struct vc_frame f;
		vc_frame_header_encode(h, bad[i].type, bad[i].flags, bad[i].id, bad[i].len);
		CHECK(vc_frame_header_decode(h, &f, &err) == -bad[i].code);
		CHECK(err.code == bad[i].code);
		CHECK_CONTAINS(err.msg, bad[i].msg);
	}
}

/* ---- incremental reader ---- */

VC_TEST(reader_one_byte_at_a_time)
{
	uint8_t stream[4096];
	size_t n = 0, ends[3];
	const char *req = "{\"method\":\"Check\",\"params\":{\"version\":1}}";
	uint8_t bin[1000];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7);
	put_frame(stream, &n, VC_FRAME_REQUEST, 0, 1, req, strlen(req));
	ends[0] = n;
	put_frame(stream, &n, VC_FRAME_STDOUT, VC_FRAME_F_EOF, 5, NULL, 0);
	ends[1] = n;
	put_frame(stream, &n, VC_FRAME_STDERR, 0, 5, bin, sizeof(bin));
	ends[2] = n;

	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	size_t got = 0;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		struct vc_error err = {0};
		struct vc_frame f;
		ok = vc_frame_reader_push(&r, stream + i, 1) == 0;
		int ret = vc_frame_reader_next(&r, &f, &err);
		/* A frame comes out exactly when its last byte arrives. */
		bool due = got < 3 && i + 1 == ends[got];
		if (ret != (due ? 1 : 0)) {
			fprintf(stderr, "# byte %zu: next returned %d (%s)\n", i, ret, err.msg);
			ok = false;
			break;
		}
		if (!due)
			continue;
		if (got == 0)
			ok = f.type == VC_FRAME_REQUEST && f.id == 1 && f.len == strlen(req) &&
			     !memcmp(f.body, req, f.len);
		else if (got == 1)
			ok = f.type == VC_FRAME_STDOUT && f.flags == VC_FRAME_F_EOF && f.id == 5 &&
			     f.len == 0;
		else
			ok = f.type == VC_FRAME_STDERR && f.len == sizeof(bin) &&
			     !memcmp(f.body, bin, sizeof(bin));
		got++;
	}
	size_t pending = vc_frame_reader_pending(&r), cap = r.cap;
	vc_frame_reader_free(&r);
	CHECK(ok);
	CHECK(got == 3);
	CHECK(pending == 0);
	CHECK(cap == 16384);
}

VC_TEST(reader_several_frames_in_one_push)
{
	uint8_t stream[256];
	size_t n = 0;
	put_frame(stream, &n, VC_FRAME_STDIN, 0, 9, "abc", 3);
	put_frame(stream, &n, VC_FRAME_STDIN, VC_FRAME_F_EOF, 9, NULL, 0);
	put_frame(stream, &n, VC_FRAME_RESPONSE, 0, 4, "{\"result\":{}}", 13);
	put_frame(stream, &n, VC_FRAME_STDOUT, 0, 9, "partial", 7);
	n -= 3; /* the last frame is incomplete */

	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	struct vc_error err = {0};
	struct vc_frame f[3];
	int ret[5];
	CHECK(vc_frame_reader_push(&r, stream, n) == 0);
	for (int i = 0; i < 3; i++)
		ret[i] = vc_frame_reader_next(&r, &f[i], &err);
	ret[3] = vc_frame_reader_next(&r, &(struct vc_frame){0}, &err);
	size_t pending = vc_frame_reader_pending(&r);
	/* The rest arrives: the fourth frame completes. */
	struct vc_frame last;
	CHECK(vc_frame_reader_push(&r, stream + n, 3) == 0);
	ret[4] = vc_frame_reader_next(&r, &last, &err);
	bool last_ok = ret[4] == 1 && last.len == 7 && !memcmp(last.body, "partial", 7);
	vc_frame_reader_free(&r);
	CHECK(ret[0] == 1 && ret[1] == 1 && ret[2] == 1 && ret[3] == 0);
	CHECK(f[0].type == VC_FRAME_STDIN && f[0].len == 3 && f[0].flags == 0);
	CHECK(f[1].type == VC_FRAME_STDIN && f[1].len == 0 && f[1].flags == VC_FRAME_F_EOF);
	CHECK(f[2].type == VC_FRAME_RESPONSE && f[2].id == 4 && f[2].len == 13);
	CHECK(pending == VC_PROTO_HDR_LEN + 4);
	CHECK(last_ok);
}

VC_TEST(reader_bad_frame_is_sticky)
{
	uint8_t stream[128];
	size_t n = 0;
	put_frame(stream, &n, VC_FRAME_STDOUT, 0, 1, "ok", 2);
	put_frame(stream, &n, 9, 0, 1, "bad", 3);
	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	struct vc_error err = {0}, err2 = {0};
	struct vc_frame f;
	CHECK(vc_frame_reader_push(&r, stream, n) == 0);
	int r1 = vc_frame_reader_next(&r, &f, &err);
	int r2 = vc_frame_reader_next(&r, &f, &err);
	int r3 = vc_frame_reader_next(&r, &f, &err2);
	vc_frame_reader_free(&r);
	CHECK(r1 == 1);
	CHECK(r2 == -EPROTO && r3 == -EPROTO);
	CHECK_CONTAINS(err.msg, "type: unknown value 9");
	CHECK_STR(err.msg, err2.msg);
}

/* A header alone allocates nothing near what it announces; the buffer grows with
 * the bytes that come, stops exactly at the frame's end, and is given back once
 * the big frame is consumed. */
VC_TEST(reader_max_body_small_pieces)
{
	const size_t body_len = VC_PROTO_MAX_BODY;
	_cleanup_free_ uint8_t *stream = malloc(2 * VC_PROTO_HDR_LEN + body_len + 5);
	CHECK(stream);
	size_t n = 0;
	vc_frame_header_encode(stream, VC_FRAME_STDOUT, 0, 3, (uint32_t)body_len);
	n = VC_PROTO_HDR_LEN;
	for (size_t i = 0; i < body_len; i++)
		stream[n + i] = (uint8_t)(i ^ (i >> 8));
	n += body_len;
	put_frame(stream, &n, VC_FRAME_STDOUT, VC_FRAME_F_EOF, 3, "tail!", 5);

	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	struct vc_error err = {0};
	struct vc_frame f;
	size_t off = 0, max_cap = 0, cap_after_header = 0;
	int frames = 0;
	bool body_ok = false, tail_ok = false;
	unsigned long long t0 = vc_now_ns();
	while (off < n) {
		size_t piece = n - off < 7 ? n - off : 7;
		if (vc_frame_reader_push(&r, stream + off, piece) < 0)
			break;
		off += piece;
		if (off >= 100 && !cap_after_header)
			cap_after_header = r.cap;
		if (r.cap > max_cap)
			max_cap = r.cap;
		int ret;
		while ((ret = vc_frame_reader_next(&r, &f, &err)) == 1) {
			if (frames == 0)
				body_ok =
					f.len == body_len && !memcmp(f.body, stream + 12, body_len);
			else
				tail_ok = f.len == 5 && f.flags == VC_FRAME_F_EOF &&
					  !memcmp(f.body, "tail!", 5);
			frames++;
		}
		if (ret < 0)
			break;
	}
	unsigned long long ms = (vc_now_ns() - t0) / 1000000;
	size_t cap_end = r.cap;
	vc_frame_reader_free(&r);
	CHECK(off == n);
	CHECK(frames == 2 && body_ok && tail_ok);
	CHECK(cap_after_header == 16384);
	CHECK(max_cap == BIG_CAP_LIMIT);
	CHECK(cap_end == 16384);
	/* 600,000 pushes: linear is milliseconds, quadratic copying would be hours. */
	CHECK(ms < 20000);
}

/* vc_frame_write on a non-blocking socket waits instead of tearing a frame, and
 * vc_frame_reader_fill assembles a max-size body from whatever read(2) returns. */
VC_TEST(reader_fill_max_body_from_socket)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(a);
		uint8_t *body = malloc(VC_PROTO_MAX_BODY);
		if (!body || vc_set_nonblock(b, true) < 0)
			_exit(2);
		for (size_t i = 0; i < VC_PROTO_MAX_BODY; i++)
			body[i] = (uint8_t)(i % 251);
		struct vc_error err = {0};
		if (vc_frame_write(b, VC_FRAME_STDOUT, 0, 11, body, VC_PROTO_MAX_BODY, &err) < 0 ||
		    vc_frame_write(b, VC_FRAME_STDOUT, VC_FRAME_F_EOF, 11, NULL, 0, &err) < 0)
			_exit(3);
		_exit(0);
	}
	close(steal_fd(b));
	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	struct vc_error err = {0};
	struct vc_frame f;
	int frames = 0, n;
	bool body_ok = false, eof_ok = false;
	size_t max_cap = 0;
	while ((n = vc_frame_reader_fill(&r, a)) > 0) {
		if (r.cap > max_cap)
			max_cap = r.cap;
		while (vc_frame_reader_next(&r, &f, &err) == 1) {
			if (frames++ == 0) {
				body_ok = f.len == VC_PROTO_MAX_BODY && f.id == 11;
				for (size_t i = 0; body_ok && i < f.len; i++)
					body_ok = f.body[i] == (uint8_t)(i % 251);
			} else {
				eof_ok = f.flags == VC_FRAME_F_EOF && f.len == 0;
			}
		}
	}
	size_t pending = vc_frame_reader_pending(&r);
	vc_frame_reader_free(&r);
	CHECK(vc_unit_reap(pid) == 0);
	CHECK(n == 0);
	CHECK(frames == 2 && body_ok && eof_ok);
	CHECK(pending == 0);
	CHECK(max_cap <= BIG_CAP_LIMIT);
}

VC_TEST(reader_fill_eagain_and_partial_eof)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	struct vc_frame_reader r;
	vc_frame_reader_init(&r);
	int r0 = vc_frame_reader_fill(&r, a);
	uint8_t stream[64];
	size_t n = 0;
	put_frame(stream, &n, VC_FRAME_STDOUT, 0, 1, "hello", 5);
	put_frame(stream, &n, VC_FRAME_STDOUT, 0, 1, "cut short", 9);
	CHECK(write(b, stream, n - 4) == (ssize_t)(n - 4));
	close(steal_fd(b));
	int r1 = vc_frame_reader_fill(&r, a);
	int r2 = vc_frame_reader_fill(&r, a);
	struct vc_error err = {0};
	struct vc_frame f;
	int r3 = vc_frame_reader_next(&r, &f, &err);
	bool first_ok = r3 == 1 && f.len == 5 && !memcmp(f.body, "hello", 5);
	int r4 = vc_frame_reader_next(&r, &f, &err);
	size_t pending = vc_frame_reader_pending(&r);
	vc_frame_reader_free(&r);
	CHECK(r0 == -EAGAIN);
	CHECK(r1 == (int)(n - 4) && r2 == 0);
	CHECK(first_ok && r4 == 0);
	CHECK(pending == VC_PROTO_HDR_LEN + 9 - 4);
}

/* ---- blocking frame I/O ---- */

VC_TEST(frame_write_and_read_one)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	struct vc_error err = {0};
	CHECK(vc_frame_write(a, VC_FRAME_REQUEST, 0, 42, "{\"x\":1}", 7, &err) == 0);
	CHECK(vc_frame_write(a, VC_FRAME_STDIN, VC_FRAME_F_EOF, 3, NULL, 0, &err) == 0);
	close(steal_fd(a));

	struct vc_frame f;
	_cleanup_free_ uint8_t *b1 = NULL;
	_cleanup_free_ uint8_t *b2 = NULL;
	_cleanup_free_ uint8_t *b3 = NULL;
	CHECK(vc_frame_read_one(b, &f, &b1, &err) == 0);
	CHECK(f.type == VC_FRAME_REQUEST && f.id == 42 && f.len == 7 && f.body == b1);
	CHECK_STR((char *)b1, "{\"x\":1}");
	CHECK(vc_frame_read_one(b, &f, &b2, &err) == 0);
	CHECK(f.type == VC_FRAME_STDIN && f.flags == VC_FRAME_F_EOF && f.len == 0 && b2[0] == 0);
	CHECK(vc_frame_read_one(b, &f, &b3, &err) == -EPIPE);
	CHECK_CONTAINS(err.msg, "connection closed");
	CHECK(!b3);
}

VC_TEST(frame_read_one_truncated)
{
	static const struct {
		size_t cut; /* bytes of the 12 + 10 byte frame that arrive */
		const char *msg;
	} cases[] = {
		{5, "truncated frame header: connection closed after 5 of 12 bytes"},
		{15, "truncated STDOUT frame (id 8): connection closed after 3 of 10 body bytes"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(cases); i++) {
		int sv[2];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		_cleanup_close_ int a = sv[0];
		_cleanup_close_ int b = sv[1];
		uint8_t buf[64];
		size_t n = 0;
		put_frame(buf, &n, VC_FRAME_STDOUT, 0, 8, "0123456789", 10);
		CHECK(write(a, buf, cases[i].cut) == (ssize_t)cases[i].cut);
		close(steal_fd(a));
		struct vc_error err = {0};
		struct vc_frame f;
		_cleanup_free_ uint8_t *body = NULL;
		CHECK(vc_frame_read_one(b, &f, &body, &err) == -EPROTO);
		CHECK_CONTAINS(err.msg, cases[i].msg);
		CHECK(!body);
	}
	/* A bad header read with read_one fails like the reader's. */
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	uint8_t h[VC_PROTO_HDR_LEN];
	vc_frame_header_encode(h, VC_FRAME_RESPONSE, 0, 1, VC_PROTO_MAX_BODY + 1);
	CHECK(write(a, h, sizeof(h)) == (ssize_t)sizeof(h));
	struct vc_error err = {0};
	struct vc_frame f;
	_cleanup_free_ uint8_t *body = NULL;
	CHECK(vc_frame_read_one(b, &f, &body, &err) == -EMSGSIZE);
	CHECK_CONTAINS(err.msg, "len: 4194305 exceeds");
}

VC_TEST(frame_write_rejects_and_epipe)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	struct vc_error err = {0};
	char x = 0;
	CHECK(vc_frame_write(a, VC_FRAME_STDOUT, 0, 1, &x, (size_t)VC_PROTO_MAX_BODY + 1, &err) ==
	      -EMSGSIZE);
	CHECK_CONTAINS(err.msg, "body of 4194305 bytes exceeds the maximum of 4194304");
	CHECK(vc_frame_write(a, VC_FRAME_REQUEST, 0, 0, "{}", 2, &err) == -EPROTO);
	CHECK_CONTAINS(err.msg, "write frame: frame header: id: 0 is not allowed on a REQUEST");
	CHECK(vc_frame_write(a, VC_FRAME_RESPONSE, VC_FRAME_F_EOF, 1, "{}", 2, &err) == -EPROTO);
	CHECK(vc_frame_write(a, 77, 0, 1, NULL, 0, &err) == -EPROTO);
	CHECK_CONTAINS(err.msg, "unknown value 77");
	/* Nothing was sent for any of them. */
	CHECK(vc_set_nonblock(b, true) == 0);
	CHECK(read(b, &x, 1) < 0 && errno == EAGAIN);
	/* A peer that went away is EPIPE, not a SIGPIPE that kills the caller. */
	close(steal_fd(b));
	CHECK(vc_frame_write(a, VC_FRAME_STDOUT, 0, 1, "data", 4, &err) == -EPIPE);
	CHECK_CONTAINS(err.msg, "write STDOUT frame (id 1, 4 bytes)");
}

/* ---- request / response bodies ---- */

static int parse(const char *text, struct vc_json **out)
{
	return vc_json_parse(text, strlen(text), "test", out, NULL);
}

VC_TEST(request_round_trip)
{
	_cleanup_json_ struct vc_json *params = NULL;
	CHECK(parse("{\"container_id\":\"c1\",\"stream_id\":3,"
		    "\"spec\":{\"process\":{\"args\":[\"sh\",\"-c\",\"\\u00e9\"]}}}",
		    &params) == 0);
	struct vc_error err = {0};
	_cleanup_free_ char *body = NULL;
	size_t len;
	CHECK(vc_proto_request_encode(VC_M_CREATE_CONTAINER, params, &body, &len, &err) == 0);
	CHECK(len == strlen(body));
	CHECK(!strncmp(body, "{\"method\":\"CreateContainer\",\"params\":{\"container_id\":\"c1\"",
		       56));

	_cleanup_free_ char *method = NULL;
	_cleanup_json_ struct vc_json *got = NULL;
	CHECK(vc_proto_request_decode(body, len, &method, &got, &err) == 0);
	CHECK_STR(method, "CreateContainer");
	const char *id = NULL;
	uint32_t sid = 0;
	const struct vc_json *args = NULL;
	CHECK(vc_proto_get_string(got, method, "container_id", true, &id, &err) == 0);
	CHECK_STR(id, "c1");
	CHECK(vc_proto_get_u32(got, method, "stream_id", true, &sid, &err) == 0 && sid == 3);
	CHECK(vc_proto_get_array(got, method, "spec.process.args", true, &args, &err) == 0);
	CHECK(args && args->u.array.len == 3);
	CHECK_STR(vc_json_str(args->u.array.items[2]), "\xc3\xa9");

	/* No params: an empty object goes out, and comes back. */
	_cleanup_free_ char *b2 = NULL;
	CHECK(vc_proto_request_encode(VC_M_CHECK, NULL, &b2, &len, &err) == 0);
	CHECK_STR(b2, "{\"method\":\"Check\",\"params\":{}}");
	_cleanup_free_ char *m3 = NULL;
	_cleanup_json_ struct vc_json *p3 = NULL;
	const char *bare = "{\"method\":\"GetGuestDetails\"}";
	CHECK(vc_proto_request_decode(bare, strlen(bare), &m3, &p3, &err) == 0);
	CHECK_STR(m3, "GetGuestDetails");
	CHECK(p3 && p3->type == VC_JSON_OBJECT && p3->u.object.len == 0);
}

VC_TEST(request_encode_rejects)
{
	struct vc_error err = {0};
	char *body = NULL;
	size_t len;
	CHECK(vc_proto_request_encode(NULL, NULL, &body, &len, &err) == -EINVAL);
	CHECK(vc_proto_request_encode("", NULL, &body, &len, &err) == -EINVAL);
	CHECK(vc_proto_request_encode("Bad Method", NULL, &body, &len, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "request: method `Bad Method`: must be 1 to 64 letters");
	_cleanup_json_ struct vc_json *arr = vc_json_new_array();
	CHECK(vc_proto_request_encode("Check", arr, &body, &len, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "Check: params: must be an object");
	CHECK(!body);
}

VC_TEST(request_decode_rejects_malformed)
{
	static const struct {
		const char *body;
		const char *msg;
	} bad[] = {
		{"", "request: "},
		{"not json", "request: parse error at byte"},
		{"{\"method\":\"Check\"} {}", "request: parse error"},
		{"[1,2]", "request: must be a JSON object, not array"},
		{"\"Check\"", "request: must be a JSON object, not string"},
		{"{}", "request: method is required"},
		{"{\"params\":{}}", "request: method is required"},
		{"{\"method\":5}", "request: method: must be a string, not number"},
		{"{\"method\":null}", "request: method: must be a string, not null"},
		{"{\"method\":[\"Check\"]}", "request: method: must be a string, not array"},
		{"{\"method\":\"\"}", "request: method ``: must be 1 to 64 letters"},
		{"{\"method\":\"rm -rf\"}", "request: method `rm -rf`: must be"},
		{"{\"method\":\"Check\\u0000x\"}", "request: method `Check`: must be"},
		{"{\"method\":\"Check\",\"params\":[]}",
		 "Check: params: must be an object, not array"},
		{"{\"method\":\"Check\",\"params\":\"x\"}",
		 "Check: params: must be an object, not string"},
		{"{\"method\":\"Check\",\"params\":null}",
		 "Check: params: must be an object, not null"},
		{"{\"method\":\"Check\",\"params\":{\"a\":1}", "request: parse error"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		struct vc_error err = {0};
		char *method = NULL;
		struct vc_json *params = NULL;
		int r = vc_proto_request_decode(bad[i].body, strlen(bad[i].body), &method, &params,
						&err);
		if (r != -EINVAL || method || params)
			fprintf(stderr, "# case %zu (%s): %d\n", i, bad[i].body, r);
		CHECK(r == -EINVAL && !method && !params);
		CHECK_CONTAINS(err.msg, bad[i].msg);
	}
}

VC_TEST(response_round_trip)
{
	_cleanup_json_ struct vc_json *res = NULL;
	CHECK(parse("{\"pid\":42}", &res) == 0);
	struct vc_error err = {0};
	_cleanup_free_ char *body = NULL;
	size_t len;
	CHECK(vc_proto_response_encode(res, &body, &len, &err) == 0);
	CHECK_STR(body, "{\"result\":{\"pid\":42}}");
	_cleanup_json_ struct vc_json *got = NULL;
	CHECK(vc_proto_response_decode(body, len, &got, &err) == 0);
	uint32_t pid = 0;
	CHECK(vc_proto_get_u32(got, "CreateContainer", "pid", true, &pid, &err) == 0 && pid == 42);

	_cleanup_free_ char *empty = NULL;
	CHECK(vc_proto_response_encode(NULL, &empty, &len, &err) == 0);
	CHECK_STR(empty, "{\"result\":{}}");
	_cleanup_json_ struct vc_json *arr = vc_json_new_array();
	char *none = NULL;
	CHECK(vc_proto_response_encode(arr, &none, &len, &err) == -EINVAL && !none);
}

VC_TEST(response_error_round_trip)
{
	_cleanup_free_ char *body = NULL;
	size_t len;
	CHECK(vc_proto_response_encode_error(ENOENT, "CreateContainer: no container `x`", &body,
					     &len) == 0);
	CHECK_STR(body,
		  "{\"error\":{\"code\":2,\"message\":\"CreateContainer: no container `x`\"}}");
	struct vc_error err = {0};
	struct vc_json *res = NULL;
	CHECK(vc_proto_response_decode(body, len, &res, &err) == -ENOENT);
	CHECK(err.code == ENOENT && !res);
	CHECK_STR(err.msg, "CreateContainer: no container `x`");

	/* A negative errno is taken as its value, 0 becomes EIO, no message the
	 * strerror text. */
	_cleanup_free_ char *b2 = NULL;
	CHECK(vc_proto_response_encode_error(-EINVAL, NULL, &b2, &len) == 0);
	CHECK(vc_proto_response_decode(b2, len, &res, &err) == -EINVAL);
	CHECK_STR(err.msg, strerror(EINVAL));
	_cleanup_free_ char *b3 = NULL;
	CHECK(vc_proto_response_encode_error(0, "x", &b3, &len) == 0);
	CHECK(vc_proto_response_decode(b3, len, &res, &err) == -EIO);

	/* A huge message with bad UTF-8 is cleaned, cut on a character boundary and
	 * still decodes. */
	char big[3001];
	for (size_t i = 0; i < 3000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[3000] = 0;
	_cleanup_free_ char *b4 = NULL;
	CHECK(vc_proto_response_encode_error(EPERM, big + 1, &b4, &len) == 0);
	CHECK(vc_proto_response_decode(b4, len, &res, &err) == -EPERM);
	CHECK(strlen(err.msg) > 900 && strlen(err.msg) < VC_ERROR_MSG_MAX);
	CHECK(!strncmp(err.msg, "?\xc3\xa9\xc3\xa9", 5));
	CHECK(!strcmp(err.msg + strlen(err.msg) - 2, "\xc3\xa9"));
	_cleanup_free_ char *b5 = NULL;
	CHECK(vc_proto_response_encode_error(EPERM, "bad \xff\xc0\xaf \xed\xa0\x80 end \xe2\x82",
					     &b5, &len) == 0);
	CHECK(vc_proto_response_decode(b5, len, &res, &err) == -EPERM);
	CHECK_STR(err.msg, "bad ??? ??? end ??");
}

VC_TEST(response_decode_rejects_malformed)
{
	static const struct {
		const char *body;
		const char *msg;
	} bad[] = {
		{"<html>", "response: parse error"},
		{"[]", "response: must be a JSON object, not array"},
		{"{}", "response: has neither result nor error"},
		{"{\"result\":{},\"error\":{\"code\":1}}", "response: has both result and error"},
		{"{\"result\":[]}", "response: result: must be an object, not array"},
		{"{\"result\":null}", "response: result: must be an object, not null"},
		{"{\"error\":\"boom\"}", "response: error: must be an object, not string"},
		{"{\"error\":{}}", "response: error.code: must be an errno value from 1 to 4095"},
		{"{\"error\":{\"code\":0}}", "error.code: must be an errno value"},
		{"{\"error\":{\"code\":-2}}", "error.code: must be an errno value"},
		{"{\"error\":{\"code\":4096}}", "error.code: must be an errno value"},
		{"{\"error\":{\"code\":2.5}}", "error.code: must be an errno value"},
		{"{\"error\":{\"code\":\"2\"}}", "error.code: must be an errno value"},
		{"{\"error\":{\"code\":99999999999999999999}}", "error.code: must be"},
		{"{\"error\":{\"code\":2,\"message\":7}}",
		 "error.message: must be a string, not number"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(bad); i++) {
		struct vc_error err = {0};
		struct vc_json *res = NULL;
		int r = vc_proto_response_decode(bad[i].body, strlen(bad[i].body), &res, &err);
		if (r != -EBADMSG)
			fprintf(stderr, "# case %zu (%s): %d %s\n", i, bad[i].body, r, err.msg);
		CHECK(r == -EBADMSG && err.code == EBADMSG && !res);
		CHECK_CONTAINS(err.msg, bad[i].msg);
	}
}

/* ---- field readers ---- */

VC_TEST(field_readers)
{
	_cleanup_json_ struct vc_json *p = NULL;
	CHECK(parse("{\"container_id\":\"c1\",\"n\":5,\"neg\":-1,\"big\":4294967296,"
		    "\"max\":4294967295,\"frac\":1.5,\"s\":\"5\",\"nul\":\"a\\u0000b\","
		    "\"null\":null,\"obj\":{\"inner\":{\"x\":\"y\"}},\"arr\":[1]}",
		    &p) == 0);
	const char *M = "CreateContainer";
	struct vc_error err = {0};
	const char *s = "unchanged";
	uint32_t u = 77;
	const struct vc_json *v = (void *)1;

	CHECK(vc_proto_get_string(p, M, "container_id", true, &s, &err) == 0);
	CHECK_STR(s, "c1");
	CHECK(vc_proto_get_string(p, M, "exec_id", false, &s, &err) == 0 && s == NULL);
	CHECK(vc_proto_get_string(p, M, "null", false, &s, &err) == 0 && s == NULL);
	CHECK(vc_proto_get_string(p, M, "exec_id", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.exec_id is required");
	CHECK(vc_proto_get_string(p, M, "null", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.null is required");
	CHECK(vc_proto_get_string(p, M, "n", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.n: must be a string");
	CHECK(vc_proto_get_string(p, M, "nul", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.nul: must not contain a NUL byte");

	CHECK(vc_proto_get_u32(p, M, "n", true, &u, &err) == 0 && u == 5);
	CHECK(vc_proto_get_u32(p, M, "max", true, &u, &err) == 0 && u == UINT32_MAX);
	u = 77;
	CHECK(vc_proto_get_u32(p, M, "absent", false, &u, &err) == 0 && u == 77);
	CHECK(vc_proto_get_u32(p, M, "absent", true, &u, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.absent is required");
	CHECK(vc_proto_get_u32(p, M, "neg", true, &u, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.neg: must be an integer from 0 to 4294967295 "
			   "(got -1)");
	CHECK(vc_proto_get_u32(p, M, "big", true, &u, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "(got 4294967296)");
	CHECK(vc_proto_get_u32(p, M, "frac", true, &u, &err) == -EINVAL);
	CHECK_CONTAINS(err.msg, "(got 1.5)");
	CHECK(vc_proto_get_u32(p, M, "s", true, &u, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.s: must be an integer from 0 to 4294967295");
	CHECK(u == 77);

	CHECK(vc_proto_get_object(p, M, "obj", true, &v, &err) == 0 && v &&
	      v->type == VC_JSON_OBJECT);
	CHECK(vc_proto_get_object(p, M, "arr", true, &v, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.arr: must be an object");
	CHECK(vc_proto_get_object(p, M, "none", false, &v, &err) == 0 && v == NULL);
	CHECK(vc_proto_get_array(p, M, "arr", true, &v, &err) == 0 && v && v->u.array.len == 1);
	CHECK(vc_proto_get_array(p, M, "obj", false, &v, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.obj: must be an array");

	/* Dotted keys walk into objects and name the whole path. */
	CHECK(vc_proto_get_string(p, M, "obj.inner.x", true, &s, &err) == 0);
	CHECK_STR(s, "y");
	CHECK(vc_proto_get_string(p, M, "obj.inner.z", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.obj.inner.z is required");
	CHECK(vc_proto_get_string(p, M, "obj.missing.z", true, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.obj.missing is required");
	CHECK(vc_proto_get_string(p, M, "obj.missing.z", false, &s, &err) == 0 && !s);
	CHECK(vc_proto_get_string(p, M, "arr.x", false, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params.arr: must be an object");

	/* params itself must be an object. */
	_cleanup_json_ struct vc_json *arr = vc_json_new_array();
	CHECK(vc_proto_get_string(arr, M, "x", false, &s, &err) == -EINVAL);
	CHECK_STR(err.msg, "CreateContainer: params: must be an object");
	CHECK(vc_proto_get_u32(NULL, M, "x", false, &u, &err) == -EINVAL);
}

/* ---- vc_proto_call ---- */

/* The child's side of the call test: checks what it is sent, answers with noise
 * first. Exit status: 0 when every request looked right. */
static int call_peer(int fd)
{
	struct vc_error err = {0};
	struct vc_frame f;
	uint8_t *body = NULL;
	char *method = NULL;
	struct vc_json *params = NULL;
	uint32_t version = 0;

	if (vc_frame_read_one(fd, &f, &body, &err) < 0 || f.type != VC_FRAME_REQUEST)
		return 10;
	uint32_t id1 = f.id;
	if (vc_proto_request_decode(body, f.len, &method, &params, &err) < 0 ||
	    strcmp(method, "Check") ||
	    vc_proto_get_u32(params, method, "version", true, &version, &err) < 0 || version != 1)
		return 11;
	free(body);
	free(method);
	vc_json_free(params);
	/* Output of some process and a reply to someone else come first. */
	const char *other = "{\"result\":{\"version\":999}}";
	const char *mine = "{\"result\":{\"version\":1,\"agent_version\":\"0.1.0\"}}";
	if (vc_frame_write(fd, VC_FRAME_STDOUT, 0, 7, "noise", 5, &err) < 0 ||
	    vc_frame_write(fd, VC_FRAME_STDERR, VC_FRAME_F_EOF, 7, NULL, 0, &err) < 0 ||
	    vc_frame_write(fd, VC_FRAME_RESPONSE, 0, id1 + 1000, other, strlen(other), &err) < 0 ||
	    vc_frame_write(fd, VC_FRAME_RESPONSE, 0, id1, mine, strlen(mine), &err) < 0)
		return 12;

	if (vc_frame_read_one(fd, &f, &body, &err) < 0 || f.type != VC_FRAME_REQUEST ||
	    f.id == id1 || f.id == 0)
		return 13;
	uint32_t id2 = f.id;
	if (vc_proto_request_decode(body, f.len, &method, &params, &err) < 0 ||
	    strcmp(method, "StartContainer"))
		return 14;
	free(body);
	free(method);
	vc_json_free(params);
	char *reply = NULL;
	size_t len;
	if (vc_proto_response_encode_error(ENOENT, "StartContainer: no container `c9`", &reply,
					   &len) < 0 ||
	    vc_frame_write(fd, VC_FRAME_RESPONSE, 0, id2, reply, len, &err) < 0)
		return 15;
	free(reply);

	if (vc_frame_read_one(fd, &f, &body, &err) < 0 || f.type != VC_FRAME_REQUEST)
		return 16;
	free(body);
	/* Then hang up without answering. */
	return 0;
}

VC_TEST(proto_call_against_peer)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	_cleanup_close_ int a = sv[0];
	_cleanup_close_ int b = sv[1];
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(a);
		_exit(call_peer(b));
	}
	close(steal_fd(b));

	_cleanup_json_ struct vc_json *params = NULL;
	CHECK(parse("{\"version\":1}", &params) == 0);
	struct vc_error err = {0};
	struct vc_json *res = NULL;
	int r1 = vc_proto_call(a, VC_M_CHECK, params, &res, &err);
	uint32_t version = 0;
	const char *agent = NULL;
	bool res_ok = r1 == 0 &&
		      vc_proto_get_u32(res, "Check", "version", true, &version, &err) == 0 &&
		      vc_proto_get_string(res, "Check", "agent_version", true, &agent, &err) == 0 &&
		      version == 1 && !strcmp(agent, "0.1.0");
	vc_json_free(res);
	res = NULL;

	struct vc_error e2 = {0}, e3 = {0};
	int r2 = vc_proto_call(a, VC_M_START_CONTAINER, NULL, &res, &e2);
	int r3 = vc_proto_call(a, VC_M_REMOVE_CONTAINER, NULL, &res, &e3);
	int status = vc_unit_reap(pid);
	CHECK(status == 0);
	CHECK(res_ok);
	CHECK(r2 == -ENOENT && e2.code == ENOENT && !res);
	CHECK_STR(e2.msg, "StartContainer: no container `c9`");
	CHECK(r3 == -EPIPE);
	CHECK_STR(e3.msg, "connection closed before the reply to RemoveContainer");
}

/* ---- fuzzing ---- */

static unsigned long long rng_state;

static uint32_t rnd(void)
{
	return vc_unit_rand(&rng_state);
}

static const char *const fuzz_bodies[] = {
	"{\"method\":\"Check\",\"params\":{\"version\":1}}",
	"{\"method\":\"CreateContainer\",\"params\":{\"container_id\":\"c1\",\"stream_id\":3,"
	"\"storages\":[{\"source\":\"r0\",\"fstype\":\"9p\"}],\"spec\":{\"process\":{\"args\":"
	"[\"sh\"],\"terminal\":true}}}}",
	"{\"method\":\"SignalProcess\",\"params\":{\"container_id\":\"c1\",\"signal\":"
	"4294967296,\"all\":true}}",
	"{\"method\":\"WaitProcess\",\"params\":{\"container_id\":null,\"exec_id\":\"e\\u0000\"}}",
	"{\"result\":{\"pid\":42,\"version\":1}}",
	"{\"result\":{}}",
	"{\"error\":{\"code\":2,\"message\":\"no such container\"}}",
	"{\"error\":{\"code\":-1,\"message\":\"\"}}",
	"{\"a\":{\"b\":{\"c\":{\"d\":[[[[[[[[1e999]]]]]]]]}}}}",
	"[\"\\ud800\",1.5e-3,true,false,null]",
};

/* One input: the piece-size byte, then frames and bodies, mutated. */
static size_t fuzz_input(uint8_t *buf, size_t cap)
{
	size_t n = 0;
	buf[n++] = (uint8_t)rnd();
	uint32_t kind = rnd() % 4;
	if (kind == 0) {
		size_t len = rnd() % 300;
		for (size_t i = 0; i < len && n < cap; i++)
			buf[n++] = (uint8_t)rnd();
		return n;
	}
	int frames = 1 + (int)(rnd() % 4);
	for (int i = 0; i < frames; i++) {
		const char *tmpl = fuzz_bodies[rnd() % VC_ARRAY_SIZE(fuzz_bodies)];
		size_t blen = strlen(tmpl);
		if (n + VC_PROTO_HDR_LEN + blen + 8 > cap)
			break;
		size_t body_at = kind == 3 ? n : n + VC_PROTO_HDR_LEN;
		memcpy(buf + body_at, tmpl, blen);
		/* Half the bodies: flip, cut or copy a byte or two. */
		for (uint32_t m = rnd() % 2 ? 1 + rnd() % 2 : 0; m > 0; m--) {
			uint32_t op = rnd() % 3, at = rnd() % (uint32_t)(blen ? blen : 1);
			if (op == 0)
				buf[body_at + at] = (uint8_t)rnd();
			else if (op == 1)
				blen = at;
			else if (blen)
				buf[body_at + at] = buf[body_at + rnd() % blen];
		}
		if (kind == 3) { /* a bare body, no header */
			n += blen;
			continue;
		}
		uint16_t type = (uint16_t)(1 + rnd() % 5);
		uint16_t flags = type > 2 && rnd() % 2 ? VC_FRAME_F_EOF : 0;
		uint32_t id = 1 + rnd() % 3;
		uint32_t len = (uint32_t)blen;
		if (rnd() % 8 == 0) { /* a header that lies */
			uint32_t which = rnd() % 4;
			if (which == 0)
				len = rnd();
			else if (which == 1)
				type = (uint16_t)rnd();
			else if (which == 2)
				flags = (uint16_t)rnd();
			else
				id = 0;
		}
		vc_frame_header_encode(buf + n, type, flags, id, len);
		n += VC_PROTO_HDR_LEN + blen;
	}
	return n;
}

VC_TEST(fuzz_reader_and_decoders)
{
	static uint8_t buf[4096];
	rng_state = 0x5eed5eed12345678ULL;
	memset(&fuzz_proto_stats, 0, sizeof(fuzz_proto_stats));
	fuzz_assert_failures = 0;
	for (int i = 0; i < 20000; i++) {
		size_t n = fuzz_input(buf, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, n);
	}
	fprintf(stderr,
		"# fuzz: %lu frames, %lu bad frames, %lu requests, %lu responses, %lu remote "
		"errors, %lu fields read\n",
		fuzz_proto_stats.frames, fuzz_proto_stats.bad_frames, fuzz_proto_stats.requests,
		fuzz_proto_stats.responses, fuzz_proto_stats.remote_errors,
		fuzz_proto_stats.fields_ok);
	CHECK(fuzz_assert_failures == 0);
	/* The inputs reached every layer, not just the header check. */
	CHECK(fuzz_proto_stats.frames > 5000 && fuzz_proto_stats.bad_frames > 5000);
	CHECK(fuzz_proto_stats.requests > 500 && fuzz_proto_stats.responses > 200);
	CHECK(fuzz_proto_stats.remote_errors > 100 && fuzz_proto_stats.fields_ok > 500);
}

VC_TESTS(VC_T(header_round_trip), VC_T(header_rejects_bad), VC_T(reader_one_byte_at_a_time),
	 VC_T(reader_several_frames_in_one_push), VC_T(reader_bad_frame_is_sticky),
	 VC_T(reader_max_body_small_pieces), VC_T(reader_fill_max_body_from_socket),
	 VC_T(reader_fill_eagain_and_partial_eof), VC_T(frame_write_and_read_one),
	 VC_T(frame_read_one_truncated), VC_T(frame_write_rejects_and_epipe),
	 VC_T(request_round_trip), VC_T(request_encode_rejects),
	 VC_T(request_decode_rejects_malformed), VC_T(response_round_trip),
	 VC_T(response_error_round_trip), VC_T(response_decode_rejects_malformed),
	 VC_T(field_readers), VC_T(proto_call_against_peer), VC_T(fuzz_reader_and_decoders))
