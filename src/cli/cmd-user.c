/* `roost user` (see cmd-user.h): add, change, delete and list users of
 * the passwd-file. Edits go through passwd_file_update(), which is atomic
 * and locked, so the running server may reload the file at any time. */
#include "cli/cmd-user.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/passwd-file.h"
#include "auth/password.h"
#include "core/buf.h"

#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_USAGE 64 /* EX_USAGE */
#define PASSWORD_MAX_BYTES 1024

struct user_args {
	const char *action;
	const char *name;
	const char *scheme;
};

static int user_error(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static int user_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("roost user: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_ERROR;
}

static int user_usage(void)
{
	fputs("usage: roost user add NAME [--scheme SCHEME]\n"
	      "       roost user passwd NAME [--scheme SCHEME]\n"
	      "       roost user del NAME\n"
	      "       roost user list\n",
	      stderr);
	return EXIT_USAGE;
}

/* Parse "NAME [--scheme S]" after the action. Returns 0 or -1. */
static int user_parse_args(int argc, char **argv, bool scheme_ok,
                           struct user_args *args)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (scheme_ok && strcmp(a, "--scheme") == 0 && i + 1 < argc)
			args->scheme = argv[++i];
		else if (scheme_ok && strncmp(a, "--scheme=", 9) == 0)
			args->scheme = a + 9;
		else if (a[0] != '-' && args->name == NULL)
			args->name = a;
		else
			return -1;
	}
	return args->name != NULL ? 0 : -1;
}

/* Read one line from stdin into pw without its LF (or CR LF). Returns 0,
 * or -1 if nothing could be read or the line is too long. */
static int user_read_line(struct buf *pw)
{
	int c;
	bool any = false;
	while ((c = getchar()) != EOF && c != '\n') {
		any = true;
		if (buf_append_byte(pw, (unsigned char)c) < 0)
			return -1;
	}
	if (!any && c == EOF)
		return -1;
	if (pw->len > 0 && pw->data[pw->len - 1] == '\r')
		buf_truncate(pw, pw->len - 1);
	return 0;
}

/* Prompt on stderr and read a line with terminal echo turned off. */
static int user_prompt(const char *prompt, struct buf *pw)
{
	struct termios old, quiet;
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -1;
	int ret = user_read_line(pw);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return ret;
}

static void user_wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->size);
	buf_free(b);
}

static int user_read_tty(struct buf *pw)
{
	struct buf again;
	int ret = 0;

	buf_init(&again, PASSWORD_MAX_BYTES);
	if (user_prompt("Password: ", pw) < 0 ||
	    user_prompt("Retype password: ", &again) < 0) {
		user_error("cannot read the password");
		ret = -1;
	} else if (pw->len != again.len ||
	           memcmp(buf_cstr(pw), buf_cstr(&again), pw->len) != 0) {
		user_error("passwords do not match");
		ret = -1;
	}
	user_wipe(&again);
	return ret;
}

/* Get the new password into pw. Returns 0, or -1 after printing why. */
static int user_get_password(struct buf *pw)
{
	if (isatty(STDIN_FILENO)) {
		if (user_read_tty(pw) < 0)
			return -1;
	} else if (user_read_line(pw) < 0) {
		user_error("no password on standard input "
		           "(or longer than %d bytes)",
		           PASSWORD_MAX_BYTES);
		return -1;
	}
	if (pw->len == 0) {
		user_error("empty password refused");
		return -1;
	}
	return 0;
}

/* Does the file at path hold name? Returns 1, 0, or -1 after printing. */
static int user_exists(const char *path, const char *name)
{
	const char *error;
	struct passwd_file *pf = passwd_file_load(path, &error);
	if (pf == NULL) {
		user_error("%s", error);
		return -1;
	}
	int ret = passwd_file_lookup(pf, name) != NULL;
	passwd_file_free(&pf);
	return ret;
}

/* add and passwd: read a password, hash it, write it with mode. */
static int user_set(const char *path, const struct user_args *args,
                    enum passwd_set_mode mode)
{
	const char *error;
	struct buf pw;

	buf_init(&pw, PASSWORD_MAX_BYTES);
	if (user_get_password(&pw) < 0) {
		user_wipe(&pw);
		return EXIT_ERROR;
	}
	char *hash = password_hash(args->scheme, buf_cstr(&pw), pw.len, &error);
	user_wipe(&pw);
	if (hash == NULL)
		return user_error("cannot hash the password: %s", error);

	int r = passwd_file_update(path, args->name, hash, mode, &error);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	if (r < 0)
		return user_error("%s", error);
	if (r == 0)
		return user_error(mode == PASSWD_SET_ADD
		                          ? "user %s already exists"
		                          : "user %s does not exist",
		                  args->name);
	return EXIT_OK;
}

/* Checks that need no password, so mistakes show before the prompt. */
static int user_precheck(const char *path, const struct user_args *args,
                         bool want_exists)
{
	if (!passwd_user_valid(args->name))
		return user_error("invalid user name '%s'", args->name);
	if (!password_scheme_valid(args->scheme))
		return user_error("unknown password scheme '%s'", args->scheme);
	int exists = user_exists(path, args->name);
	if (exists < 0)
		return EXIT_ERROR;
	if (exists && !want_exists)
		return user_error("user %s already exists", args->name);
	if (!exists && want_exists)
		return user_error("user %s does not exist", args->name);
	return EXIT_OK;
}

static int user_add_or_passwd(const char *path, const struct user_args *args)
{
	bool add = strcmp(args->action, "add") == 0;
	int ret = user_precheck(path, args, !add);
	if (ret != EXIT_OK)
		return ret;
	return user_set(path, args, add ? PASSWD_SET_ADD : PASSWD_SET_REPLACE);
}

static int user_del(const char *path, const struct user_args *args)
{
	const char *error;
	int r = passwd_file_remove(path, args->name, &error);
	if (r < 0)
		return user_error("%s", error);
	if (r == 0)
		return user_error("user %s does not exist", args->name);
	return EXIT_OK;
}

static int user_list(const char *path)
{
	const char *error;
	struct passwd_file *pf = passwd_file_load(path, &error);
	if (pf == NULL)
		return user_error("%s", error);
	for (size_t i = 0; i < passwd_file_count(pf); i++)
		printf("%s\n", passwd_file_at(pf, i)->user);
	passwd_file_free(&pf);
	if (fflush(stdout) != 0 || ferror(stdout))
		return user_error("cannot write the list");
	return EXIT_OK;
}

int cmd_user(const char *passwd_path, int argc, char **argv)
{
	struct user_args args = {.scheme = PASSWORD_DEFAULT_SCHEME};

	if (argc < 1)
		return user_usage();
	args.action = argv[0];
	if (strcmp(args.action, "list") == 0)
		return argc == 1 ? user_list(passwd_path) : user_usage();

	bool set = strcmp(args.action, "add") == 0 ||
	           strcmp(args.action, "passwd") == 0;
	if (!set && strcmp(args.action, "del") != 0)
		return user_usage();
	if (user_parse_args(argc, argv, set, &args) < 0)
		return user_usage();
	return set ? user_add_or_passwd(passwd_path, &args)
	           : user_del(passwd_path, &args);
}
