/* Derived data for the IMAP commands (imap-msginfo.h). */
#include "imap/imap-msginfo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "mail/searchtext.h"

/* Caps on what one message yields; a message past them has no text in
 * the index (SEARCH then reads it) or no blob (FETCH then parses it). */
#define DERIVED_MAX_BLOB ((size_t)1 << 26)
#define DERIVED_MAX_TEXT ((size_t)1 << 28)
#define FRESH_BATCH 256

static void derived_init(struct imap_derived *d)
{
	buf_init(&d->blob, DERIVED_MAX_BLOB);
	buf_init(&d->header_text, DERIVED_MAX_TEXT);
	buf_init(&d->body_text, DERIVED_MAX_TEXT);
	memset(&d->entry, 0, sizeof(d->entry));
}

/* msg with every bare LF made CR LF, as the store keeps it (offsets in
 * the derived data are the file's); NULL if it has none. */
static char *crlf_copy(const char *msg, size_t len, size_t *len_r)
{
	const char *lf = memchr(msg, '\n', len);
	while (lf != NULL && lf > msg && lf[-1] == '\r')
		lf = memchr(lf + 1, '\n', len - (size_t)(lf + 1 - msg));
	if (lf == NULL)
		return NULL;
	struct buf out;
	buf_init(&out, SIZE_MAX);
	buf_append(&out, msg, (size_t)(lf - msg));
	for (const char *p = lf; p < msg + len; p++) {
		if (*p == '\n' && (p == msg || p[-1] != '\r'))
			buf_append_byte(&out, '\r');
		buf_append_byte(&out, (unsigned char)*p);
	}
	*len_r = out.len;
	return (char *)out.data;
}

void imap_derive(const char *msg, size_t len, struct imap_derived *d)
{
	derived_init(d);
	char *copy = crlf_copy(msg, len, &len);
	if (copy != NULL)
		msg = copy;
	struct mime_part *root = mime_parse(msg, len); /* once for both */
	if (msginfo_build_parsed(msg, len, root, &d->blob) == 0) {
		d->entry.data = buf_cstr(&d->blob);
		d->entry.len = d->blob.len;
	}
	if (searchtext_build_parsed(msg, root, &d->header_text,
	                            &d->body_text) == 0) {
		d->entry.header_text = buf_cstr(&d->header_text);
		d->entry.header_len = d->header_text.len;
		d->entry.body_text = buf_cstr(&d->body_text);
		d->entry.body_len = d->body_text.len;
	}
	mime_free(&root);
	free(copy);
}

void imap_derived_free(struct imap_derived *d)
{
	buf_free(&d->blob);
	buf_free(&d->header_text);
	buf_free(&d->body_text);
}

const char *imap_map_message(struct store *st, uint64_t mailbox_id,
                             uint32_t uid, size_t *len_r)
{
	int fd;
	uint64_t size;
	if (store_open_message(st, mailbox_id, uid, &fd, &size) != STORE_OK)
		return NULL;
	void *map = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE,
	                            fd, 0)
	                     : (void *)"";
	close(fd);
	if (map == MAP_FAILED)
		return NULL;
	*len_r = (size_t)size;
	return map;
}

void imap_unmap_message(const char *map, size_t len)
{
	if (map != NULL && len > 0)
		munmap((void *)map, len);
}

void imap_msginfo_loader_init(struct imap_msginfo_loader *l, struct store *st,
                              uint64_t mailbox_id)
{
	memset(l, 0, sizeof(*l));
	l->st = st;
	l->mailbox_id = mailbox_id;
}

void imap_msginfo_loader_flush(struct imap_msginfo_loader *l)
{
	if (l->fresh_count == 0)
		return;
	struct store_cache_entry *e = xcalloc(l->fresh_count, sizeof(*e));
	for (size_t i = 0; i < l->fresh_count; i++)
		e[i] = l->fresh[i].entry;
	/* a failure only costs computing it again next time */
	store_cache_put(l->st, l->mailbox_id, e, l->fresh_count);
	free(e);
	imap_msginfo_loader_discard(l);
}

void imap_msginfo_loader_discard(struct imap_msginfo_loader *l)
{
	for (size_t i = 0; i < l->fresh_count; i++)
		imap_derived_free(&l->fresh[i]);
	free(l->fresh);
	l->fresh = NULL;
	l->fresh_count = 0;
}

/* Compute the blob of uid from its file, keeping it for the index. */
static bool compute(struct imap_msginfo_loader *l, uint32_t uid,
                    struct imap_msginfo *m)
{
	size_t len;
	const char *msg = imap_map_message(l->st, l->mailbox_id, uid, &len);
	if (msg == NULL)
		return false;
	struct imap_derived d;
	derived_init(&d);
	int ret = msginfo_build(msg, len, &d.blob);
	imap_unmap_message(msg, len);
	if (ret < 0) {
		imap_derived_free(&d);
		return false;
	}
	m->len = d.blob.len;
	m->blob = xmemdup(buf_cstr(&d.blob), m->len + 1);
	d.entry = (struct store_cache_entry){
	        .uid = uid, .data = buf_cstr(&d.blob), .len = d.blob.len};
	l->fresh = xrealloc(l->fresh, (l->fresh_count + 1) * sizeof(d));
	l->fresh[l->fresh_count++] = d;
	if (l->fresh_count == FRESH_BATCH)
		imap_msginfo_loader_flush(l);
	return msginfo_parse(m->blob, m->len, &m->info);
}

bool imap_msginfo_load(struct imap_msginfo_loader *l, uint32_t uid,
                       struct imap_msginfo *m)
{
	memset(m, 0, sizeof(*m));
	if (store_cache_get(l->st, l->mailbox_id, uid, &m->blob, &m->len) ==
	            STORE_OK &&
	    m->blob != NULL && msginfo_parse(m->blob, m->len, &m->info))
		return true;
	imap_msginfo_free(m);
	return compute(l, uid, m);
}

void imap_msginfo_free(struct imap_msginfo *m)
{
	free(m->blob);
	memset(m, 0, sizeof(*m));
}

/* Derive uids[0..n) from their files and keep them, in one transaction;
 * messages gone meanwhile are skipped. */
static enum store_status derive_batch(struct store *st, uint64_t mailbox_id,
                                      const uint32_t *uids, size_t n,
                                      size_t *done_r)
{
	struct imap_derived *d = xcalloc(n, sizeof(*d));
	struct store_cache_entry *e = xcalloc(n, sizeof(*e));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *msg =
		        imap_map_message(st, mailbox_id, uids[i], &len);
		if (msg == NULL)
			continue;
		imap_derive(msg, len, &d[k]);
		imap_unmap_message(msg, len);
		e[k] = d[k].entry;
		e[k++].uid = uids[i];
	}
	enum store_status ret =
	        k > 0 ? store_cache_put(st, mailbox_id, e, k) : STORE_OK;
	for (size_t i = 0; i < k; i++)
		imap_derived_free(&d[i]);
	free(d);
	free(e);
	*done_r += ret == STORE_OK ? k : 0;
	return ret;
}

enum store_status imap_derive_missing(struct store *st, uint64_t mailbox_id,
                                      size_t *done_r)
{
	uint32_t *uids;
	size_t n;
	*done_r = 0;
	enum store_status ret = store_cache_missing(st, mailbox_id, &uids, &n);
	for (size_t i = 0; i < n && ret == STORE_OK; i += FRESH_BATCH)
		ret = derive_batch(st, mailbox_id, uids + i,
		                   n - i < FRESH_BATCH ? n - i : FRESH_BATCH,
		                   done_r);
	free(uids);
	return ret;
}
