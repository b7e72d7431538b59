/* Message commands of the selected state: STORE (RFC 3501 6.4.6), COPY,
 * MOVE (RFC 6851) with UIDPLUS's COPYUID (RFC 4315), and the UID prefix
 * that turns them (and FETCH, EXPUNGE) into UID commands. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
};

static void msgset_ctx_free(void *p)
{
	struct msgset_ctx *c = p;
	free(c->uids);
	free(c->keywords);
	free(c->dest);
	free(c);
}

static void store_work(struct imap_job *job)
{
	struct msgset_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	struct store *st = imap_job_store(job);
	struct store_msg *res = NULL;
	size_t n = 0;
	if (st == NULL)
		return;
	enum store_status ret =
	        store_set_flags(st, v->mailbox_id, c->uids, c->count, c->op,
	                        c->flags, c->keywords, 0, &res, &n);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		imap_view_update(v, &res[i]);
		long k = imap_view_find(v, res[i].uid);
		if (c->silent || k < 0)
			continue;
		buf_printf(&job->io.out, "* %ld FETCH (", k + 1);
		if (c->uid)
			buf_printf(&job->io.out, "UID %u ", res[i].uid);
		buf_append_str(&job->io.out, "FLAGS ");
		imap_view_write_flags(&v->msgs[k], &job->io.out);
		buf_append_str(&job->io.out, ")\r\n");
	}
	for (size_t i = 0; i < n; i++)
		store_msg_free(&res[i]);
	free(res);
	imap_job_reply(job, "OK", "STORE completed");
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

void imap_cmd_store(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid)
{
	struct msgset_ctx *c = xcalloc(1, sizeof(*c));
	const char *item;
	c->uid = uid;
	if (count < 3 || !imap_arg_get_atom(&args[1], &item) ||
	    parse_store_item(item, c) < 0 ||
	    imap_parse_flags(&args[2], count - 2, &c->flags, &c->keywords) <
	            0) {
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
