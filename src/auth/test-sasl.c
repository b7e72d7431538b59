/* Unit tests for sasl.c and scram.c: PLAIN (RFC 4616), LOGIN and
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) exchanges, malformed messages,
 * unknown users, and base64 (RFC 4648 section 10 vectors). The SCRAM
 * client here is written independently on OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/sasl-private.h"

struct reply {
	enum sasl_step step;
	char out[1024];
};

static struct reply feed(struct sasl *s, const char *in, size_t len)
{
	const unsigned char *out;
	size_t out_len;
	struct reply r;
	r.step = sasl_step(s, (const unsigned char *)in, len, &out, &out_len);
	assert_true(out_len < sizeof(r.out));
	memcpy(r.out, out, out_len);
	r.out[out_len] = '\0';
	return r;
}

static struct reply feed_str(struct sasl *s, const char *in)
{
	return feed(s, in, in == NULL ? 0 : strlen(in));
}

/* ---- PLAIN ---- */

static void test_plain_initial_response(void **state)
{
	struct sasl *s = sasl_create("plain");
	assert_non_null(s);
	struct reply r = feed(s, "admin\0tim\0tanstaaftanstaaf", 26);
	assert_int_equal(r.step, SASL_VERIFY_PASSWORD);
	assert_string_equal(sasl_authcid(s), "tim");
	assert_string_equal(sasl_authzid(s), "admin");
	size_t len;
	const char *pw = sasl_password(s, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(pw, "tanstaaftanstaaf", 16);
	/* finished: more data is a protocol error */
	assert_int_equal(feed(s, "x", 1).step, SASL_BAD);
	sasl_free(&s);
	assert_null(s);
}

static void test_plain_challenge_first(void **state)
{
	struct sasl *s = sasl_create("PLAIN");
	struct reply r = feed_str(s, NULL);
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "");
	r = feed(s, "\0tim\0pw", 7);
	assert_int_equal(r.step, SASL_VERIFY_PASSWORD);
	assert_string_equal(sasl_authcid(s), "tim");
	assert_null(sasl_authzid(s));
	sasl_free(&s);

	/* authzid equal to authcid counts as none */
	s = sasl_create("PLAIN");
	assert_int_equal(feed(s, "tim\0tim\0pw", 10).step,
	                 SASL_VERIFY_PASSWORD);
	assert_null(sasl_authzid(s));
	sasl_free(&s);
}

static void test_plain_malformed(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
	} bad[] = {
	        {"", 0},
	        {"timpw", 5},
	        {"\0timpw", 6},
	        {"\0tim\0", 5},           /* empty password */
	        {"\0\0pw", 4},            /* empty authcid */
	        {"\0tim\0pw\0", 8},       /* extra field */
	        {"a\0tim\0p\0w", 9},      /* NUL in password */
	        {"\0t\xffm\0pw", 7},      /* authcid not UTF-8 */
	        {"\xc0\xaf\0tim\0pw", 8}, /* overlong authzid */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sasl *s = sasl_create("PLAIN");
		struct reply r = feed(s, bad[i].msg, bad[i].len);
		assert_int_equal(r.step, SASL_BAD);
		assert_true(r.out[0] != '\0');
		assert_null(sasl_authcid(s));
		sasl_free(&s);
	}
	/* 256-byte authcid is over the RFC 4616 limit */
	char msg[300] = "";
	memset(msg + 1, 'a', 256);
	memcpy(msg + 257, "\0pw", 3);
	struct sasl *s = sasl_create("PLAIN");
	assert_int_equal(feed(s, msg, 260).step, SASL_BAD);
	sasl_free(&s);
	/* a second missing response is an error */
	s = sasl_create("PLAIN");
	assert_int_equal(feed_str(s, NULL).step, SASL_CHALLENGE);
	assert_int_equal(feed_str(s, NULL).step, SASL_BAD);
	sasl_free(&s);
}

/* ---- LOGIN ---- */

