/*
 * breaker: three states in one atomic deadline.
 *
 * open_until == 0: closed, every call goes ahead. After a failure it is
 * now + cooldown: calls are refused until then. The first call after the
 * deadline moves it, with a compare-and-swap, to now + probe and goes
 * ahead alone; a success closes the breaker, a failure opens it again.
 * A probe that never reports (a thread killed with its worker) only holds
 * the breaker open until its probe deadline passes.
 */

#include <time.h>

#include "breaker.h"

void
breaker_init(struct breaker *b, int64_t cooldown_ms, int64_t probe_ms)
{
	atomic_store(&b->open_until, 0);
	b->cooldown_ms = cooldown_ms;
	b->probe_ms = probe_ms;
}

int
breaker_allow(struct breaker *b, int64_t now_ms)
{
	int64_t		until;

	until = atomic_load(&b->open_until);
	if (until == 0)
		return (1);
	if (now_ms < until)
		return (0);

	return (atomic_compare_exchange_strong(&b->open_until, &until,
	    now_ms + b->probe_ms));
}

void
breaker_record(struct breaker *b, int ok, int64_t now_ms)
{
	atomic_store(&b->open_until, ok ? 0 : now_ms + b->cooldown_ms);
}

int64_t
breaker_until(struct breaker *b)
{
	return (atomic_load(&b->open_until));
}

int64_t
breaker_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
