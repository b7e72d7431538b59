/* Maildir file and folder names: see maildir-name.h. */
#include "store/maildir-name.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"

static const struct {
	char letter;
	uint32_t flag;
} flag_letters[] = {
        /* ASCII order, as the Maildir specification asks */
        {'D', STORE_FLAG_DRAFT},    {'F', STORE_FLAG_FLAGGED},
        {'R', STORE_FLAG_ANSWERED}, {'S', STORE_FLAG_SEEN},
        {'T', STORE_FLAG_DELETED},
};

static void parse_info(const char *info, struct maildir_name *out)
{
	for (const char *p = info; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z') {
			out->keyword_mask |= 1u << (*p - 'a');
			continue;
		}
		for (size_t i = 0;
		     i < sizeof(flag_letters) / sizeof(*flag_letters); i++) {
			if (flag_letters[i].letter == *p)
				out->flags |= flag_letters[i].flag;
		}
	}
}

/* A decimal number of at most 20 digits in [s, end); -1 if not. */
static int parse_number(const char *s, const char *end, uint64_t *out_r)
{
	uint64_t v = 0;
	if (s == end || end - s > 19)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out_r = v;
	return 0;
}

/* Handle one ",X=..." field of the base name in [f, end): U= is taken
 * out of the key, anything else stays in it. */
static void parse_field(const char *f, const char *end,
                        struct maildir_name *out, size_t *key_len)
{
	uint64_t v;
	if (end - f > 2 && f[0] == 'U' && f[1] == '=') {
		if (parse_number(f + 2, end, &v) == 0 && v > 0 &&
		    v < UINT32_MAX)
			out->uid = (uint32_t)v;
		return;
	}
	if (end - f > 2 && f[0] == 'S' && f[1] == '=' &&
	    parse_number(f + 2, end, &v) == 0) {
		out->size = v;
		out->has_size = true;
	}
	out->key[(*key_len)++] = ',';
	memcpy(out->key + *key_len, f, (size_t)(end - f));
	*key_len += (size_t)(end - f);
}

int maildir_name_parse(const char *name, struct maildir_name *out)
{
	size_t len = strlen(name);
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > MAILDIR_FILENAME_MAX || name[0] == '.' ||
	    memchr(name, '/', len) != NULL)
		return -1;
	const char *colon = strchr(name, ':');
	const char *base_end = colon != NULL ? colon : name + len;
	if (colon != NULL && strncmp(colon, ":2,", 3) == 0) {
		out->has_info = true;
		parse_info(colon + 3, out);
	}
	const char *comma = memchr(name, ',', (size_t)(base_end - name));
	const char *first_end = comma != NULL ? comma : base_end;
	if (first_end == name)
		return -1;
	size_t key_len = (size_t)(first_end - name);
	memcpy(out->key, name, key_len);
	for (const char *f = first_end; f < base_end;) {
		const char *fend =
		        memchr(f + 1, ',', (size_t)(base_end - f - 1));
		if (fend == NULL)
			fend = base_end;
		if (fend > f + 1)
			parse_field(f + 1, fend, out, &key_len);
		f = fend;
	}
	out->key[key_len] = '\0';
	return 0;
}

void maildir_flags_letters(char out[32], uint32_t flags, uint32_t keyword_mask)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(flag_letters) / sizeof(*flag_letters);
	     i++) {
		if ((flags & flag_letters[i].flag) != 0)
			out[n++] = flag_letters[i].letter;
	}
	for (unsigned int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if ((keyword_mask & (1u << i)) != 0)
			out[n++] = (char)('a' + i);
	}
	out[n] = '\0';
}

int maildir_name_build(char *out, size_t n, const char *key, uint32_t uid,
                       uint32_t flags, uint32_t keyword_mask)
{
	char letters[32];
	maildir_flags_letters(letters, flags, keyword_mask);
	int len = snprintf(out, n, "%s,U=%u:2,%s", key, uid, letters);
	if (len < 0 || (size_t)len >= n || len > MAILDIR_FILENAME_MAX)
		return -1;
	return len;
}

static bool component_valid(const char *c, size_t len)
{
	if (len == 0)
		return false;
	if (len == 1 && c[0] == '.')
		return false;
	if (len == 2 && c[0] == '.' && c[1] == '.')
		return false;
	return true;
}

bool maildir_mailbox_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAILDIR_MAILBOX_NAME_MAX)
		return false;
	const char *start = name;
	for (const char *p = name;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			if (!component_valid(start, (size_t)(p - start)))
				return false;
			if (c == '\0')
				break;
			start = p + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	char enc[MAILDIR_FILENAME_MAX + 1];
	return maildir_mailbox_encode(name, enc, sizeof(enc)) >= 0;
}

int maildir_mailbox_encode(const char *name, char *out, size_t n)
{
	size_t o = 0;
	/* the folder is ".<enc>": one byte of the file name is the dot */
	size_t max = n < MAILDIR_FILENAME_MAX ? n : MAILDIR_FILENAME_MAX;
	for (const char *p = name; *p != '\0'; p++) {
		const char *rep = NULL;
		char one[2] = {*p, '\0'};
		if (*p == '%')
			rep = "%25";
		else if (*p == '.')
			rep = "%2E";
		else if (*p == '/')
			rep = ".";
		else
			rep = one;
		size_t rl = strlen(rep);
		if (o + rl + 1 > max)
			return -1;
		memcpy(out + o, rep, rl);
		o += rl;
	}
	out[o] = '\0';
	return (int)o;
}

int maildir_mailbox_decode(const char *enc, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = enc; *p != '\0'; p++) {
		char c = *p;
		if (c == '%') {
			if (strncmp(p, "%25", 3) == 0)
				c = '%';
			else if (strncmp(p, "%2E", 3) == 0)
				c = '.';
			else
				return -1;
			p += 2;
		} else if (c == '.') {
			c = '/';
		} else if (c == '/') {
			return -1;
		}
		if (o + 1 >= n)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	if (!maildir_mailbox_name_valid(out))
		return -1;
	return (int)o;
}
