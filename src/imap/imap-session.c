/* IMAP session: one per connection. Reads commands through the
 * incremental parser, checks each against the command table and the
 * session state (RFC 3501 section 3), runs its handler, and keeps the
 * timers: the pre-login timeout and the autologout timer (RFC 3501 5.4).
 *
 * Commands are answered strictly in order: while an asynchronous command
 * (a login being checked) runs, input is paused, so pipelined commands
 * behind it wait their turn. */
#include "imap/imap-session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/login.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "net/conn.h"
#include "net/service.h"

#define IMAP_SASL_MAX_LINE_BYTES 16384
/* before login nobody needs more than a user name and password */
#define IMAP_PRELOGIN_MAX_LITERAL_BYTES 8192

static void session_process(struct imap_session *s);

static void parser_limits(const struct imap_session *s,
                          struct imap_parser_limits *lim)
{
	bool authed = s->state != IMAP_STATE_NOT_AUTH;
	lim->max_line_bytes = s->set->max_line_bytes;
	lim->max_literal_bytes = s->set->max_literal_bytes;
	if (!authed && lim->max_literal_bytes > IMAP_PRELOGIN_MAX_LITERAL_BYTES)
		lim->max_literal_bytes = IMAP_PRELOGIN_MAX_LITERAL_BYTES;
	/* APPEND's message is a literal (held in memory for now) */
	if (authed && lim->max_literal_bytes < s->set->max_message_size)
		lim->max_literal_bytes = (size_t)s->set->max_message_size;
	lim->max_command_bytes = lim->max_line_bytes + lim->max_literal_bytes;
	lim->max_depth = authed ? 32 : 4;
	lim->max_args = authed ? 4096 : 32;
}

/* APPEND's message goes to a spool file rather than memory once it is
 * this large. */
#define IMAP_SPILL_MIN_BYTES (256 * 1024)

static int spill_literal(void *ctx, const char *command, uint64_t size)
{
	struct imap_session *s = ctx;
	if (s->state == IMAP_STATE_NOT_AUTH || size < IMAP_SPILL_MIN_BYTES ||
	    strcasecmp(command, "APPEND") != 0)
		return -1;
	/* if no file can be had, the literal is read into memory */
	return store_spool_open(&s->store_set);
}

static struct imap_parser *session_parser(struct imap_session *s)
{
	if (s->parser == NULL) {
		struct imap_parser_limits lim;
		parser_limits(s, &lim);
		s->parser = imap_parser_create(&lim);
		imap_parser_set_spill(s->parser, spill_literal, s);
	}
	return s->parser;
}

void imap_reply_tagged(struct imap_session *s, const char *tag,
                       const char *status, const char *text)
{
	conn_printf(s->conn, "%s %s %s\r\n", tag, status, text);
}

void imap_reply_untagged(struct imap_session *s, const char *text)
{
	conn_printf(s->conn, "* %s\r\n", text);
}

void imap_reply_bad_args(struct imap_session *s,
                         const struct imap_command_line *cmd)
{
	conn_printf(s->conn, "%s BAD Invalid arguments to %s\r\n", cmd->tag,
	            imap_command_find(cmd->name)->name);
}

static unsigned int idle_timeout_ms(const struct imap_session *s)
{
	return s->state == IMAP_STATE_NOT_AUTH ? s->set->prelogin_timeout_ms
	                                       : s->set->autologout_ms;
}

static void idle_timer_cb(struct loop_timer *t)
{
	struct imap_session *s =
	        container_of(t, struct imap_session, idle_timer);
	struct loop *loop = conn_loop(s->conn);
	uint64_t deadline = s->last_activity_ms + idle_timeout_ms(s);
	uint64_t now = loop_now_ms(loop);
	if (s->input_mode == IMAP_INPUT_BUSY || now < deadline) {
		/* activity since arming: sleep for the remainder */
		loop_timer_start(loop, t,
		                 now < deadline ? deadline - now
		                                : idle_timeout_ms(s));
		return;
	}
	imap_session_ref(s);
	imap_session_bye(s, "Autologout; idle for too long", "idle timeout");
	imap_session_unref(s);
}

static void delay_timer_cb(struct loop_timer *t)
{
	struct imap_session *s =
	        container_of(t, struct imap_session, delay_timer);
	void (*fn)(struct imap_session *) = s->delay_done;
	s->delay_done = NULL;
	imap_session_ref(s);
	fn(s);
	imap_session_unref(s);
}

void imap_session_delay(struct imap_session *s, unsigned int delay_ms,
                        void (*fn)(struct imap_session *s))
{
	if (s->closed)
		return;
	s->delay_done = fn;
	loop_timer_start(conn_loop(s->conn), &s->delay_timer, delay_ms);
}

void imap_session_bye(struct imap_session *s, const char *text,
                      const char *reason)
{
	if (s->closed || conn_is_closing(s->conn))
		return;
	conn_printf(s->conn, "* BYE %s\r\n", text);
	s->state = IMAP_STATE_LOGOUT;
	conn_close_after_flush(s->conn, reason);
}

