/*
 * multipart: a strict, copy-free multipart/form-data reader.
 *
 * Kore 4.1 has a multipart parser, but it drops a part whose file name
 * holds a ':' or ';' (it splits header lines on them), drops empty file
 * parts, and scans the whole body on the event loop. This one runs on a
 * job thread over the body as one buffer (in memory, or the spooled file
 * mapped), and hands back where the part's bytes are, so a 32 MiB image
 * is never copied to be found.
 *
 * Bounded everywhere: part headers may take at most MULTIPART_HEADERS_MAX
 * bytes, parameters are parsed once left to right, and every search is a
 * memmem(3) over what remains of the body.
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

#define MULTIPART_HEADERS_MAX	8192
#define MULTIPART_PARAM_MAX	MULTIPART_FILENAME_MAX

static int	mp_param(const char **, const char *, char *, size_t);
static int	mp_next_param(const char **, const char *, char *, size_t,
		    char *, size_t);
static int	mp_disposition(const char *, const char *,
		    struct multipart_part *, int *);
static int	mp_headers(const uint8_t *, size_t, const char *,
		    struct multipart_part *, int *);
static const char *mp_skip_ws(const char *, const char *);
static const uint8_t *mp_delimiter(const uint8_t *, const uint8_t *,
		    const char *, size_t);

int
multipart_boundary(const char *content_type,
    char out[MULTIPART_BOUNDARY_MAX + 1])
{
	const char	*p, *end;
	char		 name[32], value[MULTIPART_PARAM_MAX];
	int		 found, r;
	size_t		 len;

	p = mp_skip_ws(content_type, content_type + strlen(content_type));
	if (strncasecmp(p, "multipart/form-data", 19) != 0)
		return (-1);
	p += 19;
	end = p + strlen(p);

	found = 0;
	while ((r = mp_next_param(&p, end, name, sizeof(name), value,
	    sizeof(value))) == 1) {
		if (strcasecmp(name, "boundary") != 0)
			continue;
		if (found++)
			return (-1);
		len = strlen(value);
		if (len == 0 || len > MULTIPART_BOUNDARY_MAX ||
		    value[len - 1] == ' ')
			return (-1);
		memcpy(out, value, len + 1);
	}

	return (r == 0 && found ? 0 : -1);
}

enum multipart_result
multipart_find(const uint8_t *body, size_t len, const char *boundary,
    const char *name, struct multipart_part *out)
{
	const uint8_t	*p, *end, *hend, *next;
	size_t		 blen, dlen;
	int		 match;
	char		 delim[MULTIPART_BOUNDARY_MAX + 5];

	memset(out, 0, sizeof(*out));

	blen = strlen(boundary);
	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX)
		return (MULTIPART_MALFORMED);

	/* "\r\n--boundary": the first one may lack the CRLF. */
	delim[0] = '\r';
	delim[1] = '\n';
	delim[2] = '-';
	delim[3] = '-';
	memcpy(delim + 4, boundary, blen);
	dlen = blen + 4;

	end = body + len;
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((p = mp_delimiter(body, body + len, delim, dlen)) != NULL)
		p += dlen;
	else
		return (MULTIPART_MALFORMED);

	for (;;) {
		/* After a delimiter: "--" closes, CRLF opens a part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return (MULTIPART_MISSING);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return (MULTIPART_MALFORMED);
		p += 2;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			hend = p - 2;		/* a part without headers */
		else
			hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL || hend - p > MULTIPART_HEADERS_MAX)
			return (MULTIPART_MALFORMED);

		if (mp_headers(p, (size_t)(hend + 2 - p), name, out,
		    &match) == -1)
			return (MULTIPART_MALFORMED);

		p = hend + 4;
		if ((next = mp_delimiter(p, end, delim, dlen)) == NULL)
			return (MULTIPART_MALFORMED);

		if (match) {
			out->data = p;
			out->len = (size_t)(next - p);
			return (MULTIPART_FOUND);
		}
		p = next + dlen;
	}
}

