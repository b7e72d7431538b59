/*
 * imap-fetch: FETCH and SEARCH benchmarks for any IMAP server (RFC 3501,
 * RFC 9051), with the generator of the corpus they run on.
 *
 * Modes:
 *   fill      -c connections APPEND -n messages (indices --first ..) to
 *             --mailbox, each connection --window commands in flight
 *             with LITERAL+ literals and --batch messages per command
 *             (MULTIAPPEND, RFC 3502, when > 1). Without --size the
 *             messages are the mixed corpus below; with --size every
 *             message is a multipart/mixed of exactly that many bytes.
 *             STATUS (MESSAGES) before and after must differ by -n.
 *   envelope  SELECT, then -n times FETCH 1:* (ENVELOPE BODYSTRUCTURE);
 *             the first run is reported apart (cold, when the server was
 *             just started), the others as warm. Every run must return
 *             one FETCH with both items per message. --map FILE and
 *             --dump FILE take one more, untimed run and write
 *             "seq index" and "index <items>" lines (the corpus index
 *             comes from the Message-ID), to compare servers.
 *   body      SELECT, then -n runs of FETCH n BODY[] for every message,
 *             one command each (or --range: one FETCH 1:* BODY[]);
 *             every literal must be --expect-size bytes if given.
 *             Reports MB/s (10^6 bytes) at the median run; --rss-pid
 *             resets the server's peak RSS before each run
 *             (/proc/PID/clear_refs) and reads VmHWM after it; with
 *             --rss-child NAME the process is the youngest child of PID
 *             with that name (Dovecot's imap process).
 *   search    SELECT, then -n times SEARCH [CHARSET c] KEY VALUE; the
 *             first run reported apart, every run must give the same
 *             numbers; --out FILE gets them, one per line.
 *   info      what -n corpus messages contain: bytes, and how many
 *             messages each search marker should match.
 *   show      write message --first (of --size, if given) to stdout.
 *
 * The corpus is deterministic in (--seed, index): varied senders (some
 * with RFC 2047 encoded-words), recipients, subjects (some encoded),
 * Date headers in several zones, and text/plain (7bit or
 * quoted-printable), multipart/alternative (text and HTML) and
 * multipart/mixed with a base64 attachment, mostly 2-20 KB. Marker
 * words and senders are planted with fixed probabilities, so SEARCH has
 * words of known frequency (see `info`).
 *
 * Blocking sockets, one thread per connection. Any protocol error (NO,
 * BAD, BYE, short answer) prints a message and exits with status 1;
 * usage errors exit 64. Output: a short report, then one
 * `RESULT key=value ...` line.
 */
#include "bench-common.h"

#include <ctype.h>
#include <errno.h>
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
#include <time.h>

#define FETCH_EXIT_PROTO 1
#define FETCH_EXIT_USAGE 64
#define FETCH_MAX_CONNS 256
#define FETCH_BASE_TIME 1767225600 /* 2026-01-01 00:00:00 UTC */
#define FETCH_MSGID_HOST "@mail.example.org>"

enum fetch_mode {
	MODE_FILL,
	MODE_ENVELOPE,
	MODE_BODY,
	MODE_SEARCH,
	MODE_INFO,
	MODE_SHOW
};

struct options {
	enum fetch_mode mode;
	struct bench_target target;
	const char *user;
	const char *pass;
	const char *mailbox;
	unsigned long conns;
	unsigned long count;
	unsigned long first;
	unsigned long window;
	unsigned long batch;
	unsigned long size; /* 0: the mixed corpus */
	unsigned long seed;
	long expect;
	long expect_size;
	bool range;
	const char *key;
	const char *value;
	const char *charset;
	const char *out;
	const char *map;
	const char *dump;
	long rss_pid;
	const char *rss_child;
};

static struct options opt = {
        .mode = MODE_FILL,
        .target = {.host = "127.0.0.1", .port = "143", .timeout_ms = 600000},
        .mailbox = "INBOX",
        .conns = 1,
        .count = 1,
        .window = 16,
        .batch = 1,
        .seed = 1,
        .expect = -1,
        .expect_size = -1,
        .rss_pid = -1,
};

/* ---- corpus: vocabulary and plan ------------------------------------ */

static unsigned rng_below(uint64_t *x, unsigned n)
{
	return (unsigned)(bench_rng_next(x) % n);
}

/* Non-ASCII words for quoted-printable bodies (UTF-8). */
static const char *const vocab_utf8[] = {
        "Gr\xc3\xbc\xc3\x9f"
        "e",
        "f\xc3\xbcr",
        "\xc3\x9c"
        "bersicht",
        "caf\xc3\xa9",
        "na\xc3\xafve",
        "r\xc3\xa9sum\xc3\xa9",
        "se\xc3\xb1or",
        "\xc3\xa5r",
};

static const char *const first_names[] = {
        "Alice", "Bob",    "Carol",  "David",  "Erin",    "Frank",
        "Grace", "Heidi",  "Ivan",   "Judy",   "Karl",    "Linda",
        "Mike",  "Nina",   "Oscar",  "Peggy",  "Rupert",  "Sybil",
        "Trent", "Ursula", "Victor", "Walter", "Yolanda", "Zach",
};

static const char *const last_names[] = {
        "Anderson", "Brown",    "Clark", "Davis",  "Evans",    "Fischer",
        "Garcia",   "Harris",   "Ito",   "Jensen", "Kowalski", "Lopez",
        "Moreau",   "Nakamura", "Olsen", "Petrov", "Quinn",    "Rossi",
        "Schmidt",  "Tanaka",   "Usher", "Varga",  "Wright",   "Young",
};

/* Display names that need RFC 2047 encoded-words (UTF-8). The first two
 * contain the FROM marker "M\xc3\xbcller". */
static const char *const utf8_names[] = {
        "J\xc3\xbcrgen M\xc3\xbcller",
        "Anna M\xc3\xbcller",
        "Jos\xc3\xa9 N\xc3\xba\xc3\xb1"
        "ez",
        "Zo\xc3\xab \xc3\x98"
        "deg\xc3\xa5rd",
        "Fran\xc3\xa7oise Lef\xc3\xa8vre",
        "S\xc3\xb8ren Kierkeg\xc3\xa5rd",
        "Ren\xc3\xa9"
        "e Gau\xc3\x9f",
        "\xc3\x89lodie Ch\xc3\xa2telet",
};

