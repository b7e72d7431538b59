/* The selected mailbox as one session sees it; see imap-view.h. */
#include "imap/imap-view.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "proto/imap-quote.h"
#include "proto/seqset.h"

#define SEQSET_MAX_RANGES 100000

static const struct {
	uint32_t flag;
	const char *name;
} system_flags[] = {
        {STORE_FLAG_ANSWERED, "\\Answered"}, {STORE_FLAG_FLAGGED, "\\Flagged"},
        {STORE_FLAG_DELETED, "\\Deleted"},   {STORE_FLAG_SEEN, "\\Seen"},
        {STORE_FLAG_DRAFT, "\\Draft"},
};

static void msg_clear(struct store_msg *m)
{
	free(m->keywords);
	m->keywords = NULL;
}

static void view_add(struct imap_view *v, struct store_msg *m, bool recent)
{
	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->msgs = xrealloc(v->msgs, v->cap * sizeof(*v->msgs));
	}
	v->msgs[v->count] = *m;
	m->keywords = NULL; /* moved */
	if (recent) {
		v->msgs[v->count].flags |= IMAP_VIEW_RECENT;
		v->recent_count++;
	}
	v->count++;
}

static void view_set_keywords(struct imap_view *v, struct store_changes *ch)
{
	for (size_t i = 0; i < v->keyword_count; i++)
		free(v->keywords[i]);
	free(v->keywords);
	v->keywords = ch->keywords;
	v->keyword_count = ch->keyword_count;
	ch->keywords = NULL;
	ch->keyword_count = 0;
}

enum store_status imap_view_open(struct store *st, const char *name,
                                 bool readonly, struct imap_view **view_r)
{
	struct store_changes ch;
	enum store_status ret = store_sync(st, name, 0, !readonly, &ch);
	if (ret != STORE_OK)
		return ret;
	struct imap_view *v = xcalloc(1, sizeof(*v));
	v->mailbox_id = ch.mailbox_id;
	v->name = xstrdup(name);
	v->readonly = readonly;
	v->uidvalidity = ch.uidvalidity;
	v->uidnext = ch.uidnext;
	v->modseq = ch.highestmodseq;
	v->reported_modseq = ch.highestmodseq;
	/* the view takes the store's array as it is */
	v->msgs = ch.msgs;
	v->count = v->cap = ch.msg_count;
	ch.msgs = NULL;
	ch.msg_count = 0;
	for (size_t i = 0; i < v->count; i++) {
		if (v->msgs[i].uid >= ch.recent_uid) {
			v->msgs[i].flags |= IMAP_VIEW_RECENT;
			v->recent_count++;
		}
	}
	view_set_keywords(v, &ch);
	store_changes_free(&ch);
	*view_r = v;
	return STORE_OK;
}

void imap_view_free(struct imap_view **view)
{
	struct imap_view *v = *view;
	if (v == NULL)
		return;
	*view = NULL;
	for (size_t i = 0; i < v->count; i++)
		msg_clear(&v->msgs[i]);
	for (size_t i = 0; i < v->keyword_count; i++)
		free(v->keywords[i]);
	free(v->keywords);
	free(v->msgs);
	free(v->pending);
	free(v->name);
	free(v);
}

static void write_flag_names(const struct imap_view *v, struct buf *out)
{
	for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]);
	     i++)
		buf_printf(out, "%s%s", i == 0 ? "" : " ",
		           system_flags[i].name);
	for (size_t i = 0; i < v->keyword_count; i++)
		buf_printf(out, " %s", v->keywords[i]);
}

