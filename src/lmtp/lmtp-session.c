/* LMTP session: one per connection. Reads command lines (RFC 5321 2.3.8:
 * CR LF ends them; a bare LF is tolerated in commands) and the DATA
 * section, keeps the idle timer, and answers pipelined commands in order
 * (RFC 2920): while a delivery runs, input is paused. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "lmtp/lmtp-private.h"
#include "net/conn.h"
#include "net/service.h"

#define DATA_CHUNK_BYTES 16384

void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	conn_printf(s->conn, "%s\r\n", text);
	free(text);
}

void lmtp_transaction_reset(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->rcpt_count; i++)
		deliver_rcpt_clear(&s->rcpts[i]);
	free(s->rcpts);
	s->rcpts = NULL;
	s->rcpt_count = 0;
	free(s->sender);
	s->sender = NULL;
	s->in_mail = false;
	deliver_msg_free(&s->msg);
}

void lmtp_session_close(struct lmtp_session *s, const char *text,
                        const char *reason)
{
	if (s->closed || conn_is_closing(s->conn))
		return;
	lmtp_reply(s, "421 %s %s", s->set->hostname, text);
	conn_close_after_flush(s->conn, reason);
}

static void idle_timer_cb(struct loop_timer *t)
{
	struct lmtp_session *s =
	        container_of(t, struct lmtp_session, idle_timer);
	struct loop *loop = conn_loop(s->conn);
	uint64_t deadline = s->last_activity_ms + LMTP_IDLE_TIMEOUT_MS;
	uint64_t now = loop_now_ms(loop);
	if (s->input == LMTP_INPUT_BUSY || now < deadline) {
		loop_timer_start(loop, t,
		                 now < deadline ? deadline - now
		                                : LMTP_IDLE_TIMEOUT_MS);
		return;
	}
	lmtp_session_ref(s);
	lmtp_session_close(s, "4.4.2 Timeout, closing connection",
	                   "idle timeout");
	lmtp_session_unref(s);
}

/* A line over the limit: RFC 5321 4.5.3.1.10's reply, and the rest of
 * it is skipped. */
static void line_too_long(struct lmtp_session *s)
{
	lmtp_reply(s, "500 5.5.0 Line too long");
	s->bad_commands++;
}

/* One command line from in; false when more input is needed. */
static bool command_step(struct lmtp_session *s, struct buf *in)
{
	unsigned char *lf = memchr(in->data, '\n', in->len);
	if (lf == NULL) {
		if (in->len > LMTP_MAX_LINE_BYTES) {
			line_too_long(s);
			buf_consume(in, in->len);
			s->input = LMTP_INPUT_SKIP_LINE;
		}
		return false;
	}
	size_t len = (size_t)(lf - in->data), consumed = len + 1;
	if (len > 0 && in->data[len - 1] == '\r')
		len--;
	if (len > LMTP_MAX_LINE_BYTES) {
		line_too_long(s);
	} else if (memchr(in->data, '\0', len) != NULL) {
		lmtp_reply(s, "500 5.5.2 Syntax error: NUL in command");
		s->bad_commands++;
	} else {
		char *line = xstrndup((const char *)in->data, len);
		buf_consume(in, consumed);
		lmtp_command(s, line);
		free(line);
		consumed = 0;
	}
	buf_consume(in, consumed);
	if (s->bad_commands >= LMTP_MAX_BAD_COMMANDS)
		lmtp_session_close(s, "4.7.0 Too many errors",
		                   "too many bad commands");
	return true;
}

static bool skip_step(struct lmtp_session *s, struct buf *in)
{
	unsigned char *lf = memchr(in->data, '\n', in->len);
	if (lf == NULL) {
		buf_consume(in, in->len);
		return false;
	}
	buf_consume(in, (size_t)(lf - in->data) + 1);
	s->input = LMTP_INPUT_COMMANDS;
	return true;
}

