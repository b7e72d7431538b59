/*
 * bench-common: what imap-load, imap-store and imap-fetch share (see
 * bench-common.h). Standalone like the tools: nothing from libroost, so
 * the bench tools build even while the server does not.
 */
#include "bench-common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_READ_BYTES (256 * 1024)

static const char *bench_prog = "bench";
static int bench_fail_status = 1;
static int bench_usage_status = 64;

/* ---- errors, memory, time ------------------------------------------- */

void bench_init(const char *prog, int fail_status, int usage_status)
{
	bench_prog = prog;
	bench_fail_status = fail_status;
	bench_usage_status = usage_status;
}

static void bench_vexit(int status, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0))) __attribute__((noreturn));

static void bench_vexit(int status, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vexit(bench_fail_status, fmt, ap);
}

void bench_usage_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vexit(bench_usage_status, fmt, ap);
}

void *bench_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (q == NULL)
		bench_fail("out of memory");
	return q;
}

void *bench_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		bench_fail("out of memory");
	return p;
}

char *bench_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		bench_fail("out of memory");
	return p;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- latency samples -------------------------------------------------- */

static void samples_reserve(struct bench_samples *s, size_t n)
{
	if (s->len + n <= s->cap)
		return;
	s->cap = s->cap == 0 ? 1024 : s->cap * 2;
	if (s->cap < s->len + n)
		s->cap = s->len + n;
	s->v = bench_xrealloc(s->v, s->cap * sizeof(*s->v));
}

void bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	samples_reserve(s, 1);
	s->v[s->len++] = ns;
}

void bench_samples_merge(struct bench_samples *dst,
                         const struct bench_samples *src)
{
	if (src->len == 0)
		return;
	samples_reserve(dst, src->len);
	memcpy(dst->v + dst->len, src->v, src->len * sizeof(*src->v));
	dst->len += src->len;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void bench_samples_sort(struct bench_samples *s)
{
	if (s->len > 1)
		qsort(s->v, s->len, sizeof(*s->v), cmp_u64);
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->len = s->cap = 0;
}

double bench_pct_ms(const struct bench_samples *s, double q)
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

double bench_mean_ms(const struct bench_samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->len; i++)
		sum += (double)s->v[i];
	return s->len ? sum / (double)s->len / 1e6 : 0.0;
}

double bench_median_s(struct bench_samples *s)
{
	if (s->len == 0)
		return 0.0;
	bench_samples_sort(s);
	return (double)s->v[(s->len - 1) / 2] / 1e9;
}

double bench_min_s(const struct bench_samples *s)
{
	return s->len ? (double)s->v[0] / 1e9 : 0.0;
}

double bench_max_s(const struct bench_samples *s)
{
	return s->len ? (double)s->v[s->len - 1] / 1e9 : 0.0;
}

/* ---- arguments ---------------------------------------------------------- */

unsigned long bench_parse_num(const char *s, const char *what,
                              unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		bench_usage_fail("bad %s: %s", what, s);
	return v;
}

bool bench_parse_target_opt(int ch, const char *arg, struct bench_target *t,
                            const char **user_r, const char **pass_r)
{
	switch (ch) {
	case BENCH_OPT_HOST:
		t->host = arg;
		return true;
	case BENCH_OPT_PORT:
		t->port = arg;
		return true;
	case BENCH_OPT_USER:
		*user_r = arg;
		return true;
	case BENCH_OPT_PASS:
		*pass_r = arg;
		return true;
	case BENCH_OPT_TIMEOUT:
		t->timeout_ms = bench_parse_num(arg, "--timeout", 1, 86400000);
		return true;
	default:
		return false;
	}
}

void bench_user_name(char *dst, size_t size, const char *pattern,
                     unsigned long n)
{
	const char *pct = strstr(pattern, "%d");
	int len;

	if (pct == NULL)
		len = snprintf(dst, size, "%s", pattern);
	else
		len = snprintf(dst, size, "%.*s%lu%s", (int)(pct - pattern),
		               pattern, n, pct + 2);
	if (len < 0 || (size_t)len >= size)
		bench_fail("user name too long: %s", pattern);
}