static const char *const zones[] = {"+0000", "+0100", "-0500",
                                    "+0530", "-0800", "+0900"};

enum shape { SHAPE_PLAIN, SHAPE_ALT, SHAPE_MIXED, SHAPE_NESTED };
enum sender { SENDER_PLAIN, SENDER_UTF8, SENDER_COMMON, SENDER_RARE };

/* Search markers: planted in the text of 1 in `one_in` messages. */
struct marker {
	const char *word;
	unsigned one_in;
};

static const struct marker markers[] = {
        {"zyzzogeton", 1000},
        {"tangerine", 4},
};
#define MARKER_RARE 0
#define MARKER_COMMON 1

struct plan {
	unsigned long idx;
	enum sender sender;
	unsigned name; /* index into the name lists */
	enum shape shape;
	bool qp;       /* text parts quoted-printable, else 7bit */
	bool subj_b64; /* subject as a B encoded-word, else plain */
	bool reply;
	unsigned to_count;
	bool cc;
	size_t text_bytes;
	size_t attach_bytes;
	unsigned marker_bits;
	uint64_t rng; /* the rest of the message draws from here */
};

/* Between lo and hi, small sizes more likely (lo + (hi - lo) r^2). */
static size_t draw_size(uint64_t *rng, size_t lo, size_t hi)
{
	double r = (double)(bench_rng_next(rng) >> 11) / 9007199254740992.0;

	return lo + (size_t)((double)(hi - lo) * r * r);
}

static void plan_sender(struct plan *p)
{
	if (rng_below(&p->rng, 2000) == 0) {
		p->sender = SENDER_RARE;
	} else if (rng_below(&p->rng, 8) == 0) {
		p->sender = SENDER_COMMON;
	} else if (rng_below(&p->rng, 10) == 0) {
		p->sender = SENDER_UTF8;
		p->name = rng_below(&p->rng, BENCH_COUNT(utf8_names));
	} else {
		p->sender = SENDER_PLAIN;
		p->name = rng_below(&p->rng, 24 * 24);
	}
}

static void plan_make(struct plan *p, unsigned long idx)
{
	unsigned s;

	memset(p, 0, sizeof(*p));
	p->idx = idx;
	p->rng = ((uint64_t)opt.seed << 40) ^ (idx * 0x100000001b3ULL);
	plan_sender(p);
	for (size_t i = 0; i < BENCH_COUNT(markers); i++)
		if (rng_below(&p->rng, markers[i].one_in) == 0)
			p->marker_bits |= 1u << i;
	s = rng_below(&p->rng, 100);
	p->shape = s < 45   ? SHAPE_PLAIN
	           : s < 75 ? SHAPE_ALT
	           : s < 95 ? SHAPE_MIXED
	                    : SHAPE_NESTED;
	p->qp = rng_below(&p->rng, 3) == 0;
	p->subj_b64 = rng_below(&p->rng, 10) == 0;
	p->reply = rng_below(&p->rng, 3) == 0;
	p->to_count = 1 + rng_below(&p->rng, 3);
	p->cc = rng_below(&p->rng, 10) < 3;
	p->text_bytes = draw_size(&p->rng, 1200, 14000);
	if (p->shape == SHAPE_ALT || p->shape == SHAPE_NESTED)
		p->text_bytes /= 2; /* it is sent twice */
	if (p->shape == SHAPE_MIXED || p->shape == SHAPE_NESTED)
		p->attach_bytes = draw_size(&p->rng, 1500, 9000);
}

/* ---- corpus: headers ------------------------------------------------ */

static void put_b64(struct bench_buf *m, const unsigned char *s, size_t n)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	        "tuvwxyz0123456789+/";
	char out[4];

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		bench_buf_put(m, out, 4);
	}
}

/* An RFC 2047 Q encoded-word of UTF-8 text s. */
static void put_qword(struct bench_buf *m, const char *s)
{
	bench_buf_str(m, "=?UTF-8?Q?");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == ' ')
			bench_buf_str(m, "_");
		else if (ch >= 0x80 || ch == '=' || ch == '?' || ch == '_')
			bench_buf_printf(m, "=%02X", ch);
		else
			bench_buf_put(m, s, 1);
	}
	bench_buf_str(m, "?=");
}

static void put_from(struct bench_buf *m, const struct plan *p)
{
	switch (p->sender) {
	case SENDER_RARE:
		bench_buf_str(
		        m,
		        "From: Quentin Zabriskie <qz@zabriskie.example>\r\n");
		return;
	case SENDER_COMMON:
		bench_buf_str(
		        m,
		        "From: \"Martin Okonkwo\" <m.okonkwo@example.net>\r\n");
		return;
	case SENDER_UTF8:
		bench_buf_str(m, "From: ");
		put_qword(m, utf8_names[p->name]);
		bench_buf_printf(m, " <intl%u@example.de>\r\n", p->name);
		return;
	case SENDER_PLAIN:
		break;
	}
	const char *f = first_names[p->name % 24],
	           *l = last_names[p->name / 24];

	bench_buf_printf(m, "From: \"%s %s\" <%c.%s@corp%u.example.com>\r\n", f,
	                 l, tolower((unsigned char)f[0]), l, p->name % 7);
}

static void put_rcpts(struct bench_buf *m, struct plan *p)
{
	bench_buf_str(m, "To: \"Bench User\" <bench@example.com>");
	for (unsigned i = 1; i < p->to_count; i++) {
		unsigned n = rng_below(&p->rng, 24 * 24);

		bench_buf_printf(m, ",\r\n\t%s %s <%s@team.example.com>",
		                 first_names[n % 24], last_names[n / 24],
		                 first_names[n % 24]);
	}
	bench_buf_str(m, "\r\n");
	if (p->cc)
		bench_buf_printf(
		        m, "Cc: %s <list%u@lists.example.org>\r\n",
		        bench_words[rng_below(&p->rng, BENCH_WORD_COUNT)],
		        rng_below(&p->rng, 50));
}