static void test_login(void **state)
{
	struct sasl *s = sasl_create("LOGIN");
	struct reply r = feed_str(s, NULL);
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "Username:");
	r = feed_str(s, "tim");
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "Password:");
	r = feed_str(s, "secret");
	assert_int_equal(r.step, SASL_VERIFY_PASSWORD);
	assert_string_equal(sasl_authcid(s), "tim");
	assert_null(sasl_authzid(s));
	size_t len;
	assert_string_equal(sasl_password(s, &len), "secret");
	assert_int_equal(len, 6);
	sasl_free(&s);

	/* the initial response carries the user name */
	s = sasl_create("login");
	r = feed_str(s, "tim");
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "Password:");
	assert_int_equal(feed_str(s, "pw").step, SASL_VERIFY_PASSWORD);
	sasl_free(&s);

	/* an empty initial response is none */
	s = sasl_create("LOGIN");
	r = feed_str(s, "");
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "Username:");
	sasl_free(&s);
}

static void test_login_malformed(void **state)
{
	struct sasl *s = sasl_create("LOGIN");
	feed_str(s, NULL);
	assert_int_equal(feed_str(s, "").step, SASL_BAD);
	sasl_free(&s);

	s = sasl_create("LOGIN");
	assert_int_equal(feed(s, "t\0m", 3).step, SASL_BAD);
	sasl_free(&s);

	s = sasl_create("LOGIN");
	feed_str(s, "tim");
	assert_int_equal(feed(s, "p\0w", 3).step, SASL_BAD);
	sasl_free(&s);

	s = sasl_create("LOGIN");
	feed_str(s, "tim");
	assert_int_equal(feed_str(s, "").step, SASL_FAIL);
	sasl_free(&s);

	s = sasl_create("LOGIN");
	feed_str(s, "tim");
	assert_int_equal(feed_str(s, NULL).step, SASL_BAD);
	sasl_free(&s);
}

/* Messages are not NUL-terminated: each is fed from a heap buffer of
 * exactly its size, so AddressSanitizer sees any read past the end. */
static struct reply feed_exact(struct sasl *s, const char *in, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	memcpy(copy, in, len);
	struct reply r = feed(s, copy, len);
	free(copy);
	return r;
}

static void test_unterminated_input(void **state)
{
	struct sasl *s = sasl_create("LOGIN");
	assert_int_equal(feed_exact(s, "tim", 3).step, SASL_CHALLENGE);
	assert_int_equal(feed_exact(s, "pencil", 6).step, SASL_VERIFY_PASSWORD);
	size_t len;
	assert_string_equal(sasl_password(s, &len), "pencil");
	sasl_free(&s);

	s = sasl_create("PLAIN");
	assert_int_equal(feed_exact(s, "\0tim\0pencil", 11).step,
	                 SASL_VERIFY_PASSWORD);
	assert_string_equal(sasl_password(s, &len), "pencil");
	sasl_free(&s);

	s = sasl_create("SCRAM-SHA-256");
	assert_int_equal(feed_exact(s, "n,,n=user,r=abc", 15).step,
	                 SASL_NEED_SECRET);
	sasl_set_secret(s, "{PLAIN}pencil");
	assert_int_equal(feed_str(s, NULL).step, SASL_CHALLENGE);
	assert_int_equal(feed_exact(s, "c=biws,r=abc", 12).step, SASL_BAD);
	sasl_free(&s);
}

static void test_mechanisms(void **state)
{
	assert_null(sasl_create("CRAM-MD5"));
	assert_null(sasl_create(""));
	assert_true(sasl_mech_is_plaintext("PLAIN"));
	assert_true(sasl_mech_is_plaintext("login"));
	assert_false(sasl_mech_is_plaintext("SCRAM-SHA-256"));
	assert_false(sasl_mech_is_plaintext("nope"));
	struct sasl *s = sasl_create("scram-sha-256");
	assert_non_null(s);
	sasl_free(&s);
	sasl_free(&s); /* NULL is fine */
	/* every offered mechanism can be created */
	char names[] = SASL_MECHANISMS;
	for (char *n = strtok(names, " "); n != NULL; n = strtok(NULL, " ")) {
		s = sasl_create(n);
		assert_non_null(s);
		sasl_free(&s);
	}
}

