/* Dovecot-compatible passwd-file (see passwd-file.h): an in-memory index
 * with O(1) lookups for large files, and atomic edits (lock, write a
 * temporary file, fsync, rename, fsync the directory) that leave every
 * other line, comments included, byte for byte as it was. */
#include "auth/passwd-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "core/xalloc.h"

/* Refuse to load or edit files larger than this. */
#define PASSWD_FILE_MAX_BYTES (256u * 1024 * 1024)
#define PASSWD_USER_MAX_BYTES 255
/* user, password, uid, gid, gecos, home, shell, extra fields */
#define PASSWD_FIELD_COUNT 8
#define PASSWD_NEW_FILE_MODE 0600

struct passwd_file {
	char *data; /* a copy of the file, split into fields in place */
	struct passwd_entry *entries;
	size_t count;
	/* open-addressing index: entry number + 1, or 0 for an empty slot */
	uint32_t *slots;
	size_t slot_mask;
};

static _Thread_local char passwd_error[512];

static const char *passwd_errno(const char *what, const char *path)
{
	snprintf(passwd_error, sizeof(passwd_error), "%s %s: %s", what, path,
	         strerror(errno));
	return passwd_error;
}

bool passwd_user_valid(const char *user)
{
	size_t len = strlen(user);
	if (len == 0 || len > PASSWD_USER_MAX_BYTES || user[0] == '#' ||
	    strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)user; *p != '\0';
	     p++) {
		if (*p < 0x20 || *p == 0x7f || *p == ':' || *p == ' ' ||
		    *p == '/')
			return false;
	}
	return true;
}

/* A hash may not break the line structure. */
static bool passwd_hash_valid(const char *hash)
{
	if (hash[0] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)hash; *p != '\0';
	     p++) {
		if (*p < 0x20 || *p == 0x7f || *p == ':')
			return false;
	}
	return true;
}

/* FNV-1a: the file is the administrator's, so no hash flooding. */
static uint64_t passwd_hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

/* Index entry i; false if its user is already there (first one wins,
 * as in Dovecot). */
static bool passwd_index_add(struct passwd_file *pf, size_t i)
{
	size_t slot = passwd_hash_name(pf->entries[i].user) & pf->slot_mask;
	for (; pf->slots[slot] != 0; slot = (slot + 1) & pf->slot_mask) {
		const struct passwd_entry *e =
		        &pf->entries[pf->slots[slot] - 1];
		if (strcmp(e->user, pf->entries[i].user) == 0)
			return false;
	}
	pf->slots[slot] = (uint32_t)(i + 1);
	return true;
}

/* Split one NUL-terminated line into e. Fields past the seventh ':' stay
 * together as the extra fields, so they may contain ':'. */
static void passwd_split(char *line, struct passwd_entry *e)
{
	const char **fields[PASSWD_FIELD_COUNT] = {
	        &e->user,  &e->password, &e->uid,   &e->gid,
	        &e->gecos, &e->home,     &e->shell, &e->extra,
	};
	char *p = line;
	for (size_t i = 0; i < PASSWD_FIELD_COUNT; i++) {
		*fields[i] = p != NULL ? p : "";
		if (p == NULL || i == PASSWD_FIELD_COUNT - 1)
			continue;
		p = strchr(p, ':');
		if (p != NULL)
			*p++ = '\0';
	}
}

/* Parse the line [line, line+len) in place. Returns 1 for an entry,
 * 0 for a comment or blank line, -1 for a bad line. */
static int passwd_parse_line(struct passwd_file *pf, char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (len == 0 || line[0] == '#')
		return 0;
	if (memchr(line, '\0', len) != NULL)
		return -1;

	struct passwd_entry *e = &pf->entries[pf->count];
	passwd_split(line, e);
	if (!passwd_user_valid(e->user) || !passwd_index_add(pf, pf->count))
		return -1;
	pf->count++;
	return 1;
}

static size_t passwd_count_lines(const char *data, size_t len)
{
	size_t n = 1;
	const char *end = data + len;
	for (const char *p = data; (p = memchr(p, '\n', end - p)) != NULL; p++)
		n++;
	return n;
}

