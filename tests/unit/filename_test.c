/*
 * filename_test: hostile client file names and what microgo makes of
 * them: the stored name, the WEBP copy's name, the download header.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "filename.h"

struct clean_case {
	const char	*in;
	const char	*stored;
	const char	*webp;
	const char	*disposition;
};

static const struct clean_case clean_cases[] = {
	{ "cat.jpg", "cat.jpg", "cat.webp",
	    "attachment; filename=\"cat.jpg\"; filename*=UTF-8''cat.jpg" },
	{ "../../etc/passwd", "passwd", "passwd.webp",
	    "attachment; filename=\"passwd\"; filename*=UTF-8''passwd" },
	{ "C:\\Users\\me\\photo.png", "photo.png", "photo.webp",
	    "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png" },
	{ "evil\"name.jpg", "evil\"name.jpg", "evil\"name.webp",
	    "attachment; filename=\"evilname.jpg\"; "
	    "filename*=UTF-8''evil%22name.jpg" },
	{ "line\r\nX-Injected: 1.jpg", "lineX-Injected: 1.jpg",
	    "lineX-Injected: 1.webp",
	    "attachment; filename=\"lineX-Injected: 1.jpg\"; "
	    "filename*=UTF-8''lineX-Injected%3A%201.jpg" },
	{ "Mập khùng.jpg", "Mập khùng.jpg", "Mập khùng.webp",
	    "attachment; filename=\"M_p kh_ng.jpg\"; "
	    "filename*=UTF-8''M%E1%BA%ADp%20kh%C3%B9ng.jpg" },
	{ "bad\xff\xfeutf8.gif", "badutf8.gif", "badutf8.webp",
	    "attachment; filename=\"badutf8.gif\"; "
	    "filename*=UTF-8''badutf8.gif" },
	{ "\xc0\xafoverlong.png", "overlong.png", "overlong.webp", NULL },
	{ "\xed\xa0\x80surrogate.png", "surrogate.png", "surrogate.webp",
	    NULL },
	{ "", FILENAME_FALLBACK, FILENAME_FALLBACK ".webp", NULL },
	{ "..", FILENAME_FALLBACK, FILENAME_FALLBACK ".webp", NULL },
	{ "dir/", FILENAME_FALLBACK, FILENAME_FALLBACK ".webp", NULL },
	{ ".hidden.png", "hidden.png", "hidden.webp", NULL },
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, U+0085 */
	{ "photo\xe2\x80\xaegpj.exe", "photogpj.exe", "photogpj.webp", NULL },
	{ "a\xe2\x80\x8b" "b\xc2\x85.png", "ab.png", "ab.webp", NULL },
	/* found by tests/fuzz: dots that a dropped byte brought forward */
	{ "\x01..", FILENAME_FALLBACK, FILENAME_FALLBACK ".webp", NULL },
	{ ".\xd5.x", "x", "x.webp", NULL },
	{ " \x01 x", "x", "x.webp", NULL },
	{ "noext", "noext", "noext.webp", NULL },
	{ "a.tar.gz", "a.tar.gz", "a.tar.webp", NULL },
	{ "50%;off.jpg", "50%;off.jpg", "50%;off.webp",
	    "attachment; filename=\"50off.jpg\"; "
	    "filename*=UTF-8''50%25%3Boff.jpg" },
};

static void
test_clean(void **state)
{
	size_t		i;
	char		stored[FILENAME_MAX_LEN + 1];
	char		webp[FILENAME_MAX_LEN + 6];
	char		disp[FILENAME_MAX_LEN * 4 + 64];

	(void)state;

	for (i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++) {
		filename_clean(clean_cases[i].in, stored);
		assert_string_equal(stored, clean_cases[i].stored);

		filename_webp(stored, webp, sizeof(webp));
		assert_string_equal(webp, clean_cases[i].webp);

		assert_int_equal(filename_disposition(stored, disp,
		    sizeof(disp)), 0);
		assert_null(strpbrk(disp, "\r\n"));
		if (clean_cases[i].disposition != NULL)
			assert_string_equal(disp, clean_cases[i].disposition);
	}
}

static void
test_length_cut_at_character(void **state)
{
	char		in[FILENAME_MAX_LEN * 2 + 1], out[FILENAME_MAX_LEN + 1];
	size_t		i;

	(void)state;

	/* 'ậ' is three bytes: 200 bytes cannot end in the middle of one. */
	in[0] = '\0';
	for (i = 0; i < FILENAME_MAX_LEN / 3 + 10; i++)
		strcat(in, "ậ");
	filename_clean(in, out);
	assert_true(strlen(out) <= FILENAME_MAX_LEN);
	assert_int_equal(strlen(out) % 3, 0);
}

/* found by tests/fuzz: the WEBP copy of a 200-byte name keeps .webp */
static void
test_disposition_of_a_long_copy_name(void **state)
{
	char		in[FILENAME_MAX_LEN + 1], clean[FILENAME_MAX_LEN + 1];
	char		webp[FILENAME_MAX_LEN + 6];
	char		disp[FILENAME_MAX_LEN * 4 + 64];
	size_t		i;

	(void)state;

	in[0] = '\0';
	for (i = 0; i < FILENAME_MAX_LEN / 2; i++)
		strcat(in, "\xc3\xa9");		/* é */
	filename_clean(in, clean);
	filename_webp(clean, webp, sizeof(webp));
	assert_int_equal(filename_disposition(webp, disp, sizeof(disp)), 0);
	assert_non_null(strstr(disp, ".webp\"; filename*="));
	assert_int_equal(strcmp(disp + strlen(disp) - 5, ".webp"), 0);
}

static void
test_disposition_too_small(void **state)
{
	char	disp[16];

	(void)state;
	assert_int_equal(filename_disposition("cat.jpg", disp, sizeof(disp)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_length_cut_at_character),
		cmocka_unit_test(test_disposition_of_a_long_copy_name),
		cmocka_unit_test(test_disposition_too_small),
	};

	return (cmocka_run_group_tests_name("filename", tests, NULL, NULL));
}
