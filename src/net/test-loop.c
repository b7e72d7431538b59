/* Unit tests for net/loop: timers in order, re-arming and stopping,
 * posting from another thread, and I/O readiness. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/loop.h"

struct rec {
	struct loop *loop;
	int order[8];
	int n;
};

struct tagged_timer {
	struct loop_timer t;
	struct rec *rec;
	int tag;
};

static void timer_cb(struct loop_timer *t)
{
	struct tagged_timer *tt = container_of(t, struct tagged_timer, t);
	tt->rec->order[tt->rec->n++] = tt->tag;
	if (tt->rec->n == 3)
		loop_stop(tt->rec->loop);
}

static void test_timers(void **state)
{
	struct rec rec = {.loop = loop_create(0)};
	struct tagged_timer t[4];
	for (int i = 0; i < 4; i++)
		t[i] = (struct tagged_timer){
		        .t.cb = timer_cb, .rec = &rec, .tag = i};
	loop_timer_start(rec.loop, &t[0].t, 30);
	loop_timer_start(rec.loop, &t[1].t, 10);
	loop_timer_start(rec.loop, &t[2].t, 20);
	loop_timer_start(rec.loop, &t[3].t, 5);
	loop_timer_stop(rec.loop, &t[3].t); /* never fires */
	assert_false(loop_timer_armed(&t[3].t));
	loop_timer_start(rec.loop, &t[1].t, 25); /* moved after 2 */
	loop_run(rec.loop);
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.order[0], 2);
	assert_int_equal(rec.order[1], 1);
	assert_int_equal(rec.order[2], 0);
	loop_destroy(&rec.loop);
}

struct post_ctx {
	struct loop *loop;
	int count;
};

static void post_cb(void *arg)
{
	struct post_ctx *ctx = arg;
	if (++ctx->count == 100)
		loop_stop(ctx->loop);
}

static void *poster(void *arg)
{
	struct post_ctx *ctx = arg;
	for (int i = 0; i < 100; i++)
		loop_post(ctx->loop, post_cb, ctx);
	return NULL;
}

static void test_post_from_thread(void **state)
{
	struct post_ctx ctx = {.loop = loop_create(1)};
	pthread_t th;
	pthread_create(&th, NULL, poster, &ctx);
	loop_run(ctx.loop);
	pthread_join(th, NULL);
	assert_int_equal(ctx.count, 100);
	loop_destroy(&ctx.loop);
}

struct io_ctx {
	struct loop_io io;
	struct loop *loop;
	char got;
};

static void io_cb(struct loop_io *io, unsigned int events)
{
	struct io_ctx *ctx = container_of(io, struct io_ctx, io);
	assert_true(events & LOOP_READ);
	assert_int_equal(read(io->fd, &ctx->got, 1), 1);
	loop_stop(ctx->loop);
}

static void test_io(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct io_ctx ctx = {.io = {.fd = fds[0], .cb = io_cb},
	                     .loop = loop_create(2)};
	assert_int_equal(loop_io_add(ctx.loop, &ctx.io, LOOP_READ), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	loop_run(ctx.loop);
	assert_int_equal(ctx.got, 'x');
	loop_io_del(ctx.loop, &ctx.io);
	loop_destroy(&ctx.loop);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_timers),
	        cmocka_unit_test(test_post_from_thread),
	        cmocka_unit_test(test_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
