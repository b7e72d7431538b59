/* libFuzzer target for the derived-data blob (msginfo.h).
 *
 * The input is taken as a message: its blob must be built and read back
 * with every string inside the blob and the tree deserialisable. The
 * input is also read as a blob as it is, which must fail or give strings
 * inside the input. The message's searchable texts must be built and
 * be valid UTF-8, since SQLite's full-text index takes them as text. */
#include <stdint.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/mime.h"
#include "mail/charset.h"
#include "mail/msginfo.h"
#include "mail/searchtext.h"

static bool inside(const void *s, size_t len, const void *base, size_t size)
{
	const char *p = s, *b = base;
	return p >= b && p + len < b + size && p[len] == '\0';
}

static void check_info(const struct msginfo *m, const void *base, size_t size)
{
	CHECK(inside(m->envelope, m->envelope_len, base, size));
	CHECK(inside(m->body, m->body_len, base, size));
	CHECK(inside(m->bodystructure, m->bodystructure_len, base, size));
	CHECK(inside(m->mime, m->mime_len, base, size));
	const char *strs[] = {m->subject_base, m->from.name,  m->from.mailbox,
	                      m->from.domain,  m->to.name,    m->to.mailbox,
	                      m->to.domain,    m->cc.name,    m->cc.mailbox,
	                      m->cc.domain,    m->message_id, m->in_reply_to,
	                      m->references};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		CHECK(inside(strs[i], strlen(strs[i]), base, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf blob;
	struct msginfo info;
	buf_init(&blob, 1 << 24);
	CHECK(msginfo_build((const char *)data, size, &blob) == 0);
	CHECK(msginfo_parse(blob.data, blob.len, &info));
	check_info(&info, blob.data, blob.len);
	CHECK(info.header_size <= size);
	struct mime_part *root = mime_deserialize(info.mime, info.mime_len);
	CHECK(root != NULL);
	mime_free(&root);
	buf_free(&blob);
	struct buf header, body;
	buf_init(&header, 1 << 24);
	buf_init(&body, 1 << 24);
	CHECK(searchtext_build((const char *)data, size, &header, &body) == 0);
	CHECK(charset_utf8_valid(buf_cstr(&header), header.len));
	CHECK(charset_utf8_valid(buf_cstr(&body), body.len));
	buf_free(&header);
	buf_free(&body);
	if (msginfo_parse(data, size, &info))
		check_info(&info, data, size);
	return 0;
}
