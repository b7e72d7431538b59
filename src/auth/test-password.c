/* Unit tests for password.c: every scheme hashes and verifies, wrong
 * passwords fail, malformed values are errors, and hashes written by
 * Dovecot 2.3 ("doveadm pw -s SCHEME -p PASSWORD") verify unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/password.h"

static int verify(const char *stored, const char *plain)
{
	const char *error = NULL;
	int r = password_verify(stored, plain, strlen(plain), &error);
	if (r < 0)
		assert_non_null(error);
	return r;
}

/* Made by doveadm pw (Dovecot 2.3.19) for the password in the test. */
static const char *const dovecot_secret[] = {
        "{SHA512-CRYPT}$6$AqYnntCfaTL3UWcx$iaKloR74cWJnY1rZDYvgesok7b/9I1kPI0Z1"
        "kxOOnHdareW3/4b70MGK6bpaqnrdz2GTCR8AakpBjhyqH7FJE/",
        "{BLF-CRYPT}$2y$05$zo/"
        "AXX0fsT.TEL6wW1xJKeFA0oJrii7ne6Ncg4G4ACKeKaQYNnLC6",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$OBEgOsEn6NaTUu4aSltVHw$xRyNk"
        "DOsusO2jD2E0cD8LpNeXM1eoUZ75Zs4Tg+Iv34",
        "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$vW3tQKWsk6n8XwtTVR/LRw$rPN6+7UM"
        "SASZiKG3tc9T0wYVqA4xFphicE2aw8IvlZo",
        "{SCRAM-SHA-256}4096,DF6Hvpk9xRDbH0Ew0Gq49A==,Jr4iwv6YFpxQD9eDBQYUUgRlw"
        "pW1BO4K3tM0tbIJp+s=,0/K0mQtiAC3pp5RIWwcLMeUxmTFmBBb9DVx5AC8T/ZU=",
        "{PLAIN}secret",
        "{CRYPT}$2y$05$uowN4jJkmSfZtaWYkDYPm.Z2.v.aPnUAXr/2A7ZUzAZVJUkUjx4gG",
        /* the same SHA512-CRYPT hash as {CRYPT} and with no scheme */
        "{CRYPT}$6$AqYnntCfaTL3UWcx$iaKloR74cWJnY1rZDYvgesok7b/9I1kPI0Z1kxOOnHd"
        "areW3/4b70MGK6bpaqnrdz2GTCR8AakpBjhyqH7FJE/",
        "$6$AqYnntCfaTL3UWcx$iaKloR74cWJnY1rZDYvgesok7b/9I1kPI0Z1kxOOnHdareW3/4"
        "b70MGK6bpaqnrdz2GTCR8AakpBjhyqH7FJE/",
};

static const char *const dovecot_pencil[] = {
        "{SHA512-CRYPT}$6$rounds=10000$BtmnMlfQ0Lc9.Naq$COW1kgLDKqZ5QER5S4t64/I"
        "R.eqLXsouTiW9bvwjv53p2tp4EulthXKuGEin.vSMV.cHUDrB3dq40nOB5aUti.",
        "{BLF-CRYPT}$2y$10$bgeKNtcwn/"
        "h5nCUXso8nN.q5hNYNEAE7s20gNywp.Lm21kQFWza1G",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$l8QOSZ88d/YVDxMqT1KHNw$7pHXVd"
        "igCdMdy9R4AARjiim+X9mArHzrkB64mJ1t5X4",
        "{SCRAM-SHA-256}4096,d6em9C7z1iu+Dd1X1cddKA==,0rt6KOvIzIB5VAy4V1oGpuCHe"
        "v2emqhWSPr0iTiyNT0=,z7xQ531e9O/hrx/tdv3/rsTG917iF3l5F9RWXypY0hc=",
        "{SHA256-CRYPT}$5$HAm2Z0E.CDGgLRqL$yz9nP9BMF3fHckQL23ao6LFFT2/QW5uzXmQD"
        "3vFnPRD",
        "{CRYPT}$2y$05$5Vni2trCu.2t9teTxMd6we5Eib/nX11HV9amlmfimVBzivW8uzPNq",
        /* scheme names are case-insensitive, as in Dovecot */
        "{blf-crypt}$2y$10$bgeKNtcwn/"
        "h5nCUXso8nN.q5hNYNEAE7s20gNywp.Lm21kQFWza1G",
};

