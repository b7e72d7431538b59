/* Shared by the libFuzzer targets: their entry point, and CHECK, which
 * aborts (a finding) when an invariant of the code under test fails.
 * Unlike assert(), it stays in every build. */
#ifndef ROOST_CORE_FUZZ_H
#define ROOST_CORE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(expr)                                                            \
	do {                                                                   \
		if (!(expr))                                                   \
			abort();                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
