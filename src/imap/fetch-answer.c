/* FETCH's answers (RFC 3501 7.4.2), one message at a time.
 *
 * ENVELOPE, BODY and BODYSTRUCTURE come from the derived data the index
 * keeps for each message (imap-msginfo.h), and so does the part tree a
 * section is looked up in: a FETCH reads a message file only for the
 * bytes it sends, and only those bytes. A section larger than
 * FETCH_STREAM_MIN is sent straight from the file in slices of about
 * FETCH_SLICE as the client reads them, so its size does not matter to
 * the server's memory. BINARY decodes the same way, in two passes over
 * the part: one to learn the decoded size the literal starts with, one
 * to send. The whole answer is produced the same way: the
 * job returns after about FETCH_SLICE bytes and is called again when the
 * client has read them, so FETCH 1:* starts sending at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "imap/fetch.h"
#include "imap/imap-view.h"
#include "mail/decode.h"
#include "mail/header.h"

#define FETCH_SLICE (256 * 1024)
#define FETCH_STREAM_MIN (64 * 1024)

static void write_internaldate(struct buf *out, const struct store_msg *m)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(m->internaldate + (int64_t)m->tz_offset_min * 60);
	struct tm tm;
	gmtime_r(&t, &tm);
	int off = m->tz_offset_min < 0 ? -m->tz_offset_min : m->tz_offset_min;
	buf_printf(out,
	           "INTERNALDATE \"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
	           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	           tm.tm_min, tm.tm_sec, m->tz_offset_min < 0 ? '-' : '+',
	           off / 60, off % 60);
}

/* len bytes of the file at off appended to out; false if they could not
 * all be read (out then has what could). */
