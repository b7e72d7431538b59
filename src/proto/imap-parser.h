/* Incremental IMAP command parser (RFC 3501 section 9, RFC 9051 section 9,
 * LITERAL+ RFC 7888, literal8 RFC 3516).
 *
 * The parser consumes whatever bytes are buffered and returns "need more"
 * until a whole command line (tag, command name, arguments, including any
 * literals) has arrived; any byte split of the input parses the same.
 * It never blocks and never allocates beyond its limits. */
#ifndef ROOST_PROTO_IMAP_PARSER_H
#define ROOST_PROTO_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* also NIL-less atoms like \Seen, 1:*, BODY[1]<0.5> */
	IMAP_ARG_QUOTED,  /* "..." with \" and \\ unescaped */
	IMAP_ARG_LITERAL, /* {n} / {n+} / ~{n} (literal8 sets is_literal8) */
	IMAP_ARG_NIL,     /* the atom NIL, any case */
	IMAP_ARG_LIST,    /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, QUOTED, LITERAL: the bytes, NUL-terminated (a literal may
	 * also contain NULs: use len) */
	const char *str;
	size_t len;
	bool is_literal8;
	/* LIST: the elements */
	const struct imap_arg *list;
	size_t list_count;
};

struct imap_parser_limits {
	size_t max_line_bytes;    /* bytes outside literals, per command */
	size_t max_literal_bytes; /* one literal */
	size_t max_command_bytes; /* whole command including literals */
	unsigned int max_depth;   /* list nesting */
	unsigned int max_args;    /* arguments counted at every depth */
};

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,   /* see imap_parser_error() */
	IMAP_PARSE_MORE = 0,     /* all input consumed, command incomplete */
	IMAP_PARSE_DONE = 1,     /* a command is ready: imap_parser_command() */
	IMAP_PARSE_CONTINUE = 2, /* a synchronising literal {n} was announced
				    and is within limits: send "+ ..." to the
				    client, then keep feeding */
};

struct imap_command_line {
	const char *tag;
	const char *name; /* as sent; compare case-insensitively */
	const struct imap_arg *args;
	size_t arg_count;
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim);
void imap_parser_destroy(struct imap_parser **p);
/* Replace the limits (e.g. looser ones after login); takes effect from
 * the next command. */
void imap_parser_set_limits(struct imap_parser *p,
			    const struct imap_parser_limits *lim);

/* Feed len bytes. *consumed_r is set to how many were used; the caller
 * drops those and feeds the rest again after handling a result other
 * than MORE. The parser keeps partial tokens internally, so bytes once
 * consumed are never needed again. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
					const unsigned char *data, size_t len,
					size_t *consumed_r);

/* After DONE: the parsed command, valid until the next feed or reset. */
const struct imap_command_line *imap_parser_command(const struct imap_parser *p);

/* After ERROR: a human-readable reason (for "BAD <reason>"), the tag if
 * one had been read (NULL otherwise, answer with "*"), and whether the
 * stream can still be trusted. If fatal is false, the bad line has been
 * consumed through its LF and the next feed starts a new command. If
 * fatal is true (e.g. an oversized non-synchronising literal whose bytes
 * cannot be skipped safely) the caller says BYE and closes. */
const char *imap_parser_error(const struct imap_parser *p, bool *fatal_r);
const char *imap_parser_error_tag(const struct imap_parser *p);

/* Forget any partial command; the next feed starts a new one. */
void imap_parser_reset(struct imap_parser *p);

/* Helpers for command handlers. */
/* ATOM, QUOTED or LITERAL (an astring); NIL counts as the atom "NIL". */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r);
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name);

#endif
