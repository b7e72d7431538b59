/* `roost serve`: the daemon. */
#ifndef ROOST_CLI_SERVE_H
#define ROOST_CLI_SERVE_H

/* Run the server in the foreground until SIGTERM/SIGINT. config_path may
 * be NULL (defaults), data_dir overrides [server] data. Returns the
 * process exit code. */
int serve_main(const char *config_path, const char *data_dir);

/* First start: create the data dir, a self-signed certificate where the
 * configured paths are missing, and a passwd-file with a demo user whose
 * password is printed once on stdout. 0 or -1 (logged). */
struct config;
int serve_first_start(const struct config *cfg);

#endif
