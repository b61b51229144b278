/*
 * utf8: one code point at a time.
 */

#include "utf8.h"

size_t
utf8_seq(const unsigned char *p, uint32_t *cp)
{
	uint32_t	c;
	size_t		n, i;

	if (p[0] < 0x80) {
		c = p[0];
		n = 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return (0);
	}

	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}

	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return (0);

	if (cp != NULL)
		*cp = c;
	return (n);
}
