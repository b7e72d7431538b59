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
#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_EXIT_PROTO 1
#define STORE_EXIT_USAGE 64
#define STORE_MAX_CLIENTS 1024
#define STORE_BASE_TIME 1767225600 /* 2026-01-01 00:00:00 UTC */

enum store_mode { MODE_APPEND, MODE_SELECT, MODE_FETCHFLAGS, MODE_MAILDIR };
enum literal_kind { LIT_AUTO, LIT_SYNC, LIT_PLUS };

struct options {
	enum store_mode mode;
	struct bench_target target;
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
};

static struct options opt = {
        .mode = MODE_APPEND,
        .target = {.host = "127.0.0.1", .port = "143", .timeout_ms = 120000},
        .user_count = 1,
        .clients = 1,
        .count = 100,
        .size = 4096,
        .mailbox = "INBOX",
        .literal = LIT_AUTO,
        .expect = -1,
        .seed = 1,
};

/* ---- message generation --------------------------------------------- */

/* One header line and its line end. */
static void header_line(struct bench_buf *m, const char *eol, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

static void header_line(struct bench_buf *m, const char *eol, const char *fmt,
                        ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_buf_vprintf(m, fmt, ap);
	va_end(ap);
	bench_buf_str(m, eol);
}

/* The Date: of message idx, as Unix time (also the file's mtime). */
static time_t msg_time(unsigned long idx)
{
	return (time_t)(STORE_BASE_TIME + (time_t)idx * 37);
}

static void msg_headers(struct bench_buf *m, unsigned long idx, uint64_t *rng,
                        const char *eol)
{
	char date[64];
	time_t t = msg_time(idx);
	struct tm tm;
	unsigned s = (unsigned)(bench_rng_next(rng) % 500),
	         h = (unsigned)(idx % 200);

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_line(m, eol, "Return-Path: <sender%u@example.org>", s);
	header_line(m, eol,
	            "Received: from mail.example.net (mail.example.net "
	            "[192.0.2.%u])%s\tby mx.example.com (Postfix) with ESMTPS "
	            "id 4Q%08" PRIX64 "%s\tfor <bench@example.com>; %s",
	            h + 1, eol, (uint64_t)(bench_rng_next(rng) & 0xffffffffU),
	            eol, date);
	header_line(m, eol,
	            "Received: from [10.1.%u.%u] (unknown [10.1.%u.%u])%s\tby "
	            "mail.example.net (Postfix) with ESMTPSA; %s",
	            h, s % 250, h, s % 250, eol, date);
	header_line(m, eol, "Date: %s", date);
	header_line(m, eol, "From: \"Sender %u\" <sender%u@example.org>", s, s);
	header_line(m, eol, "To: \"Bench User\" <bench@example.com>");
	header_line(m, eol, "Subject: Re: %s %s, item %lu",
	            bench_words[s % BENCH_WORDS_STORE],
	            bench_words[(s / 7) % BENCH_WORDS_STORE], idx);
	header_line(m, eol, "Message-ID: <%lu.%016" PRIx64 "@example.org>", idx,
	            bench_rng_next(rng));
	header_line(m, eol, "MIME-Version: 1.0");
	header_line(m, eol, "Content-Type: text/plain; charset=utf-8");
	header_line(m, eol, "Content-Transfer-Encoding: 7bit");
	bench_buf_put(m, eol, strlen(eol));
}

/* Message idx of the corpus seeded by seed, in m (reset first): exactly
 * `size` bytes when counted with CRLF line ends (unless the headers alone
 * are longer), lines of eol. Returns the size with CRLF line ends. */
static size_t msg_build(struct bench_buf *m, unsigned long seed,
                        unsigned long idx, size_t size, const char *eol)
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
			const char *w = bench_words[bench_rng_next(&rng) %
			                            BENCH_WORDS_STORE];
			size_t wl = strlen(w);

			if (n > 0)
				line[n++] = ' ';
			memcpy(line + n, w, wl);
			n += wl;
		}
		if (n > room)
			n = room;
		bench_buf_put(m, line, n);
		bench_buf_put(m, eol, eol_len);
		crlf_len += n + 2;
	}
	return crlf_len;
}

