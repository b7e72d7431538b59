/* COPY (RFC 3501 6.4.7, UIDPLUS RFC 4315) and MOVE (RFC 6851) in the
 * local store.
 *
 * Order: each source file is hard-linked to dest/tmp/<new key>; one
 * write transaction inserts the destination rows (and for MOVE deletes
 * the source rows, recording them as expunged); after the commit the
 * links are renamed into dest/cur/ (one sync of the directory), and for
 * MOVE the source files are unlinked (one sync). A crash can at worst
 * leave a source file that a rebuild would show again: nothing is lost. */
#include "store/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"

struct copy_job {
	struct mbox src, dest;
	struct kwlist src_kw, dest_kw;
	char src_dir[PATH_MAX], dest_dir[PATH_MAX];
	struct msgrow *from; /* source rows */
	struct msgrow *to;   /* the new rows */
	size_t count;
	bool move;
};

static void copy_job_free(struct copy_job *j)
{
	for (size_t i = 0; i < j->count; i++) {
		free(j->from[i].keywords);
		free(j->to[i].keywords);
	}
	free(j->from);
	free(j->to);
	kw_free(&j->src_kw);
	kw_free(&j->dest_kw);
	mbox_free(&j->src);
	mbox_free(&j->dest);
}

static enum store_status copy_open(struct store *st, struct copy_job *j,
                                   uint64_t mailbox_id, const char *dest)
{
	if (!maildir_mailbox_name_valid(dest))
		return STORE_BADNAME;
	enum store_status ret = mbox_by_id(st, (int64_t)mailbox_id, &j->src);
	if (ret == STORE_OK && j->src.noselect)
		ret = STORE_NONEXISTENT;
	if (ret != STORE_OK)
		return ret;
	ret = mbox_by_name(st, dest, &j->dest);
	if (ret == STORE_OK && j->dest.noselect)
		ret = STORE_NOSELECT;
	if (ret != STORE_OK)
		return ret;
	if (mbox_path(st, j->src.name, "", j->src_dir, sizeof(j->src_dir)) <
	            0 ||
	    mbox_path(st, dest, "", j->dest_dir, sizeof(j->dest_dir)) < 0)
		return STORE_BADNAME;
	return kw_load(st, j->src.id, &j->src_kw);
}

/* Link the files of the existing source UIDs into dest/tmp/. */
static enum store_status copy_link(struct store *st, struct copy_job *j,
                                   const uint32_t *uids, size_t uid_count)
{
	j->from = xcalloc(uid_count, sizeof(*j->from));
	j->to = xcalloc(uid_count, sizeof(*j->to));
	char path[PATH_MAX], tmp[PATH_MAX];
	for (size_t i = 0; i < uid_count; i++) {
		struct msgrow *f = &j->from[j->count];
		enum store_status ret = msg_row_get(st, j->src.id, uids[i], f);
		if (ret == STORE_NONEXISTENT)
			continue;
		if (ret != STORE_OK)
			return ret;
		j->count++;
		struct msgrow *t = &j->to[j->count - 1];
		*t = *f;
		t->keywords = f->keywords != NULL ? xstrdup(f->keywords) : NULL;
		if (msg_locate(j->src_dir, &j->src_kw, f, path) < 0) {
			t->key[0] = '\0'; /* gone: skipped */
			continue;
		}
		store_make_key(st, f->size, t->key, sizeof(t->key));
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", j->dest_dir, t->key);
		if (link(path, tmp) < 0) {
			t->key[0] = '\0';
			return store_errno_status(st, "link", tmp, errno);
		}
	}
	return STORE_OK;
}

/* Whether pair i is still to be done: its file was linked and, for
 * MOVE, its source row still exists. */
static enum store_status copy_pair_alive(struct store *st, struct copy_job *j,
                                         size_t i, bool *alive_r)
{
	*alive_r = j->to[i].key[0] != '\0';
	if (!*alive_r || !j->move)
		return STORE_OK;
	struct msgrow r;
	enum store_status ret = msg_row_get(st, j->src.id, j->from[i].uid, &r);
	free(r.keywords);
	if (ret == STORE_NONEXISTENT) {
		store_unlink_tmp(j->dest_dir, &j->to[i], 1);
		*alive_r = false;
		return STORE_OK;
	}
	return ret;
}

