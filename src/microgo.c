/*
 * microgo: process start-up.
 *
 * The parent loads and checks the configuration before any worker forks,
 * so a bad .env or a weak production secret stops Kore at once with a
 * clear message. Each worker then opens its own log descriptor and
 * connection pools after fork: no library client is shared across
 * processes. The seccomp filter lists what the libraries below need
 * beyond Kore's own allow-list.
 */

#include <sys/prctl.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

#include "microgo.h"
#include "modules/db.h"
#include "modules/gridfs.h"
#include "modules/image.h"
#include "modules/inflight.h"
#include "modules/metrics.h"
#include "modules/request.h"
#include "modules/jobs.h"
#include "modules/log.h"
#include "modules/password.h"
#include "modules/sweeper.h"

/*
 * Threads per worker for blocking work (src/modules/jobs.c): two for
 * database calls; one for argon2id, so that a flood of logins costs at
 * most one core per worker and never delays the quick lane; two for
 * images, so that when uploads land unevenly on the workers (connections
 * do), the encoders still keep every core busy. Logins run at nice 5 and
 * images at nice 10: neither can starve the event loops.
 */
static const int	microgo_threads[JOBS_NLANES] = {
	[JOBS_FAST] = 2,
	[JOBS_LOGIN] = 1,
	[JOBS_SLOW] = 2,
};

/*
 * Allocations from this size up get a mapping of their own, returned to
 * the kernel when freed. glibc's default threshold rises after each large
 * free (up to 32 MiB), after which image-sized buffers come from the heap
 * and stay there as it fragments: a worker's RSS at rest then wandered by
 * several MiB from one upload to the next.
 */
#define MICROGO_MMAP_THRESHOLD	(256 * 1024)

void	kore_parent_configure(int, char **);
int	microgo_onload(int);
void	kore_worker_configure(void);
void	kore_worker_teardown(void);

/* How often a worker reports its memory and connections to /metrics. */
#define MICROGO_PROCESS_MS	1000

static struct config	microgo_cfg;

static void	microgo_process(void *, u_int64_t);

/*
 * make bench counts instructions with valgrind's callgrind, which asks
 * the sandbox for a little more; only its build (the callgrind flavor of
 * conf/build.conf) allows it. tkill and tgkill: on exit valgrind stops
 * the worker's other threads (the job threads, the libraries') with
 * them; refused, the sandbox kills the exiting thread alone, the others
 * wait for it forever and so does Kore's parent, in waitpid.
 */
#if defined(MICROGO_CALLGRIND)
#define MICROGO_VALGRIND_SYSCALLS					\
	KORE_SYSCALL_ALLOW(tkill),					\
	KORE_SYSCALL_ALLOW(tgkill),					\
	KORE_SYSCALL_ALLOW(rt_sigtimedwait),				\
	KORE_SYSCALL_ALLOW(setrlimit),					\
	KORE_SYSCALL_ALLOW(sched_yield),				\
	KORE_SYSCALL_ALLOW(pread64),					\
	KORE_SYSCALL_ALLOW(statx),					\
	KORE_SYSCALL_ALLOW(gettimeofday),				\
	KORE_SYSCALL_ALLOW(time),					\
	KORE_SYSCALL_ALLOW(clock_gettime),
#else
#define MICROGO_VALGRIND_SYSCALLS
#endif

KORE_SECCOMP_FILTER("microgo",
	MICROGO_VALGRIND_SYSCALLS
	/* glibc's stat(2), getaddrinfo(3) and readdir(3). */
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(getdents64),
	KORE_SYSCALL_ALLOW(uname),
	/* A blocking call interrupted by a signal (a debugger attaching,
	 * SIGSTOP/SIGCONT) resumes through restart_syscall. */
	KORE_SYSCALL_ALLOW(restart_syscall),
	/* Task threads: pthread_create(3) on glibc 2.36. */
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(gettid),
	/* Job threads lower their own priority and let go of the worker's
	 * core (src/modules/jobs.c). */
	KORE_SYSCALL_ALLOW(setpriority),
	KORE_SYSCALL_ALLOW(sched_setaffinity),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	/* glib and libvips threads ask about NUMA memory placement. */
	KORE_SYSCALL_ALLOW(get_mempolicy),
	KORE_SYSCALL_ALLOW(set_mempolicy),
	/* glib names its threads, and that is all prctl may do. */
	KORE_SYSCALL_ALLOW_ARG(prctl, 0, PR_SET_NAME),
	/* MariaDB Connector/C: timeouts and socket shutdown. */
	KORE_SYSCALL_ALLOW(alarm),
	KORE_SYSCALL_ALLOW(shutdown),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(ppoll),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(sendto),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(bind),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(sendmmsg),
	/* libvips' thumbnail (the preview): see image_preview. */
	KORE_SYSCALL_ALLOW(umask),
	KORE_SYSCALL_ALLOW(ftruncate),
	/* The log file reopened on SIGHUP (microgo_onload). */
	KORE_SYSCALL_ALLOW(dup2),
	KORE_SYSCALL_ALLOW(dup3),
	/* argon2id (libsodium) allocates its memory with mmap. */
	KORE_SYSCALL_ALLOW(mmap),
	KORE_SYSCALL_ALLOW(munmap),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(mprotect),
	KORE_SYSCALL_ALLOW(getrandom),
);

