/* SCRAM-SHA-256 server mechanism (RFC 5802, RFC 7677) and the key
 * derivation behind Dovecot's {SCRAM-SHA-256} secrets (see scram.h).
 *
 * Channel binding (SCRAM-SHA-256-PLUS, gs2 flag "p=") is not offered.
 * Names and passwords are not SASLprep-normalised (RFC 5802 section 2.2
 * asks for it; Dovecot does not do it either, and existing secrets were
 * derived without it). For an unknown user the exchange runs on with a
 * fake secret and fails at the end, so the user's existence stays hidden
 * (RFC 5802 section 9). */
#include "auth/scram.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/password.h"
#include "auth/sasl-private.h"
#include "core/xalloc.h"

#define SCRAM_SCHEME_PREFIX "{SCRAM-SHA-256}"
#define SCRAM_NONCE_RANDOM_BYTES 24
#define SCRAM_FAKE_KEY_BYTES 32

enum scram_state {
	SCRAM_START,
	SCRAM_CLIENT_FIRST, /* sent an empty challenge, waiting */
	SCRAM_WAIT_SECRET,
	SCRAM_CLIENT_FINAL,
};

struct scram_exchange {
	char *gs2_header; /* e.g. "n,," as the client sent it */
	char *client_first_bare;
	char *nonce; /* client nonce followed by ours */
	char *server_first;
	char *test_nonce;
	struct scram_secret secret;
	bool have_secret;
	bool fake; /* unknown user: must fail at the end */
};

/* The digests below fail only when OpenSSL cannot allocate; same policy
 * as xalloc.h. */
static void scram_crypto_fail(void)
{
	fputs("roost: OpenSSL digest failed, aborting\n", stderr);
	abort();
}

static void scram_hmac(const unsigned char *key, size_t key_len,
                       const void *data, size_t len,
                       unsigned char out[SCRAM_KEY_BYTES])
{
	size_t out_len = 0;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data,
	              len, out, SCRAM_KEY_BYTES, &out_len) == NULL ||
	    out_len != SCRAM_KEY_BYTES)
		scram_crypto_fail();
}

static void scram_sha256(const unsigned char *data, size_t len,
                         unsigned char out[SCRAM_KEY_BYTES])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		scram_crypto_fail();
}

void scram_secret_derive(const unsigned char *password, size_t password_len,
                         const unsigned char *salt, size_t salt_len,
                         unsigned int iterations, struct scram_secret *secret_r)
{
	unsigned char salted[SCRAM_KEY_BYTES], client_key[SCRAM_KEY_BYTES];

	assert(salt_len <= SCRAM_SALT_MAX_BYTES);
	assert(iterations >= 1 && iterations <= SCRAM_MAX_ITERATIONS);
	assert(password_len <= INT_MAX);
	/* RFC 5802 section 3: SaltedPassword := Hi(password, salt, i) */
	if (PKCS5_PBKDF2_HMAC((const char *)password, (int)password_len, salt,
	                      (int)salt_len, (int)iterations, EVP_sha256(),
	                      SCRAM_KEY_BYTES, salted) != 1)
		scram_crypto_fail();
	scram_hmac(salted, sizeof(salted), "Client Key", 10, client_key);
	scram_sha256(client_key, sizeof(client_key), secret_r->stored_key);
	scram_hmac(salted, sizeof(salted), "Server Key", 10,
	           secret_r->server_key);
	memcpy(secret_r->salt, salt, salt_len);
	secret_r->salt_len = salt_len;
	secret_r->iterations = iterations;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
}

/* Decode base64 of exactly want bytes (0: any length up to max) */
static int scram_b64(const char *in, size_t in_len, unsigned char *out,
                     size_t want, size_t max, size_t *len_r)
{
	unsigned char *tmp;
	size_t len;
	if (sasl_base64_decode(in, in_len, &tmp, &len) < 0)
		return -1;
	int ret = -1;
	if ((want != 0 && len == want) ||
	    (want == 0 && len > 0 && len <= max)) {
		memcpy(out, tmp, len);
		*len_r = len;
		ret = 0;
	}
	free(tmp);
	return ret;
}

