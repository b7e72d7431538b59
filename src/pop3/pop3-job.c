/* Store work on the thread pool, for POP3 as imap-job.c does it for
 * IMAP: the work function runs on a pool thread while the session is
 * paused, and its output goes to the connection with backpressure
 * (net/conn-job.c), so a large answer (RETR of a big message, LIST of a
 * big maildrop) never passes the output cap and a work function that
 * streams is only called again once the client has read what it had. */
#include <stdlib.h>

#include "core/xalloc.h"
#include "net/conn-job.h"
#include "net/conn.h"
#include "net/service.h"
#include "pop3/pop3-private.h"

#define JOB_OUTPUT_MAX ((size_t)64 << 20)

static void job_free(struct pop3_job *job)
{
	if (job->ctx_free != NULL)
		job->ctx_free(job->ctx);
	conn_job_deinit(&job->io);
	free(job);
}

static void job_work(struct conn_job *io)
{
	struct pop3_job *job = container_of(io, struct pop3_job, io);
	job->work(job);
}

/* The client is gone: the job ends without a word. */
static void job_drop(struct conn_job *io)
{
	struct pop3_job *job = container_of(io, struct pop3_job, io);
	struct pop3_session *s = job->s;
	s->job = NULL;
	job_free(job);
	pop3_session_unref(s);
}

static void job_end(struct conn_job *io)
{
	struct pop3_job *job = container_of(io, struct pop3_job, io);
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

static const struct conn_job_ops pop3_job_ops = {
        .work = job_work,
        .drop = job_drop,
        .end = job_end,
};

void pop3_job_drained(struct pop3_session *s)
{
	if (s->job != NULL)
		conn_job_drained(&s->job->io);
}

void pop3_job_start(struct pop3_session *s, pop3_job_fn *work,
                    pop3_job_fn *finish, void *ctx, void (*ctx_free)(void *ctx))
{
	struct pop3_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	conn_job_init(&job->io, &pop3_job_ops, s->conn,
	              service_io_pool(pop3_server_service(s->server)),
	              &s->closed, JOB_OUTPUT_MAX);
	job->work = work;
	job->finish = finish;
	job->ctx = ctx;
	job->ctx_free = ctx_free;
	pop3_session_ref(s);
	pop3_command_async(s);
	s->job = job;
	conn_job_submit(&job->io);
}
