/* `roost reindex USER` (see cmd-reindex.h). Safe while the server runs:
 * the store rebuilds in one transaction that other handles see. */
#include "cli/cmd-reindex.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

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
	if (st != NULL)
		store_get_quota(st, &q);
	store_close(&st);
	printf("reindexed %s: %llu messages, %llu bytes\n", argv[0],
	       (unsigned long long)q.messages_used,
	       (unsigned long long)q.bytes_used);
	return 0;
}
