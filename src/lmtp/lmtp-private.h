/* Internals shared by the LMTP server, session and commands. */
#ifndef ROOST_LMTP_LMTP_PRIVATE_H
#define ROOST_LMTP_LMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lmtp/deliver.h"
#include "lmtp/lmtp-data.h"
#include "lmtp/lmtp-server.h"
#include "net/loop.h"
#include "net/service.h"

struct conn;

/* Settings a session takes at connect time; replaced on reload. */
struct lmtp_settings {
	struct service_settings svc;     /* refs, connection cap and limits */
	struct deliver_settings deliver; /* points into the fields below */
	char *data_dir;
	char *delimiters;
	char hostname[256];
	bool quota_tempfail; /* over quota: 452 4.2.2, not 552 5.2.2 */
};

void lmtp_settings_unref(struct lmtp_settings **set);

/* RFC 5321 4.5.3.1.4 allows 512 bytes for a command line; MTAs do not
 * come near this. */
#define LMTP_MAX_LINE_BYTES 2048
/* RFC 5321 4.5.3.1.8: at least 100 must be taken. */
#define LMTP_MAX_RECIPIENTS 1000
/* consecutive bad commands before the connection is closed */
#define LMTP_MAX_BAD_COMMANDS 20
/* RFC 5321 4.5.3.2.7: the server waits 5 minutes for the next command */
#define LMTP_IDLE_TIMEOUT_MS (5 * 60 * 1000)

enum lmtp_input {
	LMTP_INPUT_COMMANDS,
	LMTP_INPUT_SKIP_LINE, /* the rest of a line that was too long */
	LMTP_INPUT_DATA,      /* the message, until CR LF . CR LF */
	LMTP_INPUT_BUSY,      /* a delivery is running */
};

struct lmtp_session {
	struct conn *conn;
	struct lmtp_server *server;
	struct lmtp_settings *set;
	struct service_link link; /* on its worker's session list */
	unsigned int refs; /* the connection's, each entry point, the job */
	bool closed;
	enum lmtp_input input;
	unsigned int bad_commands;
	uint64_t last_activity_ms;
	struct loop_timer idle_timer;
	/* LHLO's argument; NULL before LHLO */
	char *helo;
	/* the transaction: MAIL given, its reverse-path ("" for <>) */
	bool in_mail;
	char *sender;
	struct deliver_rcpt *rcpts;
	size_t rcpt_count;
	/* DATA */
	struct deliver_msg *msg;
	struct lmtp_data data;
};

/* A reply line (printf-style, without CRLF). */
void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Forget the transaction (RSET, LHLO, after DATA). */
void lmtp_transaction_reset(struct lmtp_session *s);
/* Run a command line (NUL-terminated, without CRLF). */
void lmtp_command(struct lmtp_session *s, const char *line);
/* The end of the data was read: deliver on the pool, then answer. */
void lmtp_deliver_start(struct lmtp_session *s);
/* Say 421 text and close once it is sent. */
void lmtp_session_close(struct lmtp_session *s, const char *text,
                        const char *reason);
void lmtp_session_ref(struct lmtp_session *s);
void lmtp_session_unref(struct lmtp_session *s);
/* Resume reading commands after a delivery. */
void lmtp_session_resume(struct lmtp_session *s);
void lmtp_session_create(struct lmtp_server *server, struct conn *conn,
                         struct lmtp_settings *set);

/* The shared server plumbing: the pool deliveries run on, workers. */
struct service *lmtp_server_service(struct lmtp_server *server);

#endif
