/* SORT and THREAD with their UID forms (RFC 5256), the DISPLAYFROM and
 * DISPLAYTO keys of SORT=DISPLAY (RFC 5957), and SORT's RETURN options
 * of ESORT (RFC 5267 section 3), SAVE included (RFC 5182); a MODSEQ key
 * adds the highest modseq to SORT's results, not THREAD's (RFC 7162
 * 3.1.9, 3.1.10).
 *
 * Both run SEARCH's program over the view (cmd-search.h), then take
 * each match's SORT and THREAD fields from its derived data
 * (imap-msginfo.h), which the index keeps, so no message file is read
 * for a message that has it.
 *
 * Strings are compared as RFC 5256 section 1 asks (I18NLEVEL=1, whose
 * default collation is i;unicode-casemap, RFC 5051): each is folded
 * with casemap_fold, then compared byte by byte with ASCII letters
 * taken as capitals, so ASCII text orders exactly as i;ascii-casemap
 * orders it (a letter sorts before "[", "_" and the like). Dovecot
 * orders the same way.
 *
 * Deliberate differences from Dovecot 2.3: "REVERSE REVERSE key" is a
 * syntax error (RFC 5256's grammar allows one REVERSE per key; Dovecot
 * accepts it); an empty THREAD answer is "* THREAD" without Dovecot's
 * trailing space (RFC 5256 section 4: "THREAD" [SP 1*thread-list]);
 * and charsets other than UTF-8 and US-ASCII get NO [BADCHARSET], as
 * SEARCH does here. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/cmd-search.h"
#include "imap/imap-msginfo.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "mail/casemap.h"
#include "mail/thread.h"
#include "net/conn.h"

enum sort_key {
	SORT_ARRIVAL,
	SORT_CC,
	SORT_DATE,
	SORT_FROM,
	SORT_SIZE,
	SORT_SUBJECT,
	SORT_TO,
	SORT_DISPLAYFROM,
	SORT_DISPLAYTO,
};

static const char *const sort_key_names[] = {
        [SORT_ARRIVAL] = "ARRIVAL",
        [SORT_CC] = "CC",
        [SORT_DATE] = "DATE",
        [SORT_FROM] = "FROM",
        [SORT_SIZE] = "SIZE",
        [SORT_SUBJECT] = "SUBJECT",
        [SORT_TO] = "TO",
        [SORT_DISPLAYFROM] = "DISPLAYFROM",
        [SORT_DISPLAYTO] = "DISPLAYTO",
};

struct sort_criterion {
	enum sort_key key;
	bool reverse;
};

/* One value per criterion and message. */
union sort_value {
	int64_t num;
	char *str; /* folded */
};

struct sort_ctx {
	struct imap_search *search;
	bool uid;
	enum thread_algorithm alg; /* THREAD */
	struct sort_criterion *crit;
	size_t crit_count;
	/* while sorting: crit_count values per match, in match order */
	union sort_value *values;
};

static bool is_string_key(enum sort_key k)
{
	return k != SORT_ARRIVAL && k != SORT_DATE && k != SORT_SIZE;
}

static void sort_ctx_free(void *p)
{
	struct sort_ctx *c = p;
	imap_search_free(c->search);
	free(c->crit);
	free(c);
}

/* s folded for comparison (casemap.h), malloc'd. */
static char *fold(const char *s)
{
	struct buf b;
	size_t len = strlen(s);
	buf_init(&b, 16 * len + 64);
	if (casemap_fold(s, len, &b) < 0)
		buf_append(&b, s, len);
	char *r = xmemdup(buf_cstr(&b), b.len + 1);
	buf_free(&b);
	return r;
}

/* Two folded strings in i;ascii-casemap order for ASCII (see the top). */
static int collate(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'a' && x <= 'z')
			x -= 'a' - 'A';
		if (y >= 'a' && y <= 'z')
			y -= 'a' - 'A';
		if (x != y || x == 0)
			return (x > y) - (x < y);
	}
}

/* RFC 5957 section 3: the display name, else mailbox@host, else the
 * mailbox, else "". */
static char *display_value(const struct msginfo_addr *a)
{
	if (a->name[0] != '\0')
		return fold(a->name);
	if (a->mailbox[0] == '\0' || a->domain[0] == '\0')
		return fold(a->mailbox);
	char *both = xasprintf("%s@%s", a->mailbox, a->domain);
	char *r = fold(both);
	free(both);
	return r;
}

/* The sent date (RFC 5256 section 2.2). */
static int64_t sent_date(const struct msginfo *info, const struct store_msg *m)
{
	return info->has_date ? info->date : m->internaldate;
}

/* A string key's value: for CC, FROM and TO the first address's
 * addr-mailbox (RFC 5256 section 3). */
