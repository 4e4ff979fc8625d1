/* libFuzzer entry for config.json, the bundle's OCI spec: the parser, the model
 * (oci/spec*.c) and the checks `create` makes before it looks at the bundle
 * (vc_oci_spec_parse_runnable, the in-memory core of vc_oci_spec_load). A spec that
 * passes must hold what the runtime relies on and must pass again once its own
 * document is written out and read back; one that fails must say why.
 *
 * `make fuzz` builds it (build/fuzz/fuzz-config); tests/integration/51-fuzz.bats
 * runs it for a few seconds on a copy of tests/fuzz/corpus/config.
 * By hand: build/fuzz/fuzz-config -max_len=16384 CORPUS_DIR
 *
 * Input: the bytes of a config.json. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/json.h"
#include "oci/spec.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_error err = {0};
	struct vc_oci_spec *spec = NULL;
	int r = vc_oci_spec_parse_runnable((const char *)data, size, "config.json", &spec, &err);
	if (r < 0) {
		FUZZ_ASSERT(!spec && err.msg[0] && err.code == -r);
		/* The schema alone (what `vcrun spec`-style readers use) must agree or be
		 * more lenient, never crash. */
		struct vc_error err2 = {0};
		if (vc_oci_spec_parse((const char *)data, size, "config.json", &spec, &err2) == 0)
			vc_oci_spec_free(spec);
		else
			FUZZ_ASSERT(!spec && err2.msg[0]);
		return 0;
	}
	FUZZ_ASSERT(spec && spec->process && spec->root && spec->raw);
	FUZZ_ASSERT(spec->process->args && spec->process->args[0]);
	FUZZ_ASSERT(spec->root->path);
	(void)vc_oci_spec_namespace(spec, VC_NS_PID);
	(void)vc_oci_spec_annotation(spec, "io.kubernetes.cri.container-type");

	char *text = NULL;
	size_t len = 0;
	r = vc_json_serialize(spec->raw, false, &text, &len, &err);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r == 0) {
		struct vc_oci_spec *again = NULL;
		struct vc_error err2 = {0};
		FUZZ_ASSERT(vc_oci_spec_parse_runnable(text, len, "again", &again, &err2) == 0);
		FUZZ_ASSERT(again->n_mounts == spec->n_mounts &&
			    again->n_annotations == spec->n_annotations);
		vc_oci_spec_free(again);
		free(text);
	}
	vc_oci_spec_free(spec);
	return 0;
}
