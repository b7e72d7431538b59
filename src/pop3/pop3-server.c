/* The POP3 service: its settings and sessions on the shared service
 * plumbing (net/service.c: a session moves at login to the worker loop
 * that owns its user, the same one the user's IMAP sessions use), and
 * the in-process maildrop locks. See pop3-server.h. */
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
#include "net/loop.h"
#include "net/service.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3-session.h"

#define POP3_MAX_OUTPUT_BYTES (1024 * 1024)
#define POP3_OUTPUT_HIGH_BYTES 65536
#define POP3_MAX_INPUT_BYTES 65536
#define LOCK_BUCKETS 256

/* A user with a maildrop lock, or whose last login is recent enough to
 * matter for LOGIN-DELAY. */
struct user_lock {
	struct user_lock *next;
	bool locked;
	uint64_t login_ms;
	char user[];
};

struct pop3_server {
	struct service *service;
	pthread_mutex_t lock_lock;
	struct user_lock *locks[LOCK_BUCKETS];
	char hostname[64];
};

static void settings_free(struct service_settings *svc)
{
	struct pop3_settings *set =
	        container_of(svc, struct pop3_settings, svc);
	free(set->data_dir);
	free(set);
}

static struct service_settings *settings_from_config(const struct config *cfg)
{
	struct pop3_settings *set = xcalloc(1, sizeof(*set));
	set->svc.refs = 1;
	set->svc.free = settings_free;
	set->svc.max_connections = cfg->max_connections;
	set->svc.limits = (struct conn_limits){
	        .max_input_bytes = POP3_MAX_INPUT_BYTES,
	        .max_output_bytes = POP3_MAX_OUTPUT_BYTES,
	        .output_high_bytes = POP3_OUTPUT_HIGH_BYTES,
	};
	set->prelogin_timeout_ms = cfg->pop3_prelogin_timeout_s * 1000;
	set->autologout_ms = cfg->pop3_autologout_s * 1000;
	set->max_connections_per_ip = cfg->pop3_max_connections_per_ip;
	set->max_bad_commands = cfg->pop3_max_bad_commands;
	set->login_delay_s = cfg->pop3_login_delay_s;
	set->allow_plaintext = cfg->allow_plaintext;
	set->plaintext_loopback = cfg->plaintext_loopback;
	set->data_dir = xstrdup(cfg->data_dir);
	set->quota_storage = cfg->quota_storage;
	set->quota_messages = cfg->quota_messages;
	set->max_message_size = cfg->max_message_size;
	return &set->svc;
}

void pop3_settings_unref(struct pop3_settings **setp)
{
	struct service_settings *svc = *setp != NULL ? &(*setp)->svc : NULL;
	*setp = NULL;
	service_settings_unref(&svc);
}

static void session_create(void *owner, struct conn *conn,
                           struct service_settings *set)
{
	pop3_session_create(owner, conn,
	                    container_of(set, struct pop3_settings, svc));
}

static const struct service_ops pop3_service_ops = {
        .proto = "pop3",
        .refuse_line = "-ERR [SYS/TEMP] Server is at its connection limit\r\n",
        .settings_create = settings_from_config,
        .session_create = session_create,
};

struct pop3_server *
pop3_server_create(const struct config *cfg, struct loop **loops,
                   unsigned int n_loops, struct threadpool *pool,
                   struct threadpool *io_pool, struct penalty *penalty)
{
	struct pop3_server *server = xcalloc(1, sizeof(*server));
	server->service = service_create(&pop3_service_ops, server, cfg, loops,
	                                 n_loops, pool, io_pool, penalty);
	pthread_mutex_init(&server->lock_lock, NULL);
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
	service_destroy(&server->service);
	pthread_mutex_destroy(&server->lock_lock);
	free(server);
	*serverp = NULL;
}

void pop3_server_reload(struct pop3_server *server, const struct config *cfg)
{
	service_reload(server->service, cfg);
}

void *pop3_server_listen_ctx(struct pop3_server *server, bool tls)
{
	return service_listen_ctx(server->service, tls);
}

void pop3_server_accept(struct loop *loop, int fd, void *ctx)
{
	service_accept(loop, fd, ctx);
}

struct service *pop3_server_service(struct pop3_server *server)
{
	return server->service;
}

void pop3_server_shutdown_loop(struct pop3_server *server, struct loop *loop)
{
	struct service_link *link;
	while ((link = service_worker_first(server->service, loop)) != NULL) {
		struct pop3_session *s =
		        container_of(link, struct pop3_session, link);
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
	        &server->locks[service_user_hash(user) % LOCK_BUCKETS];
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
	        &server->locks[service_user_hash(user) % LOCK_BUCKETS];
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
