/*
 * multipart_test: finding the `data` part of multipart/form-data bodies,
 * as a table of bodies and what must be found; and the boundary
 * parameter of the Content-Type header.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "multipart.h"

struct boundary_case {
	const char	*content_type;
	const char	*boundary;	/* NULL: refused */
};

static const struct boundary_case boundary_cases[] = {
	{ "multipart/form-data; boundary=abc", "abc" },
	{ "Multipart/Form-Data;boundary=abc", "abc" },
	{ "multipart/form-data; boundary=\"a b:c\"", "a b:c" },
	{ "multipart/form-data; charset=utf-8; boundary=xyz", "xyz" },
	{ "multipart/form-data; boundary=xyz; charset=utf-8", "xyz" },
	{ "multipart/form-data; BOUNDARY=xyz", "xyz" },
	{ "multipart/form-data; boundary = xyz", "xyz" },
	{ "multipart/form-data; boundary=xyz;", NULL },
	{ "multipart/form-data boundary=xyz", NULL },
	{ "multipart/form-data", NULL },
	{ "multipart/form-data; boundary=", NULL },
	{ "multipart/form-data; boundary=\"\"", NULL },
	{ "multipart/form-data; boundary=a; boundary=b", NULL },
	{ "multipart/form-data; boundary=\"unterminated", NULL },
	{ "multipart/form-data; boundary=0123456789012345678901234567890123"
	    "4567890123456789012345678901234567890", NULL },
	{ "multipart/mixed; boundary=abc", NULL },
	{ "application/json", NULL },
	{ "", NULL },
};

static void
test_boundary(void **state)
{
	size_t		i;
	int		rc;
	char		b[MULTIPART_BOUNDARY_MAX + 1];

	(void)state;

	for (i = 0; i < sizeof(boundary_cases) / sizeof(boundary_cases[0]);
	    i++) {
		rc = multipart_boundary(boundary_cases[i].content_type, b);
		if (boundary_cases[i].boundary == NULL) {
			if (rc != -1)
				fail_msg("'%s': accepted '%s'",
				    boundary_cases[i].content_type, b);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': refused",
			    boundary_cases[i].content_type);
		assert_string_equal(b, boundary_cases[i].boundary);
	}
}

#define CD	"Content-Disposition: form-data; "

struct find_case {
	const char		*name;
	const char		*body;
	enum multipart_result	 want;
	const char		*data;		/* when found */
	const char		*filename;	/* NULL: none given */
};

