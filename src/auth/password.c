/* Password schemes in Dovecot's "{SCHEME}data" notation (see password.h).
 * Hashes come from libxcrypt (crypt(3): SHA512-CRYPT "$6$", BLF-CRYPT
 * "$2y$", yescrypt "$y$"), libargon2 (RFC 9106, PHC string format) and
 * OpenSSL (SCRAM-SHA-256 secrets, RFC 5802 section 3 / RFC 7677).
 * Every comparison of secret-derived bytes is constant-time. */
#include "auth/password.h"

#include <argon2.h>
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/scram.h"
#include "core/xalloc.h"

#define SHA512_CRYPT_ROUNDS 5000
#define BLF_CRYPT_COST 10
#define ARGON2_T_COST 3
#define ARGON2_M_COST_KIB 65536
#define ARGON2_PARALLELISM 1
#define ARGON2_SALT_BYTES 16
#define ARGON2_HASH_BYTES 32
/* A '{' that is not closed within this many bytes is not a scheme. */
#define SCHEME_NAME_MAX_BYTES 32

struct password_scheme {
	const char *name;
	/* Name written in front of new hashes ("YESCRYPT" writes CRYPT). */
	const char *out_name;
	int (*verify)(const char *data, const char *plain, size_t plain_len,
	              const char **error_r);
	/* Returns the malloc'd data part, without "{SCHEME}". NULL if this
	 * scheme only verifies. */
	char *(*hash)(const char *plain, size_t plain_len,
	              const char **error_r);
};

/* Copy of plain as a C string for APIs that need one; NULL if plain
 * holds a NUL byte, which such APIs cannot represent. */
static char *plain_cstr(const char *plain, size_t plain_len)
{
	if (memchr(plain, '\0', plain_len) != NULL)
		return NULL;
	return xstrndup(plain, plain_len);
}

