/* SEARCH and UID SEARCH (RFC 3501 6.4.4) with ESEARCH (RFC 4731),
 * SEARCHRES (RFC 5182), WITHIN (RFC 5032) and CONDSTORE's MODSEQ key
 * and results (RFC 7162 3.1.5, 3.1.6, 3.1.10).
 *
 * Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) match as users
 * expect: the field's value unfolded, RFC 2047-decoded to UTF-8 and
 * case-folded (i;unicode-casemap), against the folded string. They
 * look at the header text the index keeps with the searchable text
 * ("name: value" lines, so decoded and folded already); only a message
 * without it has its header read from its file. A header key at the
 * top of the program narrows the messages through the trigram index as
 * BODY and TEXT do (see below). SENT* use the Date
 * field (its own day; an unreadable one counts as the internal date, as
 * RFC 5256 does for SORT), from the derived data in the index.
 *
 * BODY and TEXT match the message's searchable text (mail/searchtext.h:
 * decoded, converted and folded), which the index keeps once computed;
 * a message without it is read and parsed, and its text stored for the
 * next search. A BODY or TEXT key at the top of the program first asks
 * the index's trigram table for candidates, so only those are looked
 * at; each is confirmed against its text, so the answer is a full
 * scan's.
 *
 * SORT and THREAD (cmd-sort.c) run a search the same way, through
 * cmd-search.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xalloc.h"
#include "imap/cmd-search.h"
#include "imap/imap-msginfo.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "imap/search.h"
#include "mail/casemap.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/searchtext.h"
#include "net/conn.h"

struct imap_search {
	struct search_program prog;
	bool uid;
	/* while evaluating one message */
	struct store *st;
	uint64_t mailbox_id;
	const struct store_msg *msg;
	const char *map; /* its file, mapped on first use */
	size_t map_len;
	size_t header_len; /* the header at the start of map */
	bool header_read;
	struct buf htext, btext; /* its searchable text, once loaded */
	bool text_loaded, text_ok;
	bool htext_loaded, htext_ok; /* the header text alone */
	/* derived data read (the Date for SENT*) and computed texts kept */
	struct imap_msginfo_loader loader;
	bool loader_ready;
};

void imap_search_free(void *p)
{
	struct imap_search *c = p;
	if (c == NULL)
		return;
	if (c->loader_ready)
		imap_msginfo_loader_discard(&c->loader);
	buf_free(&c->htext);
	buf_free(&c->btext);
	search_free(&c->prog);
	free(c);
}

/* The message's header, read once; false if its file is gone. */
static bool load_header(struct imap_search *c)
{
	if (c->header_read)
		return c->map != NULL;
	c->header_read = true;
	c->map = imap_map_message(c->st, c->mailbox_id, c->msg->uid,
	                          &c->map_len);
	if (c->map == NULL)
		return false;
	c->header_len = header_block_size(c->map, c->map_len);
	return true;
}

/* Does the field's value, decoded and folded, hold key's string? */
static bool value_contains(const char *value, size_t len,
                           const struct search_key *key)
{
	struct buf folded;
	buf_init(&folded, 16 * len + 64);
	bool found = key->folded != NULL &&
	             searchtext_value(value, len, &folded) == 0 &&
	             casemap_contains(buf_cstr(&folded), folded.len,
	                              key->folded, key->folded_len);
	buf_free(&folded);
	return found;
}

/* In the header text: a line "name: value" for the key's field whose
 * value holds the key's string. */
static bool match_header_text(struct imap_search *c,
                              const struct search_key *key)
{
	const char *p = buf_cstr(&c->htext), *end = p + c->htext.len;
	size_t flen = strlen(key->field);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		if ((size_t)(eol - p) >= flen + 2 &&
		    strncasecmp(p, key->field, flen) == 0 && p[flen] == ':' &&
		    p[flen + 1] == ' ' &&
		    casemap_contains(p + flen + 2, (size_t)(eol - p) - flen - 2,
		                     key->folded, key->folded_len))
			return true;
		p = eol + 1;
	}
	return false;
}

