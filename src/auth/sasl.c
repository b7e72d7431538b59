/* SASL server framework and the PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login-00) mechanisms, plus strict base64
 * (RFC 4648 section 4) for the protocol layers. SCRAM-SHA-256 lives in
 * scram.c. See sasl.h for the step contract. */
#include "auth/sasl.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/sasl-private.h"
#include "core/xalloc.h"

/* LOGIN predates RFC 4616 and has no length rule; allow long passwords. */
#define SASL_MAX_PASSWORD_BYTES 1024

enum login_state {
	LOGIN_START,
	LOGIN_USER,
	LOGIN_PASS,
};

static enum sasl_step sasl_challenge(struct sasl *s, const char *text)
{
	buf_reset(&s->out);
	if (buf_append_str(&s->out, text) < 0)
		return sasl_error(s, SASL_FAIL, "challenge too long");
	return SASL_CHALLENGE;
}

enum sasl_step sasl_error(struct sasl *s, enum sasl_step step,
                          const char *reason)
{
	s->error = reason;
	return step;
}

static size_t utf8_seq_len(unsigned char c, unsigned int *min_r)
{
	if (c < 0x80) {
		*min_r = 0;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		*min_r = 0x80;
		return 2;
	}
	if ((c & 0xf0) == 0xe0) {
		*min_r = 0x800;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*min_r = 0x10000;
		return 4;
	}
	return 0;
}

bool sasl_utf8_valid(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned int min;
		size_t n = utf8_seq_len(p[i], &min);
		if (n == 0 || n > len - i || p[i] == '\0')
			return false;
		unsigned int cp = n == 1 ? p[i] : p[i] & (0x7f >> n);
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* RFC 3629 section 3: no overlongs, surrogates or > U+10FFFF */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n;
	}
	return true;
}

void sasl_set_authzid(struct sasl *s, char *authzid)
{
	if (authzid != NULL && s->authcid != NULL &&
	    strcmp(authzid, s->authcid) == 0) {
		free(authzid);
		authzid = NULL;
	}
	free(s->authzid);
	s->authzid = authzid;
}

static void sasl_set_password(struct sasl *s, const unsigned char *p,
                              size_t len)
{
	/* NUL-terminated copy: p itself is not */
	s->password = xmalloc(len + 1);
	memcpy(s->password, p, len);
	s->password[len] = '\0';
	s->password_len = len;
}

/* Is [p, p+len) an acceptable identity: 1..255 bytes of UTF-8? */
static bool sasl_name_ok(const unsigned char *p, size_t len)
{
	return len > 0 && len <= SASL_MAX_NAME_BYTES && sasl_utf8_valid(p, len);
}

/* RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd */
static enum sasl_step plain_parse(struct sasl *s, const unsigned char *in,
                                  size_t in_len)
{
	const unsigned char *nul1 = memchr(in, '\0', in_len);
	if (nul1 == NULL)
		return sasl_error(s, SASL_BAD, "PLAIN: missing NUL separator");
	const unsigned char *authcid = nul1 + 1;
	const unsigned char *end = in + in_len;
	const unsigned char *nul2 = memchr(authcid, '\0', end - authcid);
	if (nul2 == NULL)
		return sasl_error(s, SASL_BAD, "PLAIN: missing NUL separator");
	const unsigned char *pass = nul2 + 1;
	size_t zid_len = nul1 - in, cid_len = nul2 - authcid;
	size_t pass_len = end - pass;

	if (memchr(pass, '\0', pass_len) != NULL)
		return sasl_error(s, SASL_BAD, "PLAIN: too many fields");
	if ((zid_len > 0 && !sasl_name_ok(in, zid_len)) ||
	    !sasl_name_ok(authcid, cid_len))
		return sasl_error(s, SASL_BAD, "PLAIN: invalid identity");
	if (pass_len == 0 || pass_len > SASL_MAX_PASSWORD_BYTES)
		return sasl_error(s, SASL_BAD, "PLAIN: invalid password");

	s->authcid = xstrndup((const char *)authcid, cid_len);
	if (zid_len > 0)
		sasl_set_authzid(s, xstrndup((const char *)in, zid_len));
	sasl_set_password(s, pass, pass_len);
	return SASL_VERIFY_PASSWORD;
}

