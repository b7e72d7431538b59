/* What the protocol servers (IMAP, POP3, LMTP) share: settings taken
 * from the configuration and swapped on reload while sessions keep the
 * ones they started with; the worker loops and the sessions living on
 * each; the thread pools; accepting a connection (the global connection
 * cap, implicit TLS); and user affinity, the loop that owns a user.
 *
 * User affinity (DESIGN.md): every user belongs to one worker loop,
 * chosen by a hash of the user name. A connection is accepted on any
 * loop and moves to its user's loop at login, so that all sessions of a
 * user share state on one thread without locks. */
#ifndef ROOST_NET_SERVICE_H
#define ROOST_NET_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/conn.h"

struct config;
struct loop;
struct penalty;
struct service;
struct service_worker;
struct threadpool;

/* The head of a protocol's settings, which embed it; reference-counted,
 * freed with free() on the last unref. */
struct service_settings {
	atomic_uint refs;
	void (*free)(struct service_settings *set);
	unsigned int max_connections; /* in the whole process */
	struct conn_limits limits;    /* of each connection */
};

/* Embedded in a session: its place in its worker's list. */
struct service_link {
	struct service_link *prev, *next;
	struct service_worker *worker; /* NULL: in no list */
};

struct service_ops {
	/* "proto" in the log lines; NULL: none (IMAP's) */
	const char *proto;
	/* the line a plaintext client refused at the connection limit
	 * gets, CR LF included */
	const char *refuse_line;
	/* new settings with refs 1 and free set */
	struct service_settings *(*settings_create)(const struct config *cfg);
	/* a session for conn, which takes over the reference to set */
	void (*session_create)(void *owner, struct conn *conn,
	                       struct service_settings *set);
};

/* owner: the protocol's server, passed to session_create. loops may be
 * NULL when the service moves no session (then no user loop). */
struct service *service_create(const struct service_ops *ops, void *owner,
                               const struct config *cfg, struct loop **loops,
                               unsigned int n_loops, struct threadpool *pool,
                               struct threadpool *io_pool,
                               struct penalty *penalty);
void service_destroy(struct service **service);
/* Swap in settings from a reloaded configuration (thread-safe). */
void service_reload(struct service *service, const struct config *cfg);
/* The current settings, with a reference for the caller. */
struct service_settings *service_settings_get(struct service *service);
void service_settings_unref(struct service_settings **set);

/* Accept callback for the listeners, with the context from
 * service_listen_ctx() (tls: implicit TLS listener). */
void service_accept(struct loop *loop, int fd, void *ctx);
void *service_listen_ctx(struct service *service, bool tls);

/* The CPU-bound pool (password hashing) and the one store work runs on
 * (larger, as its threads mostly wait); the failed-login penalty. */
struct threadpool *service_pool(struct service *service);
struct threadpool *service_io_pool(struct service *service);
struct penalty *service_penalty(struct service *service);

/* FNV-1a of a user name: the same for every protocol, so that all of a
 * user's sessions agree on its loop. */
uint32_t service_user_hash(const char *user);
/* Worker loop that owns user. */
struct loop *service_user_loop(struct service *service, const char *user);

/* Put link on the list of loop's worker / take it off (on the loop's
 * thread; detaching a link on no list does nothing). */
void service_worker_attach(struct service *service, struct service_link *link,
                           struct loop *loop);
void service_worker_detach(struct service_link *link);
/* The first session on loop's worker, NULL if none (for shutdown). */
struct service_link *service_worker_first(struct service *service,
                                          struct loop *loop);

#endif
