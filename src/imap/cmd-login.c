/* LOGIN (RFC 3501 6.2.3) and AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR
 * (RFC 4959): IMAP's wire syntax around the login flow of auth/login.c,
 * which checks passwords on the thread pool and answers a failure after
 * the penalty delay. Response codes from RFC 5530 (AUTHENTICATIONFAILED,
 * PRIVACYREQUIRED). */
#include "auth/login.h"
#include "auth/sasl.h"
#include "imap/imap-private.h"
#include "imap/imap-session.h"
#include "net/conn.h"
#include "net/service.h"

#define IMAP_MAX_USER_BYTES 256

static const char privacy_text[] =
        "[PRIVACYREQUIRED] Plaintext authentication is disallowed on "
        "non-encrypted connections";

static void login_ref(void *ctx)
{
	imap_session_ref(ctx);
}

static void login_unref(void *ctx)
{
	struct imap_session *s = ctx;
	imap_session_unref(s);
}

static bool login_closed(void *ctx)
{
	return imap_session_is_closed(ctx);
}

static void login_pause(void *ctx)
{
	struct imap_session *s = ctx;
	s->input_mode = IMAP_INPUT_BUSY;
	conn_pause_input(s->conn);
}

static void login_challenge(void *ctx, const char *base64)
{
	struct imap_session *s = ctx;
	conn_printf(s->conn, "+ %s\r\n", base64);
	s->input_mode = IMAP_INPUT_SASL;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void login_bad(void *ctx, const char *text)
{
	imap_command_finish(ctx, "BAD", text);
}

static void failed_answer(struct imap_session *s)
{
	imap_command_finish(s, "NO",
	                    "[AUTHENTICATIONFAILED] Authentication failed.");
}

static void login_failed(void *ctx, unsigned int delay_ms)
{
	imap_session_delay(ctx, delay_ms, failed_answer);
}

static void login_succeeded(void *ctx, const char *user, const char *mech)
{
	imap_session_logged_in(ctx, user, mech);
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
static struct auth_login *session_login(struct imap_session *s)
{
	if (s->login == NULL) {
		struct service *service = imap_server_service(s->server);
		const struct auth_login_settings set = {
		        .pool = service_pool(service),
		        .loop = conn_loop(s->conn),
		        .penalty = service_penalty(service),
		        .remote = conn_remote(s->conn),
		        .remote_ip = conn_remote_ip(s->conn),
		        .max_user_bytes = IMAP_MAX_USER_BYTES,
		};
		s->login = auth_login_create(&set, &login_ops, s);
	}
	return s->login;
}

void cmd_login(struct imap_session *s, const struct imap_command_line *cmd)
{
	const char *user, *password;
	size_t user_len, password_len;
	if (cmd->arg_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &user, &user_len) ||
	    !imap_arg_get_astring(&cmd->args[1], &password, &password_len)) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (!imap_plaintext_allowed(s)) {
		imap_reply_tagged(s, cmd->tag, "NO", privacy_text);
		return;
	}
	imap_command_async(s, cmd);
	auth_login_password(session_login(s), "LOGIN", user, user_len, password,
	                    password_len);
}

void imap_sasl_reset(struct imap_session *s)
{
	if (s->login != NULL)
		auth_login_reset(s->login);
}

void imap_sasl_input(struct imap_session *s, const char *line, size_t len)
{
	s->input_mode = IMAP_INPUT_BUSY;
	auth_login_sasl_input(session_login(s), line, len);
}

void cmd_authenticate(struct imap_session *s,
                      const struct imap_command_line *cmd)
{
	const char *mech, *ir = NULL;
	size_t ir_len = 0;
	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    !imap_arg_get_atom(&cmd->args[0], &mech) ||
	    (cmd->arg_count == 2 &&
	     !imap_arg_get_astring(&cmd->args[1], &ir, &ir_len))) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (sasl_mech_is_plaintext(mech) && !imap_plaintext_allowed(s)) {
		imap_reply_tagged(s, cmd->tag, "NO", privacy_text);
		return;
	}
	if (!auth_login_sasl_start(session_login(s), mech)) {
		imap_reply_tagged(s, cmd->tag, "NO",
		                  "Unsupported authentication mechanism");
		return;
	}
	imap_command_async(s, cmd);
	auth_login_sasl_begin(s->login, ir, ir_len);
}