static enum sasl_step plain_step(struct sasl *s, const unsigned char *in,
                                 size_t in_len)
{
	if (in == NULL) {
		if (s->state != 0)
			return sasl_error(s, SASL_BAD, "PLAIN: no response");
		s->state = 1;
		return sasl_challenge(s, "");
	}
	return plain_parse(s, in, in_len);
}

static enum sasl_step login_user(struct sasl *s, const unsigned char *in,
                                 size_t in_len)
{
	if (!sasl_name_ok(in, in_len))
		return sasl_error(s, SASL_BAD, "LOGIN: invalid user name");
	s->authcid = xstrndup((const char *)in, in_len);
	s->state = LOGIN_PASS;
	return sasl_challenge(s, "Password:");
}

static enum sasl_step login_step(struct sasl *s, const unsigned char *in,
                                 size_t in_len)
{
	switch ((enum login_state)s->state) {
	case LOGIN_START:
		/* An empty initial response is the same as none. */
		if (in != NULL && in_len > 0)
			return login_user(s, in, in_len);
		s->state = LOGIN_USER;
		return sasl_challenge(s, "Username:");
	case LOGIN_USER:
		if (in == NULL)
			return sasl_error(s, SASL_BAD, "LOGIN: no response");
		return login_user(s, in, in_len);
	case LOGIN_PASS:
		if (in == NULL || memchr(in, '\0', in_len) != NULL ||
		    in_len > SASL_MAX_PASSWORD_BYTES)
			return sasl_error(s, SASL_BAD,
			                  "LOGIN: invalid password");
		if (in_len == 0)
			return sasl_error(s, SASL_FAIL,
			                  "LOGIN: empty password");
		sasl_set_password(s, in, in_len);
		return SASL_VERIFY_PASSWORD;
	}
	return sasl_error(s, SASL_BAD, "LOGIN: bad state");
}

static const struct sasl_mech sasl_mech_plain = {
        .name = "PLAIN",
        .plaintext = true,
        .step = plain_step,
};

static const struct sasl_mech sasl_mech_login = {
        .name = "LOGIN",
        .plaintext = true,
        .step = login_step,
};

static const struct sasl_mech *const sasl_mechs[] = {
        &sasl_mech_plain,
        &sasl_mech_login,
        &sasl_mech_scram_sha256,
};

static const struct sasl_mech *sasl_mech_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sasl_mechs) / sizeof(sasl_mechs[0]);
	     i++) {
		if (strcasecmp(sasl_mechs[i]->name, name) == 0)
			return sasl_mechs[i];
	}
	return NULL;
}

struct sasl *sasl_create(const char *mech_name)
{
	const struct sasl_mech *mech = sasl_mech_find(mech_name);
	if (mech == NULL)
		return NULL;
	struct sasl *s = xcalloc(1, sizeof(*s));
	s->mech = mech;
	buf_init(&s->out, SASL_MAX_OUT_BYTES);
	if (mech->init != NULL)
		mech->init(s);
	return s;
}

void sasl_free(struct sasl **sp)
{
	struct sasl *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	if (s->mech->deinit != NULL)
		s->mech->deinit(s);
	if (s->password != NULL) {
		OPENSSL_cleanse(s->password, s->password_len);
		free(s->password);
	}
	if (s->out.data != NULL)
		OPENSSL_cleanse(s->out.data, s->out.size);
	buf_free(&s->out);
	free(s->authcid);
	free(s->authzid);
	free(s);
}

