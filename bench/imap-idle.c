/*
 * imap-idle: many IMAP sessions in IDLE (RFC 2177), for memory
 * measurements and IDLE wake-up latency, against any IMAP server.
 *
 * One thread, one epoll loop, non-blocking sockets, plaintext or
 * implicit TLS (--tls, OpenSSL, no certificate check). Each of -c
 * connections goes through four stages:
 *
 *   connected   TCP (and TLS) up, greeting read
 *   loggedin    LOGIN answered OK (user i mod --user-count + 1 of
 *               --user-pattern, or --user for all)
 *   selected    SELECT --mailbox answered OK
 *   idling      IDLE sent and its "+" continuation read
 *
 * at most --ramp connections working at a time (and, with --rate, at
 * most that many starting a stage per second). With --pause, all
 * connections are taken to one stage, "ready STAGE ..." is printed and
 * the tool waits for SIGUSR1 before the next stage (so that a script can
 * measure the server's memory at each); otherwise they go straight to
 * --stop-at (default idling) and "ready ..." is printed once.
 *
 * --mode hold (default): then hold every connection silent until
 * SIGINT/SIGTERM or --hold seconds.
 *
 * --mode wake: then, --reps times, a second client changes the mailbox
 * of the idlers (all must be one user's, --user) and the tool measures,
 * for each idler, the time from sending the change to reading the
 * untagged response it causes:
 *   --trigger append  APPEND of a --size message over IMAP (one write
 *                     with LITERAL+; else the clock starts at the
 *                     literal); wake = "* n EXISTS"
 *   --trigger lmtp    LMTP delivery to --lmtp-rcpt on --lmtp-port; the
 *                     clock starts when the message and its dot are
 *                     sent; wake = "* n EXISTS"
 *   --trigger store   STORE 1 +FLAGS / -FLAGS (\Flagged) in turn, by a
 *                     session with the mailbox selected; wake = "* 1 FETCH"
 * A repetition ends when every idler woke or after --rep-timeout ms
 * (counted as missed), then --gap ms pass. Reported: every idler's wake
 * latency, the first and the last idler's per repetition, and the
 * trigger's own answer (tagged OK, or 250).
 *
 * Output: "ready" lines, a report, one `RESULT key=value ...` line.
 * Exit 1 on failures of the tool itself; connection failures are
 * counted and reported.
 */
#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_EXIT_FAIL 1
#define IDLE_EXIT_USAGE 64
#define IDLE_READ_BYTES 16384
#define IDLE_MAX_LINE 65536
#define IDLE_EVENTS 512

enum stage { STG_NONE, STG_CONNECTED, STG_LOGGEDIN, STG_SELECTED, STG_IDLING };

static const char *const stage_names[] = {
        "none", "connected", "loggedin", "selected", "idling",
};

enum err_kind {
	E_CONNECT,
	E_TLS,
	E_TIMEOUT,
	E_EOF,
	E_NO,
	E_BYE,
	E_PROTO,
	E_COUNT
};

static const char *const err_names[E_COUNT] = {
        "connect", "tls", "timeout", "eof", "no", "bye", "proto",
};

enum trigger { TRIG_APPEND, TRIG_LMTP, TRIG_STORE };

struct options {
	struct bench_target target;
	const char *mode;
	const char *pass;
	const char *user_pattern;
	unsigned long user_count;
	const char *mailbox;
	unsigned long conns;
	unsigned long ramp;
	unsigned long rate; /* stage starts per second, 0: no limit */
	bool tls;
	bool pause;
	enum stage stop_at;
	double hold_s;
	/* wake */
	enum trigger trigger;
	unsigned long reps;
	unsigned long rep_timeout_ms;
	unsigned long gap_ms;
	unsigned long size;
	const char *lmtp_port;
	const char *lmtp_rcpt;
};

static struct options opt = {
        .target = {.host = "127.0.0.1", .port = "143", .timeout_ms = 120000},
        .mode = "hold",
        .user_pattern = "user%d",
        .user_count = 1,
        .mailbox = "INBOX",
        .conns = 1,
        .ramp = 64,
        .stop_at = STG_IDLING,
        .trigger = TRIG_APPEND,
        .reps = 100,
        .rep_timeout_ms = 35000,
        .gap_ms = 100,
        .size = 4096,
};

