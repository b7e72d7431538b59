/*
 * imap-mixed: a mixed IMAP workload shaped like real mail clients, for
 * any IMAP server (RFC 3501, RFC 9051).
 *
 * --mode run: -c simulated clients (one thread each, blocking sockets,
 * one command in flight) loop for -d seconds over sessions of:
 *
 *   connect, greeting
 *   LOGIN                        a user drawn at random from --user-count
 *                                (so sessions of one user overlap, as a
 *                                phone and a desktop client do)
 *   SELECT INBOX
 *   FETCH n-H+1:n (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)
 *                                the newest --headers messages (message
 *                                list of a client that was offline)
 *   1..--reads times:            open a message among those:
 *     UID FETCH u (BODY.PEEK[])  its whole text
 *     UID STORE u +FLAGS.SILENT (\Seen)
 *   --append-pct % of sessions:  APPEND INBOX (\Seen) {--size+} (a saved
 *                                draft or copy; LITERAL+ if offered)
 *   --expunge-pct % of sessions: UID STORE u +FLAGS.SILENT (\Deleted) of
 *                                a message read, then EXPUNGE
 *   LOGOUT
 *
 * With equal --append-pct and --expunge-pct the INBOXes keep their size.
 * Each command's latency (sent to tagged answer) is recorded under its
 * name; "session" is connect to LOGOUT's answer. A tagged NO (a message
 * another session expunged) is counted, not fatal; anything else wrong
 * fails the run (exit 1).
 *
 * --mode fill: APPEND -n messages of --size bytes into the INBOX of each
 * of --user-count users (-c threads, each its share of the users).
 *
 * Output: a table, then one `RESULT key=value ...` line.
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

#define MIXED_EXIT_FAIL 1
#define MIXED_EXIT_USAGE 64
#define MIXED_MAX_CLIENTS 2000
#define MIXED_MAX_HEADERS 200
#define MIXED_BASE_TIME 1767225600 /* 2026-01-01 00:00:00 UTC */

enum op {
	OP_CONNECT,
	OP_LOGIN,
	OP_SELECT,
	OP_FETCH_HEADERS,
	OP_FETCH_BODY,
	OP_STORE_SEEN,
	OP_APPEND,
	OP_STORE_DELETED,
	OP_EXPUNGE,
	OP_LOGOUT,
	OP_COUNT,
	OP_SESSION = OP_COUNT, /* reported apart, not a command */
	OP_ALL
};

static const char *const op_names[OP_ALL] = {
        "connect",    "login",      "select",  "fetch_headers",
        "fetch_body", "store_seen", "append",  "store_deleted",
        "expunge",    "logout",     "session",
};

struct options {
	struct bench_target target;
	const char *mode;
	const char *pass;
	const char *user_pattern;
	unsigned long user_count;
	unsigned long clients;
	double duration_s;
	unsigned long headers;
	unsigned long reads;
	unsigned long append_pct;
	unsigned long expunge_pct;
	unsigned long size;
	unsigned long count; /* fill: messages per user */
	unsigned long seed;
};

static struct options opt = {
        .target = {.host = "127.0.0.1", .port = "143", .timeout_ms = 60000},
        .mode = "run",
        .user_pattern = "user%d",
        .user_count = 50,
        .clients = 50,
        .duration_s = 30,
        .headers = 20,
        .reads = 3,
        .append_pct = 30,
        .expunge_pct = 30,
        .size = 4096,
        .count = 200,
        .seed = 1,
};

struct client {
	pthread_t thread;
	unsigned id;
	uint64_t rng;
	struct bench_conn c;
	struct bench_samples st[OP_ALL];
	uint64_t no[OP_ALL];
	char first_no[OP_ALL][160]; /* the first NO answer of each op */
	uint64_t sessions;
	struct bench_buf msg;
	/* the header FETCH's UIDs by position in the window */
	unsigned long uids[MIXED_MAX_HEADERS];
	unsigned long window_first;
	unsigned long nuids;
};

static pthread_barrier_t start_barrier;
static uint64_t t_start, t_end;
static atomic_ulong msg_counter;

/* ---- messages ----------------------------------------------------------- */

