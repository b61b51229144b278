/*
 * multipart: finds one part of a multipart/form-data body (RFC 7578)
 * in a contiguous buffer, without copying it. Pure C, no Kore:
 * unit-tested and fuzzed.
 */

#ifndef MICROGO_MULTIPART_H
#define MICROGO_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 */
#define MULTIPART_FILENAME_MAX	1024

enum multipart_result {
	MULTIPART_FOUND,
	MULTIPART_MISSING,	/* well formed, but no such part */
	MULTIPART_MALFORMED,
};

struct multipart_part {
	const uint8_t	*data;		/* points into the body */
	size_t		 len;
	int		 has_filename;
	char		 filename[MULTIPART_FILENAME_MAX];
};

/*
 * The boundary of a "multipart/form-data; boundary=..." Content-Type
 * (parameters in any order, quoted or not). Returns 0, or -1 if the type
 * is another or the boundary is missing or invalid.
 */
int			multipart_boundary(const char *content_type,
			    char out[MULTIPART_BOUNDARY_MAX + 1]);

/* The first part whose Content-Disposition names it `name`. */
enum multipart_result	multipart_find(const uint8_t *body, size_t len,
			    const char *boundary, const char *name,
			    struct multipart_part *out);

#endif
