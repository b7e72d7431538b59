/* Maildir file and folder names of the local store: parsing and building
 * them is kept apart from the store so that it can be tested and fuzzed
 * on its own.
 *
 * A message file in cur/ is named "<key>,U=<uid>:2,<flags>": key is the
 * unique base name ("<sec>.M<usec>P<pid>Q<n>R<hex>.<host>,S=<size>"),
 * flags are the Maildir letters D F R S T (\Draft \Flagged \Answered
 * \Seen \Deleted) then keyword letters a-z, in ASCII order. A mailbox
 * other than INBOX is the Maildir++ folder ".<enc>", where enc is the
 * wire name with '%' -> "%25", '.' -> "%2E" and then '/' -> '.'. */
#ifndef ROOST_STORE_MAILDIR_NAME_H
#define ROOST_STORE_MAILDIR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_FILENAME_MAX 255 /* NAME_MAX */
#define MAILDIR_MAILBOX_NAME_MAX 512
#define MAILDIR_KEYWORD_LETTERS 26

struct maildir_name {
	char key[MAILDIR_FILENAME_MAX + 1]; /* base name without U= */
	uint64_t size;                      /* from S=, if has_size */
	uint32_t uid;                       /* from U=, 0 if none */
	uint32_t flags;                     /* STORE_FLAG_* */
	uint32_t keyword_mask;              /* bit i: letter 'a' + i */
	bool has_size;
	bool has_info; /* ":2," was present */
};

/* Parse a file name found in cur/ or new/. A U= that is not a number in
 * [1, 2^32-2] is dropped (the message gets a new UID); unknown flag
 * letters are ignored. Returns 0, or -1 for a name that cannot be a
 * message (empty, too long, starting with '.', holding '/'). */
int maildir_name_parse(const char *name, struct maildir_name *out);

/* Write "<key>,U=<uid>:2,<letters>" into out (size n). Returns its
 * length, or -1 if it does not fit in n or in a file name. */
int maildir_name_build(char *out, size_t n, const char *key, uint32_t uid,
                       uint32_t flags, uint32_t keyword_mask);

/* Write the flag letters (NUL-terminated, at most 32 bytes). */
void maildir_flags_letters(char out[32], uint32_t flags, uint32_t keyword_mask);

/* Whether the store can hold a mailbox of this wire name: not empty, no
 * leading or trailing '/', no "//", no component "." or "..", no bytes
 * below 0x20 or 0x7f, at most MAILDIR_MAILBOX_NAME_MAX bytes, and an
 * encoded folder name that fits in a file name. */
bool maildir_mailbox_name_valid(const char *name);

/* Folder name (without the leading '.') of a valid wire name into out
 * (size n); -1 if it does not fit. */
int maildir_mailbox_encode(const char *name, char *out, size_t n);

/* Wire name of a folder name (without the leading '.'); -1 if enc is
 * not something maildir_mailbox_encode() could have produced from a
 * valid name. */
int maildir_mailbox_decode(const char *enc, char *out, size_t n);

#endif