/* The header text from the index (or with the whole text, if loaded). */
static bool load_header_text(struct imap_search *c)
{
	if (c->text_loaded)
		return c->text_ok;
	if (c->htext_loaded)
		return c->htext_ok;
	c->htext_loaded = true;
	buf_reset(&c->htext);
	char *h;
	size_t hl;
	c->htext_ok = store_text_get(c->st, c->mailbox_id, c->msg->uid, &h, &hl,
	                             NULL, NULL) == STORE_OK &&
	              h != NULL;
	if (c->htext_ok)
		buf_append(&c->htext, h, hl);
	free(h);
	return c->htext_ok;
}

static bool match_header(struct imap_search *c, const struct search_key *key)
{
	if (key->folded == NULL)
		return false;
	if (load_header_text(c))
		return match_header_text(c, key);
	if (!load_header(c))
		return false;
	struct header_iter it;
	struct header_field f;
	header_iter_init(&it, c->map, c->header_len);
	size_t flen = strlen(key->field);
	while (header_iter_next(&it, &f)) {
		if (f.name_len == flen &&
		    strncasecmp(f.name, key->field, flen) == 0 &&
		    value_contains(f.value, f.value_len, key))
			return true;
	}
	return false;
}

/* Reads derived data and keeps what is computed, for this search. */
static struct imap_msginfo_loader *search_loader(struct imap_search *c)
{
	if (!c->loader_ready) {
		imap_msginfo_loader_init(&c->loader, c->st, c->mailbox_id);
		c->loader_ready = true;
	}
	return &c->loader;
}

/* SENT*: the Date field's day in its own zone. */
static bool match_sent(struct imap_search *c, const struct search_key *key)
{
	int64_t local = c->msg->internaldate + c->msg->tz_offset_min * 60;
	struct imap_msginfo mi;
	if (!imap_msginfo_load(search_loader(c), c->msg->uid, &mi))
		return false;
	if (mi.info.has_date)
		local = mi.info.date + (int64_t)mi.info.date_tz_min * 60;
	imap_msginfo_free(&mi);
	int64_t day = (local / 86400 - (local % 86400 < 0)) * 86400;
	int64_t when = (int64_t)key->number;
	if (key->op == SEARCH_SENTBEFORE)
		return day < when;
	if (key->op == SEARCH_SENTON)
		return day == when;
	return day >= when;
}

/* A copy of buf for an entry to keep. */
static void copy_text(struct buf *to, const struct buf *from)
{
	buf_init(to, from->len + 1);
	buf_append(to, buf_cstr(from), from->len);
}

/* Compute the message's texts from its file; they are kept in the index
 * with the loader's next batch (a failure only costs a recompute). */
static bool compute_text(struct imap_search *c)
{
	size_t len;
	const char *msg =
	        imap_map_message(c->st, c->mailbox_id, c->msg->uid, &len);
	if (msg == NULL)
		return false;
	int ret = searchtext_build(msg, len, &c->htext, &c->btext);
	imap_unmap_message(msg, len);
	if (ret < 0)
		return false;
	struct imap_derived d = {0};
	buf_init(&d.d.blob, 0);
	copy_text(&d.d.header_text, &c->htext);
	copy_text(&d.d.body_text, &c->btext);
	d.entry = (struct store_cache_entry){
	        .header_text = buf_cstr(&d.d.header_text),
	        .header_len = d.d.header_text.len,
	        .body_text = buf_cstr(&d.d.body_text),
	        .body_len = d.d.body_text.len,
	};
	imap_msginfo_keep(search_loader(c), c->msg->uid, &d);
	return true;
}

/* The message's searchable texts into htext/btext: from the index, or
 * computed. */