static void test_too_long(void **state)
{
	size_t len = SASL_MAX_MESSAGE_BYTES + 1;
	char *big = calloc(1, len);
	struct sasl *s = sasl_create("PLAIN");
	assert_int_equal(feed(s, big, len).step, SASL_BAD);
	sasl_free(&s);
	free(big);
}

/* ---- SCRAM-SHA-256 ---- */

static const char rfc7677_secret[] =
        "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

/* RFC 7677 section 3, byte for byte. */
static void test_scram_rfc7677(void **state)
{
	struct sasl *s = sasl_create("SCRAM-SHA-256");
	sasl_scram_set_test_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	struct reply r = feed_str(s, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	assert_int_equal(r.step, SASL_NEED_SECRET);
	assert_string_equal(sasl_authcid(s), "user");
	assert_null(sasl_authzid(s));
	sasl_set_secret(s, rfc7677_secret);
	r = feed_str(s, NULL);
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(
	        r.out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	               "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	r = feed_str(s,
	             "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
	             "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	assert_int_equal(r.step, SASL_SUCCESS);
	assert_string_equal(r.out,
	                    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	sasl_free(&s);
}

/* A small SCRAM client (RFC 5802 section 3) for full exchanges. */
static void hmac256(const void *key, size_t key_len, const char *data,
                    unsigned char out[32])
{
	size_t n;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	                          key_len, (const unsigned char *)data,
	                          strlen(data), out, 32, &n));
}

struct server_first {
	char nonce[256];
	unsigned char salt[64];
	size_t salt_len;
	unsigned int iter;
};

static void parse_server_first(const char *msg, struct server_first *sf)
{
	char salt64[128];
	assert_int_equal(sscanf(msg, "r=%255[^,],s=%127[^,],i=%u", sf->nonce,
	                        salt64, &sf->iter),
	                 3);
	unsigned char *salt;
	assert_int_equal(sasl_base64_decode(salt64, strlen(salt64), &salt,
	                                    &sf->salt_len),
	                 0);
	assert_true(sf->salt_len <= sizeof(sf->salt));
	memcpy(sf->salt, salt, sf->salt_len);
	free(salt);
}

/* Build the client-final message for password; *server_sig_r gets the
 * "v=..." the server must answer with. */
static void scram_client_final(const char *password, const char *bare,
                               const char *server_first, const char *cbind,
                               char *final, size_t final_size, char *v_r)
{
	struct server_first sf;
	unsigned char salted[32], ckey[32], skey[32], stored[32], sig[32];
	parse_server_first(server_first, &sf);
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
	                                   sf.salt, (int)sf.salt_len,
	                                   (int)sf.iter, EVP_sha256(), 32,
	                                   salted),
	                 1);
	hmac256(salted, 32, "Client Key", ckey);
	hmac256(salted, 32, "Server Key", skey);
	EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL);

	char without[512], auth[1024];
	snprintf(without, sizeof(without), "c=%s,r=%s", cbind, sf.nonce);
	snprintf(auth, sizeof(auth), "%s,%s,%s", bare, server_first, without);
	hmac256(stored, 32, auth, sig);
	for (int i = 0; i < 32; i++)
		ckey[i] ^= sig[i];
	char *proof = sasl_base64_encode(ckey, 32);
	snprintf(final, final_size, "%s,p=%s", without, proof);
	free(proof);
	hmac256(skey, 32, auth, sig);
	char *v = sasl_base64_encode(sig, 32);
	sprintf(v_r, "v=%s", v);
	free(v);
}

