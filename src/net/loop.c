/* Event loop on epoll: see loop.h.
 *
 * Why epoll and not libuv: roost moves a connection between worker loops
 * after login (user affinity) and wants the smallest per-connection state
 * for tens of thousands of idle clients. With raw epoll a connection is a
 * file descriptor plus a 24-byte watcher embedded in the session; moving
 * it is EPOLL_CTL_DEL here and EPOLL_CTL_ADD there. TLS is OpenSSL on the
 * same non-blocking descriptor. libuv would add its own handle structures
 * and close callbacks, and its stream abstraction fits TLS poorly. */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

struct loop_post_item {
	struct loop_post_item *next;
	loop_post_cb *fn;
	void *arg;
};

struct loop {
	unsigned int id;
	int epfd;
	int wakefd;
	struct loop_io wake_io;
	bool stopping;
	uint64_t now_ms;
	/* timers: binary min-heap, 1-based */
	struct loop_timer **heap;
	size_t heap_count, heap_size;
	/* posted functions */
	pthread_mutex_t post_lock;
	struct loop_post_item *post_head, *post_tail;
	bool stop_requested; /* under post_lock */
};

static __thread struct loop *current_loop;

static uint32_t to_epoll(unsigned int events)
{
	uint32_t ev = 0;
	if (events & LOOP_READ)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static void wake_cb(struct loop_io *io, unsigned int events)
{
	uint64_t v;
	(void)!read(io->fd, &v, sizeof(v));
}

struct loop *loop_create(unsigned int id)
{
	struct loop *loop = xcalloc(1, sizeof(*loop));
	loop->id = id;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epfd < 0 || loop->wakefd < 0) {
		log_event(LOG_ERROR, "loop_create_failed", "error",
		          strerror(errno), NULL);
		abort();
	}
	pthread_mutex_init(&loop->post_lock, NULL);
	loop->wake_io.fd = loop->wakefd;
	loop->wake_io.cb = wake_cb;
	loop_io_add(loop, &loop->wake_io, LOOP_READ);
	loop->now_ms = time_now_ms();
	return loop;
}

void loop_destroy(struct loop **loopp)
{
	struct loop *loop = *loopp;
	if (loop == NULL)
		return;
	struct loop_post_item *item = loop->post_head;
	while (item != NULL) {
		struct loop_post_item *next = item->next;
		free(item);
		item = next;
	}
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->post_lock);
	free(loop->heap);
	free(loop);
	*loopp = NULL;
}

unsigned int loop_id(const struct loop *loop)
{
	return loop->id;
}

