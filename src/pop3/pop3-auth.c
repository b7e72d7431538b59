/* Authentication: USER/PASS and APOP (RFC 1939 7), AUTH (RFC 5034) with
 * the SASL mechanisms IMAP offers, and the response codes of RFC 2449 8
 * and RFC 3206 ([AUTH], [SYS/TEMP], [IN-USE], [LOGIN-DELAY]).
 *
 * POP3's wire syntax around the login flow of auth/login.c, which checks
 * passwords on the thread pool and answers a failure after the penalty
 * delay it shares with IMAP. Plaintext passwords (PASS, AUTH PLAIN/LOGIN) are
 * refused on unencrypted non-loopback connections unless [auth] allows them;
 * APOP and SCRAM-SHA-256 never send the password and are always offered. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/login.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/service.h"
#include "pop3/pop3-private.h"

#define POP3_MAX_USER_BYTES 255
#define APOP_DIGEST_HEX 32

static const char plaintext_refused[] =
        "[AUTH] Plaintext authentication is disallowed on non-encrypted "
        "connections";

void pop3_auth_reset(struct pop3_session *s)
{
	if (s->login != NULL)
		auth_login_reset(s->login);
	free(s->user_arg);
	s->user_arg = NULL;
}

static void login_ref(void *ctx)
{
	pop3_session_ref(ctx);
}

static void login_unref(void *ctx)
{
	struct pop3_session *s = ctx;
	pop3_session_unref(s);
}

static bool login_closed(void *ctx)
{
	const struct pop3_session *s = ctx;
	return s->closed;
}

static void login_pause(void *ctx)
{
	pop3_command_async(ctx);
}

static void login_challenge(void *ctx, const char *base64)
{
	struct pop3_session *s = ctx;
	conn_printf(s->conn, "+ %s\r\n", base64);
	s->input_mode = POP3_INPUT_SASL;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void login_bad(void *ctx, const char *text)
{
	struct pop3_session *s = ctx;
	pop3_auth_reset(s);
	pop3_err(s, "%s", text);
	pop3_command_finish(s);
}

static void failed_answer(struct pop3_session *s)
{
	pop3_err(s, "[AUTH] Authentication failed");
	pop3_command_finish(s);
}

static void login_failed(void *ctx, unsigned int delay_ms)
{
	struct pop3_session *s = ctx;
	pop3_auth_reset(s);
	pop3_session_delay(s, delay_ms, failed_answer);
}

static void login_succeeded(void *ctx, const char *user, const char *mech)
{
	struct pop3_session *s = ctx;
	free(s->user);
	s->user = xstrdup(user);
	free(s->auth_mech);
	s->auth_mech = xstrdup(mech);
	pop3_auth_reset(s);
	pop3_maildrop_open(s);
}

static const struct auth_login_ops login_ops = {
        .ref = login_ref,
        .unref = login_unref,
        .closed = login_closed,
        .pause = login_pause,
        .challenge = login_challenge,
        .bad = login_bad,
        .failed = login_failed,
        .succeeded = login_succeeded,
};

/* The session's login state, made at its first login command (on the
 * loop it was accepted on, where it stays until logged in). */
static struct auth_login *session_login(struct pop3_session *s)
{
	if (s->login == NULL) {
		struct service *service = pop3_server_service(s->server);
		const struct auth_login_settings set = {
		        .pool = service_pool(service),
		        .loop = conn_loop(s->conn),
		        .penalty = service_penalty(service),
		        .proto = "pop3",
		        .remote = conn_remote(s->conn),
		        .remote_ip = conn_remote_ip(s->conn),
		        .max_user_bytes = POP3_MAX_USER_BYTES,
		};
		s->login = auth_login_create(&set, &login_ops, s);
	}
	return s->login;
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

static int apop_check(const char *stored, const char *digest, size_t digest_len,
                      void *ctx)
{
	const struct pop3_session *s = ctx;
	(void)digest_len;
	return apop_verify(s->apop_stamp, stored, digest);
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
	char *user = s->user_arg;
	s->user_arg = NULL;
	pop3_command_async(s);
	auth_login_password(session_login(s), "USER", user, strlen(user),
	                    cmd->rest, strlen(cmd->rest));
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
	pop3_command_async(s);
	struct auth_login *login = session_login(s);
	if (strlen(cmd->args[1]) != APOP_DIGEST_HEX || !is_hex_digest(digest)) {
		auth_login_fail(login, "APOP", cmd->args[0],
		                "malformed APOP digest");
		return;
	}
	auth_login_verify(login, "APOP", cmd->args[0], strlen(cmd->args[0]),
	                  digest, APOP_DIGEST_HEX, apop_check);
}

/* ---- AUTH (RFC 5034) ---- */

void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len)
{
	s->input_mode = POP3_INPUT_BUSY;
	auth_login_sasl_input(session_login(s), line, len);
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
	if (!auth_login_sasl_start(session_login(s), mech)) {
		pop3_err(s, "Unsupported authentication mechanism");
		return;
	}
	pop3_command_async(s);
	free(s->user_arg);
	s->user_arg = NULL;
	const char *ir = cmd->arg_count == 2 ? cmd->args[1] : NULL;
	auth_login_sasl_begin(s->login, ir, ir != NULL ? strlen(ir) : 0);
}