struct iconn {
	int fd;
	SSL *ssl;
	unsigned char stage; /* reached */
	bool busy;           /* working towards the next stage */
	bool connecting, handshaking, failed;
	unsigned tag;
	unsigned long user;
	unsigned long woke_rep;
	uint64_t deadline_ns;
	char *part; /* an incomplete line */
	size_t plen;
	char *out; /* output not written yet */
	size_t olen, ooff;
};

static struct iconn *conns;
static int ep = -1;
static SSL_CTX *ssl_ctx;
static struct sockaddr_storage srv_addr;
static socklen_t srv_len;
static enum stage target;
static size_t next_start, in_flight, phase_settled;
static uint64_t phase_t0;
static uint64_t errs[E_COUNT];
static uint64_t dropped; /* failed after reaching the target */
static long mailbox_exists = -1;

static volatile sig_atomic_t got_usr1, got_stop;

/* wake: written by the trigger thread, read by the loop */
static _Atomic uint64_t wake_t0;
static atomic_ulong wake_rep;
static atomic_ulong wake_count;
static _Atomic uint64_t wake_first, wake_last;
static atomic_bool trigger_done;
static struct bench_samples wake_all; /* loop thread only */
static unsigned long idlers;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

/* ---- connection plumbing ------------------------------------------------ */

static void start_more(void);

static void conn_close(struct iconn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->part);
	free(c->out);
	c->part = c->out = NULL;
	c->plen = c->olen = c->ooff = 0;
}

static void conn_fail(struct iconn *c, enum err_kind e)
{
	if (c->failed)
		return;
	c->failed = true;
	errs[e]++;
	conn_close(c);
	if (c->busy) {
		c->busy = false;
		in_flight--;
		phase_settled++;
		start_more();
	} else {
		dropped++;
	}
}

