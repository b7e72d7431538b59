/* LIST/LSUB mailbox patterns: see mailbox-match.h.
 *
 * The pattern is run as an automaton over the name: state j means "the
 * first j pattern bytes match what has been read". One flag per state,
 * updated once per name byte, so a pattern such as "*%*%*%*%a" costs
 * O(pattern * name) and never backtracks. */
#include "proto/mailbox-match.h"

#include <string.h>

#include "core/xalloc.h"

/* Patterns up to this long keep their state on the stack. */
#define MATCH_STACK_STATES 256

struct matcher {
	const char *pattern;
	size_t pattern_len;
	char delim;
	bool *active; /* pattern_len + 1 states */
};

static bool is_wild(char c)
{
	return c == '*' || c == '%';
}

static unsigned char ascii_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/* Bytes of a leading "INBOX" component (any case) of name, else 0. */
static size_t inbox_prefix_len(const char *name, char delim)
{
	static const char inbox[] = "INBOX";
	size_t i;

	for (i = 0; inbox[i] != '\0'; i++) {
		if (ascii_upper((unsigned char)name[i]) != inbox[i])
			return 0;
	}
	return name[i] == '\0' || name[i] == delim ? i : 0;
}

/* A wildcard may match nothing: it lets the next state be active too. */
static void matcher_close(struct matcher *m)
{
	for (size_t j = 0; j < m->pattern_len; j++) {
		if (m->active[j] && is_wild(m->pattern[j]))
			m->active[j + 1] = true;
	}
}

static void matcher_init(struct matcher *m, const char *pattern, char delim,
                         bool *active)
{
	m->pattern = pattern;
	m->pattern_len = strlen(pattern);
	m->delim = delim;
	m->active = active;
	memset(active, 0, m->pattern_len + 1);
	active[0] = true;
	matcher_close(m);
}

static bool literal_matches(char p, char c, bool fold)
{
	if (fold)
		return ascii_upper((unsigned char)p) ==
		       ascii_upper((unsigned char)c);
	return p == c;
}

/* Read one name byte; fold compares it ignoring case. Returns whether any
 * state is still active. States are updated from the last down, so
 * active[j - 1] still holds its value from before this byte. */
static bool matcher_step(struct matcher *m, char c, bool fold)
{
	bool any = false;

	for (size_t j = m->pattern_len + 1; j-- > 0;) {
		bool stay = false, advance = false;
		if (j < m->pattern_len && m->active[j]) {
			stay = m->pattern[j] == '*' ||
			       (m->pattern[j] == '%' && c != m->delim);
		}
		if (j > 0 && m->active[j - 1] && !is_wild(m->pattern[j - 1]))
			advance = literal_matches(m->pattern[j - 1], c, fold);
		m->active[j] = stay || advance;
		any = any || m->active[j];
	}
	matcher_close(m);
	return any;
}

static bool matcher_feed(struct matcher *m, const char *name)
{
	size_t fold_len = inbox_prefix_len(name, m->delim);

	for (size_t i = 0; name[i] != '\0'; i++) {
		if (!matcher_step(m, name[i], i < fold_len))
			return false;
	}
	return true;
}

/* Feed name, and with children also the delimiter of a descendant, and
 * ask whether the whole pattern was matched (or, with children, whether
 * some pattern byte is still to be matched by the rest of a descendant:
 * every pattern suffix matches some non-empty string). */
static bool run(const char *pattern, const char *name, char delim,
                bool children)
{
	bool stack_states[MATCH_STACK_STATES];
	size_t len = strlen(pattern);
	bool *active =
	        len < MATCH_STACK_STATES ? stack_states : xmalloc(len + 1);
	struct matcher m;
	bool ret = false;

	matcher_init(&m, pattern, delim, active);
	if (!matcher_feed(&m, name))
		goto out_free_states;
	if (!children) {
		ret = m.active[len];
		goto out_free_states;
	}
	if (!matcher_step(&m, delim, false))
		goto out_free_states;
	for (size_t j = 0; j < len && !ret; j++)
		ret = m.active[j];
out_free_states:
	if (active != stack_states)
		free(active);
	return ret;
}

bool mailbox_match(const char *pattern, const char *name, char delim)
{
	return run(pattern, name, delim, false);
}

bool mailbox_match_children(const char *pattern, const char *name, char delim)
{
	/* without a hierarchy there are no descendants */
	return delim != '\0' && run(pattern, name, delim, true);
}

char *mailbox_pattern_combine(const char *ref, const char *pattern, char delim)
{
	size_t ref_len = strlen(ref), pattern_len = strlen(pattern);
	char *s;

	if (ref_len > 0 && ref[ref_len - 1] == delim && pattern[0] == delim)
		ref_len--;
	s = xmalloc(ref_len + pattern_len + 1);
	memcpy(s, ref, ref_len);
	memcpy(s + ref_len, pattern, pattern_len + 1);
	return s;
}

char *mailbox_name_normalize(const char *name, char delim)
{
	size_t n = inbox_prefix_len(name, delim);
	char *s = xstrdup(name);

	if (n > 0)
		memcpy(s, "INBOX", n);
	return s;
}
