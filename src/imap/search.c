/* SEARCH programs; see search.h. */
#include "imap/search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "mail/searchtext.h"
#include "store/store.h"

#define SEARCH_MAX_DEPTH 32
#define SEARCH_MAX_RANGES 100000

struct parser {
	const struct imap_arg *args;
	size_t count, pos;
	unsigned int depth;
	struct search_program *prog;
	const char *error;
};

static const struct {
	const char *name;
	enum search_op op;
	uint32_t flags;
} simple_keys[] = {
        {"ALL", SEARCH_ALL, 0},
        {"ANSWERED", SEARCH_FLAGS_SET, STORE_FLAG_ANSWERED},
        {"DELETED", SEARCH_FLAGS_SET, STORE_FLAG_DELETED},
        {"DRAFT", SEARCH_FLAGS_SET, STORE_FLAG_DRAFT},
        {"FLAGGED", SEARCH_FLAGS_SET, STORE_FLAG_FLAGGED},
        {"NEW", SEARCH_NEW, 0},
        {"OLD", SEARCH_OLD, 0},
        {"RECENT", SEARCH_RECENT, 0},
        {"SEEN", SEARCH_FLAGS_SET, STORE_FLAG_SEEN},
        {"UNANSWERED", SEARCH_FLAGS_UNSET, STORE_FLAG_ANSWERED},
        {"UNDELETED", SEARCH_FLAGS_UNSET, STORE_FLAG_DELETED},
        {"UNDRAFT", SEARCH_FLAGS_UNSET, STORE_FLAG_DRAFT},
        {"UNFLAGGED", SEARCH_FLAGS_UNSET, STORE_FLAG_FLAGGED},
        {"UNSEEN", SEARCH_FLAGS_UNSET, STORE_FLAG_SEEN},
};

/* Keys with one argument, and what kind it is. */
enum arg_kind { ARG_STRING, ARG_DATE, ARG_NUMBER, ARG_KEYWORD, ARG_SET };

static const struct {
	const char *name;
	enum search_op op;
	enum arg_kind kind;
	const char *field; /* header keys */
} arg_keys[] = {
        {"BCC", SEARCH_HEADER, ARG_STRING, "BCC"},
        {"BEFORE", SEARCH_BEFORE, ARG_DATE, NULL},
        {"BODY", SEARCH_BODY, ARG_STRING, NULL},
        {"CC", SEARCH_HEADER, ARG_STRING, "CC"},
        {"FROM", SEARCH_HEADER, ARG_STRING, "FROM"},
        {"KEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, NULL},
        {"LARGER", SEARCH_LARGER, ARG_NUMBER, NULL},
        {"OLDER", SEARCH_OLDER, ARG_NUMBER, NULL},
        {"ON", SEARCH_ON, ARG_DATE, NULL},
        {"SENTBEFORE", SEARCH_SENTBEFORE, ARG_DATE, NULL},
        {"SENTON", SEARCH_SENTON, ARG_DATE, NULL},
        {"SENTSINCE", SEARCH_SENTSINCE, ARG_DATE, NULL},
        {"SINCE", SEARCH_SINCE, ARG_DATE, NULL},
        {"SMALLER", SEARCH_SMALLER, ARG_NUMBER, NULL},
        {"SUBJECT", SEARCH_HEADER, ARG_STRING, "SUBJECT"},
        {"TEXT", SEARCH_TEXT, ARG_STRING, NULL},
        {"TO", SEARCH_HEADER, ARG_STRING, "TO"},
        {"UID", SEARCH_UIDSET, ARG_SET, NULL},
        {"UNKEYWORD", SEARCH_UNKEYWORD, ARG_KEYWORD, NULL},
        {"YOUNGER", SEARCH_YOUNGER, ARG_NUMBER, NULL},
};

/* RFC 3501 date: 1*2DIGIT "-" date-month "-" 4DIGIT, as a day number
 * (Unix time of its 00:00 UTC). */
static int parse_date(const char *s, uint64_t *day_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char *end;
	long day = strtol(s, &end, 10);
	if (end == s || end - s > 2 || *end != '-' || strlen(end) != 9 ||
	    end[4] != '-' || day < 1 || day > 31)
		return -1;
	char mon[4] = {end[1], end[2], end[3], '\0'};
	const char *m = strcasestr(months, mon);
	uint64_t year;
	if (m == NULL || (m - months) % 3 != 0 ||
	    parse_uint(end + 5, 1900, 9999, &year) < 0)
		return -1;
	struct tm tm = {.tm_mday = (int)day,
	                .tm_mon = (int)((m - months) / 3),
	                .tm_year = (int)year - 1900};
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	*day_r = (uint64_t)t;
	return 0;
}

/* The string a content key looks for, kept as sent and folded once
 * for the whole search. */
static void set_string(struct search_key *key, const char *s, size_t len)
{
	struct buf folded;
	key->str = xstrndup(s, len);
	buf_init(&folded, 16 * len + 64);
	if (searchtext_fold(key->str, len, &folded) == 0) {
		key->folded = xmemdup(buf_cstr(&folded), folded.len + 1);
		key->folded_len = folded.len;
	}
	buf_free(&folded);
}

static const struct imap_arg *next_arg(struct parser *p)
{
	if (p->pos >= p->count) {
		p->error = "Missing search key argument";
		return NULL;
	}
	return &p->args[p->pos++];
}

/* The argument of a key in arg_keys[k]. */
static int parse_key_arg(struct parser *p, size_t k, struct search_key *key)
{
	const struct imap_arg *a = next_arg(p);
	const char *s;
	size_t len;
	if (a == NULL || !imap_arg_get_astring(a, &s, &len))
		return -1;
	p->error = "Invalid search key argument";
	switch (arg_keys[k].kind) {
	case ARG_STRING:
		set_string(key, s, len);
		p->prog->content = true;
		p->prog->body |=
		        key->op == SEARCH_BODY || key->op == SEARCH_TEXT;
		return 0;
	case ARG_DATE:
		if (arg_keys[k].op >= SEARCH_SENTBEFORE)
			p->prog->content = true;
		return parse_date(s, &key->number);
	case ARG_NUMBER:
		return a->type == IMAP_ARG_ATOM
		               ? parse_uint(s, 0, UINT64_MAX, &key->number)
		               : -1;
	case ARG_KEYWORD:
		if (a->type != IMAP_ARG_ATOM || s[0] == '\\')
			return -1;
		key->str = xstrdup(s);
		return 0;
	case ARG_SET:
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcmp(s, "$") == 0) {
			key->op = SEARCH_SAVED;
			return 0;
		}
		return seqset_parse(s, SEARCH_MAX_RANGES, &key->set, &p->error);
	}
	return -1;
}

