/* LOGIN (RFC 3501 6.2.3) and AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR
 * (RFC 4959). Passwords are checked on the thread pool, never on the
 * event loop; a failure is answered after a delay that grows per remote
 * address. Response codes from RFC 5530 (AUTHENTICATIONFAILED,
 * PRIVACYREQUIRED). */
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/penalty.h"
#include "auth/sasl.h"
#include "auth/userdb.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-session.h"
#include "net/conn.h"
#include "net/service.h"
#include "net/threadpool.h"

#define IMAP_MAX_USER_BYTES 256
#define IMAP_MAX_PASSWORD_BYTES 1024

enum auth_job_kind { AUTH_JOB_VERIFY, AUTH_JOB_SECRET };

struct auth_job {
	struct imap_session *s;
	enum auth_job_kind kind;
	char *user;
	char *password;
	size_t password_len;
	int result; /* AUTH_JOB_VERIFY: 1 match, 0 no, -1 unusable hash */
};

static const char privacy_text[] =
        "[PRIVACYREQUIRED] Plaintext authentication is disallowed on "
        "non-encrypted connections";

static void auth_failed_answer(struct imap_session *s)
{
	imap_command_finish(s, "NO",
	                    "[AUTHENTICATIONFAILED] Authentication failed.");
}

static void auth_failed(struct imap_session *s, const char *user,
                        const char *why)
{
	const char *ip = conn_remote_ip(s->conn);
	struct penalty *p = service_penalty(imap_server_service(s->server));
	uint64_t now = time_now_ms();
	log_event(LOG_INFO, "login_failed", "user", user, "remote",
	          conn_remote(s->conn), "mech",
	          s->sasl_mech != NULL ? s->sasl_mech : "LOGIN", "reason", why,
	          NULL);
	penalty_fail(p, ip, now);
	imap_sasl_reset(s); /* user and why may be gone from here on */
	imap_session_delay(s, penalty_delay_ms(p, ip, now), auth_failed_answer);
}

static void auth_succeeded(struct imap_session *s, const char *user)
{
	penalty_success(service_penalty(imap_server_service(s->server)),
	                conn_remote_ip(s->conn));
	/* user may point into the SASL state freed below */
	char *mech = xstrdup(s->sasl_mech != NULL ? s->sasl_mech : "LOGIN");
	char *name = xstrdup(user);
	imap_sasl_reset(s);
	imap_session_logged_in(s, name, mech);
	free(name);
	free(mech);
}

static void auth_job_work(void *arg)
{
	struct auth_job *job = arg;
	char *stored = userdb_password(job->user);
	if (job->kind == AUTH_JOB_SECRET) {
		sasl_set_secret(job->s->sasl, stored);
	} else if (stored == NULL) {
		job->result = 0;
	} else {
		const char *error = NULL;
		job->result = password_verify(stored, job->password,
		                              job->password_len, &error);
		if (job->result < 0)
			log_event(LOG_WARN, "password_unusable", "user",
			          job->user, "error", error, NULL);
	}
	if (stored != NULL) {
		explicit_bzero(stored, strlen(stored));
		free(stored);
	}
}

static void sasl_advance(struct imap_session *s, const unsigned char *in,
                         size_t in_len);

static void auth_job_done(void *arg)
{
	struct auth_job *job = arg;
	struct imap_session *s = job->s;
	if (!imap_session_is_closed(s)) {
		if (job->kind == AUTH_JOB_SECRET)
			sasl_advance(s, NULL, 0);
		else if (job->result == 1)
			auth_succeeded(s, job->user);
		else
			auth_failed(s, job->user, "wrong password or no user");
	}
	if (job->password != NULL) {
		explicit_bzero(job->password, job->password_len);
		free(job->password);
	}
	free(job->user);
	free(job);
	imap_session_unref(s);
}

