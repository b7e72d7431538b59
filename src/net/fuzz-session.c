/* The whole-session fuzz harness; see fuzz-session.h. */
#include "net/fuzz-session.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/threadpool.h"

#define FUZZ_MAX_RUN_MS 2000

struct client {
	struct loop *loop;
	struct loop_io io;
	const unsigned char *data;
	size_t size, sent;
	struct loop_timer tick;
	unsigned int ticks;
};

void fuzz_session_setup(struct fuzz_session_env *env)
{
	char path[] = "/tmp/roost-fuzz-passwd-XXXXXX";
	int fd = mkstemp(path);
	static const char users[] = "alice:{PLAIN}secret::::::\n";
	char *error = NULL;
	if (fd < 0 || write(fd, users, sizeof(users) - 1) < 0 ||
	    userdb_load(path, &error) < 0)
		abort();
	close(fd);
	unlink(path);
	log_set_level(LOG_ERROR);
	/* logged-in inputs reach the store: give it a private directory */
	static char data[] = "/tmp/roost-fuzz-data-XXXXXX";
	if (mkdtemp(data) == NULL)
		abort();
	char *ini = xasprintf("[server]\ndata = %s\n"
	                      "[store]\nquota_storage = 64M\n",
	                      data);
	env->cfg = config_defaults();
	if (config_apply_string(env->cfg, ini, &error) < 0)
		abort();
	free(ini);
	config_finish(env->cfg);
	env->loops[0] = loop_create(0);
	env->pool = threadpool_create(1);
}

/* The client side: send the input as the socket takes it, then EOF;
 * read and drop the server's output. */
static void client_io(struct loop_io *io, unsigned int events)
{
	struct client *cl = container_of(io, struct client, io);
	unsigned char sink[65536];
	while (read(io->fd, sink, sizeof(sink)) > 0)
		;
	if (cl->sent < cl->size) {
		ssize_t n =
		        write(io->fd, cl->data + cl->sent, cl->size - cl->sent);
		if (n > 0)
			cl->sent += (size_t)n;
		if (cl->sent == cl->size)
			shutdown(io->fd, SHUT_WR);
	}
	loop_io_set(cl->loop, io,
	            cl->sent < cl->size ? LOOP_READ | LOOP_WRITE : LOOP_READ);
}

/* Stop once the server has closed the connection, or after a bound. */
static void tick_cb(struct loop_timer *t)
{
	struct client *cl = container_of(t, struct client, tick);
	if (conn_count() == 0 || ++cl->ticks > FUZZ_MAX_RUN_MS) {
		loop_stop(cl->loop);
		return;
	}
	loop_timer_start(cl->loop, t, 1);
}

void fuzz_session_run(struct fuzz_session_env *env, listener_accept_cb *accept,
                      void *accept_ctx, fuzz_session_shutdown_fn *shutdown_fn,
                      void *server, const unsigned char *data, size_t size)
{
	struct loop *loop = env->loops[0];
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               fds) < 0)
		abort();
	struct client cl = {.loop = loop,
	                    .io = {.fd = fds[1], .cb = client_io},
	                    .data = data,
	                    .size = size,
	                    .tick = {.cb = tick_cb}};
	if (size == 0)
		shutdown(fds[1], SHUT_WR);
	accept(loop, fds[0], accept_ctx);
	loop_io_add(loop, &cl.io, LOOP_READ | LOOP_WRITE);
	loop_timer_start(loop, &cl.tick, 1);
	loop_run(loop);
	loop_timer_stop(loop, &cl.tick);
	/* a session still open at the bound (e.g. waiting for a literal)
	 * is closed the way shutdown closes it */
	shutdown_fn(server, loop);
	/* finish password checks of sessions now closed, so every input
	 * frees what it allocated */
	threadpool_wait_idle(env->pool);
	loop_drain(loop);
	loop_io_del(loop, &cl.io);
	close(fds[1]);
}
