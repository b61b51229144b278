/*
 * credentials_test: Authorization header parsing, Basic and Bearer, as a
 * table of headers and what each must yield.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "credentials.h"

struct basic_case {
	const char	*header;
	int		 rc;
	const char	*user;
	const char	*pass;
};

/* base64("Rex:Rex siu super") and friends, computed by hand below. */
static const struct basic_case basic_cases[] = {
	{ "Basic UmV4OlJleCBzaXUgc3VwZXI=", 0, "Rex", "Rex siu super" },
	{ "basic UmV4OlJleCBzaXUgc3VwZXI=", 0, "Rex", "Rex siu super" },
	{ "BASIC   UmV4OlJleCBzaXUgc3VwZXI=", 0, "Rex", "Rex siu super" },
	{ "Basic UmV4OlJleCBzaXUgc3VwZXI=  ", 0, "Rex", "Rex siu super" },
	/* "Mập:Mập khùng" in UTF-8 */
	{ "Basic TeG6rXA6TeG6rXAga2jDuW5n", 0, "Mập", "Mập khùng" },
	/* "a:b:c": the password may hold colons */
	{ "Basic YTpiOmM=", 0, "a", "b:c" },
	/* "a:": an empty password is a (wrong) password */
	{ "Basic YTo=", 0, "a", "" },
	/* ":b": no user name */
	{ "Basic OmI=", -1, NULL, NULL },
	/* "ab": no colon */
	{ "Basic YWI=", -1, NULL, NULL },
	/* "a\0:b": a NUL byte */
	{ "Basic YQA6Yg==", -1, NULL, NULL },
	{ "Basic !!!not-base64!!!", -1, NULL, NULL },
	/* found by tests/fuzz: libsodium reads bytes >= 0x80 as '/' */
	{ "Basic YWxpY2U6cGE\xffPw==", -1, NULL, NULL },
	{ "Basic UmV4OlJleCBzaXUgc3VwZXI", -1, NULL, NULL },
	{ "Basic UmV4 OlJleA==", -1, NULL, NULL },
	{ "Basic", -1, NULL, NULL },
	{ "Basic ", -1, NULL, NULL },
	{ "Basicx UmV4OlJleCBzaXUgc3VwZXI=", -1, NULL, NULL },
	{ "Bearer UmV4OlJleCBzaXUgc3VwZXI=", -1, NULL, NULL },
	{ "", -1, NULL, NULL },
};

static void
test_basic(void **state)
{
	size_t			i;
	int			rc;
	struct credentials	c;

	(void)state;

	for (i = 0; i < sizeof(basic_cases) / sizeof(basic_cases[0]); i++) {
		rc = credentials_basic(basic_cases[i].header, &c);
		if (rc != basic_cases[i].rc)
			fail_msg("'%s': rc %d, want %d", basic_cases[i].header,
			    rc, basic_cases[i].rc);
		if (rc != 0) {
			assert_string_equal(c.user, "");
			assert_string_equal(c.pass, "");
			continue;
		}
		assert_string_equal(c.user, basic_cases[i].user);
		assert_string_equal(c.pass, basic_cases[i].pass);
	}
}

static void
test_basic_oversized(void **state)
{
	struct credentials	c;
	char			raw[USER_NAME_MAX + 8];
	char			hdr[sizeof(raw) * 2 + 16];

	(void)state;

	/* A user name one byte longer than fits. */
	memset(raw, 'u', USER_NAME_MAX);
	raw[USER_NAME_MAX] = ':';
	raw[USER_NAME_MAX + 1] = 'p';
	strcpy(hdr, "Basic ");
	sodium_bin2base64(hdr + 6, sizeof(hdr) - 6, (unsigned char *)raw,
	    USER_NAME_MAX + 2, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(credentials_basic(hdr, &c), -1);

	/* One byte shorter fits. */
	raw[USER_NAME_MAX - 1] = ':';
	raw[USER_NAME_MAX] = 'p';
	sodium_bin2base64(hdr + 6, sizeof(hdr) - 6, (unsigned char *)raw,
	    USER_NAME_MAX + 1, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(credentials_basic(hdr, &c), 0);
	assert_int_equal(strlen(c.user), USER_NAME_MAX - 1);
}

struct bearer_case {
	const char	*header;
	const char	*token;
};

static const struct bearer_case bearer_cases[] = {
	{ "Bearer abc.def.ghi", "abc.def.ghi" },
	{ "bearer abc.def.ghi", "abc.def.ghi" },
	{ "Bearer    abc", "abc" },
	{ "Bearer", NULL },
	{ "Bearer ", NULL },
	{ "Bearer a b", NULL },
	{ "Bearerabc", NULL },
	{ "Basic abc", NULL },
	{ "abc.def.ghi", NULL },
	{ "", NULL },
};

static void
test_bearer(void **state)
{
	size_t		i;
	const char	*tok;

	(void)state;

	for (i = 0; i < sizeof(bearer_cases) / sizeof(bearer_cases[0]); i++) {
		tok = credentials_bearer(bearer_cases[i].header);
		if (bearer_cases[i].token == NULL) {
			if (tok != NULL)
				fail_msg("'%s': got '%s', want none",
				    bearer_cases[i].header, tok);
			continue;
		}
		if (tok == NULL || strcmp(tok, bearer_cases[i].token) != 0)
			fail_msg("'%s': got '%s', want '%s'",
			    bearer_cases[i].header, tok ? tok : "(none)",
			    bearer_cases[i].token);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_basic_oversized),
		cmocka_unit_test(test_bearer),
	};

	if (sodium_init() == -1)
		return (1);

	return (cmocka_run_group_tests_name("credentials", tests, NULL, NULL));
}