static bool load_text(struct imap_search *c)
{
	if (c->text_loaded)
		return c->text_ok;
	c->text_loaded = true;
	buf_reset(&c->htext);
	buf_reset(&c->btext);
	char *h, *b;
	size_t hl, bl;
	if (store_text_get(c->st, c->mailbox_id, c->msg->uid, &h, &hl, &b,
	                   &bl) == STORE_OK &&
	    b != NULL) {
		buf_append(&c->htext, h, hl);
		buf_append(&c->btext, b, bl);
		c->text_ok = true;
	} else {
		c->text_ok = compute_text(c);
	}
	free(h);
	free(b);
	return c->text_ok;
}

static bool match_text(struct imap_search *c, const struct search_key *key)
{
	if (key->folded == NULL || !load_text(c))
		return false;
	if (casemap_contains(buf_cstr(&c->btext), c->btext.len, key->folded,
	                     key->folded_len))
		return true;
	return key->op == SEARCH_TEXT &&
	       casemap_contains(buf_cstr(&c->htext), c->htext.len, key->folded,
	                        key->folded_len);
}

static bool match_content(const struct search_key *key, void *ctx)
{
	struct imap_search *c = ctx;
	if (key->op == SEARCH_BODY || key->op == SEARCH_TEXT)
		return match_text(c, key);
	switch (key->op) {
	case SEARCH_HEADER:
		return match_header(c, key);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		return match_sent(c, key);
	default:
		return false;
	}
}

/* The key at the top of the program (one the whole program needs to
 * match) that the trigram index narrows best: a BODY, TEXT or header
 * key with the longest string; NULL if there is none. */
static const struct search_key *top_text_key(const struct search_program *p)
{
	const struct search_key *best = NULL;
	for (size_t i = 0; i < p->root.child_count; i++) {
		const struct search_key *k = &p->root.children[i];
		if ((k->op == SEARCH_BODY || k->op == SEARCH_TEXT ||
		     k->op == SEARCH_HEADER) &&
		    k->folded != NULL &&
		    (best == NULL || k->folded_len > best->folded_len))
			best = k;
	}
	return best;
}

/* The UIDs that can match at all (ascending, malloc'd), or NULL for
 * every message: from the trigram index, for a top-level key on the
 * searchable text (header keys match its header part). */
static uint32_t *candidates(struct imap_search *c, size_t *count_r)
{
	const struct search_key *k = top_text_key(&c->prog);
	uint32_t *uids = NULL;
	bool all = true;
	if (k == NULL)
		return NULL;
	enum store_text_part part = k->op == SEARCH_BODY   ? STORE_TEXT_BODY
	                            : k->op == SEARCH_TEXT ? STORE_TEXT_ALL
	                                                   : STORE_TEXT_HEADER;
	if (store_text_candidates(c->st, c->mailbox_id, k->folded, part, &uids,
	                          count_r, &all) != STORE_OK)
		all = true;
	if (all) {
		free(uids);
		return NULL;
	}
	return uids;
}

static void msg_of(struct search_msg *m, const struct imap_view *v, size_t i)
{
	const struct store_msg *msg = &v->msgs[i];
	m->seq = (uint32_t)i + 1;
	m->uid = msg->uid;
	m->flags = msg->flags & STORE_FLAGS_ALL;
	m->recent = (msg->flags & IMAP_VIEW_RECENT) != 0;
	m->keywords = msg->keywords;
	m->internaldate = msg->internaldate;
	m->tz_offset_min = msg->tz_offset_min;
	m->size = msg->size;
	m->modseq = msg->modseq;
}

