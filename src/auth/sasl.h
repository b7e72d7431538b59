/* Server side of SASL mechanisms PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login) and SCRAM-SHA-256 (RFC 5802, RFC 7677).
 *
 * Pure state machines: no I/O, no base64 (the protocol layer decodes and
 * encodes), no blocking. When a mechanism has what it needs to check, it
 * hands the check to the caller: PLAIN and LOGIN ask the caller to verify
 * a password (slow, done off the loop); SCRAM asks for the user's stored
 * secret, then finishes the exchange itself. */
#ifndef ROOST_AUTH_SASL_H
#define ROOST_AUTH_SASL_H

#include <stdbool.h>
#include <stddef.h>

enum sasl_step {
	SASL_CHALLENGE,       /* send out/out_len as a challenge */
	SASL_VERIFY_PASSWORD, /* check sasl_password() for sasl_authcid() */
	SASL_NEED_SECRET,     /* call sasl_set_secret(), then step(NULL) */
	SASL_SUCCESS,         /* done; out may hold final server data */
	SASL_FAIL,            /* authentication failed; reason in error */
	SASL_BAD,             /* malformed client message (protocol error) */
};

struct sasl;

/* Names offered, space-separated, in preference order. */
#define SASL_MECHANISMS "PLAIN LOGIN SCRAM-SHA-256"

/* Start mech (case-insensitive). NULL if unsupported. */
struct sasl *sasl_create(const char *mech);
void sasl_free(struct sasl **s);
/* Is mech one that sends the password in the clear (PLAIN, LOGIN)? */
bool sasl_mech_is_plaintext(const char *mech);

/* Feed one client message (already base64-decoded; in == NULL means the
 * client sent nothing yet, e.g. no initial response). On SASL_CHALLENGE
 * and SASL_SUCCESS, *out_r and *out_len_r point to data owned by s (may be
 * empty; for SCRAM, SASL_SUCCESS carries the server-final "v=..."). On
 * SASL_FAIL/SASL_BAD, *out_r is a reason text for logs, not the client.
 * SASL_SUCCESS, SASL_FAIL, SASL_BAD and SASL_VERIFY_PASSWORD end the
 * exchange: any further step returns SASL_BAD. Messages are limited to
 * 4096 bytes; identities must be 1..255 bytes of UTF-8 (RFC 4616). */
enum sasl_step sasl_step(struct sasl *s, const unsigned char *in, size_t in_len,
                         const unsigned char **out_r, size_t *out_len_r);

/* After SASL_VERIFY_PASSWORD or SASL_NEED_SECRET. */
const char *sasl_authcid(const struct sasl *s);
/* Authorization identity, or NULL when none/same as authcid. The caller
 * decides whether authcid may act as it. */
const char *sasl_authzid(const struct sasl *s);
/* PLAIN/LOGIN password, NUL-terminated after *len_r bytes; wiped by
 * sasl_free(). */
const char *sasl_password(const struct sasl *s, size_t *len_r);

/* For SCRAM: the stored password value of the user ("{PLAIN}..." or
 * "{SCRAM-SHA-256}iter,salt,storedkey,serverkey"), or NULL if the user
 * does not exist or has a secret SCRAM cannot use (the exchange then
 * continues with fake data and fails at the end, so it does not reveal
 * whether the user exists). {PLAIN} secrets are turned into SCRAM keys
 * here (PBKDF2, 4096 iterations: slow, call off the loop). Then call
 * sasl_step(s, NULL, 0) to get the server-first challenge. */
void sasl_set_secret(struct sasl *s, const char *stored);

/* Base64 (RFC 4648 section 4) for the protocol layers. decode is strict:
 * it returns -1 for characters outside the alphabet (whitespace
 * included), missing or misplaced padding, and non-zero padding bits.
 * Outputs are malloc'd and NUL-terminated. */
char *sasl_base64_encode(const unsigned char *in, size_t len);
int sasl_base64_decode(const char *in, size_t len, unsigned char **out_r,
                       size_t *out_len_r);

#endif
