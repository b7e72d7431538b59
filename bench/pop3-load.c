/*
 * pop3-load: RETR throughput for any POP3 server (RFC 1939).
 *
 * One session: greeting, USER and PASS, STAT, LIST (the size of every
 * message); then -n runs, each a RETR of every message of the maildrop
 * (or only of message --msg), --window commands in flight (RFC 2449
 * PIPELINING; 1 = wait for each answer before the next RETR); QUIT at
 * the end, with nothing marked deleted. Each answer is read to its
 * terminating ".": the octets after un-stuffing (RFC 1939 3) must be
 * the size LIST gave, or the run fails. MB/s = 10^6 message octets per
 * second at the median run.
 *
 * Server memory (Linux): with --rss-pid the server's peak RSS is reset
 * before each run (/proc/PID/clear_refs) and VmHWM read after it; with
 * --rss-child NAME the process watched is the youngest child of PID
 * with that name (Dovecot's pop3 process under its master).
 *
 * Blocking socket. Any failure prints a message and exits with status
 * 1; usage errors exit 64. Output: a short report, then one
 * `RESULT key=value ...` line.
 */
#include "bench-common.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POP3_EXIT_PROTO 1
#define POP3_EXIT_USAGE 64
#define POP3_MAX_WINDOW 1024

struct options {
	struct bench_target target;
	const char *user;
	const char *pass;
	unsigned long runs;
	unsigned long window;
	unsigned long msg; /* 0: all */
	long expect;
	long rss_pid;
	const char *rss_child;
};

static struct options opt = {
        .target = {.host = "127.0.0.1", .port = "110", .timeout_ms = 120000},
        .runs = 3,
        .window = 1,
        .expect = -1,
        .rss_pid = -1,
};

/* ---- lines and answers -------------------------------------------------- */

static void expect_ok(struct bench_conn *c, const char *what)
{
	bench_conn_read_line(c);
	if (strncmp(c->line, "+OK", 3) != 0)
		bench_fail("%s: %.300s", what, c->line);
}

static void cmd_ok(struct bench_conn *c, const char *what, const char *cmd)
{
	bench_conn_send(c, cmd, strlen(cmd));
	expect_ok(c, what);
}

/* Read a multi-line answer's body up to and including its "." line,
 * straight from the connection's buffer (no copy); the octets of the
 * message after removing the stuffed dots. */
static uint64_t multiline_read(struct bench_conn *c)
{
	uint64_t octets = 0;
	size_t linelen = 0;
	char head[3] = {0};

	for (;;) {
		if (c->rstart == c->rend)
			bench_conn_fill(c);
		char *p = c->rbuf + c->rstart;
		size_t avail = c->rend - c->rstart;
		char *lf = memchr(p, '\n', avail);
		size_t seg = lf != NULL ? (size_t)(lf + 1 - p) : avail;

		for (size_t i = 0; linelen + i < 3 && i < seg; i++)
			head[linelen + i] = p[i];
		linelen += seg;
		c->rstart += seg;
		if (lf == NULL)
			continue;
		if (linelen == 3 && memcmp(head, ".\r\n", 3) == 0)
			return octets;
		octets += linelen - (head[0] == '.');
		linelen = 0;
	}
}

/* LIST: the size of each message into sizes[1..n]. */
static void list_sizes(struct bench_conn *c, uint64_t *sizes, unsigned long n)
{
	unsigned long i, count = 0;
	unsigned long long size;

	cmd_ok(c, "LIST", "LIST\r\n");
	for (;;) {
		bench_conn_read_line(c);
		if (strcmp(c->line, ".") == 0)
			break;
		if (sscanf(c->line, "%lu %llu", &i, &size) != 2 || i < 1 ||
		    i > n)
			bench_fail("LIST: %.200s", c->line);
		sizes[i] = size;
		count++;
	}
	if (count != n)
		bench_fail("LIST: %lu messages, STAT said %lu", count, n);
}

/* ---- runs --------------------------------------------------------------- */

struct run_state {
	struct bench_samples retr; /* per RETR, from its answer's start */
	uint64_t octets;
};

