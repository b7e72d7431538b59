/* The delivery pipeline: see deliver.h. */
#include "lmtp/deliver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/user-store.h"
#include "auth/userdb.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "lmtp/deliver-private.h"
#include "mail/derive.h"
#include "store/store.h"

/* ---- finding the user ---- */

static bool try_user(const char *name, bool lower, char **user_r)
{
	char *copy = xstrdup(name);
	if (lower) {
		for (char *p = copy; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strcmp(copy, name) == 0) {
			free(copy); /* tried already as given */
			return false;
		}
	}
	if (copy[0] != '\0' && userdb_exists(copy)) {
		*user_r = copy;
		return true;
	}
	free(copy);
	return false;
}

bool deliver_resolve(const struct deliver_settings *set, const char *local,
                     const char *domain, char **user_r, char **detail_r)
{
	size_t base_len = strcspn(local, set->delimiters);
	bool has_detail = local[base_len] != '\0' && base_len > 0;
	bool has_domain = domain != NULL && domain[0] != '\0';
	char *cand[4] = {0};
	bool stripped[4] = {false, true, false, true};
	if (has_domain)
		cand[0] = xasprintf("%s@%s", local, domain);
	if (has_domain && has_detail)
		cand[1] = xasprintf("%.*s@%s", (int)base_len, local, domain);
	cand[2] = xstrdup(local);
	if (has_detail)
		cand[3] = xstrndup(local, base_len);
	bool found = false;
	*detail_r = NULL;
	for (int lower = 0; lower < 2 && !found; lower++) {
		for (int i = 0; i < 4 && !found; i++) {
			if (cand[i] == NULL ||
			    !try_user(cand[i], lower, user_r))
				continue;
			found = true;
			if (stripped[i])
				*detail_r = xstrdup(local + base_len + 1);
		}
	}
	for (int i = 0; i < 4; i++)
		free(cand[i]);
	return found;
}

static void deliver_store_settings(const struct deliver_settings *set,
                                   const char *user, struct store_settings *out)
{
	const struct store_settings defaults = {
	        .data_dir = set->data_dir,
	        .quota_bytes = set->quota_storage,
	        .quota_messages = set->quota_messages,
	        .max_message_bytes = set->max_message_size,
	};
	user_store_settings(&defaults, user, out);
}

/* ---- storing copies ---- */

struct run_ctx {
	const struct deliver_settings *set;
	const struct deliver_envelope *env;
	struct deliver_rcpt *rcpts;
	size_t count;
	unsigned char *map; /* room, then the message */
	uint64_t body_len;
	char date[64];
	const char **target; /* per recipient: the mailbox it goes to */
	bool *done;
};

void deliver_rcpt_clear(struct deliver_rcpt *r)
{
	free(r->address);
	free(r->user);
	free(r->mailbox);
	free(r->stored_in);
	memset(r, 0, sizeof(*r));
}

const char *deliver_result_text(enum deliver_result r)
{
	switch (r) {
	case DELIVER_OK:
		return "OK";
	case DELIVER_OVERQUOTA:
		return "Quota exceeded";
	case DELIVER_TOOBIG:
		return "Message too large";
	case DELIVER_NUL:
		return "Message contains NUL bytes";
	case DELIVER_NOSPACE:
		return "Not enough disk space";
	case DELIVER_ERROR:
		break;
	}
	return "Internal error in the mail store";
}

static enum deliver_result result_of(enum store_status st)
{
	switch (st) {
	case STORE_OK:
		return DELIVER_OK;
	case STORE_OVERQUOTA:
		return DELIVER_OVERQUOTA;
	case STORE_TOOBIG:
		return DELIVER_TOOBIG;
	case STORE_NOSPACE:
		return DELIVER_NOSPACE;
	default:
		return DELIVER_ERROR;
	}
}

