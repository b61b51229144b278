/*
 * jsonout_test: the hand-written JSON of the hot routes. Each case is
 * written, read back by jansson, and compared: always valid JSON, the
 * strings as given, or U+FFFD for what is not UTF-8.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonout.h"

static const struct {
	const char	*value;
	const char	*json;		/* what is written */
	const char	*read;		/* what jansson reads back */
} cases[] = {
	{ "Rex", "{\"k\":\"Rex\"}", "Rex" },
	{ "", "{\"k\":\"\"}", "" },
	{ "M\xe1\xba\xadp kh\xc3\xb9ng", "{\"k\":\"M\xe1\xba\xadp kh\xc3\xb9ng\"}",
	    "M\xe1\xba\xadp kh\xc3\xb9ng" },
	{ "a\"b\\c", "{\"k\":\"a\\\"b\\\\c\"}", "a\"b\\c" },
	{ "tab\there\n", "{\"k\":\"tab\\u0009here\\u000a\"}", "tab\there\n" },
	{ "\x01\x1f", "{\"k\":\"\\u0001\\u001f\"}", "\x01\x1f" },
	{ "bad \xff byte", "{\"k\":\"bad \\ufffd byte\"}", "bad \xef\xbf\xbd byte" },
	{ "cut \xe1\xba", "{\"k\":\"cut \\ufffd\\ufffd\"}",
	    "cut \xef\xbf\xbd\xef\xbf\xbd" },
	{ "overlong \xc0\xaf", "{\"k\":\"overlong \\ufffd\\ufffd\"}",
	    "overlong \xef\xbf\xbd\xef\xbf\xbd" },
	{ "surrogate \xed\xa0\x80", "{\"k\":\"surrogate \\ufffd\\ufffd\\ufffd\"}",
	    "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "</script>", "{\"k\":\"</script>\"}", "</script>" },
};

static void
test_cases(void **state)
{
	json_t		*root;
	const char	*kv[2];
	char		 out[JSONOUT_MAX];
	size_t		 i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kv[0] = "k";
		kv[1] = cases[i].value;
		len = jsonout_object(out, sizeof(out), kv, 1);
		assert_int_equal(len, strlen(cases[i].json));
		assert_string_equal(out, cases[i].json);
		assert_non_null(root = json_loads(out, 0, NULL));
		assert_string_equal(json_string_value(json_object_get(root, "k")),
		    cases[i].read);
		json_decref(root);
	}
}

static void
test_pairs_and_room(void **state)
{
	const char	*kv[] = { "id", "2", "username", "Rex" };
	char		 out[64];

	(void)state;
	assert_int_equal(jsonout_object(out, sizeof(out), kv, 2), 27);
	assert_string_equal(out, "{\"id\":\"2\",\"username\":\"Rex\"}");
	assert_int_equal(jsonout_object(out, sizeof(out), kv, 0), 2);
	assert_string_equal(out, "{}");

	/* Exactly enough room, then one byte less: refused, not cut. */
	assert_int_equal(jsonout_object(out, 28, kv, 2), 27);
	assert_int_equal(jsonout_object(out, 27, kv, 2), 0);
	assert_string_equal(out, "");
	assert_int_equal(jsonout_object(out, 0, kv, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_pairs_and_room),
	};

	return (cmocka_run_group_tests_name("jsonout", tests, NULL, NULL));
}