/* Message idx into m: exactly opt.size bytes, CRLF, ordinary headers. */
static void msg_build(struct bench_buf *m, unsigned long idx)
{
	uint64_t rng = opt.seed * 1000003ULL + idx;
	time_t t = MIXED_BASE_TIME + (time_t)(idx * 37);
	char date[64];
	size_t col = 0;

	m->len = 0;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&t));
	bench_buf_printf(m,
	                 "From: Mixed Sender <sender%lu@example.net>\r\n"
	                 "To: <rcpt@example.org>\r\nSubject: the %s %s, "
	                 "number %lu\r\nDate: %s\r\nMessage-ID: <mixed.%lu."
	                 "%lu@bench.example.net>\r\nMIME-Version: 1.0\r\n"
	                 "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	                 idx % 97,
	                 bench_words[bench_rng_next(&rng) % BENCH_WORD_COUNT],
	                 bench_words[bench_rng_next(&rng) % BENCH_WORD_COUNT],
	                 idx, date, opt.seed, idx);
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

/* ---- commands ----------------------------------------------------------- */

static bool counting(uint64_t start, uint64_t end)
{
	return start >= t_start && end <= t_end;
}

static void record(struct client *cl, enum op op, uint64_t start, int r)
{
	uint64_t end = bench_now_ns();

	if (!counting(start, end))
		return;
	if (r == 2 && cl->no[op]++ == 0)
		snprintf(cl->first_no[op], sizeof(cl->first_no[op]), "%s",
		         cl->c.line);
	if (r != 2)
		bench_samples_add(&cl->st[op], end - start);
}

/* Send cmd (with its tag and CR LF already), read to the tagged answer,
 * untagged ones to fn: 1 OK, 2 NO. Recorded under op. */
static int client_send_wait(struct client *cl, enum op op, const char *cmd,
                            size_t len, bench_line_fn *fn)
{
	uint64_t t0 = bench_now_ns();
	int r;

	bench_conn_send(&cl->c, cmd, len);
	do {
		bench_conn_read(&cl->c);
		r = bench_conn_dispatch(&cl->c, fn, cl, true);
	} while (r == 0);
	record(cl, op, t0, r);
	return r;
}

__attribute__((format(printf, 4, 5))) static int
client_cmd(struct client *cl, enum op op, bench_line_fn *fn, const char *fmt,
           ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s ", bench_conn_next_tag(&cl->c));
	va_list ap;
	int m;

	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(buf) - 2)
		bench_fail("command too long");
	memcpy(buf + n + m, "\r\n", 2);
	return client_send_wait(cl, op, buf, (size_t)(n + m + 2), fn);
}

static void on_select(struct bench_conn *c, const char *line, size_t len,
                      void *ctx)
{
	struct client *cl = ctx;
	const char *sp;

	(void)c;
	(void)len;
	sp = strchr(line + 2, ' ');
	if (sp != NULL && strcasecmp(sp, " EXISTS") == 0)
		cl->nuids = strtoul(line + 2, NULL, 10);
}

/* "* n FETCH (... UID u ...)" of the header window: remember u. */
static void on_header_fetch(struct bench_conn *c, const char *line, size_t len,
                            void *ctx)
{
	struct client *cl = ctx;
	const char *rest, *u;
	unsigned long seq = bench_fetch_seq(line, &rest);

	(void)c;
	(void)len;
	if (seq < cl->window_first || seq >= cl->window_first + opt.headers)
		return;
	u = strcasestr(rest, "UID ");
	if (u != NULL && (u == rest || u[-1] == ' ' || u[-1] == '('))
		cl->uids[seq - cl->window_first] = strtoul(u + 4, NULL, 10);
}

static void client_append(struct client *cl, enum op op, const char *mailbox)
{
	bool plus = bench_conn_has_cap(&cl->c, "LITERAL+");
	unsigned long idx = atomic_fetch_add(&msg_counter, 1);
	struct bench_buf cmd = {0};
	uint64_t t0;
	int r;

	msg_build(&cl->msg, idx);
	bench_buf_printf(&cmd, "%s APPEND %s (\\Seen) {%zu%s}\r\n",
	                 bench_conn_next_tag(&cl->c), mailbox, cl->msg.len,
	                 plus ? "+" : "");
	t0 = bench_now_ns();
	bench_conn_send(&cl->c, cmd.p, cmd.len);
	if (!plus) {
		bench_conn_read(&cl->c);
		if (cl->c.line[0] != '+')
			bench_fail("APPEND: %.200s", cl->c.line);
	}
	bench_conn_send(&cl->c, cl->msg.p, cl->msg.len);
	bench_conn_send(&cl->c, "\r\n", 2);
	do {
		bench_conn_read(&cl->c);
		r = bench_conn_dispatch(&cl->c, NULL, NULL, true);
	} while (r == 0);
	record(cl, op, t0, r);
	bench_buf_free(&cmd);
}

