/*
 * metrics: per-worker slots in shared memory, summed at scrape.
 *
 * Labels have bounded values only: routes as conf/routes.conf names them
 * ("/img_collection/{fs_id}", never an id), eight methods, the statuses
 * the service and Kore answer with (any other is "other"), three job
 * lanes, two dependencies, the upload refusal reasons.
 */

#include <sys/mman.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "upload.h"

#define METRICS_LANES		3
#define METRICS_BUCKETS		14

static const char *const metrics_methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
};
#define METRICS_METHODS	(sizeof(metrics_methods) / sizeof(metrics_methods[0]))

static const int	metrics_statuses[] = {
	200, 201, 204, 206, 304, 400, 401, 403, 404, 405, 411, 413, 414,
	415, 416, 429, 499, 500, 502, 503, 504, 0
};
#define METRICS_STATUSES \
	(sizeof(metrics_statuses) / sizeof(metrics_statuses[0]))

/* Request durations: 0.5 ms to 10 s, then +Inf. */
static const double	metrics_le[METRICS_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10
};
/* WEBP encodes: 10 ms to 20 s, then +Inf. */
static const double	metrics_encode_le[METRICS_BUCKETS] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20
};

static const char *const metrics_lanes[METRICS_LANES] = {
	"fast", "login", "slow"
};
static const char *const metrics_deps[METRICS_NDEPS] = {
	"mariadb", "mongodb"
};
static const char *const metrics_reasons[METRICS_REASONS_MAX] = {
	[UPLOAD_NO_DATA] = "no_data",
	[UPLOAD_TOO_LARGE] = "too_large",
	[UPLOAD_OVER_FILES] = "over_files",
	[UPLOAD_OVER_BYTES] = "over_bytes",
	[UPLOAD_TOO_MANY_PIXELS] = "too_many_pixels",
	[UPLOAD_NOT_IMAGE] = "not_image",
	[UPLOAD_UNREADABLE] = "unreadable",
	[UPLOAD_ENCODE_FAILED] = "encode_failed",
	[UPLOAD_UNAVAILABLE] = "unavailable",
	[METRICS_REFUSED_IN_FLIGHT] = "in_flight",
};

typedef _Atomic uint64_t	counter;

struct metrics_histogram {
	counter		bucket[METRICS_BUCKETS + 1];	/* the last: +Inf */
	counter		sum_us;
};

struct metrics_slot {
	_Atomic int		pid;		/* 0: never used */
	counter			requests[METRICS_ROUTES_MAX][METRICS_METHODS]
				    [METRICS_STATUSES];
	struct metrics_histogram duration[METRICS_ROUTES_MAX];
	counter			uploads;
	counter			upload_bytes;
	counter			refused[METRICS_REASONS_MAX];
	struct metrics_histogram encode;
	_Atomic int64_t		queued[METRICS_LANES];
	_Atomic int64_t		running[METRICS_LANES];
	_Atomic int64_t		dep_ok_ms[METRICS_NDEPS];
	_Atomic int64_t		dep_fail_ms[METRICS_NDEPS];
	_Atomic int64_t		dep_open_until[METRICS_NDEPS];
	counter			rss;
	counter			connections;
};

static struct metrics_slot	*metrics_slots;
static struct metrics_slot	*metrics_self;
static const char *const	*metrics_route_labels;
static size_t			 metrics_nroutes;

struct metrics_out {
	char	*buf;
	size_t	 len;
	size_t	 size;
	int	 failed;
};

static void	metrics_observe(struct metrics_histogram *, const double *,
		    uint64_t);
static void	metrics_printf(struct metrics_out *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	metrics_scalar(struct metrics_out *, const char *, const char *,
		    const char *, unsigned long long);
static void	metrics_head(struct metrics_out *, const char *, const char *,
		    const char *);
static void	metrics_histogram_text(struct metrics_out *, const char *,
		    const char *, const struct metrics_histogram *,
		    const double *);

int
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*metrics_slots) * METRICS_WORKERS_MAX,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);

	metrics_slots = p;
	return (0);
}

