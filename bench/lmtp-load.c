/*
 * lmtp-load: delivery benchmark for any LMTP server (RFC 2033).
 *
 * -c connections each open a session (greeting, LHLO), wait for each
 * other, then deliver their share of -n messages of exactly --size bytes
 * (CRLF, ordinary headers, a text body), one transaction at a time per
 * connection: MAIL FROM, --rcpts RCPT TO, DATA (sent in one write when
 * the server offers PIPELINING, RFC 2920, as Postfix does), then the
 * message and the final dot. RFC 2033 4.2: after the dot the server
 * answers once per accepted recipient; a delivery counts when its 250
 * arrives, which the servers measured here send only once that copy is
 * on disk. Any other reply (4xx, 5xx) fails the run.
 *
 * Message i (from --first) goes to --rcpts distinct users: those with
 * numbers (i * rcpts + j) mod --user-count + 1 in --user-pattern (the
 * first "%d"), at --domain. Latency: from sending MAIL FROM to the last
 * reply after the dot (transaction), and from sending the dot to that
 * reply (data).
 *
 * Blocking sockets, one thread per connection. Any failure prints a
 * message and exits with status 1; usage errors exit 64. Output: a short
 * report, then one `RESULT key=value ...` line.
 */
#include "bench-common.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LMTP_EXIT_PROTO 1
#define LMTP_EXIT_USAGE 64
#define LMTP_MAX_CONNS 256
#define LMTP_MAX_RCPTS 50
#define LMTP_BASE_TIME 1767225600 /* 2026-01-01 00:00:00 UTC */

struct options {
	struct bench_target target;
	unsigned long conns;
	unsigned long count; /* messages in all */
	unsigned long size;
	unsigned long rcpts;
	const char *user_pattern;
	unsigned long user_count;
	const char *domain;
	unsigned long first;
	unsigned long seed;
};

static struct options opt = {
        .target = {.host = "127.0.0.1", .port = "24", .timeout_ms = 120000},
        .conns = 1,
        .count = 100,
        .size = 4096,
        .rcpts = 1,
        .user_pattern = "user%d",
        .user_count = 100,
        .domain = "example.org",
        .seed = 1,
};

/* The next message index to deliver, shared by the connections. */
static atomic_ulong next_msg;
static pthread_barrier_t start_barrier;

/* ---- messages ----------------------------------------------------------- */

/* Message idx into m: exactly opt.size bytes, CRLF, no line starting
 * with a dot (so nothing to stuff). */
static void msg_build(struct bench_buf *m, unsigned long idx)
{
	uint64_t rng = opt.seed * 1000003ULL + idx;
	time_t t = LMTP_BASE_TIME + (time_t)(idx * 37);
	char date[64];
	size_t col = 0;

	m->len = 0;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&t));
	bench_buf_printf(m,
	                 "From: Bench Sender <sender%lu@example.net>\r\n"
	                 "To: <rcpt@%s>\r\nSubject: delivery %lu of the "
	                 "%s\r\nDate: %s\r\nMessage-ID: <lmtp.%lu.%lu@"
	                 "bench.example.net>\r\nMIME-Version: 1.0\r\n"
	                 "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	                 idx % 97, opt.domain, idx,
	                 bench_words[bench_rng_next(&rng) % BENCH_WORD_COUNT],
	                 date, opt.seed, idx);
	while (m->len + 2 < opt.size) {
		const char *w =
		        bench_words[bench_rng_next(&rng) % BENCH_WORD_COUNT];
		size_t room = opt.size - 2 - m->len;
		size_t wl = strlen(w) + (col > 0);

		if (col > 0 && col + wl > 72 && room > 3) {
			bench_buf_str(m, "\r\n");
			col = 0;
			continue;
		}
		if (wl > room)
			wl = room;
		if (col > 0)
			bench_buf_put(m, " ", 1);
		bench_buf_put(m, w, wl - (col > 0));
		col += wl;
	}
	bench_buf_str(m, "\r\n");
	if (m->len != opt.size)
		bench_fail("--size %lu too small for the headers", opt.size);
}