static void put_subject(struct bench_buf *m, struct plan *p)
{
	const char *a = bench_words[rng_below(&p->rng, BENCH_WORD_COUNT)];
	const char *b = bench_words[rng_below(&p->rng, BENCH_WORD_COUNT)];
	char text[256];

	if (p->subj_b64) {
		snprintf(text, sizeof(text),
		         "%s \xc3\x9c"
		         "bersicht: %s f\xc3\xbcr %s",
		         p->reply ? "AW:" : "Info", a, b);
		bench_buf_str(m, "Subject: =?UTF-8?B?");
		put_b64(m, (const unsigned char *)text, strlen(text));
		bench_buf_str(m, "?=\r\n");
		return;
	}
	bench_buf_printf(m, "Subject: %s%s %s, item %lu\r\n",
	                 p->reply ? "Re: " : "", a, b, p->idx);
}

static void put_date(struct bench_buf *m, struct plan *p)
{
	time_t t = (time_t)(FETCH_BASE_TIME + (time_t)p->idx * 300 +
	                    rng_below(&p->rng, 300));
	unsigned z = rng_below(&p->rng, BENCH_COUNT(zones));
	int sign = zones[z][0] == '-' ? -1 : 1;
	long off = sign *
	           (atol(zones[z] + 1) / 100 * 3600 + atol(zones[z] + 3) * 60);
	char date[64];
	struct tm tm;

	t += off;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S", &tm);
	bench_buf_printf(m, "Date: %s %s\r\n", date, zones[z]);
}

static void put_headers(struct bench_buf *m, struct plan *p)
{
	bench_buf_printf(m,
	                 "Return-Path: <bounce-%lu@example.net>\r\n"
	                 "Received: from mail.example.net (mail.example.net "
	                 "[192.0.2.%lu])\r\n\tby mx.example.com (Postfix) with "
	                 "ESMTPS id 4Q%08" PRIX64
	                 "\r\n\tfor <bench@example.com>\r\n",
	                 p->idx, p->idx % 250 + 1,
	                 (uint64_t)(bench_rng_next(&p->rng) & 0xffffffffU));
	put_date(m, p);
	put_from(m, p);
	put_rcpts(m, p);
	put_subject(m, p);
	bench_buf_printf(m,
	                 "Message-ID: <%lu.%08" PRIx64 FETCH_MSGID_HOST "\r\n",
	                 p->idx, bench_rng_next(&p->rng) & 0xffffffffU);
	if (p->reply && p->idx > 0)
		bench_buf_printf(m,
		                 "In-Reply-To: <ref.%lu@lists.example.org>\r\n"
		                 "References: <ref.%lu@lists.example.org>\r\n",
		                 p->idx - 1, p->idx - 1);
	bench_buf_str(m, "MIME-Version: 1.0\r\n");
}

/* ---- corpus: bodies ------------------------------------------------- */

/* The decoded text of p: lines of words, paragraphs, markers planted at
 * one random point. UTF-8 words only if p->qp. Returns the bits of the
 * markers it planted: none if the point fell in the last word. */
static unsigned gen_text(struct bench_buf *t, struct plan *p)
{
	size_t plant_at = bench_rng_next(&p->rng) % p->text_bytes, width;
	bool planted = false;

	width = p->qp ? 150 : 72;
	t->len = 0;
	while (t->len < p->text_bytes) {
		size_t start = t->len;

		while (t->len - start < width) {
			const char *w = bench_words[rng_below(
			        &p->rng, BENCH_WORD_COUNT)];

			if (p->qp && rng_below(&p->rng, 12) == 0)
				w = vocab_utf8[rng_below(
				        &p->rng, BENCH_COUNT(vocab_utf8))];
			if (!planted && t->len >= plant_at) {
				for (size_t i = 0; i < BENCH_COUNT(markers);
				     i++)
					if (p->marker_bits & (1u << i))
						bench_buf_printf(
						        t, "%s ",
						        markers[i].word);
				planted = true;
			}
			bench_buf_printf(t, "%s%s", w,
			                 rng_below(&p->rng, 14) == 0 ? ". "
			                                             : " ");
		}
		t->len--; /* the last space */
		bench_buf_str(t, rng_below(&p->rng, 6) == 0 ? "\n\n" : "\n");
	}
	return planted ? p->marker_bits : 0;
}

/* One decoded line (no line end) as quoted-printable, soft breaks at 76
 * columns (RFC 2045 6.7). */
static void put_qp_line(struct bench_buf *m, const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool lit = (ch >= 33 && ch <= 126 && ch != '=') ||
		           (ch == ' ' && i + 1 < n);
		size_t w = lit ? 1 : 3;

		if (col + w > 75) {
			bench_buf_str(m, "=\r\n");
			col = 0;
		}
		if (lit)
			bench_buf_put(m, s + i, 1);
		else
			bench_buf_printf(m, "=%02X", ch);
		col += w;
	}
	bench_buf_str(m, "\r\n");
}

/* Text t ("\n" lines) in CRLF lines, quoted-printable if qp; html wraps
 * each paragraph in <p>. */
static void put_text(struct bench_buf *m, const struct bench_buf *t, bool qp,
                     bool html)
{
	const char *s = t->p, *end = t->p + t->len;

	if (html)
		bench_buf_str(m, "<html><body>\r\n");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (html && n > 0)
			bench_buf_str(m, "<p>");
		if (qp)
			put_qp_line(m, s, n);
		else
			bench_buf_printf(m, "%.*s\r\n", (int)n, s);
		s += n + 1;
	}
	if (html)
		bench_buf_str(m, "</body></html>\r\n");
}

static void put_text_part(struct bench_buf *m, const struct bench_buf *t,
                          const struct plan *p, bool html)
{
	bench_buf_printf(m,
	                 "Content-Type: text/%s; charset=%s\r\n"
	                 "Content-Transfer-Encoding: %s\r\n\r\n",
	                 html ? "html" : "plain", p->qp ? "utf-8" : "us-ascii",
	                 p->qp ? "quoted-printable" : "7bit");
	put_text(m, t, p->qp, html);
}

