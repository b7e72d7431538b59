/* Work for a connection that runs on a thread pool and whose output
 * goes to the connection with backpressure: the store jobs of IMAP and
 * POP3 sessions.
 *
 * The work function runs on a pool thread and writes to job->out. Back
 * on the connection's loop that output is handed to the connection in
 * slices no larger than its high-water mark allows, so a large answer
 * never passes the connection's output cap; a work function that sets
 * job->more is only called again once the client has read what it had.
 * The owner embeds the struct and finds itself with container_of. */
#ifndef ROOST_NET_CONN_JOB_H
#define ROOST_NET_CONN_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct conn;
struct conn_job;
struct threadpool;

typedef void conn_job_fn(struct conn_job *job);

struct conn_job_ops {
	/* pool thread: the work; job->more is false when it starts */
	conn_job_fn *work;
	/* loop: the owner closed, or the connection is closing, when the
	 * work came back: end without a word (free the job) */
	conn_job_fn *drop;
	/* loop: the output went, and the work wants no more (or the
	 * connection closed meanwhile: conn_job_gone() says so) */
	conn_job_fn *end;
};

struct conn_job {
	struct buf out; /* the work's output, not yet handed on */
	bool more;      /* the work sets it: call me again */
	/* the rest is conn-job.c's */
	const struct conn_job_ops *ops;
	struct conn *conn;
	struct threadpool *pool;
	const bool *owner_closed;
	bool wait_drain; /* resume once the output drains */
	bool flushing;   /* continue() is flushing the output */
	bool drained;    /* ...and it drained meanwhile */
};

/* Set job up for conn (out capped at max_output_bytes); owner_closed
 * is the owner's flag that it has closed (read on the loop only). */
void conn_job_init(struct conn_job *job, const struct conn_job_ops *ops,
                   struct conn *conn, struct threadpool *pool,
                   const bool *owner_closed, size_t max_output_bytes);
/* Run the work on the pool; the rest follows on conn's loop. */
void conn_job_submit(struct conn_job *job);
/* The connection's output drained: go on if the job waits for that
 * (call from the owner's on_drain). */
void conn_job_drained(struct conn_job *job);
/* Has the owner closed, or is the connection closing? */
bool conn_job_gone(const struct conn_job *job);
/* Free what conn_job_init() allocated. */
void conn_job_deinit(struct conn_job *job);

#endif
