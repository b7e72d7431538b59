/* LIST and LSUB (RFC 3501 6.3.8-9) with CHILDREN (RFC 3348),
 * LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE
 * (RFC 6154). The hierarchy delimiter is '/'. Every level of the
 * hierarchy exists in the store (parents of a deleted mailbox remain as
 * \Noselect), so "%" never needs to invent a level. */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "net/conn.h"
#include "proto/imap-quote.h"
#include "proto/mailbox-match.h"

enum {
	SEL_SUBSCRIBED = 1 << 0,
	SEL_RECURSIVEMATCH = 1 << 1,
	SEL_SPECIAL_USE = 1 << 2,
	RET_SUBSCRIBED = 1 << 3,
	RET_CHILDREN = 1 << 4,
	RET_SPECIAL_USE = 1 << 5,
	RET_STATUS = 1 << 6,
};

struct list_ctx {
	bool lsub;
	unsigned int opts;
	unsigned int status_items;
	char **patterns;
	size_t pattern_count;
	/* in work */
	struct store_mailbox_list boxes;
	struct store_name_list subs;
};

static void list_ctx_free(void *p)
{
	struct list_ctx *c = p;
	for (size_t i = 0; i < c->pattern_count; i++)
		free(c->patterns[i]);
	free(c->patterns);
	store_mailbox_list_free(&c->boxes);
	store_name_list_free(&c->subs);
	free(c);
}

static bool matches(const struct list_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->pattern_count; i++) {
		if (mailbox_match(c->patterns[i], name, '/'))
			return true;
	}
	return false;
}

static bool children_match(const struct list_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->pattern_count; i++) {
		if (mailbox_match_children(c->patterns[i], name, '/'))
			return true;
	}
	return false;
}

static int name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static bool subscribed(const struct list_ctx *c, const char *name)
{
	return bsearch(name, c->subs.names, c->subs.count, sizeof(char *),
	               name_cmp) != NULL;
}

/* Does any name in the sorted list start with prefix? */
static bool has_prefix(char **names, size_t n, const char *prefix)
{
	size_t lo = 0, hi = n, len = strlen(prefix);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(names[mid], prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strncmp(names[lo], prefix, len) == 0;
}

static bool box_has_children(const struct list_ctx *c, const char *name)
{
	char *prefix = xasprintf("%s/", name);
	bool found = false;
	for (size_t i = 0; i < c->boxes.count && !found; i++)
		found = strncmp(c->boxes.items[i].name, prefix,
		                strlen(prefix)) == 0;
	free(prefix);
	return found;
}

static bool sub_children(const struct list_ctx *c, const char *name)
{
	char *prefix = xasprintf("%s/", name);
	bool found = has_prefix(c->subs.names, c->subs.count, prefix);
	free(prefix);
	return found;
}

static void write_list_line(struct imap_job *job, const char *attrs,
                            const char *name, bool childinfo)
{
	struct list_ctx *c = job->ctx;
	buf_printf(&job->io.out, "* %s (%s) \"/\" ", c->lsub ? "LSUB" : "LIST",
	           attrs[0] == ' ' ? attrs + 1 : attrs);
	imap_write_astring(&job->io.out, name, strlen(name));
	if (childinfo)
		buf_append_str(&job->io.out,
		               " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_append_str(&job->io.out, "\r\n");
}

static void write_status(struct imap_job *job, struct store *st,
                         const char *name)
{
	struct list_ctx *c = job->ctx;
	struct store_status_info info;
	if (store_status(st, name, &info) == STORE_OK)
		imap_status_write(&job->io.out, name, &info, c->status_items);
}

/* One existing mailbox of a LIST without SUBSCRIBED selection. */
static void list_box(struct imap_job *job, struct store *st,
                     const struct store_mailbox_info *b)
{
	struct list_ctx *c = job->ctx;
	struct buf attrs;
	buf_init(&attrs, 4096);
	if (b->noselect)
		buf_append_str(&attrs, " \\Noselect");
	buf_append_str(&attrs, box_has_children(c, b->name)
	                               ? " \\HasChildren"
	                               : " \\HasNoChildren");
	if (b->subscribed && (c->opts & RET_SUBSCRIBED))
		buf_append_str(&attrs, " \\Subscribed");
	imap_write_special_use(&attrs, b->special_use);
	write_list_line(job, buf_cstr(&attrs), b->name, false);
	if ((c->opts & RET_STATUS) && !b->noselect)
		write_status(job, st, b->name);
	buf_free(&attrs);
}

static const struct store_mailbox_info *find_box(const struct list_ctx *c,
                                                 const char *name)
{
	for (size_t i = 0; i < c->boxes.count; i++) {
		if (strcmp(c->boxes.items[i].name, name) == 0)
			return &c->boxes.items[i];
	}
	return NULL;
}

/* LIST (SUBSCRIBED ...): subscribed names, and with RECURSIVEMATCH the
 * parents whose subscribed children match (RFC 5258 3.5). */
static void list_subscribed(struct imap_job *job, struct store *st)
{
	struct list_ctx *c = job->ctx;
	struct buf attrs;
	buf_init(&attrs, 4096);
	for (size_t i = 0; i < c->subs.count; i++) {
		const char *name = c->subs.names[i];
		if (!matches(c, name))
			continue;
		const struct store_mailbox_info *b = find_box(c, name);
		buf_reset(&attrs);
		if (b == NULL)
			buf_append_str(&attrs, " \\NonExistent");
		else if (b->noselect)
			buf_append_str(&attrs, " \\Noselect");
		buf_append_str(&attrs, " \\Subscribed");
		if (b != NULL)
			imap_write_special_use(&attrs, b->special_use);
		write_list_line(job, buf_cstr(&attrs), name, false);
		if ((c->opts & RET_STATUS) && b != NULL && !b->noselect)
			write_status(job, st, name);
	}
	if (c->opts & SEL_RECURSIVEMATCH) {
		for (size_t i = 0; i < c->boxes.count; i++) {
			const char *name = c->boxes.items[i].name;
			if (subscribed(c, name) || !matches(c, name) ||
			    !sub_children(c, name))
				continue;
			write_list_line(job, "", name, true);
		}
	}
	buf_free(&attrs);
}

/* The mailboxes and subscriptions; NULL after a NO. */
static struct store *load_lists(struct imap_job *job)
{
	struct list_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return NULL;
	enum store_status ret = store_list(st, &c->boxes);
	if (ret == STORE_OK)
		ret = store_subscriptions(st, &c->subs);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, false);
		return NULL;
	}
	return st;
}

