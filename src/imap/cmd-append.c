/* APPEND (RFC 3501 6.3.11) with MULTIAPPEND (RFC 3502: several messages,
 * all stored or none), UIDPLUS's APPENDUID (RFC 4315) and APPENDLIMIT
 * (RFC 7889). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "imap/imap-msginfo.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"

/* A message is in memory (data), or, when large, in a spool file the
 * parser wrote it to (fd, mapped only while the job runs). */
struct append_ctx {
	char *name;
	struct store_append_msg *msgs;
	char **keywords;
	int *fds;       /* -1: in memory */
	bool *literal8; /* sent as literal8 */
	size_t count;
};

static void append_ctx_free(void *p)
{
	struct append_ctx *c = p;
	for (size_t i = 0; i < c->count; i++) {
		free(c->keywords[i]);
		if (c->fds[i] >= 0)
			close(c->fds[i]);
		else
			free((void *)c->msgs[i].data);
	}
	free(c->fds);
	free(c->literal8);
	free(c->keywords);
	free(c->msgs);
	free(c->name);
	free(c);
}

/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). */
int imap_parse_datetime(const char *s, int64_t *time_r, int *tz_min_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4], sign, padded[32];
	int day, year, hh, mm, ss, zone, used = 0;
	/* a one-digit day without its space, as some clients send it */
	if (strlen(s) == 25 && s[1] == '-') {
		snprintf(padded, sizeof(padded), " %s", s);
		s = padded;
	}
	if (strlen(s) != 26 || s[2] != '-' || s[6] != '-')
		return -1;
	if (sscanf(s, "%2d-%3c-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &hh,
	           &mm, &ss, &sign, &zone, &used) != 8 ||
	    used != 26)
		return -1;
	mon[3] = '\0';
	const char *m = strcasestr(months, mon);
	if (m == NULL || (m - months) % 3 != 0 || day < 1 || day > 31 ||
	    year < 1900 || hh > 23 || mm > 59 || ss > 60 ||
	    (sign != '+' && sign != '-') || zone % 100 > 59 || zone > 2359 ||
	    !isdigit((unsigned char)s[22]))
		return -1;
	struct tm tm = {.tm_mday = day,
	                .tm_mon = (int)((m - months) / 3),
	                .tm_year = year - 1900,
	                .tm_hour = hh,
	                .tm_min = mm,
	                .tm_sec = ss};
	int tz = (zone / 100) * 60 + zone % 100;
	if (sign == '-')
		tz = -tz;
	*time_r = (int64_t)timegm(&tm) - (int64_t)tz * 60;
	*tz_min_r = tz;
	return 0;
}

/* The literal of a message: copied out of the parser's memory (which
 * goes when the command is handed on), or its spool file kept; -2 if
 * the spool file could not be written. */
static int take_literal(const struct imap_arg *a, struct store_append_msg *m,
                        int *fd_r)
{
	m->size = a->len;
	if (a->spill_failed)
		return -2;
	if (a->fd < 0) {
		m->data = xmemdup(a->str, a->len + 1);
		return 0;
	}
	*fd_r = dup(a->fd);
	return *fd_r < 0 ? -2 : 0;
}

/* One "[flags] [date-time] literal" group at args[*i]; -1 bad syntax,
 * -2 the message could not be received. */
static int parse_message(const struct imap_arg *args, size_t n, size_t *i,
                         struct store_append_msg *m, char **kw_r, int *fd_r,
                         bool *lit8_r)
{
	memset(m, 0, sizeof(*m));
	*kw_r = NULL;
	*fd_r = -1;
	if (*i < n && args[*i].type == IMAP_ARG_LIST) {
		if (imap_parse_flags(&args[*i], 1, &m->flags, kw_r) < 0)
			return -1;
		(*i)++;
	}
	if (*i < n && args[*i].type == IMAP_ARG_QUOTED) {
		if (imap_parse_datetime(args[*i].str, &m->internaldate,
		                        &m->tz_offset_min) < 0)
			return -1;
		(*i)++;
	}
	/* literal8 (RFC 3516 4.4) is taken too; see nul_refusal() */
	if (*i >= n || args[*i].type != IMAP_ARG_LITERAL)
		return -1;
	m->keywords = *kw_r;
	*lit8_r = args[*i].is_literal8;
	return take_literal(&args[(*i)++], m, fd_r);
}

static int parse_messages(const struct imap_command_line *cmd,
                          struct append_ctx *c)
{
	size_t i = 1, n = cmd->arg_count;
	while (i < n) {
		c->msgs = xrealloc(c->msgs, (c->count + 1) * sizeof(*c->msgs));
		c->keywords =
		        xrealloc(c->keywords, (c->count + 1) * sizeof(char *));
		c->fds = xrealloc(c->fds, (c->count + 1) * sizeof(int));
		c->literal8 =
		        xrealloc(c->literal8, (c->count + 1) * sizeof(bool));
		c->literal8[c->count] = false;
		int ret =
		        parse_message(cmd->args, n, &i, &c->msgs[c->count],
		                      &c->keywords[c->count], &c->fds[c->count],
		                      &c->literal8[c->count]);
		/* counted either way, so append_ctx_free() releases it */
		c->count++;
		if (ret < 0)
			return ret;
	}
	return c->count > 0 ? 0 : -1;
}

