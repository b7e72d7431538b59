/* The login flow IMAP and POP3 share: a plain password check or a SASL
 * exchange (auth/sasl.h), the authorization-identity rule, password and
 * secret work on the CPU thread pool, and the failed-login penalty
 * (auth/penalty.h) with its log lines.
 *
 * No I/O: the protocol keeps its wire syntax and supplies callbacks that
 * send a challenge, answer a failure or a malformed exchange, and finish
 * the login (the protocol moves the session to its user's worker). One
 * auth_login per session, used only on the loop that created it. */
#ifndef ROOST_AUTH_LOGIN_H
#define ROOST_AUTH_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

struct auth_login;
struct loop;
struct penalty;
struct threadpool;

struct auth_login_ops {
	/* Keep the session alive while a pool job runs / let it go. */
	void (*ref)(void *ctx);
	void (*unref)(void *ctx);
	/* Has the session closed? A job finishing then answers nothing. */
	bool (*closed)(void *ctx);
	/* The exchange is working: read no input until it answers. */
	void (*pause)(void *ctx);
	/* Send a SASL challenge (base64, may be "") and read the client's
	 * answer line for auth_login_sasl_input(). */
	void (*challenge)(void *ctx, const char *base64);
	/* The SASL exchange was malformed or cancelled: answer text as a
	 * protocol error. The login state is reset already. */
	void (*bad)(void *ctx, const char *text);
	/* The login failed: answer it after delay_ms (the penalty). */
	void (*failed)(void *ctx, unsigned int delay_ms);
	/* The login succeeded as user (mech upper-cased, for the log). */
	void (*succeeded)(void *ctx, const char *user, const char *mech);
};

struct auth_login_settings {
	struct threadpool *pool; /* the CPU pool checks run on */
	struct loop *loop;       /* where their completions run */
	struct penalty *penalty; /* shared by every protocol */
	const char *proto;       /* the log's proto= field; NULL: none */
	const char *remote;      /* the log's remote= field (copied) */
	const char *remote_ip;   /* the penalty's key (copied) */
	size_t max_user_bytes;   /* longer names fail at once */
};

/* Check secret for user on the pool thread: 1 match, 0 no, -1 unusable.
 * stored is the user's stored password, or NULL for no such user. */
typedef int auth_login_verify_fn(const char *stored, const char *secret,
                                 size_t secret_len, void *ctx);

/* ops and ctx are borrowed; ctx is passed to every callback. */
struct auth_login *auth_login_create(const struct auth_login_settings *set,
                                     const struct auth_login_ops *ops,
                                     void *ctx);
/* Sets *login to NULL; no job may be running (it holds a ref). */
void auth_login_free(struct auth_login **login);
/* Drop any exchange in progress. */
void auth_login_reset(struct auth_login *login);

/* Log in as user with a plaintext password (IMAP LOGIN, POP3 USER/PASS,
 * mech names it for the log). Answers through the callbacks. */
void auth_login_password(struct auth_login *login, const char *mech,
                         const char *user, size_t user_len,
                         const char *password, size_t password_len);
/* The same with the protocol's own check of secret (POP3 APOP). */
void auth_login_verify(struct auth_login *login, const char *mech,
                       const char *user, size_t user_len, const char *secret,
                       size_t secret_len, auth_login_verify_fn *verify);
/* Fail a login as user for reason why (logged), after the penalty. */
void auth_login_fail(struct auth_login *login, const char *mech,
                     const char *user, const char *why);

/* Start a SASL exchange by mech; false, changing nothing, if mech is not
 * supported. Then call auth_login_sasl_begin(). */
bool auth_login_sasl_start(struct auth_login *login, const char *mech);
/* Take the initial response (base64, "=" for an empty one; NULL: none,
 * ask for it) and go on. */
void auth_login_sasl_begin(struct auth_login *login, const char *ir,
                           size_t ir_len);
/* A line the client answered a challenge with (without CR LF): base64,
 * or "*" to cancel (RFC 4422 5). */
void auth_login_sasl_input(struct auth_login *login, const char *line,
                           size_t len);

#endif
