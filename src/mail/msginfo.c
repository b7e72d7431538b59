/* The derived-data blob of a message (msginfo.h).
 *
 * Layout: "RMI" and a version byte; the top-level header size, the Date
 * instant and its zone in minutes (8 bytes each, little-endian, the zone
 * as a two's complement); a flags byte; then
 * the strings, each as a 4-byte little-endian length, the bytes and a
 * NUL: ENVELOPE, BODY, BODYSTRUCTURE, the serialized part tree, the base
 * subject, name, mailbox and domain of From, To and Cc, Message-ID,
 * In-Reply-To and References. */
#include "mail/msginfo.h"

#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "mail/address.h"
#include "mail/bodystructure.h"
#include "mail/charset.h"
#include "mail/date.h"
#include "mail/envelope.h"
#include "mail/header.h"
#include "mail/mime.h"
#include "mail/subject.h"

#define MAGIC "RMI\x02"
#define MAGIC_LEN 4
#define FIXED_LEN (MAGIC_LEN + 25)
/* a zone is [+-]hhmm: at most 99:59 either way */
#define ZONE_MAX (99 * 60 + 59)
#define FLAG_HAS_DATE 1
#define FLAG_SUBJECT_REPLY 2

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A string field is written in place: its length is patched in once the
 * writer is done. */
static size_t field_begin(struct buf *out)
{
	size_t at = out->len;
	buf_append(out, "\0\0\0\0", 4);
	return at;
}

static int field_end(struct buf *out, size_t at)
{
	if (buf_append_byte(out, '\0') < 0 || at + 4 > out->len)
		return -1;
	uint64_t n = out->len - at - 5;
	if (n > UINT32_MAX)
		return -1;
	unsigned char *p = (unsigned char *)out->data + at;
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(n >> (8 * i));
	return 0;
}

static int put_str(struct buf *out, const void *s, size_t len)
{
	size_t at = field_begin(out);
	if (len > 0 && buf_append(out, s, len) < 0)
		return -1;
	return field_end(out, at);
}

static int put_decoded(struct buf *out, const char *s, size_t len)
{
	size_t at = field_begin(out);
	if (len > 0 && rfc2047_decode(s, len, out) < 0)
		return -1;
	return field_end(out, at);
}

static int write_envelope(struct buf *out, const char *header, size_t len,
                          void *ctx)
{
	(void)ctx;
	size_t before = out->len;
	envelope_write(out, header, len);
	return out->len > before ? 0 : -1;
}

/* ENVELOPE, BODY, BODYSTRUCTURE and the tree. */
static int put_structure(struct buf *out, const char *msg, size_t len,
                         const struct mime_part *root, size_t header_size)
{
	size_t at = field_begin(out);
	size_t before = out->len;
	envelope_write(out, msg, header_size);
	int ret = out->len > before ? field_end(out, at) : -1;
	for (int extended = 0; extended < 2 && ret == 0; extended++) {
		at = field_begin(out);
		ret = bodystructure_write(out, root, msg, len, extended,
		                          write_envelope, NULL);
		if (ret == 0)
			ret = field_end(out, at);
	}
	if (ret == 0) {
		at = field_begin(out);
		ret = mime_serialize(root, out);
		if (ret == 0)
			ret = field_end(out, at);
	}
	return ret;
}

/* The value of the first field named name, unfolded, in a; "" when
 * absent. */
static const char *field_value(struct arena *a, const char *h, size_t hlen,
                               const char *name)
{
	struct header_field f;
	if (!header_find(h, hlen, name, &f))
		return "";
	return header_unfold(a, f.value, f.value_len);
}

static int put_subject(struct buf *out, struct arena *a, const char *h,
                       size_t hlen, bool *reply_r)
{
	const char *subject = field_value(a, h, hlen, "Subject");
	struct buf decoded;
	buf_init(&decoded, out->max_bytes);
	int ret = rfc2047_decode(subject, strlen(subject), &decoded);
	size_t at = field_begin(out);
	if (ret == 0)
		ret = subject_base(out, buf_cstr(&decoded), decoded.len,
		                   reply_r);
	buf_free(&decoded);
	return ret < 0 ? -1 : field_end(out, at);
}

/* name, mailbox and domain of the first mailbox of the field. */
static int put_addr(struct buf *out, struct arena *a, const char *h,
                    size_t hlen, const char *name)
{
	const char *value = field_value(a, h, hlen, name);
	struct address_list *list = address_list_parse(value, strlen(value));
	const struct address *first = NULL;
	for (size_t i = 0; i < address_list_count(list) && first == NULL; i++) {
		const struct address *ad = address_list_get(list, i);
		if (ad->kind == ADDRESS_MAILBOX)
			first = ad;
	}
	struct address_text none = {"", 0};
	int ret = put_decoded(out, first != NULL ? first->name.data : "",
	                      first != NULL ? first->name.len : 0);
	const struct address_text *mbox =
	        first != NULL ? &first->mailbox : &none;
	const struct address_text *dom = first != NULL ? &first->domain : &none;
	if (ret == 0)
		ret = put_str(out, mbox->data, mbox->len);
	if (ret == 0)
		ret = put_str(out, dom->data, dom->len);
	address_list_free(&list);
	return ret;
}