/* First index with uid >= the given one. */
static size_t lower_bound(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long imap_view_find(const struct imap_view *v, uint32_t uid)
{
	size_t i = lower_bound(v, uid);
	return i < v->count && v->msgs[i].uid == uid ? (long)i : -1;
}

static void write_flags_lines(const struct imap_view *v, struct buf *out)
{
	buf_append_str(out, "* FLAGS (");
	write_flag_names(v, out);
	buf_append_str(out, ")\r\n* OK [PERMANENTFLAGS (");
	if (!v->readonly) {
		write_flag_names(v, out);
		buf_append_str(out, " \\*");
	}
	buf_append_str(out, ")] Flags permitted\r\n");
}

void imap_view_write_select(const struct imap_view *v, struct buf *out)
{
	write_flags_lines(v, out);
	buf_printf(out, "* %zu EXISTS\r\n* %u RECENT\r\n", v->count,
	           v->recent_count);
	for (size_t i = 0; i < v->count; i++) {
		if ((v->msgs[i].flags & STORE_FLAG_SEEN) == 0) {
			buf_printf(out, "* OK [UNSEEN %zu] First unseen\r\n",
			           i + 1);
			break;
		}
	}
	buf_printf(out,
	           "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	           "* OK [UIDNEXT %u] Predicted next UID\r\n",
	           v->uidvalidity, v->uidnext);
}

void imap_view_write_flags(const struct store_msg *m, struct buf *out)
{
	bool first = true;
	buf_append_byte(out, '(');
	for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]);
	     i++) {
		if ((m->flags & system_flags[i].flag) == 0)
			continue;
		buf_printf(out, "%s%s", first ? "" : " ", system_flags[i].name);
		first = false;
	}
	if (m->keywords != NULL && m->keywords[0] != '\0') {
		buf_printf(out, "%s%s", first ? "" : " ", m->keywords);
		first = false;
	}
	if (m->flags & IMAP_VIEW_RECENT)
		buf_printf(out, "%s\\Recent", first ? "" : " ");
	buf_append_byte(out, ')');
}

void imap_view_write_fetch(const struct imap_view *v, size_t i,
                           unsigned int items, struct buf *out)
{
	const struct store_msg *m = &v->msgs[i];
	const char *sep = "";
	buf_printf(out, "* %zu FETCH (", i + 1);
	if (items & IMAP_VIEW_FETCH_UID) {
		buf_printf(out, "UID %u", m->uid);
		sep = " ";
	}
	if (items & IMAP_VIEW_FETCH_FLAGS) {
		buf_printf(out, "%sFLAGS ", sep);
		imap_view_write_flags(m, out);
		sep = " ";
	}
	if (items & IMAP_VIEW_FETCH_MODSEQ)
		buf_printf(out, "%sMODSEQ (%llu)", sep,
		           (unsigned long long)m->modseq);
	buf_append_str(out, ")\r\n");
}

static bool same_flags(const struct store_msg *a, const struct store_msg *b)
{
	const char *ka = a->keywords != NULL ? a->keywords : "";
	const char *kb = b->keywords != NULL ? b->keywords : "";
	return (a->flags & STORE_FLAGS_ALL) == (b->flags & STORE_FLAGS_ALL) &&
	       strcmp(ka, kb) == 0;
}

void imap_view_update(struct imap_view *v, const struct store_msg *m)
{
	long i = imap_view_find(v, m->uid);
	if (i < 0)
		return;
	struct store_msg *own = &v->msgs[i];
	own->flags = (own->flags & IMAP_VIEW_RECENT) | m->flags;
	free(own->keywords);
	own->keywords = m->keywords != NULL ? xstrdup(m->keywords) : NULL;
	own->modseq = m->modseq;
}

/* Drop the messages marked with uid 0, keeping order. */
static void compact(struct imap_view *v)
{
	size_t j = 0;
	for (size_t i = 0; i < v->count; i++) {
		if (v->msgs[i].uid != 0)
			v->msgs[j++] = v->msgs[i];
	}
	v->count = j;
}

/* "* VANISHED set" of the uids found in the view (RFC 7162 3.2.10.2:
 * only messages the client knows of). */
static void write_vanished(const uint32_t *uids, const long *at, size_t count,
                           struct buf *out)
{
	uint32_t *known = xmalloc((count + 1) * sizeof(*known));
	size_t n = 0;
	for (size_t k = 0; k < count; k++) {
		if (at[k] >= 0)
			known[n++] = uids[k];
	}
	if (n > 0) {
		buf_append_str(out, "* VANISHED ");
		imap_write_uid_set(out, known, n);
		buf_append_str(out, "\r\n");
	}
	free(known);
}