static bool read_range(int fd, uint64_t off, size_t len, struct buf *out)
{
	unsigned char *p = buf_reserve(out, len);
	size_t got = 0;
	while (p != NULL && got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (p != NULL)
		buf_commit(out, got);
	return got == len;
}

static bool field_listed(const struct fetch_item *it,
                         const struct header_field *f)
{
	for (size_t i = 0; i < it->field_count; i++) {
		if (strlen(it->fields[i]) == f->name_len &&
		    strncasecmp(it->fields[i], f->name, f->name_len) == 0)
			return true;
	}
	return false;
}

/* Does the header block h end with the empty line? Not when the
 * message has no body and no empty line (header_block_size then gives
 * all of it). */
static bool ends_with_empty_line(const char *h, size_t len)
{
	if (len > 0 && h[len - 1] == '\n')
		len--;
	else
		return false;
	if (len > 0 && h[len - 1] == '\r')
		len--;
	return len == 0 || h[len - 1] == '\n';
}

/* HEADER.FIELDS / .NOT of the header block h: the chosen fields, then
 * the empty line if the block has one (RFC 3501 6.4.5). */
static void filter_header(const struct fetch_item *it, const char *h,
                          size_t len, struct buf *out)
{
	struct header_iter iter;
	struct header_field f;
	header_iter_init(&iter, h, len);
	while (header_iter_next(&iter, &f)) {
		if (field_listed(it, &f) == (it->section == SEC_FIELDS))
			buf_append(out, h + f.offset, f.size);
	}
	if (ends_with_empty_line(h, len))
		buf_append_str(out, "\r\n");
}

/* NUL bytes of out from start on become 0x80: a literal is CHAR8, which
 * has no NUL (RFC 3501 section 9), and the length stays. Only mail that
 * reached the Maildir other than by APPEND can hold them. */
static void replace_nul(struct buf *out, size_t start)
{
	if (out->len <= start)
		return;
	unsigned char *p = (unsigned char *)out->data;
	for (unsigned char *z = memchr(p + start, '\0', out->len - start);
	     z != NULL; z = memchr(z, '\0', out->len - (size_t)(z - p)))
		*z++ = 0x80;
}

/* n bytes of the file at off appended to out, for a literal. Should the
 * file not give them (it cannot shrink: message files are never
 * rewritten), spaces take their place, since the literal's length is
 * already sent. */
static void literal_bytes(struct fetch_ctx *c, struct buf *out, uint64_t off,
                          size_t n)
{
	size_t before = out->len;
	bool ok = read_range(c->cur.fd, off, n, out);
	replace_nul(out, before);
	if (ok)
		return;
	if (!c->read_error) {
		char uid[16];
		snprintf(uid, sizeof(uid), "%u", c->cur.m->uid);
		log_event(LOG_ERROR, "fetch_read_error", "uid", uid, "error",
		          out->len == before ? "read failed" : "short file",
		          NULL);
	}
	c->read_error = true;
	unsigned char *p = buf_reserve(out, n - (out->len - before));
	if (p != NULL) {
		memset(p, ' ', n - (out->len - before));
		buf_commit(out, n - (out->len - before));
	}
}

/* The bytes of the file a section names (at *off_r, *len_r long) and
 * the part (NULL at the top); false if there is no such part. */
static bool section_range(struct fetch_msg *f, const struct fetch_item *it,
                          uint64_t *off_r, uint64_t *len_r,
                          const struct mime_part **part_r)
{
	uint64_t hs = f->mi.info.header_size;
	*part_r = NULL;
	if (it->depth == 0 && it->section != SEC_MIME) {
		if (hs > f->size)
			return false;
		*off_r = it->section == SEC_TEXT ? hs : 0;
		*len_r = it->section == SEC_ALL    ? f->size
		         : it->section == SEC_TEXT ? f->size - hs
		                                   : hs;
		return true;
	}
	static const enum mime_section_kind kinds[] = {
	        [SEC_ALL] = MIME_SECTION_ALL,
	        [SEC_HEADER] = MIME_SECTION_HEADER,
	        [SEC_TEXT] = MIME_SECTION_TEXT,
	        [SEC_MIME] = MIME_SECTION_MIME,
	        [SEC_FIELDS] = MIME_SECTION_HEADER,
	        [SEC_FIELDS_NOT] = MIME_SECTION_HEADER,
	};
	if (f->root == NULL)
		f->root =
		        mime_deserialize(f->mi.info.mime, f->mi.info.mime_len);
	struct mime_section r;
	if (f->root == NULL ||
	    !mime_section_find(f->root, it->path, it->depth, kinds[it->section],
	                       &r) ||
	    r.offset + r.size > f->size)
		return false;
	*off_r = r.offset;
	*len_r = r.size;
	*part_r = r.part;
	return true;
}

/* <origin.count> applied to a range of len bytes at *off. */
static uint64_t apply_partial(const struct fetch_item *it, uint64_t *off,
                              uint64_t len)
{
	if (!it->partial)
		return len;
	uint64_t from = it->origin < len ? it->origin : len;
	*off += from;
	return len - from < it->count ? len - from : it->count;
}

enum item_result {
	ITEM_DONE,
	ITEM_FLAGS, /* it was FLAGS */
	ITEM_STREAM /* a literal's bytes follow from the file */
};

/* HEADER.FIELDS[.NOT]: the header read and filtered. */
static void write_fields(struct fetch_ctx *c, struct buf *out,
                         const struct fetch_item *it, uint64_t off,
                         uint64_t len)
{
	struct buf h, part;
	buf_init(&h, SIZE_MAX);
	buf_init(&part, SIZE_MAX);
	literal_bytes(c, &h, off, (size_t)len);
	filter_header(it, (const char *)buf_cstr(&h), h.len, &part);
	uint64_t from = 0, n = apply_partial(it, &from, part.len);
	buf_printf(out, "%s {%llu}\r\n", it->label, (unsigned long long)n);
	buf_append(out, buf_cstr(&part) + from, (size_t)n);
	buf_free(&h);
	buf_free(&part);
}

static enum item_result write_body(struct fetch_ctx *c, struct buf *out,
                                   const struct fetch_item *it)
{
	uint64_t off, len;
	const struct mime_part *part;
	if (!section_range(&c->cur, it, &off, &len, &part)) {
		/* no such part (RFC 3501 leaves it open; NIL, as others do) */
		buf_printf(out, "%s NIL", it->label);
		return ITEM_DONE;
	}
	if (it->section == SEC_FIELDS || it->section == SEC_FIELDS_NOT) {
		write_fields(c, out, it, off, len);
		return ITEM_DONE;
	}
	len = apply_partial(it, &off, len);
	buf_printf(out, "%s {%llu}\r\n", it->label, (unsigned long long)len);
	if (len >= FETCH_STREAM_MIN) {
		c->stream_off = off;
		c->stream_left = len;
		return ITEM_STREAM;
	}
	literal_bytes(c, out, off, (size_t)len);
	return ITEM_DONE;
}

/* Decoded bytes of a BINARY part as they come out of the decoder. */
static int count_decoded(void *ctx, const void *data, size_t len)
{
	struct fetch_ctx *c = ctx;
	/* a NUL counts only within what will be sent (bin_skip, bin_left
	 * give the wanted range here) */
	uint64_t lo = c->bin_size > c->bin_skip ? c->bin_size : c->bin_skip;
	uint64_t end = c->bin_skip + c->bin_left;
	uint64_t hi = c->bin_size + len < end ? c->bin_size + len : end;
	if (lo < hi)
		c->bin_nul |= memchr((const char *)data + (lo - c->bin_size),
		                     '\0', (size_t)(hi - lo)) != NULL;
	c->bin_size += len;
	return 0;
}

static int emit_decoded(void *ctx, const void *data, size_t len)
{
	struct fetch_ctx *c = ctx;
	const char *p = data;
	size_t skip = c->bin_skip < len ? (size_t)c->bin_skip : len;
	c->bin_skip -= skip;
	size_t take = len - skip < c->bin_left ? len - skip : c->bin_left;
	buf_append(c->bin_out, p + skip, take);
	c->bin_left -= take;
	return 0;
}

/* Feed n bytes of the part at off to the decoder. */
static void feed_range(struct fetch_ctx *c, uint64_t off, size_t n)
{
	struct buf raw;
	buf_init(&raw, SIZE_MAX);
	if (!read_range(c->cur.fd, off, n, &raw))
		c->read_error = true;
	decode_feed(c->dec, buf_cstr(&raw), raw.len);
	buf_free(&raw);
}

/* Decode the part once to learn its decoded size (and whether it holds
 * a NUL): a literal's length comes before its bytes. */
static void count_part(struct fetch_ctx *c, enum decode_cte cte, uint64_t off,
                       uint64_t len)
{
	c->bin_size = 0;
	c->bin_nul = false;
	c->dec = decode_new(cte, count_decoded, c);
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < FETCH_SLICE ? (size_t)(len - done)
		                                    : FETCH_SLICE;
		feed_range(c, off + done, n);
		done += n;
	}
	decode_finish(c->dec);
	decode_free(&c->dec);
}