/* Parse a decimal count 1..SCRAM_MAX_ITERATIONS of at most 8 digits
 * running up to end. */
static int scram_parse_iterations(const char *p, const char *end,
                                  unsigned int *iter_r)
{
	unsigned long n = 0;
	if (p == end || end - p > 8 || *p == '0')
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n > SCRAM_MAX_ITERATIONS)
		return -1;
	*iter_r = (unsigned int)n;
	return 0;
}

int scram_secret_parse(const char *data, struct scram_secret *secret_r)
{
	const char *f[4], *end[4];
	const char *p = data;
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		end[i] = p + strcspn(p, ",");
		if ((*end[i] == ',') != (i < 3))
			return -1;
		p = end[i] + 1;
	}
	size_t len;
	if (scram_parse_iterations(f[0], end[0], &secret_r->iterations) < 0 ||
	    scram_b64(f[1], end[1] - f[1], secret_r->salt, 0,
	              SCRAM_SALT_MAX_BYTES, &secret_r->salt_len) < 0 ||
	    scram_b64(f[2], end[2] - f[2], secret_r->stored_key,
	              SCRAM_KEY_BYTES, 0, &len) < 0 ||
	    scram_b64(f[3], end[3] - f[3], secret_r->server_key,
	              SCRAM_KEY_BYTES, 0, &len) < 0)
		return -1;
	return 0;
}

char *scram_secret_format(const struct scram_secret *secret)
{
	char *salt = sasl_base64_encode(secret->salt, secret->salt_len);
	char *stored = sasl_base64_encode(secret->stored_key, SCRAM_KEY_BYTES);
	char *server = sasl_base64_encode(secret->server_key, SCRAM_KEY_BYTES);
	struct buf b;
	buf_init(&b, 1024);
	if (buf_printf(&b, "%u,%s,%s,%s", secret->iterations, salt, stored,
	               server) < 0)
		abort(); /* cannot pass the cap: sizes are fixed */
	free(salt);
	free(stored);
	free(server);
	return (char *)b.data;
}

/* A key known only to this process, for salts of users that have no
 * SCRAM secret: the same user gets the same salt on every attempt, so
 * the salt does not tell an attacker which users exist. */
static unsigned char scram_process_key[32];
static pthread_once_t scram_process_key_once = PTHREAD_ONCE_INIT;

static void scram_process_key_init(void)
{
	if (RAND_bytes(scram_process_key, sizeof(scram_process_key)) != 1)
		scram_crypto_fail();
}

static void scram_keyed_salt(const char *user,
                             unsigned char salt[SCRAM_DEFAULT_SALT_BYTES])
{
	unsigned char mac[SCRAM_KEY_BYTES];
	pthread_once(&scram_process_key_once, scram_process_key_init);
	scram_hmac(scram_process_key, sizeof(scram_process_key), user,
	           strlen(user), mac);
	memcpy(salt, mac, SCRAM_DEFAULT_SALT_BYTES);
}

static void scram_set_secret(struct sasl *s, const char *stored)
{
	struct scram_exchange *x = s->scram;
	const char *plain = stored == NULL ? NULL : password_plaintext(stored);
	size_t prefix_len = strlen(SCRAM_SCHEME_PREFIX);
	unsigned char salt[SCRAM_DEFAULT_SALT_BYTES];

	x->have_secret = true;
	x->fake = false;
	if (stored != NULL &&
	    strncasecmp(stored, SCRAM_SCHEME_PREFIX, prefix_len) == 0 &&
	    scram_secret_parse(stored + prefix_len, &x->secret) == 0)
		return;

	/* {PLAIN}: derive now. Keyed, stable salt as for unknown users, so
	 * the two cannot be told apart either. */
	scram_keyed_salt(s->authcid != NULL ? s->authcid : "", salt);
	if (plain != NULL) {
		scram_secret_derive((const unsigned char *)plain, strlen(plain),
		                    salt, sizeof(salt),
		                    SCRAM_DEFAULT_ITERATIONS, &x->secret);
		return;
	}
	x->fake = true;
	memcpy(x->secret.salt, salt, sizeof(salt));
	x->secret.salt_len = sizeof(salt);
	x->secret.iterations = SCRAM_DEFAULT_ITERATIONS;
	if (RAND_bytes(x->secret.stored_key, SCRAM_KEY_BYTES) != 1 ||
	    RAND_bytes(x->secret.server_key, SCRAM_KEY_BYTES) != 1)
		scram_crypto_fail();
}