void
metrics_worker(int id, int pid)
{
	int	i;

	metrics_self = &metrics_slots[id];
	for (i = 0; i < METRICS_LANES; i++) {
		atomic_store(&metrics_self->queued[i], 0);
		atomic_store(&metrics_self->running[i], 0);
	}
	atomic_store(&metrics_self->pid, pid);
}

void
metrics_routes(const char *const *labels, size_t n)
{
	metrics_route_labels = labels;
	metrics_nroutes = n < METRICS_ROUTES_MAX ? n : METRICS_ROUTES_MAX;
}

void
metrics_request(int route, const char *method, int status, uint64_t us)
{
	size_t	m, s;

	if (metrics_self == NULL || route < 0 ||
	    (size_t)route >= metrics_nroutes)
		return;

	for (m = 0; m < METRICS_METHODS - 1 &&
	    strcmp(metrics_methods[m], method) != 0; m++)
		;
	for (s = 0; s < METRICS_STATUSES - 1 && metrics_statuses[s] != status;
	    s++)
		;

	atomic_fetch_add_explicit(&metrics_self->requests[route][m][s], 1,
	    memory_order_relaxed);
	metrics_observe(&metrics_self->duration[route], metrics_le, us);
}

void
metrics_upload_stored(uint64_t bytes)
{
	if (metrics_self == NULL)
		return;
	atomic_fetch_add_explicit(&metrics_self->uploads, 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&metrics_self->upload_bytes, bytes,
	    memory_order_relaxed);
}

void
metrics_upload_refused(int reason)
{
	if (metrics_self == NULL || reason < 0 ||
	    reason >= METRICS_REASONS_MAX || metrics_reasons[reason] == NULL)
		return;
	atomic_fetch_add_explicit(&metrics_self->refused[reason], 1,
	    memory_order_relaxed);
}

void
metrics_encode(uint64_t us)
{
	if (metrics_self != NULL)
		metrics_observe(&metrics_self->encode, metrics_encode_le, us);
}

void
metrics_job(int lane, int queued, int running)
{
	if (metrics_self == NULL || lane < 0 || lane >= METRICS_LANES)
		return;
	atomic_fetch_add_explicit(&metrics_self->queued[lane], queued,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&metrics_self->running[lane], running,
	    memory_order_relaxed);
}

void
metrics_dependency(enum metrics_dep dep, int ok, int64_t now_ms,
    int64_t open_until_ms)
{
	if (metrics_self == NULL)
		return;
	atomic_store_explicit(ok ? &metrics_self->dep_ok_ms[dep] :
	    &metrics_self->dep_fail_ms[dep], now_ms, memory_order_relaxed);
	atomic_store_explicit(&metrics_self->dep_open_until[dep],
	    open_until_ms, memory_order_relaxed);
}

void
metrics_process(uint64_t rss_bytes, uint64_t connections)
{
	if (metrics_self == NULL)
		return;
	atomic_store_explicit(&metrics_self->rss, rss_bytes,
	    memory_order_relaxed);
	atomic_store_explicit(&metrics_self->connections, connections,
	    memory_order_relaxed);
}

/*
 * The sums of every used slot, in the order of the HELP lines below. A
 * scrape reads while workers write: each number is a moment's, which is
 * all a counter needs.
 */
