/* The daemon: configuration, first-start setup, worker threads with one
 * event loop each, listeners, and signals (SIGTERM/SIGINT stop with BYE,
 * SIGHUP reloads configuration, certificate and users). */
#include "cli/serve.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/passwd-file.h"
#include "auth/password.h"
#include "auth/penalty.h"
#include "auth/userdb.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "imap/imap-server.h"
#include "lmtp/lmtp-server.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/threadpool.h"
#include "net/tls.h"
#include "pop3/pop3-server.h"

#define PENALTY_MAX_ENTRIES 65536

struct server {
	const char *config_path;
	const char *data_override;
	struct config *cfg;
	unsigned int n_loops;
	struct loop **loops;
	pthread_t *threads;
	struct threadpool *pool;
	struct threadpool *io_pool;
	struct penalty *penalty;
	struct imap_server *imap;
	struct lmtp_server *lmtp;
	struct pop3_server *pop3;
	struct listener *listeners;
};

static void log_error(const char *event, const char *error)
{
	log_event(LOG_ERROR, event, "error", error, NULL);
}

static int make_demo_user(const struct config *cfg)
{
	static const char alphabet[] =
	        "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char rnd[16];
	char password[sizeof(rnd) + 1];
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		password[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	password[sizeof(rnd)] = '\0';
	const char *error = NULL;
	char *hash = password_hash(PASSWORD_DEFAULT_SCHEME, password,
	                           strlen(password), &error);
	if (hash == NULL ||
	    passwd_file_set(cfg->passwd_file, "demo", hash, &error) < 0) {
		log_error("demo_user_failed", error);
		free(hash);
		return -1;
	}
	free(hash);
	printf("roost: created user demo with password %s\n", password);
	fflush(stdout);
	explicit_bzero(password, sizeof(password));
	return 0;
}

int serve_first_start(const struct config *cfg)
{
	struct stat st;
	if (mkdir_p(cfg->data_dir, 0700) < 0) {
		log_error("data_dir_failed", strerror(errno));
		return -1;
	}
	if (stat(cfg->tls_cert, &st) < 0 && stat(cfg->tls_key, &st) < 0) {
		char *error = NULL;
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", cfg->tls_cert);
		char *slash = strrchr(dir, '/');
		if (slash != NULL) {
			*slash = '\0';
			mkdir_p(dir, 0700);
		}
		if (tls_create_self_signed(cfg->tls_cert, cfg->tls_key,
		                           "localhost", &error) < 0) {
			log_error("tls_create_failed", error);
			free(error);
			return -1;
		}
		log_event(LOG_INFO, "tls_created", "cert", cfg->tls_cert, NULL);
	}
	if (stat(cfg->passwd_file, &st) < 0 && errno == ENOENT)
		return make_demo_user(cfg);
	return 0;
}

static void *worker_main(void *arg)
{
	loop_run(arg);
	return NULL;
}

static unsigned int worker_count(const struct config *cfg)
{
	if (cfg->workers > 0)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned int)n : 1;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int drop_privileges(const char *user)
{
	if (getuid() != 0 || user[0] == '\0')
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		log_error("drop_privileges_failed", "no such user");
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("drop_privileges_failed", strerror(errno));
		return -1;
	}
	log_event(LOG_INFO, "privileges_dropped", "user", user, NULL);
	return 0;
}

static int load_runtime(const struct config *cfg)
{
	char *error = NULL;
	if (tls_load(cfg->tls_cert, cfg->tls_key, &error) < 0) {
		log_error("tls_load_failed", error);
		free(error);
		return -1;
	}
	if (userdb_load(cfg->passwd_file, &error) < 0) {
		log_error("userdb_load_failed", error);
		free(error);
		return -1;
	}
	return 0;
}

