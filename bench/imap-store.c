/*
 * imap-store: mail-store benchmarks for any IMAP server (RFC 3501,
 * RFC 9051), and the generator of the Maildir corpus they run on.
 *
 * Modes:
 *   append      -c clients log in, wait for each other, then each APPENDs
 *               -n messages of --size bytes to --mailbox, one command in
 *               flight per connection (after a STATUS that opens the
 *               user's store). A message counts once its tagged OK arrived (the
 * server promises it is durable then). Literal: synchronising {n} (wait for
 * "+") or LITERAL+ {n+} (--literal sync|plus|auto; auto = plus if the server
 *               advertises LITERAL+ or LITERAL-). Before and after, a
 *               separate connection asks STATUS (MESSAGES): the mailbox
 *               must have grown by exactly clients * n.
 *   select      -n times SELECT --mailbox, then UNSELECT (CLOSE if the
 *               server has no UNSELECT); latency of each SELECT, the
 *               first (cold) one reported apart.
 *   fetchflags  SELECT, then -n times UID FETCH 1:* (FLAGS); every run
 *               must return one FETCH (with UID and FLAGS) per message
 *               the SELECT announced (and --expect, if given).
 *   maildir     write -n messages as files into --dir/cur (Maildir,
 *               LF line ends, mtime = Date:, flags in the name), no
 *               fsync: the corpus for select/fetchflags. The same --seed
 *               gives the same corpus.
 *
 * Messages look like ordinary mail: Return-Path, two Received, Date,
 * From, To, Subject, Message-ID, MIME headers and a text body, unique per
 * (seed, index), exactly --size bytes with CRLF line ends.
 *
 * Blocking sockets, one thread per client. Any protocol error (NO, BAD,
 * BYE, unexpected continuation, short FETCH) prints a message and exits
 * with status 1; usage errors exit 64. Output: a short report, then one
 * `RESULT key=value ...` line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_EXIT_PROTO 1
#define STORE_EXIT_USAGE 64
#define STORE_MAX_CLIENTS 1024
#define STORE_READ_BYTES 65536
#define STORE_BASE_TIME 1767225600 /* 2026-01-01 00:00:00 UTC */

enum store_mode { MODE_APPEND, MODE_SELECT, MODE_FETCHFLAGS, MODE_MAILDIR };
enum literal_kind { LIT_AUTO, LIT_SYNC, LIT_PLUS };

struct options {
	enum store_mode mode;
	const char *host;
	const char *port;
	const char *user;
	const char *pass;
	const char *user_pattern;
	unsigned long user_count;
	unsigned long clients;
	unsigned long count;
	unsigned long size;
	const char *mailbox;
	enum literal_kind literal;
	long expect;
	const char *dir;
	unsigned long seed;
	unsigned long first;
	unsigned long timeout_ms;
};

static struct options opt = {
        .mode = MODE_APPEND,
        .host = "127.0.0.1",
        .port = "143",
        .user_count = 1,
        .clients = 1,
        .count = 100,
        .size = 4096,
        .mailbox = "INBOX",
        .literal = LIT_AUTO,
        .expect = -1,
        .seed = 1,
        .timeout_ms = 120000,
};

struct samples {
	uint64_t *v; /* nanoseconds */
	size_t len;
	size_t cap;
};

struct conn {
	int fd;
	int id;
	char *rbuf;
	size_t rstart, rend;
	char *line; /* the current response, literals inlined */
	size_t llen, lcap;
	unsigned tag;
	char tagbuf[16];
	char caps[2048]; /* " CAP1 CAP2 ... " in upper case */
};

typedef void line_fn(struct conn *c, const char *line, size_t len, void *ctx);

/* ---- helpers -------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("imap-store: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(STORE_EXIT_PROTO);
}

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL)
		fail("out of memory");
	return q;
}

static void samples_add(struct samples *s, uint64_t ns)
{
	if (s->len == s->cap) {
		s->cap = s->cap == 0 ? 1024 : s->cap * 2;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->len++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile in milliseconds; s must be sorted. */
static double pct_ms(const struct samples *s, double q)
{
	size_t rank;

	if (s->len == 0)
		return 0.0;
	rank = (size_t)(q * (double)s->len + 0.999999);
	if (rank == 0)
		rank = 1;
	if (rank > s->len)
		rank = s->len;
	return (double)s->v[rank - 1] / 1e6;
}

static double mean_ms(const struct samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->len; i++)
		sum += (double)s->v[i];
	return s->len ? sum / (double)s->len / 1e6 : 0.0;
}

