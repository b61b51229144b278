/*
 * breaker: a circuit breaker for one dependency (MariaDB, MongoDB), shared
 * by a worker's job threads. While the dependency is known to be down,
 * calls fail at once instead of each waiting out DEP_TIMEOUT, so requests
 * queued behind a hung server still get their 503 in bounded time; one
 * call at a time probes whether it is back. Pure C11 atomics, no Kore.
 */

#ifndef MICROGO_BREAKER_H
#define MICROGO_BREAKER_H

#include <stdatomic.h>
#include <stdint.h>

struct breaker {
	_Atomic int64_t	open_until;	/* ms; 0 while the dependency is up */
	int64_t		cooldown_ms;	/* refuse this long after a failure */
	int64_t		probe_ms;	/* the longest one probe may take */
};

void	breaker_init(struct breaker *b, int64_t cooldown_ms, int64_t probe_ms);

/* 1 if a call may go ahead now (as the one probe, if it was open). */
int	breaker_allow(struct breaker *b, int64_t now_ms);

/* How the call that was allowed went. */
void	breaker_record(struct breaker *b, int ok, int64_t now_ms);

/* Until when it refuses calls (ms), or 0 while the dependency is up. */
int64_t	breaker_until(struct breaker *b);

/* Milliseconds on a monotonic clock. */
int64_t	breaker_now_ms(void);

#endif
