/* Authentication: USER/PASS and APOP (RFC 1939 7), AUTH (RFC 5034) with
 * the SASL mechanisms IMAP offers, and the response codes of RFC 2449 8
 * and RFC 3206 ([AUTH], [SYS/TEMP], [IN-USE], [LOGIN-DELAY]).
 *
 * Passwords are checked on the thread pool, never on the event loop; a
 * failure is answered after a delay that grows per remote address, as
 * for IMAP. Plaintext passwords (PASS, AUTH PLAIN/LOGIN) are refused on
 * unencrypted non-loopback connections unless [auth] allows them; APOP
 * and SCRAM-SHA-256 never send the password and are always offered. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/penalty.h"
#include "auth/sasl.h"
#include "auth/userdb.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/service.h"
#include "net/threadpool.h"
#include "pop3/pop3-private.h"

#define POP3_MAX_USER_BYTES 255
#define POP3_MAX_PASSWORD_BYTES 1024
#define APOP_DIGEST_HEX 32

enum auth_job_kind { AUTH_JOB_VERIFY, AUTH_JOB_SECRET, AUTH_JOB_APOP };

struct auth_job {
	struct pop3_session *s;
	enum auth_job_kind kind;
	char *user;
	char *secret; /* the password, or APOP's digest */
	size_t secret_len;
	int result; /* 1 match, 0 no, -1 unusable hash */
};

static const char plaintext_refused[] =
        "[AUTH] Plaintext authentication is disallowed on non-encrypted "
        "connections";

void pop3_auth_reset(struct pop3_session *s)
{
	sasl_free(&s->sasl);
	s->sasl_final_sent = false;
	free(s->user_arg);
	s->user_arg = NULL;
}

static void set_mech(struct pop3_session *s, const char *mech)
{
	free(s->auth_mech);
	s->auth_mech = xstrdup(mech);
	for (char *p = s->auth_mech; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
}

static void auth_failed_answer(struct pop3_session *s)
{
	pop3_err(s, "[AUTH] Authentication failed");
	pop3_command_finish(s);
}

static void auth_failed(struct pop3_session *s, const char *user,
                        const char *why)
{
	const char *ip = conn_remote_ip(s->conn);
	struct penalty *p = service_penalty(pop3_server_service(s->server));
	uint64_t now = time_now_ms();
	log_event(LOG_INFO, "login_failed", "proto", "pop3", "user", user,
	          "remote", conn_remote(s->conn), "mech", s->auth_mech,
	          "reason", why, NULL);
	penalty_fail(p, ip, now);
	pop3_auth_reset(s); /* user and why may be gone from here on */
	pop3_session_delay(s, penalty_delay_ms(p, ip, now), auth_failed_answer);
}

static void auth_succeeded(struct pop3_session *s, const char *user)
{
	penalty_success(service_penalty(pop3_server_service(s->server)),
	                conn_remote_ip(s->conn));
	/* user may point into the SASL state freed below */
	free(s->user);
	s->user = xstrdup(user);
	pop3_auth_reset(s);
	pop3_maildrop_open(s);
}

/* RFC 1939 7: the digest is MD5 of the greeting's timestamp followed by
 * the shared secret, in lower-case hex. */
static int apop_verify(const char *stamp, const char *stored,
                       const char *digest)
{
	const char *plain = stored != NULL ? password_plaintext(stored) : NULL;
	if (plain == NULL)
		return 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
	         EVP_DigestUpdate(ctx, stamp, strlen(stamp)) &&
	         EVP_DigestUpdate(ctx, plain, strlen(plain)) &&
	         EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok || md_len * 2 != APOP_DIGEST_HEX)
		return 0;
	char hex[APOP_DIGEST_HEX + 1];
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	int match = CRYPTO_memcmp(hex, digest, APOP_DIGEST_HEX) == 0;
	explicit_bzero(md, sizeof(md));
	explicit_bzero(hex, sizeof(hex));
	return match;
}

static void auth_job_work(void *arg)
{
	struct auth_job *job = arg;
	char *stored = userdb_password(job->user);
	if (job->kind == AUTH_JOB_SECRET) {
		sasl_set_secret(job->s->sasl, stored);
	} else if (job->kind == AUTH_JOB_APOP) {
		job->result =
		        apop_verify(job->s->apop_stamp, stored, job->secret);
	} else if (stored != NULL) {
		const char *error = NULL;
		job->result = password_verify(stored, job->secret,
		                              job->secret_len, &error);
		if (job->result < 0)
			log_event(LOG_WARN, "password_unusable", "user",
			          job->user, "error", error, NULL);
	}
	if (stored != NULL) {
		explicit_bzero(stored, strlen(stored));
		free(stored);
	}
}

