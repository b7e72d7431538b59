/* The POP3 service: settings, worker bookkeeping, accepting, and the
 * in-process maildrop locks. See pop3-server.h.
 *
 * User affinity (DESIGN.md): a session moves at login to the worker loop
 * that owns its user, the same one the user's IMAP sessions use. */
#include "pop3/pop3-server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/tls.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3-session.h"

#include <openssl/ssl.h>

#define POP3_MAX_OUTPUT_BYTES (1024 * 1024)
#define POP3_OUTPUT_HIGH_BYTES 65536
#define POP3_MAX_INPUT_BYTES 65536
#define LOCK_BUCKETS 256

struct pop3_worker {
	struct pop3_session *sessions; /* touched only on this loop */
};

struct pop3_listen_ctx {
	struct pop3_server *server;
	bool tls;
};

/* A user with a maildrop lock, or whose last login is recent enough to
 * matter for LOGIN-DELAY. */
struct user_lock {
	struct user_lock *next;
	bool locked;
	uint64_t login_ms;
	char user[];
};

struct pop3_server {
	struct loop **loops;
	struct pop3_worker *workers;
	unsigned int n_loops;
	struct threadpool *pool;    /* CPU-bound: password hashing */
	struct threadpool *io_pool; /* the store */
	struct penalty *penalty;
	pthread_mutex_t set_lock;
	struct pop3_settings *set;
	struct pop3_listen_ctx plain, tls;
	pthread_mutex_t lock_lock;
	struct user_lock *locks[LOCK_BUCKETS];
	char hostname[64];
};

static struct pop3_settings *settings_from_config(const struct config *cfg)
{
	struct pop3_settings *set = xcalloc(1, sizeof(*set));
	set->refs = 1;
	set->prelogin_timeout_ms = cfg->pop3_prelogin_timeout_s * 1000;
	set->autologout_ms = cfg->pop3_autologout_s * 1000;
	set->max_connections_per_ip = cfg->pop3_max_connections_per_ip;
	set->max_connections = cfg->max_connections;
	set->max_bad_commands = cfg->pop3_max_bad_commands;
	set->login_delay_s = cfg->pop3_login_delay_s;
	set->allow_plaintext = cfg->allow_plaintext;
	set->plaintext_loopback = cfg->plaintext_loopback;
	set->data_dir = xstrdup(cfg->data_dir);
	set->quota_storage = cfg->quota_storage;
	set->quota_messages = cfg->quota_messages;
	set->max_message_size = cfg->max_message_size;
	return set;
}

void pop3_settings_unref(struct pop3_settings **setp)
{
	struct pop3_settings *set = *setp;
	if (set == NULL)
		return;
	*setp = NULL;
	if (atomic_fetch_sub(&set->refs, 1) == 1) {
		free(set->data_dir);
		free(set);
	}
}

static struct pop3_settings *settings_get(struct pop3_server *server)
{
	pthread_mutex_lock(&server->set_lock);
	struct pop3_settings *set = server->set;
	atomic_fetch_add(&set->refs, 1);
	pthread_mutex_unlock(&server->set_lock);
	return set;
}

struct pop3_server *
pop3_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty)
{
	struct pop3_server *server = xcalloc(1, sizeof(*server));
	server->loops = loops;
	server->n_loops = n_loops;
	server->workers = xcalloc(n_loops, sizeof(*server->workers));
	server->pool = pool;
	server->io_pool = io_pool;
	server->penalty = penalty;
	pthread_mutex_init(&server->set_lock, NULL);
	pthread_mutex_init(&server->lock_lock, NULL);
	server->set = settings_from_config(cfg);
	server->plain.server = server;
	server->tls.server = server;
	server->tls.tls = true;
	if (gethostname(server->hostname, sizeof(server->hostname)) < 0 ||
	    server->hostname[0] == '\0')
		snprintf(server->hostname, sizeof(server->hostname),
		         "localhost");
	server->hostname[sizeof(server->hostname) - 1] = '\0';
	return server;
}

void pop3_server_destroy(struct pop3_server **serverp)
{
	struct pop3_server *server = *serverp;
	if (server == NULL)
		return;
	for (size_t i = 0; i < LOCK_BUCKETS; i++) {
		while (server->locks[i] != NULL) {
			struct user_lock *l = server->locks[i];
			server->locks[i] = l->next;
			free(l);
		}
	}
	pop3_settings_unref(&server->set);
	pthread_mutex_destroy(&server->set_lock);
	pthread_mutex_destroy(&server->lock_lock);
	free(server->workers);
	free(server);
	*serverp = NULL;
}

void pop3_server_reload(struct pop3_server *server, const struct config *cfg)
{
	struct pop3_settings *set = settings_from_config(cfg);
	pthread_mutex_lock(&server->set_lock);
	struct pop3_settings *old = server->set;
	server->set = set;
	pthread_mutex_unlock(&server->set_lock);
	pop3_settings_unref(&old);
}

void *pop3_server_listen_ctx(struct pop3_server *server, bool tls)
{
	return tls ? &server->tls : &server->plain;
}

static void refuse(int fd, bool tls, const char *reason)
{
	static const char err[] =
	        "-ERR [SYS/TEMP] Server is at its connection limit\r\n";
	if (!tls)
		(void)!write(fd, err, sizeof(err) - 1);
	close(fd);
	log_event(LOG_WARN, "connection_refused", "proto", "pop3", "reason",
	          reason, NULL);
}