size_t *imap_search_run(struct imap_job *job, struct imap_search *c,
                        size_t *count_r)
{
	struct imap_session *s = job->s;
	const struct imap_view *v = s->view;
	size_t *hits = xmalloc((v->count + 1) * sizeof(*hits)), n = 0;
	struct search_msg m = {
	        .max_seq = (uint32_t)v->count,
	        .max_uid = v->count > 0 ? v->msgs[v->count - 1].uid : 0,
	        .now = (uint64_t)time(NULL),
	        .saved = s->saved,
	        .saved_count = s->saved_count,
	        .content = match_content,
	        .ctx = c,
	};
	c->st = s->store;
	c->mailbox_id = v->mailbox_id;
	size_t cand_count = 0, next = 0;
	uint32_t *cand = candidates(c, &cand_count);
	for (size_t i = 0; i < v->count; i++) {
		if (cand != NULL) {
			while (next < cand_count && cand[next] < v->msgs[i].uid)
				next++;
			if (next == cand_count || cand[next] != v->msgs[i].uid)
				continue;
		}
		msg_of(&m, v, i);
		c->msg = &v->msgs[i];
		c->header_read = false;
		c->text_loaded = false;
		c->htext_loaded = false;
		if (search_match(&c->prog.root, &m))
			hits[n++] = i;
		imap_unmap_message(c->map, c->map_len);
		c->map = NULL;
	}
	free(cand);
	if (c->loader_ready)
		imap_msginfo_loader_flush(&c->loader);
	*count_r = n;
	return hits;
}

uint64_t imap_search_modseq(const struct imap_view *v,
                            const struct search_program *p, const size_t *hits,
                            size_t n)
{
	bool minmax = p->esearch && (p->ret_min || p->ret_max) && !p->ret_all &&
	              !p->ret_count;
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		bool returned = !minmax || (p->ret_min && i == 0) ||
		                (p->ret_max && i == n - 1);
		if (returned && v->msgs[hits[i]].modseq > max)
			max = v->msgs[hits[i]].modseq;
	}
	return max;
}

void imap_write_search_modseq(struct imap_job *job,
                              const struct search_program *p,
                              const size_t *hits, size_t n)
{
	if (!p->modseq || n == 0)
		return;
	unsigned long long max = imap_search_modseq(job->s->view, p, hits, n);
	buf_printf(&job->io.out, p->esearch ? " MODSEQ %llu" : " (MODSEQ %llu)",
	           max);
}

static void write_plain(struct imap_job *job, const size_t *hits, size_t n)
{
	struct imap_search *c = job->ctx;
	buf_append_str(&job->io.out, "* SEARCH");
	for (size_t i = 0; i < n; i++)
		buf_printf(&job->io.out, " %u",
		           imap_view_number(job->s->view, hits[i], c->uid));
	/* RFC 7162 3.1.6 */
	imap_write_search_modseq(job, &c->prog, hits, n);
	buf_append_str(&job->io.out, "\r\n");
}

void imap_write_esearch_head(struct imap_job *job,
                             const struct search_program *p, bool uid,
                             const size_t *hits, size_t n)
{
	const struct imap_view *v = job->s->view;
	struct buf *out = &job->io.out;
	buf_printf(out, "* ESEARCH (TAG \"%s\")%s", job->tag,
	           uid ? " UID" : "");
	if (p->ret_min && n > 0)
		buf_printf(out, " MIN %u", imap_view_number(v, hits[0], uid));
	if (p->ret_max && n > 0)
		buf_printf(out, " MAX %u",
		           imap_view_number(v, hits[n - 1], uid));
	if (p->ret_count)
		buf_printf(out, " COUNT %zu", n);
}

/* * ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set] */
static void write_esearch(struct imap_job *job, const size_t *hits, size_t n)
{
	struct imap_search *c = job->ctx;
	const struct imap_view *v = job->s->view;
	struct buf *out = &job->io.out;
	imap_write_esearch_head(job, &c->prog, c->uid, hits, n);
	if (c->prog.ret_all && n > 0) {
		uint32_t *nums = xmalloc(n * sizeof(*nums));
		for (size_t i = 0; i < n; i++)
			nums[i] = imap_view_number(v, hits[i], c->uid);
		buf_append_str(out, " ALL ");
		imap_write_uid_set(out, nums, n);
		free(nums);
	}
	/* RFC 7162 3.1.10 */
	imap_write_search_modseq(job, &c->prog, hits, n);
	buf_append_str(out, "\r\n");
}

/* SAVE (RFC 5182 2.4): the result, or just its MIN/MAX when only those
 * were asked for besides SAVE, becomes "$" (ascending UIDs, whatever
 * order hits are in). */
