/* The user database the servers authenticate against: the passwd-file,
 * loaded into memory and replaced as a whole on reload (SIGHUP), so a
 * lookup never sees a half-edited file. Thread-safe. */
#ifndef ROOST_AUTH_USERDB_H
#define ROOST_AUTH_USERDB_H

#include <stdbool.h>

#include <stdbool.h>

/* Load path and make it current. 0, or -1 with *error_r (malloc'd); the
 * previous database stays in force on error. */
int userdb_load(const char *path, char **error_r);
/* A malloc'd copy of user's stored password ("{SCHEME}..."), or NULL if
 * there is no such user. */
char *userdb_password(const char *user);
/* Does the database have user (whatever its password, even none)? */
bool userdb_exists(const char *user);
/* An extra field of user's passwd-file entry ("quota_rule"), malloc'd,
 * or NULL. */
char *userdb_extra(const char *user, const char *key);
/* Does any user have a password stored in a scheme that gives back the
 * plaintext ({PLAIN}), so that challenge-response logins that need it
 * (POP3 APOP) can work? */
bool userdb_has_plaintext(void);
void userdb_unload(void);

#endif
