/*
 * query: strict parsing of numeric query parameters.
 *
 * Only plain digits are accepted — no sign, no spaces, no percent
 * escapes — so "10", and not "+10", "1e3" or "%31%30", is ten. A
 * parameter given twice is refused rather than guessed at.
 */

#include <string.h>

#include "query.h"

int
query_uint(const char *qs, const char *name, uint64_t max, uint64_t *out)
{
	const char	*p, *end, *eq;
	size_t		 nlen;
	uint64_t	 v, d;
	int		 found;

	if (qs == NULL)
		return (0);

	nlen = strlen(name);
	found = 0;
	v = 0;

	for (p = qs; *p != '\0'; p = (*end == '&') ? end + 1 : end) {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));

		if ((size_t)((eq != NULL ? eq : end) - p) != nlen ||
		    strncmp(p, name, nlen) != 0)
			continue;

		if (found++ || eq == NULL || eq + 1 == end)
			return (-1);

		for (p = eq + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return (-1);
			d = (uint64_t)(*p - '0');
			if (d > max || v > (max - d) / 10)
				return (-1);
			v = v * 10 + d;
		}
	}

	if (found)
		*out = v;

	return (found);
}
