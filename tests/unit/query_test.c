/*
 * query_test: ?limit=&offset= parsing, strict: the table lists what is a
 * number and what is a 400.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "query.h"

struct query_case {
	const char	*qs;
	int		 rc;
	uint64_t	 value;
};

/* Looking up "limit" with max 1000. */
static const struct query_case query_cases[] = {
	{ NULL, 0, 0 },
	{ "", 0, 0 },
	{ "offset=5", 0, 0 },
	{ "limit=10", 1, 10 },
	{ "offset=5&limit=10", 1, 10 },
	{ "limit=10&offset=5", 1, 10 },
	{ "limit=0", 1, 0 },
	{ "limit=1000", 1, 1000 },
	{ "limit=007", 1, 7 },
	{ "limits=5", 0, 0 },
	{ "xlimit=5", 0, 0 },
	{ "limit=1001", -1, 0 },
	{ "limit=99999999999999999999999", -1, 0 },
	{ "limit=", -1, 0 },
	{ "limit", -1, 0 },
	{ "limit=-1", -1, 0 },
	{ "limit=+1", -1, 0 },
	{ "limit=1e3", -1, 0 },
	{ "limit=%31", -1, 0 },
	{ "limit=1 ", -1, 0 },
	{ "limit=abc", -1, 0 },
	{ "limit=5&limit=6", -1, 0 },
	{ "&&limit=5&&", 1, 5 },
};

static void
test_query(void **state)
{
	size_t		i;
	int		rc;
	uint64_t	v;

	(void)state;

	for (i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++) {
		v = 424242;
		rc = query_uint(query_cases[i].qs, "limit", 1000, &v);
		if (rc != query_cases[i].rc)
			fail_msg("'%s': rc %d, want %d", query_cases[i].qs ?
			    query_cases[i].qs : "(null)", rc,
			    query_cases[i].rc);
		assert_int_equal(v, rc == 1 ? query_cases[i].value : 424242);
	}
}

static void
test_small_max(void **state)
{
	uint64_t	v;

	(void)state;
	assert_int_equal(query_uint("n=9", "n", 5, &v), -1);
	assert_int_equal(query_uint("n=5", "n", 5, &v), 1);
	assert_int_equal(v, 5);
	assert_int_equal(query_uint("n=18446744073709551615", "n", UINT64_MAX,
	    &v), 1);
	assert_int_equal(query_uint("n=18446744073709551616", "n", UINT64_MAX,
	    &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_small_max),
	};

	return (cmocka_run_group_tests_name("query", tests, NULL, NULL));
}
