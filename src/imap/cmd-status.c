/* STATUS (RFC 3501 6.3.10, SIZE from RFC 8438, DELETED from RFC 9051,
 * HIGHESTMODSEQ from RFC 7162 3.1.7) and the QUOTA commands (RFC 9208,
 * which also answers RFC 2087's). */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"
#include "proto/imap-quote.h"

static const char *const status_items[] = {
        "MESSAGES", "RECENT", "UIDNEXT",       "UIDVALIDITY",
        "UNSEEN",   "SIZE",   "HIGHESTMODSEQ", "DELETED",
};
#define N_ITEMS (sizeof(status_items) / sizeof(status_items[0]))
#define STATUS_HIGHESTMODSEQ 6 /* its index in status_items */

int imap_status_items(const struct imap_arg *list, unsigned int *items_r)
{
	unsigned int items = 0;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0)
		return -1;
	for (size_t i = 0; i < list->list_count; i++) {
		size_t k = 0;
		while (k < N_ITEMS &&
		       !imap_arg_atom_equals(&list->list[i], status_items[k]))
			k++;
		if (k == N_ITEMS)
			return -1;
		items |= 1u << k;
	}
	*items_r = items;
	return 0;
}

void imap_status_write(struct buf *out, const char *name,
                       const struct store_status_info *info, unsigned int items)
{
	const uint64_t values[N_ITEMS] = {
	        info->messages,      info->recent,  info->uidnext,
	        info->uidvalidity,   info->unseen,  info->size,
	        info->highestmodseq, info->deleted,
	};
	buf_append_str(out, "* STATUS ");
	imap_write_astring(out, name, strlen(name));
	buf_append_str(out, " (");
	bool first = true;
	for (size_t k = 0; k < N_ITEMS; k++) {
		if ((items & (1u << k)) == 0)
			continue;
		buf_printf(out, "%s%s %llu", first ? "" : " ", status_items[k],
		           (unsigned long long)values[k]);
		first = false;
	}
	buf_append_str(out, ")\r\n");
}

static void status_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	struct store_status_info info;
	if (st == NULL)
		return;
	enum store_status ret = store_status(st, c->name, &info);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	imap_status_write(&job->io.out, c->name, &info, c->value);
	imap_job_reply(job, "OK", "STATUS completed");
}

void cmd_status(struct imap_session *s, const struct imap_command_line *cmd)
{
	unsigned int items = 0;
	if (cmd->arg_count == 2 &&
	    imap_status_items(&cmd->args[1], &items) < 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	struct imap_name_ctx *c = imap_name_ctx_arg(s, cmd, 2);
	if (c == NULL)
		return;
	c->value = items;
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE */
	if (items & (1u << STATUS_HIGHESTMODSEQ))
		imap_condstore_enable(s);
	imap_job_start(s, cmd, status_work, IMAP_SYNC_ALL, c,
	               imap_name_ctx_free);
}

/* ---- QUOTA ---- */

static bool quota_limited(const struct store_quota *q)
{
	return q->bytes_limit != 0 || q->messages_limit != 0;
}

static void write_quota(struct buf *out, const struct store_quota *q)
{
	const char *sep = "";
	buf_append_str(out, "* QUOTA \"\" (");
	if (q->bytes_limit != 0) {
		/* RFC 9208 5.1: STORAGE is in units of 1024 octets */
		buf_printf(out, "STORAGE %llu %llu",
		           (unsigned long long)((q->bytes_used + 1023) / 1024),
		           (unsigned long long)(q->bytes_limit / 1024));
		sep = " ";
	}
	if (q->messages_limit != 0)
		buf_printf(out, "%sMESSAGE %llu %llu", sep,
		           (unsigned long long)q->messages_used,
		           (unsigned long long)q->messages_limit);
	buf_append_str(out, ")\r\n");
}

static void getquota_work(struct imap_job *job)
{
	const char *root = job->ctx;
	struct store *st = imap_job_store(job);
	struct store_quota q;
	if (st == NULL)
		return;
	enum store_status ret = store_get_quota(st, &q);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	if (root[0] != '\0' || !quota_limited(&q)) {
		imap_job_reply(job, "NO", "[NONEXISTENT] No such quota root");
		return;
	}
	write_quota(&job->io.out, &q);
	imap_job_reply(job, "OK", "GETQUOTA completed");
}

void cmd_getquota(struct imap_session *s, const struct imap_command_line *cmd)
{
	const char *root;
	size_t len;
	if (cmd->arg_count != 1 ||
	    !imap_arg_get_astring(&cmd->args[0], &root, &len)) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_job_start(s, cmd, getquota_work, IMAP_SYNC_ALL, xstrdup(root),
	               free);
}

static void getquotaroot_work(struct imap_job *job)
{
	const char *name = ((struct imap_name_ctx *)job->ctx)->name;
	struct store *st = imap_job_store(job);
	struct store_quota q;
	struct store_status_info info;
	if (st == NULL)
		return;
	enum store_status ret = store_status(st, name, &info);
	if (ret == STORE_OK)
		ret = store_get_quota(st, &q);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	buf_append_str(&job->io.out, "* QUOTAROOT ");
	imap_write_astring(&job->io.out, name, strlen(name));
	if (quota_limited(&q)) {
		buf_append_str(&job->io.out, " \"\"\r\n");
		write_quota(&job->io.out, &q);
	} else {
		buf_append_str(&job->io.out, "\r\n");
	}
	imap_job_reply(job, "OK", "GETQUOTAROOT completed");
}

void cmd_getquotaroot(struct imap_session *s,
                      const struct imap_command_line *cmd)
{
	struct imap_name_ctx *c = imap_name_ctx_arg(s, cmd, 1);
	if (c != NULL)
		imap_job_start(s, cmd, getquotaroot_work, IMAP_SYNC_ALL, c,
		               imap_name_ctx_free);
}

void cmd_setquota(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 2 || cmd->args[1].type != IMAP_ARG_LIST) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	conn_printf(s->conn,
	            "%s NO [NOPERM] Quotas are set by the administrator\r\n",
	            cmd->tag);
}