const struct config *
microgo_config(void)
{
	return (&microgo_cfg);
}

void
kore_parent_configure(int argc, char **argv)
{
	char		err[256];

	(void)argc;
	(void)argv;

	if (config_load(&microgo_cfg, ".env", getenv, err, sizeof(err)) == -1) {
		fprintf(stderr, "microgo: configuration: %s\n", err);
		exit(1);
	}
	if (password_init() == -1) {
		fprintf(stderr, "microgo: libsodium failed to start\n");
		exit(1);
	}
	if (inflight_init() == -1 || metrics_init() == -1) {
		fprintf(stderr, "microgo: cannot map shared memory\n");
		exit(1);
	}
	if (log_open(microgo_cfg.log_dir) == -1) {
		fprintf(stderr, "microgo: cannot open %s/app_logs.log: %s\n",
		    microgo_cfg.log_dir, strerror(errno));
		exit(1);
	}

	log_line("level=info msg=\"starting\" mode=%s",
	    microgo_cfg.production ? "production" : "development");
}

void
kore_worker_configure(void)
{
	log_worker();
	/* A sanitizer's allocator refuses it, and owes it nothing. */
	if (mallopt(M_MMAP_THRESHOLD, MICROGO_MMAP_THRESHOLD) != 1)
		log_line("level=warning msg=\"malloc ignores the mmap "
		    "threshold\"");
	if (worker->id >= INFLIGHT_WORKERS)
		fatal("microgo: at most %d workers", INFLIGHT_WORKERS - 1);
	inflight_worker(worker->id);
	metrics_worker(worker->id, (int)getpid());
	request_routes();
	(void)kore_timer_add(microgo_process, MICROGO_PROCESS_MS, NULL, 0);
	microgo_process(NULL, 0);
	if (db_init(&microgo_cfg) == -1)
		fatal("microgo: MariaDB client library failed to start");
	if (gridfs_init(&microgo_cfg) == -1)
		fatal("microgo: bad MongoDB settings (MONGO_URI?)");
	if (image_init() == -1)
		fatal("microgo: libvips failed to start");
	if (jobs_init(microgo_threads) == -1)
		fatal("microgo: cannot start job threads");
	sweeper_start();
}

/*
 * kore.conf's onload hook. Kore runs it in each worker as it starts and
 * again on SIGHUP, when it reloads the module: the module is linked with
 * -z nodelete, so the reload keeps it (and its state) as it is, and this
 * is a log rotation's signal: the log file is opened again by name.
 */
int
microgo_onload(int action)
{
	if (action == KORE_MODULE_LOAD && worker != NULL) {
		if (log_reopen() == -1)
			kore_log(LOG_ERR, "microgo: cannot reopen the log");
		else
			log_line("level=info msg=\"log opened\"");
	}

	return (KORE_RESULT_OK);
}

void
kore_worker_teardown(void)
{
	gridfs_cleanup();
	db_cleanup();
}

/* This worker's resident memory (from /proc) and open connections. */
static void
microgo_process(void *arg, u_int64_t now)
{
	FILE		*fp;
	unsigned long	 pages, resident;

	(void)arg;
	(void)now;

	resident = 0;
	if ((fp = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(fp, "%lu %lu", &pages, &resident) != 2)
			resident = 0;
		(void)fclose(fp);
	}
	metrics_process((uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE),
	    worker_active_connections);
}
