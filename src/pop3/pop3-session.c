/* POP3 session: one per connection. Reads command lines, checks each
 * against the command table and the session state (RFC 1939 3), runs its
 * handler, and keeps the timers: a pre-login timeout and the autologout
 * timer (RFC 1939 3: at least ten minutes; a session that times out
 * ends without entering the UPDATE state).
 *
 * Commands are answered strictly in order (RFC 2449 6.6, PIPELINING):
 * while a command runs off the loop, input is paused, so pipelined
 * commands behind it wait their turn. */
#include "pop3/pop3-session.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/login.h"
#include "auth/userdb.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/service.h"
#include "net/tls.h"
#include "pop3/pop3-private.h"

#include <openssl/ssl.h>

static void vreply(struct pop3_session *s, const char *status, const char *fmt,
                   va_list ap) __attribute__((format(printf, 3, 0)));

static void vreply(struct pop3_session *s, const char *status, const char *fmt,
                   va_list ap)
{
	char text[512];
	vsnprintf(text, sizeof(text), fmt, ap);
	conn_printf(s->conn, "%s%s%s\r\n", status, text[0] != '\0' ? " " : "",
	            text);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, "+OK", fmt, ap);
	va_end(ap);
}

void pop3_err(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, "-ERR", fmt, ap);
	va_end(ap);
}

bool pop3_plaintext_allowed(const struct pop3_session *s)
{
	return conn_is_tls(s->conn) || s->set->allow_plaintext ||
	       (s->set->plaintext_loopback && conn_is_loopback(s->conn));
}

bool pop3_tls_available(void)
{
	SSL_CTX *ctx = tls_current();
	if (ctx == NULL)
		return false;
	SSL_CTX_free(ctx);
	return true;
}

static unsigned int idle_timeout_ms(const struct pop3_session *s)
{
	return s->state == POP3_STATE_AUTHORIZATION
	               ? s->set->prelogin_timeout_ms
	               : s->set->autologout_ms;
}

static void idle_timer_cb(struct loop_timer *t)
{
	struct pop3_session *s =
	        container_of(t, struct pop3_session, idle_timer);
	struct loop *loop = conn_loop(s->conn);
	uint64_t deadline = s->last_activity_ms + idle_timeout_ms(s);
	uint64_t now = loop_now_ms(loop);
	if (s->input_mode == POP3_INPUT_BUSY || now < deadline) {
		/* activity since arming: sleep for the remainder */
		loop_timer_start(loop, t,
		                 now < deadline ? deadline - now
		                                : idle_timeout_ms(s));
		return;
	}
	pop3_session_ref(s);
	pop3_session_close(s, "Disconnected for inactivity", "idle timeout");
	pop3_session_unref(s);
}

static void delay_timer_cb(struct loop_timer *t)
{
	struct pop3_session *s =
	        container_of(t, struct pop3_session, delay_timer);
	void (*fn)(struct pop3_session *) = s->delay_done;
	s->delay_done = NULL;
	pop3_session_ref(s);
	fn(s);
	pop3_session_unref(s);
}

void pop3_session_delay(struct pop3_session *s, unsigned int delay_ms,
                        void (*fn)(struct pop3_session *s))
{
	if (s->closed)
		return;
	s->delay_done = fn;
	loop_timer_start(conn_loop(s->conn), &s->delay_timer, delay_ms);
}

void pop3_session_close(struct pop3_session *s, const char *text,
                        const char *reason)
{
	if (s->closed || conn_is_closing(s->conn))
		return;
	/* the maildrop is free before the client sees the connection end,
	 * so it may log in again at once (nothing runs on it: a job would
	 * have the session busy) */
	if (s->job == NULL)
		pop3_maildrop_unlock(s);
	if (text != NULL)
		pop3_err(s, "%s", text);
	conn_close_after_flush(s->conn, reason);
}

void pop3_command_async(struct pop3_session *s)
{
	s->input_mode = POP3_INPUT_BUSY;
	conn_pause_input(s->conn);
}