static void retr_send(struct bench_conn *c, unsigned long msg)
{
	char cmd[48];
	int n = snprintf(cmd, sizeof(cmd), "RETR %lu\r\n", msg);

	bench_conn_send(c, cmd, (size_t)n);
}

/* One run: RETR first..last, window commands in flight. */
static uint64_t run_once(struct bench_conn *c, const uint64_t *sizes,
                         unsigned long first, unsigned long last,
                         struct run_state *s)
{
	unsigned long next = first;
	uint64_t t0 = bench_now_ns(), prev = t0;

	for (unsigned long m = first; m <= last; m++) {
		while (next <= last && next < m + opt.window)
			retr_send(c, next++);
		expect_ok(c, "RETR");
		uint64_t got = multiline_read(c), now = bench_now_ns();

		if (got != sizes[m])
			bench_fail("RETR %lu: %" PRIu64 " octets, LIST said "
			           "%" PRIu64,
			           m, got, sizes[m]);
		s->octets += got;
		bench_samples_add(&s->retr, now - prev);
		prev = now;
	}
	return bench_now_ns() - t0;
}

struct rss_figures {
	long before_kb; /* largest VmRSS at the start of a run */
	long peak_kb;   /* largest VmHWM after a run */
};

static void runs(struct bench_conn *c, const uint64_t *sizes, unsigned long n,
                 struct bench_samples *lat, struct run_state *s,
                 struct rss_figures *rss)
{
	unsigned long first = opt.msg ? opt.msg : 1,
	              last = opt.msg ? opt.msg : n;
	long pid = -1;

	if (opt.rss_pid >= 0)
		pid = opt.rss_child == NULL
		              ? opt.rss_pid
		              : bench_youngest_child(opt.rss_pid,
		                                     opt.rss_child);
	for (unsigned long r = 0; r < opt.runs; r++) {
		s->octets = 0;
		if (pid >= 0) {
			bench_rss_reset(pid);
			long kb = bench_proc_kb(pid, "VmRSS");

			if (kb > rss->before_kb)
				rss->before_kb = kb;
		}
		bench_samples_add(lat, run_once(c, sizes, first, last, s));
		if (pid >= 0) {
			long kb = bench_proc_kb(pid, "VmHWM");

			if (kb > rss->peak_kb)
				rss->peak_kb = kb;
		}
	}
}

static void report(unsigned long n, struct bench_samples *lat,
                   struct run_state *s, const struct rss_figures *rss)
{
	double med = bench_median_s(lat), mbs = (double)s->octets / 1e6 / med;

	bench_samples_sort(&s->retr);
	printf("retr: %lu of %lu messages, %.1f MB per run, window %lu\n"
	       "  %zu runs: median %.3f s = %.1f MB/s (min %.3f s, max %.3f "
	       "s); per RETR p50 %.3f ms p99 %.3f ms\n",
	       opt.msg ? 1 : n, n, (double)s->octets / 1e6, opt.window,
	       lat->len, med, mbs, bench_min_s(lat), bench_max_s(lat),
	       bench_pct_ms(&s->retr, 0.5), bench_pct_ms(&s->retr, 0.99));
	if (rss->peak_kb >= 0)
		printf("  server RSS: %ld kB before, peak %ld kB\n",
		       rss->before_kb, rss->peak_kb);
	printf("RESULT mode=retr maildrop=%lu messages=%lu "
	       "bytes_per_run=%" PRIu64
	       " window=%lu runs=%zu p50_s=%.4f min_s=%.4f max_s=%.4f "
	       "mb_per_s=%.1f retr_p50_ms=%.3f retr_p99_ms=%.3f "
	       "rss_before_kb=%ld rss_peak_kb=%ld\n",
	       n, opt.msg ? 1 : n, s->octets, opt.window, lat->len, med,
	       bench_min_s(lat), bench_max_s(lat), mbs,
	       bench_pct_ms(&s->retr, 0.5), bench_pct_ms(&s->retr, 0.99),
	       rss->before_kb, rss->peak_kb);
}