static void put_attachment(struct bench_buf *m, struct plan *p, size_t bytes)
{
	unsigned char raw[57];

	bench_buf_printf(
	        m,
	        "Content-Type: application/pdf; name=\"report-%lu.pdf\"\r\n"
	        "Content-Disposition: attachment; "
	        "filename=\"report-%lu.pdf\"\r\n"
	        "Content-Transfer-Encoding: base64\r\n\r\n",
	        p->idx, p->idx);
	while (bytes > 0) {
		size_t n = bytes < sizeof(raw) ? bytes : sizeof(raw);

		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)bench_rng_next(&p->rng);
		put_b64(m, raw, n);
		bench_buf_str(m, "\r\n");
		bytes -= n;
	}
}

static void put_alternative(struct bench_buf *m, const struct bench_buf *t,
                            const struct plan *p, const char *b)
{
	bench_buf_printf(
	        m,
	        "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
	        "\r\n--%s\r\n",
	        b, b);
	put_text_part(m, t, p, false);
	bench_buf_printf(m, "\r\n--%s\r\n", b);
	put_text_part(m, t, p, true);
	bench_buf_printf(m, "\r\n--%s--\r\n", b);
}

/* Corpus message idx into m (reset first), CRLF line ends. Returns the
 * bits of the markers its text has. */
static unsigned corpus_build(struct bench_buf *m, struct bench_buf *t,
                             unsigned long idx)
{
	struct plan p;
	char b1[64], b2[64];
	unsigned planted;

	plan_make(&p, idx);
	m->len = 0;
	put_headers(m, &p);
	planted = gen_text(t, &p);
	snprintf(b1, sizeof(b1), "=_mix_%lu", idx);
	snprintf(b2, sizeof(b2), "=_alt_%lu", idx);
	if (p.shape == SHAPE_PLAIN) {
		put_text_part(m, t, &p, false);
		return planted;
	}
	if (p.shape == SHAPE_ALT) {
		put_alternative(m, t, &p, b2);
		return planted;
	}
	bench_buf_printf(
	        m,
	        "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	        "This is a multi-part message in MIME format.\r\n"
	        "\r\n--%s\r\n",
	        b1, b1);
	if (p.shape == SHAPE_NESTED)
		put_alternative(m, t, &p, b2);
	else
		put_text_part(m, t, &p, false);
	bench_buf_printf(m, "\r\n--%s\r\n", b1);
	put_attachment(m, &p, p.attach_bytes);
	bench_buf_printf(m, "\r\n--%s--\r\n", b1);
	return planted;
}

/* Message idx of exactly `size` bytes: a short text part and a base64
 * attachment, padded in the epilogue. */
static void sized_build(struct bench_buf *m, unsigned long idx, size_t size)
{
	struct plan p;
	char b[64];
	size_t tail;

	plan_make(&p, idx);
	p.qp = false;
	m->len = 0;
	put_headers(m, &p);
	snprintf(b, sizeof(b), "=_sized_%lu", idx);
	bench_buf_printf(
	        m,
	        "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	        "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	        "The file you asked for, %lu bytes in all.\r\n\r\n--%s\r\n"
	        "Content-Type: application/octet-stream\r\n"
	        "Content-Transfer-Encoding: base64\r\n\r\n",
	        b, b, (unsigned long)size, b);
	tail = strlen(b) + 8 + 2; /* "\r\n--B--\r\n" and a line end */
	while (m->len + 78 + tail <= size) {
		unsigned char raw[57];

		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)bench_rng_next(&p.rng);
		put_b64(m, raw, sizeof(raw));
		bench_buf_str(m, "\r\n");
	}
	bench_buf_printf(m, "\r\n--%s--\r\n", b);
	if (m->len + 2 > size)
		bench_fail("--size %zu is too small", size);
	while (m->len + 2 < size)
		bench_buf_put(m, ".", 1);
	bench_buf_str(m, "\r\n");
}

/* Returns the bits of the markers the message has. */
static unsigned message_build(struct bench_buf *m, struct bench_buf *t,
                              unsigned long idx)
{
	if (opt.size > 0) {
		sized_build(m, idx, opt.size);
		return 0;
	}
	return corpus_build(m, t, idx);
}

/* ---- connection ----------------------------------------------------- */

static void conn_login(struct bench_conn *c, int id)
{
	bench_conn_login(c, id, &opt.target, opt.user, opt.pass);
}

static long select_mailbox(struct bench_conn *c, uint64_t *ns_r)
{
	return bench_select(c, opt.mailbox, opt.expect, ns_r);
}

/* ---- fill ------------------------------------------------------------ */

struct fill_conn {
	pthread_t thread;
	int id;
	unsigned long from, to; /* message indices [from, to) */
	uint64_t bytes;
};

/* Messages in --mailbox, creating it first if it does not exist. */
static long mailbox_messages(void)
{
	return bench_mailbox_messages(&opt.target, opt.user, opt.pass,
	                              opt.mailbox, true);
}

/* Flags of message idx: most seen, some flagged, some new. */
static const char *fill_flags(unsigned long idx)
{
	if (opt.size > 0)
		return "(\\Seen)";
	switch (idx % 10) {
	case 0:
		return "()";
	case 1:
		return "(\\Seen \\Flagged)";
	default:
		return "(\\Seen)";
	}
}

/* Wait for tagged answers until at most `keep` commands are in flight. */
static void fill_drain(struct bench_conn *c, unsigned long *inflight,
                       unsigned long keep)
{
	while (*inflight > keep) {
		bench_conn_read(c);
		if (c->line[0] == '*')
			continue;
		const char *sp = strchr(c->line, ' ');

		if (c->line[0] != 'a' || sp == NULL ||
		    strncasecmp(sp, " OK", 3) != 0)
			bench_fail("conn %d: APPEND: %.300s", c->id, c->line);
		(*inflight)--;
	}
}

