/* A message being received for delivery: in memory, or once it is
 * large in an unnamed spool file; either way with DELIVER_PREFIX_ROOM
 * bytes before it for the header lines each copy gets (deliver.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "lmtp/deliver-private.h"
#include "store/store.h"

struct deliver_msg *deliver_msg_create(const struct deliver_settings *set)
{
	struct deliver_msg *m = xcalloc(1, sizeof(*m));
	m->data_dir = xstrdup(set->data_dir);
	m->max_bytes = set->max_message_size;
	m->fd = -1;
	buf_init(&m->mem, DELIVER_PREFIX_ROOM + (size_t)m->max_bytes);
	unsigned char *room = buf_reserve(&m->mem, DELIVER_PREFIX_ROOM);
	memset(room, 0, DELIVER_PREFIX_ROOM);
	buf_commit(&m->mem, DELIVER_PREFIX_ROOM);
	return m;
}

void deliver_msg_free(struct deliver_msg **mp)
{
	struct deliver_msg *m = *mp;
	if (m == NULL)
		return;
	buf_free(&m->mem);
	if (m->fd >= 0)
		close(m->fd);
	free(m->data_dir);
	free(m);
	*mp = NULL;
}

uint64_t deliver_msg_size(const struct deliver_msg *m)
{
	return m->body_len;
}

/* Move what is in memory to a spool file; if none can be had, the
 * message stays in memory (bounded by max_message_size all the same). */
static void spill(struct deliver_msg *m)
{
	struct store_settings set = {.data_dir = m->data_dir};
	int fd = store_spool_open(&set);
	if (fd < 0)
		return;
	if (write_full(fd, m->mem.data, m->mem.len) < 0) {
		close(fd);
		return;
	}
	m->fd = fd;
	buf_free(&m->mem);
}

/* Past the size limit only the count goes on; what was kept goes. */
static void too_big(struct deliver_msg *m)
{
	m->too_big = true;
	buf_free(&m->mem);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int deliver_msg_write(struct deliver_msg *m, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	m->body_len += len;
	if (m->too_big || m->failed)
		return m->failed ? -1 : 0;
	if (m->body_len > m->max_bytes) {
		too_big(m);
		return 0;
	}
	if (!m->has_nul && memchr(data, '\0', len) != NULL)
		m->has_nul = true;
	if (m->fd < 0 && m->mem.len + len > DELIVER_SPILL_BYTES)
		spill(m);
	if (m->fd >= 0) {
		if (write_full(m->fd, data, len) == 0)
			return 0;
		m->failed = true;
		return -1;
	}
	/* the cap is the size limit, checked above */
	return buf_append(&m->mem, data, len);
}

unsigned char *deliver_msg_map(struct deliver_msg *m)
{
	if (m->fd < 0)
		return m->mem.data;
	/* private and writable: each copy's header lines go into the
	 * first page of the mapping, never into the file */
	void *p = mmap(NULL, DELIVER_PREFIX_ROOM + (size_t)m->body_len,
	               PROT_READ | PROT_WRITE, MAP_PRIVATE, m->fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void deliver_msg_unmap(struct deliver_msg *m, unsigned char *map)
{
	if (m->fd >= 0 && map != NULL)
		munmap(map, DELIVER_PREFIX_ROOM + (size_t)m->body_len);
}
