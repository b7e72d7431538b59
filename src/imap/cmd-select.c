/* SELECT and EXAMINE (RFC 3501 6.3.1-2) with CONDSTORE and QRESYNC
 * (RFC 7162 3.1.8, 3.2.5), CLOSE, UNSELECT (RFC 3691), CHECK, EXPUNGE
 * and UID EXPUNGE (RFC 4315, RFC 7162 3.2.7, 3.2.9), and NOOP while a
 * mailbox is selected: the commands that open, close and sync a
 * session's view of a mailbox. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"

#define SELECT_MAX_RANGES 100000

struct select_ctx {
	char *name;
	bool readonly;
	bool qresync; /* QRESYNC parameters were given */
	uint32_t uidvalidity;
	uint64_t modseq;
	struct seqset known;      /* known-uids; none: 1:UIDNEXT-1 */
	struct seqset seqs, uids; /* seq-match-data; none: empty */
};

static void select_ctx_free(void *p)
{
	struct select_ctx *c = p;
	free(c->name);
	seqset_free(&c->known);
	seqset_free(&c->seqs);
	seqset_free(&c->uids);
	free(c);
}

/* The next number of a set, walked in its order; false at its end. */
static bool set_next(const struct seqset *set, size_t *range, uint64_t *at,
                     uint32_t *n_r)
{
	while (*range < set->count) {
		const struct seqset_range *r = &set->ranges[*range];
		uint64_t n = r->lo + *at;
		if (n <= r->hi) {
			(*at)++;
			*n_r = (uint32_t)n;
			return true;
		}
		(*range)++;
		*at = 0;
	}
	return false;
}

/* seq-match-data (RFC 7162 3.2.5.2): the pairs in order up to the first
 * one that does not match the view (or is not ascending); the client
 * knows of every expunge up to the last match, so VANISHED (EARLIER)
 * starts after it. */
static uint32_t match_from_uid(const struct imap_view *v,
                               const struct seqset *seqs,
                               const struct seqset *uids)
{
	size_t sr = 0, ur = 0;
	uint64_t sa = 0, ua = 0;
	uint32_t seq, uid, from = 1, last_seq = 0;
	while (set_next(seqs, &sr, &sa, &seq) &&
	       set_next(uids, &ur, &ua, &uid)) {
		if (seq <= last_seq || seq > v->count ||
		    v->msgs[seq - 1].uid != uid)
			break;
		last_seq = seq;
		from = uid + 1;
	}
	return from;
}

/* RFC 7162 3.2.5: what changed since the client's modseq, as a UID FETCH
 * (CHANGEDSINCE modseq VANISHED) of the known UIDs would say. A modseq
 * above the mailbox's (from before a rebuild that went back) is taken
 * as knowing nothing. */
static enum store_status qresync_report(struct imap_job *job, struct store *st,
                                        const struct imap_view *v,
                                        const struct select_ctx *c)
{
	uint64_t since = c->modseq <= v->modseq ? c->modseq : 0;
	const struct seqset *known = c->known.count > 0 ? &c->known : NULL;
	uint32_t from =
	        c->seqs.count > 0 ? match_from_uid(v, &c->seqs, &c->uids) : 1;
	enum store_status ret = imap_view_write_vanished_earlier(
	        v, st, known, from, since, &job->io.out);
	if (ret == STORE_OK)
		imap_view_write_changed(v, known, since, &job->io.out);
	return ret;
}

