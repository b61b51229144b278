/*
 * jsonout: the small JSON objects the hot routes answer with (/me, /healthz,
 * every error), written straight into a buffer. Pure C, no Kore:
 * unit-tested and fuzzed against jansson's parser.
 *
 * jansson builds a tree, allocates three or four times and serialises it:
 * about 8,000 instructions for {"id": "2", "username": "Rex"}, a third of
 * what Kore itself spends on a whole request. This writes the same JSON
 * (only control characters are escaped as \u00XX, never \n) for an
 * object of string values, in a few hundred. Anything larger or nested still goes through jansson
 * (reply_json).
 */

#ifndef MICROGO_JSONOUT_H
#define MICROGO_JSONOUT_H

#include <stddef.h>

/* Room for an object of short values: an error message, /me's answer. */
#define JSONOUT_MAX	1024

/*
 * Writes {"k0":"v0","k1":"v1",...} for the n key/value pairs of kv (keys
 * at even indexes) into out, NUL-terminated, and returns its length; or
 * 0 if it does not fit outlen. Values and keys are UTF-8: quotes,
 * backslashes and control characters are escaped, and a byte that is
 * not part of valid UTF-8 is written as U+FFFD, so the result is always
 * valid JSON.
 */
size_t	jsonout_object(char *out, size_t outlen, const char *const *kv,
	    size_t n);

#endif
