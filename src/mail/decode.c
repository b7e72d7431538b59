/* Incremental base64 and quoted-printable decoding (RFC 2045 sections
 * 6.7 and 6.8); the tolerance rules are in decode.h. Both decoders are
 * byte-at-a-time state machines, so a chunk boundary can fall anywhere
 * without changing the output. */
#include "mail/decode.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

#define OUT_BYTES 1024

enum qp_state {
	QP_TEXT,   /* whitespace in ws[] may be pending */
	QP_CR,     /* CR seen after pending whitespace */
	QP_EQ,     /* '=' seen */
	QP_EQ_HEX, /* '=' and one hex digit (hex1) seen */
	QP_EQ_WS,  /* '=' and whitespace (in ws[]) seen */
	QP_EQ_CR,  /* '=', maybe whitespace, and CR seen */
};

struct decoder {
	enum decode_cte cte;
	decode_output_fn *output;
	void *context;
	bool clean;
	bool failed;
	bool finished;

	/* base64 */
	uint32_t b64_bits;  /* 6 bits per character of the group */
	unsigned b64_count; /* characters of the current group: 0-3 */
	unsigned b64_pad;   /* '=' seen in the current group */
	bool b64_ended;     /* padding complete or broken: ignore the rest */

	/* quoted-printable */
	enum qp_state qp_state;
	unsigned char qp_hex1;
	size_t ws_len;
	unsigned char ws[QP_MAX_PENDING_WS_BYTES];

	size_t out_len;
	unsigned char out[OUT_BYTES];
};

static int output_buf(void *context, const void *data, size_t len)
{
	return buf_append(context, data, len);
}

enum decode_cte decode_cte_parse(const char *value, size_t len)
{
	static const struct {
		const char *name;
		enum decode_cte cte;
	} names[] = {
	        {"7bit", DECODE_IDENTITY},       {"8bit", DECODE_IDENTITY},
	        {"binary", DECODE_IDENTITY},     {"base64", DECODE_BASE64},
	        {"quoted-printable", DECODE_QP},
	};

	if (value == NULL)
		return DECODE_IDENTITY;
	while (len > 0 && strchr(" \t\r\n", value[0]) != NULL) {
		value++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", value[len - 1]) != NULL)
		len--;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len &&
		    strncasecmp(names[i].name, value, len) == 0)
			return names[i].cte;
	}
	return DECODE_UNKNOWN;
}

struct decoder *decode_new(enum decode_cte cte, decode_output_fn *output,
                           void *context)
{
	assert(cte != DECODE_UNKNOWN);
	struct decoder *d = xcalloc(1, sizeof(*d));

	d->cte = cte;
	d->output = output;
	d->context = context;
	d->clean = true;
	d->qp_state = QP_TEXT;
	return d;
}

struct decoder *decode_new_buf(enum decode_cte cte, struct buf *out)
{
	return decode_new(cte, output_buf, out);
}

void decode_free(struct decoder **decoder)
{
	free(*decoder);
	*decoder = NULL;
}

bool decode_is_clean(const struct decoder *decoder)
{
	return decoder->clean;
}

static void flush(struct decoder *d)
{
	if (d->out_len > 0 && !d->failed &&
	    d->output(d->context, d->out, d->out_len) < 0)
		d->failed = true;
	d->out_len = 0;
}

static void emit(struct decoder *d, unsigned char c)
{
	if (d->out_len == sizeof(d->out))
		flush(d);
	d->out[d->out_len++] = c;
}

