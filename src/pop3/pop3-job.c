/* Store work on the thread pool, for POP3 as imap-job.c does it for
 * IMAP: the work function runs on a pool thread while the session is
 * paused, and its output goes to the connection in slices no larger than
 * the connection's high-water mark allows, so a large answer (RETR of a
 * big message, LIST of a big maildrop) never passes the output cap and
 * a work function that streams is only called again once the client has
 * read what it had. */
#include <stdlib.h>

#include "core/xalloc.h"
#include "net/conn.h"
#include "net/threadpool.h"
#include "pop3/pop3-private.h"

#define JOB_OUTPUT_MAX ((size_t)64 << 20)
#define JOB_WRITE_SLICE 65536

static void job_submit(struct pop3_job *job);

static void job_free(struct pop3_job *job)
{
	if (job->ctx_free != NULL)
		job->ctx_free(job->ctx);
	buf_free(&job->out);
	free(job);
}

static void job_work(void *arg)
{
	struct pop3_job *job = arg;
	job->more = false;
	job->work(job);
}

/* Loop: move output to the connection while it has room. True when all
 * of it went (or the connection is closing). */
static bool job_flush_output(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	while (job->out.len > 0) {
		if (conn_is_closing(s->conn))
			return true;
		if (conn_output_full(s->conn))
			return false;
		size_t n = job->out.len < JOB_WRITE_SLICE ? job->out.len
		                                          : JOB_WRITE_SLICE;
		if (conn_write(s->conn, job->out.data, n) < 0)
			return true;
		buf_consume(&job->out, n);
	}
	return true;
}

/* The client is gone: the job ends without a word. */
static bool job_dropped(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	if (!s->closed && !conn_is_closing(s->conn))
		return false;
	s->job = NULL;
	job_free(job);
	pop3_session_unref(s);
	return true;
}

static void job_end(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	s->job = NULL;
	if (job->finish != NULL)
		job->finish(job);
	bool keep_busy = job->keep_busy;
	job_free(job);
	if (!keep_busy && !s->closed && !conn_is_closing(s->conn) &&
	    s->input_mode == POP3_INPUT_BUSY)
		pop3_command_finish(s);
	else if (!s->closed)
		conn_flush(s->conn);
	pop3_session_unref(s);
}

static void job_continue(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	if (job_dropped(job))
		return;
	/* a flush that drains the output at once calls on_drain, which
	 * would call this again from inside it: it only says so, and the
	 * loop goes on here, so the stack does not grow with the answer */
	while (!job_flush_output(job)) {
		s->job_wait_drain = true;
		s->job_drained = false;
		s->job_flushing = true;
		conn_flush(s->conn);
		s->job_flushing = false;
		if (!s->job_drained)
			return;
		if (s->closed || conn_is_closing(s->conn))
			break;
	}
	if (job->more && !s->closed && !conn_is_closing(s->conn)) {
		job_submit(job);
		conn_flush(s->conn);
		return;
	}
	job_end(job);
}

static void job_done(void *arg)
{
	job_continue(arg);
}

static void job_submit(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	threadpool_submit(pop3_server_io_pool(s->server), job_work, job_done,
	                  job, conn_loop(s->conn));
}

void pop3_job_drained(struct pop3_session *s)
{
	if (!s->job_wait_drain || s->job == NULL)
		return;
	s->job_wait_drain = false;
	if (s->job_flushing)
		s->job_drained = true; /* job_continue's loop goes on */
	else
		job_continue(s->job);
}

void pop3_job_start(struct pop3_session *s, pop3_job_fn *work,
                    pop3_job_fn *finish, void *ctx, void (*ctx_free)(void *ctx))
{
	struct pop3_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	buf_init(&job->out, JOB_OUTPUT_MAX);
	job->work = work;
	job->finish = finish;
	job->ctx = ctx;
	job->ctx_free = ctx_free;
	pop3_session_ref(s);
	pop3_command_async(s);
	s->job = job;
	job_submit(job);
}
