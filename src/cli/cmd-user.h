/* `roost user`: manage the users in a Dovecot-format passwd-file. */
#ifndef ROOST_CLI_CMD_USER_H
#define ROOST_CLI_CMD_USER_H

/* Run `roost user ARGS` on the passwd-file at passwd_path; argv[0] is the
 * action:
 *   add NAME [--scheme S]     add a user; fails if NAME exists
 *   passwd NAME [--scheme S]  change a password; fails if NAME is absent
 *   del NAME                  remove a user
 *   list                      print one user name per line
 * The password is the first line of standard input (a trailing CR LF or
 * LF is dropped; empty is refused); on a terminal it is asked for twice
 * with echo off. S defaults to PASSWORD_DEFAULT_SCHEME. Errors go to
 * stderr as "roost user: ...". Returns the exit code: 0 ok, 1 error,
 * 64 usage error. */
int cmd_user(const char *passwd_path, int argc, char **argv);

#endif
