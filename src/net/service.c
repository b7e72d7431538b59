/* The protocol servers' shared plumbing; see service.h. */
#include "net/service.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/loop.h"
#include "net/tls.h"

#include <openssl/ssl.h>

struct service_worker {
	struct service_link *sessions; /* touched only on this loop */
};

struct service_listen_ctx {
	struct service *service;
	bool tls;
};

struct service {
	const struct service_ops *ops;
	void *owner;
	struct loop **loops;
	struct service_worker *workers;
	unsigned int n_loops;
	struct threadpool *pool;
	struct threadpool *io_pool;
	struct penalty *penalty;
	pthread_mutex_t set_lock;
	struct service_settings *set;
	struct service_listen_ctx plain, tls; /* listener contexts */
};

struct service *service_create(const struct service_ops *ops, void *owner,
                               const struct config *cfg, struct loop **loops,
                               unsigned int n_loops, struct threadpool *pool,
                               struct threadpool *io_pool,
                               struct penalty *penalty)
{
	struct service *service = xcalloc(1, sizeof(*service));
	service->ops = ops;
	service->owner = owner;
	service->loops = loops;
	service->n_loops = n_loops;
	service->workers = xcalloc(n_loops, sizeof(*service->workers));
	service->pool = pool;
	service->io_pool = io_pool;
	service->penalty = penalty;
	pthread_mutex_init(&service->set_lock, NULL);
	service->set = ops->settings_create(cfg);
	service->plain.service = service;
	service->tls.service = service;
	service->tls.tls = true;
	return service;
}

void service_destroy(struct service **servicep)
{
	struct service *service = *servicep;
	if (service == NULL)
		return;
	service_settings_unref(&service->set);
	pthread_mutex_destroy(&service->set_lock);
	free(service->workers);
	free(service);
	*servicep = NULL;
}

void service_settings_unref(struct service_settings **setp)
{
	struct service_settings *set = *setp;
	if (set == NULL)
		return;
	*setp = NULL;
	if (atomic_fetch_sub(&set->refs, 1) == 1)
		set->free(set);
}

struct service_settings *service_settings_get(struct service *service)
{
	pthread_mutex_lock(&service->set_lock);
	struct service_settings *set = service->set;
	atomic_fetch_add(&set->refs, 1);
	pthread_mutex_unlock(&service->set_lock);
	return set;
}

void service_reload(struct service *service, const struct config *cfg)
{
	struct service_settings *set = service->ops->settings_create(cfg);
	pthread_mutex_lock(&service->set_lock);
	struct service_settings *old = service->set;
	service->set = set;
	pthread_mutex_unlock(&service->set_lock);
	service_settings_unref(&old);
}

void *service_listen_ctx(struct service *service, bool tls)
{
	return tls ? &service->tls : &service->plain;
}

static void refuse(const struct service *service, int fd, bool tls,
                   const char *reason)
{
	/* on plaintext, tell the client why; a TLS client would only see
	 * garbage before the handshake */
	const char *line = service->ops->refuse_line;
	if (!tls)
		(void)!write(fd, line, strlen(line));
	close(fd);
	if (service->ops->proto != NULL)
		log_event(LOG_WARN, "connection_refused", "proto",
		          service->ops->proto, "reason", reason, NULL);
	else
		log_event(LOG_WARN, "connection_refused", "reason", reason,
		          NULL);
}

void service_accept(struct loop *loop, int fd, void *ctx)
{
	struct service_listen_ctx *lctx = ctx;
	struct service *service = lctx->service;
	struct service_settings *set = service_settings_get(service);
	if (conn_count() >= set->max_connections) {
		refuse(service, fd, lctx->tls, "max_connections");
		service_settings_unref(&set);
		return;
	}
	SSL_CTX *tls_ctx = NULL;
	if (lctx->tls) {
		tls_ctx = tls_current();
		if (tls_ctx == NULL) {
			refuse(service, fd, true, "no TLS certificate");
			service_settings_unref(&set);
			return;
		}
	}
	struct conn *conn = conn_create(loop, fd, tls_ctx, &set->limits);
	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	service->ops->session_create(service->owner, conn, set);
}

struct threadpool *service_pool(struct service *service)
{
	return service->pool;
}

struct threadpool *service_io_pool(struct service *service)
{
	return service->io_pool;
}

struct penalty *service_penalty(struct service *service)
{
	return service->penalty;
}

uint32_t service_user_hash(const char *user)
{
	uint32_t h = 2166136261u;
	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

struct loop *service_user_loop(struct service *service, const char *user)
{
	return service->loops[service_user_hash(user) % service->n_loops];
}

void service_worker_attach(struct service *service, struct service_link *link,
                           struct loop *loop)
{
	struct service_worker *w = &service->workers[loop_id(loop)];
	link->worker = w;
	link->prev = NULL;
	link->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = link;
	w->sessions = link;
}

void service_worker_detach(struct service_link *link)
{
	struct service_worker *w = link->worker;
	if (w == NULL)
		return;
	if (link->prev != NULL)
		link->prev->next = link->next;
	else
		w->sessions = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	link->prev = link->next = NULL;
	link->worker = NULL;
}

struct service_link *service_worker_first(struct service *service,
                                          struct loop *loop)
{
	return service->workers[loop_id(loop)].sessions;
}
