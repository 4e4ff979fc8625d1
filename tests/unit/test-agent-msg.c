/* The guest agent's typed answers (agent-proto/agent-msg.h): round trips of every
 * answer, the exact wire form the host always read, each refusal with its message,
 * hostile bodies (huge and negative numbers, wrong types, 10^6-element arrays, deep
 * nesting, long strings), the agent's real answers (the harness of test-agent.c)
 * through the host's decoders, and the fuzz entry driven with deterministic inputs. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/agent-msg.h"
#include "agent-proto/proto.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "tests/unit/test-agent-harness.h"

#include "tests/unit/unit-fuzz.h"
#include "tests/fuzz/fuzz-agent-msg.c"

static int decode(enum vc_agent_answer a, const char *body, union fuzz_agent_any *m,
		  struct vc_error *err)
{
	*err = (struct vc_error){0};
	memset(m, 0x5a, sizeof(*m));
	return vc_agent_answer_decode(a, body, strlen(body), m, err);
}

/* The body must be refused with code and a message containing want, the struct
 * left zeroed. */
static int refused(enum vc_agent_answer a, const char *body, int code, const char *want)
{
	union fuzz_agent_any m;
	struct vc_error err;
	int r = decode(a, body, &m, &err);
	if (r != -code || err.code != code || !strstr(err.msg, want)) {
		fprintf(stderr, "# %.200s\n#   -> %d `%s` (want %d `%s`)\n", body, r, err.msg,
			-code, want);
		return 0;
	}
	return fuzz_agent_all_zero(&m, fuzz_agent_size(a));
}

/* Encodes m, checks the body is want (when given), decodes it and compares. */
static int round_trip(enum vc_agent_answer a, const void *m, const char *want)
{
	char *body = NULL;
	size_t len = 0;
	struct vc_error err = {0};
	union fuzz_agent_any again, orig;
	memset(&orig, 0, sizeof(orig));
	memcpy(&orig, m, fuzz_agent_size(a));
	int ok = vc_agent_answer_encode(a, m, &body, &len, &err) == 0;
	if (ok && want && strcmp(body, want)) {
		fprintf(stderr, "# %s\n#   want %s\n", body, want);
		ok = 0;
	}
	if (ok && vc_agent_answer_decode(a, body, len, &again, &err) < 0) {
		fprintf(stderr, "# %s -> %s\n", body, err.msg);
		ok = 0;
	}
	ok = ok && fuzz_agent_same(a, &orig, &again);
	if (ok)
		vc_agent_answer_release(a, &again);
	free(body);
	return ok;
}

VC_TEST(answer_names)
{
	CHECK_STR(vc_agent_answer_name(VC_AA_CHECK), "Check");
	CHECK_STR(vc_agent_answer_name(VC_AA_EXIT), "WaitProcess");
	CHECK_STR(vc_agent_answer_name(VC_AA_CPUS), "OnlineCPUs");
	CHECK(vc_agent_answer_name(VC_AA_N) == NULL);
	CHECK(vc_agent_answer_name((enum vc_agent_answer) - 1) == NULL);
}

