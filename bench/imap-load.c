/*
 * imap-load: a load generator for any IMAP server (RFC 3501, RFC 9051).
 *
 * It opens N plaintext TCP connections and drives them through
 * LOGIN / NOOP / LOGOUT with non-blocking sockets and one epoll loop per
 * thread, then reports operations per second, latency percentiles and
 * errors, first as a table and then as one machine-readable `RESULT`
 * line of key=value pairs.
 *
 * Modes:
 *   cycle  connect, greeting, LOGIN, NOOP, LOGOUT, wait for the server to
 *          close, repeat (the server closes first, so TIME_WAIT lands on
 *          the server side and the client does not run out of ports);
 *   noop   log in once per connection, then NOOP in a loop;
 *   idle   log every connection in (at most --ramp logins in flight per
 *          thread), print "ready N" and hold the connections silent until
 *          SIGINT/SIGTERM or --hold seconds, for RSS measurements.
 *
 * Responses are parsed as a stream: a read may hold part of a line or
 * many lines, and a line ending in a literal {n} (or {n+}) continues after
 * n bytes.  Only one command is in flight per connection, so the tag of
 * the reply is known.
 */
#include "bench-common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define LOAD_MAX_THREADS 64
#define LOAD_RETRY_BACKOFF_NS (20 * 1000 * 1000ULL)
#define LOAD_IDLE_RETRIES 3
#define LOAD_HEAD_BYTES 64
#define LOAD_TAIL_BYTES 24
#define LOAD_OUT_BYTES 1100
#define LOAD_READ_BYTES 16384

enum load_mode { MODE_CYCLE, MODE_NOOP, MODE_IDLE };

enum load_op { OP_CONNECT, OP_LOGIN, OP_NOOP, OP_LOGOUT, OP_CYCLE, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
        "connect", "login", "noop", "logout", "cycle",
};

enum load_err {
	ERR_CONNECT, /* connect() failed or was refused */
	ERR_TIMEOUT, /* no answer within --timeout */
	ERR_EOF,     /* server closed the connection unexpectedly */
	ERR_NO,      /* tagged NO or BAD */
	ERR_BYE,     /* untagged BYE outside LOGOUT, then close */
	ERR_PROTO,   /* unexpected tag, continuation or greeting */
	ERR_IO,      /* read/write error (ECONNRESET, ...) */
	ERR_COUNT
};

static const char *const err_names[ERR_COUNT] = {
        "connect", "timeout", "eof", "no", "bye", "proto", "io",
};

enum conn_state {
	CS_CLOSED, /* not connected; restarts at retry_at_ns */
	CS_CONNECTING,
	CS_GREETING,
	CS_LOGIN,
	CS_NOOP,
	CS_LOGOUT,
	CS_WAIT_EOF, /* LOGOUT answered, waiting for the server to close */
	CS_HOLD,     /* idle mode: logged in, silent */
	CS_GAVE_UP,  /* idle mode: failed too often */
};

struct load_user {
	char *name;
	char *pass;
};

struct load_options {
	enum load_mode mode;
	struct bench_target target;
	const char *user;
	const char *pass;
	const char *users_file;
	const char *user_pattern;
	unsigned long user_count;
	unsigned long user_start;
	unsigned long conns;
	unsigned long threads;
	double duration_s;
	double hold_s;
	unsigned long ramp;
	const char *sources;
	bool quiet;
};

struct load_stats {
	struct bench_samples op[OP_COUNT];
	uint64_t err[ERR_COUNT];
	uint64_t err_by_op[OP_COUNT];
};

struct load_worker;

struct load_conn {
	struct load_worker *w;
	size_t index; /* global connection number */
	int fd;
	enum conn_state state;
	unsigned retries;
	bool saw_bye;
	bool logged_in;
	uint64_t cycle_start_ns;
	uint64_t op_start_ns;
	uint64_t deadline_ns; /* 0: none */
	uint64_t retry_at_ns;

	/* response parser state */
	uint64_t lit_left;
	bool in_cont; /* after a literal: same response */
	size_t head_len;
	size_t tail_len;
	char head[LOAD_HEAD_BYTES];
	char tail[LOAD_TAIL_BYTES];