static int open_listeners(struct server *srv)
{
	char *error = NULL;
	if (listener_open_list(&srv->listeners, srv->cfg->imap_listen, "imap",
	                       false, imap_server_accept,
	                       imap_server_listen_ctx(srv->imap, false),
	                       &error) < 0 ||
	    listener_open_list(&srv->listeners, srv->cfg->imap_tls_listen,
	                       "imap", true, imap_server_accept,
	                       imap_server_listen_ctx(srv->imap, true),
	                       &error) < 0 ||
	    listener_open_list(&srv->listeners, srv->cfg->pop3_listen, "pop3",
	                       false, pop3_server_accept,
	                       pop3_server_listen_ctx(srv->pop3, false),
	                       &error) < 0 ||
	    listener_open_list(&srv->listeners, srv->cfg->pop3_tls_listen,
	                       "pop3", true, pop3_server_accept,
	                       pop3_server_listen_ctx(srv->pop3, true),
	                       &error) < 0 ||
	    listener_open_list(&srv->listeners, srv->cfg->lmtp_listen, "lmtp",
	                       false, lmtp_server_accept, srv->lmtp,
	                       &error) < 0 ||
	    listener_open_unix(&srv->listeners, srv->cfg->lmtp_socket, "lmtp",
	                       lmtp_server_accept, srv->lmtp, &error) < 0) {
		log_error("listen_failed", error);
		free(error);
		return -1;
	}
	return 0;
}

static void reload(struct server *srv)
{
	char *error = NULL;
	struct config *cfg =
	        config_load(srv->config_path, srv->data_override, &error);
	if (cfg == NULL) {
		log_event(LOG_WARN, "reload_failed", "error", error, NULL);
		free(error);
		return;
	}
	if (load_runtime(cfg) < 0) {
		log_event(LOG_WARN, "reload_failed", "error",
		          "keeping the previous certificate and users", NULL);
		config_free(&cfg);
		return;
	}
	log_set_level((enum log_level)log_level_parse(cfg->log_level));
	imap_server_reload(srv->imap, cfg);
	lmtp_server_reload(srv->lmtp, cfg);
	pop3_server_reload(srv->pop3, cfg);
	config_free(&srv->cfg);
	srv->cfg = cfg;
	log_event(LOG_INFO, "reload", NULL);
}

struct shutdown_ctx {
	struct server *srv;
	struct loop *loop;
};

static void shutdown_on_loop(void *arg)
{
	struct shutdown_ctx *ctx = arg;
	imap_server_shutdown_loop(ctx->srv->imap, ctx->loop);
	lmtp_server_shutdown_loop(ctx->srv->lmtp, ctx->loop);
	pop3_server_shutdown_loop(ctx->srv->pop3, ctx->loop);
	loop_stop(ctx->loop);
	free(ctx);
}

static void start_workers(struct server *srv)
{
	srv->threads = xcalloc(srv->n_loops, sizeof(pthread_t));
	for (unsigned int i = 0; i < srv->n_loops; i++) {
		listener_watch_all(srv->listeners, srv->loops[i]);
		if (pthread_create(&srv->threads[i], NULL, worker_main,
		                   srv->loops[i]) != 0)
			abort();
	}
}

static void stop_workers(struct server *srv)
{
	for (unsigned int i = 0; i < srv->n_loops; i++) {
		struct shutdown_ctx *ctx = xmalloc(sizeof(*ctx));
		ctx->srv = srv;
		ctx->loop = srv->loops[i];
		loop_post(srv->loops[i], shutdown_on_loop, ctx);
	}
	for (unsigned int i = 0; i < srv->n_loops; i++)
		pthread_join(srv->threads[i], NULL);
	/* complete what the pool still had, then close any session that
	 * arrived on a loop after it stopped (a move in flight) */
	threadpool_destroy(&srv->pool);
	threadpool_destroy(&srv->io_pool);
	for (unsigned int i = 0; i < srv->n_loops; i++) {
		loop_drain(srv->loops[i]);
		imap_server_shutdown_loop(srv->imap, srv->loops[i]);
		lmtp_server_shutdown_loop(srv->lmtp, srv->loops[i]);
		pop3_server_shutdown_loop(srv->pop3, srv->loops[i]);
		loop_drain(srv->loops[i]);
	}
}

