/* Thread pool: a mutex-protected FIFO and condition variable; see
 * threadpool.h. */
#include "net/threadpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "net/loop.h"

struct job {
	struct job *next;
	threadpool_fn *work, *done;
	void *arg;
	struct loop *loop;
};

struct threadpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	bool stopping;
	unsigned int running; /* jobs taken and not yet finished */
	pthread_cond_t idle_cond;
	unsigned int n_threads;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	struct threadpool *pool = arg;
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		struct job *job = pool->head;
		if (job == NULL) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->running++;
		pthread_mutex_unlock(&pool->lock);
		job->work(job->arg);
		loop_post(job->loop, job->done, job->arg);
		free(job);
		pthread_mutex_lock(&pool->lock);
		if (--pool->running == 0 && pool->head == NULL)
			pthread_cond_broadcast(&pool->idle_cond);
		pthread_mutex_unlock(&pool->lock);
	}
}

struct threadpool *threadpool_create(unsigned int threads)
{
	struct threadpool *pool = xcalloc(1, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pthread_cond_init(&pool->idle_cond, NULL);
	pool->n_threads = threads == 0 ? 1 : threads;
	pool->threads = xcalloc(pool->n_threads, sizeof(pthread_t));
	for (unsigned int i = 0; i < pool->n_threads; i++) {
		if (pthread_create(&pool->threads[i], NULL, worker_main,
		                   pool) != 0)
			abort();
	}
	return pool;
}

void threadpool_destroy(struct threadpool **poolp)
{
	struct threadpool *pool = *poolp;
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	pthread_cond_destroy(&pool->idle_cond);
	free(pool->threads);
	free(pool);
	*poolp = NULL;
}

void threadpool_submit(struct threadpool *pool, threadpool_fn *work,
                       threadpool_fn *done, void *arg, struct loop *loop)
{
	struct job *job = xmalloc(sizeof(*job));
	job->next = NULL;
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->loop = loop;
	pthread_mutex_lock(&pool->lock);
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

void threadpool_wait_idle(struct threadpool *pool)
{
	pthread_mutex_lock(&pool->lock);
	while (pool->head != NULL || pool->running > 0)
		pthread_cond_wait(&pool->idle_cond, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
}
