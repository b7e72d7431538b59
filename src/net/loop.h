/* Event loop: one per worker thread, on epoll. Watches file descriptors,
 * runs timers, and runs functions posted from other threads (the way work
 * reaches the thread that owns a user, and how thread-pool jobs complete).
 *
 * Everything but loop_post() and loop_stop() must be called from the
 * loop's own thread. */
#ifndef ROOST_NET_LOOP_H
#define ROOST_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOOP_READ 0x1u
#define LOOP_WRITE 0x2u

struct loop;
struct loop_io;
struct loop_timer;

typedef void loop_io_cb(struct loop_io *io, unsigned int events);
typedef void loop_timer_cb(struct loop_timer *timer);
typedef void loop_post_cb(void *arg);

/* Embed in the owner; the callback finds the owner with container_of. */
struct loop_io {
	int fd;
	unsigned int events; /* currently requested LOOP_READ|LOOP_WRITE */
	bool shared;         /* listener fd watched by every loop */
	loop_io_cb *cb;
};

struct loop_timer {
	uint64_t when_ms;
	size_t heap_index; /* 0 = not armed */
	loop_timer_cb *cb;
};

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct loop *loop_create(unsigned int id);
void loop_destroy(struct loop **loop);
unsigned int loop_id(const struct loop *loop);

/* Start watching io->fd for events (may be 0). 0 or -1 with errno. */
int loop_io_add(struct loop *loop, struct loop_io *io, unsigned int events);
/* Change the events watched; no system call when unchanged. */
int loop_io_set(struct loop *loop, struct loop_io *io, unsigned int events);
void loop_io_del(struct loop *loop, struct loop_io *io);
/* Watch a listening socket shared by all loops (EPOLLEXCLUSIVE). */
int loop_io_add_shared(struct loop *loop, struct loop_io *io);

/* Arm timer to fire once after delay_ms (re-arming moves it). */
void loop_timer_start(struct loop *loop, struct loop_timer *t,
                      uint64_t delay_ms);
void loop_timer_stop(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_index != 0;
}

/* Thread-safe: run fn(arg) on the loop's thread, in posting order. */
void loop_post(struct loop *loop, loop_post_cb *fn, void *arg);

/* Run until loop_stop(). */
void loop_run(struct loop *loop);
/* Thread-safe: make loop_run() return after the current iteration. */
void loop_stop(struct loop *loop);

/* After the loop's thread has ended: run posted functions until none is
 * left (at shutdown, so completions and frees are not lost). */
void loop_drain(struct loop *loop);

/* Monotonic milliseconds, cached per iteration. */
uint64_t loop_now_ms(const struct loop *loop);
/* The loop running on this thread, or NULL. */
struct loop *loop_current(void);

#endif