void imap_command_async(struct imap_session *s,
                        const struct imap_command_line *cmd)
{
	free(s->tag);
	s->tag = xstrdup(cmd->tag);
	s->input_mode = IMAP_INPUT_BUSY;
	conn_pause_input(s->conn);
}

void imap_command_finish(struct imap_session *s, const char *status,
                         const char *text)
{
	if (text != NULL)
		imap_reply_tagged(s, s->tag, status, text);
	free(s->tag);
	s->tag = NULL;
	s->input_mode = IMAP_INPUT_COMMANDS;
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void dispatch(struct imap_session *s,
                     const struct imap_command_line *cmd)
{
	const struct imap_command *c = imap_command_find(cmd->name);
	if (c == NULL) {
		s->bad_commands++;
		imap_reply_tagged(s, cmd->tag, "BAD", "Unknown command");
		return;
	}
	if ((c->states & s->state) == 0) {
		s->bad_commands++;
		const char *why = s->state == IMAP_STATE_NOT_AUTH
		                          ? "Command is valid only after login"
		                  : (c->states & IMAP_STATE_SELECTED) &&
		                                  !(c->states & IMAP_STATE_AUTH)
		                          ? "No mailbox selected"
		                          : "Command is not valid after login";
		conn_printf(s->conn, "%s BAD %s: %s\r\n", cmd->tag, c->name,
		            why);
		return;
	}
	s->bad_commands = 0;
	c->handler(s, cmd);
}

static void parse_error(struct imap_session *s)
{
	bool fatal;
	const char *why = imap_parser_error(s->parser, &fatal);
	const char *tag = imap_parser_error_tag(s->parser);
	s->bad_commands++;
	if (fatal) {
		conn_printf(s->conn, "%s BAD %s\r\n", tag != NULL ? tag : "*",
		            why);
		imap_session_bye(s, "Input stream cannot be recovered",
		                 "protocol error");
		return;
	}
	conn_printf(s->conn, "%s BAD %s\r\n", tag != NULL ? tag : "*", why);
}

/* One step of reading a SASL response line; false when more input is
 * needed. */
static bool sasl_line_step(struct imap_session *s, struct buf *in)
{
	unsigned char *lf = memchr(in->data, '\n', in->len);
	if (lf == NULL) {
		if (in->len > IMAP_SASL_MAX_LINE_BYTES) {
			imap_sasl_reset(s);
			imap_command_finish(s, "BAD", "SASL response too long");
			imap_session_bye(s, "SASL response too long",
			                 "protocol error");
		}
		return false;
	}
	size_t line_len = (size_t)(lf - in->data);
	size_t consumed = line_len + 1;
	if (line_len > 0 && in->data[line_len - 1] == '\r')
		line_len--;
	char *line = xstrndup((const char *)in->data, line_len);
	buf_consume(in, consumed);
	imap_sasl_input(s, line, line_len);
	free(line);
	return true;
}

/* A message over APPENDLIMIT is refused before the client sends it
 * (RFC 7889 4). */
static bool literal_refused(struct imap_session *s)
{
	const char *name = imap_parser_pending_name(s->parser);
	if (s->state == IMAP_STATE_NOT_AUTH || name == NULL ||
	    strcasecmp(name, "APPEND") != 0 ||
	    imap_parser_pending_literal(s->parser) <= s->set->max_message_size)
		return false;
	conn_printf(s->conn,
	            "%s NO [TOOBIG] Message is larger than APPENDLIMIT\r\n",
	            imap_parser_pending_tag(s->parser));
	imap_parser_reset(s->parser);
	return true;
}

static bool command_step(struct imap_session *s, struct buf *in)
{
	size_t consumed = 0;
	enum imap_parse_result r = imap_parser_feed(session_parser(s), in->data,
	                                            in->len, &consumed);
	buf_consume(in, consumed);
	switch (r) {
	case IMAP_PARSE_MORE:
		return false;
	case IMAP_PARSE_CONTINUE:
		if (literal_refused(s))
			return true;
		conn_write_str(s->conn, "+ Ready for literal data\r\n");
		conn_flush(s->conn);
		return true;
	case IMAP_PARSE_DONE:
		dispatch(s, imap_parser_command(s->parser));
		break;
	case IMAP_PARSE_ERROR:
		parse_error(s);
		break;
	}
	if (s->bad_commands >= s->set->max_bad_commands)
		imap_session_bye(s, "Too many invalid commands",
		                 "too many bad commands");
	return true;
}

static void session_process(struct imap_session *s)
{
	struct buf *in = conn_input(s->conn);
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	while (!s->closed && !conn_is_closing(s->conn) && in->len > 0 &&
	       !conn_output_full(s->conn)) {
		bool progress;
		if (s->input_mode == IMAP_INPUT_BUSY)
			break;
		if (s->input_mode == IMAP_INPUT_SASL)
			progress = sasl_line_step(s, in);
		else if (s->input_mode == IMAP_INPUT_IDLE)
			progress = imap_idle_input(s, in);
		else
			progress = command_step(s, in);
		if (!progress)
			break;
	}
	if (s->closed)
		return;
	/* idle sessions keep no parser memory */
	if (s->parser != NULL && imap_parser_is_idle(s->parser))
		imap_parser_destroy(&s->parser);
	conn_flush(s->conn);
}

static void on_input(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	imap_session_ref(s);
	session_process(s);
	imap_session_unref(s);
}

static void on_drain(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	imap_session_ref(s);
	imap_job_drained(s);
	if (conn_input(c)->len > 0)
		session_process(s);
	imap_session_unref(s);
}

static void session_free(struct imap_session *s)
{
	imap_session_close_mail(s);
	free(s->saved);
	imap_parser_destroy(&s->parser);
	auth_login_free(&s->login);
	imap_settings_unref(&s->set);
	free(s->tag);
	free(s->user);
	free(s);
}

static void on_close(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	struct loop *loop = conn_loop(c);
	s->closed = true;
	loop_timer_stop(loop, &s->idle_timer);
	loop_timer_stop(loop, &s->delay_timer);
	service_worker_detach(&s->link);
	imap_idle_leave(s);
	/* a job waiting for its output to drain would wait for ever: it
	 * sees the session closed and ends */
	imap_job_drained(s);
	imap_session_unref(s); /* the connection's reference */
}

static const struct conn_ops imap_conn_ops = {
        .on_input = on_input,
        .on_drain = on_drain,
        .on_close = on_close,
};

void imap_session_ref(struct imap_session *s)
{
	s->refs++;
}

void imap_session_unref(struct imap_session *s)
{
	assert(s->refs > 0);
	if (--s->refs == 0)
		session_free(s);
}

bool imap_session_is_closed(const struct imap_session *s)
{
	return s->closed;
}

void imap_session_create(struct imap_server *server, struct conn *conn,
                         struct imap_settings *set)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->server = server;
	s->set = set;
	s->state = IMAP_STATE_NOT_AUTH;
	s->refs = 1;
	s->idle_timer.cb = idle_timer_cb;
	s->delay_timer.cb = delay_timer_cb;
	conn_set_ops(conn, &imap_conn_ops, s);
	service_worker_attach(imap_server_service(server), &s->link,
	                      conn_loop(s->conn));
	struct loop *loop = conn_loop(conn);
	s->last_activity_ms = loop_now_ms(loop);
	imap_session_ref(s);
	log_event(LOG_INFO, "connect", "proto", "imap", "remote",
	          conn_remote(conn), "tls", conn_is_tls(conn) ? "yes" : "no",
	          NULL);
	if (conn_ip_connections(conn) > set->max_connections_per_ip) {
		imap_session_bye(s, "Too many connections from your address",
		                 "per-address connection limit");
		imap_session_unref(s);
		return;
	}
	conn_write_str(conn, "* OK [CAPABILITY ");
	imap_write_capabilities(s);
	conn_write_str(conn, "] roost ready.\r\n");
	conn_flush(conn);
	/* the greeting's write may have found the client gone */
	if (!s->closed) {
		loop_timer_start(loop, &s->idle_timer, idle_timeout_ms(s));
		conn_start(conn);
	}
	imap_session_unref(s);
}