/* >0 bytes, 0 would block, -1 closed or failed */
static ssize_t io_read(struct iconn *c, char *buf, size_t n)
{
	ssize_t r;

	if (c->ssl == NULL) {
		r = read(c->fd, buf, n);
		if (r > 0)
			return r;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	ERR_clear_error();
	r = SSL_read(c->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return -1;
	}
}

static ssize_t io_write(struct iconn *c, const char *buf, size_t n)
{
	ssize_t r;

	if (c->ssl == NULL) {
		r = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	ERR_clear_error();
	r = SSL_write(c->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		return -1;
	}
}

/* Write what is pending; false if the connection failed. */
static bool conn_flush(struct iconn *c)
{
	while (c->ooff < c->olen) {
		ssize_t w = io_write(c, c->out + c->ooff, c->olen - c->ooff);

		if (w < 0) {
			conn_fail(c, E_EOF);
			return false;
		}
		if (w == 0)
			return true;
		c->ooff += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	c->olen = c->ooff = 0;
	return true;
}

__attribute__((format(printf, 2, 3))) static void
conn_send(struct iconn *c, const char *fmt, ...)
{
	struct bench_buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	bench_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->out != NULL) { /* never: one command at a time */
		bench_buf_free(&b);
		conn_fail(c, E_PROTO);
		return;
	}
	c->out = b.p;
	c->olen = b.len;
	c->ooff = 0;
	c->deadline_ns = bench_now_ns() + opt.target.timeout_ms * 1000000ULL;
	conn_flush(c);
}

static void conn_start(struct iconn *c)
{
	struct epoll_event ev = {
	        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	        .data.ptr = c,
	};
	int one = 1;

	c->fd = socket(srv_addr.ss_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		bench_fail("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->deadline_ns = bench_now_ns() + opt.target.timeout_ms * 1000000ULL;
	if (connect(c->fd, (struct sockaddr *)&srv_addr, srv_len) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(c, E_CONNECT);
		return;
	}
	c->connecting = true;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		bench_fail("epoll_ctl: %s", strerror(errno));
}

/* ---- stages ------------------------------------------------------------- */

static void conn_next(struct iconn *c)
{
	char u[300], p[300], user[256];

	switch (c->stage) {
	case STG_NONE:
		conn_start(c);
		return;
	case STG_CONNECTED:
		bench_user_name(user, sizeof(user), opt.user_pattern,
		                1 + c->user);
		bench_imap_quote(u, sizeof(u), user);
		bench_imap_quote(p, sizeof(p), opt.pass);
		conn_send(c, "a%u LOGIN %s %s\r\n", ++c->tag, u, p);
		return;
	case STG_LOGGEDIN:
		bench_imap_quote(u, sizeof(u), opt.mailbox);
		conn_send(c, "a%u SELECT %s\r\n", ++c->tag, u);
		return;
	default:
		conn_send(c, "a%u IDLE\r\n", ++c->tag);
		return;
	}
}

/* With --rate, may another connection start its stage now? */
static bool rate_allows(void)
{
	double secs;

	if (opt.rate == 0)
		return true;
	secs = (double)(bench_now_ns() - phase_t0) / 1e9;
	return (double)next_start < 1.0 + secs * (double)opt.rate;
}

static void start_more(void)
{
	while (in_flight < opt.ramp && next_start < opt.conns &&
	       rate_allows()) {
		struct iconn *c = &conns[next_start++];

		if (c->failed)
			continue;
		c->busy = true;
		in_flight++;
		conn_next(c);
	}
}

/* c reached stage s. */
static void conn_reached(struct iconn *c, enum stage s)
{
	c->stage = (unsigned char)s;
	c->deadline_ns = 0;
	if (s < target) {
		conn_next(c);
		return;
	}
	c->busy = false;
	in_flight--;
	phase_settled++;
	start_more();
}

static void phase_begin(enum stage t)
{
	target = t;
	next_start = 0;
	in_flight = 0;
	phase_settled = 0;
	for (size_t i = 0; i < opt.conns; i++)
		phase_settled += conns[i].failed;
	phase_t0 = bench_now_ns();
	start_more();
}

/* ---- responses ------------------------------------------------------------
 */

/* The tag of the command in flight matches line: 1 OK, 0 NO/BAD, -1 not
 * this tag. */
static int tagged_status(const struct iconn *c, const char *line)
{
	char tag[24];
	int n = snprintf(tag, sizeof(tag), "a%u ", c->tag);

	if (strncmp(line, tag, (size_t)n) != 0)
		return -1;
	return strncasecmp(line + n, "OK", 2) == 0;
}

static void wake_check(struct iconn *c, const char *line)
{
	unsigned long rep = atomic_load(&wake_rep);
	const char *sp;
	uint64_t lat;

	if (rep == 0 || c->woke_rep >= rep || line[0] != '*')
		return;
	sp = strchr(line + 2, ' ');
	if (sp == NULL)
		return;
	if (opt.trigger == TRIG_STORE ? strncasecmp(sp, " FETCH ", 7) != 0
	                              : strcasecmp(sp, " EXISTS") != 0)
		return;
	lat = bench_now_ns() - atomic_load(&wake_t0);
	c->woke_rep = rep;
	bench_samples_add(&wake_all, lat);
	if (atomic_load(&wake_count) == 0)
		atomic_store(&wake_first, lat);
	atomic_store(&wake_last, lat);
	atomic_fetch_add(&wake_count, 1);
}

static void on_select_line(const char *line)
{
	const char *sp = strchr(line + 2, ' ');

	if (sp != NULL && strcasecmp(sp, " EXISTS") == 0)
		mailbox_exists = strtol(line + 2, NULL, 10);
}

static void conn_line(struct iconn *c, const char *line)
{
	int st;

	if (strncasecmp(line, "* BYE", 5) == 0) {
		conn_fail(c, E_BYE);
		return;
	}
	if (!c->busy) {
		if (c->stage == STG_IDLING)
			wake_check(c, line);
		return;
	}
	if (c->stage == STG_NONE) {
		if (strncasecmp(line, "* OK", 4) == 0)
			conn_reached(c, STG_CONNECTED);
		else
			conn_fail(c, E_PROTO);
		return;
	}
	if (c->stage == STG_SELECTED && line[0] == '+') {
		conn_reached(c, STG_IDLING);
		return;
	}
	if (line[0] == '*') {
		if (c->stage == STG_LOGGEDIN)
			on_select_line(line);
		return;
	}
	st = tagged_status(c, line);
	if (st != 1 || c->stage == STG_SELECTED) {
		conn_fail(c, st == 0 ? E_NO : E_PROTO);
		return;
	}
	conn_reached(c, (enum stage)(c->stage + 1));
}

/* Split buf into lines (with c->part in front); false if c failed. */
static bool conn_lines(struct iconn *c, char *buf, size_t n)
{
	char *p = buf, *end = buf + n, *lf;

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		char *line = p;
		size_t len = (size_t)(lf - p);
		struct bench_buf joined = {0};

		if (c->plen > 0) {
			bench_buf_put(&joined, c->part, c->plen);
			bench_buf_put(&joined, p, len);
			line = joined.p;
			len = joined.len;
			free(c->part);
			c->part = NULL;
			c->plen = 0;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		conn_line(c, line);
		bench_buf_free(&joined);
		if (c->failed)
			return false;
		p = lf + 1;
	}
	if (p < end) {
		if (c->plen + (size_t)(end - p) > IDLE_MAX_LINE) {
			conn_fail(c, E_PROTO);
			return false;
		}
		c->part = bench_xrealloc(c->part, c->plen + (size_t)(end - p));
		memcpy(c->part + c->plen, p, (size_t)(end - p));
		c->plen += (size_t)(end - p);
	}
	return true;
}

/* ---- events ---------------------------------------------------------------
 */

/* Connect and TLS handshake; false while not done (or failed). */
static bool conn_setup(struct iconn *c)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			conn_fail(c, E_CONNECT);
			return false;
		}
		c->connecting = false;
		if (opt.tls) {
			c->ssl = SSL_new(ssl_ctx);
			if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd))
				bench_fail("SSL_new failed");
			c->handshaking = true;
		}
	}
	if (c->handshaking) {
		int r;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);

			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				conn_fail(c, E_TLS);
			return false;
		}
		c->handshaking = false;
	}
	return true;
}

