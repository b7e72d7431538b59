/* libFuzzer target: drive each SASL mechanism with client messages.
 * Input: byte 0 picks the mechanism and the stored secret, byte 1 bit 0
 * says whether the client starts with no initial response; the rest is
 * split into messages at 0xff (never valid in UTF-8). Each message is
 * also run through base64 decode and, when valid, re-encoded. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7677's user "user", password "pencil"; and a cheap 1-iteration
 * secret so that most runs stay fast. */
static const char *const secrets[] = {
        "{PLAIN}pencil",
        "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "{SCRAM-SHA-256}1,c2FsdA==,"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        NULL,
        "{SHA512-CRYPT}$6$x$y",
};
static const char *const mechs[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};

static void check_base64(const uint8_t *p, size_t len)
{
	unsigned char *out;
	size_t out_len;
	if (sasl_base64_decode((const char *)p, len, &out, &out_len) < 0)
		return;
	char *again = sasl_base64_encode(out, out_len);
	/* strict decoding: only canonical input is accepted */
	assert(strlen(again) == len && memcmp(again, p, len) == 0);
	free(again);
	free(out);
}

/* React to one step; returns true if the exchange goes on. */
static bool handle(struct sasl *s, enum sasl_step step, const char *secret)
{
	const char *error;
	size_t len;
	switch (step) {
	case SASL_CHALLENGE:
		return true;
	case SASL_VERIFY_PASSWORD:
		assert(sasl_authcid(s) != NULL);
		const char *pw = sasl_password(s, &len);
		(void)password_verify("{PLAIN}pencil", pw, len, &error);
		return false;
	case SASL_NEED_SECRET:
		assert(sasl_authcid(s) != NULL);
		sasl_set_secret(s, secret);
		return true;
	case SASL_SUCCESS:
	case SASL_FAIL:
	case SASL_BAD:
		return false;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t nsecrets = sizeof(secrets) / sizeof(secrets[0]);
	const char *mech = mechs[data[0] % 3];
	const char *secret = secrets[(data[0] / 3) % nsecrets];
	bool no_ir = (data[1] & 1) != 0;
	const uint8_t *p = data + 2, *end = data + size;

	struct sasl *s = sasl_create(mech);
	const unsigned char *out;
	size_t out_len;
	enum sasl_step step = SASL_CHALLENGE;
	if (no_ir)
		step = sasl_step(s, NULL, 0, &out, &out_len);
	while (handle(s, step, secret)) {
		if (step == SASL_NEED_SECRET) {
			step = sasl_step(s, NULL, 0, &out, &out_len);
			continue;
		}
		if (p > end)
			break;
		const uint8_t *sep = memchr(p, 0xff, (size_t)(end - p));
		size_t len = (size_t)((sep != NULL ? sep : end) - p);
		check_base64(p, len);
		step = sasl_step(s, p, len, &out, &out_len);
		assert(out != NULL);
		p += len + 1;
	}
	sasl_free(&s);
	return 0;
}