struct passwd_file *passwd_file_parse(const char *data, size_t len,
                                      unsigned int *bad_lines_r)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));
	size_t lines = passwd_count_lines(data, len);
	size_t slots = 16;
	while (slots < 2 * lines)
		slots *= 2;

	pf->data = xmalloc(len + 1);
	memcpy(pf->data, data, len);
	pf->data[len] = '\0';
	pf->entries = xcalloc(lines, sizeof(*pf->entries));
	pf->slots = xcalloc(slots, sizeof(*pf->slots));
	pf->slot_mask = slots - 1;

	unsigned int bad = 0;
	char *end = pf->data + len;
	for (char *line = pf->data; line < end;) {
		char *nl = memchr(line, '\n', end - line);
		size_t line_len = (nl != NULL ? nl : end) - line;
		if (passwd_parse_line(pf, line, line_len) < 0)
			bad++;
		line += line_len + 1;
	}
	if (bad_lines_r != NULL)
		*bad_lines_r = bad;
	return pf;
}

void passwd_file_free(struct passwd_file **pfp)
{
	struct passwd_file *pf = *pfp;
	if (pf == NULL)
		return;
	*pfp = NULL;
	free(pf->data);
	free(pf->entries);
	free(pf->slots);
	free(pf);
}

const struct passwd_entry *passwd_file_lookup(const struct passwd_file *pf,
                                              const char *user)
{
	size_t slot = passwd_hash_name(user) & pf->slot_mask;
	for (; pf->slots[slot] != 0; slot = (slot + 1) & pf->slot_mask) {
		const struct passwd_entry *e =
		        &pf->entries[pf->slots[slot] - 1];
		if (strcmp(e->user, user) == 0)
			return e;
	}
	return NULL;
}

size_t passwd_file_count(const struct passwd_file *pf)
{
	return pf->count;
}

const struct passwd_entry *passwd_file_at(const struct passwd_file *pf,
                                          size_t i)
{
	return i < pf->count ? &pf->entries[i] : NULL;
}

/* Find "key=value" (or a bare "key") among the space-separated fields;
 * NULL if absent. */
static char *passwd_extra_find(const char *extra, const char *key,
                               size_t key_len)
{
	for (const char *p = extra; *p != '\0';) {
		size_t n = strcspn(p, " \t");
		if (n >= key_len && strncmp(p, key, key_len) == 0) {
			if (n == key_len)
				return xstrdup("");
			if (p[key_len] == '=')
				return xstrndup(p + key_len + 1,
				                n - key_len - 1);
		}
		p += n;
		p += strspn(p, " \t");
	}
	return NULL;
}

char *passwd_entry_extra(const struct passwd_entry *e, const char *key)
{
	char *v = passwd_extra_find(e->extra, key, strlen(key));
	if (v != NULL)
		return v;
	/* Dovecot marks userdb fields with a "userdb_" prefix */
	size_t len = strlen("userdb_") + strlen(key);
	char *prefixed = xmalloc(len + 1);
	snprintf(prefixed, len + 1, "userdb_%s", key);
	v = passwd_extra_find(e->extra, prefixed, len);
	free(prefixed);
	return v;
}

/* Read fd to its end into b. Returns 0, or -1 with errno set (EFBIG when
 * the file passes the cap). */
static int passwd_read_fd(int fd, struct buf *b)
{
	for (;;) {
		unsigned char *p = buf_reserve(b, 65536);
		size_t room = 65536;
		if (p == NULL) {
			room = buf_room(b);
			p = buf_reserve(b, room);
			if (room == 0 || p == NULL) {
				errno = EFBIG;
				return -1;
			}
		}
		ssize_t n = read(fd, p, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		buf_commit(b, (size_t)n);
	}
}

/* Read path into b. Returns 1 read, 0 if it does not exist, -1 error.
 * st_r gets the file's status when it exists. */
static int passwd_read_path(const char *path, struct buf *b, struct stat *st_r,
                            const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		*error_r = passwd_errno("open", path);
		return -1;
	}
	int ret = 1;
	if (fstat(fd, st_r) < 0 || passwd_read_fd(fd, b) < 0) {
		*error_r = passwd_errno("read", path);
		ret = -1;
	}
	close(fd);
	return ret;
}