static void conn_event(struct iconn *c)
{
	static char buf[IDLE_READ_BYTES];
	ssize_t n;

	if (c->failed || c->fd < 0)
		return;
	if ((c->connecting || c->handshaking) && !conn_setup(c))
		return;
	if (!conn_flush(c))
		return;
	while ((n = io_read(c, buf, sizeof(buf))) > 0)
		if (!conn_lines(c, buf, (size_t)n))
			return;
	if (n < 0)
		conn_fail(c, E_EOF);
}

static void check_timeouts(void)
{
	uint64_t now = bench_now_ns();

	for (size_t i = 0; i < opt.conns; i++) {
		struct iconn *c = &conns[i];

		if (!c->failed && c->deadline_ns != 0 && now > c->deadline_ns)
			conn_fail(c, E_TIMEOUT);
	}
}

static size_t count_at(enum stage s)
{
	size_t n = 0;

	for (size_t i = 0; i < opt.conns; i++)
		n += !conns[i].failed && conns[i].stage >= s;
	return n;
}

static void print_ready(void)
{
	uint64_t failed = 0;

	for (int e = 0; e < E_COUNT; e++)
		failed += errs[e];
	printf("ready %s %zu failed=%" PRIu64 " seconds=%.2f "
	       "client_rss_kb=%ld exists=%ld\n",
	       stage_names[target], count_at(target), failed,
	       (double)(bench_now_ns() - phase_t0) / 1e9,
	       bench_proc_kb((long)getpid(), "VmRSS"), mailbox_exists);
	fflush(stdout);
}