/* ---- connection ----------------------------------------------------- */

static char *user_name(unsigned long client)
{
	static char buf[STORE_MAX_CLIENTS][128];
	char *b = buf[client % STORE_MAX_CLIENTS];

	if (opt.user_pattern == NULL) {
		snprintf(b, 128, "%s", opt.user);
		return b;
	}
	if (strstr(opt.user_pattern, "%d") == NULL)
		bench_fail("--user-pattern needs %%d");
	bench_user_name(b, 128, opt.user_pattern, client % opt.user_count + 1);
	return b;
}

/* Connect, read the greeting, LOGIN as the client's user. */
static void client_login(struct bench_conn *c, unsigned long client)
{
	bench_conn_login(c, (int)client, &opt.target, user_name(client),
	                 opt.pass);
}

/* ---- append ---------------------------------------------------------- */

struct append_client {
	pthread_t thread;
	unsigned long index;
	struct bench_samples lat;
	pthread_barrier_t *start;
};

static bool use_literal_plus(const struct bench_conn *c)
{
	if (opt.literal == LIT_SYNC)
		return false;
	if (bench_conn_has_cap(c, "LITERAL+"))
		return true;
	/* LITERAL- (RFC 7888) allows {n+} up to 4096 bytes */
	if (bench_conn_has_cap(c, "LITERAL-") && opt.size <= 4096)
		return true;
	if (opt.literal == LIT_PLUS)
		bench_fail("server has no LITERAL+");
	return false;
}

/* APPEND one message; returns the time until the tagged OK. out is a
 * scratch buffer for a LITERAL+ command sent in one write. */
static uint64_t append_one(struct bench_conn *c, const char *mbox,
                           const struct bench_buf *m, bool plus,
                           struct bench_buf *out)
{
	char head[512];
	uint64_t t0 = bench_now_ns();
	const char *tag = bench_conn_next_tag(c);
	int n = snprintf(head, sizeof(head), "%s APPEND %s {%zu%s}\r\n", tag,
	                 mbox, m->len, plus ? "+" : "");

	if (plus) {
		out->len = 0;
		bench_buf_put(out, head, (size_t)n);
		bench_buf_put(out, m->p, m->len);
		bench_buf_put(out, "\r\n", 2);
		bench_conn_send(c, out->p, out->len);
	} else {
		bench_conn_send(c, head, (size_t)n);
		bench_conn_read(c);
		while (c->line[0] == '*' &&
		       !bench_conn_dispatch(c, NULL, NULL, false))
			bench_conn_read(c);
		if (c->line[0] != '+')
			bench_fail("client %d: APPEND: %.200s", c->id, c->line);
		bench_conn_send(c, m->p, m->len);
		bench_conn_send(c, "\r\n", 2);
	}
	bench_conn_wait_tagged(c, NULL, NULL);
	return bench_now_ns() - t0;
}

static void *append_run(void *arg)
{
	struct append_client *ac = arg;
	struct bench_conn c = {0};
	struct bench_buf m = {0}, out = {0};
	char mbox[300];
	bool plus;

	client_login(&c, ac->index);
	plus = use_literal_plus(&c);
	bench_imap_quote(mbox, sizeof(mbox), opt.mailbox);
	/* Open (or create) the user's store outside the measured time. */
	bench_conn_cmd(&c, NULL, NULL, "STATUS %s (MESSAGES)", mbox);
	pthread_barrier_wait(ac->start);
	for (unsigned long i = 0; i < opt.count; i++) {
		unsigned long idx = ac->index * opt.count + i + opt.first;

		msg_build(&m, opt.seed, idx, opt.size, "\r\n");
		bench_samples_add(&ac->lat,
		                  append_one(&c, mbox, &m, plus, &out));
	}
	bench_conn_logout(&c);
	free(m.p);
	free(out.p);
	return plus ? (void *)1 : NULL;
}

