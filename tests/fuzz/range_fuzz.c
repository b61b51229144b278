/*
 * range_fuzz: range_parse() (src/modules/range.c), which reads a
 * client's Range header before a file's bytes are sliced by it.
 *
 * The input, up to its first NUL, is the header; the file size is taken
 * from the input's length in several ways (0, 1, its length, 2^63).
 *
 * Invariants:
 *   - the result is one of the three, and on RANGE_OK
 *     first <= last < size, so the slice is inside the file;
 *   - RANGE_UNSATISFIABLE only for a header starting "bytes=" (any case);
 *   - it reads nothing past the NUL (ASan).
 */

#include <strings.h>

#include "range.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t	 sizes[] = { 0, 1, size, (uint64_t)1 << 63 };
	enum range_result r;
	uint64_t	 first, last;
	char		*h;
	size_t		 i;

	h = fuzz_str(data, size);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = range_parse(h, sizes[i], &first, &last);
		CHECK(r == RANGE_NONE || r == RANGE_OK ||
		    r == RANGE_UNSATISFIABLE);
		if (r == RANGE_OK)
			CHECK(first <= last && last < sizes[i]);
		if (r != RANGE_NONE)
			CHECK(strncasecmp(h, "bytes=", 6) == 0);
	}
	free(h);
	return (0);
}
