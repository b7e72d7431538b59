/* Client connections: buffered non-blocking I/O with backpressure on a
 * worker loop. See conn.h. */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/conn-private.h"

#define CONN_READ_CHUNK 16384
#define CONN_READS_PER_EVENT 4 /* fairness: then let others run */
#define CONN_CLOSE_FLUSH_MS 5000

/* Output is written from out.data + out_off; the written prefix is
 * dropped in one move now and then, not after every write. */
#define PRINTF_ROOM 65536

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

static void out_compact(struct conn *c)
{
	buf_consume(&c->out, c->out_off);
	c->out_off = 0;
}

static atomic_uint open_conns;

/* Connections per remote address, across all loops. */
#define IP_BUCKETS 1024
struct ip_entry {
	struct ip_entry *next;
	unsigned int count;
	char ip[48];
};
static struct ip_entry *ip_table[IP_BUCKETS];
static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;

static struct ip_entry **ip_slot(const char *ip)
{
	uint32_t h = 2166136261u;
	for (const char *p = ip; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	struct ip_entry **e = &ip_table[h % IP_BUCKETS];
	while (*e != NULL && strcmp((*e)->ip, ip) != 0)
		e = &(*e)->next;
	return e;
}

static unsigned int conn_ip_acquire(const char *ip)
{
	pthread_mutex_lock(&ip_lock);
	struct ip_entry **slot = ip_slot(ip);
	if (*slot == NULL) {
		*slot = xcalloc(1, sizeof(**slot));
		snprintf((*slot)->ip, sizeof((*slot)->ip), "%s", ip);
	}
	unsigned int count = ++(*slot)->count;
	pthread_mutex_unlock(&ip_lock);
	return count;
}

static void conn_ip_release(const char *ip)
{
	pthread_mutex_lock(&ip_lock);
	struct ip_entry **slot = ip_slot(ip);
	struct ip_entry *e = *slot;
	if (e != NULL && --e->count == 0) {
		*slot = e->next;
		free(e);
	}
	pthread_mutex_unlock(&ip_lock);
}

static ssize_t plain_read(struct conn *c, void *data, size_t len)
{
	ssize_t n = recv(c->io.fd, data, len, 0);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_AGAIN;
	c->io_error = strerror(errno);
	return -1;
}

static ssize_t plain_write(struct conn *c, const void *data, size_t len)
{
	ssize_t n = send(c->io.fd, data, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CONN_IO_AGAIN;
	c->io_error = strerror(errno);
	return -1;
}

static void plain_shutdown(struct conn *c)
{
}

const struct conn_transport conn_transport_plain = {
        .name = "plain",
        .read = plain_read,
        .write = plain_write,
        .shutdown = plain_shutdown,
};

static void describe_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "unknown";
	unsigned int port = 0;
	if (getpeername(c->io.fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
			c->loopback =
			        (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			port = ntohs(s6->sin6_port);
			c->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		} else if (ss.ss_family == AF_UNIX) {
			snprintf(ip, sizeof(ip), "local");
			c->loopback = true;
		}
	}
	snprintf(c->remote_ip, sizeof(c->remote_ip), "%s", ip);
	if (strchr(ip, ':') != NULL)
		snprintf(c->remote, sizeof(c->remote), "[%s]:%u", ip, port);
	else
		snprintf(c->remote, sizeof(c->remote), "%s:%u", ip, port);
}

static void update_events(struct conn *c)
{
	if (c->closed)
		return;
	unsigned int ev = 0;
	if (!c->paused && !c->closing && c->starttls_ctx == NULL &&
	    buf_room(&c->in) > 0)
		ev |= LOOP_READ;
	if (out_pending(c) > 0 || c->tls_wants_write)
		ev |= LOOP_WRITE;
	/* while the TLS handshake runs, reading drives it */
	if (c->ssl != NULL && !c->tls_ready && !c->closing)
		ev |= LOOP_READ;
	loop_io_set(c->loop, &c->io, ev);
}

static void switch_to_tls(struct conn *c)
{
	SSL_CTX *ctx = c->starttls_ctx;
	c->starttls_ctx = NULL;
	/* RFC 3501 6.2.1 / RFC 2595 3.1: anything the client sent after
	 * STARTTLS, before the handshake, must not be acted on. */
	buf_free(&c->in);
	conn_tls_attach(c, ctx);
	SSL_CTX_free(ctx);
}

/* The transport's reason when it gave one. */
static void close_io_error(struct conn *c, const char *fallback)
{
	conn_close(c, c->io_error != NULL ? c->io_error : fallback);
}

static void flush_output(struct conn *c)
{
	while (out_pending(c) > 0 && !c->closed) {
		ssize_t n = c->tr->write(c, c->out.data + c->out_off,
		                         out_pending(c));
		if (n == CONN_IO_AGAIN)
			break;
		if (n < 0) {
			close_io_error(c, "write error");
			return;
		}
		c->out_bytes += (uint64_t)n;
		c->out_off += (size_t)n;
	}
	if (c->closed)
		return;
	if (out_pending(c) == 0) {
		buf_free(&c->out);
		c->out_off = 0;
		if (c->starttls_ctx != NULL)
			switch_to_tls(c);
		if (c->closing) {
			conn_close(c, NULL);
			return;
		}
	}
	/* what was written goes once it is as much as what is left: each
	 * byte is moved at most once on average */
	if (c->out_off > 0 && c->out_off >= out_pending(c))
		out_compact(c);
	if (c->output_was_full &&
	    out_pending(c) < c->lim.output_high_bytes / 2) {
		c->output_was_full = false;
		if (c->ops->on_drain != NULL && !c->closing)
			c->ops->on_drain(c, c->ctx);
	}
}

static void deliver_input(struct conn *c)
{
	if (c->in.len > 0 && !c->paused && !c->closing && !c->closed)
		c->ops->on_input(c, c->ctx);
	if (!c->closed && c->in.len == 0)
		buf_free(&c->in);
}

static void read_input(struct conn *c)
{
	static __thread unsigned char chunk[CONN_READ_CHUNK];
	for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
		size_t room = buf_room(&c->in);
		if (room == 0 || c->paused || c->closing || c->closed ||
		    c->starttls_ctx != NULL)
			break;
		if (room > sizeof(chunk))
			room = sizeof(chunk);
		ssize_t n = c->tr->read(c, chunk, room);
		if (n == CONN_IO_AGAIN)
			break;
		if (n == 0) {
			conn_close(c, "client disconnected");
			return;
		}
		if (n < 0) {
			close_io_error(c, "read error");
			return;
		}
		c->in_bytes += (uint64_t)n;
		buf_append(&c->in, chunk, (size_t)n);
		deliver_input(c);
	}
}

static void conn_io_cb(struct loop_io *io, unsigned int events)
{
	struct conn *c = container_of(io, struct conn, io);
	if (c->closed)
		return;
	if ((events & LOOP_WRITE) || c->tls_wants_write) {
		c->tls_wants_write = false;
		flush_output(c);
	}
	if (!c->closed && (events & LOOP_READ))
		read_input(c);
	if (!c->closed && out_pending(c) > 0)
		flush_output(c);
	update_events(c);
}

static void close_timer_cb(struct loop_timer *t)
{
	struct conn *c = container_of(t, struct conn, close_timer);
	conn_close(c, "output not read in time");
}

struct conn *conn_create(struct loop *loop, int fd, SSL_CTX *tls_ctx,
                         const struct conn_limits *limits)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->io.fd = fd;
	c->io.cb = conn_io_cb;
	c->loop = loop;
	c->tr = &conn_transport_plain;
	c->lim = *limits;
	c->close_timer.cb = close_timer_cb;
	c->refs = 1;
	buf_init(&c->in, limits->max_input_bytes);
	buf_init(&c->out, limits->max_output_bytes);
	describe_peer(c);
	c->ip_conns = conn_ip_acquire(c->remote_ip);
	if (tls_ctx != NULL)
		conn_tls_attach(c, tls_ctx);
	c->paused = true;
	loop_io_add(loop, &c->io, 0);
	atomic_fetch_add(&open_conns, 1);
	return c;
}