/* A message with a NUL byte cannot be sent back in a plain literal, so
 * it is refused: sent as literal8 (binary content, RFC 3516 4.4) with
 * UNKNOWN-CTE, as that RFC says for a store that does not keep binary
 * content. */
static const char *nul_refusal(bool literal8)
{
	return literal8 ? "NO [UNKNOWN-CTE] Binary content with NUL bytes "
	                  "cannot be stored"
	                : "NO Message contains NUL bytes";
}

/* Map the spooled messages; false after a NO. */
static bool map_spooled(struct imap_job *job)
{
	struct append_ctx *c = job->ctx;
	for (size_t i = 0; i < c->count; i++) {
		if (c->fds[i] < 0)
			continue;
		void *p = mmap(NULL, c->msgs[i].size, PROT_READ, MAP_PRIVATE,
		               c->fds[i], 0);
		if (p == MAP_FAILED) {
			imap_job_reply(job, "NO",
			               "[SERVERBUG] Cannot read the "
			               "received message");
			return false;
		}
		c->msgs[i].data = p;
		if (memchr(p, '\0', c->msgs[i].size) != NULL) {
			imap_job_reply(job, "NO", "%s",
			               nul_refusal(c->literal8[i]) + 3);
			return false;
		}
	}
	return true;
}

static void unmap_spooled(struct append_ctx *c)
{
	for (size_t i = 0; i < c->count; i++) {
		if (c->fds[i] >= 0 && c->msgs[i].data != NULL)
			munmap((void *)c->msgs[i].data, c->msgs[i].size);
		if (c->fds[i] >= 0)
			c->msgs[i].data = NULL;
	}
}

static void append_work(struct imap_job *job)
{
	struct append_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	uint32_t uidvalidity = 0;
	if (st == NULL)
		return;
	if (!map_spooled(job)) {
		unmap_spooled(c);
		return;
	}
	/* parsed once, here: what FETCH, SEARCH and SORT need goes into the
	 * index with the message */
	struct imap_derived *d = xcalloc(c->count, sizeof(*d));
	for (size_t i = 0; i < c->count; i++) {
		imap_derive(c->msgs[i].data, c->msgs[i].size, &d[i]);
		c->msgs[i].cache = &d[i].entry;
	}
	uint32_t *uids = xmalloc(c->count * sizeof(*uids));
	enum store_status ret = store_append(st, c->name, c->msgs, c->count,
	                                     &uidvalidity, uids);
	unmap_spooled(c);
	for (size_t i = 0; i < c->count; i++) {
		c->msgs[i].cache = NULL;
		imap_derived_free(&d[i]);
	}
	free(d);
	if (ret != STORE_OK) {
		imap_job_fail(job, ret, true);
	} else {
		struct buf set;
		buf_init(&set, (size_t)1 << 24);
		imap_write_uid_set(&set, uids, c->count);
		imap_job_reply(job, "OK", "[APPENDUID %u %s] APPEND completed",
		               uidvalidity, buf_cstr(&set));
		buf_free(&set);
	}
	free(uids);
}

/* A message the store must not take: NULL if it is fine. */
static const char *check_message(const struct imap_session *s,
                                 const struct store_append_msg *m,
                                 bool literal8)
{
	if (m->size == 0)
		return "NO Cannot append an empty message";
	if (m->size > s->set->max_message_size)
		return "NO [TOOBIG] Message is larger than APPENDLIMIT";
	/* a spooled message is checked on the pool, where it is mapped */
	if (m->data != NULL && memchr(m->data, '\0', m->size) != NULL)
		return nul_refusal(literal8);
	return NULL;
}

void cmd_append(struct imap_session *s, const struct imap_command_line *cmd)
{
	struct append_ctx *c = xcalloc(1, sizeof(*c));
	int ret = cmd->arg_count < 2 ? -1 : parse_messages(cmd, c);
	if (ret < 0) {
		append_ctx_free(c);
		if (ret == -2)
			conn_printf(
			        s->conn,
			        "%s NO [UNAVAILABLE] The message could not be "
			        "received: no space to hold it\r\n",
			        cmd->tag);
		else
			imap_reply_bad_args(s, cmd);
		return;
	}
	for (size_t i = 0; i < c->count; i++) {
		const char *why = check_message(s, &c->msgs[i], c->literal8[i]);
		if (why != NULL) {
			conn_printf(s->conn, "%s %s\r\n", cmd->tag, why);
			append_ctx_free(c);
			return;
		}
	}
	c->name = imap_mailbox_arg(s, cmd, 0);
	if (c->name == NULL) {
		append_ctx_free(c);
		return;
	}
	imap_job_start(s, cmd, append_work, IMAP_SYNC_ALL, c, append_ctx_free);
}
