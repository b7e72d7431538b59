/* logfmt logging to stderr: see log.h. */
#include "core/log.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0)
			return i;
	}
	return -1;
}

static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return true;
	}
	return false;
}

static void append_value(struct buf *b, const char *v)
{
	if (!needs_quotes(v)) {
		buf_append_str(b, v);
		return;
	}
	buf_append_byte(b, '"');
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\') {
			buf_append_byte(b, '\\');
			buf_append_byte(b, c);
		} else if (c < ' ' || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_append_byte(b, c);
		}
	}
	buf_append_byte(b, '"');
}

void log_event(enum log_level level, const char *event, ...)
{
	if (level < min_level)
		return;
	struct buf b;
	buf_init(&b, 8192);
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	buf_printf(
	        &b, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	        tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	append_value(&b, event);
	va_list ap;
	va_start(ap, event);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		if (value == NULL)
			continue;
		buf_printf(&b, " %s=", key);
		append_value(&b, value);
	}
	va_end(ap);
	if (buf_append_byte(&b, '\n') < 0) {
		/* over the cap: keep the line whole and terminated */
		b.data[b.len - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, b.data, b.len);
	buf_free(&b);
}
