/* libFuzzer entry for plan.json (lib/plan.c vc_plan_from_json): what `create` writes
 * in the state dir and the monitor reads back before it starts QEMU, so a file
 * changed between the two must be refused with a reason, never crash or reach QEMU's
 * command line unchecked. A plan that decodes must encode, decode again to the same
 * text (the encoding is a fixpoint), and turn into a QEMU argv or a named error.
 *
 * `make fuzz` builds it (build/fuzz/fuzz-plan); tests/integration/51-fuzz.bats runs
 * it for a few seconds on a copy of tests/fuzz/corpus/plan.
 * By hand: build/fuzz/fuzz-plan -max_len=16384 CORPUS_DIR
 *
 * Input: the bytes of a plan.json. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "lib/plan.h"
#include "oci/json.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_plan_argv(const struct vc_plan *plan)
{
	struct vc_hv_config cfg;
	struct vc_error err = {0};
	char **argv = NULL;
	vc_plan_hv_config(plan, "/run/vcrun/fuzz", &cfg);
	if (vc_hv_qemu_argv(&cfg, &argv, &err) < 0) {
		FUZZ_ASSERT(!argv && err.msg[0]);
		return;
	}
	FUZZ_ASSERT(argv && argv[0]);
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_plan plan, again;
	struct vc_error err = {0};
	int r = vc_plan_from_json((const char *)data, size, "plan.json", &plan, &err);
	if (r < 0) {
		FUZZ_ASSERT(err.msg[0] && err.code == -r);
		FUZZ_ASSERT(!plan.container_id && !plan.shares && !plan.binds && !plan.storages);
		return 0;
	}
	FUZZ_ASSERT(plan.container_id && plan.qemu && plan.storages && plan.guest_spec);
	FUZZ_ASSERT(plan.mem_mib > 0 && plan.vcpus > 0 && plan.boot_timeout_ms > 0);
	/* What was taken is what the file says: no size is cut to fit its field. */
	struct vc_json *doc = NULL;
	int64_t v = 0;
	FUZZ_ASSERT(vc_json_parse((const char *)data, size, "plan.json", &doc, &err) == 0);
	FUZZ_ASSERT(vc_json_to_i64(vc_json_get(doc, "memory_mib"), &v) == 0 && v == plan.mem_mib);
	FUZZ_ASSERT(vc_json_to_i64(vc_json_get(doc, "vcpus"), &v) == 0 && v == plan.vcpus);
	FUZZ_ASSERT(vc_json_to_i64(vc_json_get(doc, "boot_timeout_ms"), &v) == 0 &&
		    v == plan.boot_timeout_ms);
	vc_json_free(doc);
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	r = vc_plan_to_json(&plan, &text, &len, &err);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r == 0) {
		struct vc_error err2 = {0};
		r = vc_plan_from_json(text, len, "again", &again, &err2);
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(vc_plan_to_json(&again, &text2, &len2, &err2) == 0);
		FUZZ_ASSERT(len == len2 && !memcmp(text, text2, len));
		vc_plan_release(&again);
		free(text);
		free(text2);
	}
	fuzz_plan_argv(&plan);
	vc_plan_release(&plan);
	return 0;
}
