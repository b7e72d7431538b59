/* IDLE (RFC 2177), and how a change reaches the sessions idling in a
 * mailbox.
 *
 * Changes made in this process (another session, an LMTP delivery, a
 * POP3 QUIT) are reported by the store's change hook on the thread that
 * committed them. The hook posts the news to the loop that owns the
 * user (user affinity: all of a user's IMAP sessions live there), where
 * each session idling in that mailbox starts a sync job at once. No
 * session polls.
 *
 * Changes made by other programs (`roost deliver`, an MDA writing into
 * the Maildir) are seen with inotify: while sessions idle in a mailbox,
 * their loop watches its new/ and cur/ directories, and a burst of
 * events wakes the mailbox's idlers once, WATCH_SETTLE_MS after the
 * first. Our own writes show there too; the sync they cause finds
 * nothing new and sends nothing.
 *
 * The table of watched mailboxes is the loop's own (thread-local): it
 * exists while some session on the loop idles, and is touched by that
 * loop alone, so it needs no lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "net/conn.h"
#include "net/service.h"

#define HUB_BUCKETS 256
#define WATCH_SETTLE_MS 20
/* "DONE" and room for a chatty client's CR LF and spaces */
#define IDLE_MAX_LINE 1024
#define WATCH_EVENTS                                                           \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |            \
	 IN_DELETE_SELF)

/* A mailbox that sessions on this loop idle in. */
struct idle_watch {
	struct idle_watch *next; /* in its bucket */
	struct idle_watch *pending_next;
	char *user;
	uint64_t mailbox_id;
	struct imap_session *sessions; /* idling in it (idle_next) */
	int wd[2];                     /* inotify watches, -1: none */
	bool pending;                  /* inotify saw something */
	bool listed;                   /* on the hub's pending list */
};

struct idle_hub {
	struct loop *loop;
	struct loop_io io; /* the inotify descriptor, -1: none */
	struct loop_timer settle;
	struct idle_watch *buckets[HUB_BUCKETS];
	struct idle_watch *pending;
	struct idle_watch **by_wd; /* inotify watch -> mailbox */
	size_t by_wd_cap;
	size_t watch_count;
};

static __thread struct idle_hub *hub;

static size_t bucket_of(const char *user)
{
	return service_user_hash(user) % HUB_BUCKETS;
}

/* ---- waking sessions ---- */

static void idle_wake(struct imap_session *s);

static void wake_work(struct imap_job *job)
{
	(void)job; /* the sync after the work is the point */
}

/* A wake job is done: idle on, or sync again if news came meanwhile. */
static void wake_done(struct imap_session *s, void *ctx)
{
	(void)ctx;
	s->input_mode = IMAP_INPUT_IDLE;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
	if (s->idle_dirty && s->idle_watch != NULL)
		idle_wake(s);
}

static void idle_wake(struct imap_session *s)
{
	if (s->closed || s->input_mode != IMAP_INPUT_IDLE) {
		/* a job runs, or the client said DONE: its sync comes */
		s->idle_dirty = true;
		return;
	}
	s->idle_dirty = false;
	imap_job_run(s, NULL, wake_work, IMAP_SYNC_ALL, NULL, NULL, wake_done);
}

static void watch_wake(struct idle_watch *w)
{
	w->pending = false;
	struct imap_session *next;
	for (struct imap_session *s = w->sessions; s != NULL; s = next) {
		next = s->idle_next;
		idle_wake(s);
	}
}

/* ---- the change hook: any thread to the user's loop ---- */

struct idle_note {
	uint64_t mailbox_id;
	char user[];
};

static void note_run(void *arg)
{
	struct idle_note *n = arg;
	if (hub != NULL) {
		struct idle_watch *w = hub->buckets[bucket_of(n->user)];
		struct idle_watch *next;
		for (; w != NULL; w = next) {
			next = w->next;
			if (strcmp(w->user, n->user) == 0 &&
			    (n->mailbox_id == STORE_CHANGED_ALL ||
			     n->mailbox_id == w->mailbox_id))
				watch_wake(w);
		}
	}
	free(n);
}

void imap_idle_store_changed(void *ctx, const char *user, uint64_t mailbox_id)
{
	struct service *service = ctx;
	size_t len = strlen(user);
	struct idle_note *n = xmalloc(sizeof(*n) + len + 1);
	n->mailbox_id = mailbox_id;
	memcpy(n->user, user, len + 1);
	loop_post(service_user_loop(service, user), note_run, n);
}

/* ---- inotify ---- */

