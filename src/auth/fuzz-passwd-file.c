/* libFuzzer target: passwd_file_parse() on arbitrary bytes, then every
 * lookup and extra-field query the server makes on the result. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/passwd-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int bad;
	struct passwd_file *pf =
	        passwd_file_parse((const char *)data, size, &bad);
	size_t n = passwd_file_count(pf);

	for (size_t i = 0; i < n; i++) {
		const struct passwd_entry *e = passwd_file_at(pf, i);
		/* every entry is found under its own name, and is the first
		 * line of that user */
		assert(passwd_file_lookup(pf, e->user) == e);
		assert(passwd_user_valid(e->user));
		free(passwd_entry_extra(e, "quota_rule"));
		free(passwd_entry_extra(e, "home"));
		free(passwd_entry_extra(e, e->user));
	}
	assert(passwd_file_at(pf, n) == NULL);
	assert(passwd_file_lookup(pf, "") == NULL);
	passwd_file_free(&pf);
	return 0;
}
