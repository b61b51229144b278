/*
 * filename: what microgo makes of a client's file name — the name it
 * stores, the name of the WEBP copy, and the Content-Disposition header
 * it sends back. Pure C, no Kore: unit-tested and fuzzed.
 */

#ifndef MICROGO_FILENAME_H
#define MICROGO_FILENAME_H

#include <stddef.h>

#define FILENAME_MAX_LEN	200
#define FILENAME_FALLBACK	"upload"

/*
 * The last path component of in, as valid UTF-8 without control
 * characters or leading dots and spaces, at most FILENAME_MAX_LEN bytes
 * (cut at a character boundary); FILENAME_FALLBACK if nothing is left.
 * out must hold FILENAME_MAX_LEN + 1 bytes.
 */
void	filename_clean(const char *in, char out[FILENAME_MAX_LEN + 1]);

/* "<stem of clean>.webp"; out must hold FILENAME_MAX_LEN + 6 bytes. */
void	filename_webp(const char *clean, char *out, size_t outlen);

/*
 * attachment; filename="<ASCII>"; filename*=UTF-8''<RFC 5987> for a
 * cleaned name. Returns 0, or -1 if out is too small.
 */
int	filename_disposition(const char *clean, char *out, size_t outlen);

#endif
