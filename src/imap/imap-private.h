/* Internals shared by the IMAP session and its command files. */
#ifndef ROOST_IMAP_IMAP_PRIVATE_H
#define ROOST_IMAP_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap-server.h"
#include "net/conn-job.h"
#include "net/loop.h"
#include "proto/imap-parser.h"
#include "store/store.h"

struct auth_login;
struct conn;
struct imap_view;
struct imap_job;

enum imap_state {
	IMAP_STATE_NOT_AUTH = 0x1,
	IMAP_STATE_AUTH = 0x2,
	IMAP_STATE_SELECTED = 0x4,
	IMAP_STATE_LOGOUT = 0x8,
};
#define IMAP_STATES_ANY                                                        \
	(IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATES_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

enum imap_input_mode {
	IMAP_INPUT_COMMANDS, /* parse commands */
	IMAP_INPUT_SASL,     /* AUTHENTICATE: next line is a SASL response */
	IMAP_INPUT_BUSY,     /* a command is running asynchronously */
	IMAP_INPUT_IDLE,     /* IDLE: the next line should be DONE */
};

struct idle_watch;
struct imap_user;

struct imap_session {
	struct conn *conn;
	struct imap_server *server;
	struct imap_settings *set;
	struct service_link link; /* on its worker's session list */
	enum imap_state state;
	enum imap_input_mode input_mode;
	struct imap_parser *parser;
	char *tag; /* of the asynchronous command running */
	char *user;
	struct auth_login *login; /* made at the first login command */
	unsigned int bad_commands;
	unsigned int refs; /* the connection's, plus each entry point and
	                      thread-pool job running */
	bool closed;
	bool starttls_done;
	uint64_t last_activity_ms;
	struct loop_timer idle_timer;
	struct loop_timer delay_timer;
	void (*delay_done)(struct imap_session *s);
	/* mail: the store is opened on first use, on the thread pool */
	struct store_settings store_set;
	struct imap_user *user_ref; /* shared with the user's other sessions */
	struct store *store;        /* lent by user_ref while a job runs */
	struct imap_view *view;     /* the selected mailbox */
	struct imap_job *job;       /* the store command running */
	uint32_t *saved;            /* SEARCHRES "$": UIDs, ascending */
	size_t saved_count;
	/* RFC 7162: a CONDSTORE enabling command came (MODSEQ in every
	 * untagged FETCH); ENABLE QRESYNC was answered (VANISHED) */
	bool condstore, qresync;
	/* IDLE (imap-idle.c): the mailbox idled in, and its other idlers */
	struct idle_watch *idle_watch;
	struct imap_session *idle_prev, *idle_next;
	bool idle_dirty; /* a change came while a job ran: sync again */
};

typedef void imap_command_fn(struct imap_session *s,
                             const struct imap_command_line *cmd);

struct imap_command {
	const char *name;
	unsigned int states; /* IMAP_STATE_* mask */
	imap_command_fn *handler;
};

/* The command table lookup (case-insensitive); NULL if unknown. */
const struct imap_command *imap_command_find(const char *name);

/* Responses. text is plain 7-bit text without CR/LF. */
void imap_reply_tagged(struct imap_session *s, const char *tag,
                       const char *status, const char *text);
void imap_reply_untagged(struct imap_session *s, const char *text);
void imap_reply_bad_args(struct imap_session *s,
                         const struct imap_command_line *cmd);
/* Append the capability list for the session's current state. */
void imap_write_capabilities(struct imap_session *s);
/* "OK [CAPABILITY ...] text" as a tagged response. */
void imap_reply_ok_capability(struct imap_session *s, const char *tag,
                              const char *text);

/* Asynchronous commands: imap_command_async() pauses input and keeps the
 * tag; imap_command_finish() answers it and resumes input. */
void imap_command_async(struct imap_session *s,
                        const struct imap_command_line *cmd);
void imap_command_finish(struct imap_session *s, const char *status,
                         const char *text);
/* Run fn after delay_ms on the session's loop (failed-login delay). */
void imap_session_delay(struct imap_session *s, unsigned int delay_ms,
                        void (*fn)(struct imap_session *s));
/* Say BYE and close once it is sent. */
void imap_session_bye(struct imap_session *s, const char *text,
                      const char *reason);

/* Is a plaintext password acceptable on this connection? */
bool imap_plaintext_allowed(const struct imap_session *s);
/* Login succeeded for user: switch state, move to the user's worker. */
void imap_session_logged_in(struct imap_session *s, const char *user,
                            const char *mech);

/* The shared server plumbing: pools, penalty, workers, user loops. */
struct service *imap_server_service(struct imap_server *server);

/* Store commands run on the thread pool (imap-job.c). A job's work
 * function runs there while the session is busy, so it may use the
 * session's store and view; it writes untagged responses to job->io.out and
 * sets the tagged status. After it, the selected mailbox is synced (new
 * and expunged messages, flag changes) unless the command says not to,
 * and the output is sent on the session's loop. A work function that
 * sets job->io.more is called again once the client has read the output
 * (FETCH of many messages streams this way). */
typedef void imap_job_fn(struct imap_job *job);

enum imap_sync_mode {
	IMAP_SYNC_ALL,        /* report everything, EXPUNGE included */
	IMAP_SYNC_NO_EXPUNGE, /* FETCH, STORE, SEARCH: no EXPUNGE */
	IMAP_SYNC_NONE,       /* SELECT/EXAMINE/CLOSE/UNSELECT do their own */
};

struct imap_job {
	struct conn_job io; /* io.out: the output; io.more: call again */
	struct imap_session *s;
	char *tag;
	imap_job_fn *work;
	enum imap_sync_mode sync;
	bool bye; /* the mailbox vanished: BYE after the output */
	enum imap_state new_state; /* 0, or the state to switch to */
	const char *status; /* "OK", "NO", "BAD"; NULL: no tagged reply */
	char *text;
	void *ctx;
	void (*ctx_free)(void *ctx);
	void (*finish)(struct imap_session *s, void *ctx);
};

/* Start cmd as a job with work and ctx (freed with ctx_free). */
void imap_job_start(struct imap_session *s, const struct imap_command_line *cmd,
                    imap_job_fn *work, enum imap_sync_mode sync, void *ctx,
                    void (*ctx_free)(void *ctx));
/* A job the session starts by itself (IDLE's syncs), input already
 * paused or not: tag is the tagged reply's (NULL: none); finish, when
 * set, runs on the loop once the job is done, instead of going back to
 * reading commands (not when the session closed or says BYE). */
void imap_job_run(struct imap_session *s, const char *tag, imap_job_fn *work,
                  enum imap_sync_mode sync, void *ctx,
                  void (*ctx_free)(void *ctx),
                  void (*finish)(struct imap_session *s, void *ctx));
/* From work: the session's store, opened if needed; NULL after setting
 * a NO reply. */
struct store *imap_job_store(struct imap_job *job);
/* From work: the tagged reply (text is printf-style). */
void imap_job_reply(struct imap_job *job, const char *status, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
/* From work: a NO for a store status, with its response code. */
void imap_job_fail(struct imap_job *job, enum store_status st, bool trycreate);
/* Resume a job waiting for its output to drain (from on_drain). */
void imap_job_drained(struct imap_session *s);
/* The store settings for the logged-in user: the configured quota, or
 * the user's own from the passwd-file. */
void imap_store_settings(struct imap_session *s);
/* Release what the session holds of the store (at session end). */
void imap_session_close_mail(struct imap_session *s);

/* Command handlers (cmd-*.c). */
void cmd_capability(struct imap_session *s,
                    const struct imap_command_line *cmd);
void cmd_noop(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_logout(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_id(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_enable(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_starttls(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_login(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_authenticate(struct imap_session *s,
                      const struct imap_command_line *cmd);
/* Mailbox names (cmd-mailbox.c): the validated, INBOX-normalised name
 * of arg, or NULL with *error_r (NULL: a syntax error, else why the name
 * is invalid). imap_mailbox_arg() answers BAD/NO itself on NULL. */
char *imap_mailbox_name(const struct imap_arg *arg, const char **error_r);
char *imap_mailbox_arg(struct imap_session *s,
                       const struct imap_command_line *cmd, size_t i);
char *imap_mailbox_arg_at(struct imap_session *s,
                          const struct imap_command_line *cmd,
                          const struct imap_arg *arg);
/* The context of most mailbox commands: a name or two and a number. */
struct imap_name_ctx {
	char *name, *name2;
	uint32_t value;
};
void imap_name_ctx_free(void *ctx);
/* For a command of arg_count arguments, the first a mailbox name: a new
 * context with the name, or NULL after a BAD or NO. */
struct imap_name_ctx *imap_name_ctx_arg(struct imap_session *s,
                                        const struct imap_command_line *cmd,
                                        size_t arg_count);
/* " \Sent \Trash" for special-use bits. */
void imap_write_special_use(struct buf *out, uint32_t use);
/* STATUS items (cmd-status.c), also used by LIST-STATUS. */
int imap_status_items(const struct imap_arg *list, unsigned int *items_r);
void imap_status_write(struct buf *out, const char *name,
                       const struct store_status_info *info,
                       unsigned int items);
/* A flag list (or flags given bare) into system flags and a
 * space-separated keyword string (malloc'd, NULL if none); -1 if bad. */
int imap_parse_flags(const struct imap_arg *args, size_t count,
                     uint32_t *flags_r, char **keywords_r);
/* RFC 3501 date-time into Unix time and the zone's offset in minutes. */
int imap_parse_datetime(const char *s, int64_t *time_r, int *tz_min_r);
/* A sequence set argument resolved against the view; -1 after BAD. */
int imap_resolve_set(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *arg, bool uid, size_t **idx_r,
                     size_t *count_r);
/* NOOP/CHECK while selected: a job whose point is the sync. */
void imap_cmd_sync(struct imap_session *s, const struct imap_command_line *cmd,
                   const char *name);
/* The commands UID can prefix, with their arguments after the name. */
void imap_cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid);
void imap_cmd_store(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid);
void imap_cmd_copy(struct imap_session *s, const struct imap_command_line *cmd,
                   const struct imap_arg *args, size_t count, bool uid,
                   bool move);
void imap_cmd_search(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *args, size_t count, bool uid);
void imap_cmd_expunge(struct imap_session *s,
                      const struct imap_command_line *cmd,
                      const struct imap_arg *args, size_t count, bool uid);
void cmd_append(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_check(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_close(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_copy(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_create(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_delete(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_examine(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_expunge(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_getquota(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_getquotaroot(struct imap_session *s,
                      const struct imap_command_line *cmd);
void cmd_list(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_lsub(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_move(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_namespace(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_partial(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_rename(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_search(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_select(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_setquota(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_status(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_store(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_subscribe(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_uid(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_unselect(struct imap_session *s, const struct imap_command_line *cmd);
void cmd_unsubscribe(struct imap_session *s,
                     const struct imap_command_line *cmd);
/* The user's state on its loop (imap-user.c), shared by its sessions:
 * a reference per session; store handles lent for a job (NULL: open a
 * new one) and given back (closed if there are enough). */
struct imap_user *imap_user_get(const char *name, struct loop *loop);
void imap_user_put(struct imap_user **u);
struct store *imap_user_take_store(struct imap_user *u);
void imap_user_return_store(struct imap_user *u, struct store **st);
/* IDLE (imap-idle.c): the command; input while idling (false: more
 * is needed); leaving the mailbox's idlers (at DONE and at close); and
 * the store's change hook (ctx: the IMAP service). */
void cmd_idle(struct imap_session *s, const struct imap_command_line *cmd);
bool imap_idle_input(struct imap_session *s, struct buf *in);
void imap_idle_leave(struct imap_session *s);
void imap_idle_store_changed(void *ctx, const char *user, uint64_t mailbox_id);
/* A line the client sent during AUTHENTICATE (without CRLF). */
void imap_sasl_input(struct imap_session *s, const char *line, size_t len);
/* Drop any SASL exchange state. */
void imap_sasl_reset(struct imap_session *s);

#endif
