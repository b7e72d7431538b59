/* Message commands of the selected state: STORE (RFC 3501 6.4.6) with
 * CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3), COPY, MOVE (RFC 6851)
 * with UIDPLUS's COPYUID (RFC 4315), and the UID prefix that turns them
 * (and FETCH, EXPUNGE) into UID commands. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "imap/cmd-search.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"
#include "proto/imap-quote.h"

/* "$" (RFC 5182): the saved UIDs still in the view. */
static void saved_set(const struct imap_session *s, size_t **idx_r,
                      size_t *count_r)
{
	size_t *idx = xmalloc((s->saved_count + 1) * sizeof(*idx)), n = 0;
	for (size_t i = 0; i < s->saved_count; i++) {
		long k = imap_view_find(s->view, s->saved[i]);
		if (k >= 0)
			idx[n++] = (size_t)k;
	}
	*idx_r = idx;
	*count_r = n;
}

int imap_resolve_set(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *arg, bool uid, size_t **idx_r,
                     size_t *count_r)
{
	const char *set, *error = "Invalid sequence set";
	if (imap_arg_get_atom(arg, &set) && strcmp(set, "$") == 0) {
		saved_set(s, idx_r, count_r);
		return 0;
	}
	if (!imap_arg_get_atom(arg, &set) ||
	    imap_view_resolve(s->view, set, uid, idx_r, count_r, &error) < 0) {
		conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, error);
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t flag;
} flag_names[] = {
        {"\\Seen", STORE_FLAG_SEEN},       {"\\Answered", STORE_FLAG_ANSWERED},
        {"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
        {"\\Draft", STORE_FLAG_DRAFT},
};

/* One flag: a system flag into *flags, a keyword appended to kw; -1 for
 * \Recent, an unknown system flag or a keyword that is not an atom. */
static int parse_flag(const struct imap_arg *a, uint32_t *flags, struct buf *kw)
{
	const char *name;
	if (!imap_arg_get_atom(a, &name) || a->type != IMAP_ARG_ATOM)
		return -1;
	if (name[0] == '\\') {
		for (size_t i = 0;
		     i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
			if (strcasecmp(name, flag_names[i].name) == 0) {
				*flags |= flag_names[i].flag;
				return 0;
			}
		}
		return -1;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (!imap_char_is_atom((unsigned char)*p) || *p == ']')
			return -1;
	}
	/* a keyword once, whatever case it is repeated in */
	char *dup = xasprintf(" %s ", name);
	char *have = xasprintf(" %s ", buf_cstr(kw));
	bool seen = strcasestr(have, dup) != NULL;
	free(dup);
	free(have);
	if (!seen)
		buf_printf(kw, "%s%s", kw->len > 0 ? " " : "", name);
	return 0;
}

int imap_parse_flags(const struct imap_arg *args, size_t count,
                     uint32_t *flags_r, char **keywords_r)
{
	struct buf kw;
	buf_init(&kw, 65536);
	*flags_r = 0;
	if (count == 1 && args[0].type == IMAP_ARG_LIST) {
		count = args[0].list_count;
		args = args[0].list;
	}
	for (size_t i = 0; i < count; i++) {
		if (parse_flag(&args[i], flags_r, &kw) < 0) {
			buf_free(&kw);
			return -1;
		}
	}
	*keywords_r = kw.len > 0 ? xstrdup(buf_cstr(&kw)) : NULL;
	buf_free(&kw);
	return 0;
}

struct msgset_ctx {
	uint32_t *uids;
	size_t count;
	bool uid, silent;
	enum store_flag_op op;
	uint32_t flags;
	char *keywords;
	char *dest; /* COPY, MOVE */
	bool move;
	/* STORE (UNCHANGEDSINCE n) (RFC 7162 3.1.3); the session was
	 * CONDSTORE-aware */
	bool conditional;
	uint64_t unchangedsince;
	bool condstore;
};

static void msgset_ctx_free(void *p)
{
	struct msgset_ctx *c = p;
	free(c->uids);
	free(c->keywords);
	free(c->dest);
	free(c);
}

/* Is kw (len bytes) in the space-separated list (any case)? */
static bool has_keyword(const char *list, const char *kw, size_t len)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == len && strncasecmp(p, kw, n) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* Would a message with keywords `had` have the keyword kw after the
 * STORE? */
static bool keyword_after(const struct msgset_ctx *c, const char *had,
                          const char *kw, size_t len)
{
	bool asked = has_keyword(c->keywords, kw, len);
	switch (c->op) {
	case STORE_FLAGS_ADD:
		return asked || has_keyword(had, kw, len);
	case STORE_FLAGS_REMOVE:
		return !asked && has_keyword(had, kw, len);
	case STORE_FLAGS_REPLACE:
		break;
	}
	return asked;
}

/* Does every keyword of list stand in `got` exactly when the STORE
 * would have put it there, starting from `had`? */
static bool keywords_as_expected(const struct msgset_ctx *c, const char *had,
                                 const char *got, const char *list)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n > 0 &&
		    keyword_after(c, had, p, n) != has_keyword(got, p, n))
			return false;
		p += n;
		p += strspn(p, " ");
	}
	return true;
}