struct passwd_file *passwd_file_load(const char *path, const char **error_r)
{
	struct buf b;
	struct stat st;
	buf_init(&b, PASSWD_FILE_MAX_BYTES);
	if (passwd_read_path(path, &b, &st, error_r) < 0) {
		buf_free(&b);
		return NULL;
	}
	struct passwd_file *pf = passwd_file_parse(buf_cstr(&b), b.len, NULL);
	buf_free(&b);
	return pf;
}

struct passwd_edit {
	const char *user;
	const char *hash; /* NULL: remove the user */
	bool found;
};

/* Length of the user field of an entry line, 0 for comments and blank
 * lines. */
static size_t passwd_line_user_len(const char *line, size_t len)
{
	if (len == 0 || line[0] == '#')
		return 0;
	const char *colon = memchr(line, ':', len);
	return colon != NULL ? (size_t)(colon - line) : len;
}

/* Append the edited form of one line (without its terminator eol). */
static int passwd_edit_line(struct passwd_edit *ed, const char *line,
                            size_t len, const char *eol, size_t eol_len,
                            struct buf *out)
{
	size_t user_len = passwd_line_user_len(line, len);
	bool match = user_len > 0 && user_len == strlen(ed->user) &&
	             memcmp(line, ed->user, user_len) == 0;

	if (!match || (ed->found && ed->hash != NULL)) {
		/* not ours, or a later duplicate that lookups ignore */
		if (buf_append(out, line, len) < 0 ||
		    buf_append(out, eol, eol_len) < 0)
			return -1;
		return 0;
	}
	ed->found = true;
	if (ed->hash == NULL)
		return 0; /* removed, duplicates too */

	/* keep every field after the password */
	const char *rest = NULL;
	if (user_len < len)
		rest = memchr(line + user_len + 1, ':', len - user_len - 1);
	size_t rest_len = rest != NULL ? (size_t)(line + len - rest) : 0;
	if (buf_printf(out, "%s:%s", ed->user, ed->hash) < 0 ||
	    buf_append(out, rest, rest_len) < 0 ||
	    buf_append(out, eol, eol_len) < 0)
		return -1;
	return 0;
}

/* Rewrite old into out with ed applied. Returns 0, or -1 if too large. */
static int passwd_edit_apply(struct passwd_edit *ed, const struct buf *old,
                             struct buf *out)
{
	const char *p = buf_cstr(old), *end = p + old->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl != NULL ? nl : end;
		if (eol > p && eol[-1] == '\r')
			eol--;
		const char *next = nl != NULL ? nl + 1 : end;
		if (passwd_edit_line(ed, p, eol - p, eol, next - eol, out) < 0)
			return -1;
		p = next;
	}
	if (ed->found || ed->hash == NULL)
		return 0;
	if (out->len > 0 && out->data[out->len - 1] != '\n' &&
	    buf_append_byte(out, '\n') < 0)
		return -1;
	return buf_printf(out, "%s:%s\n", ed->user, ed->hash);
}

/* Make the rename durable: fsync the directory holding path. */
static int passwd_fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL   ? xstrdup(".")
	            : slash == path ? xstrdup("/")
	                            : xstrndup(path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 || fsync(fd) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

/* Create tmp_path exclusively; a leftover from a crashed process with the
 * same pid is removed first. */
static int passwd_create_tmp(const char *tmp_path)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp_path, flags, PASSWD_NEW_FILE_MODE);
	if (fd < 0 && errno == EEXIST && unlink(tmp_path) == 0)
		fd = open(tmp_path, flags, PASSWD_NEW_FILE_MODE);
	return fd;
}

/* Give fd the mode and owner of the file it replaces (st, or NULL for a
 * new file, which keeps 0600). */
static int passwd_copy_attrs(int fd, const struct stat *st)
{
	if (st == NULL)
		return 0;
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(fd, st->st_uid, st->st_gid) < 0)
		return -1;
	return fchmod(fd, st->st_mode & 07777);
}

