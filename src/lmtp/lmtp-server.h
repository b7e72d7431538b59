/* The LMTP service (RFC 2033): settings taken from the configuration,
 * the sessions on each worker loop, and accepting connections on the
 * TCP and Unix-domain listeners. */
#ifndef ROOST_LMTP_LMTP_SERVER_H
#define ROOST_LMTP_LMTP_SERVER_H

struct config;
struct loop;
struct threadpool;
struct lmtp_server;

/* io_pool: where deliveries (which fsync) run. */
struct lmtp_server *lmtp_server_create(const struct config *cfg,
                                       unsigned int n_loops,
                                       struct threadpool *io_pool);
void lmtp_server_destroy(struct lmtp_server **server);
/* Swap in settings from a reloaded configuration (thread-safe);
 * sessions keep the settings they started with. */
void lmtp_server_reload(struct lmtp_server *server, const struct config *cfg);
/* Accept callback for the listeners, with the server as ctx. */
void lmtp_server_accept(struct loop *loop, int fd, void *ctx);
/* Say 421 to every session on loop and close them (on the loop's
 * thread, at shutdown). */
void lmtp_server_shutdown_loop(struct lmtp_server *server, struct loop *loop);

#endif