static long mailbox_messages(void)
{
	return bench_mailbox_messages(&opt.target, user_name(0), opt.pass,
	                              opt.mailbox, false);
}

static void append_report(struct bench_samples *all, double secs, bool plus,
                          long before, long after)
{
	double rate = (double)all->len / secs;

	bench_samples_sort(all);
	printf("append: %lu clients x %lu messages of %lu bytes (%s "
	       "literal)\n",
	       opt.clients, opt.count, opt.size, plus ? "LITERAL+" : "sync");
	printf("  %zu acknowledged in %.3f s = %.1f APPEND/s\n", all->len, secs,
	       rate);
	printf("  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean "
	       "%.2f\n",
	       bench_pct_ms(all, 0.5), bench_pct_ms(all, 0.9),
	       bench_pct_ms(all, 0.99), bench_pct_ms(all, 1.0),
	       bench_mean_ms(all));
	printf("  mailbox messages %ld -> %ld\n", before, after);
	printf("RESULT mode=append clients=%lu per_client=%lu size=%lu "
	       "literal=%s appends=%zu seconds=%.3f append_per_s=%.1f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "messages_before=%ld messages_after=%ld\n",
	       opt.clients, opt.count, opt.size, plus ? "plus" : "sync",
	       all->len, secs, rate, bench_pct_ms(all, 0.5),
	       bench_pct_ms(all, 0.9), bench_pct_ms(all, 0.99),
	       bench_pct_ms(all, 1.0), before, after);
}

