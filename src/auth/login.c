/* The login flow IMAP and POP3 share (see login.h). Passwords are checked
 * on the thread pool, never on the event loop; a failure is answered
 * after a delay that grows per remote address, whichever protocol the
 * earlier failures came over. */
#include "auth/login.h"

#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "auth/penalty.h"
#include "auth/sasl.h"
#include "auth/userdb.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "net/threadpool.h"

#define AUTH_LOGIN_MAX_PASSWORD_BYTES 1024

struct auth_login {
	struct auth_login_settings set; /* remote, remote_ip: owned */
	const struct auth_login_ops *ops;
	void *ctx;
	char *mech;           /* of the attempt running, upper-cased */
	struct sasl *sasl;    /* the SASL exchange running, or NULL */
	bool sasl_final_sent; /* awaiting the empty final response */
};

enum login_job_kind { LOGIN_JOB_VERIFY, LOGIN_JOB_SECRET };

struct login_job {
	struct auth_login *login;
	enum login_job_kind kind;
	auth_login_verify_fn *verify; /* NULL: a password */
	char *user;
	char *secret; /* the password, or what verify checks */
	size_t secret_len;
	int result; /* LOGIN_JOB_VERIFY: 1 match, 0 no, -1 unusable */
};

struct auth_login *auth_login_create(const struct auth_login_settings *set,
                                     const struct auth_login_ops *ops,
                                     void *ctx)
{
	struct auth_login *login = xcalloc(1, sizeof(*login));
	login->set = *set;
	login->set.remote = xstrdup(set->remote);
	login->set.remote_ip = xstrdup(set->remote_ip);
	login->ops = ops;
	login->ctx = ctx;
	return login;
}

void auth_login_free(struct auth_login **loginp)
{
	struct auth_login *login = *loginp;
	if (login == NULL)
		return;
	*loginp = NULL;
	auth_login_reset(login);
	free((char *)login->set.remote);
	free((char *)login->set.remote_ip);
	free(login);
}

void auth_login_reset(struct auth_login *login)
{
	sasl_free(&login->sasl);
	free(login->mech);
	login->mech = NULL;
	login->sasl_final_sent = false;
}

