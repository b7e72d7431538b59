/* TLS server context: loading the certificate and key, swapping them on
 * reload without disturbing open connections, and creating a self-signed
 * certificate on first start. */
#ifndef ROOST_NET_TLS_H
#define ROOST_NET_TLS_H

typedef struct ssl_ctx_st SSL_CTX;

/* Load cert (PEM chain) and key into a new context and make it current.
 * Connections already open keep the context they have. 0, or -1 with
 * *error_r (malloc'd). */
int tls_load(const char *cert_path, const char *key_path, char **error_r);
/* The current context with a reference the caller drops with
 * SSL_CTX_free(); NULL if none loaded. Thread-safe. */
SSL_CTX *tls_current(void);
/* Drop the current context (at exit). */
void tls_unload(void);

/* Create a self-signed certificate for hostname (also valid for
 * localhost and 127.0.0.1) and its EC P-256 key at the two paths, key
 * mode 0600, both written atomically. 0, or -1 with *error_r. */
int tls_create_self_signed(const char *cert_path, const char *key_path,
                           const char *hostname, char **error_r);

#endif