/*
 * The next "\r\n--boundary" that really is a delimiter: followed by "--"
 * or by optional white space and CRLF (RFC 2046), not by more text.
 */
static const uint8_t *
mp_delimiter(const uint8_t *p, const uint8_t *end, const char *delim,
    size_t dlen)
{
	const uint8_t	*d, *q;

	while ((d = memmem(p, (size_t)(end - p), delim, dlen)) != NULL) {
		q = d + dlen;
		if (end - q >= 2 && q[0] == '-' && q[1] == '-')
			return (d);
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q >= 2 && q[0] == '\r' && q[1] == '\n')
			return (d);
		p = d + 1;
	}

	return (NULL);
}

/*
 * Part headers: CRLF-terminated lines. Only Content-Disposition matters;
 * *match is set if it is form-data named `name`.
 */
static int
mp_headers(const uint8_t *p, size_t len, const char *name,
    struct multipart_part *out, int *match)
{
	const uint8_t	*end, *eol;
	size_t		 n;
	char		 line[MULTIPART_HEADERS_MAX + 1];

	*match = 0;
	end = p + len;

	for (; p < end; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return (-1);
		n = (size_t)(eol - p);
		if (memchr(p, '\0', n) != NULL)
			return (-1);
		memcpy(line, p, n);
		line[n] = '\0';

		if (strncasecmp(line, "content-disposition:", 20) != 0)
			continue;
		if (mp_disposition(line + 20, name, out, match) == -1)
			return (-1);
	}

	return (0);
}

static int
mp_disposition(const char *v, const char *name, struct multipart_part *out,
    int *match)
{
	const char	*end;
	char		 key[32], value[MULTIPART_PARAM_MAX];
	int		 named, r;

	end = v + strlen(v);
	v = mp_skip_ws(v, end);
	if (strncasecmp(v, "form-data", 9) != 0)
		return (0);
	v += 9;

	named = 0;
	while ((r = mp_next_param(&v, end, key, sizeof(key), value,
	    sizeof(value))) == 1) {
		if (strcasecmp(key, "name") == 0) {
			named = (strcmp(value, name) == 0);
		} else if (strcasecmp(key, "filename") == 0) {
			out->has_filename = 1;
			(void)strcpy(out->filename, value);
		}
	}
	if (r == -1)
		return (-1);

	*match = named;
	if (!named) {
		out->has_filename = 0;
		out->filename[0] = '\0';
	}
	return (0);
}

/*
 * The next "; key=value" of a header's parameter list: 1 with key and
 * value filled in, 0 at the end of the list, -1 if it is malformed.
 */
static int
mp_next_param(const char **pp, const char *end, char *key, size_t keylen,
    char *value, size_t valuelen)
{
	const char	*p;
	size_t		 len;

	if ((p = mp_skip_ws(*pp, end)) == end)
		return (0);
	if (*p++ != ';')
		return (-1);

	p = mp_skip_ws(p, end);
	len = strcspn(p, "=;");
	if (len == 0 || len >= keylen || p[len] != '=')
		return (-1);
	memcpy(key, p, len);
	key[len] = '\0';
	p += len + 1;
	while (len > 0 && isspace((unsigned char)key[len - 1]))
		key[--len] = '\0';

	if (mp_param(&p, end, value, valuelen) == -1)
		return (-1);

	*pp = p;
	return (1);
}

/*
 * A parameter value at *pp: a quoted-string (backslash escapes) or a
 * token up to ';' or white space. Advances *pp past it.
 */
static int
mp_param(const char **pp, const char *end, char *out, size_t outlen)
{
	const char	*p;
	size_t		 n;

	p = mp_skip_ws(*pp, end);
	n = 0;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n + 1 >= outlen)
				return (-1);
			out[n++] = *p;
		}
		if (p >= end)
			return (-1);
		p++;
	} else {
		for (; p < end && *p != ';' && !isspace((unsigned char)*p);
		    p++) {
			if (n + 1 >= outlen)
				return (-1);
			out[n++] = *p;
		}
	}

	out[n] = '\0';
	*pp = p;
	return (0);
}

static const char *
mp_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;

	return (p);
}
