/*
 * fsid_test: the ids clients name files by, in a path and in the JSON
 * body of /download: the table lists what is an id and what is a 400.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fsid.h"

#define ID	"0123456789abcdefABCDEF01"

static const struct {
	const char	*s;
	int		 valid;
} valid_cases[] = {
	{ ID, 1 },
	{ "000000000000000000000000", 1 },
	{ "0123456789abcdefABCDEF0", 0 },	/* 23 */
	{ "0123456789abcdefABCDEF012", 0 },	/* 25 */
	{ "0123456789abcdefABCDEF0g", 0 },
	{ "0123456789abcdefABCDEF0 ", 0 },
	{ "../../../../etc/passwd00", 0 },
	{ "", 0 },
};

static const struct {
	const char		*body;
	enum fsid_result	 rc;
} json_cases[] = {
	{ "{\"fs_id\": \"" ID "\"}", FSID_OK },
	{ " {\"fs_id\":\"" ID "\", \"other\": 1} ", FSID_OK },
	{ "", FSID_NOT_OBJECT },
	{ "null", FSID_NOT_OBJECT },
	{ "[\"" ID "\"]", FSID_NOT_OBJECT },
	{ "\"" ID "\"", FSID_NOT_OBJECT },
	{ "{\"fs_id\": \"" ID "\"", FSID_NOT_OBJECT },		/* truncated */
	{ "{\"fs_id\": \"" ID "\", \"fs_id\": \"" ID "\"}", FSID_NOT_OBJECT },
	{ "{}", FSID_BAD_ID },
	{ "{\"fs_id\": null}", FSID_BAD_ID },
	{ "{\"fs_id\": 12}", FSID_BAD_ID },
	{ "{\"fs_id\": [\"" ID "\"]}", FSID_BAD_ID },
	{ "{\"fs_id\": \"0123\"}", FSID_BAD_ID },
	{ "{\"FS_ID\": \"" ID "\"}", FSID_BAD_ID },
	{ "{\"fs_id\": \"" ID "\\u0000\"}", FSID_NOT_OBJECT },	/* NUL */
};

static void
test_valid(void **state)
{
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		if (fsid_valid(valid_cases[i].s) != valid_cases[i].valid)
			fail_msg("fsid_valid(\"%s\")", valid_cases[i].s);
	}
}

static void
test_from_json(void **state)
{
	size_t		i;
	char		id[FSID_LEN + 1];

	(void)state;
	for (i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		memset(id, 'x', sizeof(id));
		if (fsid_from_json(json_cases[i].body,
		    strlen(json_cases[i].body), id) != json_cases[i].rc)
			fail_msg("fsid_from_json(%s)", json_cases[i].body);
		if (json_cases[i].rc == FSID_OK)
			assert_string_equal(id, ID);
		else
			assert_int_equal(id[0], 'x');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_from_json),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
