/* Configuration: a table of keys with types and defaults, applied with
 * libinih. See config.h. */
#include "core/config.h"

#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

enum key_type { KEY_STR, KEY_UINT, KEY_BOOL, KEY_ADDRS, KEY_SIZE };

struct config_key {
	const char *section, *name;
	enum key_type type;
	size_t offset;
	const char *def;
	uint64_t min, max; /* KEY_UINT */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
static const struct config_key keys[] = {
        {"server", "data", KEY_STR, OFF(data_dir), "./roost-data", 0, 0,
         "where users' mail, the passwd-file and TLS files live"},
        {"server", "workers", KEY_UINT, OFF(workers), "0", 0, 256,
         "event-loop threads; 0 = one per core"},
        {"server", "io_threads", KEY_UINT, OFF(io_threads), "0", 0, 1024,
         "threads for mail-store work; 0 = 4 per worker (8 to 64)"},
        {"server", "log_level", KEY_STR, OFF(log_level), "info", 0, 0,
         "debug, info, warn or error"},
        {"server", "user", KEY_STR, OFF(run_user), "", 0, 0,
         "when started as root, drop privileges to this user"},
        {"imap", "listen", KEY_ADDRS, OFF(imap_listen), "127.0.0.1:1143", 0, 0,
         "plaintext/STARTTLS listeners, comma-separated host:port"},
        {"imap", "tls_listen", KEY_ADDRS, OFF(imap_tls_listen),
         "127.0.0.1:1993", 0, 0, "implicit TLS listeners"},
        {"imap", "prelogin_timeout_s", KEY_UINT, OFF(prelogin_timeout_s), "60",
         1, 3600, "idle time allowed before login"},
        {"imap", "autologout_s", KEY_UINT, OFF(autologout_s), "1800", 1, 86400,
         "idle time allowed after login (RFC 3501: >= 30 min)"},
        {"imap", "max_connections_per_ip", KEY_UINT,
         OFF(max_connections_per_ip), "100", 1, 1000000, ""},
        {"imap", "max_connections", KEY_UINT, OFF(max_connections), "100000", 1,
         10000000, "all connections of all protocols"},
        {"imap", "max_line_bytes", KEY_UINT, OFF(max_line_bytes), "65536", 1024,
         16777216, "command line length outside literals"},
        {"imap", "max_literal_bytes", KEY_UINT, OFF(max_literal_bytes), "65536",
         1024, 1073741824,
         "one literal; after login at least [store] max_message_size"},
        {"imap", "max_output_bytes", KEY_UINT, OFF(max_output_bytes), "1048576",
         65536, 1073741824, "output queued for a slow reader"},
        {"imap", "max_bad_commands", KEY_UINT, OFF(max_bad_commands), "20", 1,
         1000, "consecutive bad commands before BYE"},
        {"pop3", "listen", KEY_ADDRS, OFF(pop3_listen), "127.0.0.1:1110", 0, 0,
         "POP3 plaintext/STLS listeners, comma-separated host:port"},
        {"pop3", "tls_listen", KEY_ADDRS, OFF(pop3_tls_listen),
         "127.0.0.1:1995", 0, 0, "POP3 implicit TLS listeners"},
        {"pop3", "prelogin_timeout_s", KEY_UINT, OFF(pop3_prelogin_timeout_s),
         "60", 1, 3600, "idle time allowed before login"},
        {"pop3", "autologout_s", KEY_UINT, OFF(pop3_autologout_s), "600", 1,
         86400, "idle time allowed after login (RFC 1939: >= 10 min)"},
        {"pop3", "max_connections_per_ip", KEY_UINT,
         OFF(pop3_max_connections_per_ip), "100", 1, 1000000,
         "connections of all protocols from one address"},
        {"pop3", "max_bad_commands", KEY_UINT, OFF(pop3_max_bad_commands), "20",
         1, 1000, "consecutive bad commands before closing"},
        {"pop3", "login_delay_s", KEY_UINT, OFF(pop3_login_delay_s), "0", 0,
         86400,
         "least time between two logins of a user (LOGIN-DELAY); 0 = none"},
        {"lmtp", "listen", KEY_ADDRS, OFF(lmtp_listen), "127.0.0.1:1024", 0, 0,
         "LMTP listeners (RFC 2033), comma-separated host:port"},
        {"lmtp", "socket", KEY_STR, OFF(lmtp_socket), "", 0, 0,
         "LMTP Unix-domain socket path (mode 0666); empty = none"},
        {"lmtp", "quota_full_tempfail", KEY_BOOL, OFF(lmtp_quota_full_tempfail),
         "no", 0, 0,
         "over quota: 452 4.2.2 (retry later), not 552 5.2.2 (bounce)"},
        {"lmtp", "detail_mailbox", KEY_BOOL, OFF(lmtp_detail_mailbox), "yes", 0,
         0, "user+detail delivers into mailbox detail when it exists"},
        {"lmtp", "recipient_delimiter", KEY_STR, OFF(lmtp_recipient_delimiter),
         "+", 0, 0, "characters that start an address's detail; empty = none"},
        {"store", "quota_storage", KEY_SIZE, OFF(quota_storage), "0", 0,
         UINT64_C(1) << 50,
         "per-user storage quota (bytes, or with K/M/G/T); 0 = none"},
        {"store", "quota_messages", KEY_UINT, OFF(quota_messages), "0", 0,
         4000000000u, "per-user message count quota; 0 = none"},
        {"store", "max_message_size", KEY_SIZE, OFF(max_message_size), "50M",
         1024, UINT64_C(1) << 30, "largest message APPEND accepts"},
        {"tls", "cert", KEY_STR, OFF(tls_cert), "", 0, 0,
         "PEM certificate chain; default DATA/tls/cert.pem"},
        {"tls", "key", KEY_STR, OFF(tls_key), "", 0, 0,
         "PEM private key; default DATA/tls/key.pem"},
        {"auth", "passwd_file", KEY_STR, OFF(passwd_file), "", 0, 0,
         "Dovecot-format passwd-file; default DATA/passwd"},
        {"auth", "allow_plaintext", KEY_BOOL, OFF(allow_plaintext), "no", 0, 0,
         "allow passwords on unencrypted non-loopback connections"},
        {"auth", "plaintext_loopback", KEY_BOOL, OFF(plaintext_loopback), "yes",
         0, 0, "treat loopback connections as secure"},
        {"auth", "failure_delay_base_ms", KEY_UINT, OFF(failure_delay_base_ms),
         "1000", 0, 60000, "first failed-login delay, doubling per failure"},
        {"auth", "failure_delay_max_ms", KEY_UINT, OFF(failure_delay_max_ms),
         "15000", 0, 600000, "largest failed-login delay"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* One "host:port" or "[v6]:port"; host may be "*" or empty (any). */
static bool addr_valid(const char *a, size_t len)
{
	const char *colon;
	if (len > 0 && a[0] == '[') {
		const char *end = memchr(a, ']', len);
		if (end == NULL || end + 1 >= a + len || end[1] != ':')
			return false;
		colon = end + 1;
	} else {
		colon = NULL;
		for (const char *p = a; p < a + len; p++) {
			if (*p == ':')
				colon = p;
		}
		if (colon == NULL)
			return false;
	}
	size_t port_len = (size_t)(a + len - colon - 1);
	char port[8];
	uint64_t v;
	if (port_len == 0 || port_len >= sizeof(port))
		return false;
	memcpy(port, colon + 1, port_len);
	port[port_len] = '\0';
	return parse_uint(port, 0, 65535, &v) == 0;
}

/* A comma-separated list of addresses; empty disables the listener. */
static bool addr_list_valid(const char *list)
{
	const char *p = list;
	while (*p != '\0') {
		size_t n = strcspn(p, ", \t");
		if (n > 0 && !addr_valid(p, n))
			return false;
		p += n;
		p += strspn(p, ", \t");
	}
	return true;
}

static void print_size(FILE *out, const char *name, uint64_t v)
{
	static const char suffixes[] = "KMGT";
	int i = -1;
	while (v != 0 && i < 3 && (v & 1023) == 0) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		fprintf(out, "%s = %llu\n", name, (unsigned long long)v);
	else
		fprintf(out, "%s = %llu%c\n", name, (unsigned long long)v,
		        suffixes[i]);
}

static int set_key(struct config *cfg, const struct config_key *k,
                   const char *value)
{
	void *field = (char *)cfg + k->offset;
	uint64_t v;
	switch (k->type) {
	case KEY_ADDRS:
		if (!addr_list_valid(value))
			return -1;
		__attribute__((fallthrough));
	case KEY_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case KEY_UINT:
		if (parse_uint(value, k->min, k->max, &v) < 0)
			return -1;
		*(unsigned int *)field = (unsigned int)v;
		return 0;
	case KEY_BOOL:
		return parse_bool(value, (bool *)field);
	case KEY_SIZE:
		if (parse_size(value, k->min, k->max, &v) < 0)
			return -1;
		*(uint64_t *)field = v;
		return 0;
	}
	return -1;
}

struct config *config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	for (size_t i = 0; i < N_KEYS; i++) {
		int ret = set_key(cfg, &keys[i], keys[i].def);
		(void)ret;
	}
	return cfg;
}

struct apply_ctx {
	struct config *cfg;
	char error[256];
};

static int config_ini_handler(void *user, const char *section, const char *name,
                              const char *value)
{
	struct apply_ctx *ctx = user;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		if (set_key(ctx->cfg, &keys[i], value) == 0)
			return 1;
		snprintf(ctx->error, sizeof(ctx->error),
		         "invalid value for [%s] %s", section, name);
		return 0;
	}
	snprintf(ctx->error, sizeof(ctx->error), "unknown key [%s] %s", section,
	         name);
	return 0;
}

static char *format_error(const char *where, int line, const char *reason)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s:%d: %s", where, line,
	         reason[0] != '\0' ? reason : "syntax error");
	return xstrdup(msg);
}