/* Non-ASCII password "pässword" (UTF-8), also made by doveadm pw. */
static const char *const dovecot_umlaut[] = {
        "{SCRAM-SHA-256}4096,w/Y0r2WxY29UT5ztDkhyaw==,9z7dbkplHTA9YAv549wMFv9u6"
        "mh+M2YCwjBj07NEUEI=,2PsOh5fqA/viZQn42ivkm0Bi/VqF6UWtaFYb6gIrqjo=",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$N99ixC/LLSvU7eShkXtc4Q$JHFJVR"
        "81BnZc9gsTMIRI7FB5THQIjQ5q1i0RlTcjhfg",
};

static void check_vectors(const char *const *v, size_t n, const char *good)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(verify(v[i], good), 1);
		assert_int_equal(verify(v[i], "wrong"), 0);
		/* a prefix or extension of the password must not match */
		char *longer = malloc(strlen(good) + 2);
		strcpy(longer, good);
		strcat(longer, "x");
		assert_int_equal(verify(v[i], longer), 0);
		free(longer);
	}
}

static void test_dovecot_vectors(void **state)
{
	check_vectors(dovecot_secret,
	              sizeof(dovecot_secret) / sizeof(dovecot_secret[0]),
	              "secret");
	check_vectors(dovecot_pencil,
	              sizeof(dovecot_pencil) / sizeof(dovecot_pencil[0]),
	              "pencil");
	check_vectors(dovecot_umlaut,
	              sizeof(dovecot_umlaut) / sizeof(dovecot_umlaut[0]),
	              "p\xc3\xa4ssword");
}

/* The RFC 7677 section 3 example user: salt and 4096 iterations from the
 * RFC, keys computed independently with Python's hashlib. */
static void test_scram_rfc7677_secret(void **state)
{
	const char *stored = "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	                     "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	                     "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
	assert_int_equal(verify(stored, "pencil"), 1);
	assert_int_equal(verify(stored, "Pencil"), 0);
}

static void hash_roundtrip(const char *scheme, const char *prefix)
{
	const char *error = NULL;
	const char *pw = "correct horse battery staple";
	char *h1 = password_hash(scheme, pw, strlen(pw), &error);
	assert_non_null(h1);
	assert_true(strncmp(h1, prefix, strlen(prefix)) == 0);
	assert_int_equal(verify(h1, pw), 1);
	assert_int_equal(verify(h1, "correct horse battery stapl"), 0);
	assert_int_equal(verify(h1, ""), 0);

	/* salted: hashing again gives a different string (PLAIN aside) */
	char *h2 = password_hash(scheme, pw, strlen(pw), &error);
	assert_non_null(h2);
	if (!password_is_plaintext(h1))
		assert_string_not_equal(h1, h2);
	free(h1);
	free(h2);
}

static void test_hash_every_scheme(void **state)
{
	hash_roundtrip("PLAIN", "{PLAIN}correct horse");
	hash_roundtrip("clear", "{CLEAR}correct horse");
	hash_roundtrip("SHA512-CRYPT", "{SHA512-CRYPT}$6$");
	hash_roundtrip("BLF-CRYPT", "{BLF-CRYPT}$2y$10$");
	hash_roundtrip("YESCRYPT", "{CRYPT}$y$");
	hash_roundtrip("CRYPT", "{CRYPT}$y$");
	hash_roundtrip("ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$");
	hash_roundtrip("ARGON2I", "{ARGON2I}$argon2i$v=19$m=65536,t=3,p=1$");
	hash_roundtrip("SCRAM-SHA-256", "{SCRAM-SHA-256}4096,");
	hash_roundtrip(PASSWORD_DEFAULT_SCHEME, "{ARGON2ID}");
}

static void test_sha512_crypt_default_rounds(void **state)
{
	const char *error = NULL;
	char *h = password_hash("SHA512-CRYPT", "x", 1, &error);
	assert_non_null(h);
	/* 5000 rounds is crypt's default and is not spelled out */
	assert_null(strstr(h, "rounds="));
	free(h);
}