	/* pending output */
	size_t out_off;
	size_t out_len;
	bool want_out;
	char out[LOAD_OUT_BYTES];
};

struct load_worker {
	pthread_t thread;
	unsigned id;
	int ep;
	struct load_conn *conns;
	size_t nconns;
	size_t next_open; /* idle mode: next conn to start */
	size_t in_flight; /* idle mode: started, not settled */
	size_t settled;   /* idle mode: held or given up */
	struct load_stats st;
};

static struct load_options opt = {
        .mode = MODE_CYCLE,
        .target = {.host = "127.0.0.1", .port = "143", .timeout_ms = 30000},
        .user_count = 1,
        .user_start = 1,
        .conns = 1,
        .threads = 1,
        .duration_s = 10.0,
        .hold_s = 0.0,
        .ramp = 64,
};

static struct load_user *users;
static size_t nusers;
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static struct sockaddr_storage *sources;
static size_t nsources;

static atomic_int stop_flag;
static atomic_size_t next_user;
static atomic_size_t total_logged_in;
static atomic_size_t total_given_up;
static atomic_uint workers_settled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

/* ---- users ---------------------------------------------------------- */

/* Reads "user:password" lines; blank lines and '#' comments skipped. */
static void users_load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t cap = 0;

	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL)
			bench_fail("users file: line without ':'");
		*colon = '\0';
		if (nusers == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			users = bench_xrealloc(users, cap * sizeof(*users));
		}
		users[nusers].name = bench_xstrdup(line);
		users[nusers].pass = bench_xstrdup(colon + 1);
		nusers++;
	}
	fclose(f);
	if (nusers == 0)
		bench_fail("users file holds no users");
}

static void users_init(void)
{
	if (opt.users_file != NULL) {
		users_load_file(opt.users_file);
		return;
	}
	if (opt.pass == NULL)
		bench_fail("--pass is required (or --users-file)");
	if (opt.user_pattern != NULL) {
		nusers = opt.user_count;
		users = bench_xcalloc(nusers, sizeof(*users));
		for (size_t i = 0; i < nusers; i++) {
			char name[512];

			bench_user_name(name, sizeof(name), opt.user_pattern,
			                opt.user_start + i);
			users[i].name = bench_xstrdup(name);
			users[i].pass = bench_xstrdup(opt.pass);
		}
		return;
	}
	if (opt.user == NULL)
		bench_fail(
		        "--user, --user-pattern or --users-file is required");
	nusers = 1;
	users = bench_xcalloc(1, sizeof(*users));
	users[0].name = bench_xstrdup(opt.user);
	users[0].pass = bench_xstrdup(opt.pass);
}

/* ---- addresses ------------------------------------------------------ */

static void resolve_server(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	int rc = getaddrinfo(opt.target.host, opt.target.port, &hints, &res);

	if (rc != 0)
		bench_fail("%s:%s: %s", opt.target.host, opt.target.port,
		           gai_strerror(rc));
	memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
	server_addr_len = res->ai_addrlen;
	freeaddrinfo(res);
}

/* --source takes a comma-separated list of local addresses to bind. */
static void sources_init(void)
{
	char *list, *tok, *save = NULL;
	size_t cap = 0;

	if (opt.sources == NULL)
		return;
	list = bench_xstrdup(opt.sources);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		struct addrinfo hints = {
		        .ai_socktype = SOCK_STREAM,
		        .ai_flags = AI_NUMERICHOST,
		        .ai_family = server_addr.ss_family,
		};
		struct addrinfo *res;

		if (getaddrinfo(tok, "0", &hints, &res) != 0)
			bench_fail("--source: bad address");
		if (nsources == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			sources =
			        bench_xrealloc(sources, cap * sizeof(*sources));
		}
		memset(&sources[nsources], 0, sizeof(sources[0]));
		memcpy(&sources[nsources], res->ai_addr, res->ai_addrlen);
		nsources++;
		freeaddrinfo(res);
	}
	free(list);
}

/* ---- connection ----------------------------------------------------- */

static void conn_start(struct load_conn *c, uint64_t now);
static void conn_fail(struct load_conn *c, enum load_err err, uint64_t now);