static char *string_value(enum sort_key k, const struct msginfo *info)
{
	switch (k) {
	case SORT_CC:
		return fold(info->cc.mailbox);
	case SORT_FROM:
		return fold(info->from.mailbox);
	case SORT_TO:
		return fold(info->to.mailbox);
	case SORT_DISPLAYFROM:
		return display_value(&info->from);
	case SORT_DISPLAYTO:
		return display_value(&info->to);
	default:
		return fold(info->subject_base);
	}
}

/* The data of a message that is gone: every field empty. */
static const struct msginfo empty_info = {
        .subject_base = "",
        .from = {"", "", ""},
        .to = {"", "", ""},
        .cc = {"", "", ""},
        .message_id = "",
        .in_reply_to = "",
        .references = "",
};

/* Fill v[0..crit_count) for the message m. */
static void load_values(const struct sort_ctx *c, const struct msginfo *info,
                        const struct store_msg *m, union sort_value *v)
{
	for (size_t k = 0; k < c->crit_count; k++) {
		enum sort_key key = c->crit[k].key;
		if (key == SORT_ARRIVAL)
			v[k].num = m->internaldate;
		else if (key == SORT_SIZE)
			v[k].num = (int64_t)m->size;
		else if (key == SORT_DATE)
			v[k].num = sent_date(info, m);
		else
			v[k].str = string_value(key, info);
	}
}

/* Does any criterion need the derived data? */
static bool needs_info(const struct sort_ctx *c)
{
	for (size_t k = 0; k < c->crit_count; k++) {
		if (c->crit[k].key != SORT_ARRIVAL &&
		    c->crit[k].key != SORT_SIZE)
			return true;
	}
	return false;
}

struct sort_rec {
	size_t pos; /* in ctx->values */
	size_t idx; /* in the view */
};

