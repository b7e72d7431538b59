/* libFuzzer target for base subject extraction (subject.h).
 *
 * The input is a decoded Subject value. Extraction must succeed, never
 * make the subject longer, and be finished: the base subject of a base
 * subject is itself (RFC 5256 repeats its steps until nothing changes),
 * and says it is no reply or forward. */
#include <stdint.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf base, again;
	bool reply, reply2;
	buf_init(&base, 2 * size + 16);
	buf_init(&again, 2 * size + 16);
	CHECK(subject_base(&base, data, size, &reply) == 0);
	CHECK(base.len <= size);
	CHECK(subject_base(&again, buf_cstr(&base), base.len, &reply2) == 0);
	CHECK(again.len == base.len &&
	      memcmp(buf_cstr(&again), buf_cstr(&base), base.len) == 0);
	CHECK(!reply2);
	buf_free(&base);
	buf_free(&again);
	return 0;
}