/* Is `got` what the STORE makes of `had`, or did another session change
 * the message too (then the client hears of all of it, even with
 * .SILENT)? */
static bool store_as_expected(const struct msgset_ctx *c,
                              const struct store_msg *had,
                              const struct store_msg *got)
{
	uint32_t old = had->flags & STORE_FLAGS_ALL, now;
	switch (c->op) {
	case STORE_FLAGS_ADD:
		now = old | c->flags;
		break;
	case STORE_FLAGS_REMOVE:
		now = old & ~c->flags;
		break;
	default:
		now = c->flags;
		break;
	}
	return now == (got->flags & STORE_FLAGS_ALL) &&
	       keywords_as_expected(c, had->keywords, got->keywords,
	                            got->keywords) &&
	       keywords_as_expected(c, had->keywords, got->keywords,
	                            had->keywords) &&
	       keywords_as_expected(c, had->keywords, got->keywords,
	                            c->keywords);
}

/* May a message that failed the UNCHANGEDSINCE test (its state now is
 * r) be tried again? RFC 7162 3.1.12: for +FLAGS and -FLAGS, when the
 * flags named are as the client knew them (the view's copy, not changed
 * after UNCHANGEDSINCE), only other flags changed. 3.1.3: with
 * UNCHANGEDSINCE 0 a system flag always exists, a keyword only when
 * set, so only absent keywords pass. */
static bool may_retry(const struct msgset_ctx *c, const struct imap_view *v,
                      const struct store_msg *r)
{
	if (c->op == STORE_FLAGS_REPLACE)
		return false;
	if (c->unchangedsince == 0) {
		if (c->flags != 0)
			return false;
		for (const char *p = c->keywords; p != NULL && *p != '\0';) {
			size_t n = strcspn(p, " ");
			if (n > 0 && has_keyword(r->keywords, p, n))
				return false;
			p += n;
			p += strspn(p, " ");
		}
		return true;
	}
	long k = imap_view_find(v, r->uid);
	if (k < 0 || v->msgs[k].modseq > c->unchangedsince)
		return false;
	const struct store_msg *w = &v->msgs[k];
	if ((w->flags & c->flags) != (r->flags & c->flags))
		return false;
	for (const char *p = c->keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (has_keyword(w->keywords, p, n) !=
		    has_keyword(r->keywords, p, n))
			return false;
		p += n;
		p += strspn(p, " ");
	}
	return true;
}

/* The retried entries of res (ascending, a subset) replace theirs. */
static void merge_retried(struct store_msg *res, bool *failed, size_t n,
                          struct store_msg *again, const bool *again_failed,
                          size_t m)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j < m; i++) {
		if (res[i].uid != again[j].uid)
			continue;
		store_msg_free(&res[i]);
		res[i] = again[j];
		failed[i] = again_failed[j++];
	}
	for (; j < m; j++)
		store_msg_free(&again[j]);
}

