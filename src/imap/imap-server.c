/* The IMAP service: settings, worker bookkeeping and accepting. See
 * imap-server.h.
 *
 * User affinity (DESIGN.md): every user belongs to one worker loop,
 * chosen by a hash of the user name. A connection is accepted on any
 * loop and moves to its user's loop at login, so that all sessions of a
 * user share state on one thread without locks. */
#include "imap/imap-server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-session.h"
#include "net/conn.h"
#include "net/tls.h"

#include <openssl/ssl.h>

struct imap_worker {
	struct imap_session *sessions; /* touched only on this loop */
};

struct imap_listen_ctx {
	struct imap_server *server;
	bool tls;
};

struct imap_server {
	struct loop **loops;
	struct imap_worker *workers;
	unsigned int n_loops;
	struct threadpool *pool;    /* CPU-bound: password hashing */
	struct threadpool *io_pool; /* the store: fsync, file reads */
	struct penalty *penalty;
	pthread_mutex_t set_lock;
	struct imap_settings *set;
	struct imap_listen_ctx plain, tls; /* listener callback contexts */
};

static struct imap_settings *settings_from_config(const struct config *cfg)
{
	struct imap_settings *set = xcalloc(1, sizeof(*set));
	set->refs = 1;
	set->prelogin_timeout_ms = cfg->prelogin_timeout_s * 1000;
	set->autologout_ms = cfg->autologout_s * 1000;
	set->max_connections_per_ip = cfg->max_connections_per_ip;
	set->max_connections = cfg->max_connections;
	set->max_line_bytes = cfg->max_line_bytes;
	set->max_literal_bytes = cfg->max_literal_bytes;
	set->max_output_bytes = cfg->max_output_bytes;
	set->max_bad_commands = cfg->max_bad_commands;
	set->allow_plaintext = cfg->allow_plaintext;
	set->plaintext_loopback = cfg->plaintext_loopback;
	set->data_dir = xstrdup(cfg->data_dir);
	set->quota_storage = cfg->quota_storage;
	set->quota_messages = cfg->quota_messages;
	set->max_message_size = cfg->max_message_size;
	return set;
}

void imap_settings_unref(struct imap_settings **setp)
{
	struct imap_settings *set = *setp;
	if (set == NULL)
		return;
	*setp = NULL;
	if (atomic_fetch_sub(&set->refs, 1) == 1) {
		free(set->data_dir);
		free(set);
	}
}

static struct imap_settings *settings_get(struct imap_server *server)
{
	pthread_mutex_lock(&server->set_lock);
	struct imap_settings *set = server->set;
	atomic_fetch_add(&set->refs, 1);
	pthread_mutex_unlock(&server->set_lock);
	return set;
}

struct imap_server *
imap_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty)
{
	struct imap_server *server = xcalloc(1, sizeof(*server));
	server->loops = loops;
	server->n_loops = n_loops;
	server->workers = xcalloc(n_loops, sizeof(*server->workers));
	server->pool = pool;
	server->io_pool = io_pool;
	server->penalty = penalty;
	pthread_mutex_init(&server->set_lock, NULL);
	server->set = settings_from_config(cfg);
	server->plain.server = server;
	server->tls.server = server;
	server->tls.tls = true;
	return server;
}

void imap_server_destroy(struct imap_server **serverp)
{
	struct imap_server *server = *serverp;
	if (server == NULL)
		return;
	imap_settings_unref(&server->set);
	pthread_mutex_destroy(&server->set_lock);
	free(server->workers);
	free(server);
	*serverp = NULL;
}

void imap_server_reload(struct imap_server *server, const struct config *cfg)
{
	struct imap_settings *set = settings_from_config(cfg);
	pthread_mutex_lock(&server->set_lock);
	struct imap_settings *old = server->set;
	server->set = set;
	pthread_mutex_unlock(&server->set_lock);
	imap_settings_unref(&old);
}

void *imap_server_listen_ctx(struct imap_server *server, bool tls)
{
	return tls ? &server->tls : &server->plain;
}

static void refuse(int fd, bool tls, const char *reason)
{
	/* on plaintext, tell the client why; a TLS client would only see
	 * garbage before the handshake */
	static const char bye[] = "* BYE Server is at its connection limit\r\n";
	if (!tls)
		(void)!write(fd, bye, sizeof(bye) - 1);
	close(fd);
	log_event(LOG_WARN, "connection_refused", "reason", reason, NULL);
}

void imap_server_accept(struct loop *loop, int fd, void *ctx)
{
	struct imap_listen_ctx *lctx = ctx;
	struct imap_server *server = lctx->server;
	struct imap_settings *set = settings_get(server);
	if (conn_count() >= set->max_connections) {
		refuse(fd, lctx->tls, "max_connections");
		imap_settings_unref(&set);
		return;
	}
	SSL_CTX *tls_ctx = NULL;
	if (lctx->tls) {
		tls_ctx = tls_current();
		if (tls_ctx == NULL) {
			refuse(fd, true, "no TLS certificate");
			imap_settings_unref(&set);
			return;
		}
	}
	struct conn_limits lim = {
	        .max_input_bytes = 65536,
	        .max_output_bytes = set->max_output_bytes,
	        .output_high_bytes = 65536,
	};
	struct conn *conn = conn_create(loop, fd, tls_ctx, &lim);
	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	imap_session_create(server, conn, set);
}

struct threadpool *imap_server_pool(struct imap_server *server)
{
	return server->pool;
}

struct threadpool *imap_server_io_pool(struct imap_server *server)
{
	return server->io_pool;
}

struct penalty *imap_server_penalty(struct imap_server *server)
{
	return server->penalty;
}

struct loop *imap_server_user_loop(struct imap_server *server, const char *user)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return server->loops[h % server->n_loops];
}

void imap_worker_attach(struct imap_server *server, struct imap_session *s)
{
	struct imap_worker *w = &server->workers[loop_id(conn_loop(s->conn))];
	s->worker = w;
	s->prev = NULL;
	s->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = s;
	w->sessions = s;
}

void imap_worker_detach(struct imap_session *s)
{
	struct imap_worker *w = s->worker;
	if (w == NULL)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->worker = NULL;
}

void imap_server_shutdown_loop(struct imap_server *server, struct loop *loop)
{
	struct imap_worker *w = &server->workers[loop_id(loop)];
	while (w->sessions != NULL) {
		struct imap_session *s = w->sessions;
		conn_printf(s->conn, "* BYE Server shutting down\r\n");
		conn_close(s->conn, "server shutdown");
		/* on_close detached s from the list */
	}
}
