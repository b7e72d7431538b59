/* `roost reindex USER` (see cmd-reindex.h). Safe while the server runs:
 * the store rebuilds in one transaction that other handles see. Then
 * every message is parsed once, so its derived data (ENVELOPE,
 * BODYSTRUCTURE, searchable text) is in the index before the first
 * client asks for it. */
#include "cli/cmd-reindex.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imap/imap-msginfo.h"
#include "store/store.h"

/* The derived data of every message that lacks it, in every mailbox. */
static enum store_status derive_all(struct store *st, size_t *done_r)
{
	struct store_mailbox_list list;
	enum store_status ret = store_list(st, &list);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = 0; ret == STORE_OK && i < list.count; i++) {
		struct store_changes ch;
		size_t done = 0;
		if (list.items[i].noselect ||
		    store_sync(st, list.items[i].name, 0, false, &ch) !=
		            STORE_OK)
			continue;
		ret = imap_derive_missing(st, ch.mailbox_id, &done);
		*done_r += done;
		store_changes_free(&ch);
	}
	store_mailbox_list_free(&list);
	return ret;
}

int cmd_reindex(const char *data_dir, int argc, char **argv)
{
	if (argc != 1 || argv[0][0] == '-') {
		fputs("usage: roost reindex USER\n", stderr);
		return 64;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/mail/%s", data_dir, argv[0]);
	if (strchr(argv[0], '/') != NULL || access(dir, F_OK) < 0) {
		fprintf(stderr, "roost reindex: %s: no mail store\n", argv[0]);
		return 1;
	}
	struct store_settings set = {.data_dir = data_dir};
	enum store_status ret = store_reindex(&set, argv[0]);
	if (ret != STORE_OK) {
		fprintf(stderr, "roost reindex: %s: %s\n", argv[0],
		        store_status_text(ret));
		return 1;
	}
	struct store *st = store_open(&set, argv[0], &ret);
	struct store_quota q = {0};
	size_t derived = 0;
	if (st != NULL) {
		store_get_quota(st, &q);
		ret = derive_all(st, &derived);
		if (ret == STORE_OK)
			ret = store_text_flush(st);
	}
	store_close(&st);
	printf("reindexed %s: %llu messages, %llu bytes, %zu parsed\n", argv[0],
	       (unsigned long long)q.messages_used,
	       (unsigned long long)q.bytes_used, derived);
	if (ret != STORE_OK)
		fprintf(stderr, "roost reindex: %s: parsing messages: %s\n",
		        argv[0], store_status_text(ret));
	return ret == STORE_OK ? 0 : 1;
}
