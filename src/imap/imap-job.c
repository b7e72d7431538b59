/* Store commands on the thread pool.
 *
 * The store blocks (it fsyncs), so a command that uses it runs as a job:
 * its work function runs on a pool thread while the session is paused,
 * then the session's loop sends what it wrote. Only one job runs per
 * session, and nothing on the loop touches the session's store or view
 * meanwhile, so the work function may use both freely.
 *
 * The output goes to the connection with backpressure (net/conn-job.c),
 * so a command whose answer is large (STORE on a whole mailbox) never
 * passes the connection's output cap, and a work function that streams
 * (FETCH) is only called again once the client has read what it had. */
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
#include "net/conn-job.h"
#include "net/conn.h"
#include "net/service.h"

#define JOB_OUTPUT_MAX ((size_t)1 << 31)

static void job_free(struct imap_job *job)
{
	if (job->ctx_free != NULL)
		job->ctx_free(job->ctx);
	conn_job_deinit(&job->io);
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
static void job_work(struct conn_job *io)
{
	struct imap_job *job = container_of(io, struct imap_job, io);
	job->work(job);
	if (job->io.more)
		return;
	if (job->s->view != NULL && job->sync != IMAP_SYNC_NONE)
		imap_view_sync(job, job->sync == IMAP_SYNC_ALL);
	if (job->bye)
		buf_append_str(&job->io.out, "* BYE Selected mailbox no longer "
		                             "exists\r\n");
	else if (job->status != NULL)
		buf_printf(&job->io.out, "%s %s %s\r\n", job->tag, job->status,
		           job->text != NULL ? job->text : "");
}

/* The client is gone: the job ends without a word. */
static void job_drop(struct conn_job *io)
{
	struct imap_job *job = container_of(io, struct imap_job, io);
	struct imap_session *s = job->s;
	s->job = NULL;
	imap_user_return_store(s->user_ref, &s->store);
	job_free(job);
	imap_session_unref(s);
}

static void job_end(struct conn_job *io)
{
	struct imap_job *job = container_of(io, struct imap_job, io);
	struct imap_session *s = job->s;
	if (conn_job_gone(io)) {
		job_drop(io);
		return;
	}
	bool bye = job->bye;
	bool finish = job->finish != NULL;
	if (job->new_state != 0)
		s->state = job->new_state;
	s->job = NULL;
	imap_user_return_store(s->user_ref, &s->store);
	if (bye) {
		imap_idle_leave(s);
		s->state = IMAP_STATE_LOGOUT;
		conn_close_after_flush(s->conn, "mailbox deleted");
	} else if (finish) {
		job->finish(s, job->ctx);
	}
	job_free(job);
	if (!bye && !finish)
		imap_command_finish(s, NULL, NULL);
	imap_session_unref(s);
}

static const struct conn_job_ops imap_job_ops = {
        .work = job_work,
        .drop = job_drop,
        .end = job_end,
};

void imap_job_drained(struct imap_session *s)
{
	if (s->job != NULL)
		conn_job_drained(&s->job->io);
}

void imap_job_run(struct imap_session *s, const char *tag, imap_job_fn *work,
                  enum imap_sync_mode sync, void *ctx,
                  void (*ctx_free)(void *ctx),
                  void (*finish)(struct imap_session *s, void *ctx))
{
	struct imap_job *job = xcalloc(1, sizeof(*job));
	job->s = s;
	job->tag = tag != NULL ? xstrdup(tag) : NULL;
	conn_job_init(&job->io, &imap_job_ops, s->conn,
	              service_io_pool(imap_server_service(s->server)),
	              &s->closed, JOB_OUTPUT_MAX);
	job->work = work;
	job->sync = sync;
	job->ctx = ctx;
	job->ctx_free = ctx_free;
	job->finish = finish;
	/* the store handle: one of the user's, lent for this job */
	if (s->user_ref == NULL)
		s->user_ref = imap_user_get(s->user, conn_loop(s->conn));
	if (s->store == NULL)
		s->store = imap_user_take_store(s->user_ref);
	imap_session_ref(s);
	s->input_mode = IMAP_INPUT_BUSY;
	conn_pause_input(s->conn);
	s->job = job;
	conn_job_submit(&job->io);
}

void imap_job_start(struct imap_session *s, const struct imap_command_line *cmd,
                    imap_job_fn *work, enum imap_sync_mode sync, void *ctx,
                    void (*ctx_free)(void *ctx))
{
	imap_command_async(s, cmd);
	imap_job_run(s, cmd->tag, work, sync, ctx, ctx_free, NULL);
}

void imap_session_close_mail(struct imap_session *s)
{
	imap_idle_leave(s);
	imap_view_free(&s->view);
	imap_user_return_store(s->user_ref, &s->store);
	imap_user_put(&s->user_ref);
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
