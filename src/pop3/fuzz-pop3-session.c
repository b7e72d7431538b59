/* libFuzzer target: a whole POP3 connection. The input is what a client
 * sends, fed to a real session over a socketpair on a real event loop,
 * with a user database (alice/secret) so that USER/PASS, APOP and AUTH
 * reach the TRANSACTION state on a store holding a few messages; the
 * server's output is read and dropped. Catches what the parser's own
 * target cannot: the session's state machine, SASL exchanges, the
 * maildrop and its lock, streamed answers, limits and closing. The
 * harness is net/fuzz-session.c. */
#include "auth/penalty.h"
#include "core/config.h"
#include "core/fuzz.h"
#include "net/fuzz-session.h"
#include "pop3/pop3-server.h"
#include "store/store.h"

static struct fuzz_session_env env;
static struct pop3_server *server;

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

static void shutdown_loop(void *srv, struct loop *loop)
{
	pop3_server_shutdown_loop(srv, loop);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (server == NULL) {
		fuzz_session_setup(&env);
		add_messages(env.cfg);
		server = pop3_server_create(env.cfg, env.loops, 1, env.pool,
		                            env.pool, penalty_create(0, 0, 64));
		config_free(&env.cfg);
	}
	fuzz_session_run(&env, pop3_server_accept,
	                 pop3_server_listen_ctx(server, false), shutdown_loop,
	                 server, data, size);
	return 0;
}