/* BINARY[part] and BINARY.SIZE[part]: the part transfer-decoded, sent
 * as the file is read (stream_some), never held whole. */
static enum item_result write_binary(struct fetch_ctx *c, struct buf *out,
                                     const struct fetch_item *it)
{
	uint64_t off = 0, len = 0;
	const struct mime_part *part = NULL;
	bool found = section_range(&c->cur, it, &off, &len, &part);
	enum decode_cte cte = DECODE_IDENTITY;
	if (part != NULL && part->encoding != NULL)
		cte = decode_cte_parse(part->encoding, strlen(part->encoding));
	if (cte == DECODE_UNKNOWN) {
		c->unknown_cte = true;
		buf_printf(out, "%s NIL", it->label);
		return ITEM_DONE;
	}
	len = found ? len : 0; /* no such part: empty */
	c->bin_skip = it->partial ? it->origin : 0;
	c->bin_left = it->partial ? it->count : UINT64_MAX - c->bin_skip;
	count_part(c, cte, off, len);
	if (it->kind == F_BINARY_SIZE) {
		buf_printf(out, "%s %llu", it->label,
		           (unsigned long long)c->bin_size);
		return ITEM_DONE;
	}
	uint64_t from = 0;
	c->bin_left = apply_partial(it, &from, c->bin_size);
	c->bin_skip = from;
	/* literal8 where the bytes hold a NUL (RFC 3516 4.2) */
	buf_printf(out, "%s %s{%llu}\r\n", it->label, c->bin_nul ? "~" : "",
	           (unsigned long long)c->bin_left);
	if (c->bin_left == 0)
		return ITEM_DONE;
	c->dec = decode_new(cte, emit_decoded, c);
	c->stream_off = off;
	c->stream_left = len;
	return ITEM_STREAM;
}