static enum load_op state_op(enum conn_state state)
{
	switch (state) {
	case CS_LOGIN:
		return OP_LOGIN;
	case CS_NOOP:
		return OP_NOOP;
	case CS_LOGOUT:
	case CS_WAIT_EOF:
		return OP_LOGOUT;
	default:
		return OP_CONNECT;
	}
}

static void conn_watch(struct load_conn *c, bool want_out)
{
	struct epoll_event ev = {
	        .events = EPOLLIN | (want_out ? EPOLLOUT : 0),
	        .data.ptr = c,
	};

	if (want_out == c->want_out)
		return;
	c->want_out = want_out;
	if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		bench_fail("epoll_ctl: %s", strerror(errno));
}

static void conn_close(struct load_conn *c)
{
	if (c->fd >= 0) {
		close(c->fd); /* also removes it from the epoll set */
		c->fd = -1;
	}
	c->out_len = c->out_off = 0;
	c->want_out = false;
	c->deadline_ns = 0;
}

/* Writes what is pending; returns -1 if the connection failed. */
static int conn_flush(struct load_conn *c, uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		                 c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_watch(c, true);
				return 0;
			}
			if (errno == EINTR)
				continue;
			conn_fail(c, ERR_IO, now);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	conn_watch(c, false);
	return 0;
}

__attribute__((format(printf, 3, 4))) static int
conn_send(struct load_conn *c, uint64_t now, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out, sizeof(c->out), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->out))
		bench_fail("command too long");
	c->out_len = (size_t)n;
	c->out_off = 0;
	c->op_start_ns = now;
	c->deadline_ns = now + opt.target.timeout_ms * 1000000ULL;
	return conn_flush(c, now);
}

static int conn_send_login(struct load_conn *c, uint64_t now)
{
	size_t i = atomic_fetch_add(&next_user, 1) % nusers;
	char qu[520], qp[520];

	bench_imap_quote(qu, sizeof(qu), users[i].name);
	bench_imap_quote(qp, sizeof(qp), users[i].pass);
	c->state = CS_LOGIN;
	return conn_send(c, now, "A1 LOGIN %s %s\r\n", qu, qp);
}

static int conn_send_noop(struct load_conn *c, uint64_t now)
{
	c->state = CS_NOOP;
	return conn_send(c, now, "A2 NOOP\r\n");
}

static int conn_send_logout(struct load_conn *c, uint64_t now)
{
	c->state = CS_LOGOUT;
	return conn_send(c, now, "A3 LOGOUT\r\n");
}

static void conn_record(struct load_conn *c, enum load_op op, uint64_t start,
                        uint64_t now)
{
	bench_samples_add(&c->w->st.op[op], now - start);
}

static void idle_settle(struct load_conn *c, bool ok)
{
	struct load_worker *w = c->w;

	w->in_flight--;
	w->settled++;
	if (ok)
		atomic_fetch_add(&total_logged_in, 1);
	else
		atomic_fetch_add(&total_given_up, 1);
	if (w->settled == w->nconns)
		atomic_fetch_add(&workers_settled, 1);
}

static void conn_fail(struct load_conn *c, enum load_err err, uint64_t now)
{
	struct load_worker *w = c->w;
	enum load_op op = state_op(c->state);
	bool was_held = c->state == CS_HOLD;

	w->st.err[err]++;
	w->st.err_by_op[was_held ? OP_CYCLE : op]++;
	conn_close(c);
	if (opt.mode == MODE_IDLE) {
		if (was_held) {
			/* dropped by the server while idle: don't reopen */
			atomic_fetch_sub(&total_logged_in, 1);
			c->state = CS_GAVE_UP;
			return;
		}
		if (++c->retries > LOAD_IDLE_RETRIES) {
			c->state = CS_GAVE_UP;
			idle_settle(c, false);
			return;
		}
	}
	c->state = CS_CLOSED;
	c->retry_at_ns = now + LOAD_RETRY_BACKOFF_NS;
}