static void list_work(struct imap_job *job)
{
	struct list_ctx *c = job->ctx;
	struct store *st = load_lists(job);
	if (st == NULL)
		return;
	for (size_t i = 0; i < c->boxes.count; i++)
		c->boxes.items[i].subscribed =
		        subscribed(c, c->boxes.items[i].name);
	if (c->opts & SEL_SUBSCRIBED) {
		list_subscribed(job, st);
	} else {
		for (size_t i = 0; i < c->boxes.count; i++) {
			const struct store_mailbox_info *b = &c->boxes.items[i];
			if (!matches(c, b->name))
				continue;
			if ((c->opts & SEL_SPECIAL_USE) && b->special_use == 0)
				continue;
			list_box(job, st, b);
		}
	}
	imap_job_reply(job, "OK", "LIST completed");
}

/* LSUB: subscribed names; with a trailing '%', unsubscribed levels
 * above subscribed ones as \Noselect (RFC 3501 6.3.9). */
static void lsub_work(struct imap_job *job)
{
	struct list_ctx *c = job->ctx;
	struct store *st = load_lists(job);
	if (st == NULL)
		return;
	for (size_t i = 0; i < c->boxes.count; i++) {
		const char *name = c->boxes.items[i].name;
		if (subscribed(c, name) || !matches(c, name) ||
		    children_match(c, name) || !sub_children(c, name))
			continue;
		write_list_line(job, "\\Noselect", name, false);
	}
	for (size_t i = 0; i < c->subs.count; i++) {
		const char *name = c->subs.names[i];
		const struct store_mailbox_info *b = find_box(c, name);
		if (!matches(c, name))
			continue;
		write_list_line(job,
		                b != NULL && b->noselect ? "\\Noselect" : "",
		                name, false);
	}
	imap_job_reply(job, "OK", "LSUB completed");
}

static const struct {
	const char *name;
	unsigned int opt;
} select_opts[] =
        {
                {"SUBSCRIBED", SEL_SUBSCRIBED},
                {"REMOTE", 0},
                {"RECURSIVEMATCH", SEL_RECURSIVEMATCH},
                {"SPECIAL-USE", SEL_SPECIAL_USE},
},
  return_opts[] = {
          {"SUBSCRIBED", RET_SUBSCRIBED},
          {"CHILDREN", RET_CHILDREN},
          {"SPECIAL-USE", RET_SPECIAL_USE},
};