static void settle_cb(struct loop_timer *t)
{
	(void)t;
	while (hub != NULL && hub->pending != NULL) {
		struct idle_watch *w = hub->pending;
		hub->pending = w->pending_next;
		w->listed = false;
		if (w->pending)
			watch_wake(w);
	}
}

static void mark_pending(struct idle_watch *w)
{
	w->pending = true;
	if (w->listed)
		return;
	w->listed = true;
	w->pending_next = hub->pending;
	hub->pending = w;
	if (!loop_timer_armed(&hub->settle))
		loop_timer_start(hub->loop, &hub->settle, WATCH_SETTLE_MS);
}

static void mark_all_pending(void)
{
	for (size_t i = 0; i < HUB_BUCKETS; i++) {
		for (struct idle_watch *w = hub->buckets[i]; w != NULL;
		     w = w->next)
			mark_pending(w);
	}
}

static void inotify_cb(struct loop_io *io, unsigned int events)
{
	(void)events;
	char buf[4096]
	        __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while ((n = read(io->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (void *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW)
				mark_all_pending();
			else if (ev->wd >= 0 &&
			         (size_t)ev->wd < hub->by_wd_cap &&
			         hub->by_wd[ev->wd] != NULL)
				mark_pending(hub->by_wd[ev->wd]);
		}
	}
}

static void hub_create(struct loop *loop)
{
	hub = xcalloc(1, sizeof(*hub));
	hub->loop = loop;
	hub->settle.cb = settle_cb;
	hub->io.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	hub->io.cb = inotify_cb;
	if (hub->io.fd < 0) {
		log_event(LOG_WARN, "inotify_unavailable", "error",
		          strerror(errno), NULL);
		return;
	}
	if (loop_io_add(loop, &hub->io, LOOP_READ) < 0) {
		close(hub->io.fd);
		hub->io.fd = -1;
	}
}

static void hub_free(void)
{
	loop_timer_stop(hub->loop, &hub->settle);
	if (hub->io.fd >= 0) {
		loop_io_del(hub->loop, &hub->io);
		close(hub->io.fd);
	}
	free(hub->by_wd);
	free(hub);
	hub = NULL;
}

static void watch_dir(struct idle_watch *w, size_t i, const char *dir)
{
	w->wd[i] = -1;
	if (hub->io.fd < 0)
		return;
	int wd = inotify_add_watch(hub->io.fd, dir, WATCH_EVENTS);
	if (wd < 0) {
		log_event(LOG_WARN, "inotify_watch_failed", "user", w->user,
		          "dir", dir, "error", strerror(errno), NULL);
		return;
	}
	if ((size_t)wd >= hub->by_wd_cap) {
		size_t cap = hub->by_wd_cap == 0 ? 64 : hub->by_wd_cap;
		while (cap <= (size_t)wd)
			cap *= 2;
		hub->by_wd = xrealloc(hub->by_wd, cap * sizeof(*hub->by_wd));
		memset(hub->by_wd + hub->by_wd_cap, 0,
		       (cap - hub->by_wd_cap) * sizeof(*hub->by_wd));
		hub->by_wd_cap = cap;
	}
	if (hub->by_wd[wd] != NULL)
		return; /* the directory is another mailbox's as well */
	hub->by_wd[wd] = w;
	w->wd[i] = wd;
}

static struct idle_watch *watch_get(struct imap_session *s)
{
	struct idle_watch **bucket = &hub->buckets[bucket_of(s->user)];
	for (struct idle_watch *w = *bucket; w != NULL; w = w->next) {
		if (w->mailbox_id == s->view->mailbox_id &&
		    strcmp(w->user, s->user) == 0)
			return w;
	}
	struct idle_watch *w = xcalloc(1, sizeof(*w));
	w->user = xstrdup(s->user);
	w->mailbox_id = s->view->mailbox_id;
	w->wd[0] = w->wd[1] = -1;
	w->next = *bucket;
	*bucket = w;
	hub->watch_count++;
	return w;
}

/* Watch the mailbox's directories, unless that is done already. */
static void watch_dirs(struct idle_watch *w, char **dirs, size_t dir_count)
{
	if (w->wd[0] >= 0 || w->wd[1] >= 0)
		return;
	for (size_t i = 0; i < dir_count && i < 2; i++)
		watch_dir(w, i, dirs[i]);
}

static void watch_free(struct idle_watch *w)
{
	struct idle_watch **pp = &hub->buckets[bucket_of(w->user)];
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	for (struct idle_watch **q = &hub->pending; *q != NULL;
	     q = &(*q)->pending_next) {
		if (*q == w) {
			*q = w->pending_next;
			break;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		if (w->wd[i] < 0)
			continue;
		hub->by_wd[w->wd[i]] = NULL;
		inotify_rm_watch(hub->io.fd, w->wd[i]);
	}
	free(w->user);
	free(w);
	if (--hub->watch_count == 0)
		hub_free();
}

/* ---- sessions entering and leaving IDLE ---- */

/* From IDLE on (before its first sync), news of a change in the
 * mailbox reaches s. */
static void idle_join(struct imap_session *s)
{
	if (hub == NULL)
		hub_create(conn_loop(s->conn));
	struct idle_watch *w = watch_get(s);
	s->idle_watch = w;
	s->idle_prev = NULL;
	s->idle_next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->idle_prev = s;
	w->sessions = s;
}

void imap_idle_leave(struct imap_session *s)
{
	struct idle_watch *w = s->idle_watch;
	if (w == NULL)
		return;
	if (s->idle_prev != NULL)
		s->idle_prev->idle_next = s->idle_next;
	else
		w->sessions = s->idle_next;
	if (s->idle_next != NULL)
		s->idle_next->idle_prev = s->idle_prev;
	s->idle_watch = NULL;
	s->idle_next = s->idle_prev = NULL;
	if (w->sessions == NULL)
		watch_free(w);
}

struct idle_start {
	char **dirs;
	size_t dir_count;
};

static void idle_start_free(void *ctx)
{
	struct idle_start *st = ctx;
	for (size_t i = 0; i < st->dir_count; i++)
		free(st->dirs[i]);
	free(st->dirs);
	free(st);
}

/* Pool: the sync (after this) reports what changed before IDLE; this
 * finds the directories to watch. */
static void idle_start_work(struct imap_job *job)
{
	struct idle_start *ctx = job->ctx;
	struct store *st = imap_job_store(job);
	if (st != NULL)
		store_watch_dirs(st, job->s->view->mailbox_id, &ctx->dirs,
		                 &ctx->dir_count);
}

static void idle_enter(struct imap_session *s)
{
	conn_write_str(s->conn, "+ idling\r\n");
	s->input_mode = IMAP_INPUT_IDLE;
	conn_flush(s->conn);
	conn_resume_input(s->conn);
}

static void idle_started(struct imap_session *s, void *ctx)
{
	struct idle_start *st = ctx;
	if (s->idle_watch != NULL)
		watch_dirs(s->idle_watch, st->dirs, st->dir_count);
	idle_enter(s);
	/* news that came while the first sync ran */
	if (s->idle_dirty)
		idle_wake(s);
}

void cmd_idle(struct imap_session *s, const struct imap_command_line *cmd)
{
	if (cmd->arg_count != 0) {
		imap_reply_bad_args(s, cmd);
		return;
	}
	imap_command_async(s, cmd);
	s->idle_dirty = false;
	if (s->view == NULL) {
		idle_enter(s); /* nothing selected: nothing to report */
		return;
	}
	idle_join(s);
	imap_job_run(s, cmd->tag, idle_start_work, IMAP_SYNC_ALL,
	             xcalloc(1, sizeof(struct idle_start)), idle_start_free,
	             idle_started);
}

static void idle_done_work(struct imap_job *job)
{
	imap_job_reply(job, "OK", "IDLE terminated");
}

bool imap_idle_input(struct imap_session *s, struct buf *in)
{
	unsigned char *lf = memchr(in->data, '\n', in->len);
	if (lf == NULL) {
		if (in->len > IDLE_MAX_LINE) {
			imap_idle_leave(s);
			imap_command_finish(s, "BAD", "Expected DONE");
			imap_session_bye(s, "Line too long", "protocol error");
		}
		return false;
	}
	size_t len = (size_t)(lf - in->data);
	if (len > 0 && in->data[len - 1] == '\r')
		len--;
	bool done = len == 4 && strncasecmp((char *)in->data, "DONE", 4) == 0;
	buf_consume(in, (size_t)(lf - in->data) + 1);
	imap_idle_leave(s);
	if (!done) {
		s->bad_commands++;
		imap_command_finish(s, "BAD", "Expected DONE");
		return true;
	}
	if (s->view == NULL) {
		imap_command_finish(s, "OK", "IDLE terminated");
		return true;
	}
	s->input_mode = IMAP_INPUT_BUSY;
	imap_job_run(s, s->tag, idle_done_work, IMAP_SYNC_ALL, NULL, NULL,
	             NULL);
	return true;
}
