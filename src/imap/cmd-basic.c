/* Commands valid in any state: CAPABILITY, NOOP, LOGOUT (RFC 3501 6.1),
 * ID (RFC 2971), and ENABLE (RFC 5161) with what it enables, CONDSTORE
 * and QRESYNC (RFC 7162 3.2.3). */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "imap/imap-private.h"
#include "net/conn.h"
#include "proto/imap-quote.h"

/* RFC 2971 3.3: field names at most 30 octets, values at most 1024, at
 * most 30 pairs. */
#define ID_MAX_PAIRS 30
#define ID_MAX_FIELD_BYTES 30
#define ID_MAX_VALUE_BYTES 1024

void cmd_capability(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	conn_write_str(s->conn, "* CAPABILITY ");
	imap_write_capabilities(s);
	conn_write_str(s->conn, "\r\n");
	imap_reply_tagged(s, cmd->tag, "OK", "CAPABILITY completed");
}

void cmd_noop(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (s->view != NULL) {
		/* RFC 3501 6.1.2: a chance to report the mailbox's changes */
		imap_cmd_sync(s, cmd, "NOOP");
		return;
	}
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_reply_tagged(s, cmd->tag, "OK", "NOOP completed");
}

void cmd_logout(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_reply_untagged(s, "BYE Logging out");
	imap_reply_tagged(s, cmd->tag, "OK", "LOGOUT completed");
	s->state = IMAP_STATE_LOGOUT;
	conn_close_after_flush(s->conn, "logout");
}

/* Check the client's ID list; log the client's name and version. */
static bool id_args_valid(struct imap_session *s, const struct imap_arg *arg)
{
	if (arg->type == IMAP_ARG_NIL)
		return true;
	if (arg->type != IMAP_ARG_LIST || arg->list_count % 2 != 0 ||
	    arg->list_count / 2 > ID_MAX_PAIRS)
		return false;
	const char *name = NULL, *version = NULL;
	for (size_t i = 0; i < arg->list_count; i += 2) {
		const struct imap_arg *k = &arg->list[i],
		                      *v = &arg->list[i + 1];
		if ((k->type != IMAP_ARG_QUOTED &&
		     k->type != IMAP_ARG_LITERAL) ||
		    k->len > ID_MAX_FIELD_BYTES)
			return false;
		if (v->type == IMAP_ARG_NIL)
			continue;
		if ((v->type != IMAP_ARG_QUOTED &&
		     v->type != IMAP_ARG_LITERAL) ||
		    v->len > ID_MAX_VALUE_BYTES)
			return false;
		if (strcasecmp(k->str, "name") == 0)
			name = v->str;
		else if (strcasecmp(k->str, "version") == 0)
			version = v->str;
	}
	if (name != NULL || version != NULL)
		log_event(LOG_INFO, "client_id", "remote", conn_remote(s->conn),
		          "name", name, "version", version, NULL);
	return true;
}

void cmd_id(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 1 || !id_args_valid(s, &cmd->args[0])) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	conn_write_str(s->conn, "* ID (\"name\" \"roost\" \"version\" ");
	imap_write_string(conn_output(s->conn), ROOST_VERSION,
	                  strlen(ROOST_VERSION));
	conn_write_str(s->conn, ")\r\n");
	imap_reply_tagged(s, cmd->tag, "OK", "ID completed");
}

/* Did args[0..i) already name the atom of args[i]? */
static bool named_before(const struct imap_arg *args, size_t i)
{
	for (size_t k = 0; k < i; k++) {
		if (imap_arg_atom_equals(&args[k], args[i].str))
			return true;
	}
	return false;
}

void cmd_enable(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count == 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	for (size_t i = 0; i < cmd->arg_count; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_reply_bad_args(s, cmd);
			return;
		}
	}
	/* RFC 5161 3.1: unknown extensions are ignored, and ENABLED lists
	 * what this command enabled. RFC 7162 3.2.3: QRESYNC implies
	 * CONDSTORE, and "QRESYNC CONDSTORE" in any order is one request. */
	bool condstore = s->condstore, qresync = s->qresync;
	conn_write_str(s->conn, "* ENABLED");
	for (size_t i = 0; i < cmd->arg_count; i++) {
		const struct imap_arg *a = &cmd->args[i];
		if (named_before(cmd->args, i))
			continue;
		if (imap_arg_atom_equals(a, "CONDSTORE") && !condstore) {
			s->condstore = true;
			conn_write_str(s->conn, " CONDSTORE");
		} else if (imap_arg_atom_equals(a, "QRESYNC") && !qresync) {
			s->condstore = s->qresync = true;
			conn_write_str(s->conn, " QRESYNC");
		}
	}
	conn_write_str(s->conn, "\r\n");
	imap_reply_tagged(s, cmd->tag, "OK", "ENABLE completed");
}
