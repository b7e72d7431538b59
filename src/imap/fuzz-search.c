/* libFuzzer target for SEARCH programs (search.c): the input is the
 * argument text of a SEARCH command; what parses is evaluated against
 * a few messages, and the result must not depend on anything but the
 * program and the message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/search.h"
#include "proto/imap-parser.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits limits = {
        .max_line_bytes = 8192,
        .max_literal_bytes = 1024,
        .max_command_bytes = 16384,
        .max_depth = 64,
        .max_args = 2000,
};

static void evaluate(const struct search_program *prog)
{
	static const uint32_t saved[] = {2, 7, 9};
	for (uint32_t i = 1; i <= 4; i++) {
		struct search_msg m = {
		        .seq = i,
		        .uid = i * 3,
		        .max_seq = 4,
		        .max_uid = 12,
		        .flags = i & STORE_FLAGS_ALL,
		        .recent = i & 1,
		        .keywords = i & 2 ? "$Work later" : NULL,
		        .internaldate = 1600000000 + (int64_t)i * 86400,
		        .tz_offset_min = (int)i * 60 - 120,
		        .size = (uint64_t)i * 1000,
		        .modseq = (uint64_t)i * 7,
		        .now = 1700000000,
		        .saved = saved,
		        .saved_count = 3,
		};
		bool a = search_match(&prog->root, &m);
		bool b = search_match(&prog->root, &m);
		if (a != b)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8000)
		return 0;
	char *line = malloc(size + 16);
	if (line == NULL)
		return 0;
	memcpy(line, "a SEARCH ", 9);
	memcpy(line + 9, data, size);
	memcpy(line + 9 + size, "\r\n", 2);
	struct imap_parser *p = imap_parser_create(&limits);
	size_t consumed;
	if (imap_parser_feed(p, (const unsigned char *)line, size + 11,
	                     &consumed) == IMAP_PARSE_DONE) {
		const struct imap_command_line *cmd = imap_parser_command(p);
		struct search_program prog;
		const char *error = NULL;
		if (search_parse(cmd->args, cmd->arg_count, &prog, &error) == 0)
			evaluate(&prog);
		else if (error == NULL)
			abort();
		search_free(&prog);
	}
	imap_parser_destroy(&p);
	free(line);
	return 0;
}
