/* libFuzzer target for threading (thread.h): Message-ID, In-Reply-To
 * and References values are untrusted header text.
 *
 * The input is messages, one per line; a line's fields are separated by
 * tabs: Message-ID, In-Reply-To, References, base subject, and a date
 * byte. Both algorithms must name every message exactly once, in
 * balanced parentheses, and every thread-list must be well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "core/xalloc.h"
#include "mail/thread.h"

#define MAX_MSGS 256

/* The next tab-separated field of *line (modified in place), or "". */
static char *next_field(char **line)
{
	char *f = *line, *tab;
	if (f == NULL)
		return "";
	tab = strchr(f, '\t');
	if (tab != NULL)
		*tab = '\0';
	*line = tab != NULL ? tab + 1 : NULL;
	return f;
}

static size_t parse(char *text, struct thread_msg *msgs)
{
	size_t n = 0;
	for (char *line = text; line != NULL && n < MAX_MSGS; n++) {
		char *nl = strchr(line, '\n'), *rest = line;
		if (nl != NULL)
			*nl = '\0';
		msgs[n] = (struct thread_msg){.number = (uint32_t)n + 1};
		msgs[n].message_id = next_field(&rest);
		msgs[n].in_reply_to = next_field(&rest);
		msgs[n].references = next_field(&rest);
		msgs[n].subject = next_field(&rest);
		msgs[n].reply = msgs[n].subject[0] == 'R';
		msgs[n].date = (unsigned char)next_field(&rest)[0] % 8;
		line = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

/* Balanced, "()" never empty, and each of 1..n once. */
static void check_answer(const char *s, size_t n)
{
	unsigned char *seen = xcalloc(n + 1, 1);
	long depth = 0;
	for (const char *p = s; *p != '\0';) {
		if (*p == '(' || *p == ')') {
			depth += *p == '(' ? 1 : -1;
			CHECK(depth >= 0 && !(p[0] == '(' && p[1] == ')'));
			CHECK(depth > 0 || *p == ')' || p == s || p[-1] == ')');
			p++;
		} else if (*p == ' ') {
			CHECK(p[1] != ' ' && p[1] != ')');
			p++;
		} else {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			CHECK(end > p && v >= 1 && v <= n && !seen[v]);
			seen[v] = 1;
			p = end;
		}
	}
	CHECK(depth == 0);
	for (size_t i = 1; i <= n; i++)
		CHECK(seen[i]);
	free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	struct thread_msg *msgs = xcalloc(MAX_MSGS, sizeof(*msgs));
	struct buf out, id;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t n = parse(text, msgs);
	buf_init(&out, 1 << 24);
	for (int alg = 0; alg < 2; alg++) {
		buf_reset(&out);
		CHECK(thread_write(alg ? THREAD_REFERENCES
		                       : THREAD_ORDEREDSUBJECT,
		                   msgs, n, &out) == 0);
		check_answer(buf_cstr(&out), n);
	}
	buf_init(&id, 64);
	for (const char *p = text; thread_msgid_next(&p, &id);)
		CHECK(id.len > 0 && memchr(id.data, '@', id.len) != NULL &&
		      memchr(id.data, ' ', id.len) == NULL);
	buf_free(&id);
	buf_free(&out);
	free(msgs);
	free(text);
	return 0;
}