/* Run a whole exchange; returns the final step. */
static enum sasl_step scram_exchange(const char *gs2, const char *bare,
                                     const char *cbind, const char *secret,
                                     const char *password, char *first_r)
{
	char first[512], final[512], v[64];
	snprintf(first, sizeof(first), "%s%s", gs2, bare);
	struct sasl *s = sasl_create("SCRAM-SHA-256");
	struct reply r = feed_str(s, first);
	assert_int_equal(r.step, SASL_NEED_SECRET);
	sasl_set_secret(s, secret);
	r = feed_str(s, NULL);
	assert_int_equal(r.step, SASL_CHALLENGE);
	if (first_r != NULL)
		strcpy(first_r, r.out);
	scram_client_final(password, bare, r.out, cbind, final, sizeof(final),
	                   v);
	r = feed_str(s, final);
	if (r.step == SASL_SUCCESS)
		assert_string_equal(r.out, v);
	sasl_free(&s);
	return r.step;
}

static void test_scram_secrets(void **state)
{
	const char *bare = "n=user,r=fyko+d2lbbFgONRv9qkxdawL";
	/* stored SCRAM secret (RFC 7677 user) and one made by Dovecot */
	assert_int_equal(scram_exchange("n,,", bare, "biws", rfc7677_secret,
	                                "pencil", NULL),
	                 SASL_SUCCESS);
	assert_int_equal(
	        scram_exchange("n,,", bare, "biws",
	                       "{SCRAM-SHA-256}4096,d6em9C7z1iu+Dd1X1cddKA==,"
	                       "0rt6KOvIzIB5VAy4V1oGpuCHev2emqhWSPr0iTiyNT0=,"
	                       "z7xQ531e9O/hrx/tdv3/rsTG917iF3l5F9RWXypY0hc=",
	                       "pencil", NULL),
	        SASL_SUCCESS);
	/* plaintext secret: derived for the exchange */
	assert_int_equal(scram_exchange("n,,", bare, "biws", "{PLAIN}pencil",
	                                "pencil", NULL),
	                 SASL_SUCCESS);
	/* wrong password */
	assert_int_equal(scram_exchange("n,,", bare, "biws", rfc7677_secret,
	                                "pen", NULL),
	                 SASL_FAIL);
	assert_int_equal(scram_exchange("n,,", bare, "biws", "{PLAIN}pencil",
	                                "Pencil", NULL),
	                 SASL_FAIL);
	/* "y" flag: c= carries "y,," */
	assert_int_equal(scram_exchange("y,,", bare, "eSws", "{PLAIN}pencil",
	                                "pencil", NULL),
	                 SASL_SUCCESS);
}

static void test_scram_unknown_user(void **state)
{
	const char *bare = "n=ghost,r=abcdef";
	char first1[512], first2[512], first3[512];
	/* no secret, or one SCRAM cannot use: same shape, fails at the end */
	assert_int_equal(
	        scram_exchange("n,,", bare, "biws", NULL, "pencil", first1),
	        SASL_FAIL);
	assert_int_equal(scram_exchange("n,,", bare, "biws",
	                                "{SHA512-CRYPT}$6$x$y", "pencil",
	                                first2),
	                 SASL_FAIL);
	assert_int_equal(scram_exchange("n,,", bare, "biws",
	                                "{SCRAM-SHA-256}garbage", "pencil",
	                                first3),
	                 SASL_FAIL);
	struct server_first a, b;
	parse_server_first(first1, &a);
	parse_server_first(first2, &b);
	assert_int_equal(a.iter, 4096);
	assert_int_equal(a.salt_len, 16);
	/* the same user gets the same salt every time */
	assert_memory_equal(a.salt, b.salt, 16);
	/* and not the salt of another user */
	scram_exchange("n,,", "n=ghost2,r=abcdef", "biws", NULL, "x", first3);
	parse_server_first(first3, &b);
	assert_memory_not_equal(a.salt, b.salt, 16);
}

static void test_scram_names(void **state)
{
	struct sasl *s = sasl_create("SCRAM-SHA-256");
	/* no initial response: empty challenge first */
	struct reply r = feed_str(s, NULL);
	assert_int_equal(r.step, SASL_CHALLENGE);
	assert_string_equal(r.out, "");
	r = feed_str(s, "n,a=ad=3Dmin=2C,n=u=2Cs=3Der,r=abc,x=ext");
	assert_int_equal(r.step, SASL_NEED_SECRET);
	assert_string_equal(sasl_authcid(s), "u,s=er");
	assert_string_equal(sasl_authzid(s), "ad=min,");
	sasl_free(&s);

	/* full exchange with an authzid and escaped name */
	assert_int_equal(scram_exchange("n,a=boss,", "n=us=2Cer,r=xyz",
	                                "bixhPWJvc3Ms", "{PLAIN}pw", "pw",
	                                NULL),
	                 SASL_SUCCESS);
}