VC_TEST(round_trips)
{
	struct vc_agent_check ck = {.version = 1, .agent_version = "0.1.0"};
	CHECK(round_trip(VC_AA_CHECK, &ck,
			 "{\"result\":{\"version\":1,\"agent_version\":\"0.1.0\"}}"));
	struct vc_agent_guest_details d = {.kernel_release = "6.1.0-vcrun",
					   .agent_version = "0.1.0"};
	CHECK(round_trip(VC_AA_GUEST_DETAILS, &d,
			 "{\"result\":{\"kernel_release\":\"6.1.0-vcrun\","
			 "\"agent_version\":\"0.1.0\"}}"));
	memset(d.kernel_release, 'k', VC_AGENT_STR_MAX);
	CHECK(round_trip(VC_AA_GUEST_DETAILS, &d, NULL));
	CHECK(round_trip(VC_AA_PID, &(struct vc_agent_pid){1}, "{\"result\":{\"pid\":1}}"));
	CHECK(round_trip(VC_AA_PID, &(struct vc_agent_pid){INT_MAX}, NULL));
	const struct vc_agent_exit exits[] = {{0, 0}, {255, 0}, {137, SIGKILL}, {0, NSIG - 1}};
	for (size_t i = 0; i < VC_ARRAY_SIZE(exits); i++)
		CHECK(round_trip(VC_AA_EXIT, &exits[i], NULL));
	CHECK(round_trip(VC_AA_EXIT, &(struct vc_agent_exit){3, 0},
			 "{\"result\":{\"exit_code\":3,\"signal\":0}}"));
	pid_t pids[] = {1, 42, INT_MAX};
	CHECK(round_trip(VC_AA_PIDS, &(struct vc_agent_pids){pids, 3},
			 "{\"result\":{\"pids\":[1,42,2147483647]}}"));
	CHECK(round_trip(VC_AA_PIDS, &(struct vc_agent_pids){pids, 0},
			 "{\"result\":{\"pids\":[]}}"));
	struct vc_agent_stats st = {0};
	CHECK(round_trip(VC_AA_STATS, &st,
			 "{\"result\":{\"cgroup_stats\":{\"memory\":{},\"cpu\":{},\"pids\":{}}}}"));
	st = (struct vc_agent_stats){.has = VC_AS_MEM_USAGE | VC_AS_OOM_KILL | VC_AS_CPU_USAGE |
					    VC_AS_CPU_USER | VC_AS_CPU_SYSTEM | VC_AS_PIDS_CURRENT |
					    VC_AS_PIDS_LIMIT,
				     .mem_usage = 1 << 20,
				     .oom_kill = 2,
				     .cpu_usage_usec = UINT64_MAX,
				     .cpu_user_usec = 7,
				     .cpu_system_usec = 8,
				     .pids_current = 3,
				     .pids_limit = 100};
	CHECK(round_trip(VC_AA_STATS, &st,
			 "{\"result\":{\"cgroup_stats\":{\"memory\":{\"usage\":1048576,"
			 "\"oom_kill\":2},\"cpu\":{\"usage_usec\":18446744073709551615,"
			 "\"user_usec\":7,\"system_usec\":8},\"pids\":{\"current\":3,"
			 "\"limit\":100}}}}"));
	CHECK(round_trip(VC_AA_IFACE, &(struct vc_agent_iface){"eth0", 2},
			 "{\"result\":{\"name\":\"eth0\",\"ifindex\":2}}"));
	CHECK(round_trip(VC_AA_IFACE, &(struct vc_agent_iface){"abcdefghijklmno", INT_MAX}, NULL));
	CHECK(round_trip(VC_AA_CPUS, &(struct vc_agent_cpus){4}, "{\"result\":{\"online\":4}}"));
	CHECK(round_trip(VC_AA_CPUS, &(struct vc_agent_cpus){VC_AGENT_CPUS_MAX}, NULL));
}

VC_TEST(encode_refuses)
{
	struct vc_error err = {0};
	char *body = NULL;
	size_t len;
	CHECK(vc_agent_answer_encode(VC_AA_PID, &(struct vc_agent_pid){0}, &body, &len, &err) ==
	      -EINVAL);
	CHECK_CONTAINS(err.msg, "CreateContainer: result.pid");
	CHECK(vc_agent_answer_encode(VC_AA_EXIT, &(struct vc_agent_exit){256, 0}, &body, &len,
				     &err) == -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_EXIT, &(struct vc_agent_exit){0, NSIG}, &body, &len,
				     &err) == -EINVAL);
	pid_t bad[] = {5, 0};
	CHECK(vc_agent_answer_encode(VC_AA_PIDS, &(struct vc_agent_pids){bad, 2}, &body, &len,
				     &err) == -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_IFACE, &(struct vc_agent_iface){"a b", 1}, &body, &len,
				     &err) == -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_IFACE, &(struct vc_agent_iface){"", 1}, &body, &len,
				     &err) == -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_CPUS, &(struct vc_agent_cpus){0}, &body, &len, &err) ==
	      -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_CHECK, &(struct vc_agent_check){1, "a\nb"}, &body, &len,
				     &err) == -EINVAL);
	CHECK(vc_agent_answer_encode(VC_AA_N, NULL, &body, &len, &err) == -EINVAL);
	CHECK(body == NULL);
}

