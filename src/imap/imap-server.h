/* The IMAP service: settings taken from the configuration, the worker
 * loops that sessions live on, and accepting connections. */
#ifndef ROOST_IMAP_IMAP_SERVER_H
#define ROOST_IMAP_IMAP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/service.h"

struct config;
struct loop;
struct penalty;
struct threadpool;
struct imap_server;

/* Settings a session copies at connect time; replaced on reload. */
struct imap_settings {
	struct service_settings svc; /* refs, connection cap and limits */
	unsigned int prelogin_timeout_ms;
	unsigned int autologout_ms;
	unsigned int max_connections_per_ip;
	unsigned int max_line_bytes;
	unsigned int max_literal_bytes;
	unsigned int max_bad_commands;
	bool allow_plaintext;
	bool plaintext_loopback;
	/* the store */
	char *data_dir;
	uint64_t quota_storage;
	uint64_t quota_messages;
	uint64_t max_message_size;
};

struct imap_server *
imap_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty);
void imap_server_destroy(struct imap_server **server);
/* Swap in settings from a reloaded configuration (thread-safe). */
void imap_server_reload(struct imap_server *server, const struct config *cfg);
/* Accept callback for listener_open_list(), with the context from
 * imap_server_listen_ctx() (tls: implicit TLS listener). */
void imap_server_accept(struct loop *loop, int fd, void *ctx);
void *imap_server_listen_ctx(struct imap_server *server, bool tls);
/* Send "* BYE" to every session on loop and close them (call on the
 * loop's thread, at shutdown). */
void imap_server_shutdown_loop(struct imap_server *server, struct loop *loop);

#endif