static void test_scram_bad_first(void **state)
{
	static const struct {
		const char *msg;
		enum sasl_step want;
	} cases[] = {
	        {"p=tls-unique,,n=user,r=abc", SASL_FAIL},
	        {"n,,m=ext,n=user,r=abc", SASL_FAIL},
	        {"", SASL_BAD},
	        {"x,,n=user,r=abc", SASL_BAD},
	        {"n,n=user,r=abc", SASL_BAD},
	        {"n,,r=abc,n=user", SASL_BAD},
	        {"n,,n=user", SASL_BAD},
	        {"n,,n=user,", SASL_BAD},
	        {"n,,n=user,r=", SASL_BAD},
	        {"n,,n=,r=abc", SASL_BAD},
	        {"n,,n=us=41er,r=abc", SASL_BAD},
	        {"n,,n=user=,r=abc", SASL_BAD},
	        {"n,,n=user=2,r=abc", SASL_BAD},
	        {"n,a=,n=user,r=abc", SASL_BAD},
	        {"n,,n=us\xffr,r=abc", SASL_BAD},
	        {"n,,n=user,r=a b", SASL_BAD},
	        {"n,,n=user,r=abc\x7f", SASL_BAD},
	        {"n,,n=user,r=abcx", SASL_NEED_SECRET},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl *s = sasl_create("SCRAM-SHA-256");
		struct reply r = feed_str(s, cases[i].msg);
		if (r.step != cases[i].want)
			fail_msg("case %zu (%s): got %d", i, cases[i].msg,
			         r.step);
		sasl_free(&s);
	}
	struct sasl *s = sasl_create("SCRAM-SHA-256");
	assert_int_equal(feed(s, "n,,n=u\0,r=abc", 13).step, SASL_BAD);
	sasl_free(&s);
}

/* Bring a SCRAM exchange to the point where it waits for client-final;
 * the combined nonce is "abc" + "SRV". */
static struct sasl *scram_at_final(void)
{
	struct sasl *s = sasl_create("SCRAM-SHA-256");
	sasl_scram_set_test_nonce(s, "SRV");
	assert_int_equal(feed_str(s, "n,,n=user,r=abc").step, SASL_NEED_SECRET);
	sasl_set_secret(s, rfc7677_secret);
	assert_int_equal(feed_str(s, NULL).step, SASL_CHALLENGE);
	return s;
}

