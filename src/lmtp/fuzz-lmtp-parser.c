/* libFuzzer target for LMTP command lines (lmtp-parser.h): any line is
 * parsed as each command; what a path parser returns must fit its
 * limits. */
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "lmtp/lmtp-parser.h"

static void check_path(const struct lmtp_path *p)
{
	CHECK(strlen(p->addr) <= LMTP_PATH_MAX_BYTES);
	CHECK(strlen(p->local) <= LMTP_PATH_MAX_BYTES);
	CHECK(strlen(p->domain) <= LMTP_DOMAIN_MAX_BYTES);
	CHECK(p->null == (p->addr[0] == '\0'));
	if (p->domain[0] != '\0')
		CHECK(lmtp_domain_valid(p->domain));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	const char *args;
	enum lmtp_verb verb = lmtp_parse_verb(line, &args);
	CHECK(args >= line && args <= line + strlen(line));
	(void)verb;
	struct lmtp_path path;
	struct lmtp_mail_params params;
	if (lmtp_parse_mail(line, &path, &params) == LMTP_PARSE_OK)
		check_path(&path);
	if (lmtp_parse_rcpt(line, &path) == LMTP_PARSE_OK) {
		check_path(&path);
		CHECK(!path.null);
	}
	(void)lmtp_domain_valid(line);
	free(line);
	return 0;
}