static int put_fields(struct buf *out, const char *h, size_t hlen,
                      unsigned char *flags)
{
	static const char *const addrs[] = {"From", "To", "Cc"};
	static const char *const ids[] = {"Message-ID", "In-Reply-To",
	                                  "References"};
	struct arena *a = arena_create(4096);
	bool reply = false;
	int ret = put_subject(out, a, h, hlen, &reply);
	for (size_t i = 0; i < 3 && ret == 0; i++)
		ret = put_addr(out, a, h, hlen, addrs[i]);
	for (size_t i = 0; i < 3 && ret == 0; i++) {
		const char *v = field_value(a, h, hlen, ids[i]);
		ret = put_str(out, v, strlen(v));
	}
	arena_destroy(&a);
	if (reply)
		*flags |= FLAG_SUBJECT_REPLY;
	return ret;
}

static bool parse_date(const char *h, size_t hlen, int64_t *date_r, int *tz_r)
{
	struct header_field f;
	time_t t;
	if (!header_find(h, hlen, "Date", &f) ||
	    !date_parse(f.value, f.value_len, &t, tz_r))
		return false;
	*date_r = (int64_t)t;
	return true;
}

int msginfo_build(const char *msg, size_t len, struct buf *out)
{
	struct mime_part *root = mime_parse(msg, len);
	int ret = msginfo_build_parsed(msg, len, root, out);
	mime_free(&root);
	return ret;
}

int msginfo_build_parsed(const char *msg, size_t len,
                         const struct mime_part *root, struct buf *out)
{
	size_t start = out->len;
	size_t hlen = header_block_size(msg, len);
	unsigned char fixed[FIXED_LEN] = MAGIC;
	int64_t date = 0;
	int tz = 0;
	unsigned char flags =
	        parse_date(msg, hlen, &date, &tz) ? FLAG_HAS_DATE : 0;
	put_u64(fixed + MAGIC_LEN, hlen);
	put_u64(fixed + MAGIC_LEN + 8, (uint64_t)date);
	put_u64(fixed + MAGIC_LEN + 16, (uint64_t)(int64_t)tz);
	int ret = buf_append(out, fixed, sizeof(fixed));
	if (ret == 0)
		ret = put_structure(out, msg, len, root, hlen);
	if (ret == 0)
		ret = put_fields(out, msg, hlen, &flags);
	if (ret < 0) {
		buf_truncate(out, start);
		return -1;
	}
	((unsigned char *)out->data)[start + FIXED_LEN - 1] = flags;
	return 0;
}

struct reader {
	const unsigned char *p, *end;
};

static bool read_str(struct reader *r, const char **s_r, size_t *len_r)
{
	if (r->end - r->p < 5)
		return false;
	uint32_t n = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
	             (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	if ((size_t)(r->end - r->p - 5) < n || r->p[4 + n] != '\0')
		return false;
	*s_r = (const char *)r->p + 4;
	if (len_r != NULL)
		*len_r = n;
	r->p += 5 + (size_t)n;
	return true;
}

static bool read_addr(struct reader *r, struct msginfo_addr *a)
{
	return read_str(r, &a->name, NULL) && read_str(r, &a->mailbox, NULL) &&
	       read_str(r, &a->domain, NULL);
}

bool msginfo_parse(const void *data, size_t len, struct msginfo *info)
{
	const unsigned char *p = data;
	memset(info, 0, sizeof(*info));
	if (len < FIXED_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0)
		return false;
	info->header_size = get_u64(p + MAGIC_LEN);
	info->date = (int64_t)get_u64(p + MAGIC_LEN + 8);
	int64_t tz = (int64_t)get_u64(p + MAGIC_LEN + 16);
	if (tz < -ZONE_MAX || tz > ZONE_MAX)
		return false;
	info->date_tz_min = (int)tz;
	unsigned char flags = p[FIXED_LEN - 1];
	info->has_date = (flags & FLAG_HAS_DATE) != 0;
	info->subject_reply = (flags & FLAG_SUBJECT_REPLY) != 0;
	struct reader r = {p + FIXED_LEN, p + len};
	const char *mime = NULL;
	bool ok =
	        read_str(&r, &info->envelope, &info->envelope_len) &&
	        read_str(&r, &info->body, &info->body_len) &&
	        read_str(&r, &info->bodystructure, &info->bodystructure_len) &&
	        read_str(&r, &mime, &info->mime_len) &&
	        read_str(&r, &info->subject_base, NULL) &&
	        read_addr(&r, &info->from) && read_addr(&r, &info->to) &&
	        read_addr(&r, &info->cc) &&
	        read_str(&r, &info->message_id, NULL) &&
	        read_str(&r, &info->in_reply_to, NULL) &&
	        read_str(&r, &info->references, NULL) && r.p == r.end;
	info->mime = mime;
	if (!ok)
		memset(info, 0, sizeof(*info));
	return ok;
}
