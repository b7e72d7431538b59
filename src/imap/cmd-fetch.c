/* FETCH and UID FETCH (RFC 3501 6.4.5): what the store keeps per
 * message (FLAGS, UID, INTERNALDATE, RFC822.SIZE, and MODSEQ with the
 * CHANGEDSINCE and VANISHED modifiers of RFC 7162), ENVELOPE, BODY and
 * BODYSTRUCTURE, the macros ALL, FAST and FULL, and BODY[section] with
 * part numbers at any depth (through message/rfc822), HEADER, TEXT,
 * MIME, HEADER.FIELDS[.NOT], PEEK and partial <origin.count>, and the
 * RFC822 forms; BINARY, BINARY.PEEK and BINARY.SIZE (RFC 3516); and
 * the obsolete PARTIAL command (RFC 1730).
 *
 * This file parses the items; fetch-answer.c writes the answers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "imap/fetch.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "mail/mime.h"
#include "net/conn.h"

#define FETCH_MAX_RANGES 100000

void fetch_ctx_free(void *p)
{
	struct fetch_ctx *c = p;
	fetch_release(c);
	for (size_t i = 0; i < c->item_count; i++) {
		struct fetch_item *it = &c->items[i];
		for (size_t k = 0; k < it->field_count; k++)
			free(it->fields[k]);
		free(it->fields);
		free(it->label);
	}
	free(c->items);
	free(c->idx);
	free(c->changed);
	seqset_free(&c->vanished_set);
	free(c);
}

static struct fetch_item *add_item(struct fetch_ctx *c, enum fetch_kind kind)
{
	c->items = xrealloc(c->items, (c->item_count + 1) * sizeof(*c->items));
	struct fetch_item *it = &c->items[c->item_count++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

/* "(A B "C")" of HEADER.FIELDS: the names into the item; -1 if bad. */
static int parse_fields(const char *s, struct fetch_item *it)
{
	while (*s == ' ')
		s++;
	if (*s++ != '(')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ')')
			break;
		bool quoted = *s == '"';
		const char *start = quoted ? ++s : s;
		while (*s != '\0' &&
		       (quoted ? *s != '"' : *s != ' ' && *s != ')'))
			s++;
		if (*s == '\0' || s == start)
			return -1;
		it->fields = xrealloc(it->fields,
		                      (it->field_count + 1) * sizeof(char *));
		it->fields[it->field_count++] =
		        xstrndup(start, (size_t)(s - start));
		if (quoted)
			s++;
	}
	return it->field_count > 0 && s[1] == '\0' ? 0 : -1;
}

/* section-spec: part numbers, then "", HEADER, TEXT, MIME or
 * HEADER.FIELDS[.NOT] (list). */
static int parse_section(const char *sec, size_t len, struct fetch_item *it)
{
	char *s = xstrndup(sec, len);
	enum mime_section_kind kind;
	const char *text;
	int ret = 0;
	if (!mime_section_parse(s, it->path, MIME_MAX_DEPTH, &it->depth, &kind,
	                        &text))
		ret = -1;
	else if (text[0] == '\0')
		it->section = SEC_ALL;
	else if (strcasecmp(text, "HEADER") == 0)
		it->section = SEC_HEADER;
	else if (strcasecmp(text, "TEXT") == 0)
		it->section = SEC_TEXT;
	else if (strcasecmp(text, "MIME") == 0)
		it->section = SEC_MIME;
	else if (strncasecmp(text, "HEADER.FIELDS.NOT ", 18) == 0) {
		it->section = SEC_FIELDS_NOT;
		ret = parse_fields(text + 17, it);
	} else if (strncasecmp(text, "HEADER.FIELDS ", 14) == 0) {
		it->section = SEC_FIELDS;
		ret = parse_fields(text + 13, it);
	} else {
		ret = -1;
	}
	free(s);
	return ret;
}

