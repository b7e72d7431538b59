/* SELECT and EXAMINE (RFC 3501 6.3.1-2), CLOSE, UNSELECT (RFC 3691),
 * CHECK, EXPUNGE and UID EXPUNGE (RFC 4315), and NOOP while a mailbox
 * is selected: the commands that open, close and sync a session's view
 * of a mailbox. */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"

static void select_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	bool readonly = c->value != 0;
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
	enum store_status ret = imap_view_open(st, c->name, readonly, &v);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	imap_view_write_select(v, &job->io.out);
	s->view = v;
	job->new_state = IMAP_STATE_SELECTED;
	imap_job_reply(job, "OK", "[%s] %s completed",
	               readonly ? "READ-ONLY" : "READ-WRITE",
	               readonly ? "EXAMINE" : "SELECT");
}

static void select_common(struct imap_session *s,
                          const struct imap_command_line *cmd, bool readonly)
{
	struct imap_name_ctx *c = imap_name_ctx_arg(s, cmd, 1);
	if (c == NULL)
		return;
	c->value = readonly;
	imap_job_start(s, cmd, select_work, IMAP_SYNC_NONE, c,
	               imap_name_ctx_free);
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
	imap_job_reply(job, "OK", "EXPUNGE completed");
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
