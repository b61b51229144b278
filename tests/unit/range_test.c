/*
 * range_test: which Range headers get a 206, which a 416 and which are
 * ignored (200), for files of 1000 bytes and of none.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "range.h"

static const struct {
	const char		*header;
	uint64_t		 size;
	enum range_result	 want;
	uint64_t		 first, last;
} cases[] = {
	{ NULL, 1000, RANGE_NONE, 0, 0 },
	{ "bytes=0-99", 1000, RANGE_OK, 0, 99 },
	{ "bytes=500-", 1000, RANGE_OK, 500, 999 },
	{ "bytes=-100", 1000, RANGE_OK, 900, 999 },
	{ "bytes=-5000", 1000, RANGE_OK, 0, 999 },
	{ "bytes=900-5000", 1000, RANGE_OK, 900, 999 },
	{ "bytes=999-999", 1000, RANGE_OK, 999, 999 },
	{ "Bytes= 10 - 19 ", 1000, RANGE_OK, 10, 19 },
	{ "bytes=1000-", 1000, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=1000-2000", 1000, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-0", 1000, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-1", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=5-1", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=0-1,5-9", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=-", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=a-b", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=1-2x", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=+1-2", 1000, RANGE_NONE, 0, 0 },
	{ "items=0-1", 1000, RANGE_NONE, 0, 0 },
	{ "bytes 0-1", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=99999999999999999999-", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=18446744073709551615-", 1000, RANGE_NONE, 0, 0 },
	{ "bytes=9999999999999999999-", 1000, RANGE_UNSATISFIABLE, 0, 0 },
};

static void
test_cases(void **state)
{
	enum range_result	r;
	uint64_t		first, last;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		first = last = 4242;
		r = range_parse(cases[i].header, cases[i].size, &first, &last);
		if (r != cases[i].want)
			fail_msg("\"%s\": %d, want %d", cases[i].header
			    ? cases[i].header : "(none)", r, cases[i].want);
		if (r == RANGE_OK && (first != cases[i].first ||
		    last != cases[i].last))
			fail_msg("\"%s\": %llu-%llu", cases[i].header,
			    (unsigned long long)first, (unsigned long long)last);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
	};

	return (cmocka_run_group_tests_name("range", tests, NULL, NULL));
}
