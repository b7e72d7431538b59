/* Derived data for the IMAP commands (imap-msginfo.h). */
#include "imap/imap-msginfo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "mail/derive.h"

#define FRESH_BATCH 256
/* a blob computed on first use, as derive.c caps it */
#define BLOB_MAX ((size_t)1 << 26)

void imap_derive(const char *msg, size_t len, struct imap_derived *d)
{
	derive_message(msg, len, &d->d);
	memset(&d->entry, 0, sizeof(d->entry));
	if (d->d.blob_ok) {
		d->entry.data = buf_cstr(&d->d.blob);
		d->entry.len = d->d.blob.len;
	}
	if (d->d.text_ok) {
		d->entry.header_text = buf_cstr(&d->d.header_text);
		d->entry.header_len = d->d.header_text.len;
		d->entry.body_text = buf_cstr(&d->d.body_text);
		d->entry.body_len = d->d.body_text.len;
	}
}

void imap_derived_free(struct imap_derived *d)
{
	derived_free(&d->d);
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

void imap_msginfo_keep(struct imap_msginfo_loader *l, uint32_t uid,
                       struct imap_derived *d)
{
	d->entry.uid = uid;
	l->fresh = xrealloc(l->fresh, (l->fresh_count + 1) * sizeof(*d));
	l->fresh[l->fresh_count++] = *d;
	if (l->fresh_count == FRESH_BATCH)
		imap_msginfo_loader_flush(l);
}

/* Compute the blob of uid from its file, keeping it for the index. */
static bool compute(struct imap_msginfo_loader *l, uint32_t uid,
                    struct imap_msginfo *m)
{
	size_t len;
	const char *msg = imap_map_message(l->st, l->mailbox_id, uid, &len);
	if (msg == NULL)
		return false;
	/* the blob alone: the text is computed when a search needs it */
	struct imap_derived d = {0};
	buf_init(&d.d.blob, BLOB_MAX);
	buf_init(&d.d.header_text, 0);
	buf_init(&d.d.body_text, 0);
	int ret = msginfo_build(msg, len, &d.d.blob);
	imap_unmap_message(msg, len);
	if (ret < 0) {
		imap_derived_free(&d);
		return false;
	}
	m->len = d.d.blob.len;
	m->blob = xmemdup(buf_cstr(&d.d.blob), m->len + 1);
	d.entry = (struct store_cache_entry){.data = buf_cstr(&d.d.blob),
	                                     .len = d.d.blob.len};
	imap_msginfo_keep(l, uid, &d);
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