static void test_hash_errors(void **state)
{
	const char *error = NULL;
	assert_null(password_hash("MD5", "x", 1, &error));
	assert_non_null(error);
	error = NULL;
	/* verify-only schemes cannot hash */
	assert_null(password_hash("SHA256-CRYPT", "x", 1, &error));
	assert_non_null(error);
	error = NULL;
	/* crypt(3) cannot take NUL bytes */
	assert_null(password_hash("SHA512-CRYPT", "a\0b", 3, &error));
	assert_non_null(error);
}

static void test_plain_binary(void **state)
{
	const char *error = NULL;
	/* argon2 and SCRAM take any bytes, NUL included */
	char *h = password_hash("ARGON2ID", "a\0b", 3, &error);
	assert_non_null(h);
	assert_int_equal(password_verify(h, "a\0b", 3, &error), 1);
	assert_int_equal(password_verify(h, "a\0c", 3, &error), 0);
	assert_int_equal(password_verify(h, "a", 1, &error), 0);
	free(h);
	assert_int_equal(password_verify("{PLAIN}a", "a\0", 2, &error), 0);
	assert_int_equal(
	        password_verify("$6$AqYnntCfaTL3UWcx$x", "a\0", 2, &error), 0);
}

static void test_malformed(void **state)
{
	assert_int_equal(verify("{MD4}abc", "abc"), -1);
	assert_int_equal(verify("", "abc"), -1);
	assert_int_equal(verify("{CRYPT}", "abc"), -1);
	assert_int_equal(verify("not a hash", "abc"), -1);
	assert_int_equal(verify("{SHA512-CRYPT}$2y$05$zo/AXX0fsT.TEL6wW1xJKeF"
	                        "A0oJrii7ne6Ncg4G4ACKeKaQYNnLC6",
	                        "secret"),
	                 -1);
	assert_int_equal(
	        verify("{BLF-CRYPT}$6$AqYnntCfaTL3UWcx$iaKloR74cWJ", "secret"),
	        -1);
	assert_int_equal(
	        verify("{ARGON2ID}$argon2i$v=19$m=32768,t=4,p=1$vW3t"
	               "QKWsk6n8XwtTVR/LRw$rPN6+7UMSASZiKG3tc9T0wYVqA4x"
	               "FphicE2aw8IvlZo",
	               "secret"),
	        -1);
	assert_int_equal(
	        verify("{ARGON2ID}$argon2id$v=19$m=65536,t=3$x$y", "secret"),
	        -1);
	assert_int_equal(verify("{SCRAM-SHA-256}4096,DF6Hvpk9xRDbH0Ew0Gq49A==",
	                        "secret"),
	                 -1);
	assert_int_equal(
	        verify("{SCRAM-SHA-256}0,DF6Hvpk9xRDbH0Ew0Gq49A==,Jr4"
	               "iwv6YFpxQD9eDBQYUUgRlwpW1BO4K3tM0tbIJp+s=,0/K0m"
	               "QtiAC3pp5RIWwcLMeUxmTFmBBb9DVx5AC8T/ZU=",
	               "secret"),
	        -1);
	/* StoredKey of the wrong length */
	assert_int_equal(
	        verify("{SCRAM-SHA-256}4096,DF6Hvpk9xRDbH0Ew0Gq49A==,"
	               "Jr4iwv6YFpxQ,0/K0mQtiAC3pp5RIWwcLMeUxmTFmBBb9DV"
	               "x5AC8T/ZU=",
	               "secret"),
	        -1);
}

static void test_plaintext(void **state)
{
	assert_true(password_is_plaintext("{PLAIN}x"));
	assert_true(password_is_plaintext("{clear}x"));
	assert_false(password_is_plaintext("{SHA512-CRYPT}$6$x"));
	assert_false(password_is_plaintext("$6$x"));
	assert_false(password_is_plaintext("{NOPE}x"));
	assert_string_equal(password_plaintext("{CLEAR}pen:cil"), "pen:cil");
	assert_string_equal(password_plaintext("{PLAIN}"), "");
	assert_null(password_plaintext("{ARGON2ID}$argon2id$"));
	assert_int_equal(verify("{PLAIN}", ""), 1);
	assert_int_equal(verify("{PLAIN}", "x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dovecot_vectors),
	        cmocka_unit_test(test_scram_rfc7677_secret),
	        cmocka_unit_test(test_hash_every_scheme),
	        cmocka_unit_test(test_sha512_crypt_default_rounds),
	        cmocka_unit_test(test_hash_errors),
	        cmocka_unit_test(test_plain_binary),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_plaintext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