/* "<origin.count>" after the section; -1 if malformed. */
static int parse_partial(const char *s, struct fetch_item *it)
{
	char *end;
	if (*s == '\0')
		return 0;
	if (*s != '<' || !isdigit((unsigned char)s[1]))
		return -1;
	it->origin = strtoull(s + 1, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	it->count = strtoull(end + 1, &end, 10);
	if (strcmp(end, ">") != 0 || it->count == 0)
		return -1;
	it->partial = true;
	return 0;
}

static void make_label(struct fetch_item *it, const char *sec, size_t len)
{
	char *upper = xstrndup(sec, len);
	for (char *p = upper; *p != '\0' && *p != ' '; p++)
		*p = (char)toupper((unsigned char)*p);
	if (it->partial)
		it->label = xasprintf("BODY[%s]<%llu>", upper,
		                      (unsigned long long)it->origin);
	else
		it->label = xasprintf("BODY[%s]", upper);
	free(upper);
}

/* BODY[...] / BODY.PEEK[...]: -1 if bad. */
static int parse_body_item(const char *name, struct fetch_ctx *c)
{
	bool peek = strncasecmp(name, "BODY.PEEK[", 10) == 0;
	if (!peek && strncasecmp(name, "BODY[", 5) != 0)
		return -1;
	const char *sec = name + (peek ? 10 : 5);
	const char *close = strchr(sec, ']');
	if (close == NULL)
		return -1;
	struct fetch_item *it = add_item(c, F_BODY);
	it->peek = peek;
	int ret = parse_section(sec, (size_t)(close - sec), it);
	if (ret == 0)
		ret = parse_partial(close + 1, it);
	if (ret == 0)
		make_label(it, sec, (size_t)(close - sec));
	return ret;
}

/* BINARY[part]<o.c>, BINARY.PEEK[part]<o.c>, BINARY.SIZE[part]: only
 * part numbers, no HEADER/TEXT/MIME (RFC 3516 section-binary). */
static int parse_binary_item(const char *name, struct fetch_ctx *c)
{
	static const struct {
		const char *prefix;
		enum fetch_kind kind;
		bool peek;
	} forms[] = {
	        {"BINARY[", F_BINARY, false},
	        {"BINARY.PEEK[", F_BINARY, true},
	        {"BINARY.SIZE[", F_BINARY_SIZE, true},
	};
	size_t f = 0, n = sizeof(forms) / sizeof(forms[0]);
	while (f < n &&
	       strncasecmp(name, forms[f].prefix, strlen(forms[f].prefix)) != 0)
		f++;
	const char *sec = f < n ? name + strlen(forms[f].prefix) : NULL;
	const char *close = sec != NULL ? strchr(sec, ']') : NULL;
	if (close == NULL)
		return -1;
	struct fetch_item *it = add_item(c, forms[f].kind);
	it->peek = forms[f].peek;
	int ret = parse_section(sec, (size_t)(close - sec), it);
	if (ret == 0 && it->section != SEC_ALL)
		ret = -1;
	if (ret == 0 && forms[f].kind == F_BINARY)
		ret = parse_partial(close + 1, it);
	else if (ret == 0 && close[1] != '\0')
		ret = -1;
	if (ret == 0) {
		char *part = xstrndup(sec, (size_t)(close - sec));
		it->label = forms[f].kind == F_BINARY_SIZE
		                    ? xasprintf("BINARY.SIZE[%s]", part)
		            : it->partial
		                    ? xasprintf("BINARY[%s]<%llu>", part,
		                                (unsigned long long)it->origin)
		                    : xasprintf("BINARY[%s]", part);
		free(part);
	}
	return ret;
}

/* The RFC822 forms; with partial, also RFC 1730's PEEK forms, which
 * only PARTIAL takes. */
static int parse_rfc822_item(const char *name, struct fetch_ctx *c,
                             bool partial)
{
	static const struct {
		const char *name, *label;
		enum body_section section;
		bool peek;
	} forms[] = {
	        {"RFC822", "RFC822", SEC_ALL, false},
	        {"RFC822.HEADER", "RFC822.HEADER", SEC_HEADER, true},
	        {"RFC822.TEXT", "RFC822.TEXT", SEC_TEXT, false},
	        {"RFC822.PEEK", "RFC822", SEC_ALL, true},
	        {"RFC822.TEXT.PEEK", "RFC822.TEXT", SEC_TEXT, true},
	};
	size_t n = sizeof(forms) / sizeof(forms[0]) - (partial ? 0 : 2);
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(name, forms[i].name) != 0)
			continue;
		struct fetch_item *it = add_item(c, F_BODY);
		it->section = forms[i].section;
		it->peek = forms[i].peek;
		it->label = xstrdup(forms[i].label);
		return 0;
	}
	return -1;
}