static void *fill_run(void *arg)
{
	struct fill_conn *fc = arg;
	struct bench_conn c = {0};
	struct bench_buf m = {0}, t = {0}, out = {0};
	char mbox[300];
	unsigned long inflight = 0, idx = fc->from;

	conn_login(&c, fc->id);
	if (!bench_conn_has_cap(&c, "LITERAL+"))
		bench_fail("the server has no LITERAL+");
	if (opt.batch > 1 && !bench_conn_has_cap(&c, "MULTIAPPEND"))
		bench_fail("the server has no MULTIAPPEND (give --batch 1)");
	bench_imap_quote(mbox, sizeof(mbox), opt.mailbox);
	while (idx < fc->to) {
		out.len = 0;
		bench_buf_printf(&out, "%s APPEND %s", bench_conn_next_tag(&c),
		                 mbox);
		for (unsigned long b = 0; b < opt.batch && idx < fc->to;
		     b++, idx++) {
			message_build(&m, &t, idx);
			bench_buf_printf(&out, " %s {%zu+}\r\n",
			                 fill_flags(idx), m.len);
			bench_buf_put(&out, m.p, m.len);
			fc->bytes += m.len;
		}
		bench_buf_str(&out, "\r\n");
		bench_conn_send(&c, out.p, out.len);
		inflight++;
		fill_drain(&c, &inflight, opt.window - 1);
	}
	fill_drain(&c, &inflight, 0);
	bench_conn_logout(&c);
	free(m.p);
	free(t.p);
	free(out.p);
	return NULL;
}

static void run_fill(void)
{
	struct fill_conn *fc = bench_xcalloc(opt.conns, sizeof(*fc));
	long before = mailbox_messages(), after;
	uint64_t t0 = bench_now_ns(), bytes = 0;
	double secs;

	for (unsigned long i = 0; i < opt.conns; i++) {
		fc[i].id = (int)i;
		fc[i].from = opt.first + opt.count * i / opt.conns;
		fc[i].to = opt.first + opt.count * (i + 1) / opt.conns;
		if (pthread_create(&fc[i].thread, NULL, fill_run, &fc[i]))
			bench_fail("pthread_create failed");
	}
	for (unsigned long i = 0; i < opt.conns; i++) {
		pthread_join(fc[i].thread, NULL);
		bytes += fc[i].bytes;
	}
	secs = (double)(bench_now_ns() - t0) / 1e9;
	after = mailbox_messages();
	printf("fill: %s, %lu messages (%.1f MB) over %lu connections, "
	       "window %lu, batch %lu: %.2f s, %.0f msgs/s\n",
	       opt.mailbox, opt.count, (double)bytes / 1e6, opt.conns,
	       opt.window, opt.batch, secs, (double)opt.count / secs);
	printf("RESULT mode=fill mailbox=%s messages=%lu bytes=%" PRIu64
	       " conns=%lu window=%lu batch=%lu seconds=%.3f msgs_per_s=%.0f "
	       "messages_before=%ld messages_after=%ld\n",
	       opt.mailbox, opt.count, bytes, opt.conns, opt.window, opt.batch,
	       secs, (double)opt.count / secs, before, after);
	if (after - before != (long)opt.count)
		bench_fail("mailbox grew by %ld, expected %lu", after - before,
		           opt.count);
	free(fc);
}

/* ---- envelope -------------------------------------------------------- */

struct env_state {
	unsigned long fetches;
	unsigned long incomplete;
	FILE *map;
	FILE *dump;
};

/* The corpus index in a Message-ID "<idx.hex@mail.example.org>" within s,
 * or -1. */
static long msgid_index(const char *s)
{
	const char *at = strstr(s, FETCH_MSGID_HOST);
	const char *lt;

	if (at == NULL)
		return -1;
	for (lt = at; lt > s && lt[-1] != '<'; lt--)
		;
	if (lt == s || !isdigit((unsigned char)*lt))
		return -1;
	return strtol(lt, NULL, 10);
}

