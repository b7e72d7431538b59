/* Pool work with its output streamed to a connection; see conn-job.h. */
#include "net/conn-job.h"

#include "net/conn.h"
#include "net/threadpool.h"

#define CONN_JOB_WRITE_SLICE 65536

void conn_job_init(struct conn_job *job, const struct conn_job_ops *ops,
                   struct conn *conn, struct threadpool *pool,
                   const bool *owner_closed, size_t max_output_bytes)
{
	buf_init(&job->out, max_output_bytes);
	job->more = false;
	job->ops = ops;
	job->conn = conn;
	job->pool = pool;
	job->owner_closed = owner_closed;
	job->wait_drain = job->flushing = job->drained = false;
}

void conn_job_deinit(struct conn_job *job)
{
	buf_free(&job->out);
}

bool conn_job_gone(const struct conn_job *job)
{
	return *job->owner_closed || conn_is_closing(job->conn);
}

static void job_work(void *arg)
{
	struct conn_job *job = arg;
	job->more = false;
	job->ops->work(job);
}

/* Loop: move output to the connection while it has room. True when all
 * of it went (or the connection is closing). */
static bool job_flush_output(struct conn_job *job)
{
	while (job->out.len > 0) {
		if (conn_is_closing(job->conn))
			return true;
		if (conn_output_full(job->conn))
			return false;
		size_t n = job->out.len < CONN_JOB_WRITE_SLICE
		                   ? job->out.len
		                   : CONN_JOB_WRITE_SLICE;
		if (conn_write(job->conn, job->out.data, n) < 0)
			return true;
		buf_consume(&job->out, n);
	}
	return true;
}

static void job_continue(struct conn_job *job)
{
	if (conn_job_gone(job)) {
		job->ops->drop(job);
		return;
	}
	/* a flush that drains the output at once calls on_drain, which
	 * would call this again from inside it: it only says so, and the
	 * loop goes on here, so the stack does not grow with the answer */
	while (!job_flush_output(job)) {
		job->wait_drain = true;
		job->drained = false;
		job->flushing = true;
		conn_flush(job->conn);
		job->flushing = false;
		if (!job->drained)
			return;
		if (conn_job_gone(job))
			break;
	}
	if (job->more && !conn_job_gone(job)) {
		conn_job_submit(job);
		conn_flush(job->conn);
		return;
	}
	job->ops->end(job);
}

static void job_done(void *arg)
{
	job_continue(arg);
}

void conn_job_submit(struct conn_job *job)
{
	threadpool_submit(job->pool, job_work, job_done, job,
	                  conn_loop(job->conn));
}

void conn_job_drained(struct conn_job *job)
{
	if (!job->wait_drain)
		return;
	job->wait_drain = false;
	if (job->flushing)
		job->drained = true; /* job_continue's loop goes on */
	else
		job_continue(job);
}