/* RFC 5256 section 3: criteria in turn, then sequence order. */
static int rec_cmp(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	const struct sort_rec *x = a, *y = b;
	const union sort_value *vx = &c->values[x->pos * c->crit_count];
	const union sort_value *vy = &c->values[y->pos * c->crit_count];
	for (size_t k = 0; k < c->crit_count; k++) {
		int r = is_string_key(c->crit[k].key)
		                ? collate(vx[k].str, vy[k].str)
		                : (vx[k].num > vy[k].num) -
		                          (vx[k].num < vy[k].num);
		if (r != 0)
			return c->crit[k].reverse ? -r : r;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void free_values(struct sort_ctx *c, size_t n)
{
	for (size_t k = 0; k < c->crit_count; k++) {
		if (!is_string_key(c->crit[k].key))
			continue;
		for (size_t i = 0; i < n; i++)
			free(c->values[i * c->crit_count + k].str);
	}
	free(c->values);
	c->values = NULL;
}

/* Put hits (view indexes) in the criteria's order. */
static void sort_hits(struct imap_job *job, struct sort_ctx *c, size_t *hits,
                      size_t n)
{
	const struct imap_view *v = job->s->view;
	struct imap_msginfo_loader l;
	bool info = needs_info(c);
	struct sort_rec *recs = xcalloc(n + 1, sizeof(*recs));
	c->values = xcalloc(n * c->crit_count + 1, sizeof(*c->values));
	imap_msginfo_loader_init(&l, job->s->store, v->mailbox_id);
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = &v->msgs[hits[i]];
		struct imap_msginfo mi;
		const struct msginfo *in = &empty_info;
		memset(&mi, 0, sizeof(mi));
		if (info && imap_msginfo_load(&l, m->uid, &mi))
			in = &mi.info;
		load_values(c, in, m, &c->values[i * c->crit_count]);
		imap_msginfo_free(&mi);
		recs[i] = (struct sort_rec){.pos = i, .idx = hits[i]};
	}
	imap_msginfo_loader_flush(&l);
	qsort_r(recs, n, sizeof(*recs), rec_cmp, c);
	for (size_t i = 0; i < n; i++)
		hits[i] = recs[i].idx;
	free_values(c, n);
	free(recs);
}

/* ALL of ESORT (RFC 5267 section 3.2): the numbers in sort order, so
 * only an ascending run of consecutive numbers becomes a range. */
static void write_ordered_set(struct buf *out, const struct imap_view *v,
                              const size_t *hits, size_t n, bool uid)
{
	for (size_t i = 0; i < n;) {
		uint32_t first = imap_view_number(v, hits[i], uid),
		         last = first;
		size_t j = i + 1;
		while (j < n && last != UINT32_MAX &&
		       imap_view_number(v, hits[j], uid) == last + 1)
			last = imap_view_number(v, hits[j++], uid);
		buf_printf(out, i > 0 ? ",%u" : "%u", first);
		if (last != first)
			buf_printf(out, ":%u", last);
		i = j;
	}
}

/* ESORT: * ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set],
 * MIN and MAX being the first and the last in sort order. */
static void write_esort(struct imap_job *job, const struct sort_ctx *c,
                        const size_t *hits, size_t n)
{
	const struct search_program *p = imap_search_program(c->search);
	const struct imap_view *v = job->s->view;
	struct buf *out = &job->io.out;
	imap_write_esearch_head(job, p, c->uid, hits, n);
	if (p->ret_all && n > 0) {
		buf_append_str(out, " ALL ");
		write_ordered_set(out, v, hits, n, c->uid);
	}
	imap_write_search_modseq(job, p, hits, n); /* RFC 7162 3.1.10 */
	buf_append_str(out, "\r\n");
}

static void sort_work(struct imap_job *job)
{
	struct sort_ctx *c = job->ctx;
	if (imap_job_store(job) == NULL)
		return;
	const struct search_program *p = imap_search_program(c->search);
	size_t n;
	size_t *hits = imap_search_run(job, c->search, &n);
	sort_hits(job, c, hits, n);
	bool only_save = p->ret_save && !p->ret_min && !p->ret_max &&
	                 !p->ret_all && !p->ret_count;
	if (!p->esearch) {
		buf_append_str(&job->io.out, "* SORT");
		for (size_t i = 0; i < n; i++)
			buf_printf(&job->io.out, " %u",
			           imap_view_number(job->s->view, hits[i],
			                            c->uid));
		imap_write_search_modseq(job, p, hits, n); /* RFC 7162 3.1.9 */
		buf_append_str(&job->io.out, "\r\n");
	} else if (!only_save) {
		write_esort(job, c, hits, n);
	}
	if (p->ret_save)
		imap_search_save(job->s, p, hits, n);
	free(hits);
	imap_job_reply(job, "OK", "SORT completed");
}

/* The THREAD fields of the message at view index idx, copied out of its
 * derived data (or empty when it is gone). */
static void thread_fields(struct imap_msginfo_loader *l,
                          const struct imap_view *v, size_t idx, bool uid,
                          struct thread_msg *t)
{
	const struct store_msg *m = &v->msgs[idx];
	struct imap_msginfo mi;
	const struct msginfo *in = &empty_info;
	if (imap_msginfo_load(l, m->uid, &mi))
		in = &mi.info;
	*t = (struct thread_msg){
	        .number = imap_view_number(v, idx, uid),
	        .date = sent_date(in, m),
	        .subject = fold(in->subject_base),
	        .reply = in->subject_reply,
	        .message_id = xstrdup(in->message_id),
	        .in_reply_to = xstrdup(in->in_reply_to),
	        .references = xstrdup(in->references),
	};
	imap_msginfo_free(&mi);
}

static void free_thread_msgs(struct thread_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)msgs[i].subject);
		free((char *)msgs[i].message_id);
		free((char *)msgs[i].in_reply_to);
		free((char *)msgs[i].references);
	}
	free(msgs);
}

/* RFC 5256 section 4: "* THREAD" and the thread-lists, if any. */
static void thread_work(struct imap_job *job)
{
	struct sort_ctx *c = job->ctx;
	if (imap_job_store(job) == NULL)
		return;
	const struct imap_view *v = job->s->view;
	struct imap_msginfo_loader l;
	size_t n;
	size_t *hits = imap_search_run(job, c->search, &n);
	struct thread_msg *msgs = xcalloc(n + 1, sizeof(*msgs));
	imap_msginfo_loader_init(&l, job->s->store, v->mailbox_id);
	for (size_t i = 0; i < n; i++)
		thread_fields(&l, v, hits[i], c->uid, &msgs[i]);
	imap_msginfo_loader_flush(&l);
	free(hits);
	size_t start = job->io.out.len;
	int ret =
	        buf_append_str(&job->io.out, n > 0 ? "* THREAD " : "* THREAD");
	if (ret == 0)
		ret = thread_write(c->alg, msgs, n, &job->io.out);
	if (ret == 0)
		ret = buf_append_str(&job->io.out, "\r\n");
	free_thread_msgs(msgs, n);
	if (ret < 0) {
		buf_truncate(&job->io.out, start);
		imap_job_reply(job, "NO", "[LIMIT] THREAD answer too large");
		return;
	}
	imap_job_reply(job, "OK", "THREAD completed");
}

/* RETURN (MIN MAX ALL COUNT SAVE) of ESORT, as ESEARCH's (RFC 4731
 * 3.1: "RETURN ()" means ALL). */
