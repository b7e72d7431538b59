/* The DATA section's decoder: see lmtp-data.h. */
#include "lmtp/lmtp-data.h"

#include <string.h>

void lmtp_data_init(struct lmtp_data *d)
{
	d->state = LMTP_DATA_BOL;
}

/* One byte in a state other than MID's fast path; returns the bytes
 * written to out. */
static size_t step(struct lmtp_data *d, unsigned char c, unsigned char *out)
{
	switch (d->state) {
	case LMTP_DATA_BOL:
		if (c == '.') {
			d->state = LMTP_DATA_DOT;
			return 0;
		}
		break;
	case LMTP_DATA_DOT:
		/* the stuffed dot is dropped */
		if (c == '\r') {
			d->state = LMTP_DATA_DOTCR;
			return 0;
		}
		break;
	case LMTP_DATA_DOTCR:
		if (c == '\n') {
			d->state = LMTP_DATA_END;
			return 0;
		}
		/* ".\rX": the CR is data, then X as after any CR */
		out[0] = '\r';
		d->state = LMTP_DATA_CR;
		return 1 + step(d, c, out + 1);
	case LMTP_DATA_CR:
		out[0] = c;
		d->state = c == '\n'   ? LMTP_DATA_BOL
		           : c == '\r' ? LMTP_DATA_CR
		                       : LMTP_DATA_MID;
		return 1;
	case LMTP_DATA_MID:
	case LMTP_DATA_END:
		break;
	}
	out[0] = c;
	d->state = c == '\r' ? LMTP_DATA_CR : LMTP_DATA_MID;
	return 1;
}

size_t lmtp_data_decode(struct lmtp_data *d, const unsigned char *in,
                        size_t in_len, unsigned char *out, size_t *out_len_r)
{
	size_t i = 0, o = 0;
	while (i < in_len && d->state != LMTP_DATA_END) {
		if (d->state == LMTP_DATA_MID) {
			/* inside a line only a CR matters */
			const unsigned char *cr =
			        memchr(in + i, '\r', in_len - i);
			size_t n = cr != NULL ? (size_t)(cr - (in + i))
			                      : in_len - i;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			if (cr == NULL)
				break;
		}
		o += step(d, in[i++], out + o);
	}
	*out_len_r = o;
	return i;
}
