/* Internals of the delivery pipeline shared by deliver.c and
 * deliver-msg.c. */
#ifndef ROOST_LMTP_DELIVER_PRIVATE_H
#define ROOST_LMTP_DELIVER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "lmtp/deliver.h"

/* Room before the message for a copy's Return-Path, Delivered-To and
 * Received: each holds at most a path (256 bytes), a domain (255) or
 * our host name, so they fit with a wide margin. */
#define DELIVER_PREFIX_ROOM 4096

struct deliver_msg {
	char *data_dir;
	uint64_t max_bytes;
	uint64_t body_len; /* received, kept or not */
	/* DELIVER_PREFIX_ROOM zero bytes, then the message: in mem, or in
	 * the spool file fd (mem is then empty) */
	struct buf mem;
	int fd;
	bool too_big; /* past max_bytes: nothing is kept */
	bool has_nul;
	bool failed; /* the spool file could not be written */
};

/* The room and the message, writable (a private mapping for a spool
 * file); NULL on failure. */
unsigned char *deliver_msg_map(struct deliver_msg *m);
void deliver_msg_unmap(struct deliver_msg *m, unsigned char *map);

#endif
