/* Allocation wrappers. roost's out-of-memory policy: an allocation that
 * fails aborts the process (after a log line). Bounded inputs are refused
 * earlier by caps (struct buf, parser limits), so running out of memory
 * means the machine is exhausted, and limping on would risk acknowledging
 * work that is not done. The durability contract makes the abort safe:
 * nothing acknowledged lives only in memory. */
#ifndef ROOST_CORE_XALLOC_H
#define ROOST_CORE_XALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
        __attribute__((format(printf, 1, 0)));

#endif
