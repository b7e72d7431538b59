/* Mailbox and message commands. The mail store is the next stage of
 * roost (see docs/ARCHITECTURE.md); until it exists these commands are in
 * the command table with their correct states, and answer NO with a
 * clear reason instead of being unknown. */
#include "imap/imap-private.h"
#include "net/conn.h"

void cmd_mailbox_unavailable(struct imap_session *s,
                             const struct imap_command_line *cmd)
{
	conn_printf(s->conn,
	            "%s NO [UNAVAILABLE] %s is unavailable: this server has "
	            "no mail store yet\r\n",
	            cmd->tag, imap_command_find(cmd->name)->name);
}
