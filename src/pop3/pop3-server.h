/* The POP3 service (RFC 1939): settings taken from the configuration,
 * the worker loops sessions live on, accepting connections, and the
 * maildrop locks of the users with a session in the TRANSACTION state. */
#ifndef ROOST_POP3_POP3_SERVER_H
#define ROOST_POP3_POP3_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/service.h"

struct config;
struct loop;
struct penalty;
struct threadpool;
struct pop3_server;

/* Settings a session copies at connect time; replaced on reload. */
struct pop3_settings {
	struct service_settings svc; /* refs, connection cap and limits */
	unsigned int prelogin_timeout_ms;
	unsigned int autologout_ms;
	unsigned int max_connections_per_ip;
	unsigned int max_bad_commands;
	unsigned int login_delay_s;
	bool allow_plaintext;
	bool plaintext_loopback;
	/* the store */
	char *data_dir;
	uint64_t quota_storage;
	uint64_t quota_messages;
	uint64_t max_message_size;
};

struct pop3_server *
pop3_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty);
void pop3_server_destroy(struct pop3_server **server);
/* Swap in settings from a reloaded configuration (thread-safe). */
void pop3_server_reload(struct pop3_server *server, const struct config *cfg);
/* Accept callback for listener_open_list(), with the context from
 * pop3_server_listen_ctx() (tls: implicit TLS listener). */
void pop3_server_accept(struct loop *loop, int fd, void *ctx);
void *pop3_server_listen_ctx(struct pop3_server *server, bool tls);
/* Say "-ERR" to every session on loop and close them, without entering
 * the UPDATE state (call on the loop's thread, at shutdown). */
void pop3_server_shutdown_loop(struct pop3_server *server, struct loop *loop);

void pop3_settings_unref(struct pop3_settings **set);

#endif