/* If *p starts with "<attr>=", return its value (up to the next ',' or
 * the end) and move *p to the ',' or the end. */
static bool scram_attr(const char **p, char attr, const char **val_r,
                       size_t *len_r)
{
	if ((*p)[0] != attr || (*p)[1] != '=')
		return false;
	*val_r = *p + 2;
	*len_r = strcspn(*val_r, ",");
	*p = *val_r + *len_r;
	return true;
}

/* RFC 5802 section 5.1: saslname with "=2C" for ',' and "=3D" for '='.
 * Returns a malloc'd name, or NULL if malformed or not a valid name. */
static char *scram_saslname_decode(const char *v, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] != '=') {
			out[n++] = v[i];
		} else if (len - i >= 3 && strncmp(v + i + 1, "2C", 2) == 0) {
			out[n++] = ',';
			i += 2;
		} else if (len - i >= 3 && strncmp(v + i + 1, "3D", 2) == 0) {
			out[n++] = '=';
			i += 2;
		} else {
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	if (n == 0 || n > SASL_MAX_NAME_BYTES) {
		free(out);
		return NULL;
	}
	return out;
}

/* RFC 5802 section 7: printable = %x21-2B / %x2D-7E */
static bool scram_nonce_ok(const char *v, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
			return false;
	}
	return true;
}

/* A client message as a C string, or NULL if it holds NUL bytes or is
 * not UTF-8 (RFC 5802 section 7). */
static char *scram_message(const unsigned char *in, size_t in_len)
{
	if (!sasl_utf8_valid(in, in_len))
		return NULL;
	return xstrndup((const char *)in, in_len);
}

/* gs2-header = gs2-cbind-flag "," [ authzid ] "," */
static enum sasl_step scram_parse_gs2(struct sasl *s, const char *msg,
                                      const char **rest_r, char **authzid_r)
{
	const char *p = msg + 2, *v;
	size_t len;

	if (strncmp(msg, "p=", 2) == 0)
		return sasl_error(s, SASL_FAIL,
		                  "channel binding not supported");
	if (strncmp(msg, "n,", 2) != 0 && strncmp(msg, "y,", 2) != 0)
		return sasl_error(s, SASL_BAD, "SCRAM: bad gs2 header");
	if (scram_attr(&p, 'a', &v, &len)) {
		*authzid_r = scram_saslname_decode(v, len);
		if (*authzid_r == NULL)
			return sasl_error(s, SASL_BAD, "SCRAM: bad authzid");
	}
	if (*p != ',')
		return sasl_error(s, SASL_BAD, "SCRAM: bad gs2 header");
	s->scram->gs2_header = xstrndup(msg, (size_t)(p + 1 - msg));
	*rest_r = p + 1;
	return SASL_NEED_SECRET;
}

/* client-first-message-bare = [reserved-mext ","] username "," nonce
 *                             ["," extensions] */
static enum sasl_step scram_parse_bare(struct sasl *s, const char *bare)
{
	const char *p = bare, *v;
	size_t len;

	if (strncmp(p, "m=", 2) == 0)
		return sasl_error(s, SASL_FAIL,
		                  "SCRAM: extensions not supported");
	if (!scram_attr(&p, 'n', &v, &len) || *p++ != ',')
		return sasl_error(s, SASL_BAD, "SCRAM: missing user name");
	s->authcid = scram_saslname_decode(v, len);
	if (s->authcid == NULL)
		return sasl_error(s, SASL_BAD, "SCRAM: bad user name");
	if (!scram_attr(&p, 'r', &v, &len) || !scram_nonce_ok(v, len))
		return sasl_error(s, SASL_BAD, "SCRAM: bad nonce");
	if (*p != '\0' && *p != ',')
		return sasl_error(s, SASL_BAD, "SCRAM: bad nonce");
	s->scram->nonce = xstrndup(v, len);
	s->scram->client_first_bare = xstrdup(bare);
	return SASL_NEED_SECRET;
}