static enum item_result write_item(struct fetch_ctx *c, struct buf *out,
                                   const struct fetch_item *it)
{
	const struct fetch_msg *f = &c->cur;
	const struct msginfo *info = &f->mi.info;
	switch (it->kind) {
	case F_FLAGS:
		buf_append_str(out, "FLAGS ");
		imap_view_write_flags(f->m, out);
		return ITEM_FLAGS;
	case F_UID:
		buf_printf(out, "UID %u", f->m->uid);
		break;
	case F_INTERNALDATE:
		write_internaldate(out, f->m);
		break;
	case F_SIZE:
		buf_printf(out, "RFC822.SIZE %llu",
		           (unsigned long long)f->m->size);
		break;
	case F_ENVELOPE:
		buf_append_str(out, "ENVELOPE ");
		buf_append(out, info->envelope, info->envelope_len);
		break;
	case F_STRUCTURE:
		buf_append_str(out, it->extended ? "BODYSTRUCTURE " : "BODY ");
		buf_append(out, it->extended ? info->bodystructure : info->body,
		           it->extended ? info->bodystructure_len
		                        : info->body_len);
		break;
	case F_BODY:
		return write_body(c, out, it);
	case F_BINARY:
	case F_BINARY_SIZE:
		return write_binary(c, out, it);
	case F_MODSEQ:
		buf_printf(out, "MODSEQ (%llu)",
		           (unsigned long long)f->m->modseq);
		break;
	}
	return ITEM_DONE;
}

/* What the items need of a message: its derived data, its file. */
static void items_need(const struct fetch_ctx *c, bool *info_r, bool *file_r)
{
	*info_r = *file_r = false;
	for (size_t n = 0; n < c->item_count; n++) {
		const struct fetch_item *it = &c->items[n];
		bool body = it->kind == F_BODY || it->kind == F_BINARY ||
		            it->kind == F_BINARY_SIZE;
		/* the whole message needs no part tree nor header size */
		bool whole = it->depth == 0 && it->section == SEC_ALL;
		*info_r |= it->kind == F_ENVELOPE || it->kind == F_STRUCTURE ||
		           (body && !whole);
		*file_r |= body;
	}
}

static void release_msg(struct fetch_ctx *c)
{
	struct fetch_msg *f = &c->cur;
	if (!c->in_msg)
		return;
	imap_msginfo_free(&f->mi);
	mime_free(&f->root);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	c->in_msg = false;
	c->stream_left = 0;
	decode_free(&c->dec);
}

void fetch_release(struct fetch_ctx *c)
{
	release_msg(c);
	if (c->loader_ready)
		imap_msginfo_loader_discard(&c->loader);
}

/* Start answering message c->pos: what it needs loaded, "* n FETCH (".
 * False if the message is gone. */
static bool begin_message(struct imap_job *job, struct store *st)
{
	struct fetch_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	struct fetch_msg *f = &c->cur;
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->m = &v->msgs[c->idx[c->pos]];
	c->in_msg = true;
	c->item_pos = 0;
	bool info, file;
	items_need(c, &info, &file);
	if (info && !c->loader_ready) {
		imap_msginfo_loader_init(&c->loader, st, v->mailbox_id);
		c->loader_ready = true;
	}
	enum store_status ret = STORE_OK;
	if ((info && !imap_msginfo_load(&c->loader, f->m->uid, &f->mi)) ||
	    (file &&
	     (ret = store_open_message(st, v->mailbox_id, f->m->uid, &f->fd,
	                               &f->size)) != STORE_OK)) {
		/* gone: expunged by another session (a UID FETCH ignores
		 * it, RFC 3501 6.4.8), unless the file could not be read */
		if (!c->uid || (ret != STORE_OK && ret != STORE_NONEXISTENT))
			c->missing = true;
		release_msg(c);
		return false;
	}
	buf_printf(&job->io.out, "* %zu FETCH (", c->idx[c->pos] + 1);
	return true;
}

/* The message's items from c->item_pos; false if one left a literal to
 * stream from the file first. */
static bool write_items(struct fetch_ctx *c, struct buf *out)
{
	while (c->item_pos < c->item_count) {
		const struct fetch_item *it = &c->items[c->item_pos++];
		if (c->item_pos > 1)
			buf_append_byte(out, ' ');
		enum item_result r = write_item(c, out, it);
		if (r == ITEM_FLAGS)
			c->cur.flags_done = true;
		if (r == ITEM_STREAM)
			return false;
	}
	return true;
}