void conn_set_ops(struct conn *c, const struct conn_ops *ops, void *ctx)
{
	c->ops = ops;
	c->ctx = ctx;
}

void conn_start(struct conn *c)
{
	conn_resume_input(c);
}

struct buf *conn_input(struct conn *c)
{
	return &c->in;
}

struct buf *conn_output(struct conn *c)
{
	return &c->out;
}

static int check_output(struct conn *c, int ret)
{
	if (ret < 0) {
		conn_close(c, "output limit exceeded");
		return -1;
	}
	if (out_pending(c) >= c->lim.output_high_bytes)
		c->output_was_full = true;
	return 0;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closed)
		return -1;
	if (c->out_off > 0 && buf_room(&c->out) < len)
		out_compact(c);
	return check_output(c, buf_append(&c->out, data, len));
}

int conn_write_str(struct conn *c, const char *s)
{
	return conn_write(c, s, strlen(s));
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	if (c->closed)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	if (c->out_off > 0 && buf_room(&c->out) < PRINTF_ROOM)
		out_compact(c);
	int ret = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	return check_output(c, ret);
}

void conn_flush(struct conn *c)
{
	if (c->closed)
		return;
	if (out_pending(c) > c->lim.max_output_bytes) {
		conn_close(c, "output limit exceeded");
		return;
	}
	if (out_pending(c) >= c->lim.output_high_bytes)
		c->output_was_full = true;
	flush_output(c);
	update_events(c);
}

bool conn_output_full(const struct conn *c)
{
	return out_pending(c) >= c->lim.output_high_bytes;
}

void conn_pause_input(struct conn *c)
{
	c->paused = true;
	update_events(c);
}

