/* TLS context management and self-signed certificates: see tls.h. */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "core/xalloc.h"

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *current_ctx;

static char *ssl_error(const char *what, const char *path)
{
	char msg[512];
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	snprintf(msg, sizeof(msg), "%s %s: %s", what, path,
	         e != 0 ? ERR_reason_error_string(e) : "unknown error");
	return xstrdup(msg);
}

int tls_load(const char *cert_path, const char *key_path, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = ssl_error("cannot create TLS context", "");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* small idle connections: give buffers back when not in use;
	 * partial writes from a buffer that may move between calls */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	                              SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	                                 SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		*error_r = ssl_error("cannot load certificate", cert_path);
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		*error_r = ssl_error("cannot load key", key_path);
		goto out_free;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r =
		        ssl_error("key does not match certificate", cert_path);
		goto out_free;
	}
	pthread_mutex_lock(&tls_lock);
	SSL_CTX *old = current_ctx;
	current_ctx = ctx;
	pthread_mutex_unlock(&tls_lock);
	SSL_CTX_free(old);
	return 0;
out_free:
	SSL_CTX_free(ctx);
	return -1;
}

SSL_CTX *tls_current(void)
{
	pthread_mutex_lock(&tls_lock);
	SSL_CTX *ctx = current_ctx;
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&tls_lock);
	return ctx;
}

void tls_unload(void)
{
	pthread_mutex_lock(&tls_lock);
	SSL_CTX *old = current_ctx;
	current_ctx = NULL;
	pthread_mutex_unlock(&tls_lock);
	SSL_CTX_free(old);
}

static int add_san(X509 *x509, const char *hostname)
{
	char san[512];
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1",
	         hostname);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x509, x509, NULL, NULL, 0);
	X509_EXTENSION *ext =
	        X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(x509, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *hostname)
{
	X509 *x509 = X509_new();
	unsigned char serial[16];
	if (x509 == NULL || random_bytes(serial, sizeof(serial)) < 0)
		goto out_fail;
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509));
	BN_free(bn);
	X509_set_version(x509, 2);
	X509_gmtime_adj(X509_getm_notBefore(x509), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x509), 10L * 365 * 24 * 3600);
	X509_set_pubkey(x509, key);
	X509_NAME *name = X509_get_subject_name(x509);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                           (const unsigned char *)"roost", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x509, name);
	if (add_san(x509, hostname) < 0 ||
	    X509_sign(x509, key, EVP_sha256()) == 0)
		goto out_fail;
	return x509;
out_fail:
	X509_free(x509);
	return NULL;
}

static int pem_to_buf(struct buf *out, int (*writer)(BIO *, void *), void *obj)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL || writer(bio, obj) != 1) {
		BIO_free(bio);
		return -1;
	}
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int ret = buf_append(out, data, (size_t)len);
	BIO_free(bio);
	return ret;
}

static int write_key(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(BIO *bio, void *x509)
{
	return PEM_write_bio_X509(bio, x509);
}

int tls_create_self_signed(const char *cert_path, const char *key_path,
                           const char *hostname, char **error_r)
{
	int ret = -1;
	struct buf key_pem, cert_pem;
	buf_init(&key_pem, 1 << 16);
	buf_init(&cert_pem, 1 << 16);
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x509 = key != NULL ? make_cert(key, hostname) : NULL;
	if (x509 == NULL) {
		*error_r = ssl_error("cannot create certificate", "");
		goto out_free;
	}
	if (pem_to_buf(&key_pem, write_key, key) < 0 ||
	    pem_to_buf(&cert_pem, write_cert, x509) < 0) {
		*error_r = ssl_error("cannot encode certificate", "");
		goto out_free;
	}
	if (write_file_atomic(key_path, key_pem.data, key_pem.len, 0600) < 0) {
		*error_r = xstrdup("cannot write TLS key file");
		goto out_free;
	}
	if (write_file_atomic(cert_path, cert_pem.data, cert_pem.len, 0644) <
	    0) {
		*error_r = xstrdup("cannot write TLS certificate file");
		goto out_free;
	}
	ret = 0;
out_free:
	X509_free(x509);
	EVP_PKEY_free(key);
	buf_free(&key_pem);
	buf_free(&cert_pem);
	return ret;
}
