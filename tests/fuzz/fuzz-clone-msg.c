/* libFuzzer entry for CloneSetup's params (agent-proto/clone-msg.h), as the guest
 * agent decodes them: the input is a JSON body. What decodes must hold the promised
 * invariants (entropy 32..512 bytes, time in range, a host name, a guest CID or 0)
 * and must survive encode + decode unchanged; what does not must say why, with the
 * struct left zeroed.
 *
 * `make build/fuzz/fuzz-clone-msg` builds it with clang -fsanitize=fuzzer,address,undefined;
 * tests/integration/50-cdi.bats runs it for a few seconds on a copy of
 * tests/fuzz/corpus/clone-msg. tests/unit/test-clone-msg.c includes this file and
 * drives it with deterministic inputs, so every build compiles and runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-proto/clone-msg.h"

#include "tests/fuzz/fuzz.h"

static struct {
	unsigned long decoded, refused;
} fuzz_clone_stats;

static bool fuzz_clone_zero(const struct vc_clone_setup *cs)
{
	static const struct vc_clone_setup zero;
	return !memcmp(cs, &zero, sizeof(zero));
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_json *params = NULL;
	if (vc_json_parse((const char *)data, size, "fuzz", &params, NULL) < 0)
		return 0;
	struct vc_clone_setup cs;
	struct vc_error err = {0};
	int r = vc_clone_setup_from_json(params, &cs, &err);
	vc_json_free(params);
	if (r < 0) {
		fuzz_clone_stats.refused++;
		FUZZ_ASSERT(err.msg[0] != '\0' && fuzz_clone_zero(&cs));
		return 0;
	}
	fuzz_clone_stats.decoded++;
	FUZZ_ASSERT(cs.n_entropy >= VC_CLONE_ENTROPY_MIN && cs.n_entropy <= VC_CLONE_ENTROPY_MAX);
	FUZZ_ASSERT(cs.time_sec > 0 && cs.time_nsec < 1000000000u);
	FUZZ_ASSERT(cs.vsock_cid == 0 || (cs.vsock_cid >= 3 && cs.vsock_cid != UINT32_MAX));
	size_t hn = strnlen(cs.hostname, sizeof(cs.hostname));
	FUZZ_ASSERT(hn > 0 && hn <= VC_CLONE_HOSTNAME_MAX);
	struct vc_json *again = NULL;
	struct vc_clone_setup cs2;
	FUZZ_ASSERT(vc_clone_setup_to_json(&cs, &again, &err) == 0);
	FUZZ_ASSERT(vc_clone_setup_from_json(again, &cs2, &err) == 0);
	FUZZ_ASSERT(!memcmp(&cs, &cs2, sizeof(cs)));
	vc_json_free(again);
	return 0;
}
