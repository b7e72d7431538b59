/* Internals shared by conn.c and its transports (conn-tls.c). */
#ifndef ROOST_NET_CONN_PRIVATE_H
#define ROOST_NET_CONN_PRIVATE_H

#include <sys/types.h>

#include "net/conn.h"
#include "net/loop.h"

typedef struct ssl_st SSL;

#define CONN_IO_AGAIN (-2)

/* One transport: how bytes move on the socket. read/write return bytes
 * moved (> 0), 0 for end of stream (read only), CONN_IO_AGAIN when the
 * socket would block, -1 on error (c->io_error says why). */
struct conn_transport {
	const char *name;
	ssize_t (*read)(struct conn *c, void *data, size_t len);
	ssize_t (*write)(struct conn *c, const void *data, size_t len);
	void (*shutdown)(struct conn *c);
};

struct conn {
	struct loop_io io;
	struct loop *loop;
	const struct conn_transport *tr;
	SSL *ssl;
	SSL_CTX *starttls_ctx; /* switch to TLS once output is flushed */
	struct buf in, out;
	struct conn_limits lim;
	const struct conn_ops *ops;
	void *ctx;
	struct loop_timer close_timer;
	uint64_t in_bytes, out_bytes;
	size_t out_off; /* out.data[out_off..out.len) is still to write */
	const char *io_error;
	const char *close_reason; /* static text, for close after flush */
	unsigned int ip_conns;    /* from this address, at accept */
	char *user;
	unsigned int refs; /* the loop's own + pending posts */
	bool paused, closing, closed, output_was_full;
	bool tls_wants_write; /* the TLS engine needs the socket writable */
	bool tls_ready;       /* handshake complete */
	bool loopback;
	char remote[64];
	char remote_ip[48];
};

extern const struct conn_transport conn_transport_plain;
extern const struct conn_transport conn_transport_tls;

void conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Put c on TLS as a server with ctx (implicit TLS or STARTTLS). */
void conn_tls_attach(struct conn *c, SSL_CTX *ctx);

#endif
