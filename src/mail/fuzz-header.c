/* libFuzzer target for header blocks and structured MIME values
 * (header.h). The input is taken as a header block: every field must lie
 * inside it, in order, with its value inside the field; unfolding must
 * leave no CR, LF or NUL and no WSP at either end; every structured
 * value must give parameters whose names are lowercase and non-empty,
 * whose values have no NUL, and that header_param_find finds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/header.h"

static void check_unfolded(const char *s)
{
	size_t len = strlen(s);

	CHECK(strpbrk(s, "\r\n") == NULL);
	CHECK(len == 0 || (s[0] != ' ' && s[0] != '\t' && s[len - 1] != ' ' &&
	                   s[len - 1] != '\t'));
}

static void check_structured(struct arena *a, const struct header_field *f)
{
	struct header_structured s;

	header_parse_structured(a, f->value, f->value_len, &s);
	CHECK(s.param_count <= HEADER_MAX_PARAMS);
	CHECK(s.subtype == NULL || s.token != NULL);
	for (size_t i = 0; i < s.param_count; i++) {
		const struct header_param *p = &s.params[i];
		CHECK(p->name[0] != '\0' && strpbrk(p->name, "*") == NULL);
		for (const char *c = p->name; *c != '\0'; c++)
			CHECK(!(*c >= 'A' && *c <= 'Z'));
		CHECK(strlen(p->value) == p->value_len);
		CHECK((p->charset == NULL) == (p->language == NULL));
		CHECK(header_param_find(&s, p->name) == p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *block = (const char *)data;
	size_t len = header_block_size(block, size), next = 0;
	struct arena *a = arena_create(4096);
	struct header_iter it;
	struct header_field f, found;

	CHECK(len <= size);
	header_iter_init(&it, block, len);
	while (header_iter_next(&it, &f)) {
		CHECK(f.offset >= next && f.size <= len - f.offset);
		CHECK(f.name == block + f.offset && f.name_len > 0);
		CHECK(f.value >= f.name + f.name_len &&
		      f.value + f.value_len <= block + f.offset + f.size);
		next = f.offset + f.size;
		check_unfolded(header_unfold(a, f.value, f.value_len));
		check_structured(a, &f);
		char *name = arena_strndup(a, f.name, f.name_len);
		if (strlen(name) == f.name_len) {
			CHECK(header_find(block, len, name, &found));
			CHECK(found.offset <= f.offset);
		}
	}
	arena_destroy(&a);
	return 0;
}
