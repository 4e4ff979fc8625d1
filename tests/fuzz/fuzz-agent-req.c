/* libFuzzer entry for the host's typed requests as the agent decodes them
 * (agent-proto/agent-req.h): the input is a REQUEST body as anyone on the channel
 * could send it. What decodes must hold the promised invariants (ids by the
 * container id rule, stream ids non-zero, signals and sizes in range, documents of
 * the right outer type, arrays bounded) and must be a fixed point of encode +
 * decode; what does not must say why (EINVAL, or ENOSYS for an unknown method),
 * with the request left zeroed.
 *
 * `make build/fuzz/fuzz-agent-req` builds it with clang -fsanitize=fuzzer,address,undefined;
 * tests/integration/50-cdi.bats runs it for a few seconds on a copy of
 * tests/fuzz/corpus/agent-req. By hand: build/fuzz/fuzz-agent-req CORPUS_DIR
 *
 * tests/unit/test-agent-req.c includes this file and drives it with its own
 * deterministic inputs, so it is compiled and run by every build. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/agent-req.h"
#include "common/util.h"

#include "tests/fuzz/fuzz.h"

static struct {
	unsigned long decoded, refused;
} fuzz_req_stats;

static bool fuzz_req_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool fuzz_req_id(const char *id, bool required)
{
	return id ? vc_container_id_check(id, NULL) == 0 : !required;
}

static bool fuzz_req_array(const struct vc_json *a, size_t max, bool required)
{
	if (!a)
		return !required;
	if (a->type != VC_JSON_ARRAY || a->u.array.len > max)
		return false;
	for (size_t i = 0; i < a->u.array.len; i++)
		if (a->u.array.items[i]->type != VC_JSON_OBJECT)
			return false;
	return true;
}

/* The invariants decode promises for rq's kind. */
static void fuzz_req_check(const struct vc_agent_request *rq)
{
	const struct vc_json *o;
	switch (rq->kind) {
	case VC_AR_CREATE_SANDBOX:
		FUZZ_ASSERT(fuzz_req_id(rq->u.create_sandbox.sandbox_id, true));
		FUZZ_ASSERT(!rq->u.create_sandbox.hostname ||
			    strlen(rq->u.create_sandbox.hostname) <= VC_AREQ_HOSTNAME_MAX);
		FUZZ_ASSERT(
			fuzz_req_array(rq->u.create_sandbox.storages, VC_AREQ_STORAGES_MAX, false));
		break;
	case VC_AR_CREATE_CONTAINER:
		FUZZ_ASSERT(fuzz_req_id(rq->u.create_container.container_id, true));
		FUZZ_ASSERT(rq->u.create_container.stream_id != 0);
		FUZZ_ASSERT(fuzz_req_array(rq->u.create_container.storages, VC_AREQ_STORAGES_MAX,
					   true));
		o = rq->u.create_container.spec;
		FUZZ_ASSERT(o && o->type == VC_JSON_OBJECT);
		break;
	case VC_AR_START_CONTAINER:
	case VC_AR_REMOVE_CONTAINER:
	case VC_AR_PAUSE_CONTAINER:
	case VC_AR_RESUME_CONTAINER:
	case VC_AR_STATS_CONTAINER:
		FUZZ_ASSERT(fuzz_req_id(rq->u.container.container_id, true));
		break;
	case VC_AR_EXEC_PROCESS:
		FUZZ_ASSERT(fuzz_req_id(rq->u.exec.container_id, true));
		FUZZ_ASSERT(fuzz_req_id(rq->u.exec.exec_id, true));
		FUZZ_ASSERT(rq->u.exec.stream_id != 0);
		o = rq->u.exec.process;
		FUZZ_ASSERT(o && o->type == VC_JSON_OBJECT);
		break;
	case VC_AR_SIGNAL_PROCESS:
		FUZZ_ASSERT(fuzz_req_id(rq->u.signal.container_id, true));
		FUZZ_ASSERT(fuzz_req_id(rq->u.signal.exec_id, false));
		FUZZ_ASSERT(rq->u.signal.signal >= 1 && rq->u.signal.signal < NSIG);
		break;
	case VC_AR_WAIT_PROCESS:
		FUZZ_ASSERT(fuzz_req_id(rq->u.process.container_id, true));
		FUZZ_ASSERT(fuzz_req_id(rq->u.process.exec_id, false));
		break;
	case VC_AR_TTY_WIN_RESIZE:
		FUZZ_ASSERT(fuzz_req_id(rq->u.resize.container_id, true));
		FUZZ_ASSERT(fuzz_req_id(rq->u.resize.exec_id, false));
		FUZZ_ASSERT(rq->u.resize.rows <= 65535 && rq->u.resize.cols <= 65535);
		break;
	case VC_AR_LIST_PROCESSES:
		FUZZ_ASSERT(fuzz_req_id(rq->u.ps.container_id, true));
		break;
	case VC_AR_UPDATE_CONTAINER:
		FUZZ_ASSERT(fuzz_req_id(rq->u.update.container_id, true));
		o = rq->u.update.resources;
		FUZZ_ASSERT(o && o->type == VC_JSON_OBJECT);
		break;
	case VC_AR_UPDATE_INTERFACE: {
		unsigned char mac[6];
		FUZZ_ASSERT(rq->u.iface.mac && vc_agent_mac_parse(rq->u.iface.mac, mac));
		FUZZ_ASSERT(!rq->u.iface.name || vc_agent_ifname_ok(rq->u.iface.name));
		FUZZ_ASSERT(rq->u.iface.mtu == 0 || (rq->u.iface.mtu >= VC_AREQ_MTU_MIN &&
						     rq->u.iface.mtu <= VC_AREQ_MTU_MAX));
		FUZZ_ASSERT(rq->u.iface.wait_ms <= VC_AREQ_WAIT_MS_MAX);
		FUZZ_ASSERT(fuzz_req_array(rq->u.iface.addresses, VC_AREQ_ADDRS_MAX, false));
		break;
	}
	case VC_AR_UPDATE_ROUTES:
		FUZZ_ASSERT(fuzz_req_array(rq->u.routes.routes, VC_AREQ_ROUTES_MAX, true));
		break;
	case VC_AR_ADD_ARP_NEIGHBORS:
		FUZZ_ASSERT(fuzz_req_array(rq->u.neighbors.neighbors, VC_AREQ_NEIGHBORS_MAX, true));
		break;
	case VC_AR_START_DNS_RELAY:
		FUZZ_ASSERT(rq->u.dns.address && strlen(rq->u.dns.address) < 16);
		break;
	case VC_AR_ONLINE_CPUS:
		FUZZ_ASSERT(rq->u.cpus.count >= 1 && rq->u.cpus.count <= VC_AREQ_CPUS_MAX);
		FUZZ_ASSERT(rq->u.cpus.wait_ms <= VC_AREQ_WAIT_MS_MAX);
		break;
	default:
		FUZZ_ASSERT((unsigned)rq->kind < VC_AR_N);
		break;
	}
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_agent_request rq, again;
	struct vc_error err = {0};
	memset(&rq, 0xa5, sizeof(rq));
	if (vc_agent_request_decode(data, size, &rq, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] && (err.code == EINVAL || err.code == ENOSYS ||
					   err.code == ENOMEM || err.code == EMSGSIZE));
		FUZZ_ASSERT(fuzz_req_all_zero(&rq, sizeof(rq)));
		fuzz_req_stats.refused++;
		return 0;
	}
	fuzz_req_stats.decoded++;
	fuzz_req_check(&rq);
	/* encode(decode(x)) is a fixed point: what the host would send for it. */
	char *body = NULL, *body2 = NULL;
	size_t len = 0, len2 = 0;
	int r = vc_agent_req_encode(rq.kind, &rq.u, &body, &len, &err);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r == 0) {
		FUZZ_ASSERT(vc_agent_request_decode(body, len, &again, &err) == 0);
		FUZZ_ASSERT(again.kind == rq.kind);
		r = vc_agent_req_encode(again.kind, &again.u, &body2, &len2, &err);
		FUZZ_ASSERT(r == 0 || r == -ENOMEM);
		if (r == 0)
			FUZZ_ASSERT(len == len2 && !memcmp(body, body2, len));
		vc_agent_request_release(&again);
		free(body);
		free(body2);
	}
	vc_agent_request_release(&rq);
	return 0;
}