static void select_work(struct imap_job *job)
{
	struct select_ctx *c = job->ctx;
	struct imap_session *s = job->s;
	struct store *st = imap_job_store(job);
	struct imap_view *v;
	s->saved_count = 0; /* "$" is per mailbox (RFC 5182 2.1) */
	if (s->view != NULL) {
		/* RFC 7162 3.2.11 / RFC 9051 7.1: the old one is closed */
		imap_view_free(&s->view);
		buf_append_str(&job->io.out, "* OK [CLOSED] Previous mailbox "
		                             "closed\r\n");
		job->new_state = IMAP_STATE_AUTH;
	}
	if (st == NULL)
		return;
	enum store_status ret = imap_view_open(st, c->name, c->readonly, &v);
	if (ret == STORE_OK) {
		v->qresync = s->qresync;
		imap_view_write_select(v, &job->io.out);
		/* RFC 7162 3.1.2.1: once CONDSTORE-aware */
		if (s->condstore)
			buf_printf(&job->io.out,
			           "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			           (unsigned long long)v->modseq);
		if (c->qresync && c->uidvalidity == v->uidvalidity)
			ret = qresync_report(job, st, v, c);
		if (ret != STORE_OK)
			imap_view_free(&v);
	}
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	s->view = v;
	job->new_state = IMAP_STATE_SELECTED;
	imap_job_reply(job, "OK", "[%s] %s completed",
	               c->readonly ? "READ-ONLY" : "READ-WRITE",
	               c->readonly ? "EXAMINE" : "SELECT");
}

/* A sequence set argument into set (no '*' where RFC 7162 allows none);
 * -1 if bad. */
static int parse_set(const struct imap_arg *a, bool star_ok, struct seqset *set)
{
	const char *str, *error;
	if (a->type != IMAP_ARG_ATOM || !imap_arg_get_atom(a, &str) ||
	    seqset_parse(str, SELECT_MAX_RANGES, set, &error) < 0)
		return -1;
	for (size_t i = 0; i < set->count && !star_ok; i++) {
		if (set->ranges[i].hi == SEQSET_STAR)
			return -1;
	}
	return 0;
}

static uint64_t set_size(const struct seqset *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

/* (known-sequence-set known-uid-set): as many of one as of the other */
static int parse_match_data(const struct imap_arg *a, struct select_ctx *c)
{
	if (a->type != IMAP_ARG_LIST || a->list_count != 2 ||
	    parse_set(&a->list[0], false, &c->seqs) < 0 ||
	    parse_set(&a->list[1], false, &c->uids) < 0)
		return -1;
	return set_size(&c->seqs) == set_size(&c->uids) ? 0 : -1;
}

/* QRESYNC (uidvalidity modseq [known-uids] [seq-match-data]); a '*' in
 * known-uids is taken as UIDNEXT-1, and a modseq of 0 as knowing
 * nothing. */
static int parse_qresync(const struct imap_arg *a, struct select_ctx *c)
{
	const char *str;
	uint64_t n;
	if (a->type != IMAP_ARG_LIST || a->list_count < 2 ||
	    a->list_count > 4 || !imap_arg_get_atom(&a->list[0], &str) ||
	    parse_uint(str, 1, UINT32_MAX, &n) < 0)
		return -1;
	c->uidvalidity = (uint32_t)n;
	if (!imap_arg_get_atom(&a->list[1], &str) ||
	    parse_uint(str, 0, INT64_MAX, &c->modseq) < 0)
		return -1;
	size_t i = 2;
	if (i < a->list_count && a->list[i].type != IMAP_ARG_LIST &&
	    parse_set(&a->list[i++], true, &c->known) < 0)
		return -1;
	if (i < a->list_count && parse_match_data(&a->list[i++], c) < 0)
		return -1;
	return i == a->list_count ? 0 : -1;
}

/* (CONDSTORE) and (QRESYNC (...)) of RFC 7162 3.1.8 and 3.2.5; the
 * latter only after ENABLE QRESYNC. NULL, or why it is BAD. */
static const char *parse_select_params(struct imap_session *s,
                                       const struct imap_arg *list,
                                       struct select_ctx *c)
{
	bool condstore = false;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return "Invalid SELECT parameters";
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "CONDSTORE") && !condstore) {
			condstore = true;
		} else if (imap_arg_atom_equals(a, "QRESYNC") && !c->qresync &&
		           i + 1 < list->list_count) {
			if (!s->qresync)
				return "QRESYNC is not enabled";
			if (parse_qresync(&list->list[++i], c) < 0)
				return "Invalid QRESYNC parameters";
			c->qresync = true;
		} else {
			return "Invalid SELECT parameters";
		}
	}
	if (condstore || c->qresync)
		s->condstore = true;
	return NULL;
}

static void select_common(struct imap_session *s,
                          const struct imap_command_line *cmd, bool readonly)
{
	if (cmd->arg_count != 1 && cmd->arg_count != 2) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	struct select_ctx *c = xcalloc(1, sizeof(*c));
	c->readonly = readonly;
	const char *error = cmd->arg_count == 2
	                            ? parse_select_params(s, &cmd->args[1], c)
	                            : NULL;
	if (error != NULL) {
		conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, error);
		select_ctx_free(c);
		return;
	}
	c->name = imap_mailbox_arg(s, cmd, 0);
	if (c->name == NULL) {
		select_ctx_free(c);
		return;
	}
	imap_job_start(s, cmd, select_work, IMAP_SYNC_NONE, c, select_ctx_free);
}

