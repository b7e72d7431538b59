/* Everything the server derives from a message when it takes it in
 * (APPEND, LMTP, `roost deliver`, a file found in the Maildir): the blob
 * of msginfo.h and the searchable texts of searchtext.h, from one parse.
 * The store keeps them with the message (store_cache_entry). */
#ifndef ROOST_MAIL_DERIVE_H
#define ROOST_MAIL_DERIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct derived {
	struct buf blob, header_text, body_text;
	/* false when a cap was reached: the message then has no blob (it
	 * is parsed when needed) or no indexed text (it is read when
	 * searched) */
	bool blob_ok, text_ok;
};

/* Derive from msg[0..len) as the store keeps it: bare LFs count as
 * CR LF, since the store writes them so and offsets are the file's.
 * Free with derived_free. */
void derive_message(const char *msg, size_t len, struct derived *d);
void derived_free(struct derived *d);

#endif