void imap_view_expunged(struct imap_view *v, const uint32_t *uids, size_t count,
                        struct buf *out)
{
	/* find them all first: the search needs the array intact */
	long *at = xmalloc((count + 1) * sizeof(*at));
	for (size_t k = 0; k < count; k++)
		at[k] = imap_view_find(v, uids[k]);
	if (v->qresync)
		write_vanished(uids, at, count, out);
	/* then highest first, so each number is valid when it is sent */
	size_t removed = 0;
	for (size_t k = count; k-- > 0;) {
		long i = at[k];
		if (i < 0)
			continue;
		if (!v->qresync)
			buf_printf(out, "* %ld EXPUNGE\r\n", i + 1);
		if (v->msgs[i].flags & IMAP_VIEW_RECENT)
			v->recent_count--;
		msg_clear(&v->msgs[i]);
		v->msgs[i].uid = 0;
		removed++;
	}
	free(at);
	if (removed > 0)
		compact(v);
}

static void add_pending(struct imap_view *v, const uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	v->pending = xrealloc(v->pending,
	                      (v->pending_count + n) * sizeof(*v->pending));
	for (size_t i = 0; i < n; i++) {
		if (imap_view_find(v, uids[i]) >= 0)
			v->pending[v->pending_count++] = uids[i];
	}
}

/* The view's messages that are not among ch's (every message) were
 * expunged. */
static void add_missing(struct imap_view *v, const struct store_changes *ch)
{
	uint32_t *gone = xmalloc((v->count + 1) * sizeof(*gone));
	size_t n = 0, j = 0;
	for (size_t i = 0; i < v->count; i++) {
		uint32_t uid = v->msgs[i].uid;
		while (j < ch->msg_count && ch->msgs[j].uid < uid)
			j++;
		if (j == ch->msg_count || ch->msgs[j].uid != uid)
			gone[n++] = uid;
	}
	add_pending(v, gone, n);
	free(gone);
}

/* Announce the pending expunges: ascending, each once. */
static void flush_pending(struct imap_view *v, struct buf *out)
{
	size_t n = 0;
	imap_sort_uids(v->pending, v->pending_count);
	for (size_t i = 0; i < v->pending_count; i++) {
		if (n == 0 || v->pending[i] != v->pending[n - 1])
			v->pending[n++] = v->pending[i];
	}
	imap_view_expunged(v, v->pending, n, out);
	v->pending_count = 0;
}

static void apply_changes(struct imap_view *v, struct store_changes *ch,
                          bool condstore, struct buf *out)
{
	size_t before = v->count;
	uint32_t last = v->count > 0 ? v->msgs[v->count - 1].uid : 0;
	/* RFC 7162 3.2.4: UID and MODSEQ once CONDSTORE-aware */
	unsigned int items =
	        IMAP_VIEW_FETCH_FLAGS |
	        (condstore ? IMAP_VIEW_FETCH_UID | IMAP_VIEW_FETCH_MODSEQ : 0);
	for (size_t i = 0; i < ch->msg_count; i++) {
		struct store_msg *m = &ch->msgs[i];
		if (m->uid > last) {
			view_add(v, m,
			         !v->readonly && m->uid >= ch->recent_uid);
			last = m->uid;
			continue;
		}
		long k = imap_view_find(v, m->uid);
		if (k < 0 || same_flags(&v->msgs[k], m)) {
			if (k >= 0)
				v->msgs[k].modseq = m->modseq;
			continue;
		}
		imap_view_update(v, m);
		imap_view_write_fetch(v, (size_t)k, items, out);
	}
	if (v->count != before)
		buf_printf(out, "* %zu EXISTS\r\n* %u RECENT\r\n", v->count,
		           v->recent_count);
}

