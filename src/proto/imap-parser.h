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
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* also \Seen, 1:*, INBOX.%, and FETCH atoms: a
	                     '[' runs through the next ']' including
	                     spaces and parentheses, so
	                     BODY.PEEK[HEADER.FIELDS (TO)]<0.5> is one */
	IMAP_ARG_QUOTED,  /* "..." with \" and \\ unescaped; 8-bit only as
	                     valid UTF-8 (RFC 9051) */
	IMAP_ARG_LITERAL, /* {n} / {n+} / ~{n} / ~{n+} (literal8 sets
	                     is_literal8); held whole in memory */
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
	/* LITERAL spilled to a file (see imap_parser_set_spill): str is ""
	 * and len the literal's size; fd holds the bytes (the parser closes
	 * it at the next command: dup() it to keep it), or is -1 with
	 * spill_failed set if writing the file failed. Otherwise fd is -1. */
	int fd;
	bool spill_failed;
	/* LIST: the elements */
	const struct imap_arg *list;
	size_t list_count;
};

/* Every limit, when passed, makes imap_parser_feed() return
 * IMAP_PARSE_ERROR with a reason ("Line too long", "Literal too large",
 * "Command too long", "Too many arguments", "Nesting too deep"). */
struct imap_parser_limits {
	size_t max_line_bytes;    /* bytes outside literal data, per command,
	                             including each CRLF and "{n}" */
	size_t max_literal_bytes; /* one literal's data */
	size_t max_command_bytes; /* whole command including literal data */
	unsigned int max_depth;   /* list nesting; 0 refuses any list */
	unsigned int max_args;    /* arguments counted at every depth; a
	                             list counts as one besides its elements */
};

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,   /* see imap_parser_error() */
	IMAP_PARSE_MORE = 0,     /* all input consumed, command incomplete */
	IMAP_PARSE_DONE = 1,     /* a command is ready: imap_parser_command() */
	IMAP_PARSE_CONTINUE = 2, /* a synchronising literal {n} or ~{n} was
	                            announced and is within limits: send
	                            "+ ..." to the client, then keep feeding
	                            (returned once per literal, consumed up
	                            to its CRLF) */
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
 * than MORE (MORE always consumes everything). The parser keeps partial
 * tokens internally, so bytes once consumed are never needed again.
 * Lines may end in CRLF or a bare LF. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
                                        const unsigned char *data, size_t len,
                                        size_t *consumed_r);

/* After DONE: the parsed command, valid until the next feed or reset
 * (NULL if no command is ready). Strings and the args tree live in the
 * parser's arena. */
const struct imap_command_line *
imap_parser_command(const struct imap_parser *p);

/* After ERROR: a human-readable reason (for "BAD <reason>"), and whether
 * the stream can still be trusted. Valid until the next feed or reset.
 *
 * An error is reported as soon as it is detected, on the byte that shows
 * it (that byte is consumed). If fatal is false, the next feeds silently
 * discard the rest of the bad line through its LF (however long, without
 * buffering it) and then parse a new command; if the error was detected
 * at the line's LF, nothing more is discarded. A bad line that ends in a
 * non-synchronising literal "{n+}" CRLF continues past it, so its n bytes
 * are discarded with it; when n is over max_literal_bytes, that discard
 * ends in a fatal "Literal too large" error instead. A synchronising
 * literal is never waited for after an error: the client gets no "+" and
 * the next line is a new command.
 *
 * Fatal errors: a non-synchronising {n+} or ~{n+} over max_literal_bytes
 * (its bytes follow at once and cannot be told apart from commands). The
 * caller then says BYE and closes; every further feed returns ERROR and
 * consumes nothing until imap_parser_reset(). */
const char *imap_parser_error(const struct imap_parser *p, bool *fatal_r);
/* After ERROR: the tag, if one had been read whole (ended by SP or the
 * line end) and was valid; NULL otherwise (answer with "*"). */
const char *imap_parser_error_tag(const struct imap_parser *p);

/* After CONTINUE: the command being read (its tag and name; the
 * arguments are incomplete) and the size of the literal that waits for
 * "+". A caller may refuse the literal instead (RFC 7889: APPEND over
 * APPENDLIMIT gets NO [TOOBIG] at once) by answering the tag and calling
 * imap_parser_reset(): the client sends no literal data then. */
const char *imap_parser_pending_tag(const struct imap_parser *p);
const char *imap_parser_pending_name(const struct imap_parser *p);
uint64_t imap_parser_pending_literal(const struct imap_parser *p);
/* Large literals may go to a file instead of memory (APPEND's
 * message): before reading a literal of size bytes, the parser calls
 * fn(ctx, command name, size); a descriptor >= 0 that it returns gets
 * the bytes and is closed by the parser at the next command; -1 keeps
 * the literal in memory. A spilled literal does not count towards
 * max_command_bytes (max_literal_bytes still applies). */
typedef int imap_spill_fn(void *ctx, const char *command, uint64_t size);
void imap_parser_set_spill(struct imap_parser *p, imap_spill_fn *fn, void *ctx);
/* Is the parser between commands: nothing of a next command read, no
 * bad line being skipped? (Then the caller may destroy it and create a
 * new one later without changing what is parsed.) */
bool imap_parser_is_idle(const struct imap_parser *p);

/* Forget any partial command, skipping state or fatal error; the next
 * feed starts a new command (e.g. after STARTTLS). */
void imap_parser_reset(struct imap_parser *p);

/* Helpers for command handlers. */
/* ATOM, QUOTED or LITERAL (an astring; not a literal8); NIL counts as
 * the atom "NIL". */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
                          size_t *len_r);
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name);

#endif
