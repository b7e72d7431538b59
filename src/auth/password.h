/* Password schemes, in Dovecot's "{SCHEME}data" notation so existing
 * passwd-files work unchanged: {PLAIN}, {CLEAR} (alias of PLAIN),
 * {SHA512-CRYPT}, {BLF-CRYPT}, {CRYPT} (any crypt(3) hash, e.g. yescrypt
 * "$y$..."), {ARGON2ID}, {ARGON2I}, {SCRAM-SHA-256}; also {CLEARTEXT}
 * (alias of PLAIN) and, for verifying only, {SHA256-CRYPT}. A stored value with
 * no {SCHEME} prefix is taken as a crypt(3) hash. Scheme names are
 * case-insensitive; Dovecot's ".b64"/".hex" encoding suffixes are not
 * supported. No SASLprep is applied to passwords (neither does Dovecot).
 *
 * New hashes: SHA512-CRYPT "$6$" with 5000 rounds, BLF-CRYPT "$2y$" cost
 * 10, YESCRYPT/CRYPT "$y$" at libxcrypt's default cost, ARGON2ID/ARGON2I
 * t=3 m=65536 KiB p=1 with a 16-byte salt and 32-byte hash,
 * SCRAM-SHA-256 4096 iterations with a 16-byte salt. */
#ifndef ROOST_AUTH_PASSWORD_H
#define ROOST_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Check plain against stored. Returns 1 on match, 0 on mismatch, -1 if
 * stored is unusable (unknown scheme, malformed), with *error_r set.
 * Comparison is constant-time. Slow by design: call off the event loop. */
int password_verify(const char *stored, const char *plain, size_t plain_len,
                    const char **error_r);

/* Hash plain with scheme (one of the names above, case-insensitive;
 * "YESCRYPT" gives a {CRYPT}$y$ hash). Returns a malloc'd "{SCHEME}..."
 * string, or NULL with *error_r set. */
char *password_hash(const char *scheme, const char *plain, size_t plain_len,
                    const char **error_r);

/* Can password_hash() hash with scheme? */
bool password_scheme_valid(const char *scheme);

/* The scheme roost uses for new passwords when none is asked for. */
#define PASSWORD_DEFAULT_SCHEME "ARGON2ID"

/* Does stored allow recovering the plaintext ({PLAIN})? */
bool password_is_plaintext(const char *stored);
/* The plaintext inside a {PLAIN}/{CLEAR} value (a pointer into stored),
 * or NULL for any other scheme. */
const char *password_plaintext(const char *stored);

#endif