static int wait_signals(struct server *srv, const sigset_t *set)
{
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			return -1;
		if (sig == SIGHUP) {
			reload(srv);
			continue;
		}
		log_event(LOG_INFO, "shutdown", "signal",
		          sig == SIGTERM ? "TERM" : "INT", NULL);
		return 0;
	}
}

static void server_free(struct server *srv)
{
	listener_close_all(&srv->listeners);
	imap_server_destroy(&srv->imap);
	lmtp_server_destroy(&srv->lmtp);
	pop3_server_destroy(&srv->pop3);
	for (unsigned int i = 0; i < srv->n_loops; i++)
		loop_destroy(&srv->loops[i]);
	free(srv->loops);
	free(srv->threads);
	threadpool_destroy(&srv->pool);
	threadpool_destroy(&srv->io_pool);
	penalty_free(&srv->penalty);
	userdb_unload();
	tls_unload();
	config_free(&srv->cfg);
}

/* Store jobs mostly wait for the disk, so many more than the cores. */
static unsigned int io_thread_count(const struct config *cfg,
                                    unsigned int n_loops)
{
	if (cfg->io_threads != 0)
		return cfg->io_threads;
	unsigned int n = 4 * n_loops;
	return n < 8 ? 8 : n > 64 ? 64 : n;
}

static int server_setup(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	srv->n_loops = worker_count(cfg);
	srv->loops = xcalloc(srv->n_loops, sizeof(*srv->loops));
	for (unsigned int i = 0; i < srv->n_loops; i++)
		srv->loops[i] = loop_create(i);
	srv->pool = threadpool_create(srv->n_loops < 2 ? 2 : srv->n_loops);
	srv->io_pool = threadpool_create(io_thread_count(cfg, srv->n_loops));
	srv->penalty =
	        penalty_create(cfg->failure_delay_base_ms,
	                       cfg->failure_delay_max_ms, PENALTY_MAX_ENTRIES);
	srv->imap = imap_server_create(cfg, srv->loops, srv->n_loops, srv->pool,
	                               srv->io_pool, srv->penalty);
	srv->lmtp = lmtp_server_create(cfg, srv->n_loops, srv->io_pool);
	srv->pop3 = pop3_server_create(cfg, srv->loops, srv->n_loops, srv->pool,
	                               srv->io_pool, srv->penalty);
	if (open_listeners(srv) < 0 || drop_privileges(cfg->run_user) < 0)
		return -1;
	return 0;
}

int serve_main(const char *config_path, const char *data_dir)
{
	struct server srv = {.config_path = config_path,
	                     .data_override = data_dir};
	char *error = NULL;
	umask(077);
	srv.cfg = config_load(config_path, data_dir, &error);
	if (srv.cfg == NULL) {
		fprintf(stderr, "roost: %s\n", error);
		free(error);
		return 1;
	}
	log_set_level((enum log_level)log_level_parse(srv.cfg->log_level));
	int ret = 1;
	if (serve_first_start(srv.cfg) < 0 || load_runtime(srv.cfg) < 0)
		goto out_free;
	raise_fd_limit();
	/* workers inherit the mask: only this thread takes signals */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (server_setup(&srv) < 0)
		goto out_free;
	start_workers(&srv);
	char workers[16];
	snprintf(workers, sizeof(workers), "%u", srv.n_loops);
	log_event(LOG_INFO, "started", "version", ROOST_VERSION, "workers",
	          workers, NULL);
	ret = wait_signals(&srv, &set) < 0 ? 1 : 0;
	stop_workers(&srv);
out_free:
	server_free(&srv);
	return ret;
}
