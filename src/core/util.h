/* Small helpers shared by every layer. */
#ifndef ROOST_CORE_UTIL_H
#define ROOST_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock. */
uint64_t time_now_ms(void);
/* Parse a decimal unsigned number in [min, max]; returns 0 or -1. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out_r);
/* Parse a byte count with an optional binary suffix (512, 64K, 50M, 2G,
 * 1T; any case) in [min, max]; returns 0 or -1. */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out_r);
/* Parse yes/no/true/false/on/off/1/0; returns 0 or -1. */
int parse_bool(const char *s, bool *out_r);
/* Write all n bytes of data to fd, going on after short writes and
 * EINTR; 0, or -1 with errno set. */
int write_full(int fd, const void *data, size_t n);
/* Write len bytes to path atomically: temporary file, fsync, rename,
 * fsync of the directory. Returns 0 or -1 with errno set. */
int write_file_atomic(const char *path, const void *data, size_t len,
                      unsigned int mode);
/* mkdir -p with mode for created directories; 0 or -1 with errno. */
int mkdir_p(const char *path, unsigned int mode);
/* Fill buf with n random bytes from the kernel; 0 or -1. */
int random_bytes(void *buf, size_t n);

#endif
