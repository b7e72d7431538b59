/* IMAP ENVELOPE (RFC 3501 section 7.4.2, formal syntax in section 9)
 * from a header block: header.h finds and unfolds the fields, address.h
 * parses and writes the address lists, imap-quote.h the strings. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "mail/address.h"
#include "mail/envelope.h"
#include "mail/header.h"
#include "proto/imap-quote.h"

enum env_field {
	ENV_DATE,
	ENV_SUBJECT,
	ENV_FROM,
	ENV_SENDER,
	ENV_REPLY_TO,
	ENV_TO,
	ENV_CC,
	ENV_BCC,
	ENV_IN_REPLY_TO,
	ENV_MESSAGE_ID,
	ENV_FIELD_COUNT
};

/* in ENVELOPE order */
static const char *const env_names[ENV_FIELD_COUNT] = {
        "Date", "Subject", "From", "Sender",      "Reply-To",
        "To",   "Cc",      "Bcc",  "In-Reply-To", "Message-ID",
};

struct envelope {
	/* unfolded values, NULL when absent */
	const char *values[ENV_FIELD_COUNT];
	size_t value_lens[ENV_FIELD_COUNT];
	struct address_list *lists[ENV_FIELD_COUNT]; /* address members */
};

static bool is_address_field(enum env_field f)
{
	return f >= ENV_FROM && f <= ENV_BCC;
}

static int field_index(const struct header_field *field)
{
	for (int f = 0; f < ENV_FIELD_COUNT; f++) {
		if (field->name_len == strlen(env_names[f]) &&
		    strncasecmp(field->name, env_names[f], field->name_len) ==
		            0)
			return f;
	}
	return -1;
}

/* One pass over the fields; the first of each name counts. */
static void envelope_read(struct envelope *env, struct arena *a,
                          const char *header, size_t len)
{
	struct header_iter it;
	struct header_field field;

	memset(env, 0, sizeof(*env));
	header_iter_init(&it, header, header_block_size(header, len));
	while (header_iter_next(&it, &field)) {
		int f = field_index(&field);

		if (f < 0 || env->values[f] != NULL)
			continue;
		env->values[f] = header_unfold(a, field.value, field.value_len);
		env->value_lens[f] = strlen(env->values[f]);
		if (is_address_field(f))
			env->lists[f] = address_list_parse(env->values[f],
			                                   env->value_lens[f]);
	}
}

static void envelope_free(struct envelope *env)
{
	for (int f = 0; f < ENV_FIELD_COUNT; f++)
		address_list_free(&env->lists[f]);
}

static int write_member(struct buf *out, const struct envelope *env,
                        enum env_field f)
{
	if (!is_address_field(f))
		return imap_write_nstring(out, env->values[f],
		                          env->value_lens[f]);
	const struct address_list *list = env->lists[f];
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From */
	if ((f == ENV_SENDER || f == ENV_REPLY_TO) &&
	    address_list_count(list) == 0)
		list = env->lists[ENV_FROM];
	return address_list_write_imap(out, list);
}

void envelope_write(struct buf *out, const char *header, size_t len)
{
	struct arena *a = arena_create(len + 256);
	struct envelope env;
	size_t start = out->len;
	int ret = buf_append_byte(out, '(');

	envelope_read(&env, a, header, len);
	for (int f = 0; f < ENV_FIELD_COUNT && ret == 0; f++) {
		if (f > 0)
			ret = buf_append_byte(out, ' ');
		if (ret == 0)
			ret = write_member(out, &env, f);
	}
	if (ret == 0)
		ret = buf_append_byte(out, ')');
	if (ret < 0)
		buf_truncate(out, start);
	envelope_free(&env);
	arena_destroy(&a);
}
