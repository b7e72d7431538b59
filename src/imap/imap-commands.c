/* The IMAP command table (RFC 3501 section 6, RFC 9051 section 6) and
 * the capability list (RFC 3501 7.2.1), which depends on the session's
 * state: STARTTLS and the AUTH= mechanisms only before login, and the
 * plaintext mechanisms only where a password may travel (RFC 3501 6.2.3,
 * LOGINDISABLED). */
#include <string.h>
#include <strings.h>

#include "auth/sasl.h"
#include "imap/cmd-search.h"
#include "imap/imap-private.h"
#include "net/conn.h"
#include "net/tls.h"

#include <openssl/ssl.h>

#define ANY IMAP_STATES_ANY
#define NOT_AUTH IMAP_STATE_NOT_AUTH
#define AUTHED IMAP_STATES_AUTHED
#define AUTH_ONLY IMAP_STATE_AUTH
#define SELECTED IMAP_STATE_SELECTED

/* Sorted by name for bsearch. */
static const struct imap_command commands[] = {
        {"APPEND", AUTHED, cmd_append},
        {"AUTHENTICATE", NOT_AUTH, cmd_authenticate},
        {"CAPABILITY", ANY, cmd_capability},
        {"CHECK", SELECTED, cmd_check},
        {"CLOSE", SELECTED, cmd_close},
        {"COPY", SELECTED, cmd_copy},
        {"CREATE", AUTHED, cmd_create},
        {"DELETE", AUTHED, cmd_delete},
        {"ENABLE", AUTH_ONLY, cmd_enable},
        {"EXAMINE", AUTHED, cmd_examine},
        {"EXPUNGE", SELECTED, cmd_expunge},
        {"FETCH", SELECTED, cmd_fetch},
        {"GETQUOTA", AUTHED, cmd_getquota},
        {"GETQUOTAROOT", AUTHED, cmd_getquotaroot},
        {"ID", ANY, cmd_id},
        {"IDLE", AUTHED, cmd_idle},
        {"LIST", AUTHED, cmd_list},
        {"LOGIN", NOT_AUTH, cmd_login},
        {"LOGOUT", ANY, cmd_logout},
        {"LSUB", AUTHED, cmd_lsub},
        {"MOVE", SELECTED, cmd_move},
        {"NAMESPACE", AUTHED, cmd_namespace},
        {"NOOP", ANY, cmd_noop},
        {"PARTIAL", SELECTED, cmd_partial},
        {"RENAME", AUTHED, cmd_rename},
        {"SEARCH", SELECTED, cmd_search},
        {"SELECT", AUTHED, cmd_select},
        {"SETQUOTA", AUTHED, cmd_setquota},
        {"SORT", SELECTED, cmd_sort},
        {"STARTTLS", NOT_AUTH, cmd_starttls},
        {"STATUS", AUTHED, cmd_status},
        {"STORE", SELECTED, cmd_store},
        {"SUBSCRIBE", AUTHED, cmd_subscribe},
        {"THREAD", SELECTED, cmd_thread},
        {"UID", SELECTED, cmd_uid},
        {"UNSELECT", SELECTED, cmd_unselect},
        {"UNSUBSCRIBE", AUTHED, cmd_unsubscribe},
};

static int command_cmp(const void *key, const void *elem)
{
	const struct imap_command *c = elem;
	return strcasecmp(key, c->name);
}

const struct imap_command *imap_command_find(const char *name)
{
	return bsearch(name, commands, sizeof(commands) / sizeof(commands[0]),
	               sizeof(commands[0]), command_cmp);
}

bool imap_plaintext_allowed(const struct imap_session *s)
{
	return conn_is_tls(s->conn) || s->set->allow_plaintext ||
	       (s->set->plaintext_loopback && conn_is_loopback(s->conn));
}

static bool tls_available(void)
{
	SSL_CTX *ctx = tls_current();
	if (ctx == NULL)
		return false;
	SSL_CTX_free(ctx);
	return true;
}

void imap_write_capabilities(struct imap_session *s)
{
	struct conn *c = s->conn;
	conn_write_str(c, "IMAP4rev1 LITERAL+ ID ENABLE");
	if (s->state != IMAP_STATE_NOT_AUTH) {
		conn_printf(c,
		            " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN "
		            "LIST-EXTENDED LIST-STATUS SPECIAL-USE "
		            "CREATE-SPECIAL-USE QUOTA QUOTA=RES-STORAGE "
		            "QUOTA=RES-MESSAGE MULTIAPPEND APPENDLIMIT=%llu "
		            "STATUS=SIZE ESEARCH SEARCHRES WITHIN SORT "
		            "CONDSTORE QRESYNC "
		            "SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT "
		            "THREAD=REFERENCES BINARY IDLE",
		            (unsigned long long)s->set->max_message_size);
		return;
	}
	conn_write_str(c, " SASL-IR");
	if (!conn_is_tls(c) && tls_available())
		conn_write_str(c, " STARTTLS");
	if (imap_plaintext_allowed(s))
		conn_write_str(c, " AUTH=PLAIN AUTH=LOGIN");
	else
		conn_write_str(c, " LOGINDISABLED");
	conn_write_str(c, " AUTH=SCRAM-SHA-256");
}

void imap_reply_ok_capability(struct imap_session *s, const char *tag,
                              const char *text)
{
	conn_printf(s->conn, "%s OK [CAPABILITY ", tag);
	imap_write_capabilities(s);
	conn_printf(s->conn, "] %s\r\n", text);
}