/* Return-Path, Delivered-To and Received (RFC 5321 4.4) for a copy. */
static void trace_fields(const struct run_ctx *c, const struct deliver_rcpt *r,
                         struct buf *out)
{
	const struct deliver_envelope *env = c->env;
	if (env->sender != NULL)
		buf_printf(out, "Return-Path: <%s>\r\n", env->sender);
	buf_printf(out, "Delivered-To: %s\r\n", r->address);
	if (env->received_from == NULL)
		return;
	buf_printf(out,
	           "Received: from %s\r\n\tby %s (roost) with %s id %s\r\n"
	           "\tfor <%s>; %s\r\n",
	           env->received_from, env->hostname, env->protocol, env->id,
	           r->address, c->date);
}

static void log_result(const struct run_ctx *c, const struct deliver_rcpt *r,
                       uint64_t size)
{
	char uid[16], bytes[24];
	snprintf(uid, sizeof(uid), "%u", r->uid);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)size);
	if (r->result == DELIVER_OK)
		log_event(LOG_INFO, "delivered", "id", c->env->id, "user",
		          r->user, "mailbox", r->stored_in, "uid", uid, "size",
		          bytes, "to", r->address, NULL);
	else
		log_event(r->result == DELIVER_ERROR ? LOG_ERROR : LOG_INFO,
		          "delivery_failed", "id", c->env->id, "user", r->user,
		          "to", r->address, "reason",
		          deliver_result_text(r->result), NULL);
}

/* Store one copy for r in mailbox: its header lines put in the room in
 * front of the message, parsed once, appended (and so fsynced). */
static enum store_status store_copy_for(struct run_ctx *c, struct store *st,
                                        const char *mailbox,
                                        struct deliver_rcpt *r, size_t *size_r)
{
	struct buf head;
	buf_init(&head, DELIVER_PREFIX_ROOM);
	trace_fields(c, r, &head);
	if (head.len == 0 || head.len >= DELIVER_PREFIX_ROOM) {
		buf_free(&head);
		return STORE_ERROR;
	}
	unsigned char *start = c->map + DELIVER_PREFIX_ROOM - head.len;
	memcpy(start, head.data, head.len);
	size_t size = head.len + (size_t)c->body_len;
	buf_free(&head);
	struct derived d;
	derive_message((const char *)start, size, &d);
	struct store_cache_entry entry = {0};
	if (d.blob_ok) {
		entry.data = buf_cstr(&d.blob);
		entry.len = d.blob.len;
	}
	if (d.text_ok) {
		entry.header_text = buf_cstr(&d.header_text);
		entry.header_len = d.header_text.len;
		entry.body_text = buf_cstr(&d.body_text);
		entry.body_len = d.body_text.len;
	}
	struct store_append_msg am = {
	        .data = start, .size = size, .cache = &entry};
	uint32_t uidvalidity;
	enum store_status ret =
	        store_append(st, mailbox, &am, 1, &uidvalidity, &r->uid);
	derived_free(&d);
	*size_r = size;
	return ret;
}

/* One copy for rcpts[i], and the same result for the recipients after
 * it that go to the same user and mailbox. */
static void deliver_one(struct run_ctx *c, struct store *st, size_t i)
{
	struct deliver_rcpt *r = &c->rcpts[i];
	const char *mailbox = c->target[i];
	size_t size = 0;
	enum store_status ret = store_copy_for(c, st, mailbox, r, &size);
	if ((ret == STORE_NONEXISTENT || ret == STORE_NOSELECT) &&
	    strcmp(mailbox, "INBOX") != 0) {
		/* the folder went away since it was looked up */
		mailbox = "INBOX";
		ret = store_copy_for(c, st, mailbox, r, &size);
	}
	enum deliver_result result = result_of(ret);
	uint32_t uid = r->uid;
	r->stored_in = result == DELIVER_OK ? xstrdup(mailbox) : NULL;
	r->result = result;
	log_result(c, r, size);
	for (size_t j = i + 1; j < c->count; j++) {
		struct deliver_rcpt *o = &c->rcpts[j];
		if (c->done[j] || strcmp(o->user, r->user) != 0 ||
		    strcmp(c->target[j], c->target[i]) != 0)
			continue;
		c->done[j] = true;
		o->result = result;
		o->uid = uid;
		o->stored_in = result == DELIVER_OK ? xstrdup(mailbox) : NULL;
	}
	c->done[i] = true;
}