static void run(void)
{
	struct bench_conn c = {0};
	struct bench_samples lat = {0};
	struct run_state s = {0};
	struct rss_figures rss = {-1, -1};
	struct bench_buf cmd = {0};
	unsigned long n;
	unsigned long long total;

	bench_conn_connect(&c, &opt.target);
	expect_ok(&c, "greeting");
	bench_buf_printf(&cmd, "USER %s\r\n", opt.user);
	cmd_ok(&c, "USER", cmd.p);
	cmd.len = 0;
	bench_buf_printf(&cmd, "PASS %s\r\n", opt.pass);
	cmd_ok(&c, "PASS", cmd.p);
	cmd_ok(&c, "STAT", "STAT\r\n");
	if (sscanf(c.line, "+OK %lu %llu", &n, &total) != 2)
		bench_fail("STAT: %.200s", c.line);
	if (n == 0 || (opt.expect >= 0 && n != (unsigned long)opt.expect) ||
	    opt.msg > n)
		bench_fail("maildrop has %lu messages", n);
	uint64_t *sizes = bench_xcalloc(n + 1, sizeof(*sizes));

	list_sizes(&c, sizes, n);
	runs(&c, sizes, n, &lat, &s, &rss);
	cmd_ok(&c, "QUIT", "QUIT\r\n");
	close(c.fd);
	report(n, &lat, &s, &rss);
	free(sizes);
	bench_buf_free(&cmd);
	bench_samples_free(&lat);
	bench_samples_free(&s.retr);
	free(c.rbuf);
	free(c.line);
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: pop3-load --user NAME --pass PASSWORD [options]\n"
	           "  --host HOST         server address (127.0.0.1)\n"
	           "  --port PORT         server port (110)\n"
	           "  -n, --runs N        runs over the maildrop (3)\n"
	           "  --window N          RETR commands in flight (1)\n"
	           "  --msg N             RETR only message N (all)\n"
	           "  --expect N          the maildrop must hold N messages\n"
	           "  --rss-pid PID       server process for the peak RSS\n"
	           "  --rss-child NAME    ... or its youngest child NAME\n"
	           "  --timeout MS        per-read timeout (120000)\n");
}

enum {
	OPT_WINDOW = BENCH_OPT_OWN,
	OPT_MSG,
	OPT_EXPECT,
	OPT_RSS_PID,
	OPT_RSS_CHILD,
};

static const struct option long_opts[] = {
        BENCH_TARGET_OPTIONS,
        {"runs", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"msg", required_argument, NULL, OPT_MSG},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"rss-pid", required_argument, NULL, OPT_RSS_PID},
        {"rss-child", required_argument, NULL, OPT_RSS_CHILD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static void parse_opt(int ch, const char *arg)
{
	if (bench_parse_target_opt(ch, arg, &opt.target, &opt.user, &opt.pass))
		return;
	switch (ch) {
	case 'n':
		opt.runs = bench_parse_num(arg, "--runs", 1, 100000);
		break;
	case OPT_WINDOW:
		opt.window =
		        bench_parse_num(arg, "--window", 1, POP3_MAX_WINDOW);
		break;
	case OPT_MSG:
		opt.msg = bench_parse_num(arg, "--msg", 1, 100000000);
		break;
	case OPT_EXPECT:
		opt.expect =
		        (long)bench_parse_num(arg, "--expect", 0, 100000000);
		break;
	case OPT_RSS_PID:
		opt.rss_pid =
		        (long)bench_parse_num(arg, "--rss-pid", 1, 1UL << 31);
		break;
	case OPT_RSS_CHILD:
		opt.rss_child = arg;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(POP3_EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	int ch;

	bench_init("pop3-load", POP3_EXIT_PROTO, POP3_EXIT_USAGE);
	while ((ch = getopt_long(argc, argv, "n:h", long_opts, NULL)) != -1)
		parse_opt(ch, optarg);
	if (optind != argc) {
		usage(stderr);
		return POP3_EXIT_USAGE;
	}
	if (opt.user == NULL || opt.pass == NULL)
		bench_usage_fail("give --user and --pass");
	setvbuf(stdout, NULL, _IOLBF, 0);
	run();
	return 0;
}
