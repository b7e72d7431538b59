/* A user's state shared by its sessions on the user's loop: the open
 * store handles.
 *
 * A store handle is an index connection with its page cache, prepared
 * statements and schema, about 150 KiB. A session borrows one for each
 * job and gives it back when the job ends, so a session between
 * commands, and above all one in IDLE, holds none: a user's sessions
 * share a few handles however many of them there are. Handles left
 * unused for SPARE_LINGER_MS are closed, so a user whose sessions all
 * idle costs no handle at all; the next job opens one again.
 *
 * All of a user's IMAP sessions live on one loop (user affinity), and
 * the table is that loop's own (thread-local), so it needs no lock.
 * A handle is used by one job at a time: the thread pool runs the job,
 * the loop lends and takes back. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/service.h"

#define USER_BUCKETS 1024
#define SPARE_MAX 4
#define SPARE_LINGER_MS 2000
#define TRIM_INTERVAL_MS 1000

struct imap_user {
	struct imap_user *next; /* in its bucket */
	char *name;
	unsigned int refs; /* sessions */
	struct store *spare[SPARE_MAX];
	size_t spare_count;
	uint64_t last_return_ms;
	struct loop *loop;
	struct loop_timer linger;
};

/* The loop's users; exists while it has any. */
struct user_table {
	struct imap_user *buckets[USER_BUCKETS];
	size_t count;
	struct loop *loop;
	struct loop_timer trim;
};

static __thread struct user_table *users;

static struct imap_user **bucket_of(const char *name)
{
	return &users->buckets[service_user_hash(name) % USER_BUCKETS];
}

/* A closed handle leaves its page cache and statements as free heap
 * that malloc keeps; give it back to the system, at most once per
 * TRIM_INTERVAL_MS, so that memory follows the number of handles. */
static void trim_cb(struct loop_timer *t)
{
	(void)t;
	malloc_trim(0);
}

static void trim_soon(void)
{
	if (!loop_timer_armed(&users->trim))
		loop_timer_start(users->loop, &users->trim, TRIM_INTERVAL_MS);
}

static void close_spares(struct imap_user *u)
{
	while (u->spare_count > 0)
		store_close(&u->spare[--u->spare_count]);
}

static void linger_cb(struct loop_timer *t)
{
	struct imap_user *u = container_of(t, struct imap_user, linger);
	uint64_t idle_ms = loop_now_ms(u->loop) - u->last_return_ms;
	if (idle_ms < SPARE_LINGER_MS) {
		loop_timer_start(u->loop, t, SPARE_LINGER_MS - idle_ms);
		return;
	}
	close_spares(u);
	trim_soon();
}

struct imap_user *imap_user_get(const char *name, struct loop *loop)
{
	if (users == NULL) {
		users = xcalloc(1, sizeof(*users));
		users->loop = loop;
		users->trim.cb = trim_cb;
	}
	struct imap_user **b = bucket_of(name);
	for (struct imap_user *u = *b; u != NULL; u = u->next) {
		if (strcmp(u->name, name) == 0) {
			u->refs++;
			return u;
		}
	}
	struct imap_user *u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(name);
	u->refs = 1;
	u->loop = loop;
	u->linger.cb = linger_cb;
	u->next = *b;
	*b = u;
	users->count++;
	return u;
}

void imap_user_put(struct imap_user **up)
{
	struct imap_user *u = *up;
	if (u == NULL)
		return;
	*up = NULL;
	if (--u->refs > 0)
		return;
	struct imap_user **pp = bucket_of(u->name);
	while (*pp != u)
		pp = &(*pp)->next;
	*pp = u->next;
	loop_timer_stop(u->loop, &u->linger);
	close_spares(u);
	free(u->name);
	free(u);
	if (--users->count == 0) {
		loop_timer_stop(users->loop, &users->trim);
		free(users);
		users = NULL;
	} else {
		trim_soon();
	}
}

struct store *imap_user_take_store(struct imap_user *u)
{
	return u->spare_count > 0 ? u->spare[--u->spare_count] : NULL;
}

void imap_user_return_store(struct imap_user *u, struct store **st)
{
	if (*st == NULL)
		return;
	if (u == NULL || u->spare_count == SPARE_MAX) {
		store_close(st);
		return;
	}
	u->spare[u->spare_count++] = *st;
	*st = NULL;
	u->last_return_ms = loop_now_ms(u->loop);
	if (!loop_timer_armed(&u->linger))
		loop_timer_start(u->loop, &u->linger, SPARE_LINGER_MS);
}
