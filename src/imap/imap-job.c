/* Store commands on the thread pool.
 *
 * The store blocks (it fsyncs), so a command that uses it runs as a job:
 * its work function runs on a pool thread while the session is paused,
 * then the session's loop sends what it wrote. Only one job runs per
 * session, and nothing on the loop touches the session's store or view
 * meanwhile, so the work function may use both freely.
 *
 * Output is handed to the connection in slices no larger than its
 * high-water mark allows, so a command whose answer is large (STORE on
 * a whole mailbox) never passes the connection's output cap, and a work
 * function that streams (FETCH) is only called again once the client has
 * read what it had. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/user-store.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "net/conn.h"
#include "net/threadpool.h"

#define JOB_OUTPUT_MAX ((size_t)1 << 31)
#define JOB_WRITE_SLICE 65536

static void job_submit(struct imap_job *job);

static void job_free(struct imap_job *job)
{
	if (job->ctx_free != NULL)
		job->ctx_free(job->ctx);
	buf_free(&job->out);
	free(job->tag);
	free(job->text);
	free(job);
}

struct store *imap_job_store(struct imap_job *job)
{
	struct imap_session *s = job->s;
	if (s->store == NULL) {
		enum store_status st;
		s->store = store_open(&s->store_set, s->user, &st);
		if (s->store == NULL) {
			imap_job_fail(job, st, false);
			return NULL;
		}
	}
	return s->store;
}

void imap_job_reply(struct imap_job *job, const char *status, const char *fmt,
                    ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	free(job->text);
	job->text = text;
	job->status = status;
}

static const char *status_code(enum store_status st, bool trycreate)
{
	switch (st) {
	case STORE_NONEXISTENT:
		return trycreate ? "[TRYCREATE] " : "[NONEXISTENT] ";
	case STORE_ALREADYEXISTS:
		return "[ALREADYEXISTS] ";
	case STORE_BADNAME:
	case STORE_NOSELECT:
	case STORE_HASCHILDREN:
	case STORE_CANNOT:
		return "[CANNOT] ";
	case STORE_OVERQUOTA:
		return "[OVERQUOTA] ";
	case STORE_NOSPACE:
		return "[UNAVAILABLE] ";
	case STORE_TOOBIG:
		return "[TOOBIG] ";
	case STORE_ERROR:
		return "[SERVERBUG] ";
	case STORE_OK:
		break;
	}
	return "";
}

void imap_job_fail(struct imap_job *job, enum store_status st, bool trycreate)
{
	imap_job_reply(job, "NO", "%s%s", status_code(st, trycreate),
	               store_status_text(st));
}

/* Pool thread: the command's work, then the mailbox sync, then the
 * tagged reply. */
static void job_work(void *arg)
{
	struct imap_job *job = arg;
	job->more = false;
	job->work(job);
	if (job->more)
		return;
	if (job->s->view != NULL && job->sync != IMAP_SYNC_NONE)
		imap_view_sync(job, job->sync == IMAP_SYNC_ALL);
	if (job->bye)
		buf_append_str(&job->out, "* BYE Selected mailbox no longer "
		                          "exists\r\n");
	else if (job->status != NULL)
		buf_printf(&job->out, "%s %s %s\r\n", job->tag, job->status,
		           job->text != NULL ? job->text : "");
}

/* Loop: move output to the connection while it has room. True when all
 * of it went. */
static bool job_flush_output(struct imap_job *job)
{
	struct imap_session *s = job->s;
	while (job->out.len > 0) {
		if (conn_output_full(s->conn) || conn_is_closing(s->conn))
			return conn_is_closing(s->conn);
		size_t n = job->out.len < JOB_WRITE_SLICE ? job->out.len
		                                          : JOB_WRITE_SLICE;
		if (conn_write(s->conn, job->out.data, n) < 0)
			return true;
		buf_consume(&job->out, n);
	}
	return true;
}

/* The client is gone: the job ends without a word. */
static bool job_dropped(struct imap_job *job)
{
	struct imap_session *s = job->s;
	if (!s->closed && !conn_is_closing(s->conn))
		return false;
	s->job = NULL;
	job_free(job);
	imap_session_unref(s);
	return true;
}

static void job_continue(struct imap_job *job)
{
	struct imap_session *s = job->s;
	if (job_dropped(job))
		return;
	/* a flush that drains the output at once calls on_drain, which
	 * would call this again from inside it: it only says so, and the
	 * loop goes on here, so the stack does not grow with the answer */
	while (!job_flush_output(job)) {
		s->job_wait_drain = true;
		s->job_drained = false;
		s->job_flushing = true;
		conn_flush(s->conn);
		s->job_flushing = false;
		if (!s->job_drained)
			return;
		if (s->closed || conn_is_closing(s->conn))
			break;
	}
	if (job_dropped(job))
		return;
	if (job->more) {
		job_submit(job);
		conn_flush(s->conn);
		return;
	}
	bool bye = job->bye;
	if (job->new_state != 0)
		s->state = job->new_state;
	s->job = NULL;
	job_free(job);
	if (bye) {
		s->state = IMAP_STATE_LOGOUT;
		conn_close_after_flush(s->conn, "mailbox deleted");
	} else {
		imap_command_finish(s, NULL, NULL);
	}
	imap_session_unref(s);
}

static void job_done(void *arg)
{
	job_continue(arg);
}

static void job_submit(struct imap_job *job)
{
	struct imap_session *s = job->s;
	threadpool_submit(imap_server_io_pool(s->server), job_work, job_done,
	                  job, conn_loop(s->conn));
}

void imap_job_drained(struct imap_session *s)
{
	if (!s->job_wait_drain || s->job == NULL)
		return;
	s->job_wait_drain = false;
	if (s->job_flushing)
		s->job_drained = true; /* job_continue's loop goes on */
	else
		job_continue(s->job);
}

void imap_job_start(struct imap_session *s, const struct imap_command_line *cmd,
                    imap_job_fn *work, enum imap_sync_mode sync, void *ctx,
                    void (*ctx_free)(void *ctx))
{
	struct imap_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	job->tag = xstrdup(cmd->tag);
	buf_init(&job->out, JOB_OUTPUT_MAX);
	job->work = work;
	job->sync = sync;
	job->ctx = ctx;
	job->ctx_free = ctx_free;
	imap_session_ref(s);
	imap_command_async(s, cmd);
	s->job = job;
	job_submit(job);
}

void imap_session_close_mail(struct imap_session *s)
{
	imap_view_free(&s->view);
	store_close(&s->store);
}

void imap_store_settings(struct imap_session *s)
{
	const struct store_settings defaults = {
	        .data_dir = s->set->data_dir,
	        .quota_bytes = s->set->quota_storage,
	        .quota_messages = s->set->quota_messages,
	        .max_message_bytes = s->set->max_message_size,
	};
	user_store_settings(&defaults, s->user, &s->store_set);
}
