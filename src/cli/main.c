/* roost: one binary, subcommands. Options --config FILE and --data DIR
 * are accepted anywhere after the subcommand. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd-deliver.h"
#include "cli/cmd-reindex.h"
#include "cli/cmd-user.h"
#include "cli/serve.h"
#include "core/config.h"
#include "core/util.h"
#include "core/xalloc.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: roost COMMAND [--config FILE] [--data DIR] [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  serve                      run the server in the "
	        "foreground\n"
	        "  config                     print the effective "
	        "configuration\n"
	        "  user add NAME [--scheme S] add a user; password on stdin\n"
	        "  user passwd NAME [--scheme S]\n"
	        "                             change a user's password\n"
	        "  user del NAME              remove a user\n"
	        "  user list                  list users\n"
	        "  reindex USER               rebuild a user's mail index\n"
	        "  deliver USER [-m MAILBOX] [-f SENDER]\n"
	        "                             deliver the message on stdin\n"
	        "  version                    print the version\n");
}

struct options {
	const char *config_path;
	const char *data_dir;
	int argc; /* remaining arguments, options removed */
	char **argv;
};

/* Take --config/--data out of argv; -1 on a missing value. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	opt->argv = calloc((size_t)argc + 1, sizeof(char *));
	opt->argc = 0;
	for (int i = 0; i < argc; i++) {
		const char **target = NULL;
		if (strcmp(argv[i], "--config") == 0)
			target = &opt->config_path;
		else if (strcmp(argv[i], "--data") == 0)
			target = &opt->data_dir;
		if (target == NULL) {
			opt->argv[opt->argc++] = argv[i];
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "roost: %s needs a value\n", argv[i]);
			return -1;
		}
		*target = argv[++i];
	}
	return 0;
}

static struct config *load_config(const struct options *opt)
{
	char *error = NULL;
	struct config *cfg =
	        config_load(opt->config_path, opt->data_dir, &error);
	if (cfg == NULL) {
		fprintf(stderr, "roost: %s\n", error);
		free(error);
	}
	return cfg;
}

static int cmd_config(const struct options *opt)
{
	struct config *cfg = load_config(opt);
	if (cfg == NULL)
		return 1;
	config_print(cfg, stdout);
	config_free(&cfg);
	return 0;
}

static int cmd_user_main(const struct options *opt)
{
	struct config *cfg = load_config(opt);
	if (cfg == NULL)
		return 1;
	/* users may be added before the first start */
	bool adding = opt->argc >= 3 && (strcmp(opt->argv[1], "add") == 0 ||
	                                 strcmp(opt->argv[1], "passwd") == 0);
	char *dir = xstrdup(cfg->passwd_file);
	char *slash = strrchr(dir, '/');
	if (adding && slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) < 0) {
			fprintf(stderr, "roost: cannot create %s: %s\n", dir,
			        strerror(errno));
			free(dir);
			config_free(&cfg);
			return 1;
		}
	}
	free(dir);
	int ret = cmd_user(cfg->passwd_file, opt->argc - 1, opt->argv + 1);
	config_free(&cfg);
	return ret;
}

static int cmd_reindex_main(const struct options *opt)
{
	struct config *cfg = load_config(opt);
	if (cfg == NULL)
		return 1;
	int ret = cmd_reindex(cfg->data_dir, opt->argc, opt->argv);
	config_free(&cfg);
	return ret;
}

static int cmd_deliver_main(const struct options *opt)
{
	struct config *cfg = load_config(opt);
	if (cfg == NULL)
		return 78; /* EX_CONFIG */
	int ret = cmd_deliver(cfg, opt->argc, opt->argv);
	config_free(&cfg);
	return ret;
}

static int run(const char *command, struct options *opt)
{
	if (strcmp(command, "serve") == 0) {
		if (opt->argc != 0) {
			usage(stderr);
			return 64;
		}
		return serve_main(opt->config_path, opt->data_dir);
	}
	if (strcmp(command, "config") == 0)
		return cmd_config(opt);
	if (strcmp(command, "user") == 0)
		return cmd_user_main(opt);
	if (strcmp(command, "reindex") == 0)
		return cmd_reindex_main(opt);
	if (strcmp(command, "deliver") == 0)
		return cmd_deliver_main(opt);
	if (strcmp(command, "version") == 0 ||
	    strcmp(command, "--version") == 0) {
		printf("roost %s\n", ROOST_VERSION);
		return 0;
	}
	if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "roost: unknown command '%s'\n", command);
	usage(stderr);
	return 64;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 64;
	}
	struct options opt = {0};
	int ret = 64;
	if (parse_options(argc - 2, argv + 2, &opt) == 0) {
		/* "user" keeps its own word: argv[0] is the action */
		if (strcmp(argv[1], "user") == 0) {
			memmove(opt.argv + 1, opt.argv,
			        (size_t)opt.argc * sizeof(char *));
			opt.argv[0] = argv[1];
			opt.argc++;
		}
		ret = run(argv[1], &opt);
	}
	free(opt.argv);
	return ret;
}
