/*
 * filename: file names from clients are hostile until cleaned.
 *
 * A name goes three places: into MongoDB (must be valid UTF-8), into a
 * JSON listing (the same), and into a response header (must be ASCII
 * without quotes or line breaks, or it splits the header). Cleaning once
 * on upload keeps the stored name safe for the first two; the header
 * gets an ASCII fallback and the exact name percent-encoded (RFC 6266,
 * RFC 5987), which every current browser prefers.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "filename.h"
#include "utf8.h"

static int	invisible(uint32_t);

void
filename_clean(const char *in, char out[FILENAME_MAX_LEN + 1])
{
	const unsigned char	*p;
	const char		*base;
	size_t			 n, len;
	uint32_t		 cp;

	/* Both separators: a Windows client sends C:\dir\name.jpg. */
	base = in;
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = (const char *)p + 1;
	}

	p = (const unsigned char *)base;
	len = 0;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			p++;
			continue;
		}
		/* Leading dots and spaces, also after dropped bytes. */
		if (len == 0 && (*p == '.' || *p == ' ')) {
			p++;
			continue;
		}
		if ((n = utf8_seq(p, &cp)) == 0) {
			p++;
			continue;
		}
		if (invisible(cp)) {
			p += n;
			continue;
		}
		if (len + n > FILENAME_MAX_LEN)
			break;
		memcpy(out + len, p, n);
		len += n;
		p += n;
	}

	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';

	if (len == 0)
		(void)strcpy(out, FILENAME_FALLBACK);
}

void
filename_webp(const char *clean, char *out, size_t outlen)
{
	const char	*dot;
	size_t		 stem;

	dot = strrchr(clean, '.');
	stem = (dot != NULL && dot != clean) ? (size_t)(dot - clean) :
	    strlen(clean);

	(void)snprintf(out, outlen, "%.*s.webp", (int)stem, clean);
}

int
filename_disposition(const char *clean, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	static const char	 attr[] = "!#$&+-.^_`|~";
	const unsigned char	*p;
	size_t			 len, i;
	char			 ascii[FILENAME_MAX_LEN + 6];
	char			 pct[(FILENAME_MAX_LEN + 5) * 3 + 1];

	/* A clean name, or its WEBP copy's: never cut one short. */
	if (strlen(clean) > FILENAME_MAX_LEN + 5)
		return (-1);

	for (i = 0, p = (const unsigned char *)clean;
	    *p != '\0'; p++) {
		if (*p >= 0x80) {
			/* One '_' per character, not per byte. */
			if ((*p & 0xc0) != 0x80)
				ascii[i++] = '_';
		} else if (*p >= 0x20 && *p != 0x7f && *p != '"' &&
		    *p != '\\' && *p != ';' && *p != '%') {
			ascii[i++] = (char)*p;
		}
	}
	ascii[i] = '\0';

	for (i = 0, p = (const unsigned char *)clean;
	    *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(attr, *p) != NULL) {
			pct[i++] = (char)*p;
		} else {
			pct[i++] = '%';
			pct[i++] = hex[*p >> 4];
			pct[i++] = hex[*p & 0x0f];
		}
	}
	pct[i] = '\0';

	len = (size_t)snprintf(out, outlen,
	    "attachment; filename=\"%s\"; filename*=UTF-8''%s",
	    ascii[0] != '\0' ? ascii : FILENAME_FALLBACK, pct);

	return (len < outlen ? 0 : -1);
}

/*
 * Characters that change how a name looks without being seen: C1
 * controls, zero-width and bidirectional marks and overrides (U+202E
 * turns "photo_gpj.exe" into "photo_exe.jpg" on screen), the BOM.
 */
static int
invisible(uint32_t cp)
{
	return ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) ||
	    cp == 0xfeff);
}
