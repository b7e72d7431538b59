/* POP3 wire code independent of the server: splitting the input into
 * command lines, parsing a command line into its keyword and arguments
 * (RFC 1939 3, RFC 2449 3-4), message-number arguments, and the
 * byte-stuffing of multi-line responses (RFC 1939 3). */
#ifndef ROOST_POP3_POP3_PARSER_H
#define ROOST_POP3_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* RFC 2449 4: a command line is at most 255 octets with its CRLF. */
#define POP3_MAX_COMMAND_BYTES 255
/* AUTH and the SASL responses that follow carry base64 that may be
 * longer (RFC 5034 4); the line reader's own cap. */
#define POP3_MAX_SASL_LINE_BYTES 8192
#define POP3_MAX_ARGS 3

/* ---- lines ---- */

struct pop3_line_reader {
	size_t max_bytes; /* a line with its line end */
	bool skipping;    /* inside a line already found too long */
};

enum pop3_line_result {
	POP3_LINE_MORE,     /* no complete line yet: read more */
	POP3_LINE_DONE,     /* a line: *line_len_r bytes, without CR LF */
	POP3_LINE_TOO_LONG, /* a line over max_bytes ended and was dropped */
};

/* Look for the next line in data. *consumed_r bytes of data are used up
 * (drop them), also on POP3_LINE_MORE when an over-long line is being
 * skipped; a line's bytes start at data and stay valid until dropped. A
 * line ends with LF, a CR before it is not part of the line. An
 * over-long line is reported once, when its end arrives, so the error is
 * answered in order. */
enum pop3_line_result pop3_line_read(struct pop3_line_reader *r,
                                     const unsigned char *data, size_t len,
                                     size_t *consumed_r, size_t *line_len_r);

/* ---- commands ---- */

struct pop3_command {
	char name[8]; /* the keyword in upper case */
	/* everything after the keyword and one space: PASS takes it whole
	 * (RFC 1939 7: a password may hold spaces) */
	const char *rest;
	const char *args[POP3_MAX_ARGS];
	size_t arg_count;
	bool too_many_args;
	/* the line, then a copy of rest split into args */
	char line[2 * (POP3_MAX_SASL_LINE_BYTES + 1)];
};

/* Parse a command line (without its line end). 0, or -1 with *error_r a
 * client-facing text: an empty line, a keyword that is not 3 or 4
 * letters, a NUL or control byte. Arguments are separated by spaces;
 * more than POP3_MAX_ARGS set too_many_args. */
int pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
                       const char **error_r);

/* A decimal number argument without sign or leading garbage, at most
 * max; 0, or -1 if it is not one. */
int pop3_parse_number(const char *arg, uint64_t max, uint64_t *value_r);

/* ---- byte-stuffing ---- */

/* Multi-line responses: a line starting with "." gets another "."
 * (RFC 1939 3). For TOP (RFC 1939 7), the header, the empty line after
 * it and then body_lines lines of the body are sent. */
struct pop3_stuffer {
	uint64_t body_lines; /* UINT64_MAX: the whole message */
	uint64_t line_bytes; /* bytes of the current line so far */
	bool first_cr;       /* the current line began with CR */
	bool in_body;
	bool done; /* TOP has sent all it should */
};

void pop3_stuffer_init(struct pop3_stuffer *st, uint64_t body_lines);
/* Append len bytes of the message, stuffed, to out (which must have room
 * for 2 * len bytes). Stops when TOP has sent enough: returns the bytes
 * of data used; st->done is then set. */
size_t pop3_stuff(struct pop3_stuffer *st, const unsigned char *data,
                  size_t len, struct buf *out);
/* End the response: CR LF if the message did not end a line, then
 * ".\r\n". */
void pop3_stuff_finish(const struct pop3_stuffer *st, struct buf *out);

#endif
