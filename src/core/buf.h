/* Growable byte buffer with a mandatory cap.
 *
 * Every buffer is created with the most bytes it may ever hold; an append
 * that would pass it fails instead of growing, so no input can make the
 * server allocate without bound. Strings are the same type: the data is
 * always NUL-terminated just past len (the terminator is not counted). */
#ifndef ROOST_CORE_BUF_H
#define ROOST_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	unsigned char *data; /* NULL until the first append */
	size_t len;          /* bytes in use */
	size_t size;         /* bytes allocated */
	size_t max_bytes;    /* cap on len */
};

/* Initialise an empty buffer that may hold at most max_bytes. */
void buf_init(struct buf *b, size_t max_bytes);
/* Release the memory; the buffer is empty and usable again. */
void buf_free(struct buf *b);
/* Empty the buffer, keeping its allocation. */
void buf_reset(struct buf *b);

/* Append n bytes. Returns 0, or -1 if len would pass max_bytes (the
 * buffer is then unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, unsigned char c);
int buf_printf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Room to write at least n more bytes directly at data + len; returns a
 * pointer there, or NULL when that would pass max_bytes. Commit the bytes
 * written with buf_commit(). */
unsigned char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* The contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);
/* Bytes that may still be appended before the cap. */
size_t buf_room(const struct buf *b);

#endif