static void sasl_advance(struct pop3_session *s, const unsigned char *in,
                         size_t in_len);

static void auth_job_done(void *arg)
{
	struct auth_job *job = arg;
	struct pop3_session *s = job->s;
	if (!s->closed) {
		if (job->kind == AUTH_JOB_SECRET)
			sasl_advance(s, NULL, 0);
		else if (job->result == 1)
			auth_succeeded(s, job->user);
		else
			auth_failed(s, job->user, "wrong password or no user");
	}
	if (job->secret != NULL) {
		explicit_bzero(job->secret, job->secret_len);
		free(job->secret);
	}
	free(job->user);
	free(job);
	pop3_session_unref(s);
}

static void auth_job_submit(struct pop3_session *s, enum auth_job_kind kind,
                            const char *user, const char *secret,
                            size_t secret_len)
{
	struct auth_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	job->kind = kind;
	job->user = xstrdup(user);
	if (secret != NULL) {
		job->secret = xmemdup(secret, secret_len + 1);
		job->secret_len = secret_len;
	}
	pop3_session_ref(s);
	threadpool_submit(service_pool(pop3_server_service(s->server)),
	                  auth_job_work, auth_job_done, job,
	                  conn_loop(s->conn));
}

/* A user name and secret the checks may be asked about; otherwise the
 * attempt fails at once (after the penalty delay). */
static bool credentials_sane(struct pop3_session *s, const char *user,
                             size_t secret_len)
{
	size_t user_len = strlen(user);
	if (user_len > 0 && user_len <= POP3_MAX_USER_BYTES &&
	    secret_len <= POP3_MAX_PASSWORD_BYTES)
		return true;
	auth_failed(s, user_len <= POP3_MAX_USER_BYTES ? user : "",
	            "invalid user name or password");
	return false;
}

void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg_count != 1 || cmd->too_many_args) {
		pop3_err(s, "USER takes one user name");
		return;
	}
	if (!pop3_plaintext_allowed(s)) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	free(s->user_arg);
	s->user_arg = xstrdup(cmd->args[0]);
	/* the same answer for every name: it reveals no users */
	pop3_ok(s, "Send your password");
}

void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (s->user_arg == NULL) {
		pop3_err(s, "Send USER first");
		return;
	}
	if (!pop3_plaintext_allowed(s)) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	/* RFC 1939 7: the password is the rest of the line, spaces and
	 * all */
	size_t len = strlen(cmd->rest);
	char *user = s->user_arg;
	s->user_arg = NULL;
	set_mech(s, "USER");
	pop3_command_async(s);
	if (credentials_sane(s, user, len))
		auth_job_submit(s, AUTH_JOB_VERIFY, user, cmd->rest, len);
	free(user);
}

