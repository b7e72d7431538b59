/*
 * bench-common: the code the bench tools (imap-load, imap-store,
 * imap-fetch, lmtp-load, pop3-load) share: errors and exit statuses,
 * memory, time, latency samples, option numbers, IMAP quoting, growable
 * strings, the corpus vocabulary and random numbers, a blocking client
 * connection with a buffered IMAP response reader (RFC 3501, RFC 9051)
 * that also reads the plain lines of POP3 and LMTP, and server memory
 * figures from /proc.
 *
 * The tools are test programs, not the server: any failure prints
 * "PROG: message" and exits; nothing here returns an error.
 */
#ifndef ROOST_BENCH_COMMON_H
#define ROOST_BENCH_COMMON_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors, memory, time ------------------------------------------- */

/* Name the tool in messages; set the exit status of bench_fail (errors
 * while running) and of bench_parse_num (bad arguments). Call first. */
void bench_init(const char *prog, int fail_status, int usage_status);
/* Print "PROG: message" on stderr and exit with the fail status. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));
/* The same with the usage status. */
void bench_usage_fail(const char *fmt, ...)
        __attribute__((format(printf, 1, 2))) __attribute__((noreturn));

/* Allocation that fails the tool instead of returning NULL. */
void *bench_xrealloc(void *p, size_t size);
void *bench_xcalloc(size_t n, size_t size);
char *bench_xstrdup(const char *s);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);
void bench_sleep_ms(unsigned ms);

/* ---- latency samples -------------------------------------------------- */

struct bench_samples {
	uint64_t *v; /* nanoseconds */
	size_t len, cap;
};

void bench_samples_add(struct bench_samples *s, uint64_t ns);
/* Append all of src to dst. */
void bench_samples_merge(struct bench_samples *dst,
                         const struct bench_samples *src);
void bench_samples_sort(struct bench_samples *s);
void bench_samples_free(struct bench_samples *s);
/* Nearest-rank percentile q (0..1) in milliseconds, 0 if empty; s must be
 * sorted. q = 0 gives the minimum, 1 the maximum. */
double bench_pct_ms(const struct bench_samples *s, double q);
double bench_mean_ms(const struct bench_samples *s);
/* Median (lower of the middle two) in seconds, 0 if empty; sorts s. */
double bench_median_s(struct bench_samples *s);
/* Smallest and largest in seconds, 0 if empty; s must be sorted. */
double bench_min_s(const struct bench_samples *s);
double bench_max_s(const struct bench_samples *s);

/* ---- arguments ---------------------------------------------------------- */

/* Where the tool connects to. */
struct bench_target {
	const char *host;
	const char *port;
	unsigned long timeout_ms; /* imap-load: per operation; else per read */
};

/* The options every tool takes: --host, --port, --user, --pass,
 * --timeout MS. A tool numbers its own long options from BENCH_OPT_OWN
 * and puts BENCH_TARGET_OPTIONS into its struct option table. */
enum {
	BENCH_OPT_HOST = 256,
	BENCH_OPT_PORT,
	BENCH_OPT_USER,
	BENCH_OPT_PASS,
	BENCH_OPT_TIMEOUT,
	BENCH_OPT_OWN,
};

/* clang-format off */
#define BENCH_TARGET_OPTIONS                                              \
	{"host", required_argument, NULL, BENCH_OPT_HOST},                \
	{"port", required_argument, NULL, BENCH_OPT_PORT},                \
	{"user", required_argument, NULL, BENCH_OPT_USER},                \
	{"pass", required_argument, NULL, BENCH_OPT_PASS},                \
	{"timeout", required_argument, NULL, BENCH_OPT_TIMEOUT}
/* clang-format on */

/* Take option ch with argument arg if it is one of those (into t, *user_r
 * and *pass_r); false if it is none of them. */
bool bench_parse_target_opt(int ch, const char *arg, struct bench_target *t,
                            const char **user_r, const char **pass_r);

/* s as a decimal number in [min, max]; otherwise "bad WHAT: s" and the
 * usage exit status. */
unsigned long bench_parse_num(const char *s, const char *what,
                              unsigned long min, unsigned long max);
/* pattern with its first "%d" replaced by n (pattern itself if it has
 * none), into dst of size bytes; fails if it does not fit. */
void bench_user_name(char *dst, size_t size, const char *pattern,
                     unsigned long n);
/* s as an IMAP quoted string (RFC 3501 4.3) into dst; fails if it does
 * not fit. */
void bench_imap_quote(char *dst, size_t size, const char *s);

/* ---- growable strings ------------------------------------------------- */

/* Always NUL-terminated past len once anything was put; no cap, it is
 * for messages the tool builds itself. */
struct bench_buf {
	char *p;
	size_t len, cap;
};