/* Tagged status: returns 1 for OK, 0 for NO/BAD, -1 for anything else. */
static int response_status(const char *rest)
{
	if (strncasecmp(rest, "OK", 2) == 0 &&
	    (rest[2] == ' ' || rest[2] == '\0'))
		return 1;
	if ((strncasecmp(rest, "NO", 2) == 0 ||
	     strncasecmp(rest, "BAD", 3) == 0))
		return 0;
	return -1;
}

/*
 * Handles one complete response (head holds its first bytes).
 * Returns -1 if the connection was closed or restarted.
 */
static int conn_response(struct load_conn *c, uint64_t now)
{
	const char *h = c->head;
	static const char *const tags[] = {
	        [CS_LOGIN] = "A1 ",
	        [CS_NOOP] = "A2 ",
	        [CS_LOGOUT] = "A3 ",
	};
	int st;

	if (h[0] == '*' && h[1] == ' ') {
		if (strncasecmp(h + 2, "BYE", 3) == 0)
			c->saw_bye = true;
		if (c->state != CS_GREETING)
			return 0;
		if (strncasecmp(h + 2, "OK", 2) != 0) {
			conn_fail(c, c->saw_bye ? ERR_BYE : ERR_PROTO, now);
			return -1;
		}
		conn_record(c, OP_CONNECT, c->cycle_start_ns, now);
		return conn_send_login(c, now);
	}
	if (c->state != CS_LOGIN && c->state != CS_NOOP &&
	    c->state != CS_LOGOUT) {
		conn_fail(c, ERR_PROTO, now);
		return -1;
	}
	if (strncmp(h, tags[c->state], 3) != 0) {
		conn_fail(c, ERR_PROTO, now);
		return -1;
	}
	st = response_status(h + 3);
	if (st <= 0) {
		conn_fail(c, st == 0 ? ERR_NO : ERR_PROTO, now);
		return -1;
	}
	conn_record(c, state_op(c->state), c->op_start_ns, now);
	switch (c->state) {
	case CS_LOGIN:
		c->logged_in = true;
		if (opt.mode == MODE_IDLE) {
			c->state = CS_HOLD;
			c->deadline_ns = 0;
			idle_settle(c, true);
			return 0;
		}
		return conn_send_noop(c, now);
	case CS_NOOP:
		if (opt.mode == MODE_NOOP)
			return conn_send_noop(c, now);
		return conn_send_logout(c, now);
	default:
		c->state = CS_WAIT_EOF;
		c->deadline_ns = now + opt.target.timeout_ms * 1000000ULL;
		return 0;
	}
}

/* True if the physical line in tail ends in {N} or {N+}; sets *n_r. */
static bool line_literal(const struct load_conn *c, uint64_t *n_r)
{
	size_t end = c->tail_len;
	uint64_t n = 0, mul = 1;
	size_t digits = 0;

	if (end > 0 && c->tail[end - 1] == '\r')
		end--;
	if (end < 3 || c->tail[end - 1] != '}')
		return false;
	end--;
	if (c->tail[end - 1] == '+')
		end--;
	while (end > 0 && c->tail[end - 1] >= '0' && c->tail[end - 1] <= '9') {
		if (digits++ == 18)
			return false;
		n += (uint64_t)(c->tail[end - 1] - '0') * mul;
		mul *= 10;
		end--;
	}
	if (digits == 0 || end == 0 || c->tail[end - 1] != '{')
		return false;
	*n_r = n;
	return true;
}

/* Feeds received bytes; returns -1 if the connection was closed. */
static int conn_feed(struct load_conn *c, const char *p, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		uint64_t lit;

		if (c->lit_left > 0) {
			size_t take = n - i;

			if (take > c->lit_left)
				take = (size_t)c->lit_left;
			c->lit_left -= take;
			i += take - 1;
			continue;
		}
		if (ch == '\n') {
			if (line_literal(c, &lit)) {
				c->lit_left = lit;
				c->in_cont = true;
				c->tail_len = 0;
				continue;
			}
			c->head[c->head_len] = '\0';
			if (conn_response(c, now) < 0)
				return -1;
			c->head_len = c->tail_len = 0;
			c->in_cont = false;
			continue;
		}
		if (!c->in_cont && c->head_len < sizeof(c->head) - 1)
			c->head[c->head_len++] = ch;
		if (c->tail_len == sizeof(c->tail)) {
			memmove(c->tail, c->tail + 1, sizeof(c->tail) - 1);
			c->tail_len--;
		}
		c->tail[c->tail_len++] = ch;
	}
	return 0;
}