bool sasl_mech_is_plaintext(const char *mech_name)
{
	const struct sasl_mech *mech = sasl_mech_find(mech_name);
	return mech != NULL && mech->plaintext;
}

enum sasl_step sasl_step(struct sasl *s, const unsigned char *in, size_t in_len,
                         const unsigned char **out_r, size_t *out_len_r)
{
	enum sasl_step step;

	if (s->finished)
		step = sasl_error(s, SASL_BAD, "exchange already finished");
	else if (in != NULL && in_len > SASL_MAX_MESSAGE_BYTES)
		step = sasl_error(s, SASL_BAD, "message too long");
	else
		step = s->mech->step(s, in, in_len);

	switch (step) {
	case SASL_CHALLENGE:
	case SASL_SUCCESS:
		*out_r = (const unsigned char *)buf_cstr(&s->out);
		*out_len_r = s->out.len;
		break;
	case SASL_NEED_SECRET:
		*out_r = (const unsigned char *)"";
		*out_len_r = 0;
		break;
	case SASL_VERIFY_PASSWORD:
	case SASL_FAIL:
	case SASL_BAD:
		*out_r = (const unsigned char *)(s->error != NULL ? s->error
		                                                  : "");
		*out_len_r = strlen((const char *)*out_r);
		break;
	}
	s->finished = step == SASL_SUCCESS || step == SASL_FAIL ||
	              step == SASL_BAD || step == SASL_VERIFY_PASSWORD;
	return step;
}

const char *sasl_authcid(const struct sasl *s)
{
	return s->authcid;
}

const char *sasl_authzid(const struct sasl *s)
{
	return s->authzid;
}

const char *sasl_password(const struct sasl *s, size_t *len_r)
{
	*len_r = s->password_len;
	return (const char *)s->password;
}

void sasl_set_secret(struct sasl *s, const char *stored)
{
	if (s->mech->set_secret != NULL)
		s->mech->set_secret(s, stored);
}

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sasl_base64_encode(const unsigned char *in, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	char *o = out;
	for (size_t i = 0; i < len; i += 3) {
		unsigned int n = in[i] << 16;
		if (i + 1 < len)
			n |= in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		*o++ = b64_alphabet[(n >> 18) & 63];
		*o++ = b64_alphabet[(n >> 12) & 63];
		*o++ = i + 1 < len ? b64_alphabet[(n >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64_alphabet[n & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c == '\0' ? NULL : strchr(b64_alphabet, c);
	return p == NULL ? -1 : (int)(p - b64_alphabet);
}

/* Decode one 4-character group into out; returns bytes written (1..3) or
 * -1. Padding is allowed only in the last group (last is true). */
static int b64_group(const char *g, bool last, unsigned char *out)
{
	int pad = (g[3] == '=') + (g[2] == '=' && g[3] == '=');
	if (pad > 0 && !last)
		return -1;
	int v[4] = {0, 0, 0, 0};
	for (int k = 0; k < 4 - pad; k++) {
		if ((v[k] = b64_value(g[k])) < 0)
			return -1;
	}
	/* RFC 4648 section 3.5: the bits dropped by padding must be zero */
	if ((pad == 1 && (v[2] & 3) != 0) || (pad == 2 && (v[1] & 15) != 0))
		return -1;
	unsigned int n = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
	out[0] = n >> 16;
	out[1] = n >> 8;
	out[2] = n;
	return 3 - pad;
}

int sasl_base64_decode(const char *in, size_t len, unsigned char **out_r,
                       size_t *out_len_r)
{
	if (len % 4 != 0)
		return -1;
	unsigned char *out = xmalloc(len / 4 * 3 + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int r = b64_group(in + i, i + 4 == len, out + n);
		if (r < 0) {
			free(out);
			return -1;
		}
		n += (size_t)r;
	}
	out[n] = '\0';
	*out_r = out;
	*out_len_r = n;
	return 0;
}