/* ---- a session ------------------------------------------------------------
 */

static void client_open(struct client *cl, const char *user)
{
	char u[300], p[300];
	uint64_t t0 = bench_now_ns();

	memset(&cl->c, 0, sizeof(cl->c));
	cl->c.id = (int)cl->id;
	bench_conn_connect(&cl->c, &opt.target);
	bench_conn_read(&cl->c);
	if (strncasecmp(cl->c.line, "* OK", 4) != 0)
		bench_fail("client %u: greeting: %.200s", cl->id, cl->c.line);
	record(cl, OP_CONNECT, t0, 1);
	bench_imap_quote(u, sizeof(u), user);
	bench_imap_quote(p, sizeof(p), opt.pass);
	if (client_cmd(cl, OP_LOGIN, NULL, "LOGIN %s %s", u, p) != 1)
		bench_fail("client %u: LOGIN %s refused", cl->id, user);
	bench_conn_cmd(&cl->c, NULL, NULL, "CAPABILITY");
}

static void client_close(struct client *cl)
{
	uint64_t t0 = bench_now_ns();

	bench_conn_logout(&cl->c);
	record(cl, OP_LOGOUT, t0, 1);
}

/* The newest opt.headers messages: FETCH by sequence number, UIDs kept. */
static void client_headers(struct client *cl)
{
	unsigned long n = cl->nuids;

	cl->window_first = n > opt.headers ? n - opt.headers + 1 : 1;
	memset(cl->uids, 0, sizeof(cl->uids));
	client_cmd(cl, OP_FETCH_HEADERS, on_header_fetch,
	           "FETCH %lu:%lu (UID FLAGS INTERNALDATE RFC822.SIZE "
	           "ENVELOPE)",
	           cl->window_first, n);
}

/* A UID of the header window at random (0 if there is none). */
static unsigned long client_pick(struct client *cl)
{
	unsigned long span = cl->nuids - cl->window_first + 1;

	for (int tries = 0; tries < 8; tries++) {
		unsigned long u = cl->uids[bench_rng_next(&cl->rng) % span];

		if (u != 0)
			return u;
	}
	return 0;
}

static void client_reads(struct client *cl, unsigned long *last_r)
{
	unsigned long reads = 1 + bench_rng_next(&cl->rng) % opt.reads;

	for (unsigned long i = 0; i < reads; i++) {
		unsigned long u = client_pick(cl);

		if (u == 0)
			return;
		client_cmd(cl, OP_FETCH_BODY, NULL,
		           "UID FETCH %lu (BODY.PEEK[])", u);
		client_cmd(cl, OP_STORE_SEEN, NULL,
		           "UID STORE %lu +FLAGS.SILENT (\\Seen)", u);
		*last_r = u;
	}
}

static void client_session(struct client *cl)
{
	char user[256];
	unsigned long last = 0;
	uint64_t t0 = bench_now_ns();

	bench_user_name(user, sizeof(user), opt.user_pattern,
	                1 + bench_rng_next(&cl->rng) % opt.user_count);
	client_open(cl, user);
	cl->nuids = 0;
	client_cmd(cl, OP_SELECT, on_select, "SELECT INBOX");
	if (cl->nuids > 0) {
		client_headers(cl);
		client_reads(cl, &last);
	}
	if (bench_rng_next(&cl->rng) % 100 < opt.append_pct)
		client_append(cl, OP_APPEND, "INBOX");
	if (last != 0 && bench_rng_next(&cl->rng) % 100 < opt.expunge_pct) {
		client_cmd(cl, OP_STORE_DELETED, NULL,
		           "UID STORE %lu +FLAGS.SILENT (\\Deleted)", last);
		client_cmd(cl, OP_EXPUNGE, NULL, "EXPUNGE");
	}
	client_close(cl);
	if (counting(t0, bench_now_ns())) {
		bench_samples_add(&cl->st[OP_SESSION], bench_now_ns() - t0);
		cl->sessions++;
	}
}

static void *client_run(void *arg)
{
	struct client *cl = arg;

	pthread_barrier_wait(&start_barrier);
	while (bench_now_ns() < t_end)
		client_session(cl);
	return NULL;
}

/* ---- fill -----------------------------------------------------------------
 */

