/*
 * utf8: the one UTF-8 decoder of microgo's own code (file names, JSON
 * written by hand, token claims read by hand). Pure C: unit-tested and
 * fuzzed through its callers.
 */

#ifndef MICROGO_UTF8_H
#define MICROGO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length of the well-formed UTF-8 sequence at p (1 for ASCII), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629).
 * A NUL is a sequence of length 1. With cp, the code point goes there.
 */
size_t	utf8_seq(const unsigned char *p, uint32_t *cp);

#endif
