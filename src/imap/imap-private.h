/* Internals shared by the IMAP session and its command files. */
#ifndef ROOST_IMAP_IMAP_PRIVATE_H
#define ROOST_IMAP_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-server.h"
#include "net/loop.h"
#include "proto/imap-parser.h"

struct conn;
struct sasl;

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
};

struct imap_worker;

struct imap_session {
	struct conn *conn;
	struct imap_server *server;
	struct imap_settings *set;
	struct imap_worker *worker;
	struct imap_session *prev, *next; /* worker's session list */
	enum imap_state state;
	enum imap_input_mode input_mode;
	struct imap_parser *parser;
	char *tag; /* of the asynchronous command running */
	char *user;
	struct sasl *sasl;
	char *sasl_mech;
	bool sasl_final_sent; /* awaiting the empty final response */
	unsigned int bad_commands;
	unsigned int refs; /* the connection's, plus each entry point and
	                      thread-pool job running */
	bool closed;
	bool starttls_done;
	uint64_t last_activity_ms;
	struct loop_timer idle_timer;
	struct loop_timer delay_timer;
	void (*delay_done)(struct imap_session *s);
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

struct threadpool *imap_server_pool(struct imap_server *server);
struct penalty *imap_server_penalty(struct imap_server *server);
/* Worker loop that owns user (user affinity). */
struct loop *imap_server_user_loop(struct imap_server *server,
                                   const char *user);
void imap_worker_attach(struct imap_server *server, struct imap_session *s);
void imap_worker_detach(struct imap_session *s);

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
void cmd_mailbox_unavailable(struct imap_session *s,
                             const struct imap_command_line *cmd);
/* A line the client sent during AUTHENTICATE (without CRLF). */
void imap_sasl_input(struct imap_session *s, const char *line, size_t len);
/* Drop any SASL exchange state. */
void imap_sasl_reset(struct imap_session *s);

#endif