static void run_append(void)
{
	struct append_client *ac = bench_xcalloc(opt.clients, sizeof(*ac));
	struct bench_samples all = {0};
	pthread_barrier_t start;
	long before = mailbox_messages(), after;
	uint64_t t0;
	bool plus = false;

	pthread_barrier_init(&start, NULL, (unsigned)opt.clients + 1);
	for (unsigned long i = 0; i < opt.clients; i++) {
		ac[i].index = i;
		ac[i].start = &start;
		if (pthread_create(&ac[i].thread, NULL, append_run, &ac[i]))
			bench_fail("pthread_create failed");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < opt.clients; i++) {
		void *ret;

		pthread_join(ac[i].thread, &ret);
		plus = ret != NULL;
		bench_samples_merge(&all, &ac[i].lat);
		bench_samples_free(&ac[i].lat);
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;

	after = mailbox_messages();
	append_report(&all, secs, plus, before, after);
	if (opt.user_pattern == NULL &&
	    after - before != (long)(opt.clients * opt.count))
		bench_fail("mailbox grew by %ld, expected %lu", after - before,
		           opt.clients * opt.count);
	free(all.v);
	free(ac);
}

/* ---- select and fetchflags ------------------------------------------ */

struct fetch_state {
	unsigned long fetches;
	bool bad_fetch;
};

static long select_mailbox(struct bench_conn *c, uint64_t *ns_r)
{
	return bench_select(c, opt.mailbox, opt.expect, ns_r);
}

static void print_lat(const char *what, struct bench_samples *s)
{
	bench_samples_sort(s);
	printf("  %s ms (%zu runs): p50 %.2f  p99 %.2f  min %.2f  max %.2f  "
	       "mean %.2f\n",
	       what, s->len, bench_pct_ms(s, 0.5), bench_pct_ms(s, 0.99),
	       bench_pct_ms(s, 0.0), bench_pct_ms(s, 1.0), bench_mean_ms(s));
}

static void run_select(void)
{
	struct bench_conn c = {0};
	struct bench_samples lat = {0};
	uint64_t first = 0, ns;
	long exists = 0;
	bool unselect;

	client_login(&c, 0);
	unselect = bench_conn_has_cap(&c, "UNSELECT");
	for (unsigned long i = 0; i < opt.count; i++) {
		exists = select_mailbox(&c, &ns);
		if (i == 0)
			first = ns;
		else
			bench_samples_add(&lat, ns);
		bench_conn_cmd(&c, NULL, NULL, "%s",
		               unselect ? "UNSELECT" : "CLOSE");
	}
	bench_conn_logout(&c);
	printf("select: %s, %ld messages, %lu SELECTs\n", opt.mailbox, exists,
	       opt.count);
	printf("  first SELECT %.2f ms\n", (double)first / 1e6);
	print_lat("later SELECTs", &lat);
	printf("RESULT mode=select messages=%ld runs=%lu first_ms=%.3f "
	       "p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f min_ms=%.3f max_ms=%.3f\n",
	       exists, opt.count, (double)first / 1e6, bench_pct_ms(&lat, 0.5),
	       bench_pct_ms(&lat, 0.99), bench_mean_ms(&lat),
	       bench_pct_ms(&lat, 0.0), bench_pct_ms(&lat, 1.0));
	free(lat.v);
}

static void on_fetch(struct bench_conn *c, const char *line, size_t len,
                     void *ctx)
{
	struct fetch_state *s = ctx;
	const char *rest;

	(void)c;
	(void)len;
	if (bench_fetch_seq(line, &rest) == 0)
		return;
	s->fetches++;
	if (strcasestr(rest, "UID ") == NULL ||
	    strcasestr(rest, "FLAGS (") == NULL)
		s->bad_fetch = true;
}

static void run_fetchflags(void)
{
	struct bench_conn c = {0};
	struct bench_samples lat = {0};
	uint64_t ns;
	long exists;

	client_login(&c, 0);
	exists = select_mailbox(&c, &ns);
	printf("fetchflags: %s, %ld messages (SELECT %.2f ms)\n", opt.mailbox,
	       exists, (double)ns / 1e6);
	for (unsigned long i = 0; i < opt.count; i++) {
		struct fetch_state s = {0};
		uint64_t t0 = bench_now_ns();

		bench_conn_cmd(&c, on_fetch, &s, "UID FETCH 1:* (FLAGS)");
		bench_samples_add(&lat, bench_now_ns() - t0);
		if (s.fetches != (unsigned long)exists || s.bad_fetch)
			bench_fail(
			        "UID FETCH 1:* (FLAGS): %lu FETCH responses%s, "
			        "mailbox has %ld",
			        s.fetches,
			        s.bad_fetch ? " (some without UID/FLAGS)" : "",
			        exists);
	}
	bench_conn_logout(&c);
	print_lat("UID FETCH 1:* (FLAGS)", &lat);
	double p50 = bench_pct_ms(&lat, 0.5) / 1e3;

	printf("  %.0f messages/s at the median\n", (double)exists / p50);
	printf("RESULT mode=fetchflags messages=%ld runs=%lu p50_s=%.4f "
	       "min_s=%.4f max_s=%.4f mean_s=%.4f msgs_per_s=%.0f\n",
	       exists, opt.count, p50, bench_pct_ms(&lat, 0.0) / 1e3,
	       bench_pct_ms(&lat, 1.0) / 1e3, bench_mean_ms(&lat) / 1e3,
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
                         const struct bench_buf *m)
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
		bench_fail("%s: %s", path, strerror(errno));
	if (write(fd, m->p, m->len) != (ssize_t)m->len)
		bench_fail("%s: write failed", path);
	if (futimens(fd, ts) < 0 || close(fd) < 0)
		bench_fail("%s: %s", path, strerror(errno));
}

static void run_maildir(void)
{
	static const char *const sub[] = {"", "/cur", "/new", "/tmp"};
	struct bench_buf m = {0};
	char path[PATH_MAX];
	uint64_t t0 = bench_now_ns(), bytes = 0;

	if (opt.dir == NULL)
		bench_fail("maildir mode needs --dir");
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", opt.dir, sub[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			bench_fail("mkdir %s: %s", path, strerror(errno));
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
			bench_fail("utimensat %s: %s", path, strerror(errno));
	}
	printf("RESULT mode=maildir messages=%lu bytes=%" PRIu64
	       " seconds=%.3f\n",
	       opt.count, bytes, (double)(bench_now_ns() - t0) / 1e9);
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

static int parse_mode(const char *s)
{
	static const char *const names[] = {"append", "select", "fetchflags",
	                                    "maildir"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	bench_usage_fail("unknown mode %s", s);
}

static int parse_literal(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return LIT_AUTO;
	if (strcmp(s, "sync") == 0)
		return LIT_SYNC;
	if (strcmp(s, "plus") == 0)
		return LIT_PLUS;
	bench_usage_fail("--literal: sync, plus or auto");
}

enum {
	OPT_PATTERN = BENCH_OPT_OWN,
	OPT_UCOUNT,
	OPT_SIZE,
	OPT_MAILBOX,
	OPT_LITERAL,
	OPT_EXPECT,
	OPT_DIR,
	OPT_SEED,
	OPT_FIRST,
};

static const struct option long_opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"clients", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        BENCH_TARGET_OPTIONS,
        {"user-pattern", required_argument, NULL, OPT_PATTERN},
        {"user-count", required_argument, NULL, OPT_UCOUNT},
        {"size", required_argument, NULL, OPT_SIZE},
        {"mailbox", required_argument, NULL, OPT_MAILBOX},
        {"literal", required_argument, NULL, OPT_LITERAL},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"dir", required_argument, NULL, OPT_DIR},
        {"seed", required_argument, NULL, OPT_SEED},
        {"first", required_argument, NULL, OPT_FIRST},
        {NULL, 0, NULL, 0},
};

