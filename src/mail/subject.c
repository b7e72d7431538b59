/* RFC 5256 section 2.1 base subject. The subject is copied into the
 * output with white space collapsed, then trimmed in place between two
 * indexes, and the remainder moved down to where it started.
 *
 *   subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 *   subj-blob   = "[" *BLOBCHAR "]" *WSP
 *   subj-leader = (*subj-blob subj-refwd) / WSP
 *   subj-trailer = "(fwd)" / WSP
 *   subj-fwd-hdr = "[fwd:"   subj-fwd-trl = "]" */
#include <string.h>
#include <strings.h>

#include "mail/subject.h"

struct subj {
	const unsigned char *s;
	size_t start, end; /* the text still in play */
	bool reply_or_fwd;
};

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool has_prefix_ci(const struct subj *sj, size_t i, const char *p)
{
	size_t n = strlen(p);

	return sj->end - i >= n &&
	       strncasecmp((const char *)sj->s + i, p, n) == 0;
}

static size_t skip_wsp(const struct subj *sj, size_t i)
{
	while (i < sj->end && sj->s[i] == ' ')
		i++;
	return i;
}

/* subj-blob at i: returns the index past it and its white space, or 0.
 * BLOBCHAR is any byte but "[" and "]" (8-bit UTF-8 included). */
static size_t match_blob(const struct subj *sj, size_t i)
{
	if (i >= sj->end || sj->s[i] != '[')
		return 0;
	for (i++; i < sj->end; i++) {
		if (sj->s[i] == '[')
			return 0;
		if (sj->s[i] == ']')
			return skip_wsp(sj, i + 1);
	}
	return 0;
}

/* subj-refwd at i: returns the index past it, or 0 */
static size_t match_refwd(const struct subj *sj, size_t i)
{
	if (has_prefix_ci(sj, i, "re"))
		i += 2;
	else if (has_prefix_ci(sj, i, "fwd"))
		i += 3;
	else if (has_prefix_ci(sj, i, "fw"))
		i += 2;
	else
		return 0;
	i = skip_wsp(sj, i);
	size_t after_blob = match_blob(sj, i);
	if (after_blob > 0)
		i = after_blob;
	if (i < sj->end && sj->s[i] == ':')
		return i + 1;
	return 0;
}

/* step 2: trailing "(fwd)" and white space */
static void strip_trailer(struct subj *sj)
{
	for (;;) {
		if (sj->end > sj->start && sj->s[sj->end - 1] == ' ') {
			sj->end--;
		} else if (sj->end - sj->start >= 5 &&
		           has_prefix_ci(sj, sj->end - 5, "(fwd)")) {
			sj->end -= 5;
			sj->reply_or_fwd = true;
		} else {
			return;
		}
	}
}

/* step 3: one subj-leader; returns whether one was removed */
static bool strip_leader(struct subj *sj)
{
	if (sj->start < sj->end && sj->s[sj->start] == ' ') {
		sj->start++;
		return true;
	}
	size_t i = sj->start, next;
	while ((next = match_blob(sj, i)) > 0)
		i = next;
	next = match_refwd(sj, i);
	if (next == 0)
		return false;
	sj->start = next;
	sj->reply_or_fwd = true;
	return true;
}

/* step 4: a leading subj-blob, if what follows is a non-empty base */
static bool strip_blob(struct subj *sj)
{
	size_t next = match_blob(sj, sj->start);

	if (next == 0 || next >= sj->end)
		return false;
	sj->start = next;
	return true;
}

/* step 6: "[fwd:" ... "]" around the whole subject */
static bool strip_fwd_wrapper(struct subj *sj)
{
	if (sj->end - sj->start < 6 || !has_prefix_ci(sj, sj->start, "[fwd:") ||
	    sj->s[sj->end - 1] != ']')
		return false;
	sj->start += 5;
	sj->end--;
	sj->reply_or_fwd = true;
	return true;
}

/* step 1 after decoding: each run of white space becomes one space */
static int collapse_wsp(struct buf *out, const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && !is_wsp(s[j]))
			j++;
		if (buf_append(out, s + i, j - i) < 0)
			return -1;
		if (j == len)
			break;
		if (buf_append_byte(out, ' ') < 0)
			return -1;
		while (j < len && is_wsp(s[j]))
			j++;
		i = j;
	}
	return 0;
}

int subject_base(struct buf *out, const void *subject, size_t len,
                 bool *reply_or_fwd_r)
{
	size_t base = out->len;

	if (collapse_wsp(out, subject, len) < 0) {
		buf_truncate(out, base);
		return -1;
	}
	struct subj sj = {out->data, base, out->len, false};
	do {
		strip_trailer(&sj);
		/* step 5: repeat steps 3 and 4 until neither matches */
		while (strip_leader(&sj) || strip_blob(&sj))
			;
	} while (strip_fwd_wrapper(&sj));
	if (sj.start > base)
		memmove(out->data + base, out->data + sj.start,
		        sj.end - sj.start);
	buf_truncate(out, base + (sj.end - sj.start));
	if (reply_or_fwd_r != NULL)
		*reply_or_fwd_r = sj.reply_or_fwd;
	return 0;
}
