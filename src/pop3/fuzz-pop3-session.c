/* libFuzzer target: a whole POP3 connection. The input is what a client
 * sends, fed to a real session over a socketpair on a real event loop,
 * with a user database (alice/secret) so that USER/PASS, APOP and AUTH
 * reach the TRANSACTION state on a store holding a few messages; the
 * server's output is read and dropped. Catches what the parser's own
 * target cannot: the session's state machine, SASL exchanges, the
 * maildrop and its lock, streamed answers, limits and closing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/penalty.h"
#include "auth/userdb.h"
#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "pop3/pop3-server.h"
#include "store/store.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/threadpool.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define FUZZ_MAX_RUN_MS 2000

static struct loop *loop;
static struct pop3_server *server;
static struct threadpool *pool;

struct client {
	struct loop_io io;
	const unsigned char *data;
	size_t size, sent;
	struct loop_timer tick;
	unsigned int ticks;
};

/* alice's INBOX: messages with lines POP3 must stuff. Deletions are
 * committed only by QUIT, so some inputs empty it: it is filled again
 * at each start, not per input. */
static void add_messages(const struct config *cfg)
{
	static const char msg[] = "Subject: x\r\n\r\n.dot\r\nline\r\n.\r\n";
	struct store_settings set = {.data_dir = cfg->data_dir};
	enum store_status st;
	struct store *store = store_open(&set, "alice", &st);
	if (store == NULL)
		abort();
	struct store_append_msg m = {.data = msg, .size = sizeof(msg) - 1};
	uint32_t uidvalidity, uid;
	for (int i = 0; i < 3; i++) {
		if (store_append(store, "INBOX", &m, 1, &uidvalidity, &uid) !=
		    STORE_OK)
			abort();
	}
	store_close(&store);
}

static void init_once(void)
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
	struct config *cfg = config_defaults();
	if (config_apply_string(cfg, ini, &error) < 0)
		abort();
	free(ini);
	config_finish(cfg);
	add_messages(cfg);
	loop = loop_create(0);
	static struct loop *loops[1];
	loops[0] = loop;
	pool = threadpool_create(1);
	server = pop3_server_create(cfg, loops, 1, pool, pool,
	                            penalty_create(0, 0, 64));
	config_free(&cfg);
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
	loop_io_set(loop, io,
	            cl->sent < cl->size ? LOOP_READ | LOOP_WRITE : LOOP_READ);
}

/* Stop once the server has closed the connection, or after a bound. */
static void tick_cb(struct loop_timer *t)
{
	struct client *cl = container_of(t, struct client, tick);
	if (conn_count() == 0 || ++cl->ticks > FUZZ_MAX_RUN_MS) {
		loop_stop(loop);
		return;
	}
	loop_timer_start(loop, t, 1);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (server == NULL)
		init_once();
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               fds) < 0)
		abort();
	struct client cl = {.io = {.fd = fds[1], .cb = client_io},
	                    .data = data,
	                    .size = size,
	                    .tick = {.cb = tick_cb}};
	if (size == 0)
		shutdown(fds[1], SHUT_WR);
	pop3_server_accept(loop, fds[0], pop3_server_listen_ctx(server, false));
	loop_io_add(loop, &cl.io, LOOP_READ | LOOP_WRITE);
	loop_timer_start(loop, &cl.tick, 1);
	loop_run(loop);
	loop_timer_stop(loop, &cl.tick);
	/* a session still open at the bound (e.g. waiting for a literal)
	 * is closed the way shutdown closes it */
	pop3_server_shutdown_loop(server, loop);
	/* finish password checks of sessions now closed, so every input
	 * frees what it allocated */
	threadpool_wait_idle(pool);
	loop_drain(loop);
	loop_io_del(loop, &cl.io);
	close(fds[1]);
	return 0;
}