static bool is_hex_digest(const char *d)
{
	if (strlen(d) != APOP_DIGEST_HEX)
		return false;
	for (const char *p = d; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg_count != 2 || cmd->too_many_args) {
		pop3_err(s, "APOP takes a user name and a digest");
		return;
	}
	if (s->apop_stamp[0] == '\0') {
		pop3_err(s, "APOP is not available");
		return;
	}
	char digest[APOP_DIGEST_HEX + 1];
	snprintf(digest, sizeof(digest), "%s", cmd->args[1]);
	for (char *p = digest; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	set_mech(s, "APOP");
	pop3_command_async(s);
	if (strlen(cmd->args[1]) != APOP_DIGEST_HEX || !is_hex_digest(digest)) {
		auth_failed(s, cmd->args[0], "malformed APOP digest");
		return;
	}
	if (credentials_sane(s, cmd->args[0], 0))
		auth_job_submit(s, AUTH_JOB_APOP, cmd->args[0], digest,
		                APOP_DIGEST_HEX);
}

/* ---- AUTH (RFC 5034) ---- */

static void sasl_send_challenge(struct pop3_session *s,
                                const unsigned char *out, size_t out_len)
{
	char *b64 = sasl_base64_encode(out, out_len);
	conn_printf(s->conn, "+ %s\r\n", b64);
	free(b64);
	s->input_mode = POP3_INPUT_SASL;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void sasl_bad(struct pop3_session *s, const char *text)
{
	pop3_auth_reset(s);
	pop3_err(s, "%s", text);
	pop3_command_finish(s);
}

/* roost has no proxy authorization: a SASL authorization identity must
 * name the authenticated user itself. false: the login has failed. */
static bool authzid_allowed(struct pop3_session *s)
{
	const char *authzid = sasl_authzid(s->sasl);
	if (authzid == NULL || strcmp(authzid, sasl_authcid(s->sasl)) == 0)
		return true;
	auth_failed(s, sasl_authcid(s->sasl),
	            "authorization identity not allowed");
	return false;
}

static void sasl_advance(struct pop3_session *s, const unsigned char *in,
                         size_t in_len)
{
	const unsigned char *out = NULL;
	size_t out_len = 0, pw_len;
	s->input_mode = POP3_INPUT_BUSY;
	conn_pause_input(s->conn);
	switch (sasl_step(s->sasl, in, in_len, &out, &out_len)) {
	case SASL_CHALLENGE:
		sasl_send_challenge(s, out, out_len);
		return;
	case SASL_VERIFY_PASSWORD: {
		if (!authzid_allowed(s))
			return;
		const char *pw = sasl_password(s->sasl, &pw_len);
		auth_job_submit(s, AUTH_JOB_VERIFY, sasl_authcid(s->sasl), pw,
		                pw_len);
		return;
	}
	case SASL_NEED_SECRET:
		auth_job_submit(s, AUTH_JOB_SECRET, sasl_authcid(s->sasl), NULL,
		                0);
		return;
	case SASL_SUCCESS:
		if (!authzid_allowed(s))
			return;
		if (out_len > 0) {
			/* RFC 5034 4: final server data goes in a challenge;
			 * the client answers with an empty line */
			s->sasl_final_sent = true;
			sasl_send_challenge(s, out, out_len);
			return;
		}
		auth_succeeded(s, sasl_authcid(s->sasl));
		return;
	case SASL_FAIL:
		auth_failed(s, sasl_authcid(s->sasl),
		            out != NULL ? (const char *)out : "failed");
		return;
	case SASL_BAD:
		sasl_bad(s, "Invalid SASL message");
		return;
	}
}

/* Decode a client SASL message and take the next step; "=" as an
 * initial response is an empty one (RFC 5034 4). */
static void sasl_advance_base64(struct pop3_session *s, const char *text,
                                size_t len, bool initial)
{
	unsigned char *data;
	size_t data_len;
	if (initial && len == 1 && text[0] == '=') {
		sasl_advance(s, (const unsigned char *)"", 0);
		return;
	}
	if (sasl_base64_decode(text, len, &data, &data_len) < 0) {
		sasl_bad(s, "Invalid base64 data");
		return;
	}
	sasl_advance(s, data, data_len);
	explicit_bzero(data, data_len);
	free(data);
}

void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		sasl_bad(s, "Authentication cancelled");
		return;
	}
	if (s->sasl_final_sent) {
		if (len != 0) {
			sasl_bad(s, "Invalid SASL message");
			return;
		}
		s->input_mode = POP3_INPUT_BUSY;
		auth_succeeded(s, sasl_authcid(s->sasl));
		return;
	}
	sasl_advance_base64(s, line, len, false);
}

static void list_mechanisms(struct pop3_session *s)
{
	pop3_ok(s, "Mechanisms follow");
	if (pop3_plaintext_allowed(s))
		conn_write_str(s->conn, "PLAIN\r\nLOGIN\r\n");
	conn_write_str(s->conn, "SCRAM-SHA-256\r\n.\r\n");
}

void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg_count == 0) {
		list_mechanisms(s);
		return;
	}
	if (cmd->arg_count > 2 || cmd->too_many_args) {
		pop3_err(s, "AUTH takes a mechanism and an initial response");
		return;
	}
	const char *mech = cmd->args[0];
	if (sasl_mech_is_plaintext(mech) && !pop3_plaintext_allowed(s)) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	struct sasl *sasl = sasl_create(mech);
	if (sasl == NULL) {
		pop3_err(s, "Unsupported authentication mechanism");
		return;
	}
	pop3_command_async(s);
	free(s->user_arg);
	s->user_arg = NULL;
	s->sasl = sasl;
	set_mech(s, mech);
	if (cmd->arg_count == 1) {
		sasl_advance(s, NULL, 0);
		return;
	}
	sasl_advance_base64(s, cmd->args[1], strlen(cmd->args[1]), true);
}