static void loop_once(int timeout_ms)
{
	struct epoll_event evs[IDLE_EVENTS];
	static uint64_t last_check;
	int n = epoll_wait(ep, evs, IDLE_EVENTS, timeout_ms);

	if (n < 0 && errno != EINTR)
		bench_fail("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		conn_event(evs[i].data.ptr);
	if (opt.rate != 0)
		start_more();
	if (bench_now_ns() - last_check > 1000000000ULL) {
		check_timeouts();
		last_check = bench_now_ns();
	}
}

/* ---- wake triggers (their own thread, blocking) ---------------------------
 */

static struct bench_buf trig_msg;

static void trig_build(unsigned long rep)
{
	trig_msg.len = 0;
	bench_buf_printf(&trig_msg,
	                 "From: Wake <wake@example.net>\r\nTo: <%s>\r\n"
	                 "Subject: wake-up %lu\r\nMessage-ID: <wake.%lu.%lu@"
	                 "bench.example.net>\r\n\r\n",
	                 opt.lmtp_rcpt ? opt.lmtp_rcpt : "idler@example.org",
	                 rep, rep, (unsigned long)time(NULL));
	while (trig_msg.len + 2 < opt.size) {
		size_t room = opt.size - 2 - trig_msg.len;
		const char *w =
		        bench_words[(trig_msg.len / 7) % BENCH_WORD_COUNT];
		char line[80];
		int k = snprintf(line, sizeof(line), "%s %s %s\r\n", w, w, w);

		bench_buf_put(&trig_msg, line,
		              (size_t)k < room ? (size_t)k : room);
	}
	bench_buf_str(&trig_msg, "\r\n");
}

/* Start repetition rep's clock and make it the one idlers answer to. */
static void rep_arm(unsigned long rep)
{
	atomic_store(&wake_count, 0);
	atomic_store(&wake_first, 0);
	atomic_store(&wake_last, 0);
	atomic_store(&wake_t0, bench_now_ns());
	atomic_store(&wake_rep, rep);
}

static void trig_append(struct bench_conn *tc, unsigned long rep)
{
	bool plus = bench_conn_has_cap(tc, "LITERAL+");
	struct bench_buf cmd = {0};

	trig_build(rep);
	bench_buf_printf(&cmd, "%s APPEND INBOX {%zu%s}\r\n",
	                 bench_conn_next_tag(tc), trig_msg.len,
	                 plus ? "+" : "");
	if (plus) {
		bench_buf_put(&cmd, trig_msg.p, trig_msg.len);
		bench_buf_str(&cmd, "\r\n");
		rep_arm(rep);
		bench_conn_send(tc, cmd.p, cmd.len);
	} else {
		bench_conn_send(tc, cmd.p, cmd.len);
		bench_conn_read(tc);
		rep_arm(rep);
		bench_conn_send(tc, trig_msg.p, trig_msg.len);
		bench_conn_send(tc, "\r\n", 2);
	}
	bench_conn_wait_tagged(tc, NULL, NULL);
	bench_buf_free(&cmd);
}

static void trig_store(struct bench_conn *tc, unsigned long rep)
{
	char cmd[128];
	int n = snprintf(cmd, sizeof(cmd), "%s STORE 1 %cFLAGS (\\Flagged)\r\n",
	                 bench_conn_next_tag(tc), rep % 2 ? '+' : '-');

	rep_arm(rep);
	bench_conn_send(tc, cmd, (size_t)n);
	bench_conn_wait_tagged(tc, NULL, NULL);
}

/* One LMTP reply; its code. Multi-line replies are read to the end. */
static int lmtp_reply(struct bench_conn *lc)
{
	do
		bench_conn_read_line(lc);
	while (lc->llen >= 4 && lc->line[3] == '-');
	return atoi(lc->line);
}

static void lmtp_expect(struct bench_conn *lc, int code, const char *what)
{
	int got = lmtp_reply(lc);

	if (got != code)
		bench_fail("LMTP %s: %.200s", what, lc->line);
}

static void trig_lmtp(struct bench_conn *lc, unsigned long rep)
{
	struct bench_buf b = {0};

	trig_build(rep);
	bench_buf_printf(&b, "MAIL FROM:<wake@example.net>\r\n");
	bench_conn_send(lc, b.p, b.len);
	lmtp_expect(lc, 250, "MAIL FROM");
	b.len = 0;
	bench_buf_printf(&b, "RCPT TO:<%s>\r\n", opt.lmtp_rcpt);
	bench_conn_send(lc, b.p, b.len);
	lmtp_expect(lc, 250, "RCPT TO");
	bench_conn_send(lc, "DATA\r\n", 6);
	lmtp_expect(lc, 354, "DATA");
	b.len = 0;
	bench_buf_put(&b, trig_msg.p, trig_msg.len);
	bench_buf_str(&b, ".\r\n");
	rep_arm(rep);
	bench_conn_send(lc, b.p, b.len);
	lmtp_expect(lc, 250, "end of data");
	bench_buf_free(&b);
}

static void trig_connect(struct bench_conn *tc)
{
	struct bench_target lt = opt.target;

	if (opt.trigger != TRIG_LMTP) {
		char user[256];

		bench_user_name(user, sizeof(user), opt.user_pattern, 1);
		bench_conn_login(tc, -1, &opt.target, user, opt.pass);
		if (opt.trigger == TRIG_STORE)
			bench_conn_cmd(tc, NULL, NULL, "SELECT INBOX");
		return;
	}
	lt.port = opt.lmtp_port;
	tc->id = -1;
	bench_conn_connect(tc, &lt);
	lmtp_expect(tc, 220, "greeting");
	bench_conn_send(tc, "LHLO bench.example.net\r\n", 24);
	lmtp_expect(tc, 250, "LHLO");
}

struct wake_stats {
	struct bench_samples first, last, ack;
	unsigned long missed;
};

static struct wake_stats wst;

/* Wait for rep's idlers; false if some never woke. */
static bool rep_wait(void)
{
	uint64_t until = bench_now_ns() + opt.rep_timeout_ms * 1000000ULL;

	while (atomic_load(&wake_count) < idlers) {
		if (bench_now_ns() > until || got_stop)
			return false;
		bench_sleep_ms(1);
	}
	return true;
}

static void *trigger_run(void *arg)
{
	struct bench_conn tc = {0};

	(void)arg;
	trig_connect(&tc);
	for (unsigned long rep = 1; rep <= opt.reps && !got_stop; rep++) {
		uint64_t t0 = bench_now_ns();

		if (opt.trigger == TRIG_APPEND)
			trig_append(&tc, rep);
		else if (opt.trigger == TRIG_STORE)
			trig_store(&tc, rep);
		else
			trig_lmtp(&tc, rep);
		bench_samples_add(&wst.ack, bench_now_ns() - t0);
		if (!rep_wait())
			wst.missed += idlers - atomic_load(&wake_count);
		if (atomic_load(&wake_count) > 0) {
			bench_samples_add(&wst.first, atomic_load(&wake_first));
			bench_samples_add(&wst.last, atomic_load(&wake_last));
		}
		fprintf(stderr, "rep %lu woke=%lu first_ms=%.3f last_ms=%.3f\n",
		        rep, atomic_load(&wake_count),
		        (double)atomic_load(&wake_first) / 1e6,
		        (double)atomic_load(&wake_last) / 1e6);
		bench_sleep_ms((unsigned)opt.gap_ms);
	}
	atomic_store(&trigger_done, true);
	return NULL;
}

/* ---- report ----------------------------------------------------------------
 */

static void pct_line(struct bench_buf *res, const char *name,
                     struct bench_samples *s)
{
	bench_samples_sort(s);
	printf("%-8s %7zu %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, s->len,
	       bench_pct_ms(s, 0.0), bench_pct_ms(s, 0.5), bench_pct_ms(s, 0.9),
	       bench_pct_ms(s, 0.99), bench_pct_ms(s, 1.0));
	bench_buf_printf(res,
	                 " %s_n=%zu %s_min_ms=%.3f %s_p50_ms=%.3f "
	                 "%s_p90_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f",
	                 name, s->len, name, bench_pct_ms(s, 0.0), name,
	                 bench_pct_ms(s, 0.5), name, bench_pct_ms(s, 0.9), name,
	                 bench_pct_ms(s, 0.99), name, bench_pct_ms(s, 1.0));
}

static void report(bool wake)
{
	static const char *const trig[] = {"append", "lmtp", "store"};
	struct bench_buf res = {0};

	bench_buf_printf(&res, "RESULT mode=%s tls=%d conns=%lu ready=%zu",
	                 opt.mode, opt.tls, opt.conns, count_at(target));
	for (int e = 0; e < E_COUNT; e++)
		bench_buf_printf(&res, " err_%s=%" PRIu64, err_names[e],
		                 errs[e]);
	bench_buf_printf(&res, " dropped=%" PRIu64, dropped);
	if (wake) {
		bench_buf_printf(
		        &res, " trigger=%s idlers=%lu reps=%zu missed=%lu",
		        trig[opt.trigger], idlers, wst.ack.len, wst.missed);
		printf("%-8s %7s %9s %9s %9s %9s %9s   (ms)\n", "wake", "n",
		       "min", "p50", "p90", "p99", "max");
		pct_line(&res, "all", &wake_all);
		pct_line(&res, "first", &wst.first);
		pct_line(&res, "last", &wst.last);
		pct_line(&res, "ack", &wst.ack);
		printf("missed wake-ups: %lu\n", wst.missed);
	}
	printf("%s\n", res.p);
	bench_buf_free(&res);
}

/* ---- main -------------------------------------------------------------------
 */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: imap-idle [options]\n"
	        "  --host HOST --port PORT (127.0.0.1:143)  --timeout MS "
	        "(120000)\n"
	        "  --tls                  implicit TLS\n"
	        "  --user NAME | --user-pattern PAT --user-count N (user%%d, "
	        "1)\n"
	        "  --pass PASSWORD  --mailbox NAME (INBOX)\n"
	        "  -c, --connections N    (1)     --ramp N (64)\n"
	        "  --rate N               at most N stage starts per second "
	        "(0: no limit)\n"
	        "  --pause                stop at each stage until SIGUSR1\n"
	        "  --stop-at STAGE        connected|loggedin|selected|idling\n"
	        "  -m, --mode hold|wake   (hold)  --hold S (0: until "
	        "SIGTERM)\n"
	        "  wake: --trigger append|lmtp|store  --reps N (100)\n"
	        "        --rep-timeout MS (35000)  --gap MS (100)  --size "
	        "BYTES (4096)\n"
	        "        --lmtp-port PORT  --lmtp-rcpt ADDR\n");
}

