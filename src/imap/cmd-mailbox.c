/* Mailbox commands: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE
 * (RFC 3501 6.3), CREATE-SPECIAL-USE (RFC 6154), NAMESPACE (RFC 2342),
 * STATUS (RFC 3501 6.3.10, STATUS=SIZE RFC 8438) and QUOTA (RFC 9208).
 * LIST and LSUB are in cmd-list.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"
#include "proto/imap-quote.h"
#include "proto/mailbox-match.h"
#include "proto/mutf7.h"

#define MAILBOX_NAME_MAX 512

char *imap_mailbox_name(const struct imap_arg *arg, const char **error_r)
{
	const char *name;
	size_t len;
	if (!imap_arg_get_astring(arg, &name, &len)) {
		*error_r = NULL;
		return NULL;
	}
	if (len == 0 || len > MAILBOX_NAME_MAX || strlen(name) != len) {
		*error_r = "Invalid mailbox name";
		return NULL;
	}
	if (!mutf7_valid(name, len)) {
		*error_r = "Mailbox name is not valid modified UTF-7";
		return NULL;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//")) {
		*error_r = "Invalid mailbox name: empty hierarchy level";
		return NULL;
	}
	return mailbox_name_normalize(name, '/');
}

char *imap_mailbox_arg(struct imap_session *s,
                       const struct imap_command_line *cmd, size_t i)
{
	return imap_mailbox_arg_at(s, cmd, &cmd->args[i]);
}

char *imap_mailbox_arg_at(struct imap_session *s,
                          const struct imap_command_line *cmd,
                          const struct imap_arg *arg)
{
	const char *error;
	char *name = imap_mailbox_name(arg, &error);
	if (name != NULL)
		return name;
	if (error == NULL)
		imap_reply_bad_args(s, cmd);
	else
		conn_printf(s->conn, "%s NO [CANNOT] %s\r\n", cmd->tag, error);
	return NULL;
}

void imap_name_ctx_free(void *p)
{
	struct imap_name_ctx *c = p;
	free(c->name);
	free(c->name2);
	free(c);
}

static struct imap_name_ctx *name_ctx_new(char *name)
{
	struct imap_name_ctx *c = xcalloc(1, sizeof(*c));
	c->name = name;
	return c;
}

struct imap_name_ctx *imap_name_ctx_arg(struct imap_session *s,
                                        const struct imap_command_line *cmd,
                                        size_t arg_count)
{
	if (cmd->arg_count != arg_count) {
		imap_reply_bad_args(s, cmd);
		return NULL;
	}
	char *name = imap_mailbox_arg(s, cmd, 0);
	return name != NULL ? name_ctx_new(name) : NULL;
}

static const struct {
	const char *name;
	uint32_t use;
} use_names[] = {
        {"\\All", STORE_USE_ALL},       {"\\Archive", STORE_USE_ARCHIVE},
        {"\\Drafts", STORE_USE_DRAFTS}, {"\\Flagged", STORE_USE_FLAGGED},
        {"\\Junk", STORE_USE_JUNK},     {"\\Sent", STORE_USE_SENT},
        {"\\Trash", STORE_USE_TRASH},
};

void imap_write_special_use(struct buf *out, uint32_t use)
{
	for (size_t i = 0; i < sizeof(use_names) / sizeof(use_names[0]); i++) {
		if (use & use_names[i].use)
			buf_printf(out, " %s", use_names[i].name);
	}
}

/* CREATE name (USE (\Sent ...)): the use list; -1 if unknown. */
static int parse_use(const struct imap_arg *list, uint32_t *use_r)
{
	*use_r = 0;
	if (list->type != IMAP_ARG_LIST || list->list_count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "USE") ||
	    list->list[1].type != IMAP_ARG_LIST)
		return -2;
	const struct imap_arg *uses = &list->list[1];
	for (size_t i = 0; i < uses->list_count; i++) {
		size_t k = 0, n = sizeof(use_names) / sizeof(use_names[0]);
		while (k < n &&
		       !imap_arg_atom_equals(&uses->list[i], use_names[k].name))
			k++;
		if (k == n)
			return -1;
		*use_r |= use_names[k].use;
	}
	return 0;
}