/* ---- replies ------------------------------------------------------------ */

enum { CAP_PIPELINING = 1, CAP_SIZE = 2 };

/* Which of the extensions we use the LHLO reply line in c->line names. */
static int line_caps(const struct bench_conn *c)
{
	const char *kw = c->line + 4;

	if (c->llen < 8)
		return 0;
	if (strcasecmp(kw, "PIPELINING") == 0)
		return CAP_PIPELINING;
	if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' '))
		return CAP_SIZE;
	return 0;
}

/* Read one reply (RFC 5321 4.2: "ddd-" lines, then "ddd "); its code.
 * With caps_r, adds the extensions its lines name (LHLO). */
static int reply_read(struct bench_conn *c, int *caps_r)
{
	for (;;) {
		bench_conn_read_line(c);
		if (c->llen < 3 || c->line[0] < '1' || c->line[0] > '5')
			bench_fail("conn %d: bad reply: %.200s", c->id,
			           c->line);
		if (caps_r != NULL)
			*caps_r |= line_caps(c);
		if (c->llen == 3 || c->line[3] == ' ')
			return atoi(c->line);
		if (c->line[3] != '-')
			bench_fail("conn %d: bad reply: %.200s", c->id,
			           c->line);
	}
}

static void reply_expect(struct bench_conn *c, int code, const char *what)
{
	int got = reply_read(c, NULL);

	if (got != code)
		bench_fail("conn %d: %s: %.300s", c->id, what, c->line);
}

/* ---- one connection ----------------------------------------------------- */

struct lconn {
	struct bench_conn c;
	pthread_t thread;
	int caps; /* CAP_* the server offered */
	unsigned long messages, deliveries;
	struct bench_samples lat, data_lat;
};

static void session_open(struct lconn *l, int id)
{
	static const char lhlo[] = "LHLO bench.example.net\r\n";

	l->c.id = id;
	bench_conn_connect(&l->c, &opt.target);
	reply_expect(&l->c, 220, "greeting");
	bench_conn_send(&l->c, lhlo, sizeof(lhlo) - 1);
	if (reply_read(&l->c, &l->caps) != 250)
		bench_fail("conn %d: LHLO: %.300s", id, l->c.line);
}

/* The envelope of message idx: MAIL, the RCPTs and DATA, into env. */
static void envelope_build(struct bench_buf *env, unsigned long idx, int caps)
{
	char user[256];

	env->len = 0;
	bench_buf_printf(env, "MAIL FROM:<sender%lu@example.net>", idx % 97);
	if (caps & CAP_SIZE)
		bench_buf_printf(env, " SIZE=%lu", opt.size);
	bench_buf_str(env, "\r\n");
	for (unsigned long j = 0; j < opt.rcpts; j++) {
		bench_user_name(user, sizeof(user), opt.user_pattern,
		                (idx * opt.rcpts + j) % opt.user_count + 1);
		bench_buf_printf(env, "RCPT TO:<%s@%s>\r\n", user, opt.domain);
	}
	bench_buf_str(env, "DATA\r\n");
}

/* Send the envelope, pipelined or command by command, and read its
 * replies: 250 for MAIL and each RCPT, 354 for DATA. */