static void plain_cstr_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int verify_plain(const char *data, const char *plain, size_t plain_len,
                        const char **error_r)
{
	/* Compare digests so that neither content nor length leaks
	 * through timing. */
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int a_len = 0, b_len = 0;
	size_t data_len = strlen(data);

	if (EVP_Digest(data, data_len, a, &a_len, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(plain, plain_len, b, &b_len, EVP_sha256(), NULL) != 1) {
		*error_r = "SHA-256 failed";
		return -1;
	}
	int same = CRYPTO_memcmp(a, b, a_len) == 0;
	return same && data_len == plain_len ? 1 : 0;
}

static char *hash_plain(const char *plain, size_t plain_len,
                        const char **error_r)
{
	char *s = plain_cstr(plain, plain_len);
	if (s == NULL)
		*error_r = "password contains a NUL byte";
	return s;
}

/* Does data start with one of prefixes (separated by '|', e.g.
 * "$2a$|$2b$|$2y$")? NULL accepts any crypt(3) method. */
static int crypt_prefix_ok(const char *data, const char *prefixes)
{
	if (prefixes == NULL)
		return 1;
	for (const char *p = prefixes; *p != '\0';) {
		size_t n = strcspn(p, "|");
		if (strncmp(data, p, n) == 0)
			return 1;
		p += n + (p[n] == '|');
	}
	return 0;
}

/* Verify a crypt(3) hash whose method prefix must be one of prefixes. */
static int crypt_verify_prefixed(const char *data, const char *plain,
                                 size_t plain_len, const char *prefixes,
                                 const char **error_r)
{
	if (!crypt_prefix_ok(data, prefixes)) {
		*error_r = "hash does not match its scheme";
		return -1;
	}
	char *s = plain_cstr(plain, plain_len);
	if (s == NULL)
		return 0; /* a NUL byte can never match a crypt hash */

	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_rn(s, data, cd, sizeof(*cd));
	int ret;
	if (out == NULL || out[0] == '*') {
		*error_r = "malformed or unsupported crypt hash";
		ret = -1;
	} else {
		size_t out_len = strlen(out);
		ret = out_len == strlen(data) &&
		      CRYPTO_memcmp(out, data, out_len) == 0;
	}
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	plain_cstr_free(s);
	return ret;
}

static int verify_crypt(const char *data, const char *plain, size_t plain_len,
                        const char **error_r)
{
	return crypt_verify_prefixed(data, plain, plain_len, NULL, error_r);
}

static int verify_sha512_crypt(const char *data, const char *plain,
                               size_t plain_len, const char **error_r)
{
	return crypt_verify_prefixed(data, plain, plain_len, "$6$", error_r);
}

static int verify_sha256_crypt(const char *data, const char *plain,
                               size_t plain_len, const char **error_r)
{
	return crypt_verify_prefixed(data, plain, plain_len, "$5$", error_r);
}

static int verify_blf_crypt(const char *data, const char *plain,
                            size_t plain_len, const char **error_r)
{
	return crypt_verify_prefixed(data, plain, plain_len, "$2a$|$2b$|$2y$",
	                             error_r);
}

static char *crypt_hash(const char *prefix, unsigned long count,
                        const char *plain, size_t plain_len,
                        const char **error_r)
{
	char *s = plain_cstr(plain, plain_len);
	if (s == NULL) {
		*error_r = "password contains a NUL byte";
		return NULL;
	}
	/* NULL random bytes: libxcrypt reads them from the kernel */
	char *setting = crypt_gensalt_ra(prefix, count, NULL, 0);
	if (setting == NULL) {
		*error_r = "crypt_gensalt(3) failed";
		plain_cstr_free(s);
		return NULL;
	}

	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_rn(s, setting, cd, sizeof(*cd));
	char *ret = NULL;
	if (out == NULL || out[0] == '*')
		*error_r = "crypt(3) failed";
	else
		ret = xstrdup(out);
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	free(setting);
	plain_cstr_free(s);
	return ret;
}

static char *hash_sha512_crypt(const char *plain, size_t plain_len,
                               const char **error_r)
{
	return crypt_hash("$6$", SHA512_CRYPT_ROUNDS, plain, plain_len,
	                  error_r);
}

static char *hash_blf_crypt(const char *plain, size_t plain_len,
                            const char **error_r)
{
	return crypt_hash("$2y$", BLF_CRYPT_COST, plain, plain_len, error_r);
}

static char *hash_yescrypt(const char *plain, size_t plain_len,
                           const char **error_r)
{
	/* count 0: libxcrypt's default cost */
	return crypt_hash("$y$", 0, plain, plain_len, error_r);
}

static int argon2_verify_typed(const char *data, const char *plain,
                               size_t plain_len, argon2_type type,
                               const char *prefix, const char **error_r)
{
	if (strncmp(data, prefix, strlen(prefix)) != 0) {
		*error_r = "hash does not match its scheme";
		return -1;
	}
	int r = argon2_verify(data, plain_len > 0 ? plain : "", plain_len,
	                      type);
	if (r == ARGON2_OK)
		return 1;
	if (r == ARGON2_VERIFY_MISMATCH)
		return 0;
	*error_r = argon2_error_message(r);
	return -1;
}

static int verify_argon2id(const char *data, const char *plain,
                           size_t plain_len, const char **error_r)
{
	return argon2_verify_typed(data, plain, plain_len, Argon2_id,
	                           "$argon2id$", error_r);
}

static int verify_argon2i(const char *data, const char *plain, size_t plain_len,
                          const char **error_r)
{
	return argon2_verify_typed(data, plain, plain_len, Argon2_i,
	                           "$argon2i$", error_r);
}

static char *argon2_hash_typed(const char *plain, size_t plain_len,
                               argon2_type type, const char **error_r)
{
	unsigned char salt[ARGON2_SALT_BYTES];
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		*error_r = "no random bytes for the salt";
		return NULL;
	}
	size_t len = argon2_encodedlen(ARGON2_T_COST, ARGON2_M_COST_KIB,
	                               ARGON2_PARALLELISM, sizeof(salt),
	                               ARGON2_HASH_BYTES, type);
	char *out = xmalloc(len);
	int r = argon2_hash(
	        ARGON2_T_COST, ARGON2_M_COST_KIB, ARGON2_PARALLELISM,
	        plain_len > 0 ? plain : "", plain_len, salt, sizeof(salt), NULL,
	        ARGON2_HASH_BYTES, out, len, type, ARGON2_VERSION_NUMBER);
	if (r != ARGON2_OK) {
		*error_r = argon2_error_message(r);
		free(out);
		return NULL;
	}
	return out;
}

static char *hash_argon2id(const char *plain, size_t plain_len,
                           const char **error_r)
{
	return argon2_hash_typed(plain, plain_len, Argon2_id, error_r);
}

static char *hash_argon2i(const char *plain, size_t plain_len,
                          const char **error_r)
{
	return argon2_hash_typed(plain, plain_len, Argon2_i, error_r);
}