/* One fetch-att; -1 if bad. */
static int parse_item(const struct imap_arg *a, struct fetch_ctx *c)
{
	static const struct {
		const char *name;
		enum fetch_kind kind;
	} simple[] = {
	        {"FLAGS", F_FLAGS},
	        {"UID", F_UID},
	        {"INTERNALDATE", F_INTERNALDATE},
	        {"RFC822.SIZE", F_SIZE},
	        {"MODSEQ", F_MODSEQ},
	};
	const char *name;
	if (!imap_arg_get_atom(a, &name) || a->type != IMAP_ARG_ATOM)
		return -1;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcasecmp(name, simple[i].name) == 0) {
			add_item(c, simple[i].kind);
			return 0;
		}
	}
	if (strcasecmp(name, "FAST") == 0) {
		add_item(c, F_FLAGS);
		add_item(c, F_INTERNALDATE);
		add_item(c, F_SIZE);
		return 0;
	}
	bool all = strcasecmp(name, "ALL") == 0;
	if (all || strcasecmp(name, "ENVELOPE") == 0) {
		if (all) {
			add_item(c, F_FLAGS);
			add_item(c, F_INTERNALDATE);
			add_item(c, F_SIZE);
		}
		add_item(c, F_ENVELOPE);
		return 0;
	}
	bool full = strcasecmp(name, "FULL") == 0;
	if (full || strcasecmp(name, "BODY") == 0 ||
	    strcasecmp(name, "BODYSTRUCTURE") == 0) {
		if (full) {
			add_item(c, F_FLAGS);
			add_item(c, F_INTERNALDATE);
			add_item(c, F_SIZE);
			add_item(c, F_ENVELOPE);
		}
		add_item(c, F_STRUCTURE)->extended = name[4] != '\0' && !full;
		return 0;
	}
	if (strncasecmp(name, "BINARY", 6) == 0)
		return parse_binary_item(name, c);
	if (strncasecmp(name, "RFC822", 6) == 0)
		return parse_rfc822_item(name, c, false);
	return parse_body_item(name, c);
}

static int parse_items(const struct imap_arg *arg, struct fetch_ctx *c)
{
	const struct imap_arg *list = arg;
	size_t n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		n = arg->list_count;
		if (n == 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int ret = parse_item(&list[i], c);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < c->item_count; i++) {
		c->has_uid |= c->items[i].kind == F_UID;
		c->has_modseq |= c->items[i].kind == F_MODSEQ;
	}
	/* RFC 3501 6.4.8: UID FETCH always says UID */
	if (c->uid && !c->has_uid) {
		add_item(c, F_UID);
		c->has_uid = true;
	}
	for (size_t i = 0; i < c->item_count; i++)
		c->sets_seen |= (c->items[i].kind == F_BODY ||
		                 c->items[i].kind == F_BINARY) &&
		                !c->items[i].peek;
	return 0;
}

/* (CHANGEDSINCE n [VANISHED]) of RFC 7162 3.1.4.1 and 3.2.6: NULL, or
 * why it is BAD. VANISHED is only for UID FETCH, after ENABLE QRESYNC,
 * and with CHANGEDSINCE. */
static const char *parse_modifiers(struct imap_session *s,
                                   const struct imap_arg *list,
                                   struct fetch_ctx *c)
{
	const char *str;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return "Invalid FETCH modifiers";
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "CHANGEDSINCE") &&
		    !c->changedsince_set && i + 1 < list->list_count &&
		    list->list[i + 1].type == IMAP_ARG_ATOM &&
		    imap_arg_get_atom(&list->list[i + 1], &str) &&
		    parse_uint(str, 0, INT64_MAX, &c->changedsince) == 0) {
			c->changedsince_set = true;
			i++;
		} else if (imap_arg_atom_equals(a, "VANISHED") &&
		           !c->vanished) {
			c->vanished = true;
		} else {
			return "Invalid FETCH modifiers";
		}
	}
	if (c->vanished && !c->uid)
		return "VANISHED is only for UID FETCH";
	if (c->vanished && !s->qresync)
		return "QRESYNC is not enabled";
	if (c->vanished && !c->changedsince_set)
		return "VANISHED needs CHANGEDSINCE";
	/* RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ */
	if (c->changedsince_set && !c->has_modseq) {
		add_item(c, F_MODSEQ);
		c->has_modseq = true;
	}
	return NULL;
}