/* Replace path with data: temporary file, fsync, rename, fsync dir. */
static int passwd_replace(const char *path, const struct buf *data,
                          const struct stat *st, const char **error_r)
{
	char tmp_path[4096];
	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp.%ld", path,
	             (long)getpid()) >= (int)sizeof(tmp_path)) {
		*error_r = "passwd-file path too long";
		return -1;
	}
	int fd = passwd_create_tmp(tmp_path);
	if (fd < 0) {
		*error_r = passwd_errno("create", tmp_path);
		return -1;
	}
	if (passwd_copy_attrs(fd, st) < 0 ||
	    write_full(fd, data->data, data->len) < 0 || fsync(fd) < 0) {
		*error_r = passwd_errno("write", tmp_path);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = passwd_errno("close", tmp_path);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp_path, path) < 0) {
		*error_r = passwd_errno("rename to", path);
		goto out_unlink;
	}
	if (passwd_fsync_dir(path) < 0) {
		*error_r = passwd_errno("fsync directory of", path);
		return -1;
	}
	return 0;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp_path);
	return -1;
}

/* Take the exclusive edit lock "path.lock". Returns its fd or -1. The
 * lock is on a separate file because rename replaces path's inode. */
static int passwd_lock(const char *path, const char **error_r)
{
	char lock_path[4096];
	if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >=
	    (int)sizeof(lock_path)) {
		*error_r = "passwd-file path too long";
		return -1;
	}
	int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	              PASSWD_NEW_FILE_MODE);
	if (fd < 0) {
		*error_r = passwd_errno("open", lock_path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			*error_r = passwd_errno("lock", lock_path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Under the lock: read, apply ed, and replace the file if mode allows.
 * Returns 1 changed, 0 left alone (mode not satisfied), -1 error. */
static int passwd_edit_locked(const char *path, struct passwd_edit *ed,
                              enum passwd_set_mode mode, const char **error_r)
{
	struct buf old, out;
	struct stat st;
	int ret = -1;

	buf_init(&old, PASSWD_FILE_MAX_BYTES);
	buf_init(&out, PASSWD_FILE_MAX_BYTES);
	int exists = passwd_read_path(path, &old, &st, error_r);
	if (exists < 0)
		goto out_free;
	if (passwd_edit_apply(ed, &old, &out) < 0) {
		*error_r = "passwd-file would become too large";
		goto out_free;
	}
	if ((mode == PASSWD_SET_ADD && ed->found) ||
	    (mode == PASSWD_SET_REPLACE && !ed->found) ||
	    (ed->hash == NULL && !ed->found)) {
		ret = 0;
		goto out_free;
	}
	ret = passwd_replace(path, &out, exists > 0 ? &st : NULL, error_r) < 0
	              ? -1
	              : 1;
out_free:
	buf_free(&old);
	buf_free(&out);
	return ret;
}

static int passwd_edit(const char *path, struct passwd_edit *ed,
                       enum passwd_set_mode mode, const char **error_r)
{
	if (!passwd_user_valid(ed->user)) {
		*error_r = "invalid user name";
		return -1;
	}
	if (ed->hash != NULL && !passwd_hash_valid(ed->hash)) {
		*error_r = "password hash is empty or contains ':' or "
		           "control characters";
		return -1;
	}
	int lock_fd = passwd_lock(path, error_r);
	if (lock_fd < 0)
		return -1;
	int ret = passwd_edit_locked(path, ed, mode, error_r);
	close(lock_fd);
	return ret;
}

int passwd_file_update(const char *path, const char *user, const char *hash,
                       enum passwd_set_mode mode, const char **error_r)
{
	struct passwd_edit ed = {.user = user, .hash = hash};
	return passwd_edit(path, &ed, mode, error_r);
}

int passwd_file_set(const char *path, const char *user, const char *hash,
                    const char **error_r)
{
	return passwd_file_update(path, user, hash, PASSWD_SET_ANY, error_r) < 0
	               ? -1
	               : 0;
}

int passwd_file_remove(const char *path, const char *user, const char **error_r)
{
	struct passwd_edit ed = {.user = user, .hash = NULL};
	return passwd_edit(path, &ed, PASSWD_SET_ANY, error_r);
}
