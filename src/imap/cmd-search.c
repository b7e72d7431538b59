/* SEARCH and UID SEARCH (RFC 3501 6.4.4) with ESEARCH (RFC 4731),
 * SEARCHRES (RFC 5182) and WITHIN (RFC 5032). Keys on the message's
 * content (header fields, body, text, sent dates) need the message
 * model; until it is wired in they get NO [CANNOT]. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "imap/search.h"
#include "net/conn.h"

struct search_ctx {
	struct search_program prog;
	bool uid;
};

static void search_ctx_free(void *p)
{
	struct search_ctx *c = p;
	search_free(&c->prog);
	free(c);
}

/* The matching messages' view indexes, ascending. */
static size_t *run_search(struct imap_job *job, size_t *count_r)
{
	struct search_ctx *c = job->ctx;
	struct imap_session *s = job->s;
	const struct imap_view *v = s->view;
	size_t *hits = xmalloc((v->count + 1) * sizeof(*hits)), n = 0;
	struct search_msg m = {
	        .max_seq = (uint32_t)v->count,
	        .max_uid = v->count > 0 ? v->msgs[v->count - 1].uid : 0,
	        .now = (uint64_t)time(NULL),
	        .saved = s->saved,
	        .saved_count = s->saved_count,
	};
	for (size_t i = 0; i < v->count; i++) {
		const struct store_msg *msg = &v->msgs[i];
		m.seq = (uint32_t)i + 1;
		m.uid = msg->uid;
		m.flags = msg->flags & STORE_FLAGS_ALL;
		m.recent = (msg->flags & IMAP_VIEW_RECENT) != 0;
		m.keywords = msg->keywords;
		m.internaldate = msg->internaldate;
		m.tz_offset_min = msg->tz_offset_min;
		m.size = msg->size;
		if (search_match(&c->prog.root, &m))
			hits[n++] = i;
	}
	*count_r = n;
	return hits;
}

static uint32_t number_of(const struct imap_view *v, size_t i, bool uid)
{
	return uid ? v->msgs[i].uid : (uint32_t)i + 1;
}

static void write_plain(struct imap_job *job, const size_t *hits, size_t n)
{
	struct search_ctx *c = job->ctx;
	buf_append_str(&job->out, "* SEARCH");
	for (size_t i = 0; i < n; i++)
		buf_printf(&job->out, " %u",
		           number_of(job->s->view, hits[i], c->uid));
	buf_append_str(&job->out, "\r\n");
}

/* * ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set] */
static void write_esearch(struct imap_job *job, const size_t *hits, size_t n)
{
	struct search_ctx *c = job->ctx;
	const struct search_program *p = &c->prog;
	const struct imap_view *v = job->s->view;
	struct buf *out = &job->out;
	buf_printf(out, "* ESEARCH (TAG \"%s\")%s", job->tag,
	           c->uid ? " UID" : "");
	if (p->ret_min && n > 0)
		buf_printf(out, " MIN %u", number_of(v, hits[0], c->uid));
	if (p->ret_max && n > 0)
		buf_printf(out, " MAX %u", number_of(v, hits[n - 1], c->uid));
	if (p->ret_count)
		buf_printf(out, " COUNT %zu", n);
	if (p->ret_all && n > 0) {
		uint32_t *nums = xmalloc(n * sizeof(*nums));
		for (size_t i = 0; i < n; i++)
			nums[i] = number_of(v, hits[i], c->uid);
		buf_append_str(out, " ALL ");
		imap_write_uid_set(out, nums, n);
		free(nums);
	}
	buf_append_str(out, "\r\n");
}

/* SAVE (RFC 5182 2.4): the result, or just its MIN/MAX when only those
 * were asked for besides SAVE, becomes "$". */
static void save_result(struct imap_job *job, const size_t *hits, size_t n)
{
	struct search_ctx *c = job->ctx;
	const struct search_program *p = &c->prog;
	struct imap_session *s = job->s;
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
}

static void search_work(struct imap_job *job)
{
	struct search_ctx *c = job->ctx;
	const struct search_program *p = &c->prog;
	size_t n;
	size_t *hits = run_search(job, &n);
	bool only_save = p->ret_save && !p->ret_min && !p->ret_max &&
	                 !p->ret_all && !p->ret_count;
	if (!p->esearch)
		write_plain(job, hits, n);
	else if (!only_save)
		write_esearch(job, hits, n);
	if (p->ret_save)
		save_result(job, hits, n);
	free(hits);
	imap_job_reply(job, "OK", "SEARCH completed");
}

static bool charset_supported(const char *charset)
{
	return charset == NULL || strcasecmp(charset, "UTF-8") == 0 ||
	       strcasecmp(charset, "US-ASCII") == 0;
}

void imap_cmd_search(struct imap_session *s,
                     const struct imap_command_line *cmd,
                     const struct imap_arg *args, size_t count, bool uid)
{
	struct search_ctx *c = xcalloc(1, sizeof(*c));
	const char *error;
	c->uid = uid;
	if (search_parse(args, count, &c->prog, &error) < 0) {
		conn_printf(s->conn, "%s BAD %s\r\n", cmd->tag, error);
		search_ctx_free(c);
		return;
	}
	const char *no = NULL;
	if (!charset_supported(c->prog.charset))
		no = "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset";
	else if (c->prog.content)
		no = "[CANNOT] Searching message content is not available yet";
	if (no != NULL) {
		conn_printf(s->conn, "%s NO %s\r\n", cmd->tag, no);
		search_ctx_free(c);
		return;
	}
	imap_job_start(s, cmd, search_work,
	               uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE, c,
	               search_ctx_free);
}

void cmd_search(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_search(s, cmd, cmd->args, cmd->arg_count, false);
}
