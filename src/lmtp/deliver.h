/* The delivery pipeline shared by the LMTP server and `roost deliver`:
 * finding the user an address belongs to, receiving a message once, and
 * storing it for each recipient with the trace header fields of RFC 5321
 * 4.4 (Return-Path, Received) and Delivered-To in front.
 *
 * The message is received once: in memory, or past DELIVER_SPILL_BYTES
 * in an unnamed spool file (store_spool_open). It is held with room
 * before it, so each copy's header lines are written in front of it
 * without copying the body. Recipients that resolve to the same user and
 * mailbox get one copy; each copy is parsed once (mail/derive.h) and its
 * derived data stored with it, and store_append returns only once the
 * copy is on stable storage, so a success may be acknowledged at once. */
#ifndef ROOST_LMTP_DELIVER_H
#define ROOST_LMTP_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A message at least this large goes to a spool file. */
#define DELIVER_SPILL_BYTES (256 * 1024)

struct deliver_settings {
	const char *data_dir;
	uint64_t quota_storage; /* bytes; 0: none (the user's rule wins) */
	uint64_t quota_messages;
	uint64_t max_message_size;
	/* user+detail delivers into mailbox "detail" when it exists */
	bool detail_mailbox;
	/* characters that separate a local part from its detail; "" none */
	const char *delimiters;
};

/* Find the user an address belongs to: the whole address local@domain,
 * then the local part alone; each as given, then without its detail
 * (what follows the first delimiter), then in lower case. True with
 * *user_r (malloc'd) and *detail_r (malloc'd, or NULL when the user was
 * found without stripping a detail); false if nobody has it. domain may
 * be NULL or "". */
bool deliver_resolve(const struct deliver_settings *set, const char *local,
                     const char *domain, char **user_r, char **detail_r);

enum deliver_result {
	DELIVER_OK,
	DELIVER_OVERQUOTA, /* the user's quota would be passed */
	DELIVER_TOOBIG,    /* over [store] max_message_size */
	DELIVER_NUL,       /* the message holds NUL bytes: refused */
	DELIVER_NOSPACE,   /* the disk is full: try again later */
	DELIVER_ERROR,     /* the store failed (logged): try again later */
};

/* One recipient: in, the address and the user it resolved to; out, the
 * result and where the copy went. */
struct deliver_rcpt {
	char *address; /* as given: Delivered-To and Received's "for" */
	char *user;
	char *mailbox; /* wanted (a detail, or -m); NULL: INBOX */
	enum deliver_result result;
	char *stored_in; /* where it went ("INBOX", a folder); NULL */
	uint32_t uid;
};
/* Free a recipient's strings (all malloc'd) and zero it. */
void deliver_rcpt_clear(struct deliver_rcpt *r);

/* The message as it is received. */
struct deliver_msg;

struct deliver_msg *deliver_msg_create(const struct deliver_settings *set);
/* Append received bytes. Bytes past max_message_size are counted, not
 * kept. 0, or -1 when the spool file could not be written (the message
 * is then lost: deliver_run answers DELIVER_ERROR). */
int deliver_msg_write(struct deliver_msg *m, const void *data, size_t len);
/* Bytes received so far. */
uint64_t deliver_msg_size(const struct deliver_msg *m);
void deliver_msg_free(struct deliver_msg **m);

/* What the trace fields say. */
struct deliver_envelope {
	/* Return-Path: the reverse-path's mailbox, "" for the null path;
	 * NULL: no Return-Path field (the sender is not known) */
	const char *sender;
	/* Received: "from" clause (e.g. "mx.example.org ([127.0.0.1])"),
	 * or NULL for no Received field at all */
	const char *received_from;
	const char *protocol; /* "LMTP" */
	const char *hostname; /* ours, for "by" */
	const char *id;       /* the transaction's id, for "id" and logs */
};

/* Deliver m to every recipient, setting each one's result. Blocks (it
 * fsyncs): run it on the thread pool. Calls for different messages may
 * run at once. */
void deliver_run(struct deliver_msg *m, const struct deliver_settings *set,
                 const struct deliver_envelope *env, struct deliver_rcpt *rcpts,
                 size_t count);

/* A short text for a result ("Quota exceeded"). */
const char *deliver_result_text(enum deliver_result r);

#endif
