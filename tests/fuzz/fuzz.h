/*
 * fuzz.h: what every microgo fuzz target shares: CHECK(), which aborts
 * with the failed invariant so that libFuzzer keeps the input (in a
 * `make coverage` build it only evaluates it); fuzz_str(), which hands
 * the input to a C string API in a buffer that ends exactly at its NUL,
 * so that AddressSanitizer flags any read past it; a strict UTF-8 check.
 */

#ifndef MICROGO_FUZZ_H
#define MICROGO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_COVERAGE
#define CHECK(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #c);			\
			abort();					\
		}							\
	} while (0)
#else
/* make coverage: measure the code under test, do not stop at a bug. */
#define CHECK(c)	((void)(c))
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input up to its first NUL, as a malloc'd string of exact size. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	const uint8_t	*nul;
	char		*s;

	if ((nul = memchr(data, '\0', size)) != NULL)
		size = (size_t)(nul - data);
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return (s);
}

/* Well-formed UTF-8 (RFC 3629): no overlongs, surrogates, > U+10FFFF. */
static inline int
fuzz_utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i, n, k;
	uint32_t	cp, min;

	for (i = 0; i < len; i += n) {
		if (s[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return (0);
		}
		if (len - i < n)
			return (0);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
	}

	return (1);
}

#endif