static void create_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	enum store_status ret = store_create(st, c->name, c->value);
	if (ret != STORE_OK)
		imap_job_fail(job, ret, false);
	else
		imap_job_reply(job, "OK", "CREATE completed");
}

void cmd_create(struct imap_session *s, const struct imap_command_line *cmd)
{
	uint32_t use = 0;
	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (cmd->arg_count == 2) {
		int r = parse_use(&cmd->args[1], &use);
		if (r == -2) {
			imap_reply_bad_args(s, cmd);
			return;
		}
		if (r < 0) {
			conn_printf(s->conn,
			            "%s NO [USEATTR] Unknown special-use "
			            "attribute\r\n",
			            cmd->tag);
			return;
		}
	}
	/* RFC 3501 6.3.3: a trailing delimiter declares the intent to
	 * create children; the mailbox is created without it */
	const char *raw;
	size_t len;
	struct imap_arg trimmed = cmd->args[0];
	if (imap_arg_get_astring(&trimmed, &raw, &len) && len > 1 &&
	    raw[len - 1] == '/') {
		trimmed.str = xstrndup(raw, len - 1);
		trimmed.len = len - 1;
	}
	char *name = imap_mailbox_arg_at(s, cmd, &trimmed);
	if (trimmed.str != cmd->args[0].str)
		free((char *)trimmed.str);
	if (name == NULL)
		return;
	struct imap_name_ctx *c = name_ctx_new(name);
	c->value = use;
	imap_job_start(s, cmd, create_work, IMAP_SYNC_ALL, c,
	               imap_name_ctx_free);
}

static void delete_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	struct imap_session *s = job->s;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	enum store_status ret = store_delete(st, c->name);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return;
	}
	/* deleting the selected mailbox closes it */
	if (s->view != NULL && strcmp(s->view->name, c->name) == 0) {
		imap_view_free(&s->view);
		job->new_state = IMAP_STATE_AUTH;
	}
	imap_job_reply(job, "OK", "DELETE completed");
}

void cmd_delete(struct imap_session *s, const struct imap_command_line *cmd)
{
	struct imap_name_ctx *c = imap_name_ctx_arg(s, cmd, 1);
	if (c != NULL)
		imap_job_start(s, cmd, delete_work, IMAP_SYNC_ALL, c,
		               imap_name_ctx_free);
}

static void rename_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	enum store_status ret = store_rename(st, c->name, c->name2);
	if (ret != STORE_OK)
		imap_job_fail(job, ret, false);
	else
		imap_job_reply(job, "OK", "RENAME completed");
}

void cmd_rename(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 2) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	char *from = imap_mailbox_arg(s, cmd, 0);
	if (from == NULL)
		return;
	char *to = imap_mailbox_arg(s, cmd, 1);
	if (to == NULL) {
		free(from);
		return;
	}
	struct imap_name_ctx *c = name_ctx_new(from);
	c->name2 = to;
	imap_job_start(s, cmd, rename_work, IMAP_SYNC_ALL, c,
	               imap_name_ctx_free);
}

static void subscribe_work(struct imap_job *job)
{
	struct imap_name_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	enum store_status ret = store_subscribe(st, c->name, c->value != 0);
	if (ret != STORE_OK)
		imap_job_fail(job, ret, false);
	else
		imap_job_reply(job, "OK", "%s completed",
		               c->value != 0 ? "SUBSCRIBE" : "UNSUBSCRIBE");
}

static void subscription(struct imap_session *s,
                         const struct imap_command_line *cmd, bool on)
{
	struct imap_name_ctx *c = imap_name_ctx_arg(s, cmd, 1);
	if (c == NULL)
		return;
	c->value = on;
	imap_job_start(s, cmd, subscribe_work, IMAP_SYNC_ALL, c,
	               imap_name_ctx_free);
}

void cmd_subscribe(struct imap_session *s, const struct imap_command_line *cmd)
{
	subscription(s, cmd, true);
}

void cmd_unsubscribe(struct imap_session *s,
                     const struct imap_command_line *cmd)
{
	subscription(s, cmd, false);
}

void cmd_namespace(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	conn_printf(s->conn,
	            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
	            "%s OK NAMESPACE completed\r\n",
	            cmd->tag);
}
