/* The end of DATA: the delivery runs on the I/O thread pool (it
 * fsyncs), then one reply per accepted recipient, in RCPT order
 * (RFC 2033 4.2), each 250 only for a copy store_append made durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "lmtp/lmtp-private.h"
#include "net/conn.h"
#include "net/service.h"
#include "net/threadpool.h"

struct lmtp_job {
	struct lmtp_session *s;
	const struct lmtp_settings *set; /* the session holds it */
	struct deliver_msg *msg;
	struct deliver_rcpt *rcpts;
	size_t count;
	char *sender;
	char *received_from;
	char id[20];
};

static void job_free(struct lmtp_job *job)
{
	for (size_t i = 0; i < job->count; i++)
		deliver_rcpt_clear(&job->rcpts[i]);
	free(job->rcpts);
	deliver_msg_free(&job->msg);
	free(job->sender);
	free(job->received_from);
	free(job);
}

static void job_work(void *arg)
{
	struct lmtp_job *job = arg;
	struct deliver_envelope env = {
	        .sender = job->sender,
	        .received_from = job->received_from,
	        .protocol = "LMTP",
	        .hostname = job->set->hostname,
	        .id = job->id,
	};
	deliver_run(job->msg, &job->set->deliver, &env, job->rcpts, job->count);
}

static void reply_rcpt(struct lmtp_session *s, const struct lmtp_job *job,
                       const struct deliver_rcpt *r)
{
	const char *text = deliver_result_text(r->result);
	switch (r->result) {
	case DELIVER_OK:
		lmtp_reply(s, "250 2.0.0 <%s> Saved in %s (%s)", r->address,
		           r->stored_in, job->id);
		return;
	case DELIVER_OVERQUOTA:
		/* RFC 3463 X.2.2: mailbox full */
		if (job->set->quota_tempfail)
			lmtp_reply(s, "452 4.2.2 <%s> %s", r->address, text);
		else
			lmtp_reply(s, "552 5.2.2 <%s> %s", r->address, text);
		return;
	case DELIVER_TOOBIG:
		lmtp_reply(s, "552 5.3.4 <%s> %s", r->address, text);
		return;
	case DELIVER_NUL:
		lmtp_reply(s, "554 5.6.0 <%s> %s", r->address, text);
		return;
	case DELIVER_NOSPACE:
		lmtp_reply(s, "452 4.3.1 <%s> %s", r->address, text);
		return;
	case DELIVER_ERROR:
		break;
	}
	lmtp_reply(s, "451 4.3.0 <%s> %s", r->address, text);
}

static void job_done(void *arg)
{
	struct lmtp_job *job = arg;
	struct lmtp_session *s = job->s;
	if (!s->closed && !conn_is_closing(s->conn)) {
		for (size_t i = 0; i < job->count; i++)
			reply_rcpt(s, job, &job->rcpts[i]);
		lmtp_session_resume(s);
	}
	job_free(job);
	lmtp_session_unref(s);
}

/* Received's "from" clause: the LHLO name and the peer's address
 * (RFC 5321 4.4: From-domain with TCP-info). */
static char *received_from(const struct lmtp_session *s)
{
	const char *ip = conn_remote_ip(s->conn);
	if (strcmp(ip, "local") == 0)
		return xstrdup(s->helo);
	if (strchr(ip, ':') != NULL)
		return xasprintf("%s ([IPv6:%s])", s->helo, ip);
	return xasprintf("%s ([%s])", s->helo, ip);
}

void lmtp_deliver_start(struct lmtp_session *s)
{
	struct lmtp_job *job = xcalloc(1, sizeof(*job));
	unsigned char rnd[6];
	job->s = s;
	job->set = s->set;
	job->msg = s->msg;
	job->rcpts = s->rcpts;
	job->count = s->rcpt_count;
	job->sender = s->sender;
	job->received_from = received_from(s);
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(job->id + 2 * i, 3, "%02x", rnd[i]);
	/* the transaction now belongs to the job; the session starts
	 * afresh (RFC 5321 4.1.1.4: the end of data clears it) */
	s->msg = NULL;
	s->rcpts = NULL;
	s->rcpt_count = 0;
	s->sender = NULL;
	s->in_mail = false;
	s->input = LMTP_INPUT_BUSY;
	conn_pause_input(s->conn);
	lmtp_session_ref(s);
	threadpool_submit(service_io_pool(lmtp_server_service(s->server)),
	                  job_work, job_done, job, conn_loop(s->conn));
}
