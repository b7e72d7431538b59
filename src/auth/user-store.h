/* The store settings of one user: the configured ones, with the user's
 * own quota from the passwd-file where it has one. */
#ifndef ROOST_AUTH_USER_STORE_H
#define ROOST_AUTH_USER_STORE_H

struct store_settings;

/* Copy defaults into *set_r, then apply user's Dovecot quota rules (the
 * extra fields quota_rule and quota_rule2: "*:storage=10M",
 * "*:messages=1000"); a rule that does not parse is ignored. set_r's
 * data_dir points to defaults'. */
void user_store_settings(const struct store_settings *defaults,
                         const char *user, struct store_settings *set_r);

#endif