static void *client_fill(void *arg)
{
	struct client *cl = arg;

	for (unsigned long u = 1 + cl->id; u <= opt.user_count;
	     u += opt.clients) {
		char user[256];

		bench_user_name(user, sizeof(user), opt.user_pattern, u);
		bench_conn_login(&cl->c, (int)cl->id, &opt.target, user,
		                 opt.pass);
		for (unsigned long i = 0; i < opt.count; i++)
			client_append(cl, OP_APPEND, "INBOX");
		bench_conn_logout(&cl->c);
		memset(&cl->c, 0, sizeof(cl->c));
	}
	return NULL;
}

/* ---- report ---------------------------------------------------------------
 */

static void report(struct client *cls)
{
	struct bench_samples all[OP_ALL + 1] = {{0}};
	uint64_t no[OP_ALL] = {0}, sessions = 0;
	double secs = (double)(t_end - t_start) / 1e9;
	struct bench_buf res = {0};

	for (unsigned long i = 0; i < opt.clients; i++) {
		for (int op = 0; op < OP_ALL; op++) {
			bench_samples_merge(&all[op], &cls[i].st[op]);
			if (op < OP_COUNT)
				bench_samples_merge(&all[OP_ALL],
				                    &cls[i].st[op]);
			no[op] += cls[i].no[op];
		}
		sessions += cls[i].sessions;
	}
	printf("%-14s %9s %9s %8s %8s %8s %8s %6s\n", "op", "count", "per_s",
	       "p50_ms", "p90_ms", "p99_ms", "max_ms", "no");
	bench_buf_printf(&res,
	                 "RESULT clients=%lu users=%lu seconds=%.1f "
	                 "sessions=%" PRIu64 " sessions_per_s=%.1f",
	                 opt.clients, opt.user_count, secs, sessions,
	                 (double)sessions / secs);
	for (int op = 0; op <= OP_ALL; op++) {
		struct bench_samples *s = &all[op];
		const char *name = op == OP_ALL ? "all" : op_names[op];
		uint64_t nno = op == OP_ALL ? 0 : no[op];

		if (op == OP_ALL)
			for (int k = 0; k < OP_COUNT; k++)
				nno += no[k];
		bench_samples_sort(s);
		printf("%-14s %9zu %9.1f %8.2f %8.2f %8.2f %8.2f %6" PRIu64
		       "\n",
		       name, s->len, (double)s->len / secs,
		       bench_pct_ms(s, 0.5), bench_pct_ms(s, 0.9),
		       bench_pct_ms(s, 0.99), bench_pct_ms(s, 1.0), nno);
		bench_buf_printf(&res,
		                 " %s_n=%zu %s_per_s=%.1f %s_p50_ms=%.2f "
		                 "%s_p90_ms=%.2f %s_p99_ms=%.2f %s_max_ms=%.2f "
		                 "%s_no=%" PRIu64,
		                 name, s->len, name, (double)s->len / secs,
		                 name, bench_pct_ms(s, 0.5), name,
		                 bench_pct_ms(s, 0.9), name,
		                 bench_pct_ms(s, 0.99), name,
		                 bench_pct_ms(s, 1.0), name, nno);
		bench_samples_free(s);
	}
	printf("%s\n", res.p);
	bench_buf_free(&res);
	for (int op = 0; op < OP_COUNT; op++)
		for (unsigned long i = 0; i < opt.clients; i++)
			if (cls[i].no[op] > 0) {
				printf("first NO to %s: %s\n", op_names[op],
				       cls[i].first_no[op]);
				break;
			}
}

/* ---- main -----------------------------------------------------------------
 */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: imap-mixed [options]\n"
	        "  --host HOST --port PORT (127.0.0.1:143) --timeout MS "
	        "(60000)\n"
	        "  --pass PASSWORD --user-pattern PAT (user%%d) --user-count "
	        "N (50)\n"
	        "  -m, --mode run|fill    (run)\n"
	        "  -c, --clients N        run: simulated clients; fill: "
	        "threads (50)\n"
	        "  -d, --duration S       run: seconds (30)\n"
	        "  --headers N            newest messages fetched per session "
	        "(20)\n"
	        "  --reads N              messages read per session, 1..N "
	        "(3)\n"
	        "  --append-pct P         sessions that APPEND (30)\n"
	        "  --expunge-pct P        sessions that delete one and "
	        "EXPUNGE (30)\n"
	        "  --size BYTES           APPENDed message size (4096)\n"
	        "  -n, --count N          fill: messages per user (200)\n"
	        "  --seed N               (1)\n");
}

