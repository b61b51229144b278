/*
 * inflight: how many uploads each user has in flight on this Kore
 * instance, across all its workers (MAX_USER_UPLOADS). The counts live
 * in memory the parent maps before it forks, shared by every worker;
 * each worker also counts its own, so that a worker that dies mid-upload
 * takes its counts with it when its successor starts. Pure C11 atomics,
 * no Kore, no locks: unit-tested.
 *
 * Users are counted in one of INFLIGHT_BUCKETS buckets by a hash of
 * their id: two users who share a bucket share a limit, which among
 * the users uploading at one moment is rare and only ever stricter.
 */

#ifndef MICROGO_INFLIGHT_H
#define MICROGO_INFLIGHT_H

#define INFLIGHT_BUCKETS	4096
#define INFLIGHT_WORKERS	64	/* worker ids 0 to 63 */

/* Once, in the parent before any worker forks; 0 or -1 (mmap). */
int	inflight_init(void);

/* Once per worker as it starts: forgets what a dead predecessor held. */
void	inflight_worker(int id);

/* Counts one more for user and returns 1, or 0 if it has max already. */
int	inflight_take(const char *user, int max);

/* The end of one that inflight_take counted. */
void	inflight_release(const char *user);

/* How many user has in flight now, on this instance. */
int	inflight_count(const char *user);

#endif