static bool keywords_changed(const struct imap_view *v,
                             const struct store_changes *ch)
{
	if (ch->keyword_count != v->keyword_count)
		return true;
	for (size_t i = 0; i < ch->keyword_count; i++) {
		if (strcmp(ch->keywords[i], v->keywords[i]) != 0)
			return true;
	}
	return false;
}

/* The expunges of ch: into the pending list, announced if allowed; and
 * the HIGHESTMODSEQ a client may keep, which cannot pass an expunge
 * held back (RFC 7162 3.2: every expunge in ch is above v->modseq). */
static void sync_expunges(struct imap_view *v, struct store_changes *ch,
                          bool allow_expunge, struct buf *out)
{
	bool held = v->pending_count > 0;
	if (ch->expunges_unknown)
		add_missing(v, ch);
	else
		add_pending(v, ch->expunged, ch->expunged_count);
	if (allow_expunge && v->pending_count > 0)
		flush_pending(v, out);
	if (v->pending_count == 0)
		v->reported_modseq = ch->highestmodseq;
	else if (!held)
		v->reported_modseq = v->modseq;
}

void imap_view_sync(struct imap_job *job, bool allow_expunge)
{
	struct imap_session *s = job->s;
	struct imap_view *v = s->view;
	struct store *st = imap_job_store(job);
	struct store_changes ch;
	if (st == NULL)
		return;
	enum store_status ret =
	        store_sync_id(st, v->mailbox_id, v->modseq, !v->readonly, &ch);
	if (ret == STORE_OK && ch.expunges_unknown) {
		/* the store's history of expunges may not reach back to the
		 * last sync (the index was rebuilt): compare everything */
		uint32_t recent_uid = ch.recent_uid; /* claimed just now */
		store_changes_free(&ch);
		ret = store_sync_id(st, v->mailbox_id, 0, !v->readonly, &ch);
		ch.expunges_unknown = ret == STORE_OK;
		ch.recent_uid = recent_uid;
	}
	if (ret == STORE_NONEXISTENT ||
	    (ret == STORE_OK && ch.uidvalidity != v->uidvalidity)) {
		job->bye = true;
		if (ret == STORE_OK)
			store_changes_free(&ch);
		return;
	}
	if (ret != STORE_OK)
		return; /* reported at the next sync */
	sync_expunges(v, &ch, allow_expunge, &job->io.out);
	if (keywords_changed(v, &ch)) {
		view_set_keywords(v, &ch);
		write_flags_lines(v, &job->io.out);
	}
	apply_changes(v, &ch, s->condstore, &job->io.out);
	v->uidnext = ch.uidnext;
	v->modseq = ch.highestmodseq;
	store_changes_free(&ch);
	/* RFC 7162 3.1 (the first enabling command) and 3.2 (MODSEQs may
	 * have been sent above an expunge held back) */
	if (s->condstore && (v->announce_modseq || v->pending_count > 0))
		buf_printf(&job->io.out,
		           "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		           (unsigned long long)v->reported_modseq);
	v->announce_modseq = false;
}

void imap_condstore_enable(struct imap_session *s)
{
	if (!s->condstore && s->view != NULL)
		s->view->announce_modseq = true;
	s->condstore = true;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void imap_sort_uids(uint32_t *uids, size_t n)
{
	qsort(uids, n, sizeof(*uids), uid_cmp);
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Append the indexes of one range; -1 for a sequence number past the
 * end. */
static int resolve_range(const struct imap_view *v, struct seqset_range r,
                         bool uid, size_t **idx, size_t *n, size_t *cap)
{
	uint32_t star = uid ? (v->count > 0 ? v->msgs[v->count - 1].uid : 0)
	                    : (uint32_t)v->count;
	uint32_t lo = r.lo == SEQSET_STAR ? star : r.lo;
	uint32_t hi = r.hi == SEQSET_STAR ? star : r.hi;
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	size_t from, to; /* [from, to) */
	if (uid) {
		from = lower_bound(v, lo);
		to = hi == UINT32_MAX ? v->count : lower_bound(v, hi + 1);
	} else {
		if (hi > v->count || lo == 0)
			return v->count == 0 && r.hi == SEQSET_STAR ? 0 : -1;
		from = lo - 1;
		to = hi;
	}
	for (size_t i = from; i < to; i++) {
		if (*n == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			*idx = xrealloc(*idx, *cap * sizeof(**idx));
		}
		(*idx)[(*n)++] = i;
	}
	return 0;
}

int imap_view_resolve(const struct imap_view *v, const char *set, bool uid,
                      size_t **idx_r, size_t *count_r, const char **error_r)
{
	struct seqset ss;
	size_t *idx = NULL, n = 0, cap = 0;
	if (seqset_parse(set, SEQSET_MAX_RANGES, &ss, error_r) < 0)
		return -1;
	for (size_t i = 0; i < ss.count; i++) {
		if (resolve_range(v, ss.ranges[i], uid, &idx, &n, &cap) < 0) {
			*error_r = "Invalid message sequence number";
			free(idx);
			seqset_free(&ss);
			return -1;
		}
	}
	bool several = ss.count > 1;
	seqset_free(&ss);
	if (several && n > 1) {
		qsort(idx, n, sizeof(*idx), size_cmp);
		size_t j = 1;
		for (size_t i = 1; i < n; i++) {
			if (idx[i] != idx[j - 1])
				idx[j++] = idx[i];
		}
		n = j;
	}
	*idx_r = idx;
	*count_r = n;
	return 0;
}

uint32_t *imap_view_uids(const struct imap_view *v, const size_t *idx,
                         size_t count)
{
	uint32_t *uids = xmalloc((count == 0 ? 1 : count) * sizeof(*uids));
	for (size_t i = 0; i < count; i++)
		uids[i] = v->msgs[idx[i]].uid;
	return uids;
}

void imap_write_uid_set(struct buf *out, const uint32_t *uids, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;
		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		buf_printf(out, "%s%u", i == 0 ? "" : ",", uids[i]);
		if (j > i)
			buf_printf(out, ":%u", uids[j]);
		i = j + 1;
	}
}

/* A UID set being written: ranges come in ascending order and are
 * joined when they touch; head goes before the first. */
struct uidset_writer {
	struct buf *out;
	const char *head;
	uint32_t lo, hi;
	bool open, any;
};

static void uidset_flush(struct uidset_writer *w)
{
	if (!w->open)
		return;
	buf_printf(w->out, "%s%u", w->any ? "," : w->head, w->lo);
	if (w->hi != w->lo)
		buf_printf(w->out, ":%u", w->hi);
	w->any = true;
	w->open = false;
}

static void uidset_add(struct uidset_writer *w, uint32_t lo, uint32_t hi)
{
	if (w->open && w->hi != UINT32_MAX && lo <= w->hi + 1) {
		if (hi > w->hi)
			w->hi = hi;
		return;
	}
	uidset_flush(w);
	w->lo = lo;
	w->hi = hi;
	w->open = true;
}

static int range_cmp(const void *a, const void *b)
{
	const struct seqset_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of known ('*' standing for to; NULL: all), sorted, merged
 * and clipped to [from, to]; malloc'd, *n_r of them. */
static struct seqset_range *known_ranges(const struct seqset *known,
                                         uint32_t from, uint32_t to,
                                         size_t *n_r)
{
	size_t count = known != NULL ? known->count : 1, n = 0;
	struct seqset_range *r = xmalloc((count + 1) * sizeof(*r));
	for (size_t i = 0; i < count; i++) {
		struct seqset_range x = known != NULL
		                                ? known->ranges[i]
		                                : (struct seqset_range){1, to};
		uint32_t lo = x.lo == SEQSET_STAR ? to : x.lo;
		uint32_t hi = x.hi == SEQSET_STAR ? to : x.hi;
		r[i] = lo <= hi ? (struct seqset_range){lo, hi}
		                : (struct seqset_range){hi, lo};
	}
	qsort(r, count, sizeof(*r), range_cmp);
	for (size_t i = 0; i < count; i++) {
		uint32_t lo = r[i].lo < from ? from : r[i].lo;
		uint32_t hi = r[i].hi > to ? to : r[i].hi;
		if (lo > hi)
			continue;
		if (n > 0 && r[n - 1].hi != UINT32_MAX &&
		    lo <= r[n - 1].hi + 1) {
			if (hi > r[n - 1].hi)
				r[n - 1].hi = hi;
			continue;
		}
		r[n++] = (struct seqset_range){lo, hi};
	}
	*n_r = n;
	return r;
}

/* Every UID of the ranges that is not in the view. */
static void write_absent(const struct imap_view *v,
                         const struct seqset_range *r, size_t n,
                         struct uidset_writer *w)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t next = r[k].lo;
		for (size_t i = lower_bound(v, r[k].lo);
		     i < v->count && v->msgs[i].uid <= r[k].hi; i++) {
			if (v->msgs[i].uid > next)
				uidset_add(w, (uint32_t)next,
				           v->msgs[i].uid - 1);
			next = (uint64_t)v->msgs[i].uid + 1;
		}
		if (next <= r[k].hi)
			uidset_add(w, (uint32_t)next, r[k].hi);
	}
}

/* The expunged uids (ascending) that fall in the ranges and are not in
 * the view. */
static void write_expunged(const struct imap_view *v, const uint32_t *uids,
                           size_t count, const struct seqset_range *r, size_t n,
                           struct uidset_writer *w)
{
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		while (k < n && r[k].hi < uids[i])
			k++;
		if (k == n)
			break;
		if (uids[i] >= r[k].lo && imap_view_find(v, uids[i]) < 0)
			uidset_add(w, uids[i], uids[i]);
	}
}

