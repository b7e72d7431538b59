/* libFuzzer target: a whole IMAP connection. The input is what a client
 * sends, fed to a real session over a socketpair on a real event loop,
 * with a user database (alice/secret) so that LOGIN and AUTHENTICATE
 * reach the authenticated state; the server's output is read and
 * dropped. Catches what the parser's own target cannot: the session's
 * state machine, literals with continuations, SASL exchanges, limits,
 * error recovery and closing. The harness is net/fuzz-session.c. */
#include "auth/penalty.h"
#include "core/config.h"
#include "core/fuzz.h"
#include "imap/imap-server.h"
#include "net/fuzz-session.h"

static struct fuzz_session_env env;
static struct imap_server *server;

static void shutdown_loop(void *srv, struct loop *loop)
{
	imap_server_shutdown_loop(srv, loop);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (server == NULL) {
		fuzz_session_setup(&env);
		server = imap_server_create(env.cfg, env.loops, 1, env.pool,
		                            env.pool, penalty_create(0, 0, 64));
		config_free(&env.cfg);
	}
	fuzz_session_run(&env, imap_server_accept,
	                 imap_server_listen_ctx(server, false), shutdown_loop,
	                 server, data, size);
	return 0;
}