static void parse_opt(int ch, const char *arg)
{
	if (bench_parse_target_opt(ch, arg, &opt.target, &opt.user, &opt.pass))
		return;
	switch (ch) {
	case 'm':
		opt.mode = (enum store_mode)parse_mode(arg);
		break;
	case 'c':
		opt.clients =
		        bench_parse_num(arg, "clients", 1, STORE_MAX_CLIENTS);
		break;
	case 'n':
		opt.count = bench_parse_num(arg, "count", 1, 100000000);
		break;
	case OPT_PATTERN:
		opt.user_pattern = arg;
		break;
	case OPT_UCOUNT:
		opt.user_count = bench_parse_num(arg, "user count", 1, 1000000);
		break;
	case OPT_SIZE:
		opt.size = bench_parse_num(arg, "size", 1, 1UL << 30);
		break;
	case OPT_MAILBOX:
		opt.mailbox = arg;
		break;
	case OPT_LITERAL:
		opt.literal = (enum literal_kind)parse_literal(arg);
		break;
	case OPT_EXPECT:
		opt.expect = (long)bench_parse_num(arg, "expect", 0, LONG_MAX);
		break;
	case OPT_DIR:
		opt.dir = arg;
		break;
	case OPT_SEED:
		opt.seed = bench_parse_num(arg, "seed", 0, UINT32_MAX);
		break;
	case OPT_FIRST:
		opt.first = bench_parse_num(arg, "first", 0, 1UL << 40);
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

	bench_init("imap-store", STORE_EXIT_PROTO, STORE_EXIT_USAGE);
	while ((ch = getopt_long(argc, argv, "m:c:n:h", long_opts, NULL)) != -1)
		parse_opt(ch, optarg);
	if (optind != argc) {
		usage(stderr);
		return STORE_EXIT_USAGE;
	}
	if (opt.mode != MODE_MAILDIR &&
	    (opt.user == NULL) == (opt.user_pattern == NULL))
		bench_fail("give --user or --user-pattern");
	if (opt.mode != MODE_MAILDIR && opt.pass == NULL)
		bench_fail("give --pass");
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
