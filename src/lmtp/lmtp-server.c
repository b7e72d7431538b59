/* The LMTP service: its settings and sessions on the shared service
 * plumbing (net/service.c). See lmtp-server.h. */
#include "lmtp/lmtp-server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "lmtp/lmtp-private.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/service.h"

struct lmtp_server {
	struct service *service;
};

static void settings_free(struct service_settings *svc)
{
	struct lmtp_settings *set =
	        container_of(svc, struct lmtp_settings, svc);
	free(set->data_dir);
	free(set->delimiters);
	free(set);
}

static struct service_settings *settings_from_config(const struct config *cfg)
{
	struct lmtp_settings *set = xcalloc(1, sizeof(*set));
	set->svc.refs = 1;
	set->svc.free = settings_free;
	set->svc.max_connections = cfg->max_connections;
	/* replies are short lines; the output cap only stops a peer that
	 * pipelines commands without ever reading */
	set->svc.limits = (struct conn_limits){
	        .max_input_bytes = 65536,
	        .max_output_bytes = 1024 * 1024,
	        .output_high_bytes = 65536,
	};
	set->data_dir = xstrdup(cfg->data_dir);
	set->delimiters = xstrdup(cfg->lmtp_recipient_delimiter);
	set->quota_tempfail = cfg->lmtp_quota_full_tempfail;
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
	return &set->svc;
}

void lmtp_settings_unref(struct lmtp_settings **setp)
{
	struct service_settings *svc = *setp != NULL ? &(*setp)->svc : NULL;
	*setp = NULL;
	service_settings_unref(&svc);
}

static void session_create(void *owner, struct conn *conn,
                           struct service_settings *set)
{
	lmtp_session_create(owner, conn,
	                    container_of(set, struct lmtp_settings, svc));
}

static const struct service_ops lmtp_service_ops = {
        .proto = "lmtp",
        .refuse_line = "421 4.3.2 Too many connections\r\n",
        .settings_create = settings_from_config,
        .session_create = session_create,
};

struct lmtp_server *lmtp_server_create(const struct config *cfg,
                                       unsigned int n_loops,
                                       struct threadpool *io_pool)
{
	struct lmtp_server *server = xcalloc(1, sizeof(*server));
	/* sessions stay on the loop that accepted them: no user loops */
	server->service = service_create(&lmtp_service_ops, server, cfg, NULL,
	                                 n_loops, NULL, io_pool, NULL);
	return server;
}

void lmtp_server_destroy(struct lmtp_server **serverp)
{
	struct lmtp_server *server = *serverp;
	if (server == NULL)
		return;
	service_destroy(&server->service);
	free(server);
	*serverp = NULL;
}

void lmtp_server_reload(struct lmtp_server *server, const struct config *cfg)
{
	service_reload(server->service, cfg);
}

void lmtp_server_accept(struct loop *loop, int fd, void *ctx)
{
	struct lmtp_server *server = ctx;
	service_accept(loop, fd, service_listen_ctx(server->service, false));
}

struct service *lmtp_server_service(struct lmtp_server *server)
{
	return server->service;
}

void lmtp_server_shutdown_loop(struct lmtp_server *server, struct loop *loop)
{
	struct service_link *link;
	while ((link = service_worker_first(server->service, loop)) != NULL) {
		struct lmtp_session *s =
		        container_of(link, struct lmtp_session, link);
		conn_printf(s->conn, "421 4.3.2 %s Service shutting down\r\n",
		            s->set->hostname);
		conn_close(s->conn, "server shutdown");
		/* on_close detached s from the list */
	}
}
