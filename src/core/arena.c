/* Arena allocator: see arena.h. Blocks form a list; the first block is
 * kept across arena_clear() so a steady stream of small commands costs no
 * system allocations. */
#include "core/arena.h"

#include <stdalign.h>
#include <string.h>

#include "core/xalloc.h"

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_block *head; /* newest block first */
	size_t block_bytes;
	size_t allocated_bytes;
};

static struct arena_block *block_new(struct arena *a, size_t size)
{
	struct arena_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	a->allocated_bytes += size;
	return b;
}

struct arena *arena_create(size_t block_bytes)
{
	struct arena *a = xcalloc(1, sizeof(*a));
	a->block_bytes = block_bytes < 256 ? 256 : block_bytes;
	return a;
}

void arena_clear(struct arena *a)
{
	struct arena_block *b = a->head;
	if (b == NULL)
		return;
	while (b->next != NULL) {
		struct arena_block *next = b->next;
		a->allocated_bytes -= b->size;
		free(b);
		b = next;
	}
	/* keep the oldest block only if it is the standard size */
	if (b->size != a->block_bytes) {
		a->allocated_bytes -= b->size;
		free(b);
		a->head = NULL;
		return;
	}
	b->used = 0;
	a->head = b;
}

void arena_destroy(struct arena **ap)
{
	struct arena *a = *ap;
	if (a == NULL)
		return;
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
	free(a);
	*ap = NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > a->block_bytes ? n : a->block_bytes;
		struct arena_block *nb = block_new(a, size);
		if (n > a->block_bytes && b != NULL) {
			/* oversized: put it behind the current block so
			 * that block keeps serving small requests */
			nb->next = b->next;
			b->next = nb;
			nb->used = n;
			return nb->data;
		}
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t arena_allocated_bytes(const struct arena *a)
{
	return a->allocated_bytes;
}