static void emit_ws(struct decoder *d)
{
	for (size_t i = 0; i < d->ws_len; i++)
		emit(d, d->ws[i]);
	d->ws_len = 0;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_b64_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* Write the bytes of a group of b64_count characters (2-4 of them). */
static void b64_emit_group(struct decoder *d)
{
	uint32_t bits = d->b64_bits << (6 * (4 - d->b64_count));

	if (d->b64_count >= 2)
		emit(d, (unsigned char)(bits >> 16));
	if (d->b64_count >= 3)
		emit(d, (unsigned char)(bits >> 8));
	if (d->b64_count == 4)
		emit(d, (unsigned char)bits);
	d->b64_bits = 0;
	d->b64_count = 0;
}

/* '=' at group position b64_count (+ b64_pad already seen). */
static void b64_pad_char(struct decoder *d)
{
	if (d->b64_count < 2) {
		/* RFC 2045 6.8: padding only ever follows 2 or 3 characters */
		d->clean = false;
		d->b64_ended = true;
		return;
	}
	d->b64_pad++;
	if (d->b64_count + d->b64_pad == 4) {
		b64_emit_group(d);
		d->b64_pad = 0;
		d->b64_ended = true;
	}
}

static void b64_byte(struct decoder *d, unsigned char c)
{
	int v;

	if (is_b64_space(c))
		return;
	if (d->b64_ended) {
		d->clean = false;
		return;
	}
	if (c == '=') {
		b64_pad_char(d);
		return;
	}
	v = b64_value(c);
	if (v < 0) {
		d->clean = false;
		return;
	}
	if (d->b64_pad > 0) {
		/* "xx=x": the group ends broken after its two characters */
		b64_emit_group(d);
		d->b64_pad = 0;
		d->b64_ended = true;
		d->clean = false;
		return;
	}
	d->b64_bits = (d->b64_bits << 6) | (uint32_t)v;
	if (++d->b64_count == 4)
		b64_emit_group(d);
}

static void b64_finish(struct decoder *d)
{
	if (d->b64_ended)
		return;
	if (d->b64_count == 1)
		d->clean = false; /* six bits cannot make a byte */
	else if (d->b64_count > 1)
		b64_emit_group(d); /* missing padding */
	d->b64_count = 0;
}

/* ---- quoted-printable ---- */

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_qp_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Hold back whitespace; a run too long to be padding is written out. */
static void qp_hold_ws(struct decoder *d, unsigned char c, bool after_eq)
{
	if (d->ws_len == sizeof(d->ws)) {
		if (after_eq) {
			d->clean = false;
			emit(d, '=');
			d->qp_state = QP_TEXT;
		}
		emit_ws(d);
	}
	d->ws[d->ws_len++] = c;
}

/* An '=' that starts no valid sequence: it stands for itself
 * (RFC 2045 6.7, note 2 on robust decoders). */
static void qp_literal_eq(struct decoder *d)
{
	d->clean = false;
	emit(d, '=');
}

static void qp_text(struct decoder *d, unsigned char c)
{
	if (is_qp_space(c)) {
		qp_hold_ws(d, c, false);
	} else if (c == '\r') {
		d->qp_state = QP_CR;
	} else if (c == '\n') {
		d->ws_len = 0; /* RFC 2045 6.7 rule 3: trailing whitespace */
		emit(d, '\n');
	} else {
		emit_ws(d);
		if (c == '=')
			d->qp_state = QP_EQ;
		else
			emit(d, c);
	}
}

static void qp_after_eq(struct decoder *d, unsigned char c)
{
	if (d->qp_state == QP_EQ && hex_value(c) >= 0) {
		d->qp_hex1 = c;
		d->qp_state = QP_EQ_HEX;
	} else if (is_qp_space(c)) {
		qp_hold_ws(d, c, true);
		if (d->qp_state == QP_EQ)
			d->qp_state = QP_EQ_WS;
	} else if (c == '\r') {
		d->qp_state = QP_EQ_CR;
	} else if (c == '\n') {
		d->ws_len = 0; /* soft line break */
		d->qp_state = QP_TEXT;
	} else {
		qp_literal_eq(d);
		emit_ws(d);
		d->qp_state = QP_TEXT;
		qp_text(d, c);
	}
}

static void qp_byte(struct decoder *d, unsigned char c)
{
	switch (d->qp_state) {
	case QP_TEXT:
		qp_text(d, c);
		break;
	case QP_CR:
		if (c == '\n') {
			d->ws_len = 0;
			emit(d, '\r');
			emit(d, '\n');
			d->qp_state = QP_TEXT;
			break;
		}
		emit_ws(d);
		emit(d, '\r');
		d->qp_state = QP_TEXT;
		qp_text(d, c);
		break;
	case QP_EQ:
	case QP_EQ_WS:
		qp_after_eq(d, c);
		break;
	case QP_EQ_HEX:
		d->qp_state = QP_TEXT;
		if (hex_value(c) >= 0) {
			emit(d, (unsigned char)(hex_value(d->qp_hex1) * 16 +
			                        hex_value(c)));
			break;
		}
		qp_literal_eq(d);
		emit(d, d->qp_hex1);
		qp_text(d, c);
		break;
	case QP_EQ_CR:
		if (c == '\n') {
			d->ws_len = 0; /* soft line break */
			d->qp_state = QP_TEXT;
			break;
		}
		/* '=' [ws] CR x: the '=' is literal, the rest is text */
		qp_literal_eq(d);
		d->qp_state = QP_CR;
		qp_byte(d, c);
		break;
	}
}

static void qp_finish(struct decoder *d)
{
	switch (d->qp_state) {
	case QP_TEXT:
		break; /* trailing whitespace at the end: padding */
	case QP_CR:
		emit_ws(d);
		emit(d, '\r');
		break;
	case QP_EQ:
	case QP_EQ_WS:
	case QP_EQ_CR:
		break; /* a soft line break before the boundary's CRLF */
	case QP_EQ_HEX:
		qp_literal_eq(d);
		emit(d, d->qp_hex1);
		break;
	}
	d->ws_len = 0;
	d->qp_state = QP_TEXT;
}

/* ---- both ---- */

int decode_feed(struct decoder *d, const void *in, size_t len)
{
	const unsigned char *p = in;

	assert(!d->finished);
	for (size_t i = 0; i < len && !d->failed; i++) {
		switch (d->cte) {
		case DECODE_BASE64:
			b64_byte(d, p[i]);
			break;
		case DECODE_QP:
			qp_byte(d, p[i]);
			break;
		default:
			emit(d, p[i]);
			break;
		}
	}
	flush(d);
	return d->failed ? -1 : 0;
}

int decode_finish(struct decoder *d)
{
	assert(!d->finished);
	d->finished = true;
	if (d->cte == DECODE_BASE64)
		b64_finish(d);
	else if (d->cte == DECODE_QP)
		qp_finish(d);
	flush(d);
	return d->failed ? -1 : 0;
}

int decode_all(enum decode_cte cte, const void *in, size_t len, struct buf *out,
               bool *clean_r)
{
	struct decoder *d = decode_new_buf(cte, out);
	int ret = decode_feed(d, in, len);

	if (ret == 0)
		ret = decode_finish(d);
	if (clean_r != NULL)
		*clean_r = decode_is_clean(d);
	decode_free(&d);
	return ret;
}
