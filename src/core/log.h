/* Structured logging: one logfmt line per event on stderr,
 *   ts=2026-11-22T10:00:00.123Z level=info event=login user=alice ...
 * Values are quoted when they hold spaces, quotes, '=' or control bytes,
 * and control bytes are escaped, so a client cannot forge log lines.
 * Thread-safe: each line is written with one write(2). */
#ifndef ROOST_CORE_LOG_H
#define ROOST_CORE_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *name);

/* Log an event with key/value string pairs ending in NULL:
 *   log_event(LOG_INFO, "login", "user", name, "remote", addr, NULL);
 * A NULL value is skipped with its key. */
void log_event(enum log_level level, const char *event, ...)
        __attribute__((sentinel));

#endif