void bench_buf_put(struct bench_buf *b, const void *s, size_t n);
void bench_buf_str(struct bench_buf *b, const char *s);
void bench_buf_printf(struct bench_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void bench_buf_vprintf(struct bench_buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
void bench_buf_free(struct bench_buf *b);

/* ---- corpus ------------------------------------------------------------- */

/* splitmix64: the next number of the sequence seeded by *x. */
uint64_t bench_rng_next(uint64_t *x);

/* Everyday words for generated text. imap-store draws from the first
 * BENCH_WORDS_STORE only, so that its corpus stays what it was. */
#define BENCH_WORD_COUNT 80
#define BENCH_WORDS_STORE 30
extern const char *const bench_words[BENCH_WORD_COUNT];

/* ---- IMAP client connection ------------------------------------------- */

/* One blocking connection, one command in flight. Open for the tools to
 * read: line/llen (the current response, literals inlined), id,
 * skipped_last, bytes_in; skip_over is theirs to set. */
struct bench_conn {
	int fd;
	int id; /* in messages */
	char *rbuf;
	size_t rstart, rend;
	char *line; /* the current response, small literals inlined */
	size_t llen, lcap;
	size_t skip_over;  /* literals longer than this are counted only
	                      (0: all inlined) */
	long skipped_last; /* size of the last skipped literal, or -1 */
	uint64_t bytes_in; /* everything read from the socket */
	unsigned tag;
	char tagbuf[16];
	char caps[2048]; /* " CAP1 CAP2 ... " in upper case */
};

/* Called for each untagged response of a command. */
typedef void bench_line_fn(struct bench_conn *c, const char *line, size_t len,
                           void *ctx);

/* Connect to t (TCP_NODELAY, t->timeout_ms on reads and writes). */
void bench_conn_connect(struct bench_conn *c, const struct bench_target *t);
/* Read one whole response into c->line: CR LF dropped (also when they
 * arrive in different reads), literals inlined, or only counted into
 * c->skipped_last when longer than c->skip_over (c->line keeps "{n}"). */
void bench_conn_read(struct bench_conn *c);
/* Read one line into c->line, CR LF dropped, with no literal handling
 * (for line protocols: POP3, LMTP). */
void bench_conn_read_line(struct bench_conn *c);
/* Read more from the socket into c->rbuf[c->rend..]; fails on EOF,
 * errors and timeouts. For tools that scan the buffer themselves. */
void bench_conn_fill(struct bench_conn *c);
void bench_conn_send(struct bench_conn *c, const void *p, size_t n);
/* A new tag ("a1", "a2", ...), kept in c->tagbuf. */
const char *bench_conn_next_tag(struct bench_conn *c);
/* Handle the response in c->line: 0 for an untagged one (passed to fn if
 * not NULL), 1 for the tagged OK of the last command, 2 for its NO (only
 * if no_ok). Fails on BYE and anything else. */
int bench_conn_dispatch(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                        bool no_ok);
/* Read responses until the tagged OK of the last command. */
void bench_conn_wait_tagged(struct bench_conn *c, bench_line_fn *fn, void *ctx);
/* Send "TAG <command>\r\n" and wait for its tagged OK. */
void bench_conn_cmd(struct bench_conn *c, bench_line_fn *fn, void *ctx,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, but a tagged NO returns false instead of failing. */
bool bench_conn_try(struct bench_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
bool bench_conn_has_cap(const struct bench_conn *c, const char *cap);
/* Connect, read the greeting, LOGIN, learn the capabilities. */
void bench_conn_login(struct bench_conn *c, int id,
                      const struct bench_target *t, const char *user,
                      const char *pass);
/* LOGOUT, wait for its OK, close and free. */
void bench_conn_logout(struct bench_conn *c);

/* SELECT mailbox: its message count (EXISTS), the time taken in *ns_r.
 * Fails if there is no EXISTS, or if expect >= 0 and the count differs. */
long bench_select(struct bench_conn *c, const char *mailbox, long expect,
                  uint64_t *ns_r);
/* STATUS mailbox (MESSAGES) over a connection of its own, as user; with
 * create, a CREATE first (its NO ignored) unless it is INBOX. */
long bench_mailbox_messages(const struct bench_target *t, const char *user,
                            const char *pass, const char *mailbox, bool create);
/* The number of a "* n FETCH (" response, or 0 if line is none; *rest_r
 * points after "FETCH (". */
unsigned long bench_fetch_seq(const char *line, const char **rest_r);

/* ---- server memory (Linux /proc) ----------------------------------------- */

/* The youngest child of pid whose name (comm) is name, e.g. Dovecot's
 * imap or pop3 process under its master; fails if there is none. */
long bench_youngest_child(long pid, const char *name);
/* A "Vm...:" figure of /proc/pid/status in kB (field "VmHWM"), or -1. */
long bench_proc_kb(long pid, const char *field);
/* Reset the peak RSS (VmHWM) of pid to its current RSS (clear_refs 5). */
void bench_rss_reset(long pid);

#endif
