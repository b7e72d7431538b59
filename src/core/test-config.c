/* Unit tests for core/config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"

static void test_defaults(void **state)
{
	struct config *cfg = config_load(NULL, NULL, NULL);
	assert_non_null(cfg);
	assert_string_equal(cfg->data_dir, "./roost-data");
	assert_string_equal(cfg->imap_listen, "127.0.0.1:1143");
	assert_string_equal(cfg->imap_tls_listen, "127.0.0.1:1993");
	assert_string_equal(cfg->tls_cert, "./roost-data/tls/cert.pem");
	assert_string_equal(cfg->passwd_file, "./roost-data/passwd");
	assert_int_equal(cfg->autologout_s, 1800);
	assert_false(cfg->allow_plaintext);
	assert_true(cfg->plaintext_loopback);
	config_free(&cfg);
	assert_null(cfg);
}

static void test_apply(void **state)
{
	struct config *cfg = config_defaults();
	char *error = NULL;
	assert_int_equal(config_apply_string(cfg,
	                                     "[imap]\nlisten = 127.0.0.1:0\n"
	                                     "autologout_s = 2\n"
	                                     "tls_listen = [::1]:993, *:994\n"
	                                     "[auth]\nallow_plaintext = yes\n",
	                                     &error),
	                 0);
	assert_string_equal(cfg->imap_listen, "127.0.0.1:0");
	assert_int_equal(cfg->autologout_s, 2);
	assert_true(cfg->allow_plaintext);
	assert_int_equal(cfg->max_message_size, 50 << 20);
	assert_int_equal(cfg->quota_storage, 0);
	assert_int_equal(config_apply_string(cfg,
	                                     "[store]\nquota_storage = 2g\n"
	                                     "max_message_size = 1536\n",
	                                     &error),
	                 0);
	assert_true(cfg->quota_storage == UINT64_C(2) << 30);
	assert_int_equal(cfg->max_message_size, 1536);
	config_free(&cfg);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
	        "[imap]\nlisten_typo = x\n",   /* unknown key */
	        "[nosuch]\nkey = 1\n",         /* unknown section */
	        "[imap]\nautologout_s = -5\n", /* not a number */
	        "[imap]\nautologout_s = 0\n",  /* below minimum */
	        "[auth]\nallow_plaintext = perhaps\n",
	        "[imap\nlisten = x\n", /* syntax */
	        "[imap]\nlisten = not-an-address\n",
	        "[imap]\nlisten = 127.0.0.1:99999\n",
	        "[imap]\ntls_listen = 127.0.0.1:993,[::1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config *cfg = config_defaults();
		char *error = NULL;
		assert_int_equal(config_apply_string(cfg, bad[i], &error), -1);
		assert_non_null(error);
		assert_non_null(strstr(error, "config:"));
		free(error);
		config_free(&cfg);
	}
}

static void test_print_roundtrip(void **state)
{
	struct config *cfg = config_load(NULL, "/srv/mail", NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_print(cfg, f);
	fclose(f);
	assert_non_null(strstr(text, "[server]\n"));
	assert_non_null(strstr(text, "data = /srv/mail\n"));
	assert_non_null(strstr(text, "cert = /srv/mail/tls/cert.pem\n"));
	/* the printed configuration is itself a valid configuration */
	struct config *again = config_defaults();
	char *error = NULL;
	assert_int_equal(config_apply_string(again, text, &error), 0);
	assert_string_equal(again->data_dir, "/srv/mail");
	config_free(&again);
	config_free(&cfg);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_apply),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_print_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
