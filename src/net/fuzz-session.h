/* The harness of the libFuzzer targets that drive a whole server
 * connection (fuzz-imap-session.c, fuzz-pop3-session.c): a user
 * database with alice/secret, a private data directory, one event loop
 * and one thread pool, and a client that sends the input over a
 * socketpair and drops what the server answers. Linked into those
 * targets only, never into roost: it sets up the user database (auth/)
 * besides the loop. */
#ifndef ROOST_NET_FUZZ_SESSION_H
#define ROOST_NET_FUZZ_SESSION_H

#include <stddef.h>

#include "net/listener.h"

struct config;
struct loop;
struct threadpool;

struct fuzz_session_env {
	struct config *cfg; /* [server] data is a fresh directory */
	struct loop *loops[1];
	struct threadpool *pool;
};

/* Load the users, create the data directory, the configuration, the
 * loop and the pool; aborts on failure. */
void fuzz_session_setup(struct fuzz_session_env *env);

/* Close every session of the server on loop, as at shutdown. */
typedef void fuzz_session_shutdown_fn(void *server, struct loop *loop);

/* Accept one connection with accept(loop, fd, accept_ctx), send it data
 * and EOF, and run the loop until the server closes it or a bound
 * passes; then close what is left with shutdown and wait for the pool,
 * so that every input frees what it allocated. */
void fuzz_session_run(struct fuzz_session_env *env, listener_accept_cb *accept,
                      void *accept_ctx, fuzz_session_shutdown_fn *shutdown,
                      void *server, const unsigned char *data, size_t size);

#endif