enum {
	O_HEADERS = BENCH_OPT_OWN,
	O_READS,
	O_APPEND_PCT,
	O_EXPUNGE_PCT,
	O_SIZE,
	O_SEED,
	O_PATTERN,
	O_USER_COUNT,
};

static void parse_opt(int ch, const char *arg)
{
	switch (ch) {
	case 'm':
		opt.mode = arg;
		break;
	case 'c':
		opt.clients = bench_parse_num(arg, "-c", 1, MIXED_MAX_CLIENTS);
		break;
	case 'd':
		opt.duration_s = (double)bench_parse_num(arg, "-d", 1, 86400);
		break;
	case 'n':
		opt.count = bench_parse_num(arg, "-n", 0, 10000000);
		break;
	case O_HEADERS:
		opt.headers =
		        bench_parse_num(arg, "--headers", 1, MIXED_MAX_HEADERS);
		break;
	case O_READS:
		opt.reads = bench_parse_num(arg, "--reads", 1, 100);
		break;
	case O_APPEND_PCT:
		opt.append_pct = bench_parse_num(arg, "--append-pct", 0, 100);
		break;
	case O_EXPUNGE_PCT:
		opt.expunge_pct = bench_parse_num(arg, "--expunge-pct", 0, 100);
		break;
	case O_SIZE:
		opt.size = bench_parse_num(arg, "--size", 400, 100000000);
		break;
	case O_SEED:
		opt.seed = bench_parse_num(arg, "--seed", 0, 1UL << 40);
		break;
	case O_PATTERN:
		opt.user_pattern = arg;
		break;
	case O_USER_COUNT:
		opt.user_count =
		        bench_parse_num(arg, "--user-count", 1, 1000000);
		break;
	default:
		usage(stderr);
		exit(MIXED_EXIT_USAGE);
	}
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	        BENCH_TARGET_OPTIONS,
	        {"mode", required_argument, NULL, 'm'},
	        {"clients", required_argument, NULL, 'c'},
	        {"duration", required_argument, NULL, 'd'},
	        {"count", required_argument, NULL, 'n'},
	        {"headers", required_argument, NULL, O_HEADERS},
	        {"reads", required_argument, NULL, O_READS},
	        {"append-pct", required_argument, NULL, O_APPEND_PCT},
	        {"expunge-pct", required_argument, NULL, O_EXPUNGE_PCT},
	        {"size", required_argument, NULL, O_SIZE},
	        {"seed", required_argument, NULL, O_SEED},
	        {"user-pattern", required_argument, NULL, O_PATTERN},
	        {"user-count", required_argument, NULL, O_USER_COUNT},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *user = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "m:c:d:n:h", longopts, NULL)) !=
	       -1) {
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
	if (strcmp(opt.mode, "run") != 0 && strcmp(opt.mode, "fill") != 0)
		bench_usage_fail("bad --mode: %s", opt.mode);
}

int main(int argc, char **argv)
{
	bool fill;
	struct client *cls;

	bench_init("imap-mixed", MIXED_EXIT_FAIL, MIXED_EXIT_USAGE);
	parse_args(argc, argv);
	fill = strcmp(opt.mode, "fill") == 0;
	cls = bench_xcalloc(opt.clients, sizeof(*cls));
	pthread_barrier_init(&start_barrier, NULL, (unsigned)opt.clients + 1);
	for (unsigned long i = 0; i < opt.clients; i++) {
		cls[i].id = (unsigned)i;
		cls[i].rng = opt.seed * 7919ULL + i;
		if (pthread_create(&cls[i].thread, NULL,
		                   fill ? client_fill : client_run, &cls[i]))
			bench_fail("pthread_create failed");
	}
	t_start = bench_now_ns();
	t_end = t_start + (uint64_t)(opt.duration_s * 1e9);
	if (!fill)
		pthread_barrier_wait(&start_barrier);
	for (unsigned long i = 0; i < opt.clients; i++)
		pthread_join(cls[i].thread, NULL);
	if (fill) {
		printf("RESULT users=%lu messages_per_user=%lu seconds=%.1f\n",
		       opt.user_count, opt.count,
		       (double)(bench_now_ns() - t_start) / 1e9);
		return 0;
	}
	report(cls);
	return 0;
}
