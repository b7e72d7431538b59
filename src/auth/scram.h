/* SCRAM-SHA-256 keys (RFC 5802 section 3, RFC 7677) and the stored-secret
 * format Dovecot writes for them:
 *   {SCRAM-SHA-256}<iterations>,<base64 salt>,<base64 StoredKey>,
 *                  <base64 ServerKey>
 * Shared by password.c (verify and hash) and the SASL mechanism in
 * scram.c. Internal to src/auth. */
#ifndef ROOST_AUTH_SCRAM_H
#define ROOST_AUTH_SCRAM_H

#include <stddef.h>

#define SCRAM_KEY_BYTES 32 /* SHA-256 output */
#define SCRAM_SALT_MAX_BYTES 64
#define SCRAM_DEFAULT_SALT_BYTES 16
#define SCRAM_DEFAULT_ITERATIONS 4096
/* Bounds the work one stored secret can ask for. */
#define SCRAM_MAX_ITERATIONS 10000000

struct scram_secret {
	unsigned int iterations;
	size_t salt_len;
	unsigned char salt[SCRAM_SALT_MAX_BYTES];
	unsigned char stored_key[SCRAM_KEY_BYTES];
	unsigned char server_key[SCRAM_KEY_BYTES];
};

/* Parse data (the part after "{SCRAM-SHA-256}"). Returns 0, or -1 if it
 * is malformed or out of bounds. */
int scram_secret_parse(const char *data, struct scram_secret *secret_r);
/* Derive StoredKey and ServerKey from a password (RFC 5802 section 3:
 * SaltedPassword = PBKDF2-HMAC-SHA-256). salt_len <= SCRAM_SALT_MAX_BYTES,
 * 1 <= iterations <= SCRAM_MAX_ITERATIONS. */
void scram_secret_derive(const unsigned char *password, size_t password_len,
                         const unsigned char *salt, size_t salt_len,
                         unsigned int iterations,
                         struct scram_secret *secret_r);
/* Format as Dovecot does, without the "{SCRAM-SHA-256}" prefix. Returns a
 * malloc'd string. */
char *scram_secret_format(const struct scram_secret *secret);

#endif
