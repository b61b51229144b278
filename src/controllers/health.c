/*
 * controllers/health: GET /healthz, GET /readyz (API.md, "Operations"),
 * GET /openapi.yaml, and the JSON 404 for every path no route claims.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/db.h"
#include "../modules/gridfs.h"
#include "../modules/reply.h"
#include "../modules/request.h"

struct ready_job {
	int	mariadb;
	int	mongodb;
};

int	ctl_healthz(struct http_request *);
int	ctl_readyz(struct http_request *);
int	ctl_openapi(struct http_request *);
int	ctl_not_found(struct http_request *);

/* assets/openapi.yaml, compiled in by kodev. */
extern const u_int8_t	 asset_openapi_yaml[];
extern const u_int32_t	 asset_len_openapi_yaml;
extern const char	*asset_sha256_openapi_yaml;

static int	ready_run(void *);

int
ctl_healthz(struct http_request *req)
{
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	reply_json(req, HTTP_STATUS_OK, json_pack("{s:s}", "status", "ok"));
	return (KORE_RESULT_OK);
}

int
ctl_readyz(struct http_request *req)
{
	struct ready_job	*job;

	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	if (request_job_none(req)) {
		job = kore_calloc(1, sizeof(*job));
		return (request_job_start(req, JOBS_FAST, ready_run, job,
		    kore_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	job = request_ctx(req)->job_arg;
	reply_json(req, job->mariadb && job->mongodb ? HTTP_STATUS_OK :
	    HTTP_STATUS_SERVICE_UNAVAILABLE, json_pack("{s:s, s:s}",
	    "mariadb", job->mariadb ? "ok" : "unavailable",
	    "mongodb", job->mongodb ? "ok" : "unavailable"));

	return (KORE_RESULT_OK);
}

int
ctl_openapi(struct http_request *req)
{
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	(void)request_ctx(req);
	http_serveable(req, asset_openapi_yaml, asset_len_openapi_yaml,
	    asset_sha256_openapi_yaml, "application/yaml");
	return (KORE_RESULT_OK);
}

int
ctl_not_found(struct http_request *req)
{
	reply_error(req, HTTP_STATUS_NOT_FOUND, "no such route");

	return (KORE_RESULT_OK);
}

/* On a task thread. */
static int
ready_run(void *arg)
{
	struct ready_job	*job = arg;

	job->mariadb = (db_ping() == DB_OK);
	job->mongodb = (gridfs_ping() == GRIDFS_OK);

	return (0);
}

