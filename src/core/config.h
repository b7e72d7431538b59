/* Server configuration: an INI file (parsed with libinih) where every key
 * has a default, so no file is needed at all. Unknown sections and keys
 * are errors, so a typo never silently leaves a default in force.
 * `roost config` prints the effective values. */
#ifndef ROOST_CORE_CONFIG_H
#define ROOST_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	/* [server] */
	char *data_dir;
	unsigned int workers;    /* 0: one per core */
	unsigned int io_threads; /* 0: 4 per worker, 8 to 64 */
	char *log_level;
	char *run_user; /* drop privileges to this user when root */
	/* [imap] */
	char *imap_listen; /* comma-separated host:port list */
	char *imap_tls_listen;
	unsigned int prelogin_timeout_s;
	unsigned int autologout_s;
	unsigned int max_connections_per_ip;
	unsigned int max_connections;
	unsigned int max_line_bytes;
	unsigned int max_literal_bytes;
	unsigned int max_output_bytes;
	unsigned int max_bad_commands;
	/* [pop3] */
	char *pop3_listen;
	char *pop3_tls_listen;
	unsigned int pop3_prelogin_timeout_s;
	unsigned int pop3_autologout_s;
	unsigned int pop3_max_connections_per_ip;
	unsigned int pop3_max_bad_commands;
	unsigned int pop3_login_delay_s;
	/* [lmtp] */
	char *lmtp_listen; /* comma-separated host:port list */
	char *lmtp_socket; /* Unix-domain socket path; "" none */
	bool lmtp_quota_full_tempfail;
	bool lmtp_detail_mailbox;
	char *lmtp_recipient_delimiter;
	/* [store] */
	uint64_t quota_storage; /* bytes; 0: unlimited */
	unsigned int quota_messages;
	uint64_t max_message_size; /* APPENDLIMIT */
	/* [tls] */
	char *tls_cert;
	char *tls_key;
	/* [auth] */
	char *passwd_file;
	bool allow_plaintext;
	bool plaintext_loopback;
	unsigned int failure_delay_base_ms;
	unsigned int failure_delay_max_ms;
};

/* Defaults, then the file at path (NULL: none), then data_dir override
 * (NULL: none). Paths left empty are derived from the data dir. Returns
 * NULL with *error_r (malloc'd, "file:line: reason") on errors. */
struct config *config_load(const char *path, const char *data_dir,
                           char **error_r);
/* Apply INI text on top of cfg (for tests and fuzzing). 0 or -1. */
int config_apply_string(struct config *cfg, const char *text, char **error_r);
struct config *config_defaults(void);
/* Fill derived paths (cert, key, passwd) from data_dir when empty. */
void config_finish(struct config *cfg);
void config_free(struct config **cfg);
/* Print every key with its effective value, as a valid config file. */
void config_print(const struct config *cfg, FILE *out);

#endif
