/* The maildrop: the user's INBOX as one POP3 session sees it.
 *
 * RFC 1939 4: entering TRANSACTION takes an exclusive lock on the
 * maildrop. roost takes two: an in-process one (pop3-server.c), and an
 * flock(2) on DATA/mail/USER/pop3.lock, so that another roost process
 * (or a tool that honours it) sees the maildrop as taken too. IMAP
 * sessions do not take it: they coexist with a POP3 session, and see its
 * deletions as EXPUNGE once QUIT has committed them.
 *
 * The message list is a snapshot taken at login (RFC 1939 5: numbers do
 * not change during a session); deletions are only marks until QUIT,
 * whose UPDATE state removes the marked messages in one durable
 * transaction before it answers +OK (RFC 1939 6). A session that ends any
 * other way removes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "auth/user-store.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/conn.h"
#include "net/service.h"
#include "pop3/pop3-private.h"

struct open_ctx {
	enum store_status st;
	bool in_use; /* the lock file is taken by someone else */
};

static void open_ctx_free(void *ctx)
{
	free(ctx);
}

/* The flock of RFC 1939's maildrop lock; -1 if another holds it (or it
 * cannot be had). The user's directory exists once the store is open. */
static int lock_file(const struct pop3_session *s, bool *in_use_r)
{
	char *path =
	        xasprintf("%s/mail/%s/pop3.lock", s->set->data_dir, s->user);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	*in_use_r = false;
	if (fd < 0) {
		log_event(LOG_ERROR, "pop3_lock_failed", "user", s->user,
		          "error", strerror(errno), NULL);
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*in_use_r = errno == EWOULDBLOCK;
		if (!*in_use_r)
			log_event(LOG_ERROR, "pop3_lock_failed", "user",
			          s->user, "error", strerror(errno), NULL);
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static void snapshot(struct pop3_session *s, const struct store_changes *ch)
{
	s->mailbox_id = ch->mailbox_id;
	s->uidvalidity = ch->uidvalidity;
	s->msgs = xcalloc(ch->msg_count + 1, sizeof(*s->msgs));
	s->msg_count = ch->msg_count;
	s->live_count = ch->msg_count;
	s->live_bytes = 0;
	for (size_t i = 0; i < ch->msg_count; i++) {
		s->msgs[i].uid = ch->msgs[i].uid;
		s->msgs[i].size = ch->msgs[i].size;
		s->live_bytes += ch->msgs[i].size;
	}
}

/* Pool: open the store, take the lock file, list INBOX. */
static void open_work(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	struct open_ctx *ctx = job->ctx;
	s->store = store_open(&s->store_set, s->user, &ctx->st);
	if (s->store == NULL)
		return;
	s->lock_fd = lock_file(s, &ctx->in_use);
	if (s->lock_fd < 0) {
		ctx->st = STORE_ERROR;
		return;
	}
	struct store_changes ch;
	/* \Recent is left for IMAP sessions to claim */
	ctx->st = store_sync(s->store, "INBOX", 0, false, &ch);
	if (ctx->st != STORE_OK)
		return;
	snapshot(s, &ch);
	store_changes_free(&ch);
}

static void moved_to_user_loop(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	pop3_session_ref(s);
	service_worker_attach(pop3_server_service(s->server), &s->link,
	                      conn_loop(s->conn));
	s->last_activity_ms = loop_now_ms(conn_loop(c));
	loop_timer_start(conn_loop(c), &s->idle_timer, s->set->autologout_ms);
	pop3_command_finish(s);
	pop3_session_unref(s);
}

static void open_failed(struct pop3_session *s, const struct open_ctx *ctx)
{
	if (ctx->in_use)
		pop3_err(s, "[IN-USE] Maildrop is locked by another session");
	else
		pop3_err(s, "[SYS/TEMP] Cannot open the maildrop: %s",
		         store_status_text(ctx->st));
	log_event(LOG_INFO, "login_failed", "proto", "pop3", "user", s->user,
	          "remote", conn_remote(s->conn), "reason",
	          ctx->in_use ? "maildrop in use" : "maildrop unavailable",
	          NULL);
	/* RFC 1939 4: release what was taken before answering -ERR */
	pop3_maildrop_release(s);
	free(s->user);
	s->user = NULL;
}

/* Loop: answer, and move to the worker that owns the user. */
static void open_finish(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	const struct open_ctx *ctx = job->ctx;
	if (ctx->st != STORE_OK) {
		open_failed(s, ctx);
		return;
	}
	s->state = POP3_STATE_TRANSACTION;
	conn_set_user(s->conn, s->user);
	log_event(LOG_INFO, "login", "proto", "pop3", "user", s->user, "remote",
	          conn_remote(s->conn), "mech", s->auth_mech, "tls",
	          conn_is_tls(s->conn) ? "yes" : "no", NULL);
	pop3_ok(s, "Logged in, maildrop has %zu messages (%llu octets)",
	        s->live_count, (unsigned long long)s->live_bytes);
	struct loop *target =
	        service_user_loop(pop3_server_service(s->server), s->user);
	if (target == conn_loop(s->conn)) {
		/* from the pre-login timeout to the autologout timer */
		loop_timer_start(target, &s->idle_timer, s->set->autologout_ms);
		return;
	}
	/* user affinity: continue on the worker that owns this user */
	job->keep_busy = true;
	conn_flush(s->conn);
	loop_timer_stop(conn_loop(s->conn), &s->idle_timer);
	service_worker_detach(&s->link);
	conn_move(s->conn, target, moved_to_user_loop);
}

void pop3_maildrop_open(struct pop3_session *s)
{
	int r = pop3_server_lock_user(s->server, s->user,
	                              s->set->login_delay_s);
	if (r <= 0) {
		if (r == 0)
			pop3_err(s, "[IN-USE] Maildrop is locked by another "
			            "session");
		else
			pop3_err(s,
			         "[LOGIN-DELAY] Logged in too recently; "
			         "wait %u seconds between logins",
			         s->set->login_delay_s);
		log_event(LOG_INFO, "login_failed", "proto", "pop3", "user",
		          s->user, "remote", conn_remote(s->conn), "reason",
		          r == 0 ? "maildrop in use" : "login delay", NULL);
		free(s->user);
		s->user = NULL;
		pop3_command_finish(s);
		return;
	}
	s->registry_locked = true;
	const struct store_settings defaults = {
	        .data_dir = s->set->data_dir,
	        .quota_bytes = s->set->quota_storage,
	        .quota_messages = s->set->quota_messages,
	        .max_message_bytes = s->set->max_message_size,
	};
	user_store_settings(&defaults, s->user, &s->store_set);
	pop3_job_start(s, open_work, open_finish,
	               xcalloc(1, sizeof(struct open_ctx)), open_ctx_free);
}

void pop3_maildrop_unlock(struct pop3_session *s)
{
	if (s->lock_fd >= 0) {
		close(s->lock_fd); /* releases the flock */
		s->lock_fd = -1;
	}
	if (s->registry_locked) {
		pop3_server_unlock_user(s->server, s->user);
		s->registry_locked = false;
	}
}

void pop3_maildrop_release(struct pop3_session *s)
{
	pop3_maildrop_unlock(s);
	store_close(&s->store);
	free(s->msgs);
	s->msgs = NULL;
	s->msg_count = s->live_count = 0;
	s->live_bytes = 0;
}

struct pop3_msg *pop3_msg_arg(struct pop3_session *s, const char *arg,
                              size_t *number_r)
{
	uint64_t n;
	if (pop3_parse_number(arg, UINT32_MAX, &n) < 0) {
		pop3_err(s, "Invalid message number");
		return NULL;
	}
	if (n == 0 || n > s->msg_count) {
		pop3_err(s, "No such message");
		return NULL;
	}
	struct pop3_msg *m = &s->msgs[n - 1];
	if (m->deleted) {
		pop3_err(s, "Message %llu already deleted",
		         (unsigned long long)n);
		return NULL;
	}
	*number_r = (size_t)n;
	return m;
}

/* Dovecot's default format (%08Xu%08Xv): a maildrop moved from Dovecot
 * with its UIDs and UIDVALIDITY keeps its UIDLs, so clients that keep
 * mail on the server do not fetch it all again. UIDs and UIDVALIDITY
 * never change for a message, whatever IMAP does to its flags. */
void pop3_write_uidl(const struct pop3_session *s, const struct pop3_msg *m,
                     char *out, size_t size)
{
	snprintf(out, size, "%08X%08X", m->uid, s->uidvalidity);
}

/* ---- QUIT: the UPDATE state ---- */

struct update_ctx {
	enum store_status st;
	size_t removed;
};

/* Pool: the RETRieved messages become \Seen for IMAP (as Dovecot does);
 * the deleted ones are removed in one transaction. */
static void update_work(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	struct update_ctx *ctx = job->ctx;
	uint32_t *seen = xcalloc(s->msg_count + 1, sizeof(*seen));
	uint32_t *gone = xcalloc(s->msg_count + 1, sizeof(*gone));
	size_t n_seen = 0, n_gone = 0;
	for (size_t i = 0; i < s->msg_count; i++) {
		if (s->msgs[i].deleted)
			gone[n_gone++] = s->msgs[i].uid;
		else if (s->msgs[i].retrieved)
			seen[n_seen++] = s->msgs[i].uid;
	}
	if (n_seen > 0) {
		struct store_msg *out = NULL;
		size_t count = 0;
		if (store_set_flags(s->store, s->mailbox_id, seen, n_seen,
		                    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
		                    &out, &count) == STORE_OK) {
			for (size_t i = 0; i < count; i++)
				store_msg_free(&out[i]);
			free(out);
		}
	}
	if (n_gone > 0) {
		uint32_t *removed = NULL;
		ctx->st = store_remove(s->store, s->mailbox_id, gone, n_gone,
		                       &removed, &ctx->removed);
		free(removed);
	}
	free(seen);
	free(gone);
	size_t left = s->live_count;
	/* the lock goes before the answer, so the client may log in
	 * again as soon as it has read it */
	pop3_maildrop_release(s);
	if (ctx->st == STORE_OK)
		buf_printf(&job->io.out,
		           "+OK roost POP3 server signing off (%zu messages "
		           "left)\r\n",
		           left);
	else
		buf_printf(&job->io.out,
		           "-ERR [SYS/TEMP] Some deleted messages not "
		           "removed: %s\r\n",
		           store_status_text(ctx->st));
}

static void update_finish(struct pop3_job *job)
{
	struct pop3_session *s = job->s;
	conn_close_after_flush(s->conn, "quit");
}

void pop3_maildrop_update(struct pop3_session *s)
{
	s->state = POP3_STATE_UPDATE;
	pop3_job_start(s, update_work, update_finish,
	               xcalloc(1, sizeof(struct update_ctx)), open_ctx_free);
}