static void envelope_send(struct lconn *l, const struct bench_buf *env)
{
	const char *p = env->p, *end = env->p + env->len;
	bool pipelining = l->caps & CAP_PIPELINING;

	if (pipelining)
		bench_conn_send(&l->c, env->p, env->len);
	while (p < end) {
		const char *lf =
		        (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
		bool data = lf == end;

		if (!pipelining)
			bench_conn_send(&l->c, p, (size_t)(lf - p));
		reply_expect(&l->c, data ? 354 : 250,
		             data ? "DATA" : "MAIL/RCPT");
		p = lf;
	}
}

static void deliver_one(struct lconn *l, struct bench_buf *msg,
                        struct bench_buf *env, unsigned long idx)
{
	uint64_t t0, t1;

	msg_build(msg, idx);
	envelope_build(env, idx, l->caps);
	t0 = bench_now_ns();
	envelope_send(l, env);
	bench_buf_str(msg, ".\r\n");
	bench_conn_send(&l->c, msg->p, msg->len);
	t1 = bench_now_ns();
	for (unsigned long j = 0; j < opt.rcpts; j++) {
		reply_expect(&l->c, 250, "after DATA");
		l->deliveries++;
	}
	uint64_t t2 = bench_now_ns();

	bench_samples_add(&l->lat, t2 - t0);
	bench_samples_add(&l->data_lat, t2 - t1);
	l->messages++;
}

static void *conn_run(void *arg)
{
	struct lconn *l = arg;
	struct bench_buf msg = {0}, env = {0};
	unsigned long end = opt.first + opt.count, idx;

	pthread_barrier_wait(&start_barrier);
	while ((idx = atomic_fetch_add(&next_msg, 1)) < end)
		deliver_one(l, &msg, &env, idx);
	bench_conn_send(&l->c, "QUIT\r\n", 6);
	reply_expect(&l->c, 221, "QUIT");
	close(l->c.fd);
	bench_buf_free(&msg);
	bench_buf_free(&env);
	return NULL;
}

/* ---- run and report ----------------------------------------------------- */

static void report(struct lconn *conns, double secs)
{
	struct bench_samples lat = {0}, data = {0};
	unsigned long msgs = 0, dels = 0;

	for (unsigned long i = 0; i < opt.conns; i++) {
		bench_samples_merge(&lat, &conns[i].lat);
		bench_samples_merge(&data, &conns[i].data_lat);
		msgs += conns[i].messages;
		dels += conns[i].deliveries;
	}
	bench_samples_sort(&lat);
	bench_samples_sort(&data);
	printf("deliver: %lu connections, %lu messages of %lu bytes, %lu "
	       "recipient(s) each\n  %lu deliveries in %.3f s = %.1f "
	       "messages/s, %.1f deliveries/s\n  transaction ms: p50 %.2f  "
	       "p90 %.2f  p99 %.2f  max %.2f;  after the dot: p50 %.2f  p99 "
	       "%.2f\n",
	       opt.conns, msgs, opt.size, opt.rcpts, dels, secs,
	       (double)msgs / secs, (double)dels / secs,
	       bench_pct_ms(&lat, 0.5), bench_pct_ms(&lat, 0.9),
	       bench_pct_ms(&lat, 0.99), bench_pct_ms(&lat, 1),
	       bench_pct_ms(&data, 0.5), bench_pct_ms(&data, 0.99));
	printf("RESULT mode=deliver conns=%lu size=%lu rcpts=%lu messages=%lu "
	       "deliveries=%lu seconds=%.3f msgs_per_s=%.1f "
	       "deliveries_per_s=%.1f mb_per_s=%.2f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f data_p50_ms=%.3f data_p99_ms=%.3f\n",
	       opt.conns, opt.size, opt.rcpts, msgs, dels, secs,
	       (double)msgs / secs, (double)dels / secs,
	       (double)msgs * (double)opt.size / 1e6 / secs,
	       bench_pct_ms(&lat, 0.5), bench_pct_ms(&lat, 0.9),
	       bench_pct_ms(&lat, 0.99), bench_pct_ms(&lat, 1),
	       bench_pct_ms(&data, 0.5), bench_pct_ms(&data, 0.99));
	bench_samples_free(&lat);
	bench_samples_free(&data);
}

static void run(void)
{
	struct lconn *conns = bench_xcalloc(opt.conns, sizeof(*conns));
	uint64_t t0;

	atomic_store(&next_msg, opt.first);
	if (pthread_barrier_init(&start_barrier, NULL,
	                         (unsigned)opt.conns + 1) != 0)
		bench_fail("pthread_barrier_init failed");
	for (unsigned long i = 0; i < opt.conns; i++) {
		session_open(&conns[i], (int)i);
		if (pthread_create(&conns[i].thread, NULL, conn_run,
		                   &conns[i]) != 0)
			bench_fail("pthread_create failed");
	}
	pthread_barrier_wait(&start_barrier);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < opt.conns; i++)
		pthread_join(conns[i].thread, NULL);
	report(conns, (double)(bench_now_ns() - t0) / 1e9);
	for (unsigned long i = 0; i < opt.conns; i++) {
		bench_samples_free(&conns[i].lat);
		bench_samples_free(&conns[i].data_lat);
		free(conns[i].c.rbuf);
		free(conns[i].c.line);
	}
	free(conns);
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: lmtp-load [options]\n"
	           "  --host HOST          server address (127.0.0.1)\n"
	           "  --port PORT          server port (24)\n"
	           "  -c, --conns N        concurrent connections (1)\n"
	           "  -n, --count N        messages in all (100)\n"
	           "  --size BYTES         message size with CRLF (4096)\n"
	           "  --rcpts K            recipients (distinct users) per "
	           "message (1)\n"
	           "  --user-pattern PAT   recipient local part, %%d = user "
	           "number (user%%d)\n"
	           "  --user-count N       users 1..N, round-robin (100)\n"
	           "  --domain DOMAIN      recipient domain (example.org)\n"
	           "  --first N            first message index (0)\n"
	           "  --seed N             message seed (1)\n"
	           "  --timeout MS         per-read timeout (120000)\n");
}

