/* Dovecot-format passwd-file: one user per line,
 *   user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
 * (trailing fields may be omitted; '#' starts a comment line; a trailing
 * CR is ignored; the first line of a user wins). Editing is
 * atomic: write a temporary file beside it, fsync, rename, fsync the
 * directory, under an exclusive lock so concurrent edits do not race. */
#ifndef ROOST_AUTH_PASSWD_FILE_H
#define ROOST_AUTH_PASSWD_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct passwd_entry {
	const char *user;
	const char *password; /* "{SCHEME}..." or crypt hash; may be "" */
	const char *uid, *gid, *gecos, *home, *shell;
	/* space-separated key=value fields, may be "": everything after
	 * the seventh ':', so it may itself contain ':' */
	const char *extra;
};

struct passwd_file;

/* Parse a whole file held in memory (also the fuzz entry point). Lines
 * that do not parse are skipped and counted. Never NULL. */
struct passwd_file *passwd_file_parse(const char *data, size_t len,
                                      unsigned int *bad_lines_r);
/* Load path. A missing file gives an empty set. NULL with *error_r on
 * read errors. */
struct passwd_file *passwd_file_load(const char *path, const char **error_r);
void passwd_file_free(struct passwd_file **pf);

/* May user be stored: 1..255 bytes, no ':', space, '/', control
 * characters, not "." or "..", not starting with '#'? */
bool passwd_user_valid(const char *user);

/* Case-sensitive lookup; NULL if absent. Valid until freed. */
const struct passwd_entry *passwd_file_lookup(const struct passwd_file *pf,
                                              const char *user);
size_t passwd_file_count(const struct passwd_file *pf);
const struct passwd_entry *passwd_file_at(const struct passwd_file *pf,
                                          size_t i);

/* Value of key in an entry's extra fields (e.g. "quota_rule"), or NULL;
 * result is a malloc'd string. A bare "key" gives "". Falls back to
 * Dovecot's "userdb_<key>" form when key itself is absent. */
char *passwd_entry_extra(const struct passwd_entry *e, const char *key);

/* Atomically set user's password hash in the file at path, adding the
 * user if absent (other fields of an existing line are kept). Returns 0,
 * or -1 with *error_r (user name invalid: see passwd_user_valid(); hash
 * empty or holding ':' or control characters; I/O errors). Error texts
 * stay valid until the next call in the same thread. New files get mode
 * 0600; a replaced file keeps its mode and owner. The lock is flock(2)
 * on "path.lock"; the temporary file is "path.tmp.<pid>". */
int passwd_file_set(const char *path, const char *user, const char *hash,
                    const char **error_r);
enum passwd_set_mode {
	PASSWD_SET_ANY,     /* add or replace */
	PASSWD_SET_ADD,     /* only if the user is absent */
	PASSWD_SET_REPLACE, /* only if the user is present */
};
/* passwd_file_set() with a condition checked under the lock. Returns 1
 * written, 0 if mode was not satisfied (file unchanged), -1 error. */
int passwd_file_update(const char *path, const char *user, const char *hash,
                       enum passwd_set_mode mode, const char **error_r);
/* Atomically remove user. Returns 1 removed, 0 not present, -1 error. */
int passwd_file_remove(const char *path, const char *user,
                       const char **error_r);

#endif
