/* The store settings of one user (see user-store.h): the quota of the
 * configuration, overridden per user by Dovecot's userdb_quota_rule
 * extra fields in the passwd-file. */
#include "auth/user-store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/userdb.h"
#include "core/util.h"
#include "store/store.h"

/* A Dovecot quota rule, "*:storage=10M" or "*:messages=1000". */
static void apply_quota_rule(struct store_settings *set, const char *rule)
{
	uint64_t v;
	if (rule == NULL || strncmp(rule, "*:", 2) != 0)
		return;
	rule += 2;
	if (strncasecmp(rule, "storage=", 8) == 0 &&
	    parse_size(rule + 8, 0, UINT64_MAX, &v) == 0)
		set->quota_bytes = v;
	else if (strncasecmp(rule, "messages=", 9) == 0 &&
	         parse_uint(rule + 9, 0, UINT32_MAX, &v) == 0)
		set->quota_messages = v;
}

void user_store_settings(const struct store_settings *defaults,
                         const char *user, struct store_settings *set_r)
{
	*set_r = *defaults;
	static const char *const keys[] = {"quota_rule", "quota_rule2"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *rule = userdb_extra(user, keys[i]);
		apply_quota_rule(set_r, rule);
		free(rule);
	}
}
