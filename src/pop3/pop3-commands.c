/* The command table and the commands that answer from the session alone:
 * CAPA (RFC 2449 5), STLS (RFC 2595 4), QUIT, NOOP, STAT, DELE, RSET and
 * LIST/UIDL of one message (RFC 1939 4-7). */
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "net/conn.h"
#include "net/tls.h"
#include "pop3/pop3-private.h"

#define AUTH POP3_STATE_AUTHORIZATION
#define TRANS POP3_STATE_TRANSACTION

/* sorted by name, for bsearch */
static const struct pop3_command_def commands[] = {
        {"APOP", AUTH, pop3_cmd_apop},
        {"AUTH", AUTH, pop3_cmd_auth},
        {"CAPA", POP3_STATES_ANY, pop3_cmd_capa},
        {"DELE", TRANS, pop3_cmd_dele},
        {"LIST", TRANS, pop3_cmd_list},
        {"NOOP", TRANS, pop3_cmd_noop},
        {"PASS", AUTH, pop3_cmd_pass},
        {"QUIT", POP3_STATES_ANY, pop3_cmd_quit},
        {"RETR", TRANS, pop3_cmd_retr},
        {"RSET", TRANS, pop3_cmd_rset},
        {"STAT", TRANS, pop3_cmd_stat},
        {"STLS", AUTH, pop3_cmd_stls},
        {"TOP", TRANS, pop3_cmd_top},
        {"UIDL", TRANS, pop3_cmd_uidl},
        {"USER", AUTH, pop3_cmd_user},
};

static int command_cmp(const void *key, const void *elem)
{
	const struct pop3_command_def *c = elem;
	return strcmp(key, c->name);
}

const struct pop3_command_def *pop3_command_find(const char *name)
{
	return bsearch(name, commands, sizeof(commands) / sizeof(commands[0]),
	               sizeof(commands[0]), command_cmp);
}

/* Commands without arguments answer -ERR to any. */
static bool no_args(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg_count == 0)
		return true;
	pop3_err(s, "%s takes no arguments", cmd->name);
	return false;
}

static void write_sasl_capa(struct pop3_session *s)
{
	conn_write_str(s->conn, "SASL");
	if (pop3_plaintext_allowed(s))
		conn_write_str(s->conn, " PLAIN LOGIN");
	conn_write_str(s->conn, " SCRAM-SHA-256\r\n");
}

void pop3_cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!no_args(s, cmd))
		return;
	struct conn *c = s->conn;
	conn_write_str(c, "+OK Capability list follows\r\n"
	                  "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
	                  "PIPELINING\r\n");
	if (s->state == POP3_STATE_AUTHORIZATION) {
		if (pop3_plaintext_allowed(s))
			conn_write_str(c, "USER\r\n");
		write_sasl_capa(s);
		if (!conn_is_tls(c) && pop3_tls_available())
			conn_write_str(c, "STLS\r\n");
	}
	if (s->set->login_delay_s > 0)
		conn_printf(c, "LOGIN-DELAY %u\r\n", s->set->login_delay_s);
	conn_write_str(c, "IMPLEMENTATION roost\r\n.\r\n");
}

/* RFC 2595 4: only in AUTHORIZATION; what the client pipelined behind
 * STLS is discarded by the connection, so nothing sent in plaintext is
 * acted on inside TLS. */
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!no_args(s, cmd))
		return;
	if (conn_is_tls(s->conn)) {
		pop3_err(s, "TLS is already active");
		return;
	}
	SSL_CTX *ctx = tls_current();
	if (ctx == NULL) {
		pop3_err(s, "[SYS/PERM] TLS is not available");
		return;
	}
	pop3_ok(s, "Begin TLS negotiation now");
	conn_start_tls(s->conn, ctx);
	SSL_CTX_free(ctx);
	s->reader.skipping = false;
	free(s->user_arg);
	s->user_arg = NULL;
}

void pop3_cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!no_args(s, cmd))
		return;
	if (s->state == POP3_STATE_TRANSACTION) {
		pop3_maildrop_update(s);
		return;
	}
	pop3_ok(s, "roost POP3 server signing off");
	conn_close_after_flush(s->conn, "quit");
}

void pop3_cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (no_args(s, cmd))
		pop3_ok(s, "%s", "");
}

void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (no_args(s, cmd))
		pop3_ok(s, "%zu %llu", s->live_count,
		        (unsigned long long)s->live_bytes);
}

/* One message-number argument: the message, or NULL after -ERR. */
static struct pop3_msg *one_msg_arg(struct pop3_session *s,
                                    const struct pop3_command *cmd, size_t *n_r)
{
	if (cmd->arg_count != 1 || cmd->too_many_args) {
		pop3_err(s, "%s takes one message number", cmd->name);
		return NULL;
	}
	return pop3_msg_arg(s, cmd->args[0], n_r);
}

void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd)
{
	size_t n;
	struct pop3_msg *m = one_msg_arg(s, cmd, &n);
	if (m == NULL)
		return;
	m->deleted = true;
	s->live_count--;
	s->live_bytes -= m->size;
	pop3_ok(s, "Message %zu deleted", n);
}

void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!no_args(s, cmd))
		return;
	s->live_count = s->msg_count;
	s->live_bytes = 0;
	for (size_t i = 0; i < s->msg_count; i++) {
		s->msgs[i].deleted = false;
		s->live_bytes += s->msgs[i].size;
	}
	pop3_ok(s, "Maildrop has %zu messages (%llu octets)", s->live_count,
	        (unsigned long long)s->live_bytes);
}

/* LIST n and UIDL n: one line; without n, the listing (pop3-retr.c). */
static bool single_listing(struct pop3_session *s,
                           const struct pop3_command *cmd, bool uidl)
{
	if (cmd->arg_count == 0)
		return false;
	size_t n;
	struct pop3_msg *m = one_msg_arg(s, cmd, &n);
	if (m == NULL)
		return true;
	if (uidl) {
		char id[32];
		pop3_write_uidl(s, m, id, sizeof(id));
		pop3_ok(s, "%zu %s", n, id);
	} else {
		pop3_ok(s, "%zu %llu", n, (unsigned long long)m->size);
	}
	return true;
}

void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!single_listing(s, cmd, false))
		pop3_listing_start(s, false);
}

void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (!single_listing(s, cmd, true))
		pop3_listing_start(s, true);
}