/* STORE (UNCHANGEDSINCE n): the conditional store, then once more for
 * the messages that failed but may pass (may_retry), each on the
 * condition that it is still as it was just now. */
static enum store_status store_conditional(struct msgset_ctx *c,
                                           struct store *st,
                                           const struct imap_view *v,
                                           struct store_msg **res_r,
                                           bool **failed_r, size_t *n_r)
{
	uint64_t *limits = xmalloc((c->count + 1) * sizeof(*limits));
	for (size_t i = 0; i < c->count; i++)
		limits[i] = c->unchangedsince;
	enum store_status ret = store_set_flags_if(
	        st, v->mailbox_id, c->uids, limits, c->count, c->op, c->flags,
	        c->keywords, res_r, failed_r, n_r);
	uint32_t *again = xmalloc((*n_r + 1) * sizeof(*again));
	size_t m = 0;
	for (size_t i = 0; ret == STORE_OK && i < *n_r; i++) {
		if ((*failed_r)[i] && may_retry(c, v, &(*res_r)[i])) {
			limits[m] = (*res_r)[i].modseq;
			again[m++] = (*res_r)[i].uid;
		}
	}
	struct store_msg *res2 = NULL;
	bool *failed2 = NULL;
	size_t n2 = 0;
	if (m > 0 && store_set_flags_if(st, v->mailbox_id, again, limits, m,
	                                c->op, c->flags, c->keywords, &res2,
	                                &failed2, &n2) == STORE_OK)
		merge_retried(*res_r, *failed_r, *n_r, res2, failed2, n2);
	free(res2);
	free(failed2);
	free(again);
	free(limits);
	return ret;
}

static bool same_state(const struct store_msg *a, const struct store_msg *b)
{
	return (a->flags & STORE_FLAGS_ALL) == (b->flags & STORE_FLAGS_ALL) &&
	       strcmp(a->keywords != NULL ? a->keywords : "",
	              b->keywords != NULL ? b->keywords : "") == 0;
}

/* The untagged FETCH for one message the STORE answered: r its state
 * now, the view's copy (index k) what the client knew. A message that
 * failed the UNCHANGEDSINCE test is shown when it changed unseen (RFC
 * 7162 3.1.3 recommends it); one that passed, unless .SILENT, or when
 * more than this STORE changed it, or with UNCHANGEDSINCE (always, with
 * MODSEQ), or with a new MODSEQ for a CONDSTORE-aware client. */
static void store_report(struct imap_job *job, const struct msgset_ctx *c,
                         size_t k, const struct store_msg *r, bool failed)
{
	struct imap_view *v = job->s->view;
	const struct store_msg *w = &v->msgs[k];
	bool moved = w->modseq != r->modseq;
	bool surprise = failed ? moved || !same_state(w, r)
	                       : !store_as_expected(c, w, r);
	unsigned int items =
	        (c->uid || c->condstore ? IMAP_VIEW_FETCH_UID : 0) |
	        (c->condstore ? IMAP_VIEW_FETCH_MODSEQ : 0);
	bool send = failed ? surprise
	                   : !c->silent || surprise || c->conditional ||
	                             (c->condstore && moved);
	if (!c->silent || surprise)
		items |= IMAP_VIEW_FETCH_FLAGS;
	imap_view_update(v, r);
	if (send)
		imap_view_write_fetch(v, k, items, &job->io.out);
}

/* OK, with MODIFIED for the messages (numbers, ascending) that failed
 * the UNCHANGEDSINCE test. */
static void write_store_reply(struct imap_job *job, const uint32_t *modified,
                              size_t n)
{
	if (n == 0) {
		imap_job_reply(job, "OK", "STORE completed");
		return;
	}
	struct buf set;
	buf_init(&set, (size_t)1 << 30);
	imap_write_uid_set(&set, modified, n);
	imap_job_reply(job, "OK", "[MODIFIED %s] Conditional STORE failed",
	               buf_cstr(&set));
	buf_free(&set);
}