static void conn_eof(struct load_conn *c, uint64_t now)
{
	if (c->state == CS_WAIT_EOF) {
		conn_record(c, OP_CYCLE, c->cycle_start_ns, now);
		conn_close(c);
		c->state = CS_CLOSED;
		c->retry_at_ns = 0;
		if (!atomic_load(&stop_flag))
			conn_start(c, now);
		return;
	}
	conn_fail(c, c->saw_bye ? ERR_BYE : ERR_EOF, now);
}

static void conn_readable(struct load_conn *c, uint64_t now)
{
	char buf[LOAD_READ_BYTES];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (c->state == CS_WAIT_EOF && errno == ECONNRESET) {
			conn_eof(c, now);
			return;
		}
		conn_fail(c, ERR_IO, now);
		return;
	}
	if (n == 0) {
		conn_eof(c, now);
		return;
	}
	conn_feed(c, buf, (size_t)n, now);
}

static void conn_connected(struct load_conn *c, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0) {
		conn_fail(c, ERR_CONNECT, now);
		return;
	}
	c->state = CS_GREETING;
	conn_watch(c, false);
}

static void conn_event(struct load_conn *c, uint32_t events, uint64_t now)
{
	if (c->state == CS_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c, now);
		return;
	}
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_readable(c, now);
	if (c->fd >= 0 && (events & EPOLLOUT) && c->out_len > 0)
		conn_flush(c, now);
}

static void conn_start(struct load_conn *c, uint64_t now)
{
	struct epoll_event ev = {.data.ptr = c};
	int one = 1;
	int fd;

	c->saw_bye = false;
	c->logged_in = false;
	c->lit_left = 0;
	c->in_cont = false;
	c->head_len = c->tail_len = 0;
	c->cycle_start_ns = now;
	c->op_start_ns = now;
	c->deadline_ns = now + opt.target.timeout_ms * 1000000ULL;
	c->state = CS_CONNECTING;

	fd = socket(server_addr.ss_family,
	            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* out of fds or memory: count it and back off */
		conn_fail(c, ERR_CONNECT, now);
		return;
	}
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nsources > 0) {
		const struct sockaddr_storage *src =
		        &sources[c->index % nsources];
		socklen_t slen = src->ss_family == AF_INET6
		                         ? sizeof(struct sockaddr_in6)
		                         : sizeof(struct sockaddr_in);

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		           sizeof(one));
		if (bind(fd, (const struct sockaddr *)src, slen) < 0) {
			conn_fail(c, ERR_CONNECT, now);
			return;
		}
	}
	ev.events = EPOLLIN | EPOLLOUT;
	c->want_out = true;
	if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		bench_fail("epoll_ctl: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&server_addr,
	            server_addr_len) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(c, ERR_CONNECT, now);
		return;
	}
}

/* ---- worker --------------------------------------------------------- */

static void worker_open_more(struct load_worker *w, uint64_t now)
{
	while (w->next_open < w->nconns && w->in_flight < opt.ramp) {
		struct load_conn *c = &w->conns[w->next_open++];

		w->in_flight++;
		conn_start(c, now);
	}
}

static void worker_sweep(struct load_worker *w, uint64_t now)
{
	for (size_t i = 0; i < w->nconns; i++) {
		struct load_conn *c = &w->conns[i];

		if (c->state == CS_CLOSED && c->fd < 0 && c->retry_at_ns != 0 &&
		    now >= c->retry_at_ns) {
			if (opt.mode == MODE_IDLE && i >= w->next_open)
				continue;
			c->retry_at_ns = 0;
			conn_start(c, now);
		} else if (c->fd >= 0 && c->deadline_ns != 0 &&
		           now >= c->deadline_ns) {
			if (c->state == CS_WAIT_EOF) {
				/* server never closed: count the cycle */
				conn_eof(c, now);
			} else {
				conn_fail(c, ERR_TIMEOUT, now);
			}
		}
	}
	if (opt.mode == MODE_IDLE)
		worker_open_more(w, now);
}