VC_TEST(decode_refuses)
{
	/* the agent's own error comes back as it is */
	CHECK(refused(VC_AA_EXIT, "{\"error\":{\"code\":2,\"message\":\"no such process\"}}",
		      ENOENT, "no such process"));
	CHECK(refused(VC_AA_PIDS, "{\"error\":{\"code\":3,\"message\":\"gone\"}}", ESRCH, "gone"));
	/* not a response */
	CHECK(refused(VC_AA_CHECK, "nope", EBADMSG, ""));
	CHECK(refused(VC_AA_CHECK, "{\"result\":[]}", EBADMSG, ""));
	/* Check */
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"agent_version\":\"1\"}}", EBADMSG,
		      "Check: result.version is required"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":\"1\",\"agent_version\":\"1\"}}",
		      EBADMSG, "Check: result.version: must be a number, not string"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":4294967296,\"agent_version\":\"1\"}}",
		      EBADMSG, "Check: result.version: must be an integer from 0 to 4294967295"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":1}}", EBADMSG,
		      "Check: result.agent_version is required"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":1,\"agent_version\":\"a\\u001bb\"}}",
		      EBADMSG, "Check: result.agent_version: must be printable ASCII"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":1,\"agent_version\":\"a\\u0000b\"}}",
		      EBADMSG, "Check: result.agent_version: must be printable ASCII"));
	CHECK(refused(VC_AA_CHECK, "{\"result\":{\"version\":1,\"agent_version\":\"\xc3\xa9\"}}",
		      EBADMSG, "Check: result.agent_version: must be printable ASCII"));
	/* GetGuestDetails */
	CHECK(refused(VC_AA_GUEST_DETAILS, "{\"result\":{\"agent_version\":\"1\"}}", EBADMSG,
		      "GetGuestDetails: result.kernel_release is required"));
	CHECK(refused(VC_AA_GUEST_DETAILS,
		      "{\"result\":{\"kernel_release\":\"6\",\"agent_version\":7}}", EBADMSG,
		      "GetGuestDetails: result.agent_version: must be a string, not number"));
	/* pid */
	CHECK(refused(VC_AA_PID, "{\"result\":{}}", EBADMSG,
		      "CreateContainer: result.pid is required"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":0}}", EBADMSG,
		      "CreateContainer: result.pid: must be an integer from 1 to 2147483647"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":2147483648}}", EBADMSG,
		      "CreateContainer: result.pid: must be an integer from 1"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":-5}}", EBADMSG, "result.pid"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":1.5}}", EBADMSG, "result.pid"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":1e3}}", EBADMSG, "result.pid"));
	CHECK(refused(VC_AA_PID, "{\"result\":{\"pid\":true}}", EBADMSG,
		      "result.pid: must be a number, not boolean"));
	struct vc_agent_pid pid;
	struct vc_error err = {0};
	_cleanup_json_ struct vc_json *res = NULL;
	CHECK(vc_json_parse("{\"pid\":-1}", 10, "t", &res, NULL) == 0);
	CHECK(vc_agent_pid_from_json(VC_M_EXEC_PROCESS, res, &pid, &err) == -EBADMSG);
	CHECK_CONTAINS(err.msg, "ExecProcess: result.pid: must be an integer from 1 to 2147483647");
	/* WaitProcess */
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":256,\"signal\":0}}", EBADMSG,
		      "WaitProcess: result.exit_code: must be an integer from 0 to 255"));
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":-1,\"signal\":0}}", EBADMSG,
		      "WaitProcess: result.exit_code: must be an integer from 0 to 255"));
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":0,\"signal\":65}}", EBADMSG,
		      "WaitProcess: result.signal: must be an integer from 0 to"));
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":0,\"signal\":-9}}", EBADMSG,
		      "WaitProcess: result.signal"));
	CHECK(refused(VC_AA_EXIT,
		      "{\"result\":{\"exit_code\":99999999999999999999999999,\"signal\":0}}",
		      EBADMSG, "WaitProcess: result.exit_code"));
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":1}}", EBADMSG,
		      "WaitProcess: result.signal is required"));
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":null,\"signal\":0}}", EBADMSG,
		      "WaitProcess: result.exit_code is required"));
	/* ListProcesses */
	CHECK(refused(VC_AA_PIDS, "{\"result\":{}}", EBADMSG,
		      "ListProcesses: result.pids is required"));
	CHECK(refused(VC_AA_PIDS, "{\"result\":{\"pids\":{}}}", EBADMSG,
		      "ListProcesses: result.pids: must be an array, not object"));
	CHECK(refused(VC_AA_PIDS, "{\"result\":{\"pids\":[1,0]}}", EBADMSG,
		      "ListProcesses: result.pids[1]: must be an integer from 1 to 2147483647"));
	CHECK(refused(VC_AA_PIDS, "{\"result\":{\"pids\":[\"1\"]}}", EBADMSG,
		      "ListProcesses: result.pids[0]"));
	CHECK(refused(VC_AA_PIDS, "{\"result\":{\"pids\":[[1]]}}", EBADMSG,
		      "ListProcesses: result.pids[0]"));
	/* StatsContainer */
	CHECK(refused(VC_AA_STATS, "{\"result\":{}}", EBADMSG,
		      "StatsContainer: result.cgroup_stats is required"));
	CHECK(refused(VC_AA_STATS, "{\"result\":{\"cgroup_stats\":{\"memory\":[]}}}", EBADMSG,
		      "StatsContainer: result.cgroup_stats.memory: must be an object, not array"));
	CHECK(refused(VC_AA_STATS, "{\"result\":{\"cgroup_stats\":{\"cpu\":{\"usage_usec\":-1}}}}",
		      EBADMSG,
		      "StatsContainer: result.cgroup_stats.cpu.usage_usec: must be an unsigned "
		      "64-bit integer"));
	CHECK(refused(VC_AA_STATS,
		      "{\"result\":{\"cgroup_stats\":{\"pids\":{\"limit\":18446744073709551616}}}}",
		      EBADMSG, "StatsContainer: result.cgroup_stats.pids.limit"));
	CHECK(refused(VC_AA_STATS,
		      "{\"result\":{\"cgroup_stats\":{\"memory\":{\"usage\":\"max\"}}}}", EBADMSG,
		      "StatsContainer: result.cgroup_stats.memory.usage: must be a number, not "
		      "string"));
	/* UpdateInterface */
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"ifindex\":2}}", EBADMSG,
		      "UpdateInterface: result.name is required"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"\",\"ifindex\":2}}", EBADMSG,
		      "UpdateInterface: result.name: must be 1 to 15 bytes at most (got 0)"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"abcdefghijklmnop\",\"ifindex\":2}}",
		      EBADMSG,
		      "UpdateInterface: result.name: must be 1 to 15 bytes at most (got 16)"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"../x\",\"ifindex\":2}}", EBADMSG,
		      "UpdateInterface: result.name: must be printable ASCII without spaces"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"a b\",\"ifindex\":2}}", EBADMSG,
		      "UpdateInterface: result.name: must be printable"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"eth0\",\"ifindex\":0}}", EBADMSG,
		      "UpdateInterface: result.ifindex: must be an integer from 1"));
	CHECK(refused(VC_AA_IFACE, "{\"result\":{\"name\":\"eth0\"}}", EBADMSG,
		      "UpdateInterface: result.ifindex is required"));
	/* OnlineCPUs */
	CHECK(refused(VC_AA_CPUS, "{\"result\":{\"online\":0}}", EBADMSG,
		      "OnlineCPUs: result.online: must be an integer from 1 to 4096"));
	CHECK(refused(VC_AA_CPUS, "{\"result\":{\"online\":4097}}", EBADMSG, "OnlineCPUs"));
	/* unknown fields are ignored; a later duplicate wins as everywhere */
	union fuzz_agent_any m;
	CHECK(decode(VC_AA_EXIT, "{\"result\":{\"exit_code\":3,\"signal\":0,\"oom\":true}}", &m,
		     &err) == 0 &&
	      m.exit.exit_code == 3);
	CHECK(decode(VC_AA_CHECK, "{\"result\":{\"version\":1,\"agent_version\":\"\"}}", &m,
		     &err) == 0 &&
	      m.check.agent_version[0] == '\0');
}