void imap_view_write_changed(const struct imap_view *v,
                             const struct seqset *known, uint64_t since,
                             struct buf *out)
{
	size_t n = 0, k = 0;
	struct seqset_range *r =
	        known_ranges(known, 1, v->uidnext > 0 ? v->uidnext - 1 : 0, &n);
	for (size_t i = 0; i < v->count; i++) {
		uint32_t uid = v->msgs[i].uid;
		while (k < n && r[k].hi < uid)
			k++;
		if (k == n)
			break;
		if (uid >= r[k].lo && v->msgs[i].modseq > since)
			imap_view_write_fetch(v, i,
			                      IMAP_VIEW_FETCH_UID |
			                              IMAP_VIEW_FETCH_FLAGS |
			                              IMAP_VIEW_FETCH_MODSEQ,
			                      out);
	}
	free(r);
}

enum store_status
imap_view_write_vanished_earlier(const struct imap_view *v, struct store *st,
                                 const struct seqset *known, uint32_t from_uid,
                                 uint64_t since, struct buf *out)
{
	uint32_t *uids = NULL;
	size_t count = 0, n = 0;
	bool complete = false;
	enum store_status ret = store_expunged_since(st, v->mailbox_id, since,
	                                             &uids, &count, &complete);
	if (ret != STORE_OK)
		return ret;
	uint32_t to = v->uidnext > 0 ? v->uidnext - 1 : 0;
	struct seqset_range *r =
	        known_ranges(known, from_uid > 0 ? from_uid : 1, to, &n);
	struct uidset_writer w = {.out = out, .head = "* VANISHED (EARLIER) "};
	/* RFC 7162 3.2.6: older than the history, every UID not here */
	if (complete)
		write_expunged(v, uids, count, r, n, &w);
	else
		write_absent(v, r, n, &w);
	uidset_flush(&w);
	if (w.any)
		buf_append_str(out, "\r\n");
	free(r);
	free(uids);
	return STORE_OK;
}

uint32_t imap_view_number(const struct imap_view *v, size_t i, bool uid)
{
	return uid ? v->msgs[i].uid : (uint32_t)i + 1;
}
