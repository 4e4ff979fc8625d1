/* A tiny unit-test harness: each test-*.c defines tests with VC_TEST and lists
 * them in VC_TESTS; the runner prints TAP so tests/run-all.sh can count. */
#ifndef VC_TESTS_UNIT_H
#define VC_TESTS_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int vc_unit_failed_checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			vc_unit_failed_checks++;                                                   \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *_a = (a), *_b = (b);                                       \
		if (!_a || !_b || strcmp(_a, _b)) {                                    \
			fprintf(stderr, "# %s:%d: `%s` != `%s`\n", __FILE__, __LINE__, \
				_a ? _a : "(null)", _b ? _b : "(null)");               \
			vc_unit_failed_checks++;                                       \
			return;                                                        \
		}                                                                      \
	} while (0)

/* The error message must contain the substring. */
#define CHECK_CONTAINS(hay, needle)                                                        \
	do {                                                                               \
		const char *_h = (hay), *_n = (needle);                                    \
		if (!_h || !strstr(_h, _n)) {                                              \
			fprintf(stderr, "# %s:%d: `%s` does not contain `%s`\n", __FILE__, \
				__LINE__, _h ? _h : "(null)", _n);                         \
			vc_unit_failed_checks++;                                           \
			return;                                                            \
		}                                                                          \
	} while (0)

struct vc_unit_test {
	const char *name;
	void (*fn)(void);
};

#define VC_TEST(name) static void name(void)
#define VC_T(name)          \
	{                   \
#name, name \
	}
#define VC_TESTS(...)                                                                             \
	static const struct vc_unit_test vc_unit_tests[] = {__VA_ARGS__};                         \
	int main(int argc, char **argv)                                                           \
	{                                                                                         \
		return vc_unit_run(vc_unit_tests,                                                 \
				   sizeof(vc_unit_tests) / sizeof(vc_unit_tests[0]), argc, argv); \
	}

int vc_unit_run(const struct vc_unit_test *tests, size_t n, int argc, char **argv);

/* Waits for a child: its exit code, 128 + signal, or -1. */
int vc_unit_reap(int pid);

/* xorshift64*: deterministic pseudo-random numbers for the fuzz loops, so that a
 * failure reproduces from the seed in *state. */
unsigned vc_unit_rand(unsigned long long *state);

/* The fuzz loops' mutation of a valid body of n bytes in buf (room for cap): a few
 * bytes flipped, cut or copied, and digits grown by nine 9s so that range checks see
 * big numbers. Returns the new length. */
size_t vc_unit_mutate(uint8_t *buf, size_t n, size_t cap, unsigned long long *state);

/* A container's state.json in root (the dir made as needed): its sandbox (the owner's
 * id) and CRI key; live: its monitor is this process (so it counts as running). */
#include <sys/types.h>
void vc_unit_add_container(const char *root, const char *id, const char *sandbox, const char *key,
			   bool pod_sandbox, bool live, pid_t standin);

/* vcrun's config for plan tests: readable files stand in for the guest image;
 * 512 MiB, 1 vCPU, 3 spare root ports, 1 GiB of memory hot-plug room, 4 vCPUs at
 * most, a 96 MiB translation cache. */
struct vc_config;
void vc_unit_config(struct vc_config *cfg);

/* A fresh temporary directory for the test (removed by the runner at exit). */
const char *vc_unit_tmpdir(void);

/* A spec loaded from a new bundle in the temporary directory: a minimal config.json
 * ("sh" in rootfs) with more (text such as `"linux":{...}`) after its fields;
 * NULL, said on stderr, when it does not load. */
struct vc_oci_spec;
struct vc_oci_spec *vc_unit_spec(const char *more);

/* Runs argv (PATH lookup): its stdout (malloc'd, at most 1 MiB) when it exits 0,
 * else NULL. */
char *vc_unit_run_out(char *const argv[]);

#endif
