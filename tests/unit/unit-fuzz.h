/* A fuzz entry (tests/fuzz/) compiled into a unit test, which drives it with its
 * own inputs: a property that does not hold is counted (and the first one said)
 * instead of trapping, so the test fails by name. Include before the entry's .c. */
#ifndef VC_TESTS_UNIT_FUZZ_H
#define VC_TESTS_UNIT_FUZZ_H

#include <stdio.h>

static unsigned long fuzz_assert_failures;
#define FUZZ_ASSERT(cond)                                                               \
	do {                                                                            \
		if (!(cond)) {                                                          \
			if (!fuzz_assert_failures++)                                    \
				fprintf(stderr, "# fuzz property failed: %s\n", #cond); \
		}                                                                       \
	} while (0)

#endif
