/* The multi-line answers: RETR and TOP (RFC 1939 7), streamed from the
 * message file with byte-stuffing, and LIST and UIDL of the whole
 * maildrop. Each runs as a job whose work function produces a slice and
 * is called again once the client has read it, so neither a big message
 * nor a big maildrop is ever held whole in memory. */
#include <stdlib.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "pop3/pop3-private.h"

#define RETR_SLICE_BYTES (256 * 1024)
#define LISTING_SLICE_LINES 4096

struct retr_ctx {
	uint32_t uid;
	uint64_t size;
	uint64_t body_lines; /* TOP; UINT64_MAX for RETR */
	int fd;
	uint64_t offset;
	struct pop3_stuffer stuffer;
	unsigned char *chunk;
};

static void retr_ctx_free(void *arg)
{
	struct retr_ctx *ctx = arg;
	if (ctx->fd >= 0)
		close(ctx->fd);
	free(ctx->chunk);
	free(ctx);
}

static bool retr_begin(struct pop3_job *job, struct retr_ctx *ctx)
{
	struct pop3_session *s = job->s;
	uint64_t size;
	enum store_status st = store_open_message(s->store, s->mailbox_id,
	                                          ctx->uid, &ctx->fd, &size);
	if (st != STORE_OK) {
		/* expunged by an IMAP session since the login */
		buf_printf(&job->io.out, "-ERR %s\r\n",
		           st == STORE_NONEXISTENT
		                   ? "Message no longer exists"
		                   : "[SYS/TEMP] Cannot read the message");
		ctx->fd = -1;
		return false;
	}
	if (ctx->body_lines == UINT64_MAX)
		buf_printf(&job->io.out, "+OK %llu octets\r\n",
		           (unsigned long long)ctx->size);
	else
		buf_append_str(&job->io.out, "+OK Top of message follows\r\n");
	ctx->chunk = xmalloc(RETR_SLICE_BYTES);
	return true;
}

/* Pool: the next slice of the message, stuffed. */
static void retr_work(struct pop3_job *job)
{
	struct retr_ctx *ctx = job->ctx;
	if (ctx->fd < 0 && !retr_begin(job, ctx))
		return;
	ssize_t n = pread(ctx->fd, ctx->chunk, RETR_SLICE_BYTES,
	                  (off_t)ctx->offset);
	if (n > 0) {
		ctx->offset += (uint64_t)n;
		pop3_stuff(&ctx->stuffer, ctx->chunk, (size_t)n, &job->io.out);
		if (!ctx->stuffer.done) {
			job->io.more = true;
			return;
		}
	}
	/* the end of the file, or of what TOP sends; a read error
	 * shortens the answer but keeps the protocol in step */
	pop3_stuff_finish(&ctx->stuffer, &job->io.out);
}

static void retr_start(struct pop3_session *s, struct pop3_msg *m,
                       uint64_t body_lines)
{
	struct retr_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->uid = m->uid;
	ctx->size = m->size;
	ctx->body_lines = body_lines;
	ctx->fd = -1;
	pop3_stuffer_init(&ctx->stuffer, body_lines);
	pop3_job_start(s, retr_work, NULL, ctx, retr_ctx_free);
}

void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd)
{
	if (cmd->arg_count != 1 || cmd->too_many_args) {
		pop3_err(s, "RETR takes one message number");
		return;
	}
	size_t n;
	struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0], &n);
	if (m == NULL)
		return;
	m->retrieved = true;
	retr_start(s, m, UINT64_MAX);
}

void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd)
{
	uint64_t lines;
	if (cmd->arg_count != 2 || cmd->too_many_args) {
		pop3_err(s, "TOP takes a message number and a number of lines");
		return;
	}
	size_t n;
	struct pop3_msg *m = pop3_msg_arg(s, cmd->args[0], &n);
	if (m == NULL)
		return;
	if (pop3_parse_number(cmd->args[1], UINT64_MAX - 1, &lines) < 0) {
		pop3_err(s, "Invalid number of lines");
		return;
	}
	retr_start(s, m, lines);
}

/* ---- LIST and UIDL of the whole maildrop ---- */

struct listing_ctx {
	bool uidl;
	size_t next; /* index of the next message to list */
};

static void listing_ctx_free(void *ctx)
{
	free(ctx);
}

static void listing_work(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	struct listing_ctx *ctx = job->ctx;
	if (ctx->next == 0)
		buf_printf(&job->io.out, "+OK %zu messages (%llu octets)\r\n",
		           s->live_count, (unsigned long long)s->live_bytes);
	size_t end = ctx->next + LISTING_SLICE_LINES;
	if (end > s->msg_count)
		end = s->msg_count;
	for (; ctx->next < end; ctx->next++) {
		const struct pop3_msg *m = &s->msgs[ctx->next];
		if (m->deleted)
			continue;
		if (ctx->uidl) {
			char id[32];
			pop3_write_uidl(s, m, id, sizeof(id));
			buf_printf(&job->io.out, "%zu %s\r\n", ctx->next + 1,
			           id);
		} else {
			buf_printf(&job->io.out, "%zu %llu\r\n", ctx->next + 1,
			           (unsigned long long)m->size);
		}
	}
	if (ctx->next < s->msg_count)
		job->io.more = true;
	else
		buf_append_str(&job->io.out, ".\r\n");
}

void pop3_listing_start(struct pop3_session *s, bool uidl)
{
	struct listing_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->uidl = uidl;
	pop3_job_start(s, listing_work, NULL, ctx, listing_ctx_free);
}
