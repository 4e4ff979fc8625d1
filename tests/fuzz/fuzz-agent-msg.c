/* libFuzzer entry for the guest agent's typed answers (agent-proto/agent-msg.h): the
 * first byte picks the answer's kind, the rest is a RESPONSE body as the (untrusted)
 * guest would send it. What decodes must hold the promised invariants (ranges,
 * bounded printable strings, bounded pid arrays) and must survive encode + decode
 * unchanged; what does not must say why, with the struct left zeroed.
 *
 * `make build/fuzz/fuzz-agent-msg` builds it with clang -fsanitize=fuzzer,address,undefined;
 * tests/integration/50-cdi.bats runs it for a few seconds on a copy of
 * tests/fuzz/corpus/agent-msg. By hand: build/fuzz/fuzz-agent-msg CORPUS_DIR
 *
 * tests/unit/test-agent-msg.c includes this file and drives it with its own
 * deterministic inputs, so it is compiled and run by every build.
 *
 * Input: one byte (kind = byte % VC_AA_N), then the body. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/agent-msg.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

static struct {
	unsigned long decoded, refused;
} fuzz_agent_stats;

/* Any of the answer structs. */
union fuzz_agent_any {
	struct vc_agent_check check;
	struct vc_agent_guest_details details;
	struct vc_agent_pid pid;
	struct vc_agent_exit exit;
	struct vc_agent_pids pids;
	struct vc_agent_stats stats;
	struct vc_agent_iface iface;
	struct vc_agent_cpus cpus;
};

static bool fuzz_agent_str_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool fuzz_agent_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The invariants decode promises for kind a. */
static void fuzz_agent_check(enum vc_agent_answer a, const union fuzz_agent_any *m)
{
	switch (a) {
	case VC_AA_CHECK:
		FUZZ_ASSERT(
			fuzz_agent_str_ok(m->check.agent_version, sizeof(m->check.agent_version)));
		break;
	case VC_AA_GUEST_DETAILS:
		FUZZ_ASSERT(fuzz_agent_str_ok(m->details.kernel_release,
					      sizeof(m->details.kernel_release)));
		FUZZ_ASSERT(fuzz_agent_str_ok(m->details.agent_version,
					      sizeof(m->details.agent_version)));
		break;
	case VC_AA_PID:
		FUZZ_ASSERT(m->pid.pid >= 1);
		break;
	case VC_AA_EXIT:
		FUZZ_ASSERT(m->exit.exit_code >= 0 && m->exit.exit_code <= 255);
		FUZZ_ASSERT(m->exit.signal >= 0 && m->exit.signal < NSIG);
		break;
	case VC_AA_PIDS:
		FUZZ_ASSERT(m->pids.n <= VC_AGENT_PIDS_MAX && m->pids.pids);
		for (size_t i = 0; i < m->pids.n; i++)
			FUZZ_ASSERT(m->pids.pids[i] >= 1);
		break;
	case VC_AA_STATS:
		FUZZ_ASSERT(m->stats.has < (VC_AS_PIDS_LIMIT << 1));
		break;
	case VC_AA_IFACE:
		FUZZ_ASSERT(m->iface.name[0] && fuzz_agent_str_ok(m->iface.name, IFNAMSIZ));
		FUZZ_ASSERT(!strchr(m->iface.name, '/') && !strchr(m->iface.name, ' '));
		FUZZ_ASSERT(m->iface.ifindex >= 1);
		break;
	default:
		FUZZ_ASSERT(m->cpus.online >= 1 && m->cpus.online <= VC_AGENT_CPUS_MAX);
		break;
	}
}

static size_t fuzz_agent_size(enum vc_agent_answer a)
{
	static const size_t sizes[VC_AA_N] = {
		[VC_AA_CHECK] = sizeof(struct vc_agent_check),
		[VC_AA_GUEST_DETAILS] = sizeof(struct vc_agent_guest_details),
		[VC_AA_PID] = sizeof(struct vc_agent_pid),
		[VC_AA_EXIT] = sizeof(struct vc_agent_exit),
		[VC_AA_PIDS] = sizeof(struct vc_agent_pids),
		[VC_AA_STATS] = sizeof(struct vc_agent_stats),
		[VC_AA_IFACE] = sizeof(struct vc_agent_iface),
		[VC_AA_CPUS] = sizeof(struct vc_agent_cpus),
	};
	return sizes[a];
}

static bool fuzz_agent_same(enum vc_agent_answer a, const union fuzz_agent_any *x,
			    const union fuzz_agent_any *y)
{
	if (a == VC_AA_PIDS)
		return x->pids.n == y->pids.n &&
		       !memcmp(x->pids.pids, y->pids.pids, x->pids.n * sizeof(pid_t));
	/* The structs are zeroed before filling, so padding and string tails compare. */
	return !memcmp(x, y, fuzz_agent_size(a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum vc_agent_answer a = (enum vc_agent_answer)(data[0] % VC_AA_N);
	union fuzz_agent_any m, again;
	struct vc_error err = {0};
	memset(&m, 0xa5, sizeof(m));
	if (vc_agent_answer_decode(a, data + 1, size - 1, &m, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code);
		FUZZ_ASSERT(fuzz_agent_all_zero(&m, fuzz_agent_size(a)));
		fuzz_agent_stats.refused++;
		return 0;
	}
	fuzz_agent_stats.decoded++;
	fuzz_agent_check(a, &m);
	char *body = NULL;
	size_t len = 0;
	int r = vc_agent_answer_encode(a, &m, &body, &len, &err);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r == 0) {
		memset(&again, 0, sizeof(again));
		FUZZ_ASSERT(vc_agent_answer_decode(a, body, len, &again, &err) == 0);
		FUZZ_ASSERT(fuzz_agent_same(a, &m, &again));
		vc_agent_answer_release(a, &again);
		free(body);
	}
	vc_agent_answer_release(a, &m);
	return 0;
}