void cmd_select(struct imap_session *s, const struct imap_command_line *cmd)
{
	select_common(s, cmd, false);
}

void cmd_examine(struct imap_session *s, const struct imap_command_line *cmd)
{
	select_common(s, cmd, true);
}

static void close_work(struct imap_job *job)
{
	struct imap_session *s = job->s;
	bool expunge = job->ctx != NULL;
	if (expunge && !s->view->readonly) {
		struct store *st = imap_job_store(job);
		uint32_t *uids = NULL;
		size_t n = 0;
		enum store_status ret =
		        st == NULL ? STORE_ERROR
		                   : store_expunge(st, s->view->mailbox_id,
		                                   NULL, 0, false, &uids, &n);
		free(uids);
		if (ret != STORE_OK) {
			if (st != NULL)
				imap_job_fail(job, ret, false);
			return;
		}
	}
	imap_view_free(&s->view);
	s->saved_count = 0;
	job->new_state = IMAP_STATE_AUTH;
	imap_job_reply(job, "OK", "%s completed",
	               expunge ? "CLOSE" : "UNSELECT");
}

void cmd_close(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	/* ctx non-NULL: expunge (no responses: RFC 3501 6.4.2) */
	imap_job_start(s, cmd, close_work, IMAP_SYNC_NONE, s, NULL);
}

void cmd_unselect(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_job_start(s, cmd, close_work, IMAP_SYNC_NONE, NULL, NULL);
}

static void check_work(struct imap_job *job)
{
	const char *name = job->ctx;
	if (imap_job_store(job) != NULL)
		imap_job_reply(job, "OK", "%s completed", name);
}

/* NOOP and CHECK when selected: the sync after the work is the point. */
void imap_cmd_sync(struct imap_session *s, const struct imap_command_line *cmd,
                   const char *name)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_job_start(s, cmd, check_work, IMAP_SYNC_ALL, (void *)name, NULL);
}

void cmd_check(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_sync(s, cmd, "CHECK");
}

struct expunge_ctx {
	uint32_t *uids; /* UID EXPUNGE */
	size_t count;
	bool only_uids;
};

static void expunge_ctx_free(void *p)
{
	struct expunge_ctx *c = p;
	free(c->uids);
	free(c);
}

static void expunge_work(struct imap_job *job)
{
	struct expunge_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	struct store *st = imap_job_store(job);
	uint32_t *gone = NULL;
	size_t n = 0;
	if (st == NULL)
		return;
	enum store_status ret = store_expunge(
	        st, v->mailbox_id, c->uids, c->count, c->only_uids, &gone, &n);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	imap_view_expunged(v, gone, n, &job->io.out);
	free(gone);
	if (n == 0 || !job->s->qresync) {
		imap_job_reply(job, "OK", "EXPUNGE completed");
		return;
	}
	/* RFC 7162 3.2.7, 3.2.9: the new HIGHESTMODSEQ in the tagged OK,
	 * once everything up to it was reported */
	imap_view_sync(job, true);
	job->sync = IMAP_SYNC_NONE;
	imap_job_reply(job, "OK", "[HIGHESTMODSEQ %llu] EXPUNGE completed",
	               (unsigned long long)v->reported_modseq);
}

void imap_cmd_expunge(struct imap_session *s,
                      const struct imap_command_line *cmd,
                      const struct imap_arg *args, size_t count, bool uid)
{
	struct expunge_ctx *c = xcalloc(1, sizeof(*c));
	if (count != (uid ? 1u : 0u)) {
		expunge_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (s->view->readonly) {
		expunge_ctx_free(c);
		conn_printf(s->conn,
		            "%s NO [READ-ONLY] Mailbox is read-only\r\n",
		            cmd->tag);
		return;
	}
	if (uid) {
		size_t *idx;
		if (imap_resolve_set(s, cmd, &args[0], true, &idx, &c->count) <
		    0) {
			expunge_ctx_free(c);
			return;
		}
		c->uids = imap_view_uids(s->view, idx, c->count);
		c->only_uids = true;
		free(idx);
	}
	imap_job_start(s, cmd, expunge_work, IMAP_SYNC_ALL, c,
	               expunge_ctx_free);
}

void cmd_expunge(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_expunge(s, cmd, cmd->args, cmd->arg_count, false);
}
