/*
 * query: reads unsigned integer parameters from a URL query string
 * (?limit=10&offset=20). Kore 4.1 silently drops parameters that fail
 * its validators; the API must answer 400 instead, so they are parsed
 * here. Pure C, no Kore: unit-tested and fuzzed.
 */

#ifndef MICROGO_QUERY_H
#define MICROGO_QUERY_H

#include <stdint.h>

/*
 * Looks name up in qs (may be NULL). Returns 0 if absent (*out
 * untouched), 1 with *out set if present once as decimal digits no
 * greater than max, -1 otherwise (empty, not digits, too large,
 * repeated).
 */
int	query_uint(const char *qs, const char *name, uint64_t max,
	    uint64_t *out);

#endif
