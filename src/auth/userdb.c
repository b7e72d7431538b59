/* In-memory user database with atomic replacement: see userdb.h. */
#include "auth/userdb.h"

#include <pthread.h>
#include <stdio.h>

#include "auth/passwd-file.h"
#include "auth/password.h"
#include "core/xalloc.h"

static pthread_rwlock_t userdb_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct passwd_file *current;
static bool current_has_plaintext;

static bool any_plaintext(const struct passwd_file *pf)
{
	for (size_t i = 0; i < passwd_file_count(pf); i++) {
		const char *pw = passwd_file_at(pf, i)->password;
		if (pw != NULL && password_is_plaintext(pw))
			return true;
	}
	return false;
}

int userdb_load(const char *path, char **error_r)
{
	const char *error = NULL;
	struct passwd_file *pf = passwd_file_load(path, &error);
	if (pf == NULL) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", path,
		         error != NULL ? error : "cannot load");
		*error_r = xstrdup(msg);
		return -1;
	}
	bool plaintext = any_plaintext(pf);
	pthread_rwlock_wrlock(&userdb_lock);
	struct passwd_file *old = current;
	current = pf;
	current_has_plaintext = plaintext;
	pthread_rwlock_unlock(&userdb_lock);
	passwd_file_free(&old);
	return 0;
}

char *userdb_password(const char *user)
{
	char *password = NULL;
	pthread_rwlock_rdlock(&userdb_lock);
	const struct passwd_entry *e =
	        current != NULL ? passwd_file_lookup(current, user) : NULL;
	if (e != NULL && e->password != NULL && e->password[0] != '\0')
		password = xstrdup(e->password);
	pthread_rwlock_unlock(&userdb_lock);
	return password;
}

bool userdb_exists(const char *user)
{
	pthread_rwlock_rdlock(&userdb_lock);
	bool found =
	        current != NULL && passwd_file_lookup(current, user) != NULL;
	pthread_rwlock_unlock(&userdb_lock);
	return found;
}

char *userdb_extra(const char *user, const char *key)
{
	char *value = NULL;
	pthread_rwlock_rdlock(&userdb_lock);
	const struct passwd_entry *e =
	        current != NULL ? passwd_file_lookup(current, user) : NULL;
	if (e != NULL)
		value = passwd_entry_extra(e, key);
	pthread_rwlock_unlock(&userdb_lock);
	return value;
}

bool userdb_has_plaintext(void)
{
	pthread_rwlock_rdlock(&userdb_lock);
	bool ret = current_has_plaintext;
	pthread_rwlock_unlock(&userdb_lock);
	return ret;
}

void userdb_unload(void)
{
	pthread_rwlock_wrlock(&userdb_lock);
	struct passwd_file *old = current;
	current = NULL;
	current_has_plaintext = false;
	pthread_rwlock_unlock(&userdb_lock);
	passwd_file_free(&old);
}
