/*
 * jsonout_fuzz: jsonout_object() (src/modules/jsonout.c), which writes
 * the JSON of /me (a user name from a token) and of every error.
 *
 * The input, split at its first NUL, is a value and a key (either may be
 * any bytes).
 *
 * Invariants:
 *   - the output always parses with jansson as an object of one member;
 *   - a key and value that are valid UTF-8 read back exactly as given;
 *   - an output buffer of exactly strlen + 1 bytes is enough, and one
 *     byte less is refused (0, empty) without writing past it (ASan).
 */

#include <jansson.h>

#include "jsonout.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*root;
	const char	*kv[2];
	const uint8_t	*nul;
	char		*value, *k, *small;
	char		 out[6 * 2048 + 16];	/* a byte may take six */
	size_t		 len, vlen;

	if (size > 2048)
		return (0);
	nul = memchr(data, '\0', size);
	vlen = nul != NULL ? (size_t)(nul - data) : size;
	value = fuzz_str(data, vlen);
	k = nul != NULL ? fuzz_str(nul + 1, size - vlen - 1) : fuzz_str(
	    (const uint8_t *)"k", 1);
	kv[0] = k;
	kv[1] = value;

	len = jsonout_object(out, sizeof(out), kv, 1);
	CHECK(len > 0 && len == strlen(out));

	root = json_loads(out, JSON_ALLOW_NUL, NULL);
	CHECK(json_is_object(root) && json_object_size(root) == 1);
	if (fuzz_utf8_valid((const unsigned char *)k, strlen(k)) &&
	    fuzz_utf8_valid((const unsigned char *)value, strlen(value))) {
		CHECK(json_is_string(json_object_get(root, k)));
		CHECK(strcmp(json_string_value(json_object_get(root, k)),
		    value) == 0);
	}
	json_decref(root);

	CHECK((small = malloc(len + 1)) != NULL);
	CHECK(jsonout_object(small, len + 1, kv, 1) == len);
	CHECK(strcmp(small, out) == 0);
	CHECK(jsonout_object(small, len, kv, 1) == 0 && small[0] == '\0');
	free(small);

	free(value);
	free(k);
	return (0);
}