static void store_work(struct imap_job *job)
{
	struct msgset_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	struct store *st = imap_job_store(job);
	struct store_msg *res = NULL;
	bool *failed = NULL;
	size_t n = 0;
	if (st == NULL)
		return;
	enum store_status ret =
	        c->conditional ? store_conditional(c, st, v, &res, &failed, &n)
	                       : store_set_flags(st, v->mailbox_id, c->uids,
	                                         c->count, c->op, c->flags,
	                                         c->keywords, 0, &res, &n);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	uint32_t *modified = xmalloc((n + 1) * sizeof(*modified));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		long k = imap_view_find(v, res[i].uid);
		bool fail = failed != NULL && failed[i];
		if (k >= 0)
			store_report(job, c, (size_t)k, &res[i], fail);
		if (k >= 0 && fail)
			modified[m++] = imap_view_number(v, (size_t)k, c->uid);
		store_msg_free(&res[i]);
	}
	free(res);
	free(failed);
	write_store_reply(job, modified, m);
	free(modified);
}

/* "FLAGS", "+FLAGS.SILENT", ...; -1 if not a STORE item. */
static int parse_store_item(const char *item, struct msgset_ctx *c)
{
	c->op = STORE_FLAGS_REPLACE;
	if (*item == '+' || *item == '-') {
		c->op = *item == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		item++;
	}
	if (strcasecmp(item, "FLAGS") == 0)
		return 0;
	if (strcasecmp(item, "FLAGS.SILENT") == 0) {
		c->silent = true;
		return 0;
	}
	return -1;
}

static void msgset_start(struct imap_session *s,
                         const struct imap_command_line *cmd,
                         const struct imap_arg *set, struct msgset_ctx *c,
                         imap_job_fn *work, enum imap_sync_mode sync)
{
	size_t *idx;
	if (imap_resolve_set(s, cmd, set, c->uid, &idx, &c->count) < 0) {
		msgset_ctx_free(c);
		return;
	}
	c->uids = imap_view_uids(s->view, idx, c->count);
	free(idx);
	imap_job_start(s, cmd, work, sync, c, msgset_ctx_free);
}

/* (UNCHANGEDSINCE n) (RFC 7162 3.1.3); -1 if bad. */
static int parse_store_modifiers(const struct imap_arg *list,
                                 struct msgset_ctx *c)
{
	const char *str;
	if (list->list_count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "UNCHANGEDSINCE") ||
	    list->list[1].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&list->list[1], &str) ||
	    parse_uint(str, 0, INT64_MAX, &c->unchangedsince) < 0)
		return -1;
	c->conditional = true;
	return 0;
}