enum {
	OPT_SIZE = BENCH_OPT_OWN,
	OPT_RCPTS,
	OPT_USER_PATTERN,
	OPT_USER_COUNT,
	OPT_DOMAIN,
	OPT_FIRST,
	OPT_SEED,
};

static const struct option long_opts[] = {
        BENCH_TARGET_OPTIONS,
        {"conns", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"rcpts", required_argument, NULL, OPT_RCPTS},
        {"user-pattern", required_argument, NULL, OPT_USER_PATTERN},
        {"user-count", required_argument, NULL, OPT_USER_COUNT},
        {"domain", required_argument, NULL, OPT_DOMAIN},
        {"first", required_argument, NULL, OPT_FIRST},
        {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static void parse_opt(int ch, const char *arg)
{
	const char *ignored_user = NULL, *ignored_pass = NULL;

	if (bench_parse_target_opt(ch, arg, &opt.target, &ignored_user,
	                           &ignored_pass))
		return;
	switch (ch) {
	case 'c':
		opt.conns = bench_parse_num(arg, "--conns", 1, LMTP_MAX_CONNS);
		break;
	case 'n':
		opt.count = bench_parse_num(arg, "--count", 1, 100000000);
		break;
	case OPT_SIZE:
		opt.size = bench_parse_num(arg, "--size", 400, 1UL << 30);
		break;
	case OPT_RCPTS:
		opt.rcpts = bench_parse_num(arg, "--rcpts", 1, LMTP_MAX_RCPTS);
		break;
	case OPT_USER_PATTERN:
		opt.user_pattern = arg;
		break;
	case OPT_USER_COUNT:
		opt.user_count =
		        bench_parse_num(arg, "--user-count", 1, 10000000);
		break;
	case OPT_DOMAIN:
		opt.domain = arg;
		break;
	case OPT_FIRST:
		opt.first = bench_parse_num(arg, "--first", 0, 1UL << 40);
		break;
	case OPT_SEED:
		opt.seed = bench_parse_num(arg, "--seed", 0, 1UL << 40);
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(LMTP_EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	int ch;

	bench_init("lmtp-load", LMTP_EXIT_PROTO, LMTP_EXIT_USAGE);
	while ((ch = getopt_long(argc, argv, "c:n:h", long_opts, NULL)) != -1)
		parse_opt(ch, optarg);
	if (optind != argc) {
		usage(stderr);
		return LMTP_EXIT_USAGE;
	}
	if (opt.rcpts > opt.user_count)
		bench_usage_fail("--rcpts %lu needs as many users", opt.rcpts);
	setvbuf(stdout, NULL, _IOLBF, 0);
	run();
	return 0;
}
