/* LMTP command lines (RFC 2033, which takes SMTP's command syntax from
 * RFC 5321 4.1): the verb, and for MAIL and RCPT the path and the
 * parameters of the extensions roost offers (SIZE, RFC 1870; BODY,
 * RFC 6152). Pure functions over one line without its CRLF; which
 * command is allowed when is the session's business. */
#ifndef ROOST_LMTP_LMTP_PARSER_H
#define ROOST_LMTP_LMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets;
 * 4.5.3.1.2: a domain at most 255. */
#define LMTP_PATH_MAX_BYTES 256
#define LMTP_DOMAIN_MAX_BYTES 255

enum lmtp_verb {
	LMTP_VERB_UNKNOWN,
	LMTP_VERB_LHLO,
	LMTP_VERB_HELO, /* SMTP's, refused in LMTP (RFC 2033 4.1) */
	LMTP_VERB_EHLO,
	LMTP_VERB_MAIL,
	LMTP_VERB_RCPT,
	LMTP_VERB_DATA,
	LMTP_VERB_RSET,
	LMTP_VERB_NOOP,
	LMTP_VERB_QUIT,
	LMTP_VERB_VRFY,
	LMTP_VERB_HELP,
};

enum lmtp_body {
	LMTP_BODY_UNSPECIFIED,
	LMTP_BODY_7BIT,
	LMTP_BODY_8BITMIME,
};

/* A reverse-path or forward-path. Fixed buffers: the length is checked
 * before anything is copied. */
struct lmtp_path {
	bool null; /* "<>", the null reverse-path */
	/* the mailbox as sent, a quoted local part kept quoted ("" for
	 * <>); the source route of an old-style path is dropped */
	char addr[LMTP_PATH_MAX_BYTES + 1];
	/* the local part with quoting removed, and the domain ("" when the
	 * path has none, as "<Postmaster>" may) */
	char local[LMTP_PATH_MAX_BYTES + 1];
	char domain[LMTP_PATH_MAX_BYTES + 1];
};

struct lmtp_mail_params {
	bool has_size;
	uint64_t size; /* SIZE=, the client's estimate */
	enum lmtp_body body;
};

enum lmtp_parse_result {
	LMTP_PARSE_OK = 0,
	LMTP_PARSE_SYNTAX,        /* not "FROM:<path>" / "TO:<path>" */
	LMTP_PARSE_BAD_PATH,      /* the path's syntax is wrong */
	LMTP_PARSE_PATH_TOO_LONG, /* over LMTP_PATH_MAX_BYTES */
	LMTP_PARSE_UNKNOWN_PARAM, /* a parameter roost does not offer */
	LMTP_PARSE_BAD_PARAM,     /* a known parameter with a bad value */
};

/* The verb of line (NUL-terminated, no CRLF; case-insensitive) and, in
 * *args_r, where its arguments start (spaces skipped; "" for none). */
enum lmtp_verb lmtp_parse_verb(const char *line, const char **args_r);

/* "FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME]" (spaces after the colon
 * are tolerated). */
enum lmtp_parse_result lmtp_parse_mail(const char *args, struct lmtp_path *path,
                                       struct lmtp_mail_params *params);
/* "TO:<path>"; no parameters are offered. A path without a domain is
 * accepted only for Postmaster (RFC 5321 4.1.1.3). */
enum lmtp_parse_result lmtp_parse_rcpt(const char *args,
                                       struct lmtp_path *path);

/* Is s a domain or an address literal, as LHLO's argument must be
 * (RFC 5321 4.1.1.1)? */
bool lmtp_domain_valid(const char *s);

#endif