/* The mailbox named wanted if the user has it (exactly, else in
 * another case), or INBOX. */
static const char *pick_mailbox(const struct store_mailbox_list *list,
                                const char *wanted)
{
	if (wanted == NULL || strcasecmp(wanted, "INBOX") == 0)
		return "INBOX";
	const char *fold = NULL;
	for (size_t i = 0; i < list->count; i++) {
		const struct store_mailbox_info *mb = &list->items[i];
		if (mb->noselect)
			continue;
		if (strcmp(mb->name, wanted) == 0)
			return mb->name;
		if (fold == NULL && strcasecmp(mb->name, wanted) == 0)
			fold = mb->name;
	}
	return fold != NULL ? fold : "INBOX";
}

/* Where each recipient of user i goes. The names point into list. */
static void pick_targets(struct run_ctx *c, size_t i,
                         const struct store_mailbox_list *list)
{
	for (size_t j = i; j < c->count; j++) {
		if (c->done[j] || strcmp(c->rcpts[j].user, c->rcpts[i].user))
			continue;
		c->target[j] = pick_mailbox(list, c->rcpts[j].mailbox);
	}
}

/* Every recipient of the user of rcpts[i], on one store handle. */
static void deliver_user(struct run_ctx *c, size_t i)
{
	const char *user = c->rcpts[i].user;
	struct store_settings sset;
	deliver_store_settings(c->set, user, &sset);
	enum store_status ret = STORE_ERROR;
	struct store *st = store_open(&sset, user, &ret);
	struct store_mailbox_list list = {0};
	if (st != NULL)
		ret = store_list(st, &list);
	if (ret == STORE_OK) {
		pick_targets(c, i, &list);
		for (size_t j = i; j < c->count; j++) {
			if (!c->done[j] && strcmp(c->rcpts[j].user, user) == 0)
				deliver_one(c, st, j);
		}
	}
	for (size_t j = i; j < c->count; j++) {
		if (c->done[j] || strcmp(c->rcpts[j].user, user) != 0)
			continue;
		c->done[j] = true;
		c->rcpts[j].result = result_of(ret);
		log_result(c, &c->rcpts[j], 0);
	}
	store_mailbox_list_free(&list);
	store_close(&st);
}

/* A result for all when the message itself cannot be delivered. */
static bool refuse_all(struct deliver_msg *m, struct deliver_rcpt *rcpts,
                       size_t count)
{
	enum deliver_result r = m->failed    ? DELIVER_ERROR
	                        : m->too_big ? DELIVER_TOOBIG
	                        : m->has_nul ? DELIVER_NUL
	                                     : DELIVER_OK;
	if (r == DELIVER_OK)
		return false;
	for (size_t i = 0; i < count; i++)
		rcpts[i].result = r;
	return true;
}

void deliver_run(struct deliver_msg *m, const struct deliver_settings *set,
                 const struct deliver_envelope *env, struct deliver_rcpt *rcpts,
                 size_t count)
{
	struct run_ctx c = {.set = set,
	                    .env = env,
	                    .rcpts = rcpts,
	                    .count = count,
	                    .body_len = m->body_len};
	if (refuse_all(m, rcpts, count))
		return;
	c.map = deliver_msg_map(m);
	if (c.map == NULL) {
		m->failed = true;
		refuse_all(m, rcpts, count);
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(c.date, sizeof(c.date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	c.target = xcalloc(count, sizeof(*c.target));
	c.done = xcalloc(count, sizeof(*c.done));
	for (size_t i = 0; i < count; i++) {
		if (!c.done[i])
			deliver_user(&c, i);
	}
	free(c.target);
	free(c.done);
	deliver_msg_unmap(m, c.map);
}