static void test_scram_bad_final(void **state)
{
	static const char proof[] =
	        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	static const struct {
		const char *msg;
		enum sasl_step want;
	} cases[] = {
	        {"c=biws,r=abcSRV", SASL_BAD},           /* no proof */
	        {"c=biws,r=abc,PROOF", SASL_BAD},        /* nonce cut */
	        {"c=biws,r=abcSRVx,PROOF", SASL_BAD},    /* nonce longer */
	        {"c=eSws,r=abcSRV,PROOF", SASL_BAD},     /* wrong gs2 header */
	        {"c=biws=,r=abcSRV,PROOF", SASL_BAD},    /* bad base64 */
	        {"r=abcSRV,c=biws,PROOF", SASL_BAD},     /* order */
	        {"c=biws,r=abcSRV,p=AAAA", SASL_BAD},    /* short proof */
	        {"c=biws,r=abcSRV,p=!!!!", SASL_BAD},    /* bad base64 */
	        {"c=biws,r=abcSRVp=x,PROOF", SASL_BAD},  /* nonce mismatch */
	        {"c=biws,r=abcSRV,PROOF,x=y", SASL_BAD}, /* proof not last */
	        {"c=biws,r=abcSRV,x=ext,PROOF",
	         SASL_FAIL},                          /* ext ok, bad proof */
	        {"c=biws,r=abcSRV,PROOF", SASL_FAIL}, /* wrong proof */
	};
	char msg[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl *s = scram_at_final();
		/* PROOF stands for a well-formed proof */
		const char *at = strstr(cases[i].msg, "PROOF");
		if (at == NULL)
			snprintf(msg, sizeof(msg), "%s", cases[i].msg);
		else
			snprintf(msg, sizeof(msg), "%.*s%s%s",
			         (int)(at - cases[i].msg), cases[i].msg, proof,
			         at + 5);
		struct reply r = feed_str(s, msg);
		if (r.step != cases[i].want)
			fail_msg("case %zu (%s): got %d", i, msg, r.step);
		assert_true(r.out[0] != '\0');
		sasl_free(&s);
	}
	struct sasl *s = scram_at_final();
	assert_int_equal(feed_str(s, NULL).step, SASL_BAD);
	sasl_free(&s);
	/* data while the server waits for the secret */
	s = sasl_create("SCRAM-SHA-256");
	feed_str(s, "n,,n=user,r=abc");
	assert_int_equal(feed_str(s, "c=biws").step, SASL_BAD);
	sasl_free(&s);
}

/* ---- base64 ---- */

static void test_base64(void **state)
{
	static const char *const vec[][2] = {
	        {"", ""},
	        {"f", "Zg=="},
	        {"fo", "Zm8="},
	        {"foo", "Zm9v"},
	        {"foob", "Zm9vYg=="},
	        {"fooba", "Zm9vYmE="},
	        {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *enc = sasl_base64_encode((const unsigned char *)vec[i][0],
		                               strlen(vec[i][0]));
		assert_string_equal(enc, vec[i][1]);
		free(enc);
		unsigned char *dec;
		size_t len;
		assert_int_equal(sasl_base64_decode(vec[i][1],
		                                    strlen(vec[i][1]), &dec,
		                                    &len),
		                 0);
		assert_int_equal(len, strlen(vec[i][0]));
		assert_memory_equal(dec, vec[i][0], len);
		free(dec);
	}
	unsigned char bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	char *enc = sasl_base64_encode(bin, sizeof(bin));
	unsigned char *dec;
	size_t len;
	assert_int_equal(sasl_base64_decode(enc, strlen(enc), &dec, &len), 0);
	assert_int_equal(len, 256);
	assert_memory_equal(dec, bin, 256);
	free(dec);
	free(enc);
}

static void test_base64_strict(void **state)
{
	static const char *const bad[] = {
	        "Zg=",      "Zg",     "Z===",  "Zh==",     "Zm9=",
	        "====",     "Zm9v\n", "Zm9 v", "Zm=v",     "Zg==Zg==",
	        "Zm9v====", "Zm-v",   "Zm_v",  "Zm9v\r\n", "Zm\x80v",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char *dec = NULL;
		size_t len = 0;
		if (sasl_base64_decode(bad[i], strlen(bad[i]), &dec, &len) !=
		    -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(dec);
	}
	unsigned char *dec;
	size_t len;
	/* an embedded NUL is just a bad character */
	assert_int_equal(sasl_base64_decode("Zm\0v", 4, &dec, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_initial_response),
	        cmocka_unit_test(test_plain_challenge_first),
	        cmocka_unit_test(test_plain_malformed),
	        cmocka_unit_test(test_login),
	        cmocka_unit_test(test_login_malformed),
	        cmocka_unit_test(test_unterminated_input),
	        cmocka_unit_test(test_mechanisms),
	        cmocka_unit_test(test_too_long),
	        cmocka_unit_test(test_scram_rfc7677),
	        cmocka_unit_test(test_scram_secrets),
	        cmocka_unit_test(test_scram_unknown_user),
	        cmocka_unit_test(test_scram_names),
	        cmocka_unit_test(test_scram_bad_first),
	        cmocka_unit_test(test_scram_bad_final),
	        cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_base64_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
