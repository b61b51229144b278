/*
 * controllers/health: GET /healthz, GET /readyz and GET /metrics
 * (docs/API.md, "Operations").
 *
 * /healthz answers on the event loop: the process serves. /readyz asks
 * both databases, on a job thread, and names the one that does not
 * answer. /metrics is Prometheus' scrape of this instance (metrics.c),
 * for the network the instances share; nginx does not pass it on.
 */

#include <stdlib.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/db.h"
#include "../modules/breaker.h"
#include "../modules/gridfs.h"
#include "../modules/metrics.h"
#include "../modules/reply.h"
#include "../modules/request.h"

struct ready_job {
	enum db_result		mariadb;
	enum gridfs_result	mongodb;
};

int	ctl_healthz(struct http_request *);
int	ctl_metrics(struct http_request *);

static int	ready_run(void *, const char *);
static void	ready_render(struct http_request *, void *);

/* Nothing to parse, and no failure: the answer is made of both results. */
static const struct request_route ready_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, JOBS_FAST, sizeof(struct ready_job),
	NULL, 0,
	NULL, ready_run, ready_render, NULL, NULL
};

int
ctl_healthz(struct http_request *req)
{
	(void)request_enter(req);
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	reply_strings(req, HTTP_STATUS_OK,
	    (const char *[]){ "status", "ok" }, 1);
	return (KORE_RESULT_OK);
}

REQUEST_HANDLER(ctl_readyz, ready_route)

int
ctl_metrics(struct http_request *req)
{
	char	*text;
	size_t	 len;

	(void)request_enter(req);
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	if ((text = metrics_text(breaker_now_ms(), &len)) == NULL) {
		reply_error(req, HTTP_STATUS_INTERNAL_ERROR,
		    "the metrics could not be written");
		return (KORE_RESULT_OK);
	}
	http_response_header(req, "content-type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	reply_bytes(req, HTTP_STATUS_OK, (void **)&text, len);
	free(text);
	return (KORE_RESULT_OK);
}

static int
ready_run(void *arg, const char *user)
{
	struct ready_job	*job = arg;

	(void)user;
	job->mariadb = db_ping();
	job->mongodb = gridfs_ping();

	return (0);
}

static void
ready_render(struct http_request *req, void *arg)
{
	struct ready_job	*job = arg;
	int			 up;

	up = job->mariadb == DB_OK && job->mongodb == GRIDFS_OK;
	reply_json(req, up ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE,
	    json_pack("{s:s, s:s}",
	    "mariadb", job->mariadb == DB_OK ? "ok" : "unavailable",
	    "mongodb", job->mongodb == GRIDFS_OK ? "ok" : "unavailable"));
}
