/*
 * jobs: each worker's threads for blocking work, in two lanes so that a
 * slow image never delays a quick database call.
 */

#ifndef MICROGO_JOBS_H
#define MICROGO_JOBS_H

#include <kore/kore.h>
#include <kore/tasks.h>

enum jobs_lane {
	JOBS_FAST,	/* database calls, argon2id: milliseconds */
	JOBS_SLOW,	/* decoding and encoding images: seconds */
};

/* Once per worker, after fork; returns 0 or -1. */
int	jobs_init(int fast_threads, int slow_threads);

/*
 * Runs t (kore_task_create'd and bound to its request) on a thread of
 * lane. Kore sees it finish exactly as if kore_task_run had run it.
 */
void	jobs_submit(struct kore_task *t, enum jobs_lane lane);

#endif
