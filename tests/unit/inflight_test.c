/*
 * inflight_test: per-user counts shared by the workers of one instance.
 * Workers are processes here too: the counts are taken in forked
 * children and seen by the parent, and a child that dies without
 * releasing gives its counts back when its successor (same worker id)
 * starts.
 */

#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "inflight.h"

/* Runs fn in a child that is worker id; returns its exit status. */
static int
as_worker(int id, int (*fn)(void))
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == 0) {
		inflight_worker(id);
		_exit(fn());
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int
take_three_and_die(void)
{
	int	i, n = 0;

	for (i = 0; i < 3; i++)
		n += inflight_take("7", 4);
	return (n);		/* exits without releasing: a crash */
}

static int
take_one_and_release(void)
{
	if (!inflight_take("7", 4))
		return (1);
	inflight_release("7");
	return (0);
}

static void
test_limit(void **state)
{
	(void)state;
	inflight_worker(1);

	assert_int_equal(inflight_take("42", 2), 1);
	assert_int_equal(inflight_take("42", 2), 1);
	assert_int_equal(inflight_take("42", 2), 0);	/* over max */
	assert_int_equal(inflight_count("42"), 2);
	assert_int_equal(inflight_take("43", 2), 1);	/* another user */
	inflight_release("42");
	assert_int_equal(inflight_take("42", 2), 1);
	inflight_release("42");
	inflight_release("42");
	inflight_release("43");
	assert_int_equal(inflight_count("42"), 0);
	assert_int_equal(inflight_count("43"), 0);
}

static void
test_shared_and_given_back(void **state)
{
	(void)state;
	inflight_worker(1);

	/* Worker 2 takes three and dies holding them: worker 1 sees them. */
	assert_int_equal(as_worker(2, take_three_and_die), 3);
	assert_int_equal(inflight_count("7"), 3);
	assert_int_equal(inflight_take("7", 4), 1);
	assert_int_equal(inflight_take("7", 4), 0);
	inflight_release("7");

	/* Its successor starts: the dead one's three are given back. */
	assert_int_equal(as_worker(2, take_one_and_release), 0);
	assert_int_equal(inflight_count("7"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_shared_and_given_back),
	};

	if (inflight_init() == -1)
		return (1);
	return (cmocka_run_group_tests_name("inflight", tests, NULL, NULL));
}
