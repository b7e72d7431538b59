/* Failed-login penalty per remote address: each failure doubles the
 * delay before that address's next login answer, from base_ms up to
 * max_ms; a success or an hour without failures clears it. Shared by all
 * worker threads (internally locked), bounded in entries (oldest evicted). */
#ifndef ROOST_AUTH_PENALTY_H
#define ROOST_AUTH_PENALTY_H

#include <stdint.h>

struct penalty;

struct penalty *penalty_create(unsigned int base_ms, unsigned int max_ms,
                               unsigned int max_entries);
void penalty_free(struct penalty **p);
/* Delay in ms to apply before answering a login attempt from addr
 * (a printable address string), given the time now_ms. */
unsigned int penalty_delay_ms(struct penalty *p, const char *addr,
                              uint64_t now_ms);
void penalty_fail(struct penalty *p, const char *addr, uint64_t now_ms);
void penalty_success(struct penalty *p, const char *addr);

#endif
