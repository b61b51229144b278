/*
 * multipart_fuzz: the upload body reader (src/modules/multipart.c).
 *
 * The input is "<Content-Type>\n<body>" (without a newline, all of it is
 * the Content-Type and the body is empty). The Content-Type goes through
 * multipart_boundary(); the body, in a buffer that ends where it does,
 * through multipart_find() for the part "data" (what ctl_upload asks
 * for), once with the fixed boundary "BOUNDARY" and once with the
 * boundary parsed from the Content-Type, if any.
 *
 * Invariants, multipart_boundary():
 *   - it returns 0 or -1; on 0 the boundary is 1 to 70 bytes without a
 *     trailing space, and the type is multipart/form-data (any case);
 *   - the boundary, written back as a quoted parameter (and, if it is a
 *     plain token, as a bare one), parses back to itself.
 * Invariants, multipart_find():
 *   - it returns FOUND, MISSING or MALFORMED and reads nothing outside
 *     the body (ASan);
 *   - on FOUND, data and len lie inside the body; the part is followed
 *     by "\r\n--<boundary>", with no such delimiter (followed by "--" or
 *     by optional white space and CRLF) starting inside it; it is
 *     preceded by the blank line closing its headers;
 *   - the file name is NUL-terminated in its buffer, and empty unless
 *     has_filename is set.
 */

#include <strings.h>

#include "multipart.h"
#include "fuzz.h"

#define BOUNDARY	"BOUNDARY"
#define PART_NAME	"data"

/* A delimiter as RFC 2046 (and multipart.c) has it, at d. */
static int
is_delimiter(const uint8_t *d, const uint8_t *end, const char *b)
{
	const uint8_t	*q;
	size_t		 blen;

	blen = strlen(b);
	if (end - d < (ptrdiff_t)(blen + 4) || memcmp(d, "\r\n--", 4) != 0 ||
	    memcmp(d + 4, b, blen) != 0)
		return (0);
	q = d + 4 + blen;
	if (end - q >= 2 && q[0] == '-' && q[1] == '-')
		return (1);
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return (end - q >= 2 && q[0] == '\r' && q[1] == '\n');
}

static void
check_find(const uint8_t *body, size_t len, const char *boundary)
{
	struct multipart_part	 part;
	enum multipart_result	 r;
	const uint8_t		*p, *end;

	memset(&part, 0xa5, sizeof(part));
	r = multipart_find(body, len, boundary, PART_NAME, &part);
	CHECK(r == MULTIPART_FOUND || r == MULTIPART_MISSING ||
	    r == MULTIPART_MALFORMED);
	if (r != MULTIPART_FOUND)
		return;

	end = body + len;
	CHECK(part.data != NULL);
	CHECK(part.data >= body && part.data <= end);
	CHECK(part.len <= (size_t)(end - part.data));
	CHECK(is_delimiter(part.data + part.len, end, boundary));
	for (p = part.data; p < part.data + part.len; p++)
		CHECK(!is_delimiter(p, end, boundary));
	CHECK(part.data - body >= 2 && memcmp(part.data - 2, "\r\n", 2) == 0);

	CHECK(part.has_filename == 0 || part.has_filename == 1);
	CHECK(memchr(part.filename, '\0', sizeof(part.filename)) != NULL);
	if (!part.has_filename)
		CHECK(part.filename[0] == '\0');
}

static void
check_roundtrip(const char *b, int quoted)
{
	char		 ct[MULTIPART_BOUNDARY_MAX * 2 + 64], *p, back[80];
	size_t		 i;

	p = ct + snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s",
	    quoted ? "\"" : "");
	for (i = 0; b[i] != '\0'; i++) {
		if (quoted && (b[i] == '"' || b[i] == '\\'))
			*p++ = '\\';
		*p++ = b[i];
	}
	if (quoted)
		*p++ = '"';
	*p = '\0';

	CHECK(multipart_boundary(ct, back) == 0);
	CHECK(strcmp(back, b) == 0);
}

static int
is_token(const char *b)
{
	return (b[0] != '"' && strpbrk(b, "; \t\n\v\f\r") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nl, *body;
	char		*ct, *boundary;
	size_t		 len, blen;
	int		 rc;

	if ((nl = memchr(data, '\n', size)) != NULL) {
		ct = fuzz_str(data, (size_t)(nl - data));
		body = nl + 1;
		len = size - (size_t)(body - data);
	} else {
		ct = fuzz_str(data, size);
		body = data + size;
		len = 0;
	}

	/* Exactly MULTIPART_BOUNDARY_MAX + 1, as the API says. */
	CHECK((boundary = malloc(MULTIPART_BOUNDARY_MAX + 1)) != NULL);
	rc = multipart_boundary(ct, boundary);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		blen = strnlen(boundary, MULTIPART_BOUNDARY_MAX + 1);
		CHECK(blen > 0 && blen <= MULTIPART_BOUNDARY_MAX);
		CHECK(boundary[blen - 1] != ' ');
		CHECK(strncasecmp(ct + strspn(ct, " \t"),
		    "multipart/form-data", 19) == 0);
		check_roundtrip(boundary, 1);
		if (is_token(boundary))
			check_roundtrip(boundary, 0);
	}

	check_find(body, len, BOUNDARY);
	if (rc == 0)
		check_find(body, len, boundary);

	free(boundary);
	free(ct);
	return (0);
}
