/* `roost deliver USER [-m MAILBOX] [-f SENDER]`: deliver the message on
 * standard input as LMTP does (lmtp/deliver.h), for MTAs that pipe to a
 * program (Postfix mailbox_command, procmail-style setups). */
#ifndef ROOST_CLI_CMD_DELIVER_H
#define ROOST_CLI_CMD_DELIVER_H

struct config;

/* argv: USER and the options. Returns a sysexits(3) code: 0 delivered,
 * 64 usage, 65 bad message (NUL bytes, empty), 67 unknown user, 73 the
 * mailbox cannot take it (over quota or too large; 75 instead when
 * [lmtp] quota_full_tempfail is set for quota), 75 temporary failure
 * (store or disk trouble: the MTA should try again). A line on stderr
 * says why when it is not 0. */
int cmd_deliver(const struct config *cfg, int argc, char **argv);

#endif
