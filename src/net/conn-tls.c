/* TLS transport for connections (OpenSSL, non-blocking): implicit TLS
 * (IMAPS) and STARTTLS both end up here. The handshake runs inside the
 * first reads; no input reaches the session before it completes. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "core/log.h"
#include "net/conn-private.h"

static ssize_t tls_result(struct conn *c, int ret, size_t done)
{
	if (ret > 0) {
		c->tls_ready = true;
		return (ssize_t)done;
	}
	int err = SSL_get_error(c->ssl, ret);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return CONN_IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->tls_wants_write = true;
		return CONN_IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EINTR)
			return CONN_IO_AGAIN;
		ERR_clear_error();
		if (errno == 0)
			return 0; /* peer closed without close_notify */
		c->io_error = strerror(errno);
		return -1;
	default: {
		unsigned long e = ERR_get_error();
		ERR_clear_error();
		c->io_error =
		        c->tls_ready ? "TLS error" : "TLS handshake failed";
		if (e != 0)
			log_event(LOG_DEBUG, "tls_error", "remote", c->remote,
			          "error", ERR_reason_error_string(e), NULL);
		return -1;
	}
	}
}

static ssize_t tls_read(struct conn *c, void *data, size_t len)
{
	size_t done = 0;
	errno = 0;
	int ret = SSL_read_ex(c->ssl, data, len, &done);
	return tls_result(c, ret, done);
}

static ssize_t tls_write(struct conn *c, const void *data, size_t len)
{
	size_t done = 0;
	errno = 0;
	if (!c->tls_ready) {
		/* let reads complete the handshake first */
		int ret = SSL_do_handshake(c->ssl);
		if (ret <= 0)
			return tls_result(c, ret, 0);
		c->tls_ready = true;
	}
	int ret = SSL_write_ex(c->ssl, data, len, &done);
	return tls_result(c, ret, done);
}

static void tls_shutdown(struct conn *c)
{
	if (c->tls_ready)
		SSL_shutdown(c->ssl); /* one close_notify, no waiting */
	ERR_clear_error();
}

const struct conn_transport conn_transport_tls = {
        .name = "tls",
        .read = tls_read,
        .write = tls_write,
        .shutdown = tls_shutdown,
};

void conn_tls_attach(struct conn *c, SSL_CTX *ctx)
{
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL) {
		log_event(LOG_ERROR, "tls_new_failed", NULL);
		abort();
	}
	SSL_set_fd(c->ssl, c->io.fd);
	SSL_set_accept_state(c->ssl);
	c->tr = &conn_transport_tls;
}