/* A body of n copies of item between head and tail. */
static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *s = malloc(hl + il * n + tl + 1);
	if (!s)
		return NULL;
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * il, item, il);
	memcpy(s + hl + n * il, tail, tl + 1);
	return s;
}

VC_TEST(decode_hostile)
{
	/* 10^6 pids: bounded, refused before anything is allocated for them */
	_cleanup_free_ char *many = repeat("{\"result\":{\"pids\":[1", ",1", 1000000 - 1, "]}}");
	CHECK(many && strlen(many) < VC_PROTO_MAX_BODY);
	CHECK(refused(VC_AA_PIDS, many, EBADMSG, "ListProcesses: result.pids: more than 131072"));
	/* exactly the bound passes */
	_cleanup_free_ char *most =
		repeat("{\"result\":{\"pids\":[7", ",7", VC_AGENT_PIDS_MAX - 1, "]}}");
	union fuzz_agent_any m;
	struct vc_error err;
	CHECK(decode(VC_AA_PIDS, most, &m, &err) == 0 && m.pids.n == VC_AGENT_PIDS_MAX);
	if (m.pids.pids)
		CHECK(m.pids.pids[VC_AGENT_PIDS_MAX - 1] == 7);
	vc_agent_pids_release(&m.pids);
	/* deep nesting where a number belongs, and past what the parser takes */
	_cleanup_free_ char *deep_head = repeat("{\"result\":{\"exit_code\":", "[", 100, "");
	_cleanup_free_ char *deep = repeat(deep_head, "]", 100, ",\"signal\":0}}");
	CHECK(refused(VC_AA_EXIT, deep, EBADMSG,
		      "WaitProcess: result.exit_code: must be a number"));
	_cleanup_free_ char *deeper_head = repeat("{\"result\":{\"x\":", "[", 100000, "");
	_cleanup_free_ char *deeper = repeat(deeper_head, "]", 100000, "}}");
	CHECK(refused(VC_AA_CHECK, deeper, EBADMSG, ""));
	/* a 1 MiB string */
	_cleanup_free_ char *lng =
		repeat("{\"result\":{\"version\":1,\"agent_version\":\"", "v", 1 << 20, "\"}}");
	CHECK(refused(VC_AA_CHECK, lng, EBADMSG,
		      "Check: result.agent_version: must be 64 bytes at most (got 1048576)"));
	_cleanup_free_ char *lname =
		repeat("{\"result\":{\"ifindex\":1,\"name\":\"", "e", 1 << 20, "\"}}");
	CHECK(refused(VC_AA_IFACE, lname, EBADMSG, "UpdateInterface: result.name"));
	/* numbers as long as a body allows */
	_cleanup_free_ char *big = repeat("{\"result\":{\"pid\":", "9", 100000, "}}");
	CHECK(refused(VC_AA_PID, big, EBADMSG, "CreateContainer: result.pid"));
	_cleanup_free_ char *bigu = repeat(
		"{\"result\":{\"cgroup_stats\":{\"memory\":{\"usage\":", "9", 100000, "}}}}");
	CHECK(refused(VC_AA_STATS, bigu, EBADMSG, "cgroup_stats.memory.usage"));
	/* bytes that are not JSON, a body cut short */
	const uint8_t junk[] = {0xff, 0xfe, '{', 0, '}'};
	CHECK(vc_agent_answer_decode(VC_AA_EXIT, junk, sizeof(junk), &m, &err) == -EBADMSG);
	CHECK(refused(VC_AA_EXIT, "{\"result\":{\"exit_code\":1,", EBADMSG, ""));
	CHECK(refused(VC_AA_EXIT, "", EBADMSG, ""));
	CHECK(vc_agent_answer_decode(VC_AA_N, "{}", 2, &m, &err) == -EINVAL);
}