enum {
	O_TLS = BENCH_OPT_OWN,
	O_PATTERN,
	O_USER_COUNT,
	O_MAILBOX,
	O_RAMP,
	O_RATE,
	O_PAUSE,
	O_STOP_AT,
	O_HOLD,
	O_TRIGGER,
	O_REPS,
	O_REP_TIMEOUT,
	O_GAP,
	O_SIZE,
	O_LMTP_PORT,
	O_LMTP_RCPT,
};

static int name_index(const char *s, const char *const *names, int n,
                      const char *what)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	bench_usage_fail("bad %s: %s", what, s);
}

/* The options that take strings or flags; false if ch is none of them. */
static bool parse_str_opt(int ch, const char *arg)
{
	static const char *const trig[] = {"append", "lmtp", "store"};

	switch (ch) {
	case 'm':
		opt.mode = arg;
		return true;
	case O_TLS:
		opt.tls = true;
		return true;
	case O_PATTERN:
		opt.user_pattern = arg;
		return true;
	case O_MAILBOX:
		opt.mailbox = arg;
		return true;
	case O_PAUSE:
		opt.pause = true;
		return true;
	case O_STOP_AT:
		opt.stop_at = (enum stage)name_index(arg, stage_names, 5,
		                                     "--stop-at");
		return true;
	case O_TRIGGER:
		opt.trigger =
		        (enum trigger)name_index(arg, trig, 3, "--trigger");
		return true;
	case O_LMTP_PORT:
		opt.lmtp_port = arg;
		return true;
	case O_LMTP_RCPT:
		opt.lmtp_rcpt = arg;
		return true;
	default:
		return false;
	}
}