void pop3_command_finish(struct pop3_session *s)
{
	s->input_mode = POP3_INPUT_COMMANDS;
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void dispatch(struct pop3_session *s, const struct pop3_command *cmd,
                     size_t line_len)
{
	const struct pop3_command_def *c = pop3_command_find(cmd->name);
	if (c == NULL) {
		s->bad_commands++;
		pop3_err(s, "Unknown command");
		return;
	}
	/* RFC 2449 4: 255 octets; only AUTH may carry more (RFC 5034) */
	if (line_len + 2 > POP3_MAX_COMMAND_BYTES &&
	    strcmp(c->name, "AUTH") != 0) {
		s->bad_commands++;
		pop3_err(s, "Command line too long");
		return;
	}
	if ((c->states & s->state) == 0) {
		s->bad_commands++;
		pop3_err(s, "%s",
		         s->state == POP3_STATE_AUTHORIZATION
		                 ? "Command is valid only after login"
		                 : "Command is not valid after login");
		return;
	}
	s->bad_commands = 0;
	c->handler(s, cmd);
}

static void command_line(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command *cmd = xmalloc(sizeof(*cmd));
	const char *error;
	if (pop3_command_parse(line, len, cmd, &error) < 0) {
		s->bad_commands++;
		pop3_err(s, "%s", error);
	} else {
		dispatch(s, cmd, len);
	}
	explicit_bzero(cmd->line, len + 1);
	free(cmd);
}

/* One step of reading input; false when more input is needed. */
static bool line_step(struct pop3_session *s, struct buf *in)
{
	size_t consumed, len;
	enum pop3_line_result r =
	        pop3_line_read(&s->reader, in->data, in->len, &consumed, &len);
	if (r == POP3_LINE_MORE) {
		buf_consume(in, consumed);
		return false;
	}
	if (r == POP3_LINE_TOO_LONG) {
		buf_consume(in, consumed);
		s->bad_commands++;
		if (s->input_mode == POP3_INPUT_SASL)
			pop3_auth_reset(s);
		pop3_err(s, "Line too long");
	} else if (s->input_mode == POP3_INPUT_SASL) {
		char *line = xstrndup((const char *)in->data, len);
		buf_consume(in, consumed);
		pop3_sasl_input(s, line, len);
		explicit_bzero(line, len);
		free(line);
	} else {
		command_line(s, (const char *)in->data, len);
		/* a handler that starts TLS drops the input: in is empty */
		buf_consume(in, consumed < in->len ? consumed : in->len);
	}
	if (s->bad_commands >= s->set->max_bad_commands)
		pop3_session_close(s, "Too many invalid commands",
		                   "too many bad commands");
	return true;
}

static void session_process(struct pop3_session *s)
{
	struct buf *in = conn_input(s->conn);
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	while (!s->closed && !conn_is_closing(s->conn) && in->len > 0 &&
	       !conn_output_full(s->conn) && s->input_mode != POP3_INPUT_BUSY) {
		if (!line_step(s, in))
			break;
	}
	if (!s->closed)
		conn_flush(s->conn);
}

static void on_input(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	pop3_session_ref(s);
	session_process(s);
	pop3_session_unref(s);
}

static void on_drain(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	pop3_session_ref(s);
	pop3_job_drained(s);
	if (conn_input(c)->len > 0)
		session_process(s);
	pop3_session_unref(s);
}

static void session_free(struct pop3_session *s)
{
	pop3_maildrop_release(s);
	pop3_auth_reset(s);
	auth_login_free(&s->login);
	pop3_settings_unref(&s->set);
	free(s->user_arg);
	free(s->user);
	free(s->auth_mech);
	free(s);
}

static void on_close(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	struct loop *loop = conn_loop(c);
	s->closed = true;
	loop_timer_stop(loop, &s->idle_timer);
	loop_timer_stop(loop, &s->delay_timer);
	service_worker_detach(&s->link);
	/* a job waiting for its output to drain sees the session closed
	 * and ends */
	pop3_job_drained(s);
	pop3_session_unref(s); /* the connection's reference */
}

static const struct conn_ops pop3_conn_ops = {
        .on_input = on_input,
        .on_drain = on_drain,
        .on_close = on_close,
};

void pop3_session_ref(struct pop3_session *s)
{
	s->refs++;
}

void pop3_session_unref(struct pop3_session *s)
{
	assert(s->refs > 0);
	if (--s->refs == 0)
		session_free(s);
}

/* RFC 1939 4; the APOP timestamp only when some user can use APOP. */
static void greet(struct pop3_session *s)
{
	if (userdb_has_plaintext())
		pop3_server_apop_stamp(s->server, s->apop_stamp,
		                       sizeof(s->apop_stamp));
	pop3_ok(s, "roost POP3 ready%s%s", s->apop_stamp[0] != '\0' ? " " : "",
	        s->apop_stamp);
}

void pop3_session_create(struct pop3_server *server, struct conn *conn,
                         struct pop3_settings *set)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->server = server;
	s->set = set;
	s->state = POP3_STATE_AUTHORIZATION;
	s->reader.max_bytes = POP3_MAX_SASL_LINE_BYTES;
	s->lock_fd = -1;
	s->refs = 1;
	s->idle_timer.cb = idle_timer_cb;
	s->delay_timer.cb = delay_timer_cb;
	conn_set_ops(conn, &pop3_conn_ops, s);
	service_worker_attach(pop3_server_service(server), &s->link,
	                      conn_loop(s->conn));
	struct loop *loop = conn_loop(conn);
	s->last_activity_ms = loop_now_ms(loop);
	pop3_session_ref(s);
	log_event(LOG_INFO, "connect", "proto", "pop3", "remote",
	          conn_remote(conn), "tls", conn_is_tls(conn) ? "yes" : "no",
	          NULL);
	if (conn_ip_connections(conn) > set->max_connections_per_ip) {
		pop3_session_close(s,
		                   "[SYS/TEMP] Too many connections from your "
		                   "address",
		                   "per-address connection limit");
		pop3_session_unref(s);
		return;
	}
	greet(s);
	conn_flush(conn);
	/* the greeting's write may have found the client gone */
	if (!s->closed) {
		loop_timer_start(loop, &s->idle_timer, idle_timeout_ms(s));
		conn_start(conn);
	}
	pop3_session_unref(s);
}
