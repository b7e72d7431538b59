/* `roost reindex USER`: rebuild a user's mail index from the files. */
#ifndef ROOST_CLI_CMD_REINDEX_H
#define ROOST_CLI_CMD_REINDEX_H

/* Rebuild the index of the user named argv[0] in the store under
 * data_dir (see store_reindex()); prints one summary line. Returns the
 * exit code: 0 ok, 1 error, 64 usage error. */
int cmd_reindex(const char *data_dir, int argc, char **argv);

#endif
