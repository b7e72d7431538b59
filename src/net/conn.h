/* A client connection: a non-blocking socket on one worker's loop, a
 * transport (plain or TLS, a table of functions so no handler tests for
 * TLS), an input buffer and a bounded output buffer.
 *
 * The protocol session above it supplies callbacks. Input arrives in
 * conn_input(); the session consumes what it can. Output is appended with
 * conn_write(); the connection flushes it as the socket allows. When more
 * than the high-water mark is queued, the session should stop producing
 * and wait for on_drain (backpressure); a connection whose queue passes
 * the hard cap is closed. Idle connections hold no buffer memory. */
#ifndef ROOST_NET_CONN_H
#define ROOST_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct conn;
struct loop;
typedef struct ssl_ctx_st SSL_CTX;

struct conn_ops {
	/* New bytes are in conn_input(c). */
	void (*on_input)(struct conn *c, void *ctx);
	/* Queued output fell below the low-water mark. */
	void (*on_drain)(struct conn *c, void *ctx);
	/* The connection is closed; release the session. c stays valid
	 * until the callback returns. */
	void (*on_close)(struct conn *c, void *ctx);
};

struct conn_limits {
	size_t max_input_bytes;   /* unconsumed input held at most */
	size_t max_output_bytes;  /* hard cap on queued output */
	size_t output_high_bytes; /* backpressure threshold */
};

/* Wrap an accepted socket on loop. tls_ctx != NULL: implicit TLS, the
 * handshake runs before any input is delivered. */
struct conn *conn_create(struct loop *loop, int fd, SSL_CTX *tls_ctx,
                         const struct conn_limits *limits);
void conn_set_ops(struct conn *c, const struct conn_ops *ops, void *ctx);
/* Start reading; call once the session is ready. */
void conn_start(struct conn *c);

struct buf *conn_input(struct conn *c);
/* Append output; returns 0, or -1 when the hard cap is passed (the
 * connection is then being closed and the session should stop). */
int conn_write(struct conn *c, const void *data, size_t len);
int conn_write_str(struct conn *c, const char *s);
int conn_printf(struct conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The output buffer, for encoders writing into it directly; call
 * conn_flush() after. */
struct buf *conn_output(struct conn *c);
/* Try to write queued output now (also done automatically). */
void conn_flush(struct conn *c);
/* Is queued output above the high-water mark? */
bool conn_output_full(const struct conn *c);

/* Stop/resume delivering input (e.g. while a login is being checked, or
 * while output is backed up). Resuming delivers input already buffered. */
void conn_pause_input(struct conn *c);
void conn_resume_input(struct conn *c);

/* STARTTLS: after queued output is flushed in plaintext, switch to TLS.
 * Input already received in plaintext is discarded (RFC 3207/2595 command
 * injection), and none is delivered until the handshake completes. */
void conn_start_tls(struct conn *c, SSL_CTX *ctx);
bool conn_is_tls(const struct conn *c);
/* Is the connection's peer on a loopback address? */
bool conn_is_loopback(const struct conn *c);
/* Printable "ip:port" of the peer; the ip alone. */
const char *conn_remote(const struct conn *c);
const char *conn_remote_ip(const struct conn *c);
struct loop *conn_loop(const struct conn *c);
/* Connections open from this peer's address when c was accepted,
 * c included. */
unsigned int conn_ip_connections(const struct conn *c);
/* Name the user in the disconnect log line. */
void conn_set_user(struct conn *c, const char *user);

/* Close now, logging reason. Queued output gets one last write attempt. */
void conn_close(struct conn *c, const char *reason);
/* Stop reading, flush queued output, then close (bounded by a timer). */
void conn_close_after_flush(struct conn *c, const char *reason);
bool conn_is_closing(const struct conn *c);

/* Move c to another loop (user affinity). Call on c's loop; input is
 * paused at once, and the move itself happens after the current callback
 * returns. done(c, ctx) runs on the target loop after the move, unless c
 * was closed before it could leave (then on_close has run instead); the
 * connection stays paused until the session resumes input. */
void conn_move(struct conn *c, struct loop *target,
               void (*done)(struct conn *c, void *ctx));

/* Connections open in this process (all loops). */
unsigned int conn_count(void);

#endif
