/* `roost deliver` (see cmd-deliver.h). The message is read once from
 * standard input into the same holder LMTP uses (memory, or a spool
 * file once large) and goes through the same pipeline: Return-Path,
 * Delivered-To, the derived data, the durable append. A leading mbox
 * "From " line (which some MTAs add for delivery commands) is dropped,
 * and gives the sender when -f does not. */
#include "cli/cmd-deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"
#include "lmtp/deliver.h"
#include "proto/mutf7.h"

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_CANTCREAT 73
#define EX_TEMPFAIL 75

#define READ_CHUNK 65536

struct deliver_args {
	const char *user;
	const char *mailbox; /* -m, UTF-8 */
	const char *sender;  /* -f */
};

static int usage(void)
{
	fputs("usage: roost deliver USER [-m MAILBOX] [-f SENDER]\n", stderr);
	return EX_USAGE;
}

static int parse_args(int argc, char **argv, struct deliver_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char **target = NULL;
		if (strcmp(argv[i], "-m") == 0)
			target = &a->mailbox;
		else if (strcmp(argv[i], "-f") == 0)
			target = &a->sender;
		if (target != NULL && i + 1 < argc) {
			*target = argv[++i];
			continue;
		}
		if (target != NULL || argv[i][0] == '-' || a->user != NULL)
			return -1;
		a->user = argv[i];
	}
	return a->user != NULL && a->user[0] != '\0' ? 0 : -1;
}

/* "From sender date" (an mbox envelope line) at the start of data:
 * its length with the LF, and its sender into *sender_r (malloc'd). */
static size_t from_line(const char *data, size_t len, char **sender_r)
{
	const char *lf = memchr(data, '\n', len);
	if (len < 5 || memcmp(data, "From ", 5) != 0 || lf == NULL)
		return 0;
	const char *s = data + 5, *end = memchr(s, ' ', (size_t)(lf - s));
	if (end == NULL)
		end = lf;
	/* MAILER-DAEMON stands for the null reverse-path */
	size_t n = (size_t)(end - s);
	if (n == 13 && memcmp(s, "MAILER-DAEMON", 13) == 0)
		n = 0;
	*sender_r = xstrndup(s, n);
	return (size_t)(lf - data) + 1;
}

/* Standard input into m; -1 on a read error. */
static int read_message(struct deliver_msg *m, char **sender_r)
{
	char *chunk = xmalloc(READ_CHUNK);
	bool first = true;
	int ret = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -1 : 0;
			break;
		}
		size_t skip = first ? from_line(chunk, (size_t)n, sender_r) : 0;
		first = false;
		if (deliver_msg_write(m, chunk + skip, (size_t)n - skip) < 0) {
			ret = -1;
			break;
		}
	}
	free(chunk);
	return ret;
}

/* -m in UTF-8 as a mailbox name on the wire (modified UTF-7). */
static char *mailbox_name(const char *utf8)
{
	struct buf b;
	buf_init(&b, 4096);
	char *name = mutf7_from_utf8(utf8, strlen(utf8), &b) == 0
	                     ? xstrdup(buf_cstr(&b))
	                     : NULL;
	buf_free(&b);
	return name;
}

/* The recipient: USER as an address or a user name, resolved as LMTP
 * resolves RCPT TO; -1 after a message if nobody has it. */
static int resolve(const struct deliver_settings *set,
                   const struct deliver_args *a, struct deliver_rcpt *r)
{
	char *local = xstrdup(a->user), *user, *detail;
	char *at = strrchr(local, '@');
	if (at != NULL)
		*at = '\0';
	bool found = deliver_resolve(set, local, at != NULL ? at + 1 : NULL,
	                             &user, &detail);
	free(local);
	if (!found) {
		fprintf(stderr, "roost deliver: %s: no such user\n", a->user);
		return -1;
	}
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(a->user);
	r->user = user;
	if (a->mailbox != NULL)
		r->mailbox = mailbox_name(a->mailbox);
	else if (detail != NULL && set->detail_mailbox)
		r->mailbox = xstrdup(detail);
	free(detail);
	return 0;
}

static int exit_code(const struct config *cfg, const struct deliver_rcpt *r)
{
	switch (r->result) {
	case DELIVER_OK:
		return 0;
	case DELIVER_OVERQUOTA:
		return cfg->lmtp_quota_full_tempfail ? EX_TEMPFAIL
		                                     : EX_CANTCREAT;
	case DELIVER_TOOBIG:
		return EX_CANTCREAT;
	case DELIVER_NUL:
		return EX_DATAERR;
	case DELIVER_NOSPACE:
	case DELIVER_ERROR:
		break;
	}
	return EX_TEMPFAIL;
}

static void settings_of(const struct config *cfg, struct deliver_settings *s)
{
	*s = (struct deliver_settings){
	        .data_dir = cfg->data_dir,
	        .quota_storage = cfg->quota_storage,
	        .quota_messages = cfg->quota_messages,
	        .max_message_size = cfg->max_message_size,
	        .detail_mailbox = cfg->lmtp_detail_mailbox,
	        .delimiters = cfg->lmtp_recipient_delimiter,
	};
}

/* Read and deliver; the exit code. */
static int deliver_stdin(const struct config *cfg,
                         const struct deliver_settings *set,
                         const struct deliver_args *a, struct deliver_rcpt *r)
{
	char *from = NULL, host[256] = "localhost", id[20];
	unsigned char rnd[6] = {0};
	struct deliver_msg *m = deliver_msg_create(set);
	int ret = read_message(m, &from);
	if (ret < 0) {
		fprintf(stderr, "roost deliver: reading the message: %s\n",
		        strerror(errno));
		ret = EX_TEMPFAIL;
	} else if (deliver_msg_size(m) == 0) {
		fputs("roost deliver: empty message\n", stderr);
		ret = EX_DATAERR;
	} else {
		gethostname(host, sizeof(host) - 1);
		random_bytes(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(id + 2 * i, 3, "%02x", rnd[i]);
		const char *sender = a->sender != NULL ? a->sender
		                     : from != NULL    ? from
		                                       : getenv("SENDER");
		struct deliver_envelope env = {.sender = sender,
		                               .protocol = "local",
		                               .hostname = host,
		                               .id = id};
		deliver_run(m, set, &env, r, 1);
		ret = exit_code(cfg, r);
		if (ret != 0)
			fprintf(stderr, "roost deliver: %s: %s\n", a->user,
			        deliver_result_text(r->result));
	}
	free(from);
	deliver_msg_free(&m);
	return ret;
}

int cmd_deliver(const struct config *cfg, int argc, char **argv)
{
	struct deliver_args a;
	struct deliver_settings set;
	struct deliver_rcpt r;
	char *error = NULL;
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	/* the outcome is the exit code and one line; no event log */
	log_set_level(LOG_ERROR);
	if (userdb_load(cfg->passwd_file, &error) < 0) {
		fprintf(stderr, "roost deliver: %s\n", error);
		free(error);
		return EX_TEMPFAIL;
	}
	settings_of(cfg, &set);
	int ret = EX_NOUSER;
	if (resolve(&set, &a, &r) == 0) {
		if (a.mailbox != NULL && r.mailbox == NULL) {
			fprintf(stderr,
			        "roost deliver: -m %s: not a mailbox "
			        "name\n",
			        a.mailbox);
			ret = EX_USAGE;
		} else {
			ret = deliver_stdin(cfg, &set, &a, &r);
		}
		deliver_rcpt_clear(&r);
	}
	userdb_unload();
	return ret;
}
