/*
 * range: the one byte range of a Range request header (RFC 9110, 14.2)
 * that GET /img_collection/{fs_id} and shared links serve with 206. Pure
 * C, no Kore: unit-tested and fuzzed.
 */

#ifndef MICROGO_RANGE_H
#define MICROGO_RANGE_H

#include <stdint.h>

enum range_result {
	RANGE_NONE,		/* no range to honour: the whole file, 200 */
	RANGE_OK,		/* [first, last] of the file, 206 */
	RANGE_UNSATISFIABLE,	/* starts at or after its end: 416 */
};

/*
 * Reads header (a Range value, or NULL) for a file of size bytes. Only
 * "bytes=" with one range is honoured ("a-b", "a-", "-n"; the unit in
 * any case, spaces around the range); anything else, several ranges
 * included, is ignored, as RFC 9110 allows: the whole file is sent.
 */
enum range_result	range_parse(const char *header, uint64_t size,
			    uint64_t *first, uint64_t *last);

#endif