static void auth_job_submit(struct imap_session *s, enum auth_job_kind kind,
                            const char *user, const char *password,
                            size_t password_len)
{
	struct auth_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	job->kind = kind;
	job->user = xstrdup(user);
	if (password != NULL) {
		job->password = xmemdup(password, password_len + 1);
		job->password_len = password_len;
	}
	imap_session_ref(s);
	threadpool_submit(service_pool(imap_server_service(s->server)),
	                  auth_job_work, auth_job_done, job,
	                  conn_loop(s->conn));
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
	if (user_len == 0 || user_len > IMAP_MAX_USER_BYTES ||
	    memchr(user, '\0', user_len) != NULL ||
	    password_len > IMAP_MAX_PASSWORD_BYTES) {
		auth_failed(s, user_len <= IMAP_MAX_USER_BYTES ? user : "",
		            "invalid user name or password");
		return;
	}
	auth_job_submit(s, AUTH_JOB_VERIFY, user, password, password_len);
}

void imap_sasl_reset(struct imap_session *s)
{
	sasl_free(&s->sasl);
	free(s->sasl_mech);
	s->sasl_mech = NULL;
	s->sasl_final_sent = false;
}

static void sasl_send_challenge(struct imap_session *s,
                                const unsigned char *out, size_t out_len)
{
	char *b64 = sasl_base64_encode(out, out_len);
	conn_printf(s->conn, "+ %s\r\n", b64);
	free(b64);
	s->input_mode = IMAP_INPUT_SASL;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

/* roost has no proxy authorization: a SASL authorization identity must
 * name the authenticated user itself. false: the login has failed. */
static bool authzid_allowed(struct imap_session *s)
{
	const char *authzid = sasl_authzid(s->sasl);
	if (authzid == NULL || strcmp(authzid, sasl_authcid(s->sasl)) == 0)
		return true;
	auth_failed(s, sasl_authcid(s->sasl),
	            "authorization identity not allowed");
	return false;
}

static void sasl_advance(struct imap_session *s, const unsigned char *in,
                         size_t in_len)
{
	const unsigned char *out = NULL;
	size_t out_len = 0;
	size_t pw_len;
	s->input_mode = IMAP_INPUT_BUSY;
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
			/* RFC 3501 6.2.2: final server data goes in a
			 * continuation; the client answers with an empty
			 * line */
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
		imap_sasl_reset(s);
		imap_command_finish(s, "BAD", "Invalid SASL message");
		return;
	}
}

/* Decode a client SASL message and take the next step; "=" as an
 * initial response is an empty one (RFC 4959). */
static void sasl_advance_base64(struct imap_session *s, const char *text,
                                size_t len, bool initial)
{
	unsigned char *data;
	size_t data_len;
	if (initial && len == 1 && text[0] == '=') {
		sasl_advance(s, (const unsigned char *)"", 0);
		return;
	}
	if (sasl_base64_decode(text, len, &data, &data_len) < 0) {
		imap_sasl_reset(s);
		imap_command_finish(s, "BAD", "Invalid base64 data");
		return;
	}
	sasl_advance(s, data, data_len);
	explicit_bzero(data, data_len);
	free(data);
}

void imap_sasl_input(struct imap_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		imap_sasl_reset(s);
		imap_command_finish(s, "BAD", "Authentication cancelled");
		return;
	}
	if (s->sasl_final_sent) {
		if (len != 0) {
			imap_sasl_reset(s);
			imap_command_finish(s, "BAD", "Invalid SASL message");
			return;
		}
		s->input_mode = IMAP_INPUT_BUSY;
		auth_succeeded(s, sasl_authcid(s->sasl));
		return;
	}
	sasl_advance_base64(s, line, len, false);
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
	struct sasl *sasl = sasl_create(mech);
	if (sasl == NULL) {
		imap_reply_tagged(s, cmd->tag, "NO",
		                  "Unsupported authentication mechanism");
		return;
	}
	imap_command_async(s, cmd);
	s->sasl = sasl;
	s->sasl_mech = xstrdup(mech);
	for (char *p = s->sasl_mech; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	if (ir == NULL) {
		sasl_advance(s, NULL, 0);
		return;
	}
	sasl_advance_base64(s, ir, ir_len, true);
}