char *
metrics_text(int64_t now_ms, size_t *len)
{
	static struct metrics_slot	 sum;
	struct metrics_out		 o = { NULL, 0, 0, 0 };
	const struct metrics_slot	*w;
	int64_t				 ok_ms, fail_ms;
	uint64_t			 v;
	size_t				 i, r, m, s, b, used, open;

	memset(&sum, 0, sizeof(sum));
	for (used = 0, i = 0; i < METRICS_WORKERS_MAX; i++) {
		w = &metrics_slots[i];
		if (atomic_load(&w->pid) == 0)
			continue;
		used++;
		for (r = 0; r < metrics_nroutes; r++) {
			for (m = 0; m < METRICS_METHODS; m++)
				for (s = 0; s < METRICS_STATUSES; s++)
					sum.requests[r][m][s] +=
					    w->requests[r][m][s];
			for (b = 0; b <= METRICS_BUCKETS; b++)
				sum.duration[r].bucket[b] +=
				    w->duration[r].bucket[b];
			sum.duration[r].sum_us += w->duration[r].sum_us;
		}
		sum.uploads += w->uploads;
		sum.upload_bytes += w->upload_bytes;
		for (s = 0; s < METRICS_REASONS_MAX; s++)
			sum.refused[s] += w->refused[s];
		for (b = 0; b <= METRICS_BUCKETS; b++)
			sum.encode.bucket[b] += w->encode.bucket[b];
		sum.encode.sum_us += w->encode.sum_us;
		for (s = 0; s < METRICS_LANES; s++) {
			sum.queued[s] += w->queued[s];
			sum.running[s] += w->running[s];
		}
		sum.rss += w->rss;
		sum.connections += w->connections;
	}

	metrics_head(&o, "microgo_http_requests_total", "counter",
	    "HTTP requests answered, by route, method and status.");
	for (r = 0; r < metrics_nroutes; r++)
		for (m = 0; m < METRICS_METHODS; m++)
			for (s = 0; s < METRICS_STATUSES; s++) {
				if ((v = sum.requests[r][m][s]) == 0)
					continue;
				metrics_printf(&o, "microgo_http_requests_total"
				    "{route=\"%s\",method=\"%s\",status=\"",
				    metrics_route_labels[r], metrics_methods[m]);
				if (metrics_statuses[s] != 0)
					metrics_printf(&o, "%d",
					    metrics_statuses[s]);
				else
					metrics_printf(&o, "other");
				metrics_printf(&o, "\"} %llu\n",
				    (unsigned long long)v);
			}

	metrics_head(&o, "microgo_http_request_duration_seconds", "histogram",
	    "Time from a request's handler to its access-log line, by route.");
	for (r = 0; r < metrics_nroutes; r++) {
		for (v = 0, b = 0; b <= METRICS_BUCKETS; b++)
			v += sum.duration[r].bucket[b];
		if (v == 0)
			continue;
		metrics_histogram_text(&o,
		    "microgo_http_request_duration_seconds",
		    metrics_route_labels[r], &sum.duration[r], metrics_le);
	}

	metrics_scalar(&o, "microgo_uploads_total", "counter",
	    "Uploads stored (an original with its copies).", sum.uploads);
	metrics_scalar(&o, "microgo_upload_stored_bytes_total", "counter",
	    "Bytes stored by uploads, originals, copies and previews.",
	    sum.upload_bytes);
	metrics_head(&o, "microgo_uploads_refused_total", "counter",
	    "Uploads refused, by reason.");
	for (s = 0; s < METRICS_REASONS_MAX; s++) {
		if (metrics_reasons[s] != NULL)
			metrics_printf(&o, "microgo_uploads_refused_total"
			    "{reason=\"%s\"} %llu\n", metrics_reasons[s],
			    (unsigned long long)sum.refused[s]);
	}

	metrics_head(&o, "microgo_image_encode_seconds", "histogram",
	    "Time to decode an upload and encode its WEBP copy.");
	metrics_histogram_text(&o, "microgo_image_encode_seconds", NULL,
	    &sum.encode, metrics_encode_le);

	metrics_head(&o, "microgo_jobs_queued", "gauge",
	    "Jobs waiting for a thread, by lane.");
	for (s = 0; s < METRICS_LANES; s++)
		metrics_printf(&o, "microgo_jobs_queued{lane=\"%s\"} %lld\n",
		    metrics_lanes[s], (long long)sum.queued[s]);
	metrics_head(&o, "microgo_jobs_running", "gauge",
	    "Jobs running on a thread, by lane.");
	for (s = 0; s < METRICS_LANES; s++)
		metrics_printf(&o, "microgo_jobs_running{lane=\"%s\"} %lld\n",
		    metrics_lanes[s], (long long)sum.running[s]);

	metrics_head(&o, "microgo_dependency_up", "gauge",
	    "1 if the latest call to the dependency, by any worker, worked.");
	for (s = 0; s < METRICS_NDEPS; s++) {
		for (ok_ms = fail_ms = 0, i = 0; i < METRICS_WORKERS_MAX; i++) {
			w = &metrics_slots[i];
			if (w->dep_ok_ms[s] > ok_ms)
				ok_ms = w->dep_ok_ms[s];
			if (w->dep_fail_ms[s] > fail_ms)
				fail_ms = w->dep_fail_ms[s];
		}
		metrics_printf(&o, "microgo_dependency_up{dependency=\"%s\"} "
		    "%d\n", metrics_deps[s], ok_ms >= fail_ms);
	}
	metrics_head(&o, "microgo_dependency_breaker_open", "gauge",
	    "Workers whose circuit breaker refuses calls to the dependency.");
	for (s = 0; s < METRICS_NDEPS; s++) {
		for (open = 0, i = 0; i < METRICS_WORKERS_MAX; i++) {
			if (atomic_load(&metrics_slots[i].pid) != 0 &&
			    metrics_slots[i].dep_open_until[s] > now_ms)
				open++;
		}
		metrics_printf(&o, "microgo_dependency_breaker_open"
		    "{dependency=\"%s\"} %zu\n", metrics_deps[s], open);
	}

	metrics_scalar(&o, "microgo_process_resident_memory_bytes", "gauge",
	    "Resident memory of the instance's workers, in all.", sum.rss);
	metrics_scalar(&o, "microgo_open_connections", "gauge",
	    "Connections the instance's workers hold open.", sum.connections);
	metrics_scalar(&o, "microgo_workers", "gauge",
	    "Workers that have started on this instance.", used);

	if (o.failed) {
		free(o.buf);
		return (NULL);
	}
	*len = o.len;
	return (o.buf);
}

