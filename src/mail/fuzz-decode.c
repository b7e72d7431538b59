/* libFuzzer target for the content-transfer-encoding decoders
 * (decode.h). Input layout: bytes 0-1 give a split position, byte 2 a
 * chunk size, the rest is the encoded text. For base64 and
 * quoted-printable alike, decoding the text whole, in two parts at the
 * split, and in chunks of the chunk size must give the same bytes and
 * the same clean flag; and the output can never be longer than the
 * encodings allow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/decode.h"

struct result {
	struct buf out;
	bool clean;
};

/* Decode s fed in pieces of at most chunk bytes, the first one of first
 * bytes. */
static void decode_chunked(enum decode_cte cte, const uint8_t *s, size_t len,
                           size_t first, size_t chunk, struct result *r)
{
	struct decoder *d;

	buf_init(&r->out, len);
	d = decode_new_buf(cte, &r->out);
	CHECK(decode_feed(d, s, first) == 0);
	for (size_t i = first; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		CHECK(decode_feed(d, s + i, n) == 0);
	}
	CHECK(decode_finish(d) == 0);
	r->clean = decode_is_clean(d);
	decode_free(&d);
}

static bool same(const struct result *a, const struct result *b)
{
	return a->clean == b->clean && a->out.len == b->out.len &&
	       (a->out.len == 0 ||
	        memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

static void check(enum decode_cte cte, const uint8_t *s, size_t len,
                  size_t split, size_t chunk)
{
	struct result whole, two, many;

	buf_init(&whole.out, len);
	CHECK(decode_all(cte, s, len, &whole.out, &whole.clean) == 0);
	if (cte == DECODE_BASE64)
		CHECK(whole.out.len <= len / 4 * 3 + 2);
	decode_chunked(cte, s, len, split, len, &two);
	decode_chunked(cte, s, len, 0, chunk, &many);
	CHECK(same(&whole, &two));
	CHECK(same(&whole, &many));
	buf_free(&whole.out);
	buf_free(&two.out);
	buf_free(&many.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	const uint8_t *s = data + 3;
	size_t len = size - 3;
	size_t split = ((size_t)data[0] << 8 | data[1]) % (len + 1);
	size_t chunk = (size_t)data[2] % 64 + 1;

	check(DECODE_BASE64, s, len, split, chunk);
	check(DECODE_QP, s, len, split, chunk);
	check(DECODE_IDENTITY, s, len, split, chunk);
	return 0;
}
