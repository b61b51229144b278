/*
 * jobs: a replacement for kore_task_run's thread choice.
 *
 * Kore 4.1 hands each new task to its own task threads in turn, each with
 * its own queue: a login queued behind a three-second WEBP encode waits
 * three seconds although another thread is idle. Here each lane has one queue
 * that all its threads take from, and images have a lane of their own,
 * so quick work always finds a free thread.
 *
 * Login and image threads also run at a lower CPU priority (nice 5 and
 * 10), so that on a busy machine the event loop and the quick lane win
 * the cores first, and a login still beats an image. Linux ranks nice
 * values only inside one scheduling group (a session's autogroup, a
 * container's cgroup): nginx in a group of its own would share the
 * cores evenly with this whole process, encoders included. So the
 * local stack starts its servers in one session (tools/stack.py), and
 * compose weighs nginx's container above the app's (cpu_shares).
 *
 * Kore pins each worker to one core (worker_set_affinity), and threads
 * inherit it: every job thread of a worker would share that one core,
 * so four uploads that land on one worker encoded at one upload's rate
 * while the other core idled (make bench, 1.00x to 2.3x between runs).
 * Job threads let go of the pin; the event loop keeps its core.
 *
 * Everything else stays Kore's: the task's socket pair, its registration
 * with the event loop, its state and result. A job thread only runs the
 * entry point and closes the task's end of the pair, which is how Kore
 * learns that a task finished and wakes its request.
 */

#define _GNU_SOURCE

#include <sys/resource.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "jobs.h"
#include "metrics.h"

/* metrics.c names the lanes in this order. */
_Static_assert(JOBS_NLANES == 3, "metrics.c knows three lanes");

#define JOBS_THREADS_MAX	16

/* Each lane's CPU priority. */
static const int	jobs_nice[JOBS_NLANES] = {
	[JOBS_FAST] = 0,
	[JOBS_LOGIN] = 5,
	[JOBS_SLOW] = 10,
};

struct jobs_lane_queue {
	pthread_mutex_t			lock;
	pthread_cond_t			cond;
	int				lane;
	int				nice;
	TAILQ_HEAD(, kore_task)		tasks;
};

static struct jobs_lane_queue	jobs_lanes[JOBS_NLANES];

static void	*jobs_thread(void *);
static void	 jobs_unpin(void);
static int	 jobs_lane_start(struct jobs_lane_queue *, int, int, int);

int
jobs_init(const int threads[JOBS_NLANES])
{
	int	lane;

	for (lane = 0; lane < JOBS_NLANES; lane++) {
		if (jobs_lane_start(&jobs_lanes[lane], lane, threads[lane],
		    jobs_nice[lane]) == -1)
			return (-1);
	}

	return (0);
}

void
jobs_submit(struct kore_task *t, enum jobs_lane lane)
{
	struct jobs_lane_queue	*q = &jobs_lanes[lane];

	kore_platform_schedule_read(t->fds[0], t);
	metrics_job(lane, 1, 0);

	pthread_mutex_lock(&q->lock);
	TAILQ_INSERT_TAIL(&q->tasks, t, list);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static int
jobs_lane_start(struct jobs_lane_queue *q, int lane, int threads, int nice)
{
	pthread_t	tid;
	int		i;

	if (threads < 1 || threads > JOBS_THREADS_MAX)
		return (-1);

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->lane = lane;
	q->nice = nice;
	TAILQ_INIT(&q->tasks);

	for (i = 0; i < threads; i++) {
		if (pthread_create(&tid, NULL, jobs_thread, q) != 0)
			return (-1);
		(void)pthread_detach(tid);
	}

	return (0);
}

static void *
jobs_thread(void *arg)
{
	struct jobs_lane_queue	*q = arg;
	struct kore_task	*t;

	/* On Linux a thread's nice value is its own. Best effort. */
	if (q->nice != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), q->nice);
	jobs_unpin();

	for (;;) {
		pthread_mutex_lock(&q->lock);
		while ((t = TAILQ_FIRST(&q->tasks)) == NULL)
			pthread_cond_wait(&q->cond, &q->lock);
		TAILQ_REMOVE(&q->tasks, t, list);
		pthread_mutex_unlock(&q->lock);

		metrics_job(q->lane, -1, 1);
		kore_task_set_state(t, KORE_TASK_STATE_RUNNING);
		kore_task_set_result(t, t->entry(t));
		metrics_job(q->lane, 0, -1);
		kore_task_finish(t);
	}

	return (NULL);
}

/*
 * The calling thread may run on every core: the kernel keeps of the
 * mask only the cores the process's cpuset allows (a container's
 * --cpuset-cpus still holds). Best effort, as nice is.
 */
static void
jobs_unpin(void)
{
	cpu_set_t	set;
	int		cpu;

	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}
