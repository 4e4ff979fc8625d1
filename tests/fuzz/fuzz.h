/* What every libFuzzer entry in tests/fuzz/ shares. */
#ifndef VC_TESTS_FUZZ_H
#define VC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* A property that does not hold is a bug: stop where the fuzzer can see it. A unit
 * test that includes an entry defines its own, which counts instead. */
#ifndef FUZZ_ASSERT
#define FUZZ_ASSERT(cond)                 \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
