/* Mailbox name patterns of LIST and LSUB (RFC 3501 section 6.3.8 and
 * 6.3.9, RFC 9051 section 6.3.9, RFC 5258 LIST-EXTENDED).
 *
 * '*' matches any run of characters (delimiter included), '%' any run
 * without the hierarchy delimiter; every other byte matches itself. INBOX
 * is case-insensitive (RFC 3501 section 5.1): a leading "INBOX" component
 * of a name ("inbox", "Inbox/x"; a component is what runs up to the
 * delimiter or the end) is compared with the pattern ignoring ASCII case,
 * so "inbox", "INBOX", "inb%" and "Inbox/%" all reach the INBOX hierarchy.
 * Everything else is compared bytewise, so "i*" also matches "INBOX" but
 * "INBOX/X" does not match "INBOX/x". Matching runs in O(pattern bytes *
 * name bytes) time without backtracking. A delim of '\0' stands for a
 * flat namespace (a NIL delimiter): '%' then behaves like '*'. */
#ifndef ROOST_PROTO_MAILBOX_MATCH_H
#define ROOST_PROTO_MAILBOX_MATCH_H

#include <stdbool.h>

/* Combine LIST's reference and mailbox arguments into one pattern, as
 * Dovecot does (RFC 3501 section 6.3.8 leaves the rule to the server):
 * - an empty reference gives the pattern unchanged;
 * - a pattern starting with delim after a reference ending with delim
 *   shares that delimiter ("a/" + "/b" is "a/b", not "a//b");
 * - otherwise the two are concatenated ("a/" + "%" is "a/%", "a" + "/b"
 *   is "a/b", "a" + "b" is "ab").
 * Returns a malloc'd string (free it). */
char *mailbox_pattern_combine(const char *ref, const char *pattern, char delim);
/* Does name match pattern (see the top of this file)? */
bool mailbox_match(const char *pattern, const char *name, char delim);
/* Could a descendant of name, that is name + delim + a non-empty string,
 * match pattern? For LIST-EXTENDED RECURSIVEMATCH and the CHILDREN flag
 * (RFC 5258 section 3.5). True for "a/%" or "*" and name "a"; false for
 * "%" and "a", as "%" only reaches the top level; always false for a
 * delim of '\0'. */
bool mailbox_match_children(const char *pattern, const char *name, char delim);
/* The name as stored: a first component that is "INBOX" in any case
 * becomes "INBOX" ("inbox" -> "INBOX", "InBox/x" -> "INBOX/x"), the rest
 * is kept. Returns a malloc'd copy (free it). */
char *mailbox_name_normalize(const char *name, char delim);

#endif
