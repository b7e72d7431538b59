/* Internals shared by sasl.c and the mechanisms in other files
 * (scram.c), plus test-only hooks. Not for use outside src/auth. */
#ifndef ROOST_AUTH_SASL_PRIVATE_H
#define ROOST_AUTH_SASL_PRIVATE_H

#include "auth/sasl.h"
#include "core/buf.h"

/* Longest client message any mechanism accepts. */
#define SASL_MAX_MESSAGE_BYTES 4096
/* Longest challenge or final server data. */
#define SASL_MAX_OUT_BYTES (2 * SASL_MAX_MESSAGE_BYTES)
/* RFC 4616 section 2: authcid, authzid and passwd are 1..255 octets. */
#define SASL_MAX_NAME_BYTES 255

struct sasl;

struct sasl_mech {
	const char *name;
	bool plaintext;
	/* Set up mechanism state (may be NULL) */
	void (*init)(struct sasl *s);
	enum sasl_step (*step)(struct sasl *s, const unsigned char *in,
	                       size_t in_len);
	/* NULL for mechanisms that never return SASL_NEED_SECRET */
	void (*set_secret)(struct sasl *s, const char *stored);
	/* Release mechanism state (may be NULL) */
	void (*deinit)(struct sasl *s);
};

struct sasl {
	const struct sasl_mech *mech;
	unsigned int state; /* mechanism-specific */
	bool finished;
	char *authcid, *authzid;
	unsigned char *password;
	size_t password_len;
	struct buf out;    /* challenge / final server data */
	const char *error; /* reason for SASL_FAIL / SASL_BAD */
	struct scram_exchange *scram;
};

extern const struct sasl_mech sasl_mech_scram_sha256;

/* Record a failure reason and return step (SASL_FAIL or SASL_BAD). */
enum sasl_step sasl_error(struct sasl *s, enum sasl_step step,
                          const char *reason);
/* Is p a well-formed UTF-8 string without NUL (RFC 3629)? */
bool sasl_utf8_valid(const unsigned char *p, size_t len);
/* Set authzid, leaving it NULL when it equals authcid. Takes ownership. */
void sasl_set_authzid(struct sasl *s, char *authzid);

/* Test hook: use nonce (printable, no ',') instead of a random server
 * nonce in SCRAM's server-first message. Call before the first step. */
void sasl_scram_set_test_nonce(struct sasl *s, const char *nonce);

#endif