static int parse_return(const struct imap_arg *list, struct search_program *p)
{
	static const char *const names[] = {"MIN", "MAX", "ALL", "COUNT",
	                                    "SAVE"};
	bool *flags[] = {&p->ret_min, &p->ret_max, &p->ret_all, &p->ret_count,
	                 &p->ret_save};
	if (list->type != IMAP_ARG_LIST)
		return -1;
	p->esearch = true;
	p->ret_all = list->list_count == 0;
	for (size_t i = 0; i < list->list_count; i++) {
		size_t k = 0;
		while (k < 5 && !imap_arg_atom_equals(&list->list[i], names[k]))
			k++;
		if (k == 5)
			return -1;
		*flags[k] = true;
	}
	return 0;
}

/* (sort-criteria): keys, each after at most one REVERSE. */
static int parse_criteria(const struct imap_arg *list, struct sort_ctx *c)
{
	bool reverse = false;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return -1;
	c->crit = xcalloc(list->list_count, sizeof(*c->crit));
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t k = 0, nkeys = sizeof(sort_key_names) /
		                      sizeof(sort_key_names[0]);
		if (!reverse && imap_arg_atom_equals(a, "REVERSE")) {
			reverse = true;
			continue;
		}
		while (k < nkeys && !imap_arg_atom_equals(a, sort_key_names[k]))
			k++;
		if (k == nkeys)
			return -1;
		c->crit[c->crit_count++] =
		        (struct sort_criterion){(enum sort_key)k, reverse};
		reverse = false;
	}
	return reverse ? -1 : 0;
}

static void sort_bad(struct imap_session *s,
                     const struct imap_command_line *cmd, struct sort_ctx *c,
                     const char *text)
{
	conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, text);
	sort_ctx_free(c);
}

/* The charset argument and the search keys after it; false after
 * answering (and freeing c). */
static bool parse_search_part(struct imap_session *s,
                              const struct imap_command_line *cmd,
                              const struct imap_arg *args, size_t count,
                              struct sort_ctx *c)
{
	const char *str;
	size_t len;
	if (count < 1 || !imap_arg_get_astring(&args[0], &str, &len)) {
		sort_bad(s, cmd, c, "Invalid charset");
		return false;
	}
	char *charset = xstrndup(str, len);
	c->search = imap_search_parse(s, cmd, args + 1, count - 1, charset);
	free(charset);
	if (c->search == NULL) {
		sort_ctx_free(c);
		return false;
	}
	return true;
}

/* SORT [RETURN (options)] (criteria) charset keys */
void imap_cmd_sort(struct imap_session *s, const struct imap_command_line *cmd,
                   const struct imap_arg *args, size_t count, bool uid)
{
	struct sort_ctx *c = xcalloc(1, sizeof(*c));
	struct search_program ret;
	size_t pos = 0;
	memset(&ret, 0, sizeof(ret));
	c->uid = uid;
	if (count > 0 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (count < 2 || parse_return(&args[1], &ret) < 0) {
			sort_bad(s, cmd, c, "Invalid RETURN options");
			return;
		}
		pos = 2;
	}
	if (pos >= count || parse_criteria(&args[pos], c) < 0) {
		sort_bad(s, cmd, c, "Invalid sort criteria");
		return;
	}
	if (!parse_search_part(s, cmd, args + pos + 1, count - pos - 1, c))
		return;
	struct search_program *p = imap_search_program(c->search);
	p->esearch = ret.esearch;
	p->ret_min = ret.ret_min;
	p->ret_max = ret.ret_max;
	p->ret_all = ret.ret_all;
	p->ret_count = ret.ret_count;
	p->ret_save = ret.ret_save;
	imap_job_start(s, cmd, sort_work, imap_search_sync_mode(c->search, uid),
	               c, sort_ctx_free);
}

/* THREAD algorithm charset keys */
void imap_cmd_thread(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *args, size_t count, bool uid)
{
	struct sort_ctx *c = xcalloc(1, sizeof(*c));
	c->uid = uid;
	if (count > 0 && imap_arg_atom_equals(&args[0], "REFERENCES")) {
		c->alg = THREAD_REFERENCES;
	} else if (count > 0 &&
	           imap_arg_atom_equals(&args[0], "ORDEREDSUBJECT")) {
		c->alg = THREAD_ORDEREDSUBJECT;
	} else {
		sort_bad(s, cmd, c, "Unknown thread algorithm");
		return;
	}
	if (!parse_search_part(s, cmd, args + 1, count - 1, c))
		return;
	imap_job_start(s, cmd, thread_work,
	               imap_search_sync_mode(c->search, uid), c, sort_ctx_free);
}

void cmd_sort(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_sort(s, cmd, cmd->args, cmd->arg_count, false);
}

void cmd_thread(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_thread(s, cmd, cmd->args, cmd->arg_count, false);
}