/* ---- message generation --------------------------------------------- */

static uint64_t rng_next(uint64_t *x)
{
	/* splitmix64 */
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *const words[] = {
        "the",     "report",   "meeting", "quarter", "budget",   "team",
        "project", "schedule", "review",  "draft",   "please",   "attached",
        "thanks",  "update",   "server",  "mailbox", "customer", "release",
        "notes",   "question", "answer",  "friday",  "monday",   "invoice",
        "travel",  "plan",     "results", "number",  "agreed",   "soon",
};
#define WORD_COUNT (sizeof(words) / sizeof(words[0]))

struct msgbuf {
	char *p;
	size_t len, cap;
};

static void mb_put(struct msgbuf *m, const char *s, size_t n)
{
	if (m->len + n + 1 > m->cap) {
		m->cap = (m->len + n + 1) * 2;
		m->p = xrealloc(m->p, m->cap);
	}
	memcpy(m->p + m->len, s, n);
	m->len += n;
	m->p[m->len] = '\0';
}

static void mb_printf(struct msgbuf *m, const char *eol, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void mb_printf(struct msgbuf *m, const char *eol, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		fail("header line too long");
	mb_put(m, tmp, (size_t)n);
	mb_put(m, eol, strlen(eol));
}

/* The Date: of message idx, as Unix time (also the file's mtime). */
static time_t msg_time(unsigned long idx)
{
	return (time_t)(STORE_BASE_TIME + (time_t)idx * 37);
}

static void msg_headers(struct msgbuf *m, unsigned long idx, uint64_t *rng,
                        const char *eol)
{
	char date[64];
	time_t t = msg_time(idx);
	struct tm tm;
	unsigned s = (unsigned)(rng_next(rng) % 500), h = (unsigned)(idx % 200);

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	mb_printf(m, eol, "Return-Path: <sender%u@example.org>", s);
	mb_printf(m, eol,
	          "Received: from mail.example.net (mail.example.net "
	          "[192.0.2.%u])%s\tby mx.example.com (Postfix) with ESMTPS "
	          "id 4Q%08" PRIX64 "%s\tfor <bench@example.com>; %s",
	          h + 1, eol, (uint64_t)(rng_next(rng) & 0xffffffffU), eol,
	          date);
	mb_printf(m, eol,
	          "Received: from [10.1.%u.%u] (unknown [10.1.%u.%u])%s\tby "
	          "mail.example.net (Postfix) with ESMTPSA; %s",
	          h, s % 250, h, s % 250, eol, date);
	mb_printf(m, eol, "Date: %s", date);
	mb_printf(m, eol, "From: \"Sender %u\" <sender%u@example.org>", s, s);
	mb_printf(m, eol, "To: \"Bench User\" <bench@example.com>");
	mb_printf(m, eol, "Subject: Re: %s %s, item %lu", words[s % WORD_COUNT],
	          words[(s / 7) % WORD_COUNT], idx);
	mb_printf(m, eol, "Message-ID: <%lu.%016" PRIx64 "@example.org>", idx,
	          rng_next(rng));
	mb_printf(m, eol, "MIME-Version: 1.0");
	mb_printf(m, eol, "Content-Type: text/plain; charset=utf-8");
	mb_printf(m, eol, "Content-Transfer-Encoding: 7bit");
	mb_put(m, eol, strlen(eol));
}

/* Message idx of the corpus seeded by seed, in m (reset first): exactly
 * `size` bytes when counted with CRLF line ends (unless the headers alone
 * are longer), lines of eol. Returns the size with CRLF line ends. */
static size_t msg_build(struct msgbuf *m, unsigned long seed, unsigned long idx,
                        size_t size, const char *eol)
{
	uint64_t rng = ((uint64_t)seed << 32) ^ idx;
	size_t crlf_len = 0, lines = 0, eol_len = strlen(eol);
	char line[96];

	m->len = 0;
	msg_headers(m, idx, &rng, eol);
	for (size_t i = 0; i < m->len; i++)
		lines += m->p[i] == '\n';
	crlf_len = m->len + (eol_len == 1 ? lines : 0);
	while (crlf_len + 2 < size) {
		size_t room = size - crlf_len - 2, n = 0;

		while (n < 72 && n < room) {
			const char *w = words[rng_next(&rng) % WORD_COUNT];
			size_t wl = strlen(w);

			if (n > 0)
				line[n++] = ' ';
			memcpy(line + n, w, wl);
			n += wl;
		}
		if (n > room)
			n = room;
		mb_put(m, line, n);
		mb_put(m, eol, eol_len);
		crlf_len += n + 2;
	}
	return crlf_len;
}

/* ---- connection ----------------------------------------------------- */

static void conn_connect(struct conn *c)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	struct timeval tv = {.tv_sec = (time_t)(opt.timeout_ms / 1000),
	                     .tv_usec = (long)(opt.timeout_ms % 1000) * 1000};
	int one = 1, rc;

	rc = getaddrinfo(opt.host, opt.port, &hints, &res);
	if (rc != 0)
		fail("%s:%s: %s", opt.host, opt.port, gai_strerror(rc));
	c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) < 0)
		fail("connect %s:%s: %s", opt.host, opt.port, strerror(errno));
	freeaddrinfo(res);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->rbuf = xrealloc(NULL, STORE_READ_BYTES);
	c->rstart = c->rend = 0;
}