static void parse_opt(int ch, const char *arg)
{
	if (parse_str_opt(ch, arg))
		return;
	switch (ch) {
	case 'c':
		opt.conns = bench_parse_num(arg, "-c", 1, 1000000);
		break;
	case O_USER_COUNT:
		opt.user_count =
		        bench_parse_num(arg, "--user-count", 1, 1000000);
		break;
	case O_RAMP:
		opt.ramp = bench_parse_num(arg, "--ramp", 1, 100000);
		break;
	case O_RATE:
		opt.rate = bench_parse_num(arg, "--rate", 0, 1000000);
		break;
	case O_HOLD:
		opt.hold_s = (double)bench_parse_num(arg, "--hold", 0, 864000);
		break;
	case O_REPS:
		opt.reps = bench_parse_num(arg, "--reps", 1, 1000000);
		break;
	case O_REP_TIMEOUT:
		opt.rep_timeout_ms =
		        bench_parse_num(arg, "--rep-timeout", 1, 3600000);
		break;
	case O_GAP:
		opt.gap_ms = bench_parse_num(arg, "--gap", 0, 600000);
		break;
	case O_SIZE:
		opt.size = bench_parse_num(arg, "--size", 300, 100000000);
		break;
	default:
		usage(stderr);
		exit(IDLE_EXIT_USAGE);
	}
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	        BENCH_TARGET_OPTIONS,
	        {"mode", required_argument, NULL, 'm'},
	        {"connections", required_argument, NULL, 'c'},
	        {"tls", no_argument, NULL, O_TLS},
	        {"user-pattern", required_argument, NULL, O_PATTERN},
	        {"user-count", required_argument, NULL, O_USER_COUNT},
	        {"mailbox", required_argument, NULL, O_MAILBOX},
	        {"ramp", required_argument, NULL, O_RAMP},
	        {"rate", required_argument, NULL, O_RATE},
	        {"pause", no_argument, NULL, O_PAUSE},
	        {"stop-at", required_argument, NULL, O_STOP_AT},
	        {"hold", required_argument, NULL, O_HOLD},
	        {"trigger", required_argument, NULL, O_TRIGGER},
	        {"reps", required_argument, NULL, O_REPS},
	        {"rep-timeout", required_argument, NULL, O_REP_TIMEOUT},
	        {"gap", required_argument, NULL, O_GAP},
	        {"size", required_argument, NULL, O_SIZE},
	        {"lmtp-port", required_argument, NULL, O_LMTP_PORT},
	        {"lmtp-rcpt", required_argument, NULL, O_LMTP_RCPT},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *user = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "m:c:h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (!bench_parse_target_opt(ch, optarg, &opt.target, &user,
		                            &opt.pass))
			parse_opt(ch, optarg);
	}
	if (user != NULL) {
		opt.user_pattern = user;
		opt.user_count = 1;
	}
	if (opt.pass == NULL)
		bench_usage_fail("--pass is required");
	if (strcmp(opt.mode, "hold") != 0 && strcmp(opt.mode, "wake") != 0)
		bench_usage_fail("bad --mode: %s", opt.mode);
}

