/* libFuzzer target for the IMAP command parser (imap-parser.h, RFC 3501 /
 * RFC 9051 section 9, RFC 7888, RFC 3516).
 *
 * Input layout: byte 0 picks the limits, bytes 1..4 give the chunk sizes
 * (cycled), the rest is the client's byte stream. The stream is parsed
 * twice, whole and in those chunks, driven the way a session drives the
 * parser (refeed after each result, reset after a fatal error); both runs
 * must give the same sequence of results. Every command is checked
 * against the limits. Literals of 4 bytes or more in commands whose
 * name starts with 'A' go to files (as APPEND's do in the server), and
 * their contents must come out the same as in memory. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fuzz.h"
#include "proto/imap-parser.h"

#define HEADER_BYTES 5

static const struct imap_parser_limits limit_sets[] = {
        {.max_line_bytes = 64,
         .max_literal_bytes = 16,
         .max_command_bytes = 96,
         .max_depth = 2,
         .max_args = 6},
        {.max_line_bytes = 8192,
         .max_literal_bytes = 65536,
         .max_command_bytes = 100000,
         .max_depth = 16,
         .max_args = 1000},
        {.max_line_bytes = 0,
         .max_literal_bytes = 0,
         .max_command_bytes = 0,
         .max_depth = 0,
         .max_args = 0},
};

struct run {
	const struct imap_parser_limits *lim;
	uint64_t hash; /* FNV-1a over the results */
	unsigned int args_seen;
};

static void hash_bytes(struct run *r, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		r->hash ^= s[i];
		r->hash *= 0x100000001b3ULL;
	}
}

static void hash_str(struct run *r, const char *s, size_t n)
{
	hash_bytes(r, &n, sizeof(n));
	hash_bytes(r, s, n);
}

static int fuzz_spill(void *ctx, const char *command, uint64_t size)
{
	if (size < 4 || (command[0] != 'A' && command[0] != 'a'))
		return -1;
	int fd = memfd_create("fuzz-spill", MFD_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

/* A spilled literal: its file holds exactly its bytes; hash them as an
 * in-memory literal would be. */
static void check_spilled(struct run *r, const struct imap_arg *a)
{
	CHECK(a->str != NULL && a->str[0] == '\0' && !a->spill_failed);
	char *bytes = malloc(a->len + 1);
	CHECK(bytes != NULL);
	CHECK(pread(a->fd, bytes, a->len + 1, 0) == (ssize_t)a->len);
	hash_bytes(r, &a->is_literal8, sizeof(a->is_literal8));
	hash_str(r, bytes, a->len);
	free(bytes);
}

static void check_args(struct run *r, const struct imap_arg *args, size_t count,
                       unsigned int depth)
{
	CHECK(count == 0 || args != NULL);
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		r->args_seen++;
		hash_bytes(r, &a->type, sizeof(a->type));
		if (a->type == IMAP_ARG_LIST) {
			CHECK(depth < r->lim->max_depth);
			hash_bytes(r, &a->list_count, sizeof(a->list_count));
			check_args(r, a->list, a->list_count, depth + 1);
			continue;
		}
		if (a->type == IMAP_ARG_LITERAL && a->fd >= 0) {
			CHECK(a->len <= r->lim->max_literal_bytes);
			check_spilled(r, a);
			continue;
		}
		CHECK(a->str != NULL && a->str[a->len] == '\0');
		if (a->type == IMAP_ARG_LITERAL)
			CHECK(a->len <= r->lim->max_literal_bytes);
		else
			CHECK(a->len > 0 || a->type == IMAP_ARG_QUOTED);
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)
			CHECK(strlen(a->str) == a->len);
		hash_bytes(r, &a->is_literal8, sizeof(a->is_literal8));
		hash_str(r, a->str, a->len);
	}
}

static void check_command(struct run *r, const struct imap_parser *p)
{
	const struct imap_command_line *cmd = imap_parser_command(p);

	CHECK(cmd != NULL && cmd->tag != NULL && cmd->name != NULL);
	CHECK(cmd->tag[0] != '\0' && cmd->name[0] != '\0');
	hash_str(r, cmd->tag, strlen(cmd->tag));
	hash_str(r, cmd->name, strlen(cmd->name));
	r->args_seen = 0;
	check_args(r, cmd->args, cmd->arg_count, 0);
	CHECK(r->args_seen <= r->lim->max_args);
}

/* Returns true after a fatal error. */
static bool handle_result(struct run *r, struct imap_parser *p,
                          enum imap_parse_result res)
{
	const char *msg, *tag;
	bool fatal;
	size_t consumed;

	hash_bytes(r, &res, sizeof(res));
	switch (res) {
	case IMAP_PARSE_DONE:
		check_command(r, p);
		return false;
	case IMAP_PARSE_ERROR:
		msg = imap_parser_error(p, &fatal);
		tag = imap_parser_error_tag(p);
		CHECK(msg != NULL);
		CHECK(imap_parser_command(p) == NULL);
		hash_str(r, msg, strlen(msg));
		hash_bytes(r, &fatal, sizeof(fatal));
		if (tag != NULL)
			hash_str(r, tag, strlen(tag));
		if (!fatal)
			return false;
		/* the stream is dead until reset */
		CHECK(imap_parser_feed(p, (const unsigned char *)"x", 1,
		                       &consumed) == IMAP_PARSE_ERROR);
		CHECK(consumed == 0);
		return true;
	case IMAP_PARSE_CONTINUE:
	case IMAP_PARSE_MORE:
		return false;
	}
	abort();
}

/* Feed one chunk like a session. After a fatal error the session would
 * close; the parser is reset and the rest of the stream parsed as a new
 * session, so that reset is exercised too. */
static void feed_chunk(struct run *r, struct imap_parser *p,
                       const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t consumed = len + 1;
		enum imap_parse_result res =
		        imap_parser_feed(p, data + off, len - off, &consumed);
		CHECK(consumed <= len - off);
		if (res == IMAP_PARSE_MORE) {
			CHECK(consumed == len - off);
			return;
		}
		CHECK(consumed > 0);
		off += consumed;
		if (handle_result(r, p, res))
			imap_parser_reset(p);
	}
}

static uint64_t run_stream(const struct imap_parser_limits *lim,
                           const uint8_t *data, size_t len,
                           const uint8_t *sizes)
{
	struct run r = {.lim = lim, .hash = 0xcbf29ce484222325ULL};
	struct imap_parser *p = imap_parser_create(lim);
	imap_parser_set_spill(p, fuzz_spill, NULL);
	size_t off = 0;

	for (unsigned int i = 0; off < len; i++) {
		size_t n = sizes != NULL ? (size_t)sizes[i % 4] + 1 : len;
		if (n > len - off)
			n = len - off;
		feed_chunk(&r, p, data + off, n);
		off += n;
	}
	imap_parser_destroy(&p);
	CHECK(p == NULL);
	return r.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER_BYTES)
		return 0;
	const struct imap_parser_limits *lim =
	        &limit_sets[data[0] %
	                    (sizeof(limit_sets) / sizeof(limit_sets[0]))];
	const uint8_t *sizes = data + 1;
	const uint8_t *stream = data + HEADER_BYTES;
	size_t len = size - HEADER_BYTES;

	CHECK(run_stream(lim, stream, len, NULL) ==
	      run_stream(lim, stream, len, sizes));
	return 0;
}