int config_apply_string(struct config *cfg, const char *text, char **error_r)
{
	struct apply_ctx ctx = {.cfg = cfg};
	int line = ini_parse_string(text, config_ini_handler, &ctx);
	if (line != 0) {
		*error_r = format_error("config", line, ctx.error);
		return -1;
	}
	return 0;
}

static void derive_path(char **field, const char *data, const char *rel)
{
	if (**field != '\0')
		return;
	size_t n = strlen(data) + strlen(rel) + 2;
	free(*field);
	*field = xmalloc(n);
	snprintf(*field, n, "%s/%s", data, rel);
}

void config_finish(struct config *cfg)
{
	derive_path(&cfg->tls_cert, cfg->data_dir, "tls/cert.pem");
	derive_path(&cfg->tls_key, cfg->data_dir, "tls/key.pem");
	derive_path(&cfg->passwd_file, cfg->data_dir, "passwd");
}

struct config *config_load(const char *path, const char *data_dir,
                           char **error_r)
{
	struct config *cfg = config_defaults();
	if (path != NULL) {
		struct apply_ctx ctx = {.cfg = cfg};
		int line = ini_parse(path, config_ini_handler, &ctx);
		if (line != 0) {
			*error_r =
			        line < 0 ? format_error(path, 0,
			                                "cannot read file")
			                 : format_error(path, line, ctx.error);
			config_free(&cfg);
			return NULL;
		}
	}
	if (data_dir != NULL) {
		free(cfg->data_dir);
		cfg->data_dir = xstrdup(data_dir);
	}
	if (log_level_parse(cfg->log_level) < 0) {
		*error_r = xstrdup("invalid value for [server] log_level");
		config_free(&cfg);
		return NULL;
	}
	config_finish(cfg);
	return cfg;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].type == KEY_STR || keys[i].type == KEY_ADDRS)
			free(*(char **)(void *)((char *)cfg + keys[i].offset));
	}
	free(cfg);
	*cfgp = NULL;
}

void config_print(const struct config *cfg, FILE *out)
{
	const char *section = "";
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &keys[i];
		const void *field = (const char *)cfg + k->offset;
		if (strcmp(section, k->section) != 0) {
			fprintf(out, "%s[%s]\n", i == 0 ? "" : "\n",
			        k->section);
			section = k->section;
		}
		if (k->help[0] != '\0')
			fprintf(out, "; %s\n", k->help);
		switch (k->type) {
		case KEY_ADDRS:
		case KEY_STR:
			fprintf(out, "%s = %s\n", k->name,
			        *(char *const *)field);
			break;
		case KEY_UINT:
			fprintf(out, "%s = %u\n", k->name,
			        *(const unsigned int *)field);
			break;
		case KEY_BOOL:
			fprintf(out, "%s = %s\n", k->name,
			        *(const bool *)field ? "yes" : "no");
			break;
		case KEY_SIZE:
			print_size(out, k->name, *(const uint64_t *)field);
			break;
		}
	}
}