static void dump_line(FILE *f, long idx, const char *s)
{
	fprintf(f, "%ld\t", idx);
	for (; *s != '\0'; s++) {
		if (*s == '\r')
			fputs("\\r", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('\n', f);
}

static void on_envelope(struct bench_conn *c, const char *line, size_t len,
                        void *ctx)
{
	struct env_state *s = ctx;
	const char *rest;
	unsigned long seq = bench_fetch_seq(line, &rest);

	(void)c;
	(void)len;
	if (seq == 0)
		return;
	s->fetches++;
	if (strcasestr(rest, "ENVELOPE (") == NULL ||
	    strcasestr(rest, "BODYSTRUCTURE (") == NULL) {
		s->incomplete++;
		return;
	}
	if (s->map == NULL && s->dump == NULL)
		return;
	long idx = msgid_index(rest);

	if (s->map != NULL)
		fprintf(s->map, "%lu %ld\n", seq, idx);
	if (s->dump != NULL)
		dump_line(s->dump, idx, rest);
}

/* One FETCH 1:* (ENVELOPE BODYSTRUCTURE); checks the count. */
static uint64_t envelope_once(struct bench_conn *c, long exists,
                              struct env_state *s)
{
	uint64_t t0 = bench_now_ns(), ns;

	bench_conn_cmd(c, on_envelope, s, "FETCH 1:* (ENVELOPE BODYSTRUCTURE)");
	ns = bench_now_ns() - t0;
	if (s->fetches != (unsigned long)exists || s->incomplete > 0)
		bench_fail("FETCH 1:* (ENVELOPE BODYSTRUCTURE): %lu FETCH "
		           "responses "
		           "(%lu without both items), mailbox has %ld",
		           s->fetches, s->incomplete, exists);
	return ns;
}

static FILE *open_out(const char *path)
{
	FILE *f;

	if (path == NULL)
		return NULL;
	f = fopen(path, "w");
	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
	return f;
}

static void run_envelope(void)
{
	struct bench_conn c = {0};
	struct bench_samples warm = {0};
	uint64_t sel_ns, first = 0, b0 = 0, bytes = 0;
	long exists;

	conn_login(&c, 0);
	exists = select_mailbox(&c, &sel_ns);
	for (unsigned long i = 0; i < opt.count; i++) {
		struct env_state s = {0};
		uint64_t ns;

		b0 = c.bytes_in;
		ns = envelope_once(&c, exists, &s);
		bytes = c.bytes_in - b0;
		if (i == 0)
			first = ns;
		else
			bench_samples_add(&warm, ns);
	}
	if (opt.map != NULL || opt.dump != NULL) {
		struct env_state s = {.map = open_out(opt.map),
		                      .dump = open_out(opt.dump)};

		envelope_once(&c, exists, &s);
		if ((s.map && fclose(s.map)) || (s.dump && fclose(s.dump)))
			bench_fail("writing --map/--dump failed");
	}
	bench_conn_logout(&c);
	double med = bench_median_s(&warm);

	printf("envelope: %s, %ld messages, SELECT %.1f ms, response %.1f MB\n"
	       "  first FETCH %.3f s; %zu more: median %.3f s (min %.3f, max "
	       "%.3f)\n",
	       opt.mailbox, exists, (double)sel_ns / 1e6, (double)bytes / 1e6,
	       (double)first / 1e9, warm.len, med, bench_min_s(&warm),
	       bench_max_s(&warm));
	printf("RESULT mode=envelope messages=%ld select_ms=%.2f "
	       "response_bytes=%" PRIu64 " first_s=%.4f warm_runs=%zu "
	       "warm_p50_s=%.4f warm_min_s=%.4f warm_max_s=%.4f\n",
	       exists, (double)sel_ns / 1e6, bytes, (double)first / 1e9,
	       warm.len, med, bench_min_s(&warm), bench_max_s(&warm));
	free(warm.v);
}

/* ---- body ------------------------------------------------------------ */

/* The process whose memory is watched: --rss-pid, or its youngest child
 * named --rss-child. */
static long rss_target(void)
{
	if (opt.rss_child == NULL)
		return opt.rss_pid;
	return bench_youngest_child(opt.rss_pid, opt.rss_child);
}

struct body_state {
	unsigned long fetches;
	unsigned long bad_size;
	uint64_t bytes; /* literal bytes */
};

static void on_body(struct bench_conn *c, const char *line, size_t len,
                    void *ctx)
{
	struct body_state *s = ctx;
	const char *rest;

	(void)len;
	if (bench_fetch_seq(line, &rest) == 0)
		return;
	s->fetches++;
	if (c->skipped_last < 0 || strcasestr(rest, "BODY[] {") == NULL) {
		s->bad_size++;
		return;
	}
	s->bytes += (uint64_t)c->skipped_last;
	if (opt.expect_size >= 0 && c->skipped_last != opt.expect_size)
		s->bad_size++;
}

/* One run over the mailbox: FETCH n BODY[] per message, or one range. */
static uint64_t body_once(struct bench_conn *c, long exists,
                          struct body_state *s)
{
	uint64_t t0 = bench_now_ns();

	if (opt.range)
		bench_conn_cmd(c, on_body, s, "FETCH 1:* BODY[]");
	else
		for (long n = 1; n <= exists; n++)
			bench_conn_cmd(c, on_body, s, "FETCH %ld BODY[]", n);
	uint64_t ns = bench_now_ns() - t0;

	if (s->fetches != (unsigned long)exists || s->bad_size > 0)
		bench_fail(
		        "FETCH BODY[]: %lu responses, %lu of the wrong size or "
		        "form, mailbox has %ld",
		        s->fetches, s->bad_size, exists);
	return ns;
}

struct rss_figures {
	long before_kb; /* largest VmRSS at the start of a run */
	long peak_kb;   /* largest VmHWM after a run */
};

static void body_runs(struct bench_conn *c, long exists,
                      struct bench_samples *lat, uint64_t *bytes_r,
                      struct rss_figures *rss)
{
	long pid = opt.rss_pid >= 0 ? rss_target() : -1;

	for (unsigned long i = 0; i < opt.count; i++) {
		struct body_state s = {0};

		if (pid >= 0) {
			bench_rss_reset(pid);
			long kb = bench_proc_kb(pid, "VmRSS");

			if (kb > rss->before_kb)
				rss->before_kb = kb;
		}
		bench_samples_add(lat, body_once(c, exists, &s));
		*bytes_r = s.bytes;
		if (pid >= 0) {
			long kb = bench_proc_kb(pid, "VmHWM");

			if (kb > rss->peak_kb)
				rss->peak_kb = kb;
		}
	}
}

static void run_body(void)
{
	struct bench_conn c = {0};
	struct bench_samples lat = {0};
	struct rss_figures rss = {-1, -1};
	uint64_t sel_ns, bytes = 0;
	long exists;

	conn_login(&c, 0);
	c.skip_over = 1; /* count every literal; BODY[] is the only one */
	exists = select_mailbox(&c, &sel_ns);
	body_runs(&c, exists, &lat, &bytes, &rss);
	bench_conn_logout(&c);
	double med = bench_median_s(&lat), mbs = (double)bytes / 1e6 / med;

	printf("body: %s, %ld messages, %.1f MB per run, %s\n"
	       "  %zu runs: median %.3f s = %.1f MB/s (min %.3f s, max %.3f "
	       "s)\n",
	       opt.mailbox, exists, (double)bytes / 1e6,
	       opt.range ? "one FETCH 1:* BODY[]" : "one FETCH n BODY[] each",
	       lat.len, med, mbs, bench_min_s(&lat), bench_max_s(&lat));
	if (rss.peak_kb >= 0)
		printf("  server RSS: %ld kB before, peak %ld kB\n",
		       rss.before_kb, rss.peak_kb);
	printf("RESULT mode=body messages=%ld bytes_per_run=%" PRIu64
	       " range=%d runs=%zu p50_s=%.4f min_s=%.4f max_s=%.4f "
	       "mb_per_s=%.1f rss_before_kb=%ld rss_peak_kb=%ld\n",
	       exists, bytes, opt.range, lat.len, med, bench_min_s(&lat),
	       bench_max_s(&lat), mbs, rss.before_kb, rss.peak_kb);
	free(lat.v);
}

/* ---- search ---------------------------------------------------------- */

struct numbers {
	unsigned long *v;
	size_t len, cap;
};

static void on_search(struct bench_conn *c, const char *line, size_t len,
                      void *ctx)
{
	struct numbers *r = ctx;
	const char *p = line + 8;

	(void)c;
	(void)len;
	if (strncasecmp(line, "* SEARCH", 8) != 0)
		return;
	while (*p == ' ') {
		char *end;
		unsigned long v = strtoul(p + 1, &end, 10);

		if (end == p + 1)
			break;
		if (r->len == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 1024;
			r->v = bench_xrealloc(r->v, r->cap * sizeof(*r->v));
		}
		r->v[r->len++] = v;
		p = end;
	}
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/* SEARCH [CHARSET c] KEY VALUE, the value as a literal if it has 8-bit
 * bytes (LITERAL+ when offered). */
static uint64_t search_once(struct bench_conn *c, struct numbers *r)
{
	char charset[80] = "", value[600];
	bool bit8 = false;
	uint64_t t0;

	for (const char *p = opt.value; *p != '\0'; p++)
		bit8 |= (unsigned char)*p >= 0x80;
	if (opt.charset != NULL)
		snprintf(charset, sizeof(charset), "CHARSET %s ", opt.charset);
	if (bit8 && !bench_conn_has_cap(c, "LITERAL+"))
		bench_fail("an 8-bit search value needs LITERAL+");
	if (bit8)
		snprintf(value, sizeof(value), "{%zu+}\r\n%s",
		         strlen(opt.value), opt.value);
	else
		bench_imap_quote(value, sizeof(value), opt.value);
	r->len = 0;
	t0 = bench_now_ns();
	bench_conn_cmd(c, on_search, r, "SEARCH %s%s %s", charset, opt.key,
	               value);
	uint64_t ns = bench_now_ns() - t0;

	qsort(r->v, r->len, sizeof(*r->v), cmp_ulong);
	return ns;
}

static void write_numbers(const struct numbers *r)
{
	FILE *f = open_out(opt.out);

	if (f == NULL)
		return;
	for (size_t i = 0; i < r->len; i++)
		fprintf(f, "%lu\n", r->v[i]);
	if (fclose(f) != 0)
		bench_fail("%s: write failed", opt.out);
}

static void run_search(void)
{
	struct bench_conn c = {0};
	struct bench_samples warm = {0};
	struct numbers first = {0}, r = {0};
	uint64_t sel_ns, first_ns = 0;
	long exists;

	if (opt.key == NULL || opt.value == NULL)
		bench_fail("search needs --key and --value");
	conn_login(&c, 0);
	exists = select_mailbox(&c, &sel_ns);
	first_ns = search_once(&c, &first);
	for (unsigned long i = 1; i < opt.count; i++) {
		bench_samples_add(&warm, search_once(&c, &r));
		if (r.len != first.len ||
		    memcmp(r.v, first.v, r.len * sizeof(*r.v)) != 0)
			bench_fail("SEARCH run %lu: %zu matches, the first run "
			           "%zu",
			           i + 1, r.len, first.len);
	}
	bench_conn_logout(&c);
	write_numbers(&first);
	double med = bench_median_s(&warm);

	printf("search: %s %s %s, %ld messages: %zu match\n"
	       "  first %.4f s; %zu more: median %.4f s (min %.4f, max %.4f)\n",
	       opt.charset ? opt.charset : "-", opt.key, opt.value, exists,
	       first.len, (double)first_ns / 1e9, warm.len, med,
	       bench_min_s(&warm), bench_max_s(&warm));
	printf("RESULT mode=search messages=%ld matches=%zu first_s=%.4f "
	       "warm_runs=%zu warm_p50_s=%.4f warm_min_s=%.4f "
	       "warm_max_s=%.4f\n",
	       exists, first.len, (double)first_ns / 1e9, warm.len, med,
	       bench_min_s(&warm), bench_max_s(&warm));
	free(first.v);
	free(r.v);
	free(warm.v);
}

/* ---- info ------------------------------------------------------------ */

static void run_info(void)
{
	unsigned long mark[BENCH_COUNT(markers)] = {0}, shapes[4] = {0};
	unsigned long rare = 0, common = 0, muller = 0;
	struct bench_buf m = {0}, t = {0};
	uint64_t bytes = 0;

	for (unsigned long i = 0; i < opt.count; i++) {
		struct plan p;
		unsigned bits = message_build(&m, &t, opt.first + i);

		plan_make(&p, opt.first + i);
		for (size_t k = 0; k < BENCH_COUNT(markers); k++)
			mark[k] += (bits >> k) & 1;
		shapes[p.shape]++;
		rare += p.sender == SENDER_RARE;
		common += p.sender == SENDER_COMMON;
		muller += p.sender == SENDER_UTF8 && p.name < 2;
		bytes += m.len;
	}
	printf("RESULT mode=info messages=%lu bytes=%" PRIu64
	       " plain=%lu alternative=%lu mixed=%lu nested=%lu "
	       "text_%s=%lu text_%s=%lu from_zabriskie=%lu "
	       "from_okonkwo=%lu from_mueller=%lu\n",
	       opt.count, bytes, shapes[0], shapes[1], shapes[2], shapes[3],
	       markers[MARKER_RARE].word, mark[MARKER_RARE],
	       markers[MARKER_COMMON].word, mark[MARKER_COMMON], rare, common,
	       muller);
	free(m.p);
	free(t.p);
}

static void run_show(void)
{
	struct bench_buf m = {0}, t = {0};

	message_build(&m, &t, opt.first);
	fwrite(m.p, 1, m.len, stdout);
	free(m.p);
	free(t.p);
}

/* ---- options --------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: imap-fetch --mode MODE [options]\n"
	        "  -m, --mode MODE    fill | envelope | body | search | info | "
	        "show\n"
	        "  --host HOST --port PORT       (127.0.0.1, 143)\n"
	        "  --user NAME --pass PASSWORD\n"
	        "  --mailbox NAME     (INBOX; fill creates it)\n"
	        "  -n, --count N      fill, info: messages; others: runs (1)\n"
	        "  -c, --conns N      fill: connections (1)\n"
	        "  --first N          fill, info: first message index (0)\n"
	        "  --window N         fill: commands in flight (16)\n"
	        "  --batch N          fill: messages per APPEND (1)\n"
	        "  --size BYTES       fill, info: messages of exactly BYTES\n"
	        "  --seed N           corpus seed (1)\n"
	        "  --expect N         mailbox must hold N messages\n"
	        "  --expect-size N    body: every BODY[] must be N bytes\n"
	        "  --range            body: one FETCH 1:* BODY[]\n"
	        "  --rss-pid PID [--rss-child NAME]  body: server memory\n"
	        "  --key KEY --value V [--charset C]  search\n"
	        "  --out FILE         search: matching numbers\n"
	        "  --map FILE --dump FILE  envelope: seq->index, answers\n"
	        "  --timeout MS       per-read timeout (600000)\n");
}

static enum fetch_mode parse_mode(const char *s)
{
	static const char *const names[] = {"fill",   "envelope", "body",
	                                    "search", "info",     "show"};

	for (int i = 0; i < (int)BENCH_COUNT(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum fetch_mode)i;
	bench_usage_fail("unknown mode %s", s);
}

enum {
	OPT_MAILBOX = BENCH_OPT_OWN,
	OPT_FIRST,
	OPT_WINDOW,
	OPT_BATCH,
	OPT_SIZE,
	OPT_SEED,
	OPT_EXPECT,
	OPT_EXPECT_SIZE,
	OPT_RANGE,
	OPT_RSS_PID,
	OPT_RSS_CHILD,
	OPT_KEY,
	OPT_VALUE,
	OPT_CHARSET,
	OPT_OUT,
	OPT_MAP,
	OPT_DUMP,
};

static const struct option long_opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"conns", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        BENCH_TARGET_OPTIONS,
        {"mailbox", required_argument, NULL, OPT_MAILBOX},
        {"first", required_argument, NULL, OPT_FIRST},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"size", required_argument, NULL, OPT_SIZE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"expect-size", required_argument, NULL, OPT_EXPECT_SIZE},
        {"range", no_argument, NULL, OPT_RANGE},
        {"rss-pid", required_argument, NULL, OPT_RSS_PID},
        {"rss-child", required_argument, NULL, OPT_RSS_CHILD},
        {"key", required_argument, NULL, OPT_KEY},
        {"value", required_argument, NULL, OPT_VALUE},
        {"charset", required_argument, NULL, OPT_CHARSET},
        {"out", required_argument, NULL, OPT_OUT},
        {"map", required_argument, NULL, OPT_MAP},
        {"dump", required_argument, NULL, OPT_DUMP},
        {NULL, 0, NULL, 0},
};

/* Options with a number. Returns false if ch is none of them. */
static bool parse_num_opt(int ch, const char *arg)
{
	switch (ch) {
	case 'c':
		opt.conns = bench_parse_num(arg, "conns", 1, FETCH_MAX_CONNS);
		return true;
	case 'n':
		opt.count = bench_parse_num(arg, "count", 1, 100000000);
		return true;
	case OPT_FIRST:
		opt.first = bench_parse_num(arg, "first", 0, 1UL << 40);
		return true;
	case OPT_WINDOW:
		opt.window = bench_parse_num(arg, "window", 1, 10000);
		return true;
	case OPT_BATCH:
		opt.batch = bench_parse_num(arg, "batch", 1, 10000);
		return true;
	case OPT_SIZE:
		opt.size = bench_parse_num(arg, "size", 1, 1UL << 31);
		return true;
	case OPT_SEED:
		opt.seed = bench_parse_num(arg, "seed", 0, UINT32_MAX);
		return true;
	case OPT_EXPECT:
		opt.expect = (long)bench_parse_num(arg, "expect", 0, LONG_MAX);
		return true;
	case OPT_EXPECT_SIZE:
		opt.expect_size =
		        (long)bench_parse_num(arg, "size", 0, LONG_MAX);
		return true;
	case OPT_RSS_PID:
		opt.rss_pid = (long)bench_parse_num(arg, "pid", 1, INT_MAX);
		return true;
	default:
		return false;
	}
}

static void parse_opt(int ch, const char *arg)
{
	const char **str[] = {
	        [OPT_MAILBOX - OPT_MAILBOX] = &opt.mailbox,
	        [OPT_RSS_CHILD - OPT_MAILBOX] = &opt.rss_child,
	        [OPT_KEY - OPT_MAILBOX] = &opt.key,
	        [OPT_VALUE - OPT_MAILBOX] = &opt.value,
	        [OPT_CHARSET - OPT_MAILBOX] = &opt.charset,
	        [OPT_OUT - OPT_MAILBOX] = &opt.out,
	        [OPT_MAP - OPT_MAILBOX] = &opt.map,
	        [OPT_DUMP - OPT_MAILBOX] = &opt.dump,
	};

	if (parse_num_opt(ch, arg) ||
	    bench_parse_target_opt(ch, arg, &opt.target, &opt.user, &opt.pass))
		return;
	if (ch >= OPT_MAILBOX && ch - OPT_MAILBOX < (int)BENCH_COUNT(str) &&
	    str[ch - OPT_MAILBOX] != NULL) {
		*str[ch - OPT_MAILBOX] = arg;
		return;
	}
	if (ch == 'm') {
		opt.mode = parse_mode(arg);
	} else if (ch == OPT_RANGE) {
		opt.range = true;
	} else if (ch == 'h') {
		usage(stdout);
		exit(0);
	} else {
		usage(stderr);
		exit(FETCH_EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	int ch;

	bench_init("imap-fetch", FETCH_EXIT_PROTO, FETCH_EXIT_USAGE);
	while ((ch = getopt_long(argc, argv, "m:c:n:h", long_opts, NULL)) != -1)
		parse_opt(ch, optarg);
	if (optind != argc) {
		usage(stderr);
		return FETCH_EXIT_USAGE;
	}
	if (opt.mode != MODE_INFO && opt.mode != MODE_SHOW &&
	    (opt.user == NULL || opt.pass == NULL))
		bench_fail("give --user and --pass");
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch (opt.mode) {
	case MODE_FILL:
		run_fill();
		break;
	case MODE_ENVELOPE:
		run_envelope();
		break;
	case MODE_BODY:
		run_body();
		break;
	case MODE_SEARCH:
		run_search();
		break;
	case MODE_INFO:
		run_info();
		break;
	case MODE_SHOW:
		run_show();
		break;
	}
	return 0;
}