static const struct find_case find_cases[] = {
	{ "one file part",
	    "--B\r\n" CD "name=\"data\"; filename=\"a.jpg\"\r\n"
	    "Content-Type: image/jpeg\r\n\r\nJPEGDATA\r\n--B--\r\n",
	    MULTIPART_FOUND, "JPEGDATA", "a.jpg" },
	{ "field before the file",
	    "--B\r\n" CD "name=\"other\"\r\n\r\nvalue\r\n"
	    "--B\r\n" CD "name=\"data\"; filename=\"b.png\"\r\n\r\nPNG\r\n--B--",
	    MULTIPART_FOUND, "PNG", "b.png" },
	{ "filename with a colon and a semicolon",
	    "--B\r\n" CD "name=\"data\"; filename=\"12:30; lunch.jpg\"\r\n\r\n"
	    "X\r\n--B--", MULTIPART_FOUND, "X", "12:30; lunch.jpg" },
	{ "escaped quote in the filename",
	    "--B\r\n" CD "name=\"data\"; filename=\"say \\\"hi\\\".jpg\"\r\n\r\n"
	    "X\r\n--B--", MULTIPART_FOUND, "X", "say \"hi\".jpg" },
	{ "filename before name",
	    "--B\r\n" CD "filename=\"c.gif\"; name=\"data\"\r\n\r\nGIF\r\n--B--",
	    MULTIPART_FOUND, "GIF", "c.gif" },
	{ "no filename: a plain field named data",
	    "--B\r\n" CD "name=\"data\"\r\n\r\nRAW\r\n--B--",
	    MULTIPART_FOUND, "RAW", NULL },
	{ "empty file",
	    "--B\r\n" CD "name=\"data\"; filename=\"e.jpg\"\r\n\r\n\r\n--B--",
	    MULTIPART_FOUND, "", "e.jpg" },
	{ "data holding CRLF and a near-boundary",
	    "--B\r\n" CD "name=\"data\"; filename=\"d\"\r\n\r\n"
	    "a\r\n--Bx\r\n-B\r\nb\r\n--B--",
	    MULTIPART_FOUND, "a\r\n--Bx\r\n-B\r\nb", "d" },
	{ "preamble before the first boundary",
	    "preamble text\r\n--B\r\n" CD "name=\"data\"; filename=\"p\"\r\n\r\n"
	    "P\r\n--B--", MULTIPART_FOUND, "P", "p" },
	{ "header names in other case",
	    "--B\r\ncontent-disposition: FORM-DATA; NAME=\"data\"; "
	    "FILENAME=\"u\"\r\n\r\nU\r\n--B--", MULTIPART_FOUND, "U", "u" },
	{ "spaces around =",
	    "--B\r\nContent-Disposition: form-data; name = \"data\"; "
	    "filename =\"s\"\r\n\r\nS\r\n--B--", MULTIPART_FOUND, "S", "s" },
	{ "unquoted name",
	    "--B\r\n" CD "name=data; filename=f\r\n\r\nF\r\n--B--",
	    MULTIPART_FOUND, "F", "f" },
	{ "no data part",
	    "--B\r\n" CD "name=\"file\"; filename=\"a.jpg\"\r\n\r\nX\r\n--B--",
	    MULTIPART_MISSING, NULL, NULL },
	{ "name is a prefix only",
	    "--B\r\n" CD "name=\"datax\"; filename=\"a\"\r\n\r\nX\r\n--B--",
	    MULTIPART_MISSING, NULL, NULL },
	{ "only the closing delimiter", "--B--\r\n",
	    MULTIPART_MISSING, NULL, NULL },
	{ "no closing delimiter",
	    "--B\r\n" CD "name=\"data\"; filename=\"a\"\r\n\r\nXYZ",
	    MULTIPART_MALFORMED, NULL, NULL },
	{ "headers never end",
	    "--B\r\n" CD "name=\"data\"; filename=\"a\"\r\nXYZ",
	    MULTIPART_MALFORMED, NULL, NULL },
	{ "wrong boundary",
	    "--C\r\n" CD "name=\"data\"; filename=\"a\"\r\n\r\nX\r\n--C--",
	    MULTIPART_MALFORMED, NULL, NULL },
	{ "unterminated quoted name",
	    "--B\r\n" CD "name=\"data; filename=\"a\"\r\n\r\nX\r\n--B--",
	    MULTIPART_MALFORMED, NULL, NULL },
	{ "empty body", "", MULTIPART_MALFORMED, NULL, NULL },
	{ "garbage after the delimiter", "--Bxyz", MULTIPART_MALFORMED,
	    NULL, NULL },
};

static void
test_find(void **state)
{
	size_t			i;
	enum multipart_result	r;
	struct multipart_part	part;
	const struct find_case	*c;

	(void)state;

	for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		c = &find_cases[i];
		r = multipart_find((const uint8_t *)c->body, strlen(c->body),
		    "B", "data", &part);
		if (r != c->want)
			fail_msg("%s: result %d, want %d", c->name, r, c->want);
		if (r != MULTIPART_FOUND)
			continue;
		if (part.len != strlen(c->data) ||
		    memcmp(part.data, c->data, part.len) != 0)
			fail_msg("%s: data '%.*s'", c->name, (int)part.len,
			    part.data);
		assert_int_equal(part.has_filename, c->filename != NULL);
		if (c->filename != NULL)
			assert_string_equal(part.filename, c->filename);
	}
}

static void
test_header_limit(void **state)
{
	static char	body[20000];
	struct multipart_part part;
	size_t		n;

	(void)state;

	n = (size_t)snprintf(body, sizeof(body), "--B\r\n" CD "name=\"data\"; "
	    "filename=\"");
	memset(body + n, 'a', 9000);
	n += 9000;
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"\r\n\r\nX\r\n--B--");
	assert_int_equal(multipart_find((const uint8_t *)body, n, "B", "data",
	    &part), MULTIPART_MALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_header_limit),
	};

	return (cmocka_run_group_tests_name("multipart", tests, NULL, NULL));
}
