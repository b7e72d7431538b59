/* libFuzzer target: the INI configuration parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct config *cfg = config_defaults();
	char *error = NULL;
	if (config_apply_string(cfg, text, &error) < 0)
		free(error);
	else
		config_finish(cfg);
	config_free(&cfg);
	free(text);
	return 0;
}
