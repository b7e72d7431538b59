/* POP3 lines, commands and byte-stuffing: see pop3-parser.h. */
#include "pop3/pop3-parser.h"

#include <string.h>

#include "core/buf.h"

enum pop3_line_result pop3_line_read(struct pop3_line_reader *r,
                                     const unsigned char *data, size_t len,
                                     size_t *consumed_r, size_t *line_len_r)
{
	const unsigned char *lf = memchr(data, '\n', len);
	*consumed_r = 0;
	*line_len_r = 0;
	if (lf == NULL) {
		/* a line that cannot fit is dropped as it arrives, so the
		 * input buffer never fills with it */
		if (r->skipping || len >= r->max_bytes) {
			r->skipping = true;
			*consumed_r = len;
		}
		return POP3_LINE_MORE;
	}
	size_t line_len = (size_t)(lf - data);
	*consumed_r = line_len + 1;
	if (r->skipping || line_len + 1 > r->max_bytes) {
		r->skipping = false;
		return POP3_LINE_TOO_LONG;
	}
	if (line_len > 0 && data[line_len - 1] == '\r')
		line_len--;
	*line_len_r = line_len;
	return POP3_LINE_DONE;
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The keyword: letters up to the first space (RFC 1939 3: three or four
 * characters; longer ones are unknown commands, not syntax errors). */
static int parse_keyword(struct pop3_command *cmd, char **p_r,
                         const char **error_r)
{
	char *p = cmd->line;
	size_t n = 0;
	while (*p != '\0' && *p != ' ') {
		if (!is_letter(*p) || n + 1 >= sizeof(cmd->name)) {
			*error_r = "Unknown command";
			return -1;
		}
		cmd->name[n++] = (char)(*p >= 'a' ? *p - 32 : *p);
		p++;
	}
	cmd->name[n] = '\0';
	if (n == 0) {
		*error_r = "Empty command";
		return -1;
	}
	*p_r = p;
	return 0;
}

int pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
                       const char **error_r)
{
	cmd->name[0] = '\0';
	cmd->rest = "";
	cmd->arg_count = 0;
	cmd->too_many_args = false;
	if (len > POP3_MAX_SASL_LINE_BYTES) {
		*error_r = "Command line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in command";
		return -1;
	}
	memcpy(cmd->line, line, len);
	cmd->line[len] = '\0';
	char *p;
	if (parse_keyword(cmd, &p, error_r) < 0)
		return -1;
	if (*p == '\0')
		return 0;
	p++;
	cmd->rest = p;
	/* the arguments: a copy of rest split at spaces */
	size_t rest_len = strlen(p);
	char *q = p + rest_len + 1; /* line[] has room for it */
	memcpy(q, p, rest_len + 1);
	for (char *tok = strtok_r(q, " ", &p); tok != NULL;
	     tok = strtok_r(NULL, " ", &p)) {
		if (cmd->arg_count == POP3_MAX_ARGS) {
			cmd->too_many_args = true;
			break;
		}
		cmd->args[cmd->arg_count++] = tok;
	}
	return 0;
}

int pop3_parse_number(const char *arg, uint64_t max, uint64_t *value_r)
{
	uint64_t v = 0;
	if (*arg == '\0')
		return -1;
	for (const char *p = arg; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned int d = (unsigned int)(*p - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*value_r = v;
	return 0;
}

void pop3_stuffer_init(struct pop3_stuffer *st, uint64_t body_lines)
{
	memset(st, 0, sizeof(*st));
	st->body_lines = body_lines;
}

/* At the end of a line: the empty line ends the header; in the body
 * (TOP) count the lines still to send. */
static void line_ended(struct pop3_stuffer *st)
{
	bool empty =
	        st->line_bytes == 0 || (st->line_bytes == 1 && st->first_cr);
	if (!st->in_body) {
		if (empty) {
			st->in_body = true;
			if (st->body_lines == 0)
				st->done = true;
		}
	} else if (st->body_lines != UINT64_MAX && --st->body_lines == 0) {
		st->done = true;
	}
	st->line_bytes = 0;
	st->first_cr = false;
}

size_t pop3_stuff(struct pop3_stuffer *st, const unsigned char *data,
                  size_t len, struct buf *out)
{
	unsigned char *w = buf_reserve(out, 2 * len);
	if (w == NULL || st->done)
		return 0;
	unsigned char *start = w;
	size_t i = 0;
	while (i < len && !st->done) {
		unsigned char c = data[i++];
		if (st->line_bytes == 0) {
			if (c == '.')
				*w++ = '.';
			st->first_cr = c == '\r';
		}
		*w++ = c;
		if (c == '\n')
			line_ended(st);
		else
			st->line_bytes++;
	}
	buf_commit(out, (size_t)(w - start));
	return i;
}

void pop3_stuff_finish(const struct pop3_stuffer *st, struct buf *out)
{
	if (st->line_bytes > 0)
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
}
