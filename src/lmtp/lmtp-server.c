/* The LMTP service: settings, the sessions of each worker loop, and
 * accepting. See lmtp-server.h. */
#include "lmtp/lmtp-server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "lmtp/lmtp-private.h"
#include "net/conn.h"

struct lmtp_worker {
	struct lmtp_session *sessions; /* touched only on this loop */
};

struct lmtp_server {
	struct lmtp_worker *workers;
	unsigned int n_loops;
	struct threadpool *io_pool;
	pthread_mutex_t set_lock;
	struct lmtp_settings *set;
};

static struct lmtp_settings *settings_from_config(const struct config *cfg)
{
	struct lmtp_settings *set = xcalloc(1, sizeof(*set));
	set->refs = 1;
	set->data_dir = xstrdup(cfg->data_dir);
	set->delimiters = xstrdup(cfg->lmtp_recipient_delimiter);
	set->quota_tempfail = cfg->lmtp_quota_full_tempfail;
	set->max_connections = cfg->max_connections;
	if (gethostname(set->hostname, sizeof(set->hostname) - 1) < 0 ||
	    set->hostname[0] == '\0')
		strcpy(set->hostname, "localhost");
	set->deliver = (struct deliver_settings){
	        .data_dir = set->data_dir,
	        .quota_storage = cfg->quota_storage,
	        .quota_messages = cfg->quota_messages,
	        .max_message_size = cfg->max_message_size,
	        .detail_mailbox = cfg->lmtp_detail_mailbox,
	        .delimiters = set->delimiters,
	};
	return set;
}

void lmtp_settings_unref(struct lmtp_settings **setp)
{
	struct lmtp_settings *set = *setp;
	if (set == NULL)
		return;
	*setp = NULL;
	if (atomic_fetch_sub(&set->refs, 1) == 1) {
		free(set->data_dir);
		free(set->delimiters);
		free(set);
	}
}

static struct lmtp_settings *settings_get(struct lmtp_server *server)
{
	pthread_mutex_lock(&server->set_lock);
	struct lmtp_settings *set = server->set;
	atomic_fetch_add(&set->refs, 1);
	pthread_mutex_unlock(&server->set_lock);
	return set;
}

struct lmtp_server *lmtp_server_create(const struct config *cfg,
                                       unsigned int n_loops,
                                       struct threadpool *io_pool)
{
	struct lmtp_server *server = xcalloc(1, sizeof(*server));
	server->n_loops = n_loops;
	server->workers = xcalloc(n_loops, sizeof(*server->workers));
	server->io_pool = io_pool;
	pthread_mutex_init(&server->set_lock, NULL);
	server->set = settings_from_config(cfg);
	return server;
}

void lmtp_server_destroy(struct lmtp_server **serverp)
{
	struct lmtp_server *server = *serverp;
	if (server == NULL)
		return;
	lmtp_settings_unref(&server->set);
	pthread_mutex_destroy(&server->set_lock);
	free(server->workers);
	free(server);
	*serverp = NULL;
}

void lmtp_server_reload(struct lmtp_server *server, const struct config *cfg)
{
	struct lmtp_settings *set = settings_from_config(cfg);
	pthread_mutex_lock(&server->set_lock);
	struct lmtp_settings *old = server->set;
	server->set = set;
	pthread_mutex_unlock(&server->set_lock);
	lmtp_settings_unref(&old);
}

void lmtp_server_accept(struct loop *loop, int fd, void *ctx)
{
	struct lmtp_server *server = ctx;
	struct lmtp_settings *set = settings_get(server);
	if (conn_count() >= set->max_connections) {
		static const char busy[] = "421 4.3.2 Too many connections\r\n";
		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		log_event(LOG_WARN, "connection_refused", "proto", "lmtp",
		          "reason", "max_connections", NULL);
		lmtp_settings_unref(&set);
		return;
	}
	/* replies are short lines; the output cap only stops a peer that
	 * pipelines commands without ever reading */
	struct conn_limits lim = {
	        .max_input_bytes = 65536,
	        .max_output_bytes = 1024 * 1024,
	        .output_high_bytes = 65536,
	};
	struct conn *conn = conn_create(loop, fd, NULL, &lim);
	lmtp_session_create(server, conn, set);
}

struct threadpool *lmtp_server_io_pool(struct lmtp_server *server)
{
	return server->io_pool;
}

void lmtp_worker_attach(struct lmtp_server *server, struct lmtp_session *s)
{
	struct lmtp_worker *w = &server->workers[loop_id(conn_loop(s->conn))];
	s->prev = NULL;
	s->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = s;
	w->sessions = s;
}

void lmtp_worker_detach(struct lmtp_server *server, struct lmtp_session *s)
{
	struct lmtp_worker *w = &server->workers[loop_id(conn_loop(s->conn))];
	if (s->prev != NULL)
		s->prev->next = s->next;
	else if (w->sessions == s)
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

void lmtp_server_shutdown_loop(struct lmtp_server *server, struct loop *loop)
{
	struct lmtp_worker *w = &server->workers[loop_id(loop)];
	while (w->sessions != NULL) {
		struct lmtp_session *s = w->sessions;
		conn_printf(s->conn, "421 4.3.2 %s Service shutting down\r\n",
		            s->set->hostname);
		conn_close(s->conn, "server shutdown");
		/* on_close detached s from the list */
	}
}
