/* Failed-login penalty per remote address (see penalty.h). A fixed-size
 * table allocated at creation: a hash index for lookups and a list in
 * order of last failure, whose head is evicted when the table is full.
 * One mutex guards it; every operation is O(1) on average. */
#include "auth/penalty.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/xalloc.h"

#define PENALTY_EXPIRE_MS (60u * 60 * 1000)
/* Longer address strings are cut (an IPv6 address with a zone fits). */
#define PENALTY_ADDR_MAX_BYTES 64
/* Failures past this do not matter: the delay has long hit max_ms. */
#define PENALTY_MAX_FAILS 32
#define PENALTY_NONE UINT32_MAX

struct penalty_entry {
	char addr[PENALTY_ADDR_MAX_BYTES];
	uint64_t last_fail_ms;
	unsigned int fails;
	uint32_t hash_next;  /* chain in the bucket */
	uint32_t prev, next; /* age list, or free list through next */
};

struct penalty {
	pthread_mutex_t lock;
	unsigned int base_ms, max_ms;
	uint32_t capacity;
	struct penalty_entry *entries;
	uint32_t *buckets; /* head entry of each chain */
	uint32_t bucket_mask;
	uint32_t oldest, newest; /* age list ends */
	uint32_t free_head;
};

struct penalty *penalty_create(unsigned int base_ms, unsigned int max_ms,
                               unsigned int max_entries)
{
	struct penalty *p = xcalloc(1, sizeof(*p));
	uint32_t buckets = 16;

	p->base_ms = base_ms;
	p->max_ms = max_ms < base_ms ? base_ms : max_ms;
	p->capacity = max_entries == 0 ? 1 : max_entries;
	if (p->capacity > UINT32_MAX / 4)
		p->capacity = UINT32_MAX / 4;
	while (buckets < p->capacity)
		buckets *= 2;
	p->entries = xcalloc(p->capacity, sizeof(*p->entries));
	p->buckets = xmalloc(buckets * sizeof(*p->buckets));
	memset(p->buckets, 0xff, buckets * sizeof(*p->buckets));
	p->bucket_mask = buckets - 1;
	for (uint32_t i = 0; i < p->capacity; i++)
		p->entries[i].next = i + 1 < p->capacity ? i + 1 : PENALTY_NONE;
	p->free_head = 0;
	p->oldest = p->newest = PENALTY_NONE;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void penalty_free(struct penalty **pp)
{
	struct penalty *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	pthread_mutex_destroy(&p->lock);
	free(p->entries);
	free(p->buckets);
	free(p);
}

static uint32_t penalty_bucket(const struct penalty *p, const char *addr)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < PENALTY_ADDR_MAX_BYTES - 1 && addr[i] != '\0';
	     i++)
		h = (h ^ (unsigned char)addr[i]) * 16777619u;
	return h & p->bucket_mask;
}

static uint32_t penalty_find(const struct penalty *p, const char *addr)
{
	uint32_t i = p->buckets[penalty_bucket(p, addr)];
	for (; i != PENALTY_NONE; i = p->entries[i].hash_next) {
		if (strncmp(p->entries[i].addr, addr,
		            PENALTY_ADDR_MAX_BYTES - 1) == 0)
			return i;
	}
	return PENALTY_NONE;
}

static void penalty_list_unlink(struct penalty *p, uint32_t i)
{
	struct penalty_entry *e = &p->entries[i];
	if (e->prev != PENALTY_NONE)
		p->entries[e->prev].next = e->next;
	else
		p->oldest = e->next;
	if (e->next != PENALTY_NONE)
		p->entries[e->next].prev = e->prev;
	else
		p->newest = e->prev;
}

static void penalty_list_append(struct penalty *p, uint32_t i)
{
	struct penalty_entry *e = &p->entries[i];
	e->prev = p->newest;
	e->next = PENALTY_NONE;
	if (p->newest != PENALTY_NONE)
		p->entries[p->newest].next = i;
	else
		p->oldest = i;
	p->newest = i;
}

static void penalty_remove(struct penalty *p, uint32_t i)
{
	uint32_t *link = &p->buckets[penalty_bucket(p, p->entries[i].addr)];
	while (*link != i)
		link = &p->entries[*link].hash_next;
	*link = p->entries[i].hash_next;
	penalty_list_unlink(p, i);
	p->entries[i].next = p->free_head;
	p->free_head = i;
}

/* A new entry for addr, evicting the oldest when the table is full. */
static uint32_t penalty_add(struct penalty *p, const char *addr)
{
	if (p->free_head == PENALTY_NONE)
		penalty_remove(p, p->oldest);
	uint32_t i = p->free_head;
	struct penalty_entry *e = &p->entries[i];
	p->free_head = e->next;

	memset(e->addr, 0, sizeof(e->addr));
	strncpy(e->addr, addr, sizeof(e->addr) - 1);
	e->fails = 0;
	uint32_t b = penalty_bucket(p, e->addr);
	e->hash_next = p->buckets[b];
	p->buckets[b] = i;
	penalty_list_append(p, i);
	return i;
}

static bool penalty_expired(const struct penalty_entry *e, uint64_t now_ms)
{
	return now_ms >= e->last_fail_ms &&
	       now_ms - e->last_fail_ms >= PENALTY_EXPIRE_MS;
}

/* base_ms doubled for each failure after the first, up to max_ms */
static unsigned int penalty_delay_of(const struct penalty *p,
                                     unsigned int fails)
{
	uint64_t delay = p->base_ms;
	for (unsigned int k = 1; k < fails && delay < p->max_ms; k++)
		delay *= 2;
	return delay > p->max_ms ? p->max_ms : (unsigned int)delay;
}

unsigned int penalty_delay_ms(struct penalty *p, const char *addr,
                              uint64_t now_ms)
{
	unsigned int delay = 0;
	pthread_mutex_lock(&p->lock);
	uint32_t i = penalty_find(p, addr);
	if (i != PENALTY_NONE && penalty_expired(&p->entries[i], now_ms))
		penalty_remove(p, i);
	else if (i != PENALTY_NONE)
		delay = penalty_delay_of(p, p->entries[i].fails);
	pthread_mutex_unlock(&p->lock);
	return delay;
}

void penalty_fail(struct penalty *p, const char *addr, uint64_t now_ms)
{
	pthread_mutex_lock(&p->lock);
	uint32_t i = penalty_find(p, addr);
	if (i != PENALTY_NONE && penalty_expired(&p->entries[i], now_ms))
		p->entries[i].fails = 0;
	if (i == PENALTY_NONE)
		i = penalty_add(p, addr);
	struct penalty_entry *e = &p->entries[i];
	if (e->fails < PENALTY_MAX_FAILS)
		e->fails++;
	e->last_fail_ms = now_ms;
	/* newest failure last: the list head is the one to evict */
	penalty_list_unlink(p, i);
	penalty_list_append(p, i);
	pthread_mutex_unlock(&p->lock);
}

void penalty_success(struct penalty *p, const char *addr)
{
	pthread_mutex_lock(&p->lock);
	uint32_t i = penalty_find(p, addr);
	if (i != PENALTY_NONE)
		penalty_remove(p, i);
	pthread_mutex_unlock(&p->lock);
}