static void conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;
	n = read(c->fd, c->rbuf + c->rend, STORE_READ_BYTES - c->rend);
	if (n == 0)
		fail("client %d: server closed the connection", c->id);
	if (n < 0)
		fail("client %d: read: %s", c->id,
		     errno == EAGAIN ? "timeout" : strerror(errno));
	c->rend += (size_t)n;
}

static void line_put(struct conn *c, const char *p, size_t n)
{
	if (c->llen + n + 1 > c->lcap) {
		c->lcap = (c->llen + n + 1) * 2;
		c->line = xrealloc(c->line, c->lcap);
	}
	memcpy(c->line + c->llen, p, n);
	c->llen += n;
	c->line[c->llen] = '\0';
}

/* Append one raw line (without CRLF) to c->line. */
static void conn_raw_line(struct conn *c)
{
	for (;;) {
		char *p = c->rbuf + c->rstart;
		char *lf = memchr(p, '\n', c->rend - c->rstart);

		if (lf != NULL) {
			size_t n = (size_t)(lf - p);

			line_put(c, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);
			c->rstart += n + 1;
			return;
		}
		line_put(c, p, c->rend - c->rstart);
		c->rstart = c->rend = 0;
		conn_fill(c);
	}
}

/* The length n of a literal {n} or {n+} ending c->line, or -1. */
static long line_literal(const struct conn *c, size_t from)
{
	const char *s = c->line + from, *end = c->line + c->llen;
	const char *open;

	if (end == s || end[-1] != '}')
		return -1;
	open = memrchr(s, '{', (size_t)(end - s));
	if (open == NULL)
		return -1;
	return strtol(open + 1, NULL, 10);
}

/* Read one whole response into c->line, literals inlined. */
static void conn_read(struct conn *c)
{
	size_t from = 0;
	long lit;

	c->llen = 0;
	for (;;) {
		conn_raw_line(c);
		lit = line_literal(c, from);
		if (lit < 0)
			return;
		while (lit > 0) {
			size_t n = c->rend - c->rstart;

			if (n == 0) {
				conn_fill(c);
				continue;
			}
			if (n > (size_t)lit)
				n = (size_t)lit;
			line_put(c, c->rbuf + c->rstart, n);
			c->rstart += n;
			lit -= (long)n;
		}
		from = c->llen;
	}
}

static void conn_send(struct conn *c, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("client %d: write: %s", c->id, strerror(errno));
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static const char *conn_next_tag(struct conn *c)
{
	snprintf(c->tagbuf, sizeof(c->tagbuf), "a%u", ++c->tag);
	return c->tagbuf;
}

/* Handle one untagged or tagged response. Returns 1 when it is the tagged
 * OK, 0 for an untagged one (passed to fn), and fails on anything else. */
static int conn_dispatch(struct conn *c, line_fn *fn, void *ctx)
{
	size_t tl = strlen(c->tagbuf);

	if (c->line[0] == '*') {
		if (strncasecmp(c->line, "* BYE", 5) == 0)
			fail("client %d: %s", c->id, c->line);
		if (fn != NULL)
			fn(c, c->line, c->llen, ctx);
		return 0;
	}
	if (strncmp(c->line, c->tagbuf, tl) == 0 && c->line[tl] == ' ') {
		if (strncasecmp(c->line + tl + 1, "OK", 2) == 0)
			return 1;
		fail("client %d: %s", c->id, c->line);
	}
	fail("client %d: unexpected response: %.200s", c->id, c->line);
}

static void conn_wait_tagged(struct conn *c, line_fn *fn, void *ctx)
{
	do
		conn_read(c);
	while (!conn_dispatch(c, fn, ctx));
}

/* Send "TAG <cmd>\r\n" and wait for the tagged OK. */
static void conn_cmd(struct conn *c, line_fn *fn, void *ctx, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

static void conn_cmd(struct conn *c, line_fn *fn, void *ctx, const char *fmt,
                     ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "%s ", conn_next_tag(c));
	int m;

	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(buf) - 2)
		fail("command too long");
	memcpy(buf + n + m, "\r\n", 2);
	conn_send(c, buf, (size_t)(n + m + 2));
	conn_wait_tagged(c, fn, ctx);
}