void imap_search_save(struct imap_session *s, const struct search_program *p,
                      const size_t *hits, size_t n)
{
	const struct imap_view *v = s->view;
	bool minmax =
	        (p->ret_min || p->ret_max) && !p->ret_all && !p->ret_count;
	free(s->saved);
	s->saved = xmalloc((n + 1) * sizeof(*s->saved));
	s->saved_count = 0;
	for (size_t i = 0; i < n; i++) {
		bool keep = !minmax || (p->ret_min && i == 0) ||
		            (p->ret_max && i == n - 1);
		if (keep)
			s->saved[s->saved_count++] = v->msgs[hits[i]].uid;
	}
	imap_sort_uids(s->saved, s->saved_count);
}

static void search_work(struct imap_job *job)
{
	struct imap_search *c = job->ctx;
	if (imap_job_store(job) == NULL)
		return;
	const struct search_program *p = &c->prog;
	size_t n;
	size_t *hits = imap_search_run(job, c, &n);
	bool only_save = p->ret_save && !p->ret_min && !p->ret_max &&
	                 !p->ret_all && !p->ret_count;
	if (!p->esearch)
		write_plain(job, hits, n);
	else if (!only_save)
		write_esearch(job, hits, n);
	if (p->ret_save)
		imap_search_save(job->s, p, hits, n);
	free(hits);
	imap_job_reply(job, "OK", "SEARCH completed");
}

static bool charset_supported(const char *charset)
{
	return charset == NULL || strcasecmp(charset, "UTF-8") == 0 ||
	       strcasecmp(charset, "US-ASCII") == 0;
}

struct imap_search *imap_search_parse(struct imap_session *s,
                                      const struct imap_command_line *cmd,
                                      const struct imap_arg *args, size_t count,
                                      const char *charset)
{
	struct imap_search *c = xcalloc(1, sizeof(*c));
	const char *error;
	buf_init(&c->htext, (size_t)1 << 28);
	buf_init(&c->btext, (size_t)1 << 28);
	int ret = search_parse(args, count, &c->prog, &error);
	/* SORT and THREAD have neither CHARSET nor RETURN among the keys */
	if (ret == 0 && charset != NULL &&
	    (c->prog.charset != NULL || c->prog.esearch)) {
		ret = -1;
		error = "Invalid search key";
	}
	if (ret < 0) {
		conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, error);
		imap_search_free(c);
		return NULL;
	}
	if (charset != NULL)
		c->prog.charset = xstrdup(charset);
	if (!charset_supported(c->prog.charset)) {
		conn_printf(s->conn,
		            "%s NO [BADCHARSET (US-ASCII UTF-8)] Unsupported "
		            "charset\r\n",
		            cmd->tag);
		imap_search_free(c);
		return NULL;
	}
	/* RFC 7162 3.1: a MODSEQ key enables CONDSTORE */
	if (c->prog.modseq)
		imap_condstore_enable(s);
	return c;
}

struct search_program *imap_search_program(struct imap_search *search)
{
	return &search->prog;
}

enum imap_sync_mode imap_search_sync_mode(const struct imap_search *search,
                                          bool uid)
{
	/* RFC 7162 3.2.10.2, RFC 3501 7.4.1: no expunges during SEARCH,
	 * nor during a UID SEARCH that names sequence numbers */
	if (!uid || search_uses_seqnums(&search->prog.root))
		return IMAP_SYNC_NO_EXPUNGE;
	return IMAP_SYNC_ALL;
}

void imap_cmd_search(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *args, size_t count, bool uid)
{
	struct imap_search *c = imap_search_parse(s, cmd, args, count, NULL);
	if (c == NULL)
		return;
	c->uid = uid;
	imap_job_start(s, cmd, search_work, imap_search_sync_mode(c, uid), c,
	               imap_search_free);
}

void cmd_search(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_search(s, cmd, cmd->args, cmd->arg_count, false);
}