static void finish_message(struct fetch_ctx *c, struct buf *out)
{
	const struct store_msg *m = c->cur.m;
	if (c->changed != NULL && c->changed[c->pos]) {
		/* \Seen was set: the new flags, and RFC 7162 3.2.4's UID
		 * and MODSEQ once CONDSTORE-aware */
		if (!c->cur.flags_done) {
			buf_append_str(out, " FLAGS ");
			imap_view_write_flags(m, out);
		}
		if (c->condstore && !c->has_uid)
			buf_printf(out, " UID %u", m->uid);
		if (c->condstore && !c->has_modseq)
			buf_printf(out, " MODSEQ (%llu)",
			           (unsigned long long)m->modseq);
	}
	buf_append_str(out, ")\r\n");
	release_msg(c);
}

/* The next slice of a literal sent from the file: its bytes, or
 * decoded (BINARY). A part that decodes to fewer bytes than counted
 * before (the file cannot change, so only a read error does that) is
 * padded with spaces to the length already sent. */
static void stream_some(struct fetch_ctx *c, struct buf *out)
{
	size_t n = c->stream_left < FETCH_SLICE ? (size_t)c->stream_left
	                                        : FETCH_SLICE;
	if (c->dec == NULL) {
		literal_bytes(c, out, c->stream_off, n);
	} else {
		c->bin_out = out;
		feed_range(c, c->stream_off, n);
	}
	c->stream_off += n;
	c->stream_left -= n;
	if (c->stream_left > 0 || c->dec == NULL)
		return;
	decode_finish(c->dec);
	decode_free(&c->dec);
	for (; c->bin_left > 0; c->bin_left--)
		buf_append_byte(out, ' ');
}

/* Non-PEEK body fetches set \Seen first (RFC 3501 6.4.5). */
static void set_seen(struct imap_job *job, struct store *st)
{
	struct fetch_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	uint32_t *uids = xmalloc((c->count + 1) * sizeof(*uids));
	size_t n = 0;
	c->changed = xcalloc(c->count + 1, sizeof(bool));
	for (size_t k = 0; k < c->count; k++) {
		if ((v->msgs[c->idx[k]].flags & STORE_FLAG_SEEN) == 0) {
			uids[n++] = v->msgs[c->idx[k]].uid;
			c->changed[k] = true;
		}
	}
	struct store_msg *res = NULL;
	size_t res_count = 0;
	if (n > 0 && store_set_flags(st, v->mailbox_id, uids, n,
	                             STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
	                             &res, &res_count) == STORE_OK) {
		for (size_t i = 0; i < res_count; i++) {
			imap_view_update(v, &res[i]);
			store_msg_free(&res[i]);
		}
	}
	free(res);
	free(uids);
}

static void fetch_reply(struct imap_job *job)
{
	struct fetch_ctx *c = job->ctx;
	if (c->loader_ready)
		imap_msginfo_loader_flush(&c->loader);
	if (c->read_error)
		imap_job_reply(job, "NO",
		               "[SERVERBUG] A message file could not be read");
	else if (c->unknown_cte)
		imap_job_reply(
		        job, "NO",
		        "[UNKNOWN-CTE] A part's content-transfer-encoding "
		        "is not one the server can decode");
	else if (c->missing)
		imap_job_reply(
		        job, "NO",
		        "Some of the requested messages no longer exist");
	else
		imap_job_reply(job, "OK", "%s completed",
		               c->partial_cmd ? "PARTIAL" : "FETCH");
}

void fetch_work(struct imap_job *job)
{
	struct fetch_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	if (c->vanished && !c->vanished_done) {
		/* RFC 7162 3.2.6: before any FETCH response */
		c->vanished_done = true;
		enum store_status ret = imap_view_write_vanished_earlier(
		        job->s->view, st, &c->vanished_set, 1, c->changedsince,
		        &job->io.out);
		if (ret != STORE_OK) {
			imap_job_fail(job, ret, false);
			return;
		}
	}
	if (c->sets_seen && c->changed == NULL && !job->s->view->readonly)
		set_seen(job, st);
	while (c->pos < c->count) {
		if (job->io.out.len >= FETCH_SLICE) {
			job->io.more = true;
			return;
		}
		if (c->stream_left > 0) {
			stream_some(c, &job->io.out);
		} else if (!c->in_msg && !begin_message(job, st)) {
			c->pos++;
		} else if (write_items(c, &job->io.out) &&
		           c->stream_left == 0) {
			finish_message(c, &job->io.out);
			c->pos++;
		}
	}
	fetch_reply(job);
}
