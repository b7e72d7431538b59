/* LMTP commands (RFC 2033 4, with SMTP's from RFC 5321 4.1.1), their
 * order (RFC 5321 4.1.4), and the replies with enhanced status codes
 * (RFC 2034, RFC 3463). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "lmtp/lmtp-parser.h"
#include "lmtp/lmtp-private.h"
#include "net/conn.h"

typedef void lmtp_command_fn(struct lmtp_session *s, const char *args);

static void bad(struct lmtp_session *s, const char *reply)
{
	lmtp_reply(s, "%s", reply);
	s->bad_commands++;
}

static void cmd_lhlo(struct lmtp_session *s, const char *args)
{
	if (!lmtp_domain_valid(args)) {
		bad(s, "501 5.5.4 Syntax: LHLO hostname");
		return;
	}
	/* RFC 5321 4.1.4: a second greeting resets the transaction */
	lmtp_transaction_reset(s);
	free(s->helo);
	s->helo = xstrdup(args);
	lmtp_reply(s, "250-%s", s->set->hostname);
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-8BITMIME");
	lmtp_reply(s, "250 SIZE %llu",
	           (unsigned long long)s->set->deliver.max_message_size);
}

static void cmd_helo(struct lmtp_session *s, const char *args)
{
	/* RFC 2033 4.1: LMTP has LHLO in their place */
	bad(s, "500 5.5.1 This is LMTP: use LHLO");
}