/* The agent's stats as agent/cgroup.c reads them from a cgroup's files. */
VC_TEST(agent_stats_from_files)
{
	char dir[PATH_MAX], p[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/cg", vc_unit_tmpdir());
	CHECK(vc_mkdir_p(dir, 0755, NULL) == 0);
	const char *files[][2] = {
		{"memory.current", "4096\n"},
		{"memory.max", "max\n"},
		{"memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"},
		{"cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"},
		{"pids.current", "2\n"},
		{"pids.max", "100\n"},
	};
	for (size_t i = 0; i < VC_ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
		CHECK(vc_write_file(p, files[i][1], strlen(files[i][1]), NULL) == 0);
	}
	struct vc_agent_stats st;
	agent_cgroup_stats(dir, &st);
	CHECK(round_trip(VC_AA_STATS, &st,
			 "{\"result\":{\"cgroup_stats\":{\"memory\":{\"usage\":4096,"
			 "\"oom_kill\":1},\"cpu\":{\"usage_usec\":1500,\"user_usec\":1000,"
			 "\"system_usec\":500},\"pids\":{\"current\":2,\"limit\":100}}}}"));
	CHECK(!(st.has & VC_AS_MEM_LIMIT));
}

/* A body from the live agent decodes as the host reads it. */
static bool decodes(enum vc_agent_answer a, const char *body, union fuzz_agent_any *m)
{
	struct vc_error err = {0};
	if (!body || vc_agent_answer_decode(a, body, strlen(body), m, &err) < 0) {
		fprintf(stderr, "# %s: %s -> %s\n", vc_agent_answer_name(a), body ? body : "(none)",
			err.msg);
		return false;
	}
	return true;
}

/* The real agent's answers (agent_serve() on a socketpair) through the host's decoders. */
VC_TEST(agent_answers_decode)
{
	START(h);
	union fuzz_agent_any m;
	CHECK(decodes(VC_AA_CHECK, CALL(&h, VC_M_CHECK, "{\"version\":1}"), &m));
	CHECK(m.check.version == VC_PROTO_VERSION);
	CHECK_STR(m.check.agent_version, VC_VERSION);
	CHECK(decodes(VC_AA_GUEST_DETAILS, CALL(&h, VC_M_GET_GUEST_DETAILS, "{}"), &m));
	CHECK_STR(m.details.agent_version, VC_VERSION);
	_cleanup_free_ char *spec =
		spec_json(rootfs, "[\"sh\",\"-c\",\"sleep 1; exit 7\"]", false, NULL);
	CHECK(decodes(VC_AA_PID,
		      CALL(&h, VC_M_CREATE_CONTAINER,
			   "{\"container_id\":\"am\",\"stream_id\":9,\"storages\":[],"
			   "\"stdin\":false,\"spec\":%s}",
			   spec),
		      &m));
	pid_t init = m.pid.pid;
	CHECK(is_ok(CALL(&h, VC_M_START_CONTAINER, "{\"container_id\":\"am\"}")));
	CHECK(decodes(VC_AA_PIDS, CALL(&h, VC_M_LIST_PROCESSES, "{\"container_id\":\"am\"}"), &m));
	bool has_init = false;
	for (size_t i = 0; i < m.pids.n; i++)
		has_init |= m.pids.pids[i] == init;
	CHECK(has_init);
	vc_agent_pids_release(&m.pids);
	CHECK(decodes(VC_AA_PID,
		      CALL(&h, VC_M_EXEC_PROCESS,
			   "{\"container_id\":\"am\",\"exec_id\":\"e\",\"stream_id\":11,"
			   "\"process\":{\"args\":[\"sh\",\"-c\",\"kill -TERM $$\"],\"cwd\":\"/\","
			   "\"env\":[\"PATH=/bin\"]}}"),
		      &m));
	CHECK(decodes(VC_AA_EXIT, wait_process(&h, "am", "e", 11, NULL), &m));
	CHECK(m.exit.exit_code == 128 + SIGTERM && m.exit.signal == SIGTERM);
	CHECK(decodes(VC_AA_EXIT, wait_process(&h, "am", NULL, 9, NULL), &m));
	CHECK(m.exit.exit_code == 7 && m.exit.signal == 0);
	char *r = CALL(&h, VC_M_STATS_CONTAINER, "{\"container_id\":\"am\"}");
	if (cgroot[0])
		CHECK(decodes(VC_AA_STATS, r, &m));
	else
		CHECK(err_code(r) != 0);
	CHECK(is_ok(CALL(&h, VC_M_REMOVE_CONTAINER, "{\"container_id\":\"am\"}")));
	STOP(h);
}

/* ---- fuzzing ---- */

static unsigned long long rng_state;

static uint32_t rnd(void)
{
	return vc_unit_rand(&rng_state);
}

static const char *const fuzz_bodies[] = {
	"{\"result\":{\"version\":1,\"agent_version\":\"0.1.0\"}}",
	"{\"result\":{\"kernel_release\":\"6.1.0\",\"agent_version\":\"0.1.0\"}}",
	"{\"result\":{\"pid\":42}}",
	"{\"result\":{\"exit_code\":137,\"signal\":9}}",
	"{\"result\":{\"pids\":[1,5,9]}}",
	"{\"result\":{\"cgroup_stats\":{\"memory\":{\"usage\":4096,\"limit\":8192,\"oom_kill\":1},"
	"\"cpu\":{\"usage_usec\":10,\"user_usec\":5,\"system_usec\":5},\"pids\":{\"current\":1,"
	"\"limit\":10}}}}",
	"{\"result\":{\"name\":\"eth0\",\"ifindex\":2}}",
	"{\"result\":{\"online\":2}}",
	"{\"error\":{\"code\":2,\"message\":\"container does not exist\"}}",
};

static size_t fuzz_input(uint8_t *buf, size_t cap)
{
	uint32_t k = rnd() % VC_ARRAY_SIZE(fuzz_bodies);
	const char *tmpl = fuzz_bodies[k];
	/* mostly the kind the body is for, so that the decoders accept some */
	buf[0] = (uint8_t)(rnd() % 4 ? k : rnd());
	size_t n = strlen(tmpl);
	if (n + 1 > cap)
		n = cap - 1;
	memcpy(buf + 1, tmpl, n);
	return vc_unit_mutate(buf + 1, n, cap - 1, &rng_state) + 1;
}

VC_TEST(fuzz_decoders)
{
	static uint8_t buf[4096];
	rng_state = 0x6167656e746d7367ULL;
	memset(&fuzz_agent_stats, 0, sizeof(fuzz_agent_stats));
	fuzz_assert_failures = 0;
	for (int i = 0; i < 20000; i++) {
		size_t n = fuzz_input(buf, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, n);
	}
	fprintf(stderr, "# fuzz: %lu decoded, %lu refused\n", fuzz_agent_stats.decoded,
		fuzz_agent_stats.refused);
	CHECK(fuzz_assert_failures == 0);
	CHECK(fuzz_agent_stats.decoded > 2000 && fuzz_agent_stats.refused > 2000);
}

VC_TESTS(VC_T(answer_names), VC_T(round_trips), VC_T(encode_refuses), VC_T(decode_refuses),
	 VC_T(decode_hostile), VC_T(agent_stats_from_files), VC_T(agent_answers_decode),
	 VC_T(fuzz_decoders))
