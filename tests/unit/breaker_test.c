/*
 * breaker_test: the circuit breaker's states as a timeline of calls and
 * what each must be told.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "breaker.h"

struct step {
	int64_t		now;
	const char	*what;		/* "allow" or "ok" / "fail" */
	int		want;		/* for allow: 1 goes ahead, 0 refused */
};

static const struct step timeline[] = {
	{ 0,	"allow", 1 },		/* closed: everything goes */
	{ 0,	"allow", 1 },
	{ 10,	"fail", 0 },		/* open for 1000 ms */
	{ 11,	"allow", 0 },
	{ 1009,	"allow", 0 },
	{ 1010,	"allow", 1 },		/* the one probe */
	{ 1011,	"allow", 0 },		/* others wait for it */
	{ 3000,	"fail", 0 },		/* probe failed: open again */
	{ 3500,	"allow", 0 },
	{ 4000,	"allow", 1 },		/* probe */
	{ 4100,	"ok", 0 },		/* closed */
	{ 4101,	"allow", 1 },
	{ 4102,	"allow", 1 },
	{ 5000,	"fail", 0 },
	{ 6000,	"allow", 1 },		/* probe that never reports */
	{ 7999,	"allow", 0 },
	{ 8000,	"allow", 1 },		/* probe deadline passed: next one */
};

static void
test_timeline(void **state)
{
	struct breaker	b;
	size_t		i;

	(void)state;
	breaker_init(&b, 1000, 2000);

	for (i = 0; i < sizeof(timeline) / sizeof(timeline[0]); i++) {
		const struct step *s = &timeline[i];

		if (s->what[0] == 'a') {
			if (breaker_allow(&b, s->now) != s->want)
				fail_msg("step %zu (t=%lld): allow, want %d", i,
				    (long long)s->now, s->want);
		} else {
			breaker_record(&b, s->what[0] == 'o', s->now);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeline),
	};

	return (cmocka_run_group_tests_name("breaker", tests, NULL, NULL));
}