static enum sasl_step scram_client_first(struct sasl *s,
                                         const unsigned char *in, size_t in_len)
{
	char *msg = scram_message(in, in_len);
	if (msg == NULL)
		return sasl_error(s, SASL_BAD, "SCRAM: not UTF-8");

	const char *bare = NULL;
	char *authzid = NULL;
	enum sasl_step step = scram_parse_gs2(s, msg, &bare, &authzid);
	if (step == SASL_NEED_SECRET)
		step = scram_parse_bare(s, bare);
	if (step == SASL_NEED_SECRET) {
		sasl_set_authzid(s, authzid);
		s->state = SCRAM_WAIT_SECRET;
	} else {
		free(authzid);
	}
	free(msg);
	return step;
}

/* server-first-message = nonce "," salt "," iteration-count */
static enum sasl_step scram_server_first(struct sasl *s)
{
	struct scram_exchange *x = s->scram;
	unsigned char rnd[SCRAM_NONCE_RANDOM_BYTES];
	char *ours;

	if (!x->have_secret)
		scram_set_secret(s, NULL);
	if (x->test_nonce != NULL) {
		ours = xstrdup(x->test_nonce);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			scram_crypto_fail();
		ours = sasl_base64_encode(rnd, sizeof(rnd));
	}
	char *salt = sasl_base64_encode(x->secret.salt, x->secret.salt_len);
	buf_reset(&s->out);
	int r = buf_printf(&s->out, "r=%s%s,s=%s,i=%u", x->nonce, ours, salt,
	                   x->secret.iterations);
	free(salt);
	if (r < 0) {
		free(ours);
		return sasl_error(s, SASL_FAIL, "SCRAM: nonce too long");
	}
	size_t client_len = strlen(x->nonce), ours_len = strlen(ours);
	char *nonce = xmalloc(client_len + ours_len + 1);
	memcpy(nonce, x->nonce, client_len);
	memcpy(nonce + client_len, ours, ours_len + 1);
	free(ours);
	free(x->nonce);
	x->nonce = nonce;
	x->server_first = xstrdup(buf_cstr(&s->out));
	s->state = SCRAM_CLIENT_FINAL;
	return SASL_CHALLENGE;
}

/* RFC 5802 section 3: check ClientProof and produce ServerSignature. */
static enum sasl_step scram_check_proof(struct sasl *s, const char *without,
                                        const unsigned char *proof)
{
	struct scram_exchange *x = s->scram;
	unsigned char sig[SCRAM_KEY_BYTES], key[SCRAM_KEY_BYTES];
	struct buf auth;

	buf_init(&auth, 3 * SASL_MAX_OUT_BYTES);
	if (buf_printf(&auth, "%s,%s,%s", x->client_first_bare, x->server_first,
	               without) < 0)
		abort(); /* each part is bounded well below the cap */
	scram_hmac(x->secret.stored_key, SCRAM_KEY_BYTES, auth.data, auth.len,
	           sig);
	for (size_t i = 0; i < SCRAM_KEY_BYTES; i++)
		key[i] = proof[i] ^ sig[i]; /* ClientKey */
	scram_sha256(key, sizeof(key), key);
	bool ok = CRYPTO_memcmp(key, x->secret.stored_key, SCRAM_KEY_BYTES) ==
	                  0 &&
	          !x->fake;

	scram_hmac(x->secret.server_key, SCRAM_KEY_BYTES, auth.data, auth.len,
	           sig);
	buf_free(&auth);
	if (!ok)
		return sasl_error(s, SASL_FAIL, "SCRAM: invalid proof");
	char *v = sasl_base64_encode(sig, sizeof(sig));
	buf_reset(&s->out);
	int r = buf_printf(&s->out, "v=%s", v);
	free(v);
	if (r < 0)
		abort(); /* 46 bytes */
	return SASL_SUCCESS;
}

