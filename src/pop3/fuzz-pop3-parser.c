/* libFuzzer target for the POP3 wire code (pop3-parser.h).
 *
 * Input layout: byte 0 picks the size of the pieces the rest is fed in,
 * byte 1 a line limit. The rest is read as client input: every line the
 * reader returns must fit the limit and hold no LF, and parsing it must
 * give an upper-case keyword and arguments without spaces. Then the rest
 * is byte-stuffed as a message (RETR) in the same pieces: unstuffing the
 * answer must give the message back exactly, and TOP's answer must be a
 * prefix of RETR's ending in the terminator. */
#include <string.h>

#include "core/buf.h"
#include "core/fuzz.h"
#include "pop3/pop3-parser.h"

static void check_command(const unsigned char *line, size_t len)
{
	struct pop3_command cmd;
	const char *error;
	if (pop3_command_parse((const char *)line, len, &cmd, &error) < 0) {
		CHECK(error != NULL && error[0] != '\0');
		return;
	}
	CHECK(cmd.name[0] != '\0' && strlen(cmd.name) < sizeof(cmd.name));
	for (const char *p = cmd.name; *p != '\0'; p++)
		CHECK(*p >= 'A' && *p <= 'Z');
	CHECK(cmd.arg_count <= POP3_MAX_ARGS);
	for (size_t i = 0; i < cmd.arg_count; i++)
		CHECK(cmd.args[i][0] != '\0' &&
		      strchr(cmd.args[i], ' ') == NULL);
	CHECK(strlen(cmd.rest) <= len);
}

static void check_lines(const unsigned char *data, size_t size, size_t step,
                        size_t max_bytes)
{
	struct pop3_line_reader r = {.max_bytes = max_bytes};
	struct buf in;
	buf_init(&in, size + 1);
	size_t fed = 0;
	for (;;) {
		size_t n = size - fed < step ? size - fed : step;
		buf_append(&in, data + fed, n);
		fed += n;
		size_t consumed, len;
		enum pop3_line_result res =
		        pop3_line_read(&r, in.data, in.len, &consumed, &len);
		CHECK(consumed <= in.len);
		if (res == POP3_LINE_DONE) {
			CHECK(len + 1 <= max_bytes && len < consumed);
			CHECK(memchr(in.data, '\n', len) == NULL);
			check_command(in.data, len);
		}
		buf_consume(&in, consumed);
		if (res == POP3_LINE_MORE && fed == size)
			break;
	}
	buf_free(&in);
}

/* Undo the stuffing of a whole answer; it must end in ".\r\n". */
static void unstuff(const struct buf *out, struct buf *msg)
{
	CHECK(out->len >= 3 &&
	      memcmp(out->data + out->len - 3, ".\r\n", 3) == 0);
	size_t end = out->len - 3;
	bool bol = true;
	for (size_t i = 0; i < end; i++) {
		unsigned char c = out->data[i];
		if (bol && c == '.') {
			CHECK(i + 1 < end && out->data[i + 1] == '.');
			i++;
		}
		buf_append_byte(msg, c);
		bol = c == '\n';
	}
	CHECK(bol);
}

static void stuff_all(const unsigned char *data, size_t size, size_t step,
                      uint64_t lines, struct buf *out)
{
	struct pop3_stuffer st;
	pop3_stuffer_init(&st, lines);
	for (size_t off = 0; off < size && !st.done; off += step) {
		size_t n = size - off < step ? size - off : step;
		size_t used = pop3_stuff(&st, data + off, n, out);
		CHECK(used == n || st.done);
	}
	pop3_stuff_finish(&st, out);
}

static void check_stuffing(const unsigned char *data, size_t size, size_t step,
                           uint64_t lines)
{
	struct buf out, msg, top;
	buf_init(&out, 2 * size + 8);
	buf_init(&msg, 2 * size + 8);
	buf_init(&top, 2 * size + 8);
	stuff_all(data, size, step, UINT64_MAX, &out);
	unstuff(&out, &msg);
	/* the message back, with a line end added if it had none */
	CHECK(msg.len >= size &&
	      (size == 0 || memcmp(msg.data, data, size) == 0));
	CHECK(msg.len - size <= 2);
	stuff_all(data, size, step, lines, &top);
	CHECK(top.len <= out.len);
	CHECK(memcmp(top.data + top.len - 3, ".\r\n", 3) == 0);
	buf_free(&out);
	buf_free(&msg);
	buf_free(&top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1;
	size_t max_bytes = (size_t)data[1] % 128 + 3;
	check_lines(data + 2, size - 2, step, max_bytes);
	check_lines(data + 2, size - 2, step, POP3_MAX_SASL_LINE_BYTES);
	check_stuffing(data + 2, size - 2, step, data[1] % 8);
	return 0;
}