static void setup(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	struct sigaction sa = {.sa_handler = on_signal};
	int rc;

	rc = getaddrinfo(opt.target.host, opt.target.port, &hints, &res);
	if (rc != 0)
		bench_fail("%s: %s", opt.target.host, gai_strerror(rc));
	memcpy(&srv_addr, res->ai_addr, res->ai_addrlen);
	srv_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (opt.tls) {
		ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (ssl_ctx == NULL)
			bench_fail("SSL_CTX_new failed");
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ssl_ctx,
		                 SSL_MODE_RELEASE_BUFFERS |
		                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	conns = bench_xcalloc(opt.conns, sizeof(*conns));
	for (size_t i = 0; i < opt.conns; i++) {
		conns[i].fd = -1;
		conns[i].user = i % opt.user_count;
	}
}

/* Take every connection through the stages; false if stopped. */
static bool run_stages(void)
{
	enum stage t = opt.pause ? STG_CONNECTED : opt.stop_at;

	phase_begin(t);
	for (;;) {
		loop_once(100);
		if (got_stop)
			return false;
		if (phase_settled < opt.conns)
			continue;
		print_ready();
		if (target >= opt.stop_at)
			return true;
		while (!got_usr1 && !got_stop)
			loop_once(100);
		got_usr1 = 0;
		phase_begin((enum stage)(target + 1));
	}
}

int main(int argc, char **argv)
{
	bool wake;
	pthread_t trig;

	bench_init("imap-idle", IDLE_EXIT_FAIL, IDLE_EXIT_USAGE);
	parse_args(argc, argv);
	wake = strcmp(opt.mode, "wake") == 0;
	if (wake && opt.trigger == TRIG_LMTP &&
	    (opt.lmtp_port == NULL || opt.lmtp_rcpt == NULL))
		bench_usage_fail(
		        "--trigger lmtp needs --lmtp-port, --lmtp-rcpt");
	if (wake && (opt.user_count != 1 || opt.stop_at != STG_IDLING))
		bench_usage_fail("wake: all idlers one --user, up to idling");
	setup();
	if (run_stages()) {
		uint64_t until = bench_now_ns() + (uint64_t)(opt.hold_s * 1e9);

		idlers = count_at(STG_IDLING);
		if (wake && pthread_create(&trig, NULL, trigger_run, NULL) != 0)
			bench_fail("pthread_create failed");
		while (!got_stop && !(wake && atomic_load(&trigger_done)) &&
		       (opt.hold_s == 0 || wake || bench_now_ns() < until))
			loop_once(50);
		if (wake) {
			got_stop = 1;
			pthread_join(trig, NULL);
		}
	}
	report(wake);
	return 0;
}