/* Message bytes: decoded into the message until the end marker. */
static bool data_step(struct lmtp_session *s, struct buf *in)
{
	unsigned char out[DATA_CHUNK_BYTES + 1];
	size_t take = in->len < DATA_CHUNK_BYTES ? in->len : DATA_CHUNK_BYTES;
	size_t out_len = 0;
	size_t used = lmtp_data_decode(&s->data, in->data, take, out, &out_len);
	buf_consume(in, used);
	/* a spool write failure is remembered in the message, which is
	 * then answered with a temporary failure */
	deliver_msg_write(s->msg, out, out_len);
	if (lmtp_data_done(&s->data)) {
		lmtp_deliver_start(s);
		return true;
	}
	return in->len > 0;
}

static void session_process(struct lmtp_session *s)
{
	struct buf *in = conn_input(s->conn);
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	while (!s->closed && !conn_is_closing(s->conn) && in->len > 0 &&
	       !conn_output_full(s->conn)) {
		bool progress = false;
		switch (s->input) {
		case LMTP_INPUT_COMMANDS:
			progress = command_step(s, in);
			break;
		case LMTP_INPUT_SKIP_LINE:
			progress = skip_step(s, in);
			break;
		case LMTP_INPUT_DATA:
			progress = data_step(s, in);
			break;
		case LMTP_INPUT_BUSY:
			break;
		}
		if (!progress)
			break;
	}
	if (!s->closed)
		conn_flush(s->conn);
}

void lmtp_session_resume(struct lmtp_session *s)
{
	s->input = LMTP_INPUT_COMMANDS;
	s->last_activity_ms = loop_now_ms(conn_loop(s->conn));
	conn_flush(s->conn);
	/* input pipelined behind the data comes from the loop */
	conn_resume_input(s->conn);
}

static void on_input(struct conn *c, void *ctx)
{
	struct lmtp_session *s = ctx;
	lmtp_session_ref(s);
	session_process(s);
	lmtp_session_unref(s);
}

static void on_drain(struct conn *c, void *ctx)
{
	struct lmtp_session *s = ctx;
	lmtp_session_ref(s);
	if (conn_input(c)->len > 0 && s->input != LMTP_INPUT_BUSY)
		session_process(s);
	lmtp_session_unref(s);
}

static void on_close(struct conn *c, void *ctx)
{
	struct lmtp_session *s = ctx;
	s->closed = true;
	loop_timer_stop(conn_loop(c), &s->idle_timer);
	service_worker_detach(&s->link);
	lmtp_session_unref(s); /* the connection's reference */
}

static const struct conn_ops lmtp_conn_ops = {
        .on_input = on_input,
        .on_drain = on_drain,
        .on_close = on_close,
};

void lmtp_session_ref(struct lmtp_session *s)
{
	s->refs++;
}

void lmtp_session_unref(struct lmtp_session *s)
{
	assert(s->refs > 0);
	if (--s->refs > 0)
		return;
	/* a message cut off mid-DATA goes with its spool file */
	lmtp_transaction_reset(s);
	lmtp_settings_unref(&s->set);
	free(s->helo);
	free(s);
}

void lmtp_session_create(struct lmtp_server *server, struct conn *conn,
                         struct lmtp_settings *set)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->server = server;
	s->set = set;
	s->refs = 1;
	s->idle_timer.cb = idle_timer_cb;
	conn_set_ops(conn, &lmtp_conn_ops, s);
	service_worker_attach(lmtp_server_service(server), &s->link,
	                      conn_loop(s->conn));
	struct loop *loop = conn_loop(conn);
	s->last_activity_ms = loop_now_ms(loop);
	lmtp_session_ref(s);
	log_event(LOG_INFO, "connect", "proto", "lmtp", "remote",
	          conn_remote(conn), NULL);
	lmtp_reply(s, "220 %s roost LMTP ready", set->hostname);
	conn_flush(conn);
	if (!s->closed) {
		loop_timer_start(loop, &s->idle_timer, LMTP_IDLE_TIMEOUT_MS);
		conn_start(conn);
	}
	lmtp_session_unref(s);
}
