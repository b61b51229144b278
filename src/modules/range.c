/*
 * range: a single byte range.
 */

#include <stddef.h>
#include <strings.h>

#include "range.h"

static const char	*range_skip(const char *);
static int		 range_number(const char **, uint64_t *);

enum range_result
range_parse(const char *header, uint64_t size, uint64_t *first,
    uint64_t *last)
{
	const char	*p;
	uint64_t	 a, b;
	int		 has_a, has_b;

	if (header == NULL || strncasecmp(header, "bytes=", 6) != 0)
		return (RANGE_NONE);

	a = b = 0;
	p = range_skip(header + 6);
	if ((has_a = (*p >= '0' && *p <= '9')) && !range_number(&p, &a))
		return (RANGE_NONE);
	p = range_skip(p);
	if (*p++ != '-')
		return (RANGE_NONE);
	p = range_skip(p);
	if ((has_b = (*p >= '0' && *p <= '9')) && !range_number(&p, &b))
		return (RANGE_NONE);
	/* Nothing after: a list ("0-1,5-9") or junk is ignored. */
	if (*range_skip(p) != '\0' || (!has_a && !has_b))
		return (RANGE_NONE);

	if (!has_a) {			/* "-n": the last n bytes */
		if (b == 0 || size == 0)
			return (RANGE_UNSATISFIABLE);
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return (RANGE_OK);
	}
	if (has_b && b < a)
		return (RANGE_NONE);
	if (a >= size)
		return (RANGE_UNSATISFIABLE);

	*first = a;
	*last = !has_b || b >= size ? size - 1 : b;
	return (RANGE_OK);
}

static const char *
range_skip(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (p);
}

/* Decimal digits at *p, at most 19 of them (they fit a uint64_t). */
static int
range_number(const char **p, uint64_t *out)
{
	const char	*q = *p;
	uint64_t	 v;
	int		 n;

	for (v = 0, n = 0; *q >= '0' && *q <= '9'; q++, n++) {
		if (n == 19)
			return (0);
		v = v * 10 + (uint64_t)(*q - '0');
	}

	*out = v;
	*p = q;
	return (1);
}
