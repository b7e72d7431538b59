/* libFuzzer target: the Maildir file name parser and builder, and the
 * folder name encoding of the local store. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/maildir-name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[1024], out[1024], again[1024];
	if (size >= sizeof(name))
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	struct maildir_name mn, back;
	if (maildir_name_parse(name, &mn) == 0) {
		/* what we build from it parses back to the same */
		if (maildir_name_build(out, sizeof(out), mn.key,
		                       mn.uid != 0 ? mn.uid : 1, mn.flags,
		                       mn.keyword_mask) >= 0) {
			assert(maildir_name_parse(out, &back) == 0);
			assert(strcmp(back.key, mn.key) == 0);
			assert(back.flags == mn.flags);
			assert(back.keyword_mask == mn.keyword_mask);
		}
	}
	if (maildir_mailbox_name_valid(name)) {
		int n = maildir_mailbox_encode(name, out, sizeof(out));
		assert(n >= 0 && memchr(out, '/', (size_t)n) == NULL);
		assert(maildir_mailbox_decode(out, again, sizeof(again)) >= 0);
		assert(strcmp(again, name) == 0);
	}
	if (maildir_mailbox_decode(name, out, sizeof(out)) >= 0) {
		assert(maildir_mailbox_encode(out, again, sizeof(again)) >= 0);
		assert(strcmp(again, name) == 0);
	}
	return 0;
}
