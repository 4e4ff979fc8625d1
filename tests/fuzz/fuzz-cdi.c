/* libFuzzer entry for CDI: the JSON and the YAML spec parser, the strict decoder,
 * validation and the minimum-version rules, then the edits of every device of a
 * spec that passed onto a small config, and the qualified-name parser.
 *
 * `make build/fuzz/fuzz-cdi` builds it with clang -fsanitize=fuzzer,address,undefined;
 * tests/integration/50-cdi.bats runs it for 20 s on a copy of tests/fixtures/cdi.
 * By hand: build/fuzz/fuzz-cdi -max_len=8192 CORPUS_DIR tests/fixtures/cdi
 *
 * tests/unit/test-cdi-registry.c includes this file and replays the fixtures and
 * some hostile inputs through it, so it is compiled and run by every build.
 *
 * Input: the raw bytes of a spec file, read as JSON and as YAML. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi-internal.h"
#include "tests/fuzz/fuzz.h"

/* How far inputs got, so a driver can tell that the interesting paths ran. */
static struct {
	unsigned long valid, problems, applied, apply_errors, names_ok;
} fuzz_cdi_stats;

static const char fuzz_cdi_config[] =
	"{\"process\":{\"env\":[\"PATH=/bin\",\"A=1\"],\"user\":{\"uid\":1,\"gid\":2}},"
	"\"mounts\":[{\"destination\":\"/proc\"},{\"destination\":\"/a/b\"}],"
	"\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"devices\":[{\"path\":\"/dev/x\"}]},"
	"\"unknown\":{\"kept\":true}}";

/* Every device of the spec, spec-wide edits first, on a copy of a config. */
static void fuzz_cdi_apply(const struct cdi_spec *s)
{
	struct cdi_edit_block *b = calloc(s->n_devices + 1, sizeof(*b));
	struct vc_json *config = NULL;
	struct vc_error err = {0};
	if (!b)
		return;
	FUZZ_ASSERT(vc_json_parse(fuzz_cdi_config, strlen(fuzz_cdi_config), "config", &config,
				  &err) == 0);
	b[0] = (struct cdi_edit_block){&s->edits, s->devices[0].qualified, s->path};
	for (size_t i = 0; i < s->n_devices; i++)
		b[i + 1] = (struct cdi_edit_block){&s->devices[i].edits, s->devices[i].qualified,
						   s->path};
	struct vc_cdi_result res = {0};
	int r = cdi_edits_apply(config, b, s->n_devices + 1, &res, &err);
	if (r == 0) {
		/* What the edits made must serialise and parse back as an object. */
		char *text = NULL;
		size_t len = 0;
		struct vc_json *back = NULL;
		FUZZ_ASSERT(vc_json_serialize(config, false, &text, &len, &err) == 0);
		FUZZ_ASSERT(vc_json_parse(text, len, "edited", &back, &err) == 0);
		FUZZ_ASSERT(back->type == VC_JSON_OBJECT && vc_json_get(back, "unknown"));
		vc_json_free(back);
		free(text);
		for (size_t i = 0; i < res.nnodes; i++)
			FUZZ_ASSERT(res.nodes[i].path && res.nodes[i].device &&
				    strchr("bcup", res.nodes[i].type[0]));
		fuzz_cdi_stats.applied++;
	} else {
		FUZZ_ASSERT(err.msg[0] && err.code);
		fuzz_cdi_stats.apply_errors++;
	}
	vc_cdi_result_free(&res);
	vc_json_free(config);
	free(b);
}

static void fuzz_cdi_parse(const uint8_t *data, size_t size, enum cdi_format fmt)
{
	const char *path = fmt == CDI_FORMAT_JSON ? "fuzz.json" : "fuzz.yaml";
	struct cdi_diag d = {0};
	struct cdi_spec *s = NULL;
	int r = cdi_spec_parse((const char *)data, size, path, fmt, &s, &d);
	if (r == 0) {
		FUZZ_ASSERT(s && d.n == 0 && s->n_devices > 0);
		FUZZ_ASSERT(cdi_version_index(s->version) >=
			    cdi_version_index(cdi_spec_minimum_version(s, NULL, 0)));
		for (size_t i = 0; i < s->n_devices; i++) {
			struct vc_error err = {0};
			FUZZ_ASSERT(vc_cdi_parse_qualified_name(s->devices[i].qualified, &err) ==
				    0);
		}
		fuzz_cdi_stats.valid++;
		fuzz_cdi_apply(s);
		cdi_spec_free(s);
	} else if (r != -ENOMEM) {
		/* Every problem is reported, and names the file. */
		FUZZ_ASSERT(!s && d.n > 0);
		for (size_t i = 0; i < d.n; i++)
			FUZZ_ASSERT(!strncmp(d.msgs[i], path, strlen(path)));
		fuzz_cdi_stats.problems++;
	}
	cdi_diag_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cdi_parse(data, size, CDI_FORMAT_JSON);
	fuzz_cdi_parse(data, size, CDI_FORMAT_YAML);
	if (size < 256) {
		char name[256];
		struct vc_error err = {0};
		memcpy(name, data, size);
		name[size] = '\0';
		if (vc_cdi_parse_qualified_name(name, &err) == 0)
			fuzz_cdi_stats.names_ok++;
		else
			FUZZ_ASSERT(err.msg[0]);
	}
	return 0;
}