/* The UID set VANISHED covers: the set argument, or the saved "$". */
static void vanished_set(const struct imap_session *s,
                         const struct imap_arg *arg, struct seqset *set)
{
	const char *str = "", *error;
	if (imap_arg_get_atom(arg, &str) && strcmp(str, "$") != 0 &&
	    seqset_parse(str, FETCH_MAX_RANGES, set, &error) == 0)
		return;
	set->ranges = xmalloc((s->saved_count + 1) * sizeof(*set->ranges));
	set->count = s->saved_count;
	for (size_t i = 0; i < s->saved_count; i++)
		set->ranges[i] =
		        (struct seqset_range){s->saved[i], s->saved[i]};
}

/* CHANGEDSINCE: only the messages whose modseq is above it. */
static void keep_changed(const struct imap_view *v, struct fetch_ctx *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->count; i++) {
		if (v->msgs[c->idx[i]].modseq > c->changedsince)
			c->idx[n++] = c->idx[i];
	}
	c->count = n;
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid)
{
	struct fetch_ctx *c = xcalloc(1, sizeof(*c));
	c->uid = uid;
	int ret = count == 2 || count == 3 ? parse_items(&args[1], c) : -1;
	if (ret < 0) {
		fetch_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	const char *error = count == 3 ? parse_modifiers(s, &args[2], c) : NULL;
	if (error != NULL) {
		conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, error);
		fetch_ctx_free(c);
		return;
	}
	if (imap_resolve_set(s, cmd, &args[0], uid, &c->idx, &c->count) < 0) {
		fetch_ctx_free(c);
		return;
	}
	/* RFC 7162 3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE */
	if (c->has_modseq)
		imap_condstore_enable(s);
	c->condstore = s->condstore;
	if (c->changedsince_set)
		keep_changed(s->view, c);
	if (c->vanished)
		vanished_set(s, &args[0], &c->vanished_set);
	imap_job_start(s, cmd, fetch_work,
	               uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE, c,
	               fetch_ctx_free);
}

void cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_fetch(s, cmd, cmd->args, cmd->arg_count, false);
}

/* PARTIAL (RFC 1730 6.4.6, obsolete, still in RFC 3501's predecessors'
 * clients): one message, one body item, from octet position (counting
 * from 1) for length octets; the answer names the item without an
 * origin, as RFC 1730's example shows. */
static int parse_partial_args(const struct imap_command_line *cmd,
                              struct fetch_ctx *c)
{
	const char *item, *pos, *len;
	uint64_t origin, count;
	if (cmd->arg_count != 4 || !imap_arg_get_atom(&cmd->args[1], &item) ||
	    !imap_arg_get_atom(&cmd->args[2], &pos) ||
	    !imap_arg_get_atom(&cmd->args[3], &len) ||
	    parse_uint(pos, 1, UINT32_MAX, &origin) < 0 ||
	    parse_uint(len, 0, UINT32_MAX, &count) < 0)
		return -1;
	int ret = strncasecmp(item, "RFC822", 6) == 0
	                  ? parse_rfc822_item(item, c, true)
	                  : parse_body_item(item, c);
	if (ret < 0 || c->item_count != 1 || c->items[0].partial)
		return -1;
	c->items[0].partial = true;
	c->items[0].origin = origin - 1;
	c->items[0].count = count;
	c->sets_seen = !c->items[0].peek;
	c->partial_cmd = true;
	return 0;
}

void cmd_partial(struct imap_session *s, const struct imap_command_line *cmd)
{
	struct fetch_ctx *c = xcalloc(1, sizeof(*c));
	const char *seq;
	uint64_t n;
	if (parse_partial_args(cmd, c) < 0 ||
	    !imap_arg_get_atom(&cmd->args[0], &seq) ||
	    parse_uint(seq, 1, UINT32_MAX, &n) < 0) {
		fetch_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (imap_resolve_set(s, cmd, &cmd->args[0], false, &c->idx, &c->count) <
	    0) {
		fetch_ctx_free(c);
		return;
	}
	c->condstore = s->condstore;
	imap_job_start(s, cmd, fetch_work, IMAP_SYNC_NO_EXPUNGE, c,
	               fetch_ctx_free);
}