/* channel-binding: base64 of the gs2 header (no channel binding data) */
static bool scram_cbind_ok(const struct scram_exchange *x, const char *v,
                           size_t len)
{
	unsigned char *cb;
	size_t cb_len;
	if (sasl_base64_decode(v, len, &cb, &cb_len) < 0)
		return false;
	bool ok = cb_len == strlen(x->gs2_header) &&
	          memcmp(cb, x->gs2_header, cb_len) == 0;
	free(cb);
	return ok;
}

/* client-final-message = channel-binding "," nonce ["," extensions] ","
 *                        proof */
static enum sasl_step scram_parse_final(struct sasl *s, char *msg)
{
	const char *p = msg, *v;
	size_t len;
	unsigned char proof[SCRAM_KEY_BYTES];

	char *last = strrchr(msg, ',');
	if (last == NULL || strncmp(last, ",p=", 3) != 0 ||
	    scram_b64(last + 3, strlen(last + 3), proof, sizeof(proof), 0,
	              &len) < 0)
		return sasl_error(s, SASL_BAD, "SCRAM: bad proof");
	*last = '\0'; /* msg is now client-final-message-without-proof */

	if (!scram_attr(&p, 'c', &v, &len) || !scram_cbind_ok(s->scram, v, len))
		return sasl_error(s, SASL_BAD, "SCRAM: bad channel binding");
	if (*p++ != ',' || !scram_attr(&p, 'r', &v, &len) ||
	    len != strlen(s->scram->nonce) ||
	    memcmp(v, s->scram->nonce, len) != 0)
		return sasl_error(s, SASL_BAD, "SCRAM: nonce mismatch");
	if (*p != '\0' && *p != ',')
		return sasl_error(s, SASL_BAD, "SCRAM: bad nonce");
	return scram_check_proof(s, msg, proof);
}

static enum sasl_step scram_client_final(struct sasl *s,
                                         const unsigned char *in, size_t in_len)
{
	char *msg = scram_message(in, in_len);
	if (msg == NULL)
		return sasl_error(s, SASL_BAD, "SCRAM: not UTF-8");
	enum sasl_step step = scram_parse_final(s, msg);
	free(msg);
	return step;
}

static enum sasl_step scram_step(struct sasl *s, const unsigned char *in,
                                 size_t in_len)
{
	switch ((enum scram_state)s->state) {
	case SCRAM_START:
		if (in != NULL)
			return scram_client_first(s, in, in_len);
		s->state = SCRAM_CLIENT_FIRST;
		buf_reset(&s->out);
		return SASL_CHALLENGE;
	case SCRAM_CLIENT_FIRST:
		if (in == NULL)
			return sasl_error(s, SASL_BAD, "SCRAM: no response");
		return scram_client_first(s, in, in_len);
	case SCRAM_WAIT_SECRET:
		if (in != NULL)
			return sasl_error(s, SASL_BAD,
			                  "SCRAM: unexpected data");
		return scram_server_first(s);
	case SCRAM_CLIENT_FINAL:
		if (in == NULL)
			return sasl_error(s, SASL_BAD, "SCRAM: no response");
		return scram_client_final(s, in, in_len);
	}
	return sasl_error(s, SASL_BAD, "SCRAM: bad state");
}

static void scram_init(struct sasl *s)
{
	s->scram = xcalloc(1, sizeof(*s->scram));
}

static void scram_deinit(struct sasl *s)
{
	struct scram_exchange *x = s->scram;
	free(x->gs2_header);
	free(x->client_first_bare);
	free(x->nonce);
	free(x->server_first);
	free(x->test_nonce);
	OPENSSL_cleanse(&x->secret, sizeof(x->secret));
	free(x);
	s->scram = NULL;
}

void sasl_scram_set_test_nonce(struct sasl *s, const char *nonce)
{
	assert(s->mech == &sasl_mech_scram_sha256);
	free(s->scram->test_nonce);
	s->scram->test_nonce = xstrdup(nonce);
}

const struct sasl_mech sasl_mech_scram_sha256 = {
        .name = "SCRAM-SHA-256",
        .plaintext = false,
        .init = scram_init,
        .step = scram_step,
        .set_secret = scram_set_secret,
        .deinit = scram_deinit,
};
