/* The fuzz entries of the file readers (tests/fuzz/fuzz-config.c, -plan.c, -state.c,
 * -vcrun-config.c), compiled into every build and driven with their seed corpora
 * (tests/fuzz/corpus/NAME/) and deterministic mutations of them, so they cannot rot
 * while nobody runs libFuzzer, and their properties hold under ASan too. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"

#include "tests/unit/unit-fuzz.h"

/* Each file defines the entry: renamed here, one name per file. */
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "tests/fuzz/fuzz-config.c"
#undef LLVMFuzzerTestOneInput
int fuzz_plan_one(const uint8_t *data, size_t size);
#define LLVMFuzzerTestOneInput fuzz_plan_one
#include "tests/fuzz/fuzz-plan.c"
#undef LLVMFuzzerTestOneInput
int fuzz_state_one(const uint8_t *data, size_t size);
#define LLVMFuzzerTestOneInput fuzz_state_one
#include "tests/fuzz/fuzz-state.c"
#undef LLVMFuzzerTestOneInput
int fuzz_vcrun_config_one(const uint8_t *data, size_t size);
#define LLVMFuzzerTestOneInput fuzz_vcrun_config_one
#include "tests/fuzz/fuzz-vcrun-config.c"
#undef LLVMFuzzerTestOneInput

static unsigned long long rng_state;

/* REPO/tests/fuzz/corpus/NAME, from the program in REPO/build/utests/ (or
 * build-asan/utests/). */
static char *corpus_dir(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return NULL;
	exe[n] = '\0';
	return vc_strdup_printf("%s/../../tests/fuzz/corpus/%s", dirname(exe), name);
}

/* Every seed as it is, then 200 mutations of each; returns the number of seeds. */
static size_t drive(const char *name, int (*one)(const uint8_t *, size_t))
{
	char *dir = corpus_dir(name);
	DIR *d = dir ? opendir(dir) : NULL;
	size_t seeds = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = vc_strdup_printf("%s/%s", dir, e->d_name);
		char *text = NULL;
		size_t len = 0;
		if (path && vc_read_file(path, 1 << 20, &text, &len, NULL) == 0) {
			seeds++;
			one((const uint8_t *)text, len);
			size_t cap = len + 64;
			uint8_t *buf = malloc(cap);
			for (int i = 0; buf && i < 200; i++) {
				memcpy(buf, text, len);
				one(buf, vc_unit_mutate(buf, len, cap, &rng_state));
			}
			free(buf);
		}
		free(text);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
	return seeds;
}

VC_TEST(corpora_hold_the_properties)
{
	rng_state = 0x726561646572730aULL;
	fuzz_assert_failures = 0;
	CHECK(drive("config", fuzz_config_one) >= 3);
	CHECK(drive("plan", fuzz_plan_one) >= 3);
	CHECK(drive("state", fuzz_state_one) >= 3);
	CHECK(drive("vcrun-config", fuzz_vcrun_config_one) >= 3);
	CHECK(fuzz_assert_failures == 0);
}

VC_TESTS(VC_T(corpora_hold_the_properties))