static void set_mech(struct auth_login *login, const char *mech)
{
	free(login->mech);
	login->mech = xstrdup(mech);
	for (char *p = login->mech; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
}

static void login_failed(struct auth_login *login, const char *user,
                         const char *why)
{
	const char *ip = login->set.remote_ip;
	struct penalty *p = login->set.penalty;
	uint64_t now = time_now_ms();
	log_event(LOG_INFO, "login_failed", "proto", login->set.proto, "user",
	          user, "remote", login->set.remote, "mech", login->mech,
	          "reason", why, NULL);
	penalty_fail(p, ip, now);
	auth_login_reset(login); /* user and why may be gone from here on */
	login->ops->failed(login->ctx, penalty_delay_ms(p, ip, now));
}

static void login_succeeded(struct auth_login *login, const char *user)
{
	penalty_success(login->set.penalty, login->set.remote_ip);
	/* user may point into the SASL state freed below */
	char *mech = xstrdup(login->mech);
	char *name = xstrdup(user);
	auth_login_reset(login);
	login->ops->succeeded(login->ctx, name, mech);
	free(name);
	free(mech);
}

static void login_bad(struct auth_login *login, const char *text)
{
	auth_login_reset(login);
	login->ops->bad(login->ctx, text);
}

static void job_work(void *arg)
{
	struct login_job *job = arg;
	char *stored = userdb_password(job->user);
	if (job->kind == LOGIN_JOB_SECRET) {
		sasl_set_secret(job->login->sasl, stored);
	} else if (job->verify != NULL) {
		job->result = job->verify(stored, job->secret, job->secret_len,
		                          job->login->ctx);
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

static void sasl_advance(struct auth_login *login, const unsigned char *in,
                         size_t in_len);

static void job_done(void *arg)
{
	struct login_job *job = arg;
	struct auth_login *login = job->login;
	const struct auth_login_ops *ops = login->ops;
	void *ctx = login->ctx;
	if (!ops->closed(ctx)) {
		if (job->kind == LOGIN_JOB_SECRET)
			sasl_advance(login, NULL, 0);
		else if (job->result == 1)
			login_succeeded(login, job->user);
		else
			login_failed(login, job->user,
			             "wrong password or no user");
	}
	if (job->secret != NULL) {
		explicit_bzero(job->secret, job->secret_len);
		free(job->secret);
	}
	free(job->user);
	free(job);
	ops->unref(ctx); /* may free login */
}

static void job_submit(struct auth_login *login, enum login_job_kind kind,
                       auth_login_verify_fn *verify, const char *user,
                       const char *secret, size_t secret_len)
{
	struct login_job *job = xcalloc(1, sizeof(*job));
	job->login = login;
	job->kind = kind;
	job->verify = verify;
	job->user = xstrdup(user);
	if (secret != NULL) {
		job->secret = xmemdup(secret, secret_len + 1);
		job->secret_len = secret_len;
	}
	login->ops->ref(login->ctx);
	threadpool_submit(login->set.pool, job_work, job_done, job,
	                  login->set.loop);
}

void auth_login_fail(struct auth_login *login, const char *mech,
                     const char *user, const char *why)
{
	set_mech(login, mech);
	login_failed(login, user, why);
}

void auth_login_verify(struct auth_login *login, const char *mech,
                       const char *user, size_t user_len, const char *secret,
                       size_t secret_len, auth_login_verify_fn *verify)
{
	set_mech(login, mech);
	/* a name and secret the checks may be asked about; otherwise the
	 * attempt fails at once (after the penalty delay) */
	if (user_len == 0 || user_len > login->set.max_user_bytes ||
	    memchr(user, '\0', user_len) != NULL ||
	    secret_len > AUTH_LOGIN_MAX_PASSWORD_BYTES) {
		login_failed(login,
		             user_len <= login->set.max_user_bytes ? user : "",
		             "invalid user name or password");
		return;
	}
	job_submit(login, LOGIN_JOB_VERIFY, verify, user, secret, secret_len);
}

void auth_login_password(struct auth_login *login, const char *mech,
                         const char *user, size_t user_len,
                         const char *password, size_t password_len)
{
	auth_login_verify(login, mech, user, user_len, password, password_len,
	                  NULL);
}

/* ---- SASL ---- */

static void send_challenge(struct auth_login *login, const unsigned char *out,
                           size_t out_len)
{
	char *b64 = sasl_base64_encode(out, out_len);
	login->ops->challenge(login->ctx, b64);
	free(b64);
}

/* roost has no proxy authorization: a SASL authorization identity must
 * name the authenticated user itself. false: the login has failed. */
static bool authzid_allowed(struct auth_login *login)
{
	const char *authzid = sasl_authzid(login->sasl);
	if (authzid == NULL || strcmp(authzid, sasl_authcid(login->sasl)) == 0)
		return true;
	login_failed(login, sasl_authcid(login->sasl),
	             "authorization identity not allowed");
	return false;
}

static void sasl_advance(struct auth_login *login, const unsigned char *in,
                         size_t in_len)
{
	const unsigned char *out = NULL;
	size_t out_len = 0, pw_len;
	login->ops->pause(login->ctx);
	switch (sasl_step(login->sasl, in, in_len, &out, &out_len)) {
	case SASL_CHALLENGE:
		send_challenge(login, out, out_len);
		return;
	case SASL_VERIFY_PASSWORD: {
		if (!authzid_allowed(login))
			return;
		const char *pw = sasl_password(login->sasl, &pw_len);
		job_submit(login, LOGIN_JOB_VERIFY, NULL,
		           sasl_authcid(login->sasl), pw, pw_len);
		return;
	}
	case SASL_NEED_SECRET:
		job_submit(login, LOGIN_JOB_SECRET, NULL,
		           sasl_authcid(login->sasl), NULL, 0);
		return;
	case SASL_SUCCESS:
		if (!authzid_allowed(login))
			return;
		if (out_len > 0) {
			/* RFC 3501 6.2.2, RFC 5034 4: final server data goes
			 * in a challenge; the client answers with an empty
			 * line */
			login->sasl_final_sent = true;
			send_challenge(login, out, out_len);
			return;
		}
		login_succeeded(login, sasl_authcid(login->sasl));
		return;
	case SASL_FAIL:
		login_failed(login, sasl_authcid(login->sasl),
		             out != NULL ? (const char *)out : "failed");
		return;
	case SASL_BAD:
		login_bad(login, "Invalid SASL message");
		return;
	}
}

/* Decode a client SASL message and take the next step; "=" as an
 * initial response is an empty one (RFC 4959, RFC 5034 4). */
static void sasl_advance_base64(struct auth_login *login, const char *text,
                                size_t len, bool initial)
{
	unsigned char *data;
	size_t data_len;
	if (initial && len == 1 && text[0] == '=') {
		sasl_advance(login, (const unsigned char *)"", 0);
		return;
	}
	if (sasl_base64_decode(text, len, &data, &data_len) < 0) {
		login_bad(login, "Invalid base64 data");
		return;
	}
	sasl_advance(login, data, data_len);
	explicit_bzero(data, data_len);
	free(data);
}

bool auth_login_sasl_start(struct auth_login *login, const char *mech)
{
	struct sasl *sasl = sasl_create(mech);
	if (sasl == NULL)
		return false;
	auth_login_reset(login);
	login->sasl = sasl;
	set_mech(login, mech);
	return true;
}

void auth_login_sasl_begin(struct auth_login *login, const char *ir,
                           size_t ir_len)
{
	if (ir == NULL) {
		sasl_advance(login, NULL, 0);
		return;
	}
	sasl_advance_base64(login, ir, ir_len, true);
}

void auth_login_sasl_input(struct auth_login *login, const char *line,
                           size_t len)
{
	if (len == 1 && line[0] == '*') {
		login_bad(login, "Authentication cancelled");
		return;
	}
	if (login->sasl_final_sent) {
		if (len != 0) {
			login_bad(login, "Invalid SASL message");
			return;
		}
		login_succeeded(login, sasl_authcid(login->sasl));
		return;
	}
	sasl_advance_base64(login, line, len, false);
}
