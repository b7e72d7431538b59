/* Thread pool for work that blocks (password hashing, fsync, cold file
 * reads): a job runs on a pool thread, and its completion runs back on
 * the loop that submitted it, so session state is only ever touched by
 * its own loop. */
#ifndef ROOST_NET_THREADPOOL_H
#define ROOST_NET_THREADPOOL_H

struct loop;
struct threadpool;

typedef void threadpool_fn(void *arg);

struct threadpool *threadpool_create(unsigned int threads);
/* Finish queued jobs, join the threads; sets *pool to NULL. */
void threadpool_destroy(struct threadpool **pool);
/* Queue work(arg) on a pool thread; then done(arg) is posted to loop. */
void threadpool_submit(struct threadpool *pool, threadpool_fn *work,
                       threadpool_fn *done, void *arg, struct loop *loop);

/* Block until no job is queued or running (their completions have been
 * posted to their loops, not necessarily run). */
void threadpool_wait_idle(struct threadpool *pool);

#endif