static int parse_key(struct parser *p, struct search_key *key);

/* Keys up to the end of args (or of a parenthesised list) into key's
 * children. */
static int parse_keys(struct parser *p, struct search_key *key)
{
	key->op = SEARCH_AND;
	while (p->pos < p->count) {
		key->children =
		        xrealloc(key->children, (key->child_count + 1) *
		                                        sizeof(*key->children));
		struct search_key *child = &key->children[key->child_count];
		memset(child, 0, sizeof(*child));
		key->child_count++;
		if (parse_key(p, child) < 0)
			return -1;
	}
	return 0;
}

/* "( keys )": parse the list's elements as a program of their own. */
static int parse_list(struct parser *p, const struct imap_arg *a,
                      struct search_key *key)
{
	struct parser sub = {.args = a->list,
	                     .count = a->list_count,
	                     .depth = p->depth + 1,
	                     .prog = p->prog};
	if (a->list_count == 0 || sub.depth > SEARCH_MAX_DEPTH) {
		p->error = "Invalid search key list";
		return -1;
	}
	int ret = parse_keys(&sub, key);
	if (ret < 0)
		p->error = sub.error;
	return ret;
}

static int parse_children(struct parser *p, struct search_key *key, size_t n)
{
	key->children = xcalloc(n, sizeof(*key->children));
	key->child_count = n;
	for (size_t i = 0; i < n; i++) {
		if (p->pos >= p->count) {
			p->error = "Missing search key";
			return -1;
		}
		if (parse_key(p, &key->children[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_named_key(struct parser *p, const char *name,
                           struct search_key *key)
{
	for (size_t k = 0; k < sizeof(simple_keys) / sizeof(simple_keys[0]);
	     k++) {
		if (strcasecmp(name, simple_keys[k].name) == 0) {
			key->op = simple_keys[k].op;
			key->flags = simple_keys[k].flags;
			return 0;
		}
	}
	for (size_t k = 0; k < sizeof(arg_keys) / sizeof(arg_keys[0]); k++) {
		if (strcasecmp(name, arg_keys[k].name) == 0) {
			key->op = arg_keys[k].op;
			if (arg_keys[k].field != NULL)
				key->field = xstrdup(arg_keys[k].field);
			return parse_key_arg(p, k, key);
		}
	}
	if (strcasecmp(name, "NOT") == 0) {
		key->op = SEARCH_NOT;
		return parse_children(p, key, 1);
	}
	if (strcasecmp(name, "OR") == 0) {
		key->op = SEARCH_OR;
		return parse_children(p, key, 2);
	}
	p->error = "Unknown search key";
	return -1;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162
 * 3.1.5). The store keeps one modseq per message, so a named entry
 * ("/flags/\\draft" priv) is checked for form and then ignored, as the
 * RFC asks of such a server. */
static int parse_modseq_key(struct parser *p, struct search_key *key)
{
	const struct imap_arg *a = next_arg(p);
	const char *s;
	size_t len;
	if (a != NULL && a->type != IMAP_ARG_ATOM) {
		const struct imap_arg *type = next_arg(p);
		if (type == NULL)
			return -1;
		p->error = "Invalid MODSEQ entry";
		if (!imap_arg_get_astring(a, &s, &len) || len <= 7 ||
		    strncasecmp(s, "/flags/", 7) != 0 ||
		    !(imap_arg_atom_equals(type, "priv") ||
		      imap_arg_atom_equals(type, "shared") ||
		      imap_arg_atom_equals(type, "all")))
			return -1;
		a = next_arg(p);
	}
	if (a == NULL)
		return -1;
	p->error = "Invalid MODSEQ value";
	if (a->type != IMAP_ARG_ATOM || !imap_arg_get_atom(a, &s) ||
	    parse_uint(s, 0, INT64_MAX, &key->number) < 0)
		return -1;
	key->op = SEARCH_MODSEQ;
	p->prog->modseq = true;
	return 0;
}

/* HEADER field-name string */
static int parse_header_key(struct parser *p, struct search_key *key)
{
	const struct imap_arg *f = next_arg(p), *v = NULL;
	const char *field, *s;
	size_t flen, len;
	if (f == NULL || (v = next_arg(p)) == NULL)
		return -1;
	if (!imap_arg_get_astring(f, &field, &flen) || flen == 0 ||
	    !imap_arg_get_astring(v, &s, &len)) {
		p->error = "Invalid HEADER search key";
		return -1;
	}
	key->op = SEARCH_HEADER;
	key->field = xstrndup(field, flen);
	set_string(key, s, len);
	p->prog->content = true;
	return 0;
}

static int parse_key(struct parser *p, struct search_key *key)
{
	const struct imap_arg *a = next_arg(p);
	const char *name;
	if (a == NULL)
		return -1;
	if (a->type == IMAP_ARG_LIST)
		return parse_list(p, a, key);
	if (!imap_arg_get_atom(a, &name) || a->type != IMAP_ARG_ATOM) {
		p->error = "Invalid search key";
		return -1;
	}
	if (strcmp(name, "$") == 0) {
		key->op = SEARCH_SAVED;
		return 0;
	}
	if (isdigit((unsigned char)name[0]) || name[0] == '*') {
		key->op = SEARCH_SEQSET;
		return seqset_parse(name, SEARCH_MAX_RANGES, &key->set,
		                    &p->error);
	}
	if (strcasecmp(name, "HEADER") == 0)
		return parse_header_key(p, key);
	if (strcasecmp(name, "MODSEQ") == 0)
		return parse_modseq_key(p, key);
	return parse_named_key(p, name, key);
}

/* RETURN (MIN MAX ALL COUNT SAVE) of ESEARCH (RFC 4731, RFC 5182). */
static int parse_return(const struct imap_arg *list,
                        struct search_program *prog)
{
	prog->esearch = true;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "MIN"))
			prog->ret_min = true;
		else if (imap_arg_atom_equals(a, "MAX"))
			prog->ret_max = true;
		else if (imap_arg_atom_equals(a, "ALL"))
			prog->ret_all = true;
		else if (imap_arg_atom_equals(a, "COUNT"))
			prog->ret_count = true;
		else if (imap_arg_atom_equals(a, "SAVE"))
			prog->ret_save = true;
		else
			return -1;
	}
	/* "RETURN ()" means ALL (RFC 4731 3.1) */
	if (list->list_count == 0)
		prog->ret_all = true;
	return 0;
}

int search_parse(const struct imap_arg *args, size_t count,
                 struct search_program *prog, const char **error_r)
{
	struct parser p = {.args = args, .count = count, .prog = prog};
	const char *s;
	size_t len;
	memset(prog, 0, sizeof(*prog));
	if (p.pos + 1 < count && imap_arg_atom_equals(&args[p.pos], "RETURN")) {
		if (args[p.pos + 1].type != IMAP_ARG_LIST ||
		    parse_return(&args[p.pos + 1], prog) < 0) {
			*error_r = "Invalid RETURN options";
			return -1;
		}
		p.pos += 2;
	}
	if (p.pos + 1 < count &&
	    imap_arg_atom_equals(&args[p.pos], "CHARSET")) {
		if (!imap_arg_get_astring(&args[p.pos + 1], &s, &len)) {
			*error_r = "Invalid CHARSET";
			return -1;
		}
		prog->charset = xstrndup(s, len);
		p.pos += 2;
	}
	if (p.pos >= count) {
		*error_r = "Missing search key";
		return -1;
	}
	if (parse_keys(&p, &prog->root) < 0) {
		*error_r = p.error != NULL ? p.error : "Invalid search key";
		return -1;
	}
	return 0;
}

static void key_free(struct search_key *key)
{
	for (size_t i = 0; i < key->child_count; i++)
		key_free(&key->children[i]);
	free(key->children);
	free(key->field);
	free(key->str);
	free(key->folded);
	seqset_free(&key->set);
}

void search_free(struct search_program *prog)
{
	key_free(&prog->root);
	free(prog->charset);
	memset(prog, 0, sizeof(*prog));
}

static bool has_keyword(const char *keywords, const char *kw)
{
	size_t n = strlen(kw);
	for (const char *p = keywords; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");
		if (len == n && strncasecmp(p, kw, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

static bool in_saved(const struct search_msg *m)
{
	size_t lo = 0, hi = m->saved_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->saved[mid] == m->uid)
			return true;
		if (m->saved[mid] < m->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The day of the internal date, in its own zone, as its 00:00 UTC. */
static int64_t internal_day(const struct search_msg *m)
{
	int64_t local = m->internaldate + (int64_t)m->tz_offset_min * 60;
	int64_t day = local / 86400 - (local % 86400 < 0);
	return day * 86400;
}

static bool match_date(const struct search_key *key, const struct search_msg *m)
{
	int64_t day = internal_day(m), when = (int64_t)key->number;
	int64_t age = (int64_t)m->now - m->internaldate;
	switch (key->op) {
	case SEARCH_BEFORE:
		return day < when;
	case SEARCH_ON:
		return day == when;
	case SEARCH_SINCE:
		return day >= when;
	case SEARCH_OLDER:
		return age >= (int64_t)key->number;
	case SEARCH_YOUNGER:
		return age <= (int64_t)key->number;
	default:
		return false;
	}
}

static bool match_children(const struct search_key *key,
                           const struct search_msg *m)
{
	switch (key->op) {
	case SEARCH_AND:
		for (size_t i = 0; i < key->child_count; i++) {
			if (!search_match(&key->children[i], m))
				return false;
		}
		return true;
	case SEARCH_OR:
		return search_match(&key->children[0], m) ||
		       search_match(&key->children[1], m);
	default: /* SEARCH_NOT */
		return !search_match(&key->children[0], m);
	}
}

bool search_match(const struct search_key *key, const struct search_msg *m)
{
	switch (key->op) {
	case SEARCH_ALL:
		return true;
	case SEARCH_AND:
	case SEARCH_OR:
	case SEARCH_NOT:
		return match_children(key, m);
	case SEARCH_FLAGS_SET:
		return (m->flags & key->flags) == key->flags;
	case SEARCH_FLAGS_UNSET:
		return (m->flags & key->flags) == 0;
	case SEARCH_KEYWORD:
		return has_keyword(m->keywords, key->str);
	case SEARCH_UNKEYWORD:
		return !has_keyword(m->keywords, key->str);
	case SEARCH_RECENT:
		return m->recent;
	case SEARCH_NEW:
		return m->recent && (m->flags & STORE_FLAG_SEEN) == 0;
	case SEARCH_OLD:
		return !m->recent;
	case SEARCH_SEQSET:
		return seqset_contains(&key->set, m->seq, m->max_seq);
	case SEARCH_UIDSET:
		return seqset_contains(&key->set, m->uid, m->max_uid);
	case SEARCH_SAVED:
		return in_saved(m);
	case SEARCH_LARGER:
		return m->size > key->number;
	case SEARCH_SMALLER:
		return m->size < key->number;
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
	case SEARCH_OLDER:
	case SEARCH_YOUNGER:
		return match_date(key, m);
	case SEARCH_MODSEQ:
		return m->modseq >= key->number;
	default:
		return m->content != NULL && m->content(key, m->ctx);
	}
}

bool search_uses_seqnums(const struct search_key *key)
{
	if (key->op == SEARCH_SEQSET)
		return true;
	for (size_t i = 0; i < key->child_count; i++) {
		if (search_uses_seqnums(&key->children[i]))
			return true;
	}
	return false;
}
