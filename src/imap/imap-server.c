/* The IMAP service: its settings and sessions on the shared service
 * plumbing (net/service.c, which also keeps user affinity). See
 * imap-server.h. */
#include "imap/imap-server.h"

#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-session.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/service.h"

struct imap_server {
	struct service *service;
};

static void settings_free(struct service_settings *svc)
{
	struct imap_settings *set =
	        container_of(svc, struct imap_settings, svc);
	free(set->data_dir);
	free(set);
}

static struct service_settings *settings_from_config(const struct config *cfg)
{
	struct imap_settings *set = xcalloc(1, sizeof(*set));
	set->svc.refs = 1;
	set->svc.free = settings_free;
	set->svc.max_connections = cfg->max_connections;
	set->svc.limits = (struct conn_limits){
	        .max_input_bytes = 65536,
	        .max_output_bytes = cfg->max_output_bytes,
	        .output_high_bytes = 65536,
	};
	set->prelogin_timeout_ms = cfg->prelogin_timeout_s * 1000;
	set->autologout_ms = cfg->autologout_s * 1000;
	set->max_connections_per_ip = cfg->max_connections_per_ip;
	set->max_line_bytes = cfg->max_line_bytes;
	set->max_literal_bytes = cfg->max_literal_bytes;
	set->max_bad_commands = cfg->max_bad_commands;
	set->allow_plaintext = cfg->allow_plaintext;
	set->plaintext_loopback = cfg->plaintext_loopback;
	set->data_dir = xstrdup(cfg->data_dir);
	set->quota_storage = cfg->quota_storage;
	set->quota_messages = cfg->quota_messages;
	set->max_message_size = cfg->max_message_size;
	return &set->svc;
}

void imap_settings_unref(struct imap_settings **setp)
{
	struct service_settings *svc = *setp != NULL ? &(*setp)->svc : NULL;
	*setp = NULL;
	service_settings_unref(&svc);
}

static void session_create(void *owner, struct conn *conn,
                           struct service_settings *set)
{
	imap_session_create(owner, conn,
	                    container_of(set, struct imap_settings, svc));
}

static const struct service_ops imap_service_ops = {
        .proto = NULL,
        .refuse_line = "* BYE Server is at its connection limit\r\n",
        .settings_create = settings_from_config,
        .session_create = session_create,
};

struct imap_server *
imap_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty)
{
	struct imap_server *server = xcalloc(1, sizeof(*server));
	server->service = service_create(&imap_service_ops, server, cfg, loops,
	                                 n_loops, pool, io_pool, penalty);
	/* changes reach the sessions idling on the user's loop */
	if (loops != NULL)
		store_set_change_hook(imap_idle_store_changed, server->service);
	return server;
}

void imap_server_destroy(struct imap_server **serverp)
{
	struct imap_server *server = *serverp;
	if (server == NULL)
		return;
	store_set_change_hook(NULL, NULL);
	service_destroy(&server->service);
	free(server);
	*serverp = NULL;
}

void imap_server_reload(struct imap_server *server, const struct config *cfg)
{
	service_reload(server->service, cfg);
}

void *imap_server_listen_ctx(struct imap_server *server, bool tls)
{
	return service_listen_ctx(server->service, tls);
}

void imap_server_accept(struct loop *loop, int fd, void *ctx)
{
	service_accept(loop, fd, ctx);
}

struct service *imap_server_service(struct imap_server *server)
{
	return server->service;
}

void imap_server_shutdown_loop(struct imap_server *server, struct loop *loop)
{
	struct service_link *link;
	while ((link = service_worker_first(server->service, loop)) != NULL) {
		struct imap_session *s =
		        container_of(link, struct imap_session, link);
		conn_printf(s->conn, "* BYE Server shutting down\r\n");
		conn_close(s->conn, "server shutdown");
		/* on_close detached s from the list */
	}
}