static void on_capability(struct conn *c, const char *line, size_t len,
                          void *ctx)
{
	(void)ctx;
	if (strncasecmp(line, "* CAPABILITY ", 13) != 0)
		return;
	snprintf(c->caps, sizeof(c->caps), " %.*s ", (int)(len - 13),
	         line + 13);
	for (char *p = c->caps; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static bool conn_has_cap(const struct conn *c, const char *cap)
{
	char want[64];

	snprintf(want, sizeof(want), " %s ", cap);
	return strstr(c->caps, want) != NULL;
}

/* Quote s as an IMAP quoted string into dst. */
static void imap_quote(char *dst, size_t size, const char *s)
{
	size_t n = 0;

	dst[n++] = '"';
	for (; *s != '\0' && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n++] = '"';
	dst[n] = '\0';
}

static char *user_name(unsigned long client)
{
	static char buf[STORE_MAX_CLIENTS][128];
	char *b = buf[client % STORE_MAX_CLIENTS];

	if (opt.user_pattern == NULL) {
		snprintf(b, 128, "%s", opt.user);
		return b;
	}
	const char *pct = strstr(opt.user_pattern, "%d");
	unsigned long n = client % opt.user_count + 1;

	if (pct == NULL)
		fail("--user-pattern needs %%d");
	snprintf(b, 128, "%.*s%lu%s", (int)(pct - opt.user_pattern),
	         opt.user_pattern, n, pct + 2);
	return b;
}

/* Connect, read the greeting, LOGIN, learn the capabilities. */
static void conn_login(struct conn *c, unsigned long client)
{
	char u[300], p[300];

	c->id = (int)client;
	conn_connect(c);
	conn_read(c);
	if (strncasecmp(c->line, "* OK", 4) != 0)
		fail("client %d: greeting: %.200s", c->id, c->line);
	imap_quote(u, sizeof(u), user_name(client));
	imap_quote(p, sizeof(p), opt.pass);
	conn_cmd(c, NULL, NULL, "LOGIN %s %s", u, p);
	conn_cmd(c, on_capability, NULL, "CAPABILITY");
}

static void conn_logout(struct conn *c)
{
	char cmd[32];
	int n = snprintf(cmd, sizeof(cmd), "%s LOGOUT\r\n", conn_next_tag(c));

	conn_send(c, cmd, (size_t)n);
	do
		conn_read(c);
	while (strncasecmp(c->line, "* BYE", 5) == 0 ||
	       !conn_dispatch(c, NULL, NULL));
	close(c->fd);
	free(c->rbuf);
	free(c->line);
}

/* ---- append ---------------------------------------------------------- */

struct append_client {
	pthread_t thread;
	unsigned long index;
	struct samples lat;
	pthread_barrier_t *start;
};

static bool use_literal_plus(const struct conn *c)
{
	if (opt.literal == LIT_SYNC)
		return false;
	if (conn_has_cap(c, "LITERAL+"))
		return true;
	/* LITERAL- (RFC 7888) allows {n+} up to 4096 bytes */
	if (conn_has_cap(c, "LITERAL-") && opt.size <= 4096)
		return true;
	if (opt.literal == LIT_PLUS)
		fail("server has no LITERAL+");
	return false;
}

/* APPEND one message; returns the time until the tagged OK. out is a
 * scratch buffer for a LITERAL+ command sent in one write. */
static uint64_t append_one(struct conn *c, const char *mbox,
                           const struct msgbuf *m, bool plus,
                           struct msgbuf *out)
{
	char head[512];
	uint64_t t0 = now_ns();
	const char *tag = conn_next_tag(c);
	int n = snprintf(head, sizeof(head), "%s APPEND %s {%zu%s}\r\n", tag,
	                 mbox, m->len, plus ? "+" : "");

	if (plus) {
		out->len = 0;
		mb_put(out, head, (size_t)n);
		mb_put(out, m->p, m->len);
		mb_put(out, "\r\n", 2);
		conn_send(c, out->p, out->len);
	} else {
		conn_send(c, head, (size_t)n);
		conn_read(c);
		while (c->line[0] == '*' && !conn_dispatch(c, NULL, NULL))
			conn_read(c);
		if (c->line[0] != '+')
			fail("client %d: APPEND: %.200s", c->id, c->line);
		conn_send(c, m->p, m->len);
		conn_send(c, "\r\n", 2);
	}
	conn_wait_tagged(c, NULL, NULL);
	return now_ns() - t0;
}

static void *append_run(void *arg)
{
	struct append_client *ac = arg;
	struct conn c = {0};
	struct msgbuf m = {0}, out = {0};
	char mbox[300];
	bool plus;

	conn_login(&c, ac->index);
	plus = use_literal_plus(&c);
	imap_quote(mbox, sizeof(mbox), opt.mailbox);
	/* Open (or create) the user's store outside the measured time. */
	conn_cmd(&c, NULL, NULL, "STATUS %s (MESSAGES)", mbox);
	pthread_barrier_wait(ac->start);
	for (unsigned long i = 0; i < opt.count; i++) {
		unsigned long idx = ac->index * opt.count + i + opt.first;

		msg_build(&m, opt.seed, idx, opt.size, "\r\n");
		samples_add(&ac->lat, append_one(&c, mbox, &m, plus, &out));
	}
	conn_logout(&c);
	free(m.p);
	free(out.p);
	return plus ? (void *)1 : NULL;
}

static void on_status(struct conn *c, const char *line, size_t len, void *ctx)
{
	const char *p = strcasestr(line, "MESSAGES ");

	(void)c;
	(void)len;
	if (strncasecmp(line, "* STATUS ", 9) == 0 && p != NULL)
		*(long *)ctx = strtol(p + 9, NULL, 10);
}

static long mailbox_messages(void)
{
	struct conn c = {0};
	char mbox[300];
	long n = -1;

	conn_login(&c, 0);
	imap_quote(mbox, sizeof(mbox), opt.mailbox);
	conn_cmd(&c, on_status, &n, "STATUS %s (MESSAGES)", mbox);
	conn_logout(&c);
	if (n < 0)
		fail("STATUS gave no MESSAGES count");
	return n;
}

static void append_report(struct samples *all, double secs, bool plus,
                          long before, long after)
{
	double rate = (double)all->len / secs;

	qsort(all->v, all->len, sizeof(*all->v), cmp_u64);
	printf("append: %lu clients x %lu messages of %lu bytes (%s "
	       "literal)\n",
	       opt.clients, opt.count, opt.size, plus ? "LITERAL+" : "sync");
	printf("  %zu acknowledged in %.3f s = %.1f APPEND/s\n", all->len, secs,
	       rate);
	printf("  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean "
	       "%.2f\n",
	       pct_ms(all, 0.5), pct_ms(all, 0.9), pct_ms(all, 0.99),
	       pct_ms(all, 1.0), mean_ms(all));
	printf("  mailbox messages %ld -> %ld\n", before, after);
	printf("RESULT mode=append clients=%lu per_client=%lu size=%lu "
	       "literal=%s appends=%zu seconds=%.3f append_per_s=%.1f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "messages_before=%ld messages_after=%ld\n",
	       opt.clients, opt.count, opt.size, plus ? "plus" : "sync",
	       all->len, secs, rate, pct_ms(all, 0.5), pct_ms(all, 0.9),
	       pct_ms(all, 0.99), pct_ms(all, 1.0), before, after);
}

static void run_append(void)
{
	struct append_client *ac = calloc(opt.clients, sizeof(*ac));
	struct samples all = {0};
	pthread_barrier_t start;
	long before = mailbox_messages(), after;
	uint64_t t0;
	bool plus = false;

	if (ac == NULL)
		fail("out of memory");
	pthread_barrier_init(&start, NULL, (unsigned)opt.clients + 1);
	for (unsigned long i = 0; i < opt.clients; i++) {
		ac[i].index = i;
		ac[i].start = &start;
		if (pthread_create(&ac[i].thread, NULL, append_run, &ac[i]))
			fail("pthread_create failed");
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (unsigned long i = 0; i < opt.clients; i++) {
		void *ret;

		pthread_join(ac[i].thread, &ret);
		plus = ret != NULL;
		for (size_t j = 0; j < ac[i].lat.len; j++)
			samples_add(&all, ac[i].lat.v[j]);
		free(ac[i].lat.v);
	}
	double secs = (double)(now_ns() - t0) / 1e9;

	after = mailbox_messages();
	append_report(&all, secs, plus, before, after);
	if (opt.user_pattern == NULL &&
	    after - before != (long)(opt.clients * opt.count))
		fail("mailbox grew by %ld, expected %lu", after - before,
		     opt.clients * opt.count);
	free(all.v);
	free(ac);
}

/* ---- select and fetchflags ------------------------------------------ */

struct select_state {
	long exists;
	unsigned long fetches;
	bool bad_fetch;
};

static void on_select(struct conn *c, const char *line, size_t len, void *ctx)
{
	struct select_state *s = ctx;
	const char *sp;

	(void)c;
	(void)len;
	if (line[0] != '*' || line[1] != ' ')
		return;
	sp = strchr(line + 2, ' ');
	if (sp != NULL && strncasecmp(sp, " EXISTS", 7) == 0 && sp[7] == '\0')
		s->exists = strtol(line + 2, NULL, 10);
}

/* SELECT the mailbox; returns its size and the time taken in *ns_r. */
static long select_mailbox(struct conn *c, uint64_t *ns_r)
{
	struct select_state s = {.exists = -1};
	char mbox[300];
	uint64_t t0;

	imap_quote(mbox, sizeof(mbox), opt.mailbox);
	t0 = now_ns();
	conn_cmd(c, on_select, &s, "SELECT %s", mbox);
	*ns_r = now_ns() - t0;
	if (s.exists < 0)
		fail("SELECT gave no EXISTS");
	if (opt.expect >= 0 && s.exists != opt.expect)
		fail("SELECT: %ld messages, expected %ld", s.exists,
		     opt.expect);
	return s.exists;
}

static void print_lat(const char *what, struct samples *s)
{
	qsort(s->v, s->len, sizeof(*s->v), cmp_u64);
	printf("  %s ms (%zu runs): p50 %.2f  p99 %.2f  min %.2f  max %.2f  "
	       "mean %.2f\n",
	       what, s->len, pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 0.0),
	       pct_ms(s, 1.0), mean_ms(s));
}

static void run_select(void)
{
	struct conn c = {0};
	struct samples lat = {0};
	uint64_t first = 0, ns;
	long exists = 0;
	bool unselect;

	conn_login(&c, 0);
	unselect = conn_has_cap(&c, "UNSELECT");
	for (unsigned long i = 0; i < opt.count; i++) {
		exists = select_mailbox(&c, &ns);
		if (i == 0)
			first = ns;
		else
			samples_add(&lat, ns);
		conn_cmd(&c, NULL, NULL, "%s", unselect ? "UNSELECT" : "CLOSE");
	}
	conn_logout(&c);
	printf("select: %s, %ld messages, %lu SELECTs\n", opt.mailbox, exists,
	       opt.count);
	printf("  first SELECT %.2f ms\n", (double)first / 1e6);
	print_lat("later SELECTs", &lat);
	printf("RESULT mode=select messages=%ld runs=%lu first_ms=%.3f "
	       "p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f min_ms=%.3f max_ms=%.3f\n",
	       exists, opt.count, (double)first / 1e6, pct_ms(&lat, 0.5),
	       pct_ms(&lat, 0.99), mean_ms(&lat), pct_ms(&lat, 0.0),
	       pct_ms(&lat, 1.0));
	free(lat.v);
}

static void on_fetch(struct conn *c, const char *line, size_t len, void *ctx)
{
	struct select_state *s = ctx;
	const char *sp;

	(void)c;
	if (line[0] != '*' || line[1] != ' ')
		return;
	sp = strchr(line + 2, ' ');
	if (sp == NULL || strncasecmp(sp, " FETCH (", 8) != 0)
		return;
	s->fetches++;
	if (strcasestr(sp, "UID ") == NULL || strcasestr(sp, "FLAGS (") == NULL)
		s->bad_fetch = true;
	(void)len;
}

static void run_fetchflags(void)
{
	struct conn c = {0};
	struct samples lat = {0};
	uint64_t ns;
	long exists;

	conn_login(&c, 0);
	exists = select_mailbox(&c, &ns);
	printf("fetchflags: %s, %ld messages (SELECT %.2f ms)\n", opt.mailbox,
	       exists, (double)ns / 1e6);
	for (unsigned long i = 0; i < opt.count; i++) {
		struct select_state s = {0};
		uint64_t t0 = now_ns();

		conn_cmd(&c, on_fetch, &s, "UID FETCH 1:* (FLAGS)");
		samples_add(&lat, now_ns() - t0);
		if (s.fetches != (unsigned long)exists || s.bad_fetch)
			fail("UID FETCH 1:* (FLAGS): %lu FETCH responses%s, "
			     "mailbox has %ld",
			     s.fetches,
			     s.bad_fetch ? " (some without UID/FLAGS)" : "",
			     exists);
	}
	conn_logout(&c);
	print_lat("UID FETCH 1:* (FLAGS)", &lat);
	double p50 = pct_ms(&lat, 0.5) / 1e3;

	printf("  %.0f messages/s at the median\n", (double)exists / p50);
	printf("RESULT mode=fetchflags messages=%ld runs=%lu p50_s=%.4f "
	       "min_s=%.4f max_s=%.4f mean_s=%.4f msgs_per_s=%.0f\n",
	       exists, opt.count, p50, pct_ms(&lat, 0.0) / 1e3,
	       pct_ms(&lat, 1.0) / 1e3, mean_ms(&lat) / 1e3,
	       (double)exists / p50);
	free(lat.v);
}

/* ---- maildir corpus --------------------------------------------------- */

/* Flags of corpus message idx in Maildir info form: most are seen, some
 * answered or flagged, like a real inbox. */
static const char *corpus_flags(unsigned long idx)
{
	switch (idx % 10) {
	case 0:
		return "";
	case 1:
		return "FS";
	case 2:
		return "RS";
	default:
		return "S";
	}
}

static void corpus_write(const char *dir, unsigned long idx,
                         const struct msgbuf *m)
{
	char path[PATH_MAX];
	struct timespec ts[2] = {{.tv_sec = msg_time(idx)},
	                         {.tv_sec = msg_time(idx)}};
	int fd;

	snprintf(path, sizeof(path), "%s/cur/%lld.M%luP%lu.bench,S=%zu:2,%s",
	         dir, (long long)msg_time(idx), idx, opt.seed, m->len,
	         corpus_flags(idx));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	if (write(fd, m->p, m->len) != (ssize_t)m->len)
		fail("%s: write failed", path);
	if (futimens(fd, ts) < 0 || close(fd) < 0)
		fail("%s: %s", path, strerror(errno));
}

static void run_maildir(void)
{
	static const char *const sub[] = {"", "/cur", "/new", "/tmp"};
	struct msgbuf m = {0};
	char path[PATH_MAX];
	uint64_t t0 = now_ns(), bytes = 0;

	if (opt.dir == NULL)
		fail("maildir mode needs --dir");
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", opt.dir, sub[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			fail("mkdir %s: %s", path, strerror(errno));
	}
	for (unsigned long i = 0; i < opt.count; i++) {
		unsigned long idx = i + opt.first;

		msg_build(&m, opt.seed, idx, opt.size, "\n");
		corpus_write(opt.dir, idx, &m);
		bytes += m.len;
	}
	free(m.p);
	/* Old directory times, as in a mailbox not written to this second
	 * (a server may rescan a directory whose mtime is "now"). */
	for (size_t i = 0; i < 4; i++) {
		time_t t = msg_time(opt.first + opt.count);
		struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};

		snprintf(path, sizeof(path), "%s%s", opt.dir, sub[i]);
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			fail("utimensat %s: %s", path, strerror(errno));
	}
	printf("RESULT mode=maildir messages=%lu bytes=%" PRIu64
	       " seconds=%.3f\n",
	       opt.count, bytes, (double)(now_ns() - t0) / 1e9);
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: imap-store --mode MODE [options]\n"
	        "  -m, --mode MODE     append | select | fetchflags | maildir\n"
	        "  --host HOST         server address (127.0.0.1)\n"
	        "  --port PORT         server port (143)\n"
	        "  --user NAME --pass PASSWORD\n"
	        "  --user-pattern PAT  append: client i logs in as PAT with "
	        "%%d = i mod\n"
	        "                      --user-count + 1 (no growth check)\n"
	        "  --user-count N      (1)\n"
	        "  -c, --clients N     append: concurrent clients (1)\n"
	        "  -n, --count N       append: messages per client; select, "
	        "fetchflags:\n"
	        "                      runs; maildir: files (100)\n"
	        "  --size BYTES        message size with CRLF (4096)\n"
	        "  --mailbox NAME      (INBOX)\n"
	        "  --literal KIND      append: sync | plus | auto (auto)\n"
	        "  --expect N          select, fetchflags: mailbox size must "
	        "be N\n"
	        "  --dir DIR           maildir: the Maildir to fill\n"
	        "  --seed N            corpus seed (1)   --first N  first "
	        "message index (0)\n"
	        "  --timeout MS        per-read timeout (120000)\n");
}

