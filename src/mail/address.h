/* Address lists of RFC 5322 header fields (From, To, Cc, ...): a parser
 * that never fails, for the modern syntax of RFC 5322 section 3.4 and the
 * obsolete forms of section 4.4, and the IMAP ENVELOPE form of a list
 * (RFC 3501 section 7.4.2 and 9, env-from and friends).
 *
 * The parser is best effort: comments anywhere, missing commas between
 * addresses, obs-route, unbalanced quotes, brackets, angles and comments,
 * a missing "@" or domain, stray ";" and 8-bit bytes all give a list.
 * Text is kept as raw bytes (RFC 2047 encoded-words are not decoded:
 * ENVELOPE carries them as they are). */
#ifndef ROOST_MAIL_ADDRESS_H
#define ROOST_MAIL_ADDRESS_H

#include <stddef.h>

#include "core/buf.h"

/* Bytes owned by the list; data == NULL means absent. data is also
 * NUL-terminated, but may hold NUL bytes of its own: use len. */
struct address_text {
	const char *data;
	size_t len;
};

enum address_kind {
	ADDRESS_MAILBOX,
	/* "name:" of group syntax; name holds the display name */
	ADDRESS_GROUP_START,
	/* the ";" ending a group (added at the end if missing) */
	ADDRESS_GROUP_END,
};

struct address {
	enum address_kind kind;
	/* display name: quotes removed, quoted-pairs unescaped, comments
	 * dropped, words separated by one space where the header had
	 * white space or a comment. Absent for a bare addr-spec, except
	 * that "user@host (Name)" with no other name takes the comment as
	 * the name, as Dovecot and older mail readers do. */
	struct address_text name;
	/* obs-route as "@a,@b" (no ":"), else absent */
	struct address_text route;
	/* local part, unquoted; absent for "<>" or "<@host>" */
	struct address_text mailbox;
	/* domain ("[1.2.3.4]" literals keep their brackets); absent when
	 * there is no "@" or nothing after it */
	struct address_text domain;
};

struct address_list;

/* Parse a header field's value (the bytes after the colon, folded or
 * not). Never fails; the list may be empty. Free with
 * address_list_free(). */
struct address_list *address_list_parse(const void *value, size_t len);
/* Free the list and everything its entries point to; sets *list to
 * NULL. */
void address_list_free(struct address_list **list);

size_t address_list_count(const struct address_list *list);
/* Entry i (i < count), valid until the list is freed. */
const struct address *address_list_get(const struct address_list *list,
                                       size_t i);

/* Host and mailbox names written for absent parts of a mailbox: RFC 3501
 * reads a NIL host as group syntax, so a plain address must never have
 * one (Dovecot uses the same names). */
#define ADDRESS_MISSING_MAILBOX "MISSING_MAILBOX"
#define ADDRESS_MISSING_DOMAIN "MISSING_DOMAIN"

/* Append the list as IMAP writes an ENVELOPE address list: NIL when list
 * is NULL or empty, else "(" 1*address ")" with each address
 * "(name adl mailbox host)"; a group start is (NIL NIL "name" NIL) and a
 * group end (NIL NIL NIL NIL). Strings that are not plain 7-bit text go
 * as literals. Returns 0, or -1 if out would pass its cap (out is then
 * unchanged). */
int address_list_write_imap(struct buf *out, const struct address_list *list);

#endif