static void *worker_run(void *arg)
{
	struct load_worker *w = arg;
	struct epoll_event evs[256];
	uint64_t sweep_ns = w->nconns > 1000 ? 100000000ULL : 10000000ULL;
	uint64_t now = bench_now_ns();
	uint64_t last_sweep = now;

	if (opt.mode == MODE_IDLE) {
		if (w->nconns == 0)
			atomic_fetch_add(&workers_settled, 1);
		worker_open_more(w, now);
	} else {
		for (size_t i = 0; i < w->nconns; i++)
			conn_start(&w->conns[i], now);
	}
	while (!atomic_load(&stop_flag)) {
		int n = epoll_wait(w->ep, evs, 256, 10);

		if (n < 0 && errno != EINTR)
			bench_fail("epoll_wait: %s", strerror(errno));
		now = bench_now_ns();
		for (int i = 0; i < n; i++) {
			if (atomic_load(&stop_flag))
				break;
			conn_event(evs[i].data.ptr, evs[i].events, now);
		}
		if (now - last_sweep >= sweep_ns) {
			worker_sweep(w, now);
			last_sweep = now;
		}
	}
	for (size_t i = 0; i < w->nconns; i++)
		conn_close(&w->conns[i]);
	return NULL;
}

/* ---- report --------------------------------------------------------- */

static void stats_merge(struct load_stats *dst, struct load_stats *src)
{
	for (int op = 0; op < OP_COUNT; op++) {
		dst->err_by_op[op] += src->err_by_op[op];
		bench_samples_merge(&dst->op[op], &src->op[op]);
	}
	for (int e = 0; e < ERR_COUNT; e++)
		dst->err[e] += src->err[e];
}

static void stats_free(struct load_stats *st)
{
	for (int op = 0; op < OP_COUNT; op++)
		bench_samples_free(&st->op[op]);
}

static const char *mode_name(void)
{
	switch (opt.mode) {
	case MODE_NOOP:
		return "noop";
	case MODE_IDLE:
		return "idle";
	default:
		return "cycle";
	}
}

static void report(struct load_stats *st, double elapsed_s, double ramp_s)
{
	uint64_t errors = 0;

	for (int e = 0; e < ERR_COUNT; e++)
		errors += st->err[e];
	printf("imap-load: mode=%s server=%s:%s connections=%lu threads=%lu "
	       "users=%zu elapsed=%.3fs\n",
	       mode_name(), opt.target.host, opt.target.port, opt.conns,
	       opt.threads, nusers, elapsed_s);
	printf("%-8s %10s %10s %9s %9s %9s %9s %7s\n", "op", "count",
	       opt.mode == MODE_IDLE ? "ops/s*" : "ops/s", "p50_ms", "p90_ms",
	       "p99_ms", "max_ms", "errors");
	for (int op = 0; op < OP_COUNT; op++) {
		struct bench_samples *s = &st->op[op];
		double rate_s = opt.mode == MODE_IDLE ? ramp_s : elapsed_s;

		bench_samples_sort(s);
		printf("%-8s %10zu %10.1f %9.3f %9.3f %9.3f %9.3f %7" PRIu64
		       "\n",
		       op_names[op], s->len,
		       rate_s > 0 ? (double)s->len / rate_s : 0.0,
		       bench_pct_ms(s, 0.50), bench_pct_ms(s, 0.90),
		       bench_pct_ms(s, 0.99), bench_pct_ms(s, 1.0),
		       st->err_by_op[op]);
	}
	if (opt.mode == MODE_IDLE)
		printf("(* idle mode: rates over the %.3f s login ramp; "
		       "errors on the cycle row are connections dropped "
		       "while held)\n",
		       ramp_s);
	printf("errors: %" PRIu64, errors);
	for (int e = 0; e < ERR_COUNT; e++)
		printf(" %s=%" PRIu64, err_names[e], st->err[e]);
	printf("\n");

	printf("RESULT mode=%s conns=%lu threads=%lu users=%zu "
	       "elapsed_s=%.3f",
	       mode_name(), opt.conns, opt.threads, nusers, elapsed_s);
	if (opt.mode == MODE_IDLE)
		printf(" ramp_s=%.3f logged_in=%zu given_up=%zu", ramp_s,
		       atomic_load(&total_logged_in),
		       atomic_load(&total_given_up));
	for (int op = 0; op < OP_COUNT; op++) {
		struct bench_samples *s = &st->op[op];
		double rate_s = opt.mode == MODE_IDLE ? ramp_s : elapsed_s;

		printf(" %s_count=%zu %s_per_s=%.1f %s_p50_ms=%.3f "
		       "%s_p90_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f",
		       op_names[op], s->len, op_names[op],
		       rate_s > 0 ? (double)s->len / rate_s : 0.0, op_names[op],
		       bench_pct_ms(s, 0.50), op_names[op],
		       bench_pct_ms(s, 0.90), op_names[op],
		       bench_pct_ms(s, 0.99), op_names[op],
		       bench_pct_ms(s, 1.0));
	}
	printf(" errors=%" PRIu64, errors);
	for (int e = 0; e < ERR_COUNT; e++)
		printf(" err_%s=%" PRIu64, err_names[e], st->err[e]);
	printf("\n");
	fflush(stdout);
}