static unsigned long parse_num(const char *s, const char *what,
                               unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "imap-store: bad %s: %s\n", what, s);
		exit(STORE_EXIT_USAGE);
	}
	return v;
}

static int parse_mode(const char *s)
{
	static const char *const names[] = {"append", "select", "fetchflags",
	                                    "maildir"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	fprintf(stderr, "imap-store: unknown mode %s\n", s);
	exit(STORE_EXIT_USAGE);
}

static int parse_literal(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return LIT_AUTO;
	if (strcmp(s, "sync") == 0)
		return LIT_SYNC;
	if (strcmp(s, "plus") == 0)
		return LIT_PLUS;
	fprintf(stderr, "imap-store: --literal: sync, plus or auto\n");
	exit(STORE_EXIT_USAGE);
}

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_USER,
	OPT_PASS,
	OPT_PATTERN,
	OPT_UCOUNT,
	OPT_SIZE,
	OPT_MAILBOX,
	OPT_LITERAL,
	OPT_EXPECT,
	OPT_DIR,
	OPT_SEED,
	OPT_FIRST,
	OPT_TIMEOUT,
};

static const struct option long_opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"clients", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"user", required_argument, NULL, OPT_USER},
        {"pass", required_argument, NULL, OPT_PASS},
        {"user-pattern", required_argument, NULL, OPT_PATTERN},
        {"user-count", required_argument, NULL, OPT_UCOUNT},
        {"size", required_argument, NULL, OPT_SIZE},
        {"mailbox", required_argument, NULL, OPT_MAILBOX},
        {"literal", required_argument, NULL, OPT_LITERAL},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"dir", required_argument, NULL, OPT_DIR},
        {"seed", required_argument, NULL, OPT_SEED},
        {"first", required_argument, NULL, OPT_FIRST},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {NULL, 0, NULL, 0},
};

