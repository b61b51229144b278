/*
 * metrics: what GET /metrics says about one Kore instance, in
 * Prometheus' text format (0.0.4), summed over all of its workers.
 *
 * The parent maps the counters before it forks; every worker then writes
 * only its own slot, with relaxed atomic adds, and a scrape only reads:
 * nothing on a request's path waits for a lock or for another worker.
 * Counters survive a worker's death (its successor goes on adding in the
 * same slot), so a sum never goes backwards; the gauges of a dead worker
 * (jobs queued and running) are cleared by its successor. Pure C11, no
 * Kore: unit-tested.
 */

#ifndef MICROGO_METRICS_H
#define MICROGO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTES_MAX	32
#define METRICS_WORKERS_MAX	64	/* worker ids 0 to 63 */

enum metrics_dep {
	METRICS_MARIADB,
	METRICS_MONGODB,
	METRICS_NDEPS
};

/* Why an upload was refused: enum upload_result, then these. */
#define METRICS_REFUSED_IN_FLIGHT	16
#define METRICS_REASONS_MAX		17

/* Once, in the parent before any worker forks; 0 or -1. */
int	metrics_init(void);

/* In each worker as it starts: its slot, its pid, its lanes' gauges. */
void	metrics_worker(int id, int pid);

/*
 * The routes' labels, in the order every worker sees them (the order of
 * conf/routes.conf): route i of metrics_request is labels[i].
 */
void	metrics_routes(const char *const *labels, size_t n);

/* One answered request: route index (-1: none), method, status, time. */
void	metrics_request(int route, const char *method, int status,
	    uint64_t us);

/* An upload stored (bytes in all its files), or refused for reason. */
void	metrics_upload_stored(uint64_t bytes);
void	metrics_upload_refused(int reason);

/* One WEBP copy's encoding time. */
void	metrics_encode(uint64_t us);

/* A job lane's queue and running jobs changed by these. */
void	metrics_job(int lane, int queued, int running);

/* A dependency's latest call, and until when its breaker refuses (ms). */
void	metrics_dependency(enum metrics_dep dep, int ok, int64_t now_ms,
	    int64_t open_until_ms);

/* This worker's resident memory and open connections, now. */
void	metrics_process(uint64_t rss_bytes, uint64_t connections);

/*
 * The text of a scrape (malloc'd, *len bytes), as of now_ms (for the
 * breakers); NULL if memory ran out.
 */
char	*metrics_text(int64_t now_ms, size_t *len);

#endif
