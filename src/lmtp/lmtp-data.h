/* The DATA section of an LMTP transaction (RFC 5321 4.1.1.4, 4.5.2):
 * lines end in CR LF, a line beginning with '.' has that dot removed
 * (dot-stuffing), and the data ends with CR LF "." CR LF, whose first CR
 * LF belongs to the message.
 *
 * Only CR LF ends a line: a bare LF (or CR) is a byte of the message,
 * and "LF . LF" does not end the data, so one MTA's idea of where a
 * message ends cannot differ from ours (SMTP smuggling). The store
 * turns bare LFs into CR LF when it writes the message.
 *
 * Incremental: any split of the input decodes the same. */
#ifndef ROOST_LMTP_LMTP_DATA_H
#define ROOST_LMTP_LMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

enum lmtp_data_state {
	LMTP_DATA_BOL,   /* at the start of a line */
	LMTP_DATA_MID,   /* inside a line */
	LMTP_DATA_CR,    /* after a CR inside a line */
	LMTP_DATA_DOT,   /* after a dot at the start of a line */
	LMTP_DATA_DOTCR, /* after "." CR at the start of a line */
	LMTP_DATA_END,   /* the end marker was read */
};

struct lmtp_data {
	enum lmtp_data_state state;
};

void lmtp_data_init(struct lmtp_data *d);

/* Decode in[0..in_len) into out, which has room for in_len + 1 bytes;
 * *out_len_r gets the bytes written. Returns the input bytes consumed:
 * all of them, or fewer when the end marker was found (the bytes after
 * it are the next command's). */
size_t lmtp_data_decode(struct lmtp_data *d, const unsigned char *in,
                        size_t in_len, unsigned char *out, size_t *out_len_r);

static inline bool lmtp_data_done(const struct lmtp_data *d)
{
	return d->state == LMTP_DATA_END;
}

#endif