static void moved_to_user_loop(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	imap_session_ref(s);
	service_worker_attach(imap_server_service(s->server), &s->link,
	                      conn_loop(s->conn));
	s->last_activity_ms = loop_now_ms(conn_loop(c));
	loop_timer_start(conn_loop(c), &s->idle_timer, idle_timeout_ms(s));
	imap_command_finish(s, NULL, NULL);
	imap_session_unref(s);
}

void imap_session_logged_in(struct imap_session *s, const char *user,
                            const char *mech)
{
	free(s->user);
	s->user = xstrdup(user);
	s->state = IMAP_STATE_AUTH;
	imap_store_settings(s);
	conn_set_user(s->conn, user);
	log_event(LOG_INFO, "login", "user", user, "remote",
	          conn_remote(s->conn), "mech", mech, "tls",
	          conn_is_tls(s->conn) ? "yes" : "no", NULL);
	imap_reply_ok_capability(s, s->tag, "Logged in");
	if (s->parser != NULL) {
		struct imap_parser_limits lim;
		parser_limits(s, &lim);
		imap_parser_set_limits(s->parser, &lim);
	}
	struct loop *target =
	        service_user_loop(imap_server_service(s->server), user);
	if (target == conn_loop(s->conn)) {
		/* from the pre-login timeout to the autologout timer */
		loop_timer_start(target, &s->idle_timer, idle_timeout_ms(s));
		imap_command_finish(s, NULL, NULL);
		return;
	}
	/* user affinity: continue on the worker that owns this user */
	conn_flush(s->conn);
	loop_timer_stop(conn_loop(s->conn), &s->idle_timer);
	service_worker_detach(&s->link);
	conn_move(s->conn, target, moved_to_user_loop);
}