static void path_error(struct lmtp_session *s, enum lmtp_parse_result r,
                       bool sender)
{
	switch (r) {
	case LMTP_PARSE_SYNTAX:
		bad(s, sender ? "501 5.5.4 Syntax: MAIL FROM:<address>"
		              : "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	case LMTP_PARSE_BAD_PATH:
		bad(s, sender ? "501 5.1.7 Bad sender address syntax"
		              : "501 5.1.3 Bad recipient address syntax");
		return;
	case LMTP_PARSE_PATH_TOO_LONG:
		bad(s, sender ? "501 5.1.7 Path too long"
		              : "501 5.1.3 Path too long");
		return;
	case LMTP_PARSE_UNKNOWN_PARAM:
		/* RFC 5321 4.1.1.11 */
		bad(s, "555 5.5.4 Unsupported parameter");
		return;
	case LMTP_PARSE_BAD_PARAM:
		bad(s, "501 5.5.4 Invalid parameter value");
		return;
	case LMTP_PARSE_OK:
		break;
	}
}

static void cmd_mail(struct lmtp_session *s, const char *args)
{
	struct lmtp_path path;
	struct lmtp_mail_params params;
	if (s->helo == NULL) {
		bad(s, "503 5.5.1 Send LHLO first");
		return;
	}
	if (s->in_mail) {
		bad(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	enum lmtp_parse_result r = lmtp_parse_mail(args, &path, &params);
	if (r != LMTP_PARSE_OK) {
		path_error(s, r, true);
		return;
	}
	/* RFC 1870 6.1: refused before any data is sent */
	if (params.has_size && params.size > s->set->deliver.max_message_size) {
		lmtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum "
		              "message size");
		return;
	}
	s->in_mail = true;
	s->sender = xstrdup(path.null ? "" : path.addr);
	lmtp_reply(s, "250 2.1.0 Sender OK");
}

/* A recipient the user database has; false after a reply. */
static bool rcpt_resolve(struct lmtp_session *s, const struct lmtp_path *path,
                         struct deliver_rcpt *r)
{
	char *user, *detail;
	if (!deliver_resolve(&s->set->deliver, path->local, path->domain, &user,
	                     &detail)) {
		lmtp_reply(s, "550 5.1.1 <%s> User unknown", path->addr);
		return false;
	}
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(path->addr);
	r->user = user;
	if (detail != NULL && s->set->deliver.detail_mailbox)
		r->mailbox = detail;
	else
		free(detail);
	return true;
}

static void cmd_rcpt(struct lmtp_session *s, const char *args)
{
	struct lmtp_path path;
	struct deliver_rcpt r;
	if (s->helo == NULL || !s->in_mail) {
		bad(s, s->helo == NULL ? "503 5.5.1 Send LHLO first"
		                       : "503 5.5.1 Send MAIL first");
		return;
	}
	enum lmtp_parse_result ret = lmtp_parse_rcpt(args, &path);
	if (ret != LMTP_PARSE_OK) {
		path_error(s, ret, false);
		return;
	}
	if (s->rcpt_count >= LMTP_MAX_RECIPIENTS) {
		/* RFC 5321 4.5.3.1.10 */
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (!rcpt_resolve(s, &path, &r))
		return;
	s->rcpts = xrealloc(s->rcpts, (s->rcpt_count + 1) * sizeof(r));
	s->rcpts[s->rcpt_count++] = r;
	lmtp_reply(s, "250 2.1.5 <%s> Recipient OK", path.addr);
}

static void cmd_data(struct lmtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		bad(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->helo == NULL || !s->in_mail) {
		bad(s, s->helo == NULL ? "503 5.5.1 Send LHLO first"
		                       : "503 5.5.1 Send MAIL first");
		return;
	}
	/* RFC 2033 4.2 */
	if (s->rcpt_count == 0) {
		bad(s, "503 5.5.1 No valid recipients");
		return;
	}
	s->msg = deliver_msg_create(&s->set->deliver);
	lmtp_data_init(&s->data);
	s->input = LMTP_INPUT_DATA;
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

static void cmd_rset(struct lmtp_session *s, const char *args)
{
	if (args[0] != '\0') {
		bad(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	lmtp_transaction_reset(s);
	lmtp_reply(s, "250 2.0.0 OK");
}

static void cmd_noop(struct lmtp_session *s, const char *args)
{
	/* RFC 5321 4.1.1.9: an argument is allowed and ignored */
	lmtp_reply(s, "250 2.0.0 OK");
}

static void cmd_quit(struct lmtp_session *s, const char *args)
{
	lmtp_reply(s, "221 2.0.0 %s Closing connection", s->set->hostname);
	conn_close_after_flush(s->conn, "quit");
}

static void cmd_vrfy(struct lmtp_session *s, const char *args)
{
	if (args[0] == '\0') {
		bad(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3 and 7.3: we do not say which users exist */
	lmtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message "
	              "and attempt delivery");
}

static void cmd_help(struct lmtp_session *s, const char *args)
{
	lmtp_reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA RSET NOOP "
	              "QUIT VRFY HELP");
}

static lmtp_command_fn *const handlers[] = {
        [LMTP_VERB_LHLO] = cmd_lhlo, [LMTP_VERB_HELO] = cmd_helo,
        [LMTP_VERB_EHLO] = cmd_helo, [LMTP_VERB_MAIL] = cmd_mail,
        [LMTP_VERB_RCPT] = cmd_rcpt, [LMTP_VERB_DATA] = cmd_data,
        [LMTP_VERB_RSET] = cmd_rset, [LMTP_VERB_NOOP] = cmd_noop,
        [LMTP_VERB_QUIT] = cmd_quit, [LMTP_VERB_VRFY] = cmd_vrfy,
        [LMTP_VERB_HELP] = cmd_help,
};

void lmtp_command(struct lmtp_session *s, const char *line)
{
	const char *args;
	enum lmtp_verb verb = lmtp_parse_verb(line, &args);
	unsigned int bad_before = s->bad_commands;
	if (verb == LMTP_VERB_UNKNOWN) {
		bad(s, "500 5.5.2 Command unrecognized");
		return;
	}
	/* trailing spaces are not part of an argument */
	char *a = xstrdup(args);
	size_t n = strlen(a);
	while (n > 0 && a[n - 1] == ' ')
		a[--n] = '\0';
	handlers[verb](s, a);
	free(a);
	if (s->bad_commands == bad_before)
		s->bad_commands = 0;
}