static void parse_opt(int ch, const char *arg)
{
	switch (ch) {
	case 'm':
		opt.mode = (enum store_mode)parse_mode(arg);
		break;
	case 'c':
		opt.clients = parse_num(arg, "clients", 1, STORE_MAX_CLIENTS);
		break;
	case 'n':
		opt.count = parse_num(arg, "count", 1, 100000000);
		break;
	case OPT_HOST:
		opt.host = arg;
		break;
	case OPT_PORT:
		opt.port = arg;
		break;
	case OPT_USER:
		opt.user = arg;
		break;
	case OPT_PASS:
		opt.pass = arg;
		break;
	case OPT_PATTERN:
		opt.user_pattern = arg;
		break;
	case OPT_UCOUNT:
		opt.user_count = parse_num(arg, "user count", 1, 1000000);
		break;
	case OPT_SIZE:
		opt.size = parse_num(arg, "size", 1, 1UL << 30);
		break;
	case OPT_MAILBOX:
		opt.mailbox = arg;
		break;
	case OPT_LITERAL:
		opt.literal = (enum literal_kind)parse_literal(arg);
		break;
	case OPT_EXPECT:
		opt.expect = (long)parse_num(arg, "expect", 0, LONG_MAX);
		break;
	case OPT_DIR:
		opt.dir = arg;
		break;
	case OPT_SEED:
		opt.seed = parse_num(arg, "seed", 0, UINT32_MAX);
		break;
	case OPT_FIRST:
		opt.first = parse_num(arg, "first", 0, 1UL << 40);
		break;
	case OPT_TIMEOUT:
		opt.timeout_ms = parse_num(arg, "timeout", 1, 86400000);
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(STORE_EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "m:c:n:h", long_opts, NULL)) != -1)
		parse_opt(ch, optarg);
	if (optind != argc) {
		usage(stderr);
		return STORE_EXIT_USAGE;
	}
	if (opt.mode != MODE_MAILDIR &&
	    (opt.user == NULL) == (opt.user_pattern == NULL))
		fail("give --user or --user-pattern");
	if (opt.mode != MODE_MAILDIR && opt.pass == NULL)
		fail("give --pass");
	if (opt.mode != MODE_APPEND && opt.user == NULL)
		opt.user = user_name(0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch (opt.mode) {
	case MODE_APPEND:
		run_append();
		break;
	case MODE_SELECT:
		run_select();
		break;
	case MODE_FETCHFLAGS:
		run_fetchflags();
		break;
	case MODE_MAILDIR:
		run_maildir();
		break;
	}
	return 0;
}
