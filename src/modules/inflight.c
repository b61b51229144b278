/*
 * inflight: per-user counts shared by the workers of one instance.
 *
 * A bucket has a total, which decides, and one count per worker, which
 * lets a new worker give back what its dead predecessor had taken: a
 * worker killed between the two updates of one take or release leaves
 * its bucket off by one until that bucket's users' uploads end, never
 * worse.
 */

#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "inflight.h"

struct inflight_table {
	_Atomic int	total[INFLIGHT_BUCKETS];
	_Atomic int	worker[INFLIGHT_WORKERS][INFLIGHT_BUCKETS];
};

static struct inflight_table	*inflight;
static int			 inflight_self;

static size_t	inflight_bucket(const char *);

int
inflight_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*inflight), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);

	/* Anonymous memory starts zeroed: every count is 0. */
	inflight = p;
	return (0);
}

void
inflight_worker(int id)
{
	size_t	b;
	int	held;

	inflight_self = id;
	for (b = 0; b < INFLIGHT_BUCKETS; b++) {
		if ((held = atomic_exchange(&inflight->worker[id][b], 0)) != 0)
			atomic_fetch_sub(&inflight->total[b], held);
	}
}

int
inflight_take(const char *user, int max)
{
	size_t	b = inflight_bucket(user);

	if (atomic_fetch_add(&inflight->total[b], 1) >= max) {
		atomic_fetch_sub(&inflight->total[b], 1);
		return (0);
	}
	atomic_fetch_add(&inflight->worker[inflight_self][b], 1);
	return (1);
}

void
inflight_release(const char *user)
{
	size_t	b = inflight_bucket(user);

	atomic_fetch_sub(&inflight->worker[inflight_self][b], 1);
	atomic_fetch_sub(&inflight->total[b], 1);
}

int
inflight_count(const char *user)
{
	return (atomic_load(&inflight->total[inflight_bucket(user)]));
}

/* FNV-1a: user ids are short decimal strings. */
static size_t
inflight_bucket(const char *user)
{
	uint32_t	h = 2166136261u;

	while (*user != '\0') {
		h ^= (unsigned char)*user++;
		h *= 16777619u;
	}

	return (h % INFLIGHT_BUCKETS);
}
