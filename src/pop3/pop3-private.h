/* Internals shared by the POP3 session and its command files. */
#ifndef ROOST_POP3_POP3_PRIVATE_H
#define ROOST_POP3_POP3_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/conn-job.h"
#include "net/loop.h"
#include "pop3/pop3-parser.h"
#include "pop3/pop3-server.h"
#include "store/store.h"

struct conn;
struct auth_login;
struct pop3_job;

/* RFC 1939 3; UPDATE is entered by QUIT and ends the session. */
enum pop3_state {
	POP3_STATE_AUTHORIZATION = 0x1,
	POP3_STATE_TRANSACTION = 0x2,
	POP3_STATE_UPDATE = 0x4,
};
#define POP3_STATES_ANY (POP3_STATE_AUTHORIZATION | POP3_STATE_TRANSACTION)

enum pop3_input_mode {
	POP3_INPUT_COMMANDS, /* read command lines */
	POP3_INPUT_SASL,     /* AUTH: the next line is a SASL response */
	POP3_INPUT_BUSY,     /* a command is running asynchronously */
};

/* A message of the maildrop, numbered from 1 in the session (RFC 1939
 * 5: the numbers do not change during the session). */
struct pop3_msg {
	uint32_t uid;
	bool deleted;
	bool retrieved;
	uint64_t size; /* octets, CR LF line ends (RFC822.SIZE) */
};

struct pop3_session {
	struct conn *conn;
	struct pop3_server *server;
	struct pop3_settings *set;
	struct service_link link; /* on its worker's session list */
	enum pop3_state state;
	enum pop3_input_mode input_mode;
	struct pop3_line_reader reader;
	unsigned int bad_commands;
	unsigned int refs; /* the connection's, plus each entry point and
	                      thread-pool job running */
	bool closed;
	uint64_t last_activity_ms;
	struct loop_timer idle_timer;
	struct loop_timer delay_timer;
	void (*delay_done)(struct pop3_session *s);
	/* AUTHORIZATION */
	char apop_stamp[96]; /* "<...>" from the greeting, or "" */
	char *user_arg;      /* from USER, awaiting PASS */
	char *user;          /* logged in (or being checked) */
	char *auth_mech;     /* for the log: USER, APOP, or the SASL name */
	struct auth_login *login; /* made at the first login command */
	/* TRANSACTION: the maildrop */
	struct store_settings store_set;
	struct store *store;
	int lock_fd;          /* flock on the user's POP3 lock file */
	bool registry_locked; /* holds the in-process maildrop lock */
	uint64_t mailbox_id;  /* INBOX */
	uint32_t uidvalidity;
	struct pop3_msg *msgs; /* numbered from 1: msgs[n - 1] */
	size_t msg_count;
	size_t live_count; /* not marked deleted */
	uint64_t live_bytes;
	/* the command running on the thread pool */
	struct pop3_job *job;
};

typedef void pop3_command_fn(struct pop3_session *s,
                             const struct pop3_command *cmd);

struct pop3_command_def {
	const char *name;
	unsigned int states; /* POP3_STATE_* mask */
	pop3_command_fn *handler;
};

/* The command table lookup (name in upper case); NULL if unknown. */
const struct pop3_command_def *pop3_command_find(const char *name);

/* Responses: one status line; text is 7-bit without CR LF. */
void pop3_ok(struct pop3_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void pop3_err(struct pop3_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Pause input while a command runs off the loop; pop3_command_finish()
 * resumes it. */
void pop3_command_async(struct pop3_session *s);
void pop3_command_finish(struct pop3_session *s);
/* Run fn after delay_ms on the session's loop (failed-login delay). */
void pop3_session_delay(struct pop3_session *s, unsigned int delay_ms,
                        void (*fn)(struct pop3_session *s));
/* Send "-ERR text" and close once it is sent. */
void pop3_session_close(struct pop3_session *s, const char *text,
                        const char *reason);
void pop3_session_ref(struct pop3_session *s);
void pop3_session_unref(struct pop3_session *s);
/* Is a plaintext password acceptable on this connection? */
bool pop3_plaintext_allowed(const struct pop3_session *s);
bool pop3_tls_available(void);

/* The shared server plumbing: pools, penalty, workers, user loops. */
struct service *pop3_server_service(struct pop3_server *server);
/* The in-process maildrop lock (RFC 1939 4) and LOGIN-DELAY (RFC 2449
 * 6.5): 1 taken, 0 another session holds it, -1 the user logged in less
 * than login_delay_s ago. */
int pop3_server_lock_user(struct pop3_server *server, const char *user,
                          unsigned int login_delay_s);
void pop3_server_unlock_user(struct pop3_server *server, const char *user);
/* A fresh APOP timestamp "<pid.random.time@host>" (RFC 1939 7). */
void pop3_server_apop_stamp(struct pop3_server *server, char *out, size_t size);

/* Work on the thread pool (pop3-job.c). work runs on a pool thread while
 * the session is busy, so it may use the session's store and maildrop;
 * it writes the response to job->io.out. That output goes to the
 * connection in slices as the client reads it; a work function that
 * sets job->io.more is called again once the client has read what it had
 * (RETR streams this way). Then finish, if any, runs on the loop, and
 * input resumes unless the session is closing. */
typedef void pop3_job_fn(struct pop3_job *job);

struct pop3_job {
	struct conn_job io; /* io.out: the response; io.more: call again */
	struct pop3_session *s;
	pop3_job_fn *work;
	pop3_job_fn *finish;
	bool keep_busy; /* finish hands the session on (a move): input
	                   stays paused */
	void *ctx;
	void (*ctx_free)(void *ctx);
};

void pop3_job_start(struct pop3_session *s, pop3_job_fn *work,
                    pop3_job_fn *finish, void *ctx,
                    void (*ctx_free)(void *ctx));
/* Resume a job waiting for its output to drain (from on_drain). */
void pop3_job_drained(struct pop3_session *s);

/* The maildrop (pop3-maildrop.c). */
/* After a successful authentication of s->user: take the maildrop lock,
 * open the store and list INBOX, then answer and enter TRANSACTION (or
 * answer -ERR and stay in AUTHORIZATION). */
void pop3_maildrop_open(struct pop3_session *s);
/* QUIT in TRANSACTION: the UPDATE state (RFC 1939 6), then close. */
void pop3_maildrop_update(struct pop3_session *s);
/* Release the locks and the store (at QUIT or session end; thread-safe
 * while the session is busy). */
void pop3_maildrop_release(struct pop3_session *s);
/* Give up the maildrop lock (at the end of the session). */
void pop3_maildrop_unlock(struct pop3_session *s);
/* A message-number argument: the message, or NULL after -ERR. */
struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg,
                              size_t *number_r);
/* The unique-id listing of a message (RFC 1939 7). */
void pop3_write_uidl(const struct pop3_session *s, const struct pop3_msg *m,
                     char *out, size_t size);

/* LIST or UIDL of every message, as a job (pop3-retr.c). */
void pop3_listing_start(struct pop3_session *s, bool uidl);

/* Command handlers. */
void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_apop(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
/* A line the client sent during AUTH (without CR LF). */
void pop3_sasl_input(struct pop3_session *s, const char *line, size_t len);
/* Drop any authentication exchange state. */
void pop3_auth_reset(struct pop3_session *s);

#endif