int loop_io_add(struct loop *loop, struct loop_io *io, unsigned int events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
	io->events = events;
	io->shared = false;
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_io_add_shared(struct loop *loop, struct loop_io *io)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
	                         .data.ptr = io};
	io->events = LOOP_READ;
	io->shared = true;
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_io_set(struct loop *loop, struct loop_io *io, unsigned int events)
{
	if (io->events == events)
		return 0;
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
	io->events = events;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void loop_io_del(struct loop *loop, struct loop_io *io)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* --- timers --- */

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	while (i > 1 && loop->heap[i / 2]->when_ms > t->when_ms) {
		heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	for (;;) {
		size_t c = i * 2;
		if (c > loop->heap_count)
			break;
		if (c + 1 <= loop->heap_count &&
		    loop->heap[c + 1]->when_ms < loop->heap[c]->when_ms)
			c++;
		if (loop->heap[c]->when_ms >= t->when_ms)
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->heap_index;
	if (i == 0)
		return;
	struct loop_timer *last = loop->heap[loop->heap_count--];
	t->heap_index = 0;
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_index);
}

void loop_timer_start(struct loop *loop, struct loop_timer *t,
                      uint64_t delay_ms)
{
	loop_timer_stop(loop, t);
	if (loop->heap_count + 1 >= loop->heap_size) {
		loop->heap_size =
		        loop->heap_size == 0 ? 64 : loop->heap_size * 2;
		loop->heap = xrealloc(loop->heap,
		                      loop->heap_size * sizeof(*loop->heap));
	}
	t->when_ms = loop->now_ms + delay_ms;
	loop->heap_count++;
	heap_set(loop, loop->heap_count, t);
	heap_up(loop, loop->heap_count);
}

static int next_timeout_ms(const struct loop *loop)
{
	if (loop->heap_count == 0)
		return -1;
	uint64_t when = loop->heap[1]->when_ms;
	if (when <= loop->now_ms)
		return 0;
	uint64_t d = when - loop->now_ms;
	return d > 60000 ? 60000 : (int)d;
}

static void run_timers(struct loop *loop)
{
	while (loop->heap_count > 0 && loop->heap[1]->when_ms <= loop->now_ms) {
		struct loop_timer *t = loop->heap[1];
		loop_timer_stop(loop, t);
		t->cb(t);
	}
}

/* --- posting --- */

void loop_post(struct loop *loop, loop_post_cb *fn, void *arg)
{
	struct loop_post_item *item = xmalloc(sizeof(*item));
	item->next = NULL;
	item->fn = fn;
	item->arg = arg;
	pthread_mutex_lock(&loop->post_lock);
	bool was_empty = loop->post_head == NULL;
	if (loop->post_tail != NULL)
		loop->post_tail->next = item;
	else
		loop->post_head = item;
	loop->post_tail = item;
	pthread_mutex_unlock(&loop->post_lock);
	if (was_empty) {
		uint64_t one = 1;
		(void)!write(loop->wakefd, &one, sizeof(one));
	}
}

static void run_posted(struct loop *loop)
{
	pthread_mutex_lock(&loop->post_lock);
	struct loop_post_item *item = loop->post_head;
	loop->post_head = loop->post_tail = NULL;
	if (loop->stop_requested)
		loop->stopping = true;
	pthread_mutex_unlock(&loop->post_lock);
	while (item != NULL) {
		struct loop_post_item *next = item->next;
		item->fn(item->arg);
		free(item);
		item = next;
	}
}

void loop_stop(struct loop *loop)
{
	pthread_mutex_lock(&loop->post_lock);
	loop->stop_requested = true;
	pthread_mutex_unlock(&loop->post_lock);
	uint64_t one = 1;
	(void)!write(loop->wakefd, &one, sizeof(one));
}

#define LOOP_MAX_EVENTS 256

void loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	current_loop = loop;
	while (!loop->stopping) {
		int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS,
		                   next_timeout_ms(loop));
		if (n < 0 && errno != EINTR) {
			log_event(LOG_ERROR, "epoll_wait_failed", "error",
			          strerror(errno), NULL);
			abort();
		}
		loop->now_ms = time_now_ms();
		for (int i = 0; i < n; i++) {
			struct loop_io *io = events[i].data.ptr;
			unsigned int ev = 0;
			if (events[i].events &
			    (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				ev |= LOOP_READ;
			if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ev |= LOOP_WRITE;
			io->cb(io, ev);
		}
		run_posted(loop);
		run_timers(loop);
	}
	/* ready to run again (the fuzz driver runs a loop per input) */
	pthread_mutex_lock(&loop->post_lock);
	loop->stop_requested = false;
	pthread_mutex_unlock(&loop->post_lock);
	loop->stopping = false;
	current_loop = NULL;
}

uint64_t loop_now_ms(const struct loop *loop)
{
	return loop->now_ms;
}

struct loop *loop_current(void)
{
	return current_loop;
}

void loop_drain(struct loop *loop)
{
	struct loop *saved = current_loop;
	current_loop = loop;
	for (;;) {
		pthread_mutex_lock(&loop->post_lock);
		bool empty = loop->post_head == NULL;
		pthread_mutex_unlock(&loop->post_lock);
		if (empty)
			break;
		run_posted(loop);
	}
	current_loop = saved;
}