void bench_imap_quote(char *dst, size_t size, const char *s)
{
	size_t o = 0;

	if (size < 3)
		bench_fail("quote buffer too small");
	dst[o++] = '"';
	for (; *s != '\0'; s++) {
		if (o + 4 > size)
			bench_fail("string too long to quote: %.40s...", s);
		if (*s == '"' || *s == '\\')
			dst[o++] = '\\';
		dst[o++] = *s;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

/* ---- growable strings ------------------------------------------------- */

static void buf_reserve(struct bench_buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = bench_xrealloc(b->p, b->cap);
	}
}

void bench_buf_put(struct bench_buf *b, const void *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void bench_buf_str(struct bench_buf *b, const char *s)
{
	bench_buf_put(b, s, strlen(s));
}

void bench_buf_vprintf(struct bench_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	buf_reserve(b, 256);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		bench_fail("bad format: %s", fmt);
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void bench_buf_printf(struct bench_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void bench_buf_free(struct bench_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- corpus ------------------------------------------------------------- */

uint64_t bench_rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

const char *const bench_words[BENCH_WORD_COUNT] = {
        "the",       "report",    "meeting",  "quarter",    "budget",
        "team",      "project",   "schedule", "review",     "draft",
        "please",    "attached",  "thanks",   "update",     "server",
        "mailbox",   "customer",  "release",  "notes",      "question",
        "answer",    "friday",    "monday",   "invoice",    "travel",
        "plan",      "results",   "number",   "agreed",     "soon",
        "and",       "for",       "with",     "about",      "next",
        "week",      "send",      "call",     "office",     "contract",
        "figures",   "slides",    "deadline", "approval",   "support",
        "ticket",    "issue",     "fixed",    "deploy",     "backup",
        "network",   "printer",   "lunch",    "holiday",    "training",
        "workshop",  "agenda",    "minutes",  "follow",     "status",
        "pending",   "confirmed", "morning",  "evening",    "weekend",
        "database",  "migration", "testing",  "feedback",   "proposal",
        "estimate",  "supplier",  "order",    "delivery",   "warehouse",
        "marketing", "campaign",  "website",  "newsletter", "survey",
};

/* ---- IMAP client connection ------------------------------------------- */

void bench_conn_connect(struct bench_conn *c, const struct bench_target *t)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	struct timeval tv = {.tv_sec = (time_t)(t->timeout_ms / 1000),
	                     .tv_usec = (long)(t->timeout_ms % 1000) * 1000};
	int one = 1, rc;

	rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0)
		bench_fail("%s:%s: %s", t->host, t->port, gai_strerror(rc));
	c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) < 0)
		bench_fail("connect %s:%s: %s", t->host, t->port,
		           strerror(errno));
	freeaddrinfo(res);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->rbuf = bench_xrealloc(NULL, BENCH_READ_BYTES);
	c->rstart = c->rend = 0;
}

void bench_conn_fill(struct bench_conn *c)
{
	ssize_t n;

	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;
	if (c->rend == BENCH_READ_BYTES) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	n = read(c->fd, c->rbuf + c->rend, BENCH_READ_BYTES - c->rend);
	if (n == 0)
		bench_fail("conn %d: server closed the connection", c->id);
	if (n < 0)
		bench_fail("conn %d: read: %s", c->id,
		           errno == EAGAIN ? "timeout" : strerror(errno));
	c->rend += (size_t)n;
	c->bytes_in += (uint64_t)n;
}

static void line_put(struct bench_conn *c, const char *p, size_t n)
{
	if (c->llen + n + 1 > c->lcap) {
		c->lcap = (c->llen + n + 1) * 2;
		c->line = bench_xrealloc(c->line, c->lcap);
	}
	memcpy(c->line + c->llen, p, n);
	c->llen += n;
	c->line[c->llen] = '\0';
}

/* Append one raw line (without CR LF) to c->line. */
static void conn_raw_line(struct bench_conn *c)
{
	for (;;) {
		char *p = c->rbuf + c->rstart;
		char *lf = memchr(p, '\n', c->rend - c->rstart);

		if (lf != NULL) {
			size_t n = (size_t)(lf - p);

			line_put(c, p, n);
			c->rstart += n + 1;
			/* the CR may have come in the previous read */
			if (c->llen > 0 && c->line[c->llen - 1] == '\r')
				c->line[--c->llen] = '\0';
			return;
		}
		line_put(c, p, c->rend - c->rstart);
		c->rstart = c->rend = 0;
		bench_conn_fill(c);
	}
}

void bench_conn_read_line(struct bench_conn *c)
{
	c->llen = 0;
	c->skipped_last = -1;
	conn_raw_line(c);
}

/* The length n of a literal {n} or {n+} ending c->line after from, or
 * -1. */
static long line_literal(const struct bench_conn *c, size_t from)
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

/* Consume a literal of lit bytes: inlined into c->line, or only counted
 * when it is longer than c->skip_over (then c->line keeps "{n}"). */
static void conn_literal(struct bench_conn *c, long lit)
{
	bool skip = c->skip_over > 0 && (size_t)lit > c->skip_over;

	if (skip)
		c->skipped_last = lit;
	while (lit > 0) {
		size_t n = c->rend - c->rstart;

		if (n == 0) {
			bench_conn_fill(c);
			continue;
		}
		if (n > (size_t)lit)
			n = (size_t)lit;
		if (!skip)
			line_put(c, c->rbuf + c->rstart, n);
		c->rstart += n;
		lit -= (long)n;
	}
}

void bench_conn_read(struct bench_conn *c)
{
	size_t from = 0;
	long lit;

	c->llen = 0;
	c->skipped_last = -1;
	for (;;) {
		conn_raw_line(c);
		lit = line_literal(c, from);
		if (lit < 0)
			return;
		conn_literal(c, lit);
		from = c->llen;
	}
}

void bench_conn_send(struct bench_conn *c, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			bench_fail("conn %d: write: %s", c->id,
			           strerror(errno));
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

const char *bench_conn_next_tag(struct bench_conn *c)
{
	snprintf(c->tagbuf, sizeof(c->tagbuf), "a%u", ++c->tag);
	return c->tagbuf;
}

int bench_conn_dispatch(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                        bool no_ok)
{
	size_t tl = strlen(c->tagbuf);

	if (c->line[0] == '*') {
		if (strncasecmp(c->line, "* BYE", 5) == 0)
			bench_fail("conn %d: %s", c->id, c->line);
		if (fn != NULL)
			fn(c, c->line, c->llen, ctx);
		return 0;
	}
	if (strncmp(c->line, c->tagbuf, tl) == 0 && c->line[tl] == ' ') {
		if (strncasecmp(c->line + tl + 1, "OK", 2) == 0)
			return 1;
		if (no_ok && strncasecmp(c->line + tl + 1, "NO", 2) == 0)
			return 2;
		bench_fail("conn %d: %.300s", c->id, c->line);
	}
	bench_fail("conn %d: unexpected response: %.200s", c->id, c->line);
}

void bench_conn_wait_tagged(struct bench_conn *c, bench_line_fn *fn, void *ctx)
{
	do
		bench_conn_read(c);
	while (bench_conn_dispatch(c, fn, ctx, false) == 0);
}

/* Send "TAG <cmd>\r\n" and wait for the tagged answer: true if OK, false
 * if NO and no_ok (anything else fails). */
static bool conn_cmd_v(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                       bool no_ok, const char *fmt, va_list ap)
        __attribute__((format(printf, 5, 0)));

static bool conn_cmd_v(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                       bool no_ok, const char *fmt, va_list ap)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%s ", bench_conn_next_tag(c));
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	int r;

	if (m < 0 || (size_t)(n + m) >= sizeof(buf) - 2)
		bench_fail("command too long");
	memcpy(buf + n + m, "\r\n", 2);
	bench_conn_send(c, buf, (size_t)(n + m + 2));
	do {
		bench_conn_read(c);
		r = bench_conn_dispatch(c, fn, ctx, no_ok);
	} while (r == 0);
	return r == 1;
}

void bench_conn_cmd(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_cmd_v(c, fn, ctx, false, fmt, ap);
	va_end(ap);
}

bool bench_conn_try(struct bench_conn *c, const char *fmt, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = conn_cmd_v(c, NULL, NULL, true, fmt, ap);
	va_end(ap);
	return ok;
}

static void on_capability(struct bench_conn *c, const char *line, size_t len,
                          void *ctx)
{
	(void)ctx;
	if (strncasecmp(line, "* CAPABILITY ", 13) != 0)
		return;
	snprintf(c->caps, sizeof(c->caps), " %.*s ", (int)(len - 13),
	         line + 13);
	for (char *p = c->caps; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

bool bench_conn_has_cap(const struct bench_conn *c, const char *cap)
{
	char want[64];

	snprintf(want, sizeof(want), " %s ", cap);
	return strstr(c->caps, want) != NULL;
}

void bench_conn_login(struct bench_conn *c, int id,
                      const struct bench_target *t, const char *user,
                      const char *pass)
{
	char u[300], p[300];

	c->id = id;
	bench_conn_connect(c, t);
	bench_conn_read(c);
	if (strncasecmp(c->line, "* OK", 4) != 0)
		bench_fail("conn %d: greeting: %.200s", c->id, c->line);
	bench_imap_quote(u, sizeof(u), user);
	bench_imap_quote(p, sizeof(p), pass);
	bench_conn_cmd(c, NULL, NULL, "LOGIN %s %s", u, p);
	bench_conn_cmd(c, on_capability, NULL, "CAPABILITY");
}

void bench_conn_logout(struct bench_conn *c)
{
	char cmd[32];
	int n = snprintf(cmd, sizeof(cmd), "%s LOGOUT\r\n",
	                 bench_conn_next_tag(c));

	bench_conn_send(c, cmd, (size_t)n);
	do
		bench_conn_read(c);
	while (strncasecmp(c->line, "* BYE", 5) == 0 ||
	       !bench_conn_dispatch(c, NULL, NULL, false));
	close(c->fd);
	free(c->rbuf);
	free(c->line);
}

static void on_exists(struct bench_conn *c, const char *line, size_t len,
                      void *ctx)
{
	const char *sp;

	(void)c;
	(void)len;
	if (line[0] != '*' || line[1] != ' ')
		return;
	sp = strchr(line + 2, ' ');
	if (sp != NULL && strcasecmp(sp, " EXISTS") == 0)
		*(long *)ctx = strtol(line + 2, NULL, 10);
}

long bench_select(struct bench_conn *c, const char *mailbox, long expect,
                  uint64_t *ns_r)
{
	char mbox[300];
	long exists = -1;
	uint64_t t0;

	bench_imap_quote(mbox, sizeof(mbox), mailbox);
	t0 = bench_now_ns();
	bench_conn_cmd(c, on_exists, &exists, "SELECT %s", mbox);
	*ns_r = bench_now_ns() - t0;
	if (exists < 0)
		bench_fail("SELECT gave no EXISTS");
	if (expect >= 0 && exists != expect)
		bench_fail("SELECT: %ld messages, expected %ld", exists,
		           expect);
	return exists;
}

static void on_status(struct bench_conn *c, const char *line, size_t len,
                      void *ctx)
{
	const char *p = strcasestr(line, "MESSAGES ");

	(void)c;
	(void)len;
	if (strncasecmp(line, "* STATUS ", 9) == 0 && p != NULL)
		*(long *)ctx = strtol(p + 9, NULL, 10);
}

long bench_mailbox_messages(const struct bench_target *t, const char *user,
                            const char *pass, const char *mailbox, bool create)
{
	struct bench_conn c = {0};
	char mbox[300];
	long n = -1;

	bench_conn_login(&c, 0, t, user, pass);
	bench_imap_quote(mbox, sizeof(mbox), mailbox);
	if (create && strcasecmp(mailbox, "INBOX") != 0)
		(void)bench_conn_try(&c, "CREATE %s", mbox);
	bench_conn_cmd(&c, on_status, &n, "STATUS %s (MESSAGES)", mbox);
	bench_conn_logout(&c);
	if (n < 0)
		bench_fail("STATUS gave no MESSAGES count");
	return n;
}

unsigned long bench_fetch_seq(const char *line, const char **rest_r)
{
	const char *sp;

	if (line[0] != '*' || line[1] != ' ' ||
	    !isdigit((unsigned char)line[2]))
		return 0;
	sp = strchr(line + 2, ' ');
	if (sp == NULL || strncasecmp(sp, " FETCH (", 8) != 0)
		return 0;
	*rest_r = sp + 8;
	return strtoul(line + 2, NULL, 10);
}

/* ---- server memory ------------------------------------------------------ */

/* Parent, name and start time of pid from /proc/PID/stat; false if it is
 * gone or unreadable. */
static bool proc_stat(const char *pid, long *ppid_r, char comm[64],
                      unsigned long long *start_r)
{
	char path[300], buf[1024];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* pid (comm) state ppid ... field 22 starttime */
	return ok && sscanf(buf,
	                    "%*d (%63[^)]) %*c %ld %*d %*d %*d %*d %*u "
	                    "%*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
	                    "%*d %llu",
	                    comm, ppid_r, start_r) == 3;
}

long bench_youngest_child(long pid, const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long best = -1;
	unsigned long long best_start = 0;

	if (d == NULL)
		bench_fail("/proc: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char comm[64];
		long ppid;
		unsigned long long start;

		if (!isdigit((unsigned char)e->d_name[0]) ||
		    !proc_stat(e->d_name, &ppid, comm, &start))
			continue;
		if (ppid == pid && strcmp(comm, name) == 0 &&
		    start >= best_start) {
			best = atol(e->d_name);
			best_start = start;
		}
	}
	closedir(d);
	if (best < 0)
		bench_fail("no process %s under pid %ld", name, pid);
	return best;
}

long bench_proc_kb(long pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	return v;
}

void bench_rss_reset(long pid)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", pid);
	f = fopen(path, "w");
	if (f == NULL || fputs("5", f) < 0 || fclose(f) != 0)
		bench_fail("%s: cannot reset the peak RSS", path);
}
