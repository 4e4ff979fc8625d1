/* libFuzzer entry for state.json (lib/state.c vc_state_parse, the in-memory core of
 * vc_state_read): every verb reads it before it signals a pid or opens a socket it
 * names. A state that decodes has a known status and every string present; one that
 * does not says why and leaves nothing allocated.
 *
 * `make fuzz` builds it (build/fuzz/fuzz-state); tests/integration/51-fuzz.bats runs
 * it for a few seconds on a copy of tests/fuzz/corpus/state.
 * By hand: build/fuzz/fuzz-state -max_len=8192 CORPUS_DIR
 *
 * Input: the bytes of a state.json. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state.h"
#include "oci/json.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_state st;
	struct vc_error err = {0};
	int r = vc_state_parse((const char *)data, size, "state.json", &st, &err);
	if (r < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code == -r);
		FUZZ_ASSERT(!st.id && !st.annotations);
		return 0;
	}
	FUZZ_ASSERT(strcmp(vc_status_name(st.status), "unknown"));
	FUZZ_ASSERT(st.id && st.bundle && st.rootfs && st.created && st.owner && st.sandbox &&
		    st.sandbox_key);
	for (size_t i = 0; i < st.n_annotations; i++)
		FUZZ_ASSERT(st.annotations[i].key && st.annotations[i].value);
	/* Numbers are what the file says, never cut to fit (a pid cut to 1 is init's),
	 * and no pid is negative (kill(-1) is every process). */
	struct vc_json *doc = NULL;
	FUZZ_ASSERT(vc_json_parse((const char *)data, size, "state.json", &doc, &err) == 0);
	static const char *const keys[] = {"standin_pid", "monitor_pid", "hv_pid", "exit_code",
					   "exit_signal"};
	const int64_t got[] = {st.standin_pid, st.monitor_pid, st.hv_pid, st.exit_code,
			       st.exit_signal};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int64_t v = 0;
		if (vc_json_to_i64(vc_json_get(doc, keys[i]), &v) == 0)
			FUZZ_ASSERT(v == got[i]);
		else
			FUZZ_ASSERT(got[i] == 0);
	}
	FUZZ_ASSERT(st.standin_pid >= 0 && st.monitor_pid >= 0 && st.hv_pid >= 0);
	vc_json_free(doc);
	vc_state_release(&st);
	return 0;
}
