/*
 * controllers/health: GET /healthz and GET /readyz (docs/API.md,
 * "Operations").
 *
 * /healthz answers on the event loop: the process serves. /readyz asks
 * both databases, on a job thread, and names the one that does not
 * answer.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/db.h"
#include "../modules/gridfs.h"
#include "../modules/reply.h"
#include "../modules/request.h"

struct ready_job {
	enum db_result		mariadb;
	enum gridfs_result	mongodb;
};

int	ctl_healthz(struct http_request *);

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