/* ---- main ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: imap-load [options]\n"
	           "  --host HOST          server address (127.0.0.1)\n"
	           "  --port PORT          server port (143)\n"
	           "  --user NAME --pass PASSWORD\n"
	           "  --user-pattern PAT   user names from PAT, its first %%d "
	           "replaced by\n"
	           "                       --user-start .. "
	           "--user-start+--user-count-1\n"
	           "  --user-count N       (1)   --user-start N (1)\n"
	           "  --users-file FILE    lines user:password; logins go "
	           "round-robin\n"
	           "  -c, --connections N  concurrent connections (1)\n"
	           "  -t, --threads N      event-loop threads (1)\n"
	           "  -d, --duration S     cycle/noop: seconds to run (10)\n"
	           "  -m, --mode MODE      cycle | noop | idle (cycle)\n"
	           "  --hold S             idle: seconds to hold after "
	           "\"ready\" (0: until\n"
	           "                       SIGINT/SIGTERM)\n"
	           "  --ramp N             idle: logins in flight per thread "
	           "(64)\n"
	           "  --timeout MS         per-operation timeout (30000)\n"
	           "  --source A[,B...]    local addresses to bind, "
	           "round-robin\n");
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= 0.0) || v > 86400.0)
		bench_usage_fail("bad %s: %s", what, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_USERS_FILE = BENCH_OPT_OWN,
		O_USER_PATTERN,
		O_USER_COUNT,
		O_USER_START,
		O_HOLD,
		O_RAMP,
		O_SOURCE,
	};
	static const struct option longopts[] = {
	        BENCH_TARGET_OPTIONS,
	        {"users-file", required_argument, NULL, O_USERS_FILE},
	        {"user-pattern", required_argument, NULL, O_USER_PATTERN},
	        {"user-count", required_argument, NULL, O_USER_COUNT},
	        {"user-start", required_argument, NULL, O_USER_START},
	        {"connections", required_argument, NULL, 'c'},
	        {"threads", required_argument, NULL, 't'},
	        {"duration", required_argument, NULL, 'd'},
	        {"mode", required_argument, NULL, 'm'},
	        {"hold", required_argument, NULL, O_HOLD},
	        {"ramp", required_argument, NULL, O_RAMP},
	        {"source", required_argument, NULL, O_SOURCE},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:t:d:m:h", longopts, NULL)) !=
	       -1) {
		if (bench_parse_target_opt(ch, optarg, &opt.target, &opt.user,
		                           &opt.pass))
			continue;
		switch (ch) {
		case O_USERS_FILE:
			opt.users_file = optarg;
			break;
		case O_USER_PATTERN:
			opt.user_pattern = optarg;
			break;
		case O_USER_COUNT:
			opt.user_count = bench_parse_num(optarg, "--user-count",
			                                 1, 10000000);
			break;
		case O_USER_START:
			opt.user_start = bench_parse_num(optarg, "--user-start",
			                                 0, ULONG_MAX / 2);
			break;
		case 'c':
			opt.conns = bench_parse_num(optarg, "--connections", 1,
			                            1000000);
			break;
		case 't':
			opt.threads = bench_parse_num(optarg, "--threads", 1,
			                              LOAD_MAX_THREADS);
			break;
		case 'd':
			opt.duration_s = parse_seconds(optarg, "--duration");
			if (opt.duration_s <= 0.0)
				bench_fail("--duration must be > 0");
			break;
		case 'm':
			if (strcmp(optarg, "cycle") == 0)
				opt.mode = MODE_CYCLE;
			else if (strcmp(optarg, "noop") == 0)
				opt.mode = MODE_NOOP;
			else if (strcmp(optarg, "idle") == 0)
				opt.mode = MODE_IDLE;
			else
				bench_fail(
				        "--mode must be cycle, noop or idle");
			break;
		case O_HOLD:
			opt.hold_s = parse_seconds(optarg, "--hold");
			break;
		case O_RAMP:
			opt.ramp =
			        bench_parse_num(optarg, "--ramp", 1, 1000000);
			break;
		case O_SOURCE:
			opt.sources = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t need = opt.conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		fprintf(stderr,
		        "imap-load: warning: fd limit %llu is below "
		        "%llu; raise ulimit -n\n",
		        (unsigned long long)rl.rlim_cur,
		        (unsigned long long)need);
}

int main(int argc, char **argv)
{
	struct load_worker *workers;
	struct load_stats total = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t start, ready_at = 0, end;
	size_t conn_index = 0;

	bench_init("imap-load", 2, 2);
	parse_args(argc, argv);
	users_init();
	resolve_server();
	sources_init();
	raise_fd_limit();
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	workers = bench_xcalloc(opt.threads, sizeof(*workers));
	for (unsigned i = 0; i < opt.threads; i++) {
		struct load_worker *w = &workers[i];
		size_t lo = opt.conns * i / opt.threads;
		size_t hi = opt.conns * (i + 1) / opt.threads;

		w->id = i;
		w->nconns = hi - lo;
		w->conns = bench_xcalloc(w->nconns, sizeof(*w->conns));
		for (size_t k = 0; k < w->nconns; k++) {
			w->conns[k].w = w;
			w->conns[k].fd = -1;
			w->conns[k].index = conn_index++;
		}
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (w->ep < 0)
			bench_fail("epoll_create1: %s", strerror(errno));
	}

	start = bench_now_ns();
	for (unsigned i = 0; i < opt.threads; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_run,
		                   &workers[i]) != 0)
			bench_fail("pthread_create failed");
	}

	if (opt.mode == MODE_IDLE) {
		while (!atomic_load(&stop_flag) &&
		       atomic_load(&workers_settled) < opt.threads)
			bench_sleep_ms(5);
		ready_at = bench_now_ns();
		if (!atomic_load(&stop_flag)) {
			printf("ready %zu\n", atomic_load(&total_logged_in));
			fflush(stdout);
		}
		while (!atomic_load(&stop_flag) &&
		       (opt.hold_s <= 0.0 ||
		        bench_now_ns() - ready_at <
		                (uint64_t)(opt.hold_s * 1e9)))
			bench_sleep_ms(10);
	} else {
		uint64_t dur = (uint64_t)(opt.duration_s * 1e9);

		while (!atomic_load(&stop_flag) && bench_now_ns() - start < dur)
			bench_sleep_ms(2);
	}
	atomic_store(&stop_flag, 1);
	end = bench_now_ns();
	for (unsigned i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].thread, NULL);
		stats_merge(&total, &workers[i].st);
		stats_free(&workers[i].st);
		free(workers[i].conns);
		close(workers[i].ep);
	}
	if (opt.mode == MODE_IDLE && ready_at == 0)
		ready_at = end;
	report(&total, (double)(end - start) / 1e9,
	       (double)(ready_at - start) / 1e9);
	stats_free(&total);
	free(workers);
	for (size_t i = 0; i < nusers; i++) {
		free(users[i].name);
		free(users[i].pass);
	}
	free(users);
	free(sources);
	return 0;
}