void pop3_server_accept(struct loop *loop, int fd, void *ctx)
{
	struct pop3_listen_ctx *lctx = ctx;
	struct pop3_server *server = lctx->server;
	struct pop3_settings *set = settings_get(server);
	if (conn_count() >= set->max_connections) {
		refuse(fd, lctx->tls, "max_connections");
		pop3_settings_unref(&set);
		return;
	}
	SSL_CTX *tls_ctx = NULL;
	if (lctx->tls) {
		tls_ctx = tls_current();
		if (tls_ctx == NULL) {
			refuse(fd, true, "no TLS certificate");
			pop3_settings_unref(&set);
			return;
		}
	}
	struct conn_limits lim = {
	        .max_input_bytes = POP3_MAX_INPUT_BYTES,
	        .max_output_bytes = POP3_MAX_OUTPUT_BYTES,
	        .output_high_bytes = POP3_OUTPUT_HIGH_BYTES,
	};
	struct conn *conn = conn_create(loop, fd, tls_ctx, &lim);
	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	pop3_session_create(server, conn, set);
}

struct threadpool *pop3_server_pool(struct pop3_server *server)
{
	return server->pool;
}

struct threadpool *pop3_server_io_pool(struct pop3_server *server)
{
	return server->io_pool;
}

struct penalty *pop3_server_penalty(struct pop3_server *server)
{
	return server->penalty;
}

static uint32_t user_hash(const char *user)
{
	uint32_t h = 2166136261u; /* FNV-1a, as IMAP's, so both agree */
	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

struct loop *pop3_server_user_loop(struct pop3_server *server, const char *user)
{
	return server->loops[user_hash(user) % server->n_loops];
}

void pop3_worker_attach(struct pop3_server *server, struct pop3_session *s)
{
	struct pop3_worker *w = &server->workers[loop_id(conn_loop(s->conn))];
	s->worker = w;
	s->prev = NULL;
	s->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = s;
	w->sessions = s;
}

void pop3_worker_detach(struct pop3_session *s)
{
	struct pop3_worker *w = s->worker;
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

void pop3_server_shutdown_loop(struct pop3_server *server, struct loop *loop)
{
	struct pop3_worker *w = &server->workers[loop_id(loop)];
	while (w->sessions != NULL) {
		struct pop3_session *s = w->sessions;
		conn_printf(s->conn, "-ERR Server shutting down\r\n");
		conn_close(s->conn, "server shutdown");
		/* on_close detached s from the list */
	}
}

/* Drop the bucket's entries nobody needs any more; the user's own is
 * returned (NULL if none). Called with lock_lock held. */
static struct user_lock *bucket_scan(struct user_lock **head, const char *user,
                                     uint64_t now_ms, uint64_t delay_ms)
{
	struct user_lock *found = NULL;
	for (struct user_lock **p = head; *p != NULL;) {
		struct user_lock *l = *p;
		if (strcmp(l->user, user) == 0) {
			found = l;
		} else if (!l->locked && now_ms - l->login_ms >= delay_ms) {
			*p = l->next;
			free(l);
			continue;
		}
		p = &l->next;
	}
	return found;
}

int pop3_server_lock_user(struct pop3_server *server, const char *user,
                          unsigned int login_delay_s)
{
	uint64_t now = time_now_ms();
	uint64_t delay_ms = (uint64_t)login_delay_s * 1000;
	struct user_lock **head =
	        &server->locks[user_hash(user) % LOCK_BUCKETS];
	int ret = 1;
	pthread_mutex_lock(&server->lock_lock);
	struct user_lock *l = bucket_scan(head, user, now, delay_ms);
	if (l != NULL && l->locked) {
		ret = 0;
	} else if (l != NULL && now - l->login_ms < delay_ms) {
		ret = -1;
	} else {
		if (l == NULL) {
			size_t n = strlen(user) + 1;
			l = xcalloc(1, sizeof(*l) + n);
			memcpy(l->user, user, n);
			l->next = *head;
			*head = l;
		}
		l->locked = true;
		l->login_ms = now;
	}
	pthread_mutex_unlock(&server->lock_lock);
	return ret;
}

void pop3_server_unlock_user(struct pop3_server *server, const char *user)
{
	struct user_lock **head =
	        &server->locks[user_hash(user) % LOCK_BUCKETS];
	pthread_mutex_lock(&server->lock_lock);
	for (struct user_lock **p = head; *p != NULL; p = &(*p)->next) {
		struct user_lock *l = *p;
		if (strcmp(l->user, user) != 0)
			continue;
		/* kept for LOGIN-DELAY; bucket_scan() drops it later */
		l->locked = false;
		break;
	}
	pthread_mutex_unlock(&server->lock_lock);
}

void pop3_server_apop_stamp(struct pop3_server *server, char *out, size_t size)
{
	uint64_t rnd = 0;
	if (random_bytes(&rnd, sizeof(rnd)) < 0)
		rnd = time_now_ms();
	snprintf(out, size, "<%ld.%016llx.%lld@%s>", (long)getpid(),
	         (unsigned long long)rnd, (long long)time(NULL),
	         server->hostname);
}