/* Drop the pairs that are no longer to be done. */
static enum store_status copy_recheck(struct store *st, struct copy_job *j)
{
	enum store_status ret = STORE_OK;
	size_t n = 0;
	for (size_t i = 0; i < j->count; i++) {
		bool alive = true;
		if (ret == STORE_OK)
			ret = copy_pair_alive(st, j, i, &alive);
		if (!alive) {
			free(j->from[i].keywords);
			free(j->to[i].keywords);
			continue;
		}
		j->from[n] = j->from[i];
		j->to[n++] = j->to[i];
	}
	j->count = n;
	return ret;
}

/* MOVE: expunge the sources (in the write transaction). */
static enum store_status
copy_expunge_sources(struct store *st, struct copy_job *j, struct mbox *src)
{
	enum store_status ret = mbox_raise_floor(st, src);
	uint64_t modseq = src->highestmodseq + 1;
	for (size_t i = 0; i < j->count && ret == STORE_OK; i++) {
		ret = msg_row_delete(st, src->id, j->from[i].uid, modseq);
		src->messages--;
		src->bytes -= j->from[i].size;
	}
	src->highestmodseq = modseq;
	return ret == STORE_OK ? mbox_update(st, src) : ret;
}

static enum store_status copy_commit(struct store *st, struct copy_job *j)
{
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	struct mbox d, s;
	ret = mbox_by_name(st, j->dest.name, &d);
	if (ret == STORE_OK && (d.id != j->dest.id || d.noselect))
		ret = STORE_NONEXISTENT;
	if (ret == STORE_OK)
		ret = copy_recheck(st, j);
	uint64_t bytes = 0;
	for (size_t i = 0; i < j->count; i++)
		bytes += j->to[i].size;
	if (ret == STORE_OK && !j->move)
		ret = store_quota_check(st, j->count, bytes);
	if (ret == STORE_OK)
		ret = kw_load(st, d.id, &j->dest_kw);
	if (ret == STORE_OK)
		ret = store_insert_rows(st, &d, &j->dest_kw, j->to, j->count);
	for (size_t i = 0; i < j->count && ret == STORE_OK; i++)
		ret = cache_copy(st, j->src.id, j->from[i].uid, d.id,
		                 j->to[i].uid);
	if (ret == STORE_OK && j->move) {
		ret = mbox_by_id(st, j->src.id, &s);
		if (ret == STORE_OK)
			ret = copy_expunge_sources(st, j, &s);
		mbox_free(&s);
	}
	if (ret == STORE_OK)
		ret = db_commit(st);
	else
		db_rollback(st);
	j->dest.uidvalidity = d.uidvalidity;
	mbox_free(&d);
	return ret;
}

static void copy_unlink_sources(struct store *st, struct copy_job *j)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < j->count; i++) {
		if (msg_locate(j->src_dir, &j->src_kw, &j->from[i], path) == 0)
			unlink(path);
	}
	snprintf(path, sizeof(path), "%s/cur", j->src_dir);
	if (fsync_dir(path) < 0)
		store_errno_status(st, "fsync", path, errno);
}

enum store_status store_copy(struct store *st, uint64_t mailbox_id,
                             const uint32_t *uids, size_t uid_count,
                             const char *dest, bool move,
                             uint32_t *dest_uidvalidity_r, uint32_t *src_uids_r,
                             uint32_t *dest_uids_r, size_t *count_r)
{
	struct copy_job j;
	memset(&j, 0, sizeof(j));
	j.move = move;
	*count_r = 0;
	enum store_status ret = copy_open(st, &j, mailbox_id, dest);
	if (ret == STORE_OK)
		ret = copy_link(st, &j, uids, uid_count);
	if (ret == STORE_OK)
		ret = copy_commit(st, &j);
	if (ret != STORE_OK) {
		store_unlink_tmp(j.dest_dir, j.to, j.count);
		copy_job_free(&j);
		return ret;
	}
	store_finish_renames(st, j.dest_dir, &j.dest_kw, j.to, j.count);
	if (move && j.count > 0)
		copy_unlink_sources(st, &j);
	cache_text_flush_now(st);
	for (size_t i = 0; i < j.count; i++) {
		src_uids_r[i] = j.from[i].uid;
		dest_uids_r[i] = j.to[i].uid;
	}
	*count_r = j.count;
	*dest_uidvalidity_r = j.dest.uidvalidity;
	copy_job_free(&j);
	return STORE_OK;
}