static int parse_opts(const struct imap_arg *list, bool ret, struct list_ctx *c)
{
	size_t n = ret ? sizeof(return_opts) / sizeof(return_opts[0])
	               : sizeof(select_opts) / sizeof(select_opts[0]);
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (ret && imap_arg_atom_equals(a, "STATUS")) {
			if (i + 1 >= list->list_count ||
			    imap_status_items(&list->list[i + 1],
			                      &c->status_items) < 0)
				return -1;
			c->opts |= RET_STATUS;
			i++;
			continue;
		}
		size_t k = 0;
		while (k < n &&
		       !imap_arg_atom_equals(a, ret ? return_opts[k].name
		                                    : select_opts[k].name))
			k++;
		if (k == n)
			return -1;
		c->opts |= ret ? return_opts[k].opt : select_opts[k].opt;
	}
	return 0;
}

static int add_pattern(struct list_ctx *c, const char *ref,
                       const struct imap_arg *arg)
{
	const char *pat;
	size_t len;
	if (!imap_arg_get_astring(arg, &pat, &len) || strlen(pat) != len)
		return -1;
	c->patterns =
	        xrealloc(c->patterns, (c->pattern_count + 1) * sizeof(char *));
	c->patterns[c->pattern_count++] =
	        mailbox_pattern_combine(ref, pat, '/');
	return 0;
}

/* LIST [(selection)] reference patterns [RETURN (options)] */
static int parse_list(const struct imap_command_line *cmd, struct list_ctx *c,
                      bool *empty_r)
{
	size_t i = 0, n = cmd->arg_count;
	const char *ref;
	size_t len;
	if (n > 0 && cmd->args[0].type == IMAP_ARG_LIST && !c->lsub) {
		if (parse_opts(&cmd->args[0], false, c) < 0)
			return -1;
		i++;
	}
	if (n >= i + 4 && imap_arg_atom_equals(&cmd->args[i + 2], "RETURN")) {
		if (c->lsub || cmd->args[i + 3].type != IMAP_ARG_LIST ||
		    parse_opts(&cmd->args[i + 3], true, c) < 0)
			return -1;
		n -= 2;
	}
	if (n != i + 2 || !imap_arg_get_astring(&cmd->args[i], &ref, &len))
		return -1;
	const struct imap_arg *pats = &cmd->args[i + 1];
	if (pats->type == IMAP_ARG_LIST && !c->lsub) {
		for (size_t k = 0; k < pats->list_count; k++)
			if (add_pattern(c, ref, &pats->list[k]) < 0)
				return -1;
		return pats->list_count == 0 ? -1 : 0;
	}
	if (add_pattern(c, ref, pats) < 0)
		return -1;
	*empty_r = c->patterns[0][0] == '\0' && ref[0] == '\0';
	return 0;
}

static void list_common(struct imap_session *s,
                        const struct imap_command_line *cmd, bool lsub)
{
	struct list_ctx *c = xcalloc(1, sizeof(*c));
	bool empty = false;
	c->lsub = lsub;
	if (parse_list(cmd, c, &empty) < 0 ||
	    ((c->opts & SEL_RECURSIVEMATCH) &&
	     !(c->opts & (SEL_SUBSCRIBED | SEL_SPECIAL_USE)))) {
		list_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (empty && c->opts == 0) {
		/* RFC 3501 6.3.8: the delimiter and root of the hierarchy */
		conn_printf(s->conn,
		            "* %s (\\Noselect) \"/\" \"\"\r\n%s OK %s "
		            "completed\r\n",
		            lsub ? "LSUB" : "LIST", cmd->tag,
		            lsub ? "LSUB" : "LIST");
		list_ctx_free(c);
		return;
	}
	if (c->opts & SEL_SUBSCRIBED)
		c->opts |= RET_SUBSCRIBED;
	imap_job_start(s, cmd, lsub ? lsub_work : list_work, IMAP_SYNC_ALL, c,
	               list_ctx_free);
}

void cmd_list(struct imap_session *s, const struct imap_command_line *cmd)
{
	list_common(s, cmd, false);
}

void cmd_lsub(struct imap_session *s, const struct imap_command_line *cmd)
{
	list_common(s, cmd, true);
}
