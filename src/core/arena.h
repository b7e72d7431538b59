/* Arena allocator: many small allocations freed at once. One per command
 * (cleared when the command ends) and one per parsed command line. */
#ifndef ROOST_CORE_ARENA_H
#define ROOST_CORE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_create(size_t block_bytes);
/* Free every block and the arena; sets *a to NULL. */
void arena_destroy(struct arena **a);
/* Free everything allocated so far, keeping the first block. */
void arena_clear(struct arena *a);
/* Allocate n bytes aligned for any type; never NULL (see xalloc.h). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Total bytes currently allocated from the system. */
size_t arena_allocated_bytes(const struct arena *a);

#endif