void imap_cmd_store(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid)
{
	struct msgset_ctx *c = xcalloc(1, sizeof(*c));
	const char *item;
	c->uid = uid;
	size_t mod = count > 1 && args[1].type == IMAP_ARG_LIST ? 1 : 0;
	if (count < 3 + mod ||
	    (mod && parse_store_modifiers(&args[1], c) < 0) ||
	    !imap_arg_get_atom(&args[1 + mod], &item) ||
	    parse_store_item(item, c) < 0 ||
	    imap_parse_flags(&args[2 + mod], count - 2 - mod, &c->flags,
	                     &c->keywords) < 0) {
		msgset_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (s->view->readonly) {
		msgset_ctx_free(c);
		conn_printf(s->conn,
		            "%s NO [READ-ONLY] Mailbox is read-only\r\n",
		            cmd->tag);
		return;
	}
	/* RFC 7162 3.1: UNCHANGEDSINCE enables CONDSTORE */
	if (c->conditional)
		imap_condstore_enable(s);
	c->condstore = s->condstore;
	msgset_start(s, cmd, &args[0], c, store_work,
	             uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE);
}

static void write_copyuid(struct buf *out, uint32_t uidvalidity,
                          const uint32_t *src, const uint32_t *dst, size_t n)
{
	buf_printf(out, "[COPYUID %u ", uidvalidity);
	imap_write_uid_set(out, src, n);
	buf_append_byte(out, ' ');
	imap_write_uid_set(out, dst, n);
	buf_append_str(out, "]");
}

static void copy_work(struct imap_job *job)
{
	struct msgset_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	struct store *st = imap_job_store(job);
	size_t n = 0;
	uint32_t uidvalidity = 0;
	if (st == NULL)
		return;
	uint32_t *src = xmalloc((c->count + 1) * sizeof(*src));
	uint32_t *dst = xmalloc((c->count + 1) * sizeof(*dst));
	enum store_status ret =
	        store_copy(st, v->mailbox_id, c->uids, c->count, c->dest,
	                   c->move, &uidvalidity, src, dst, &n);
	struct buf code;
	buf_init(&code, (size_t)1 << 30);
	if (ret == STORE_OK && n > 0)
		write_copyuid(&code, uidvalidity, src, dst, n);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, true);
	} else if (c->move) {
		if (n > 0)
			buf_printf(&job->io.out, "* OK %s Moved\r\n",
			           buf_cstr(&code));
		imap_view_expunged(v, src, n, &job->io.out);
		imap_job_reply(job, "OK", "MOVE completed");
	} else {
		imap_job_reply(job, "OK", "%s%sCOPY completed", buf_cstr(&code),
		               n > 0 ? " " : "");
	}
	buf_free(&code);
	free(src);
	free(dst);
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command_line *cmd,
                   const struct imap_arg *args, size_t count, bool uid,
                   bool move)
{
	if (count != 2) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (move && s->view->readonly) {
		conn_printf(s->conn,
		            "%s NO [READ-ONLY] Mailbox is read-only\r\n",
		            cmd->tag);
		return;
	}
	char *dest = imap_mailbox_arg_at(s, cmd, &args[1]);
	if (dest == NULL)
		return;
	struct msgset_ctx *c = xcalloc(1, sizeof(*c));
	c->uid = uid;
	c->dest = dest;
	c->move = move;
	msgset_start(s, cmd, &args[0], c, copy_work, IMAP_SYNC_ALL);
}

void cmd_store(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_store(s, cmd, cmd->args, cmd->arg_count, false);
}

void cmd_copy(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_copy(s, cmd, cmd->args, cmd->arg_count, false, false);
}

void cmd_move(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_copy(s, cmd, cmd->args, cmd->arg_count, false, true);
}

void cmd_uid(struct imap_session *s, const struct imap_command_line *cmd)
{
	const char *sub;
	if (cmd->arg_count < 1 || !imap_arg_get_atom(&cmd->args[0], &sub)) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	const struct imap_arg *args = cmd->args + 1;
	size_t n = cmd->arg_count - 1;
	if (strcasecmp(sub, "FETCH") == 0)
		imap_cmd_fetch(s, cmd, args, n, true);
	else if (strcasecmp(sub, "STORE") == 0)
		imap_cmd_store(s, cmd, args, n, true);
	else if (strcasecmp(sub, "COPY") == 0)
		imap_cmd_copy(s, cmd, args, n, true, false);
	else if (strcasecmp(sub, "MOVE") == 0)
		imap_cmd_copy(s, cmd, args, n, true, true);
	else if (strcasecmp(sub, "SEARCH") == 0)
		imap_cmd_search(s, cmd, args, n, true);
	else if (strcasecmp(sub, "SORT") == 0)
		imap_cmd_sort(s, cmd, args, n, true);
	else if (strcasecmp(sub, "THREAD") == 0)
		imap_cmd_thread(s, cmd, args, n, true);
	else if (strcasecmp(sub, "EXPUNGE") == 0)
		imap_cmd_expunge(s, cmd, args, n, true);
	else
		conn_printf(s->conn, "%s BAD Unknown UID command\r\n",
		            cmd->tag);
}
