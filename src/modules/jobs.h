/*
 * jobs: each worker's threads for blocking work, in three lanes, so that
 * a slow image never delays a quick database call and a flood of logins
 * (argon2id, by design the slowest quick thing) never queues a download.
 */

#ifndef MICROGO_JOBS_H
#define MICROGO_JOBS_H

#include <kore/kore.h>
#include <kore/tasks.h>

enum jobs_lane {
	JOBS_FAST,	/* database calls: milliseconds */
	JOBS_LOGIN,	/* argon2id: tens of milliseconds of one core each */
	JOBS_SLOW,	/* decoding and encoding images: seconds */
	JOBS_NLANES
};

/* Once per worker, after fork: threads[lane] threads each; 0 or -1. */
int	jobs_init(const int threads[JOBS_NLANES]);

/*
 * Runs t (kore_task_create'd and bound to its request) on a thread of
 * lane. Kore sees it finish exactly as if kore_task_run had run it.
 */
void	jobs_submit(struct kore_task *t, enum jobs_lane lane);

#endif
