/* STARTTLS (RFC 3501 6.2.1, RFC 2595): upgrade a plaintext connection.
 * The connection discards whatever the client pipelined behind the
 * command, so no plaintext command can be injected into the TLS session;
 * the session itself starts over in the not-authenticated state. */
#include <openssl/ssl.h>

#include "imap/imap-private.h"
#include "net/conn.h"
#include "net/tls.h"

void cmd_starttls(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (conn_is_tls(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "BAD", "TLS is already active");
		return;
	}
	SSL_CTX *ctx = tls_current();
	if (ctx == NULL) {
		imap_reply_tagged(s, cmd->tag, "NO",
		                  "[UNAVAILABLE] TLS is not configured");
		return;
	}
	imap_reply_tagged(s, cmd->tag, "OK", "Begin TLS negotiation now.");
	conn_start_tls(s->conn, ctx);
	SSL_CTX_free(ctx);
	imap_parser_destroy(&s->parser);
}