static void
metrics_observe(struct metrics_histogram *h, const double *le, uint64_t us)
{
	size_t	b;

	for (b = 0; b < METRICS_BUCKETS && (double)us / 1e6 > le[b]; b++)
		;
	/* Stored per bucket; the text makes them cumulative. */
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

static void
metrics_histogram_text(struct metrics_out *o, const char *name,
    const char *route, const struct metrics_histogram *h, const double *le)
{
	uint64_t	cum;
	size_t		b;
	char		label[160];

	(void)snprintf(label, sizeof(label), route != NULL ?
	    "route=\"%s\"," : "%s", route != NULL ? route : "");
	for (cum = 0, b = 0; b <= METRICS_BUCKETS; b++) {
		cum += h->bucket[b];
		if (b < METRICS_BUCKETS)
			metrics_printf(o, "%s_bucket{%sle=\"%g\"} %llu\n", name,
			    label, le[b], (unsigned long long)cum);
		else
			metrics_printf(o, "%s_bucket{%sle=\"+Inf\"} %llu\n",
			    name, label, (unsigned long long)cum);
	}
	label[strlen(label) > 0 ? strlen(label) - 1 : 0] = '\0';
	metrics_printf(o, "%s_sum%s%s%s %.6f\n", name, route != NULL ? "{" : "",
	    label, route != NULL ? "}" : "", (double)h->sum_us / 1e6);
	metrics_printf(o, "%s_count%s%s%s %llu\n", name,
	    route != NULL ? "{" : "", label, route != NULL ? "}" : "",
	    (unsigned long long)cum);
}

/* A metric of one sample and no labels. */
static void
metrics_scalar(struct metrics_out *o, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	metrics_head(o, name, type, help);
	metrics_printf(o, "%s %llu\n", name, v);
}

static void
metrics_head(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list		 ap;
	char		*p;
	int		 n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf == NULL ? NULL : o->buf + o->len,
		    o->size - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if (o->len + (size_t)n < o->size) {
			o->len += (size_t)n;
			return;
		}
		if ((p = realloc(o->buf, o->size * 2 + (size_t)n + 4096)) ==
		    NULL) {
			o->failed = 1;
			return;
		}
		o->buf = p;
		o->size = o->size * 2 + (size_t)n + 4096;
	}
}