static void resume_posted(void *arg)
{
	struct conn *c = arg;
	if (!c->closed && !c->paused) {
		deliver_input(c);
		/* the TLS engine may hold decrypted bytes epoll cannot see */
		if (!c->closed && c->ssl != NULL && SSL_pending(c->ssl) > 0)
			read_input(c);
		update_events(c);
	}
	conn_unref(c);
}

void conn_resume_input(struct conn *c)
{
	if (c->closed || !c->paused)
		return;
	c->paused = false;
	update_events(c);
	/* deliver buffered input from the loop, not from inside the
	 * caller, which may be in the middle of handling a command */
	conn_ref(c);
	loop_post(c->loop, resume_posted, c);
}

void conn_ref(struct conn *c)
{
	c->refs++;
}

void conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->starttls_ctx != NULL)
		SSL_CTX_free(c->starttls_ctx);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c->user);
	free(c);
}

void conn_start_tls(struct conn *c, SSL_CTX *ctx)
{
	SSL_CTX_up_ref(ctx);
	c->starttls_ctx = ctx;
	buf_free(&c->in);
	if (out_pending(c) == 0)
		switch_to_tls(c);
	update_events(c);
}

bool conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL || c->starttls_ctx != NULL;
}

bool conn_is_loopback(const struct conn *c)
{
	return c->loopback;
}

const char *conn_remote(const struct conn *c)
{
	return c->remote;
}

const char *conn_remote_ip(const struct conn *c)
{
	return c->remote_ip;
}

struct loop *conn_loop(const struct conn *c)
{
	return c->loop;
}

void conn_set_user(struct conn *c, const char *user)
{
	free(c->user);
	c->user = user != NULL ? xstrdup(user) : NULL;
}

bool conn_is_closing(const struct conn *c)
{
	return c->closing || c->closed;
}

static void unref_posted(void *arg)
{
	conn_unref(arg);
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->closed)
		return;
	if (reason == NULL)
		reason = c->close_reason != NULL ? c->close_reason : "closed";
	if (out_pending(c) > 0 && (c->ssl == NULL || c->tls_ready)) {
		ssize_t n = c->tr->write(c, c->out.data + c->out_off,
		                         out_pending(c));
		if (n > 0)
			c->out_bytes += (uint64_t)n;
	}
	c->closed = true;
	loop_timer_stop(c->loop, &c->close_timer);
	c->tr->shutdown(c);
	loop_io_del(c->loop, &c->io);
	close(c->io.fd);
	char in_bytes[24], out_bytes[24];
	snprintf(in_bytes, sizeof(in_bytes), "%llu",
	         (unsigned long long)c->in_bytes);
	snprintf(out_bytes, sizeof(out_bytes), "%llu",
	         (unsigned long long)c->out_bytes);
	log_event(LOG_INFO, "disconnect", "remote", c->remote, "user", c->user,
	          "reason", reason, "in_bytes", in_bytes, "out_bytes",
	          out_bytes, NULL);
	conn_ip_release(c->remote_ip);
	atomic_fetch_sub(&open_conns, 1);
	if (c->ops != NULL && c->ops->on_close != NULL)
		c->ops->on_close(c, c->ctx);
	/* freed after this loop iteration: events for c may still be
	 * queued in the current epoll batch */
	loop_post(c->loop, unref_posted, c);
}

void conn_close_after_flush(struct conn *c, const char *reason)
{
	if (c->closed || c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	loop_timer_start(c->loop, &c->close_timer, CONN_CLOSE_FLUSH_MS);
	flush_output(c);
	update_events(c);
}

struct conn_move {
	struct conn *c;
	struct loop *target;
	void (*done)(struct conn *c, void *ctx);
};

static void move_finish(void *arg)
{
	struct conn_move *m = arg;
	struct conn *c = m->c;
	c->loop = m->target;
	loop_io_add(c->loop, &c->io, 0);
	update_events(c);
	m->done(c, c->ctx);
	free(m);
	conn_unref(c);
}

/* Runs on the old loop once the callback that asked for the move has
 * returned, so nothing on this thread touches c after it leaves. */
static void move_start(void *arg)
{
	struct conn_move *m = arg;
	struct conn *c = m->c;
	if (c->closed) {
		free(m);
		conn_unref(c);
		return;
	}
	loop_timer_stop(c->loop, &c->close_timer);
	loop_io_del(c->loop, &c->io);
	loop_post(m->target, move_finish, m);
}

void conn_move(struct conn *c, struct loop *target,
               void (*done)(struct conn *c, void *ctx))
{
	struct conn_move *m = xmalloc(sizeof(*m));
	m->c = c;
	m->target = target;
	m->done = done;
	conn_ref(c);
	c->paused = true;
	update_events(c);
	loop_post(c->loop, move_start, m);
}

unsigned int conn_count(void)
{
	return atomic_load(&open_conns);
}

unsigned int conn_ip_connections(const struct conn *c)
{
	return c->ip_conns;
}