static int verify_scram_sha256(const char *data, const char *plain,
                               size_t plain_len, const char **error_r)
{
	struct scram_secret stored, derived;
	if (scram_secret_parse(data, &stored) < 0) {
		*error_r = "malformed SCRAM-SHA-256 secret";
		return -1;
	}
	scram_secret_derive((const unsigned char *)plain, plain_len,
	                    stored.salt, stored.salt_len, stored.iterations,
	                    &derived);
	int same = CRYPTO_memcmp(stored.stored_key, derived.stored_key,
	                         SCRAM_KEY_BYTES) == 0;
	OPENSSL_cleanse(&derived, sizeof(derived));
	return same ? 1 : 0;
}

static char *hash_scram_sha256(const char *plain, size_t plain_len,
                               const char **error_r)
{
	unsigned char salt[SCRAM_DEFAULT_SALT_BYTES];
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		*error_r = "no random bytes for the salt";
		return NULL;
	}
	struct scram_secret secret;
	scram_secret_derive((const unsigned char *)plain, plain_len, salt,
	                    sizeof(salt), SCRAM_DEFAULT_ITERATIONS, &secret);
	char *out = scram_secret_format(&secret);
	OPENSSL_cleanse(&secret, sizeof(secret));
	return out;
}

static const struct password_scheme schemes[] = {
        {"PLAIN", "PLAIN", verify_plain, hash_plain},
        {"CLEAR", "CLEAR", verify_plain, hash_plain},
        {"CLEARTEXT", "CLEARTEXT", verify_plain, hash_plain},
        {"SHA512-CRYPT", "SHA512-CRYPT", verify_sha512_crypt,
         hash_sha512_crypt},
        {"SHA256-CRYPT", "SHA256-CRYPT", verify_sha256_crypt, NULL},
        {"BLF-CRYPT", "BLF-CRYPT", verify_blf_crypt, hash_blf_crypt},
        {"CRYPT", "CRYPT", verify_crypt, hash_yescrypt},
        {"YESCRYPT", "CRYPT", verify_crypt, hash_yescrypt},
        {"ARGON2ID", "ARGON2ID", verify_argon2id, hash_argon2id},
        {"ARGON2I", "ARGON2I", verify_argon2i, hash_argon2i},
        {"SCRAM-SHA-256", "SCRAM-SHA-256", verify_scram_sha256,
         hash_scram_sha256},
};

static const struct password_scheme *scheme_find(const char *name,
                                                 size_t name_len)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].name) == name_len &&
		    strncasecmp(schemes[i].name, name, name_len) == 0)
			return &schemes[i];
	}
	return NULL;
}

/* Split stored into its scheme and data. Without a "{SCHEME}" prefix the
 * value is a crypt(3) hash, as in Dovecot. NULL for unknown schemes. */
static const struct password_scheme *scheme_of(const char *stored,
                                               const char **data_r)
{
	const char *end = NULL;
	if (stored[0] == '{')
		end = memchr(stored, '}',
		             strnlen(stored, SCHEME_NAME_MAX_BYTES + 2));
	if (end == NULL) {
		*data_r = stored;
		return scheme_find("CRYPT", 5);
	}
	*data_r = end + 1;
	return scheme_find(stored + 1, (size_t)(end - stored - 1));
}

int password_verify(const char *stored, const char *plain, size_t plain_len,
                    const char **error_r)
{
	const char *data;
	const struct password_scheme *scheme = scheme_of(stored, &data);

	if (scheme == NULL) {
		*error_r = "unknown password scheme";
		return -1;
	}
	if (data[0] == '\0' && scheme->verify != verify_plain) {
		*error_r = "empty password hash";
		return -1;
	}
	return scheme->verify(data, plain, plain_len, error_r);
}

bool password_scheme_valid(const char *scheme_name)
{
	const struct password_scheme *scheme =
	        scheme_find(scheme_name, strlen(scheme_name));
	return scheme != NULL && scheme->hash != NULL;
}

char *password_hash(const char *scheme_name, const char *plain,
                    size_t plain_len, const char **error_r)
{
	const struct password_scheme *scheme =
	        scheme_find(scheme_name, strlen(scheme_name));

	if (scheme == NULL || scheme->hash == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	char *data = scheme->hash(plain, plain_len, error_r);
	if (data == NULL)
		return NULL;

	size_t len = strlen(scheme->out_name) + strlen(data) + 3;
	char *out = xmalloc(len);
	snprintf(out, len, "{%s}%s", scheme->out_name, data);
	OPENSSL_cleanse(data, strlen(data));
	free(data);
	return out;
}

const char *password_plaintext(const char *stored)
{
	const char *data;
	const struct password_scheme *scheme = scheme_of(stored, &data);
	return scheme != NULL && scheme->verify == verify_plain ? data : NULL;
}

bool password_is_plaintext(const char *stored)
{
	return password_plaintext(stored) != NULL;
}
