/* libFuzzer target for the DATA decoder (lmtp-data.h): the input is
 * decoded whole and again split at a point the input chooses, and both
 * must agree on the output, the end and the bytes consumed; the output
 * never grows past the input and holds no end marker. */
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "lmtp/lmtp-data.h"

struct run {
	unsigned char *out;
	size_t out_len, used;
	bool done;
};

static void run(const uint8_t *in, size_t len, size_t split, struct run *r)
{
	struct lmtp_data d;
	lmtp_data_init(&d);
	r->out = malloc(len + 2);
	r->out_len = r->used = 0;
	size_t parts[2] = {split, len - split};
	for (int i = 0; i < 2 && !lmtp_data_done(&d); i++) {
		size_t n = 0;
		size_t used = lmtp_data_decode(&d, in + r->used, parts[i],
		                               r->out + r->out_len, &n);
		CHECK(used <= parts[i]);
		CHECK(n <= parts[i] + 1);
		CHECK(used == parts[i] || lmtp_data_done(&d));
		r->out_len += n;
		r->used += used;
	}
	r->done = lmtp_data_done(&d);
	CHECK(r->out_len <= r->used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	struct run a, b;
	run(data + 1, size - 1, 0, &a);
	run(data + 1, size - 1, split < size - 1 ? split : 0, &b);
	CHECK(a.done == b.done && a.used == b.used);
	CHECK(a.out_len == b.out_len);
	CHECK(memcmp(a.out, b.out, a.out_len) == 0);
	if (a.done)
		CHECK(a.used >= 3 &&
		      memcmp(data + 1 + a.used - 3, ".\r\n", 3) == 0);
	free(a.out);
	free(b.out);
	return 0;
}
