/*
 * sweeper: removes uploads that never completed.
 *
 * An upload whose worker died, or whose MongoDB went away, before both of
 * its files were marked complete is never listed (gridfs.c), but its
 * documents stay behind. Each worker looks for such leftovers a moment
 * after it starts and then every SWEEPER_INTERVAL_MS, on its slow job
 * lane, and removes those whose upload began over SWEEPER_AGE_MS ago:
 * far longer than any upload takes, so one still being written is never
 * touched. Workers and instances sweeping at once only race to delete the
 * same documents, which is harmless; a sweep that finds MongoDB down
 * waits for the next tick.
 */

#include <kore/kore.h>
#include <kore/tasks.h>

#include "gridfs.h"
#include "jobs.h"
#include "log.h"
#include "sweeper.h"

#define SWEEPER_FIRST_MS	2000
#define SWEEPER_INTERVAL_MS	(10 * 60 * 1000)
#define SWEEPER_AGE_MS		(60 * 60 * 1000)

static void	sweeper_tick(void *, u_int64_t);
static int	sweeper_run(struct kore_task *);
static void	sweeper_done(struct kore_task *);

/* The event loop's own: only it starts and ends a sweep. */
static struct kore_task	sweeper_task;
static int		sweeper_busy;

void
sweeper_start(void)
{
	(void)kore_timer_add(sweeper_tick, SWEEPER_FIRST_MS, NULL,
	    KORE_TIMER_ONESHOT);
	(void)kore_timer_add(sweeper_tick, SWEEPER_INTERVAL_MS, NULL, 0);
}

static void
sweeper_tick(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;

	if (sweeper_busy)
		return;
	sweeper_busy = 1;

	kore_task_create(&sweeper_task, sweeper_run);
	kore_task_bind_callback(&sweeper_task, sweeper_done);
	jobs_submit(&sweeper_task, JOBS_SLOW);
}

static int
sweeper_run(struct kore_task *t)
{
	int	n;

	(void)t;

	if ((n = gridfs_sweep(SWEEPER_AGE_MS)) > 0)
		log_line("level=info msg=\"removed incomplete uploads\" "
		    "files=%d", n);

	return (n == -1 ? KORE_RESULT_ERROR : KORE_RESULT_OK);
}

static void
sweeper_done(struct kore_task *t)
{
	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;

	kore_task_destroy(t);
	sweeper_busy = 0;
}
