/*
 * request: per-request context over Kore's http_state.
 *
 * Kore frees a request whose task is still running in several passes: it
 * calls the onfree hook, sees the pending task and returns, and tries
 * again on a later loop turn. So the hook below does nothing while a job
 * runs, and logs and frees exactly once after it has finished; the task
 * structure itself lives in the context, which Kore frees last.
 */

#include <sys/time.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"
#include "request.h"

static void	request_free(struct http_request *);
static int	request_task_entry(struct kore_task *);
static void	request_id_init(struct http_request *, struct request_ctx *);
static uint64_t	request_now_us(void);

struct request_ctx *
request_ctx(struct http_request *req)
{
	struct request_ctx	*ctx;

	if (http_state_exists(req))
		return (http_state_get(req));

	ctx = http_state_create(req, sizeof(*ctx), request_free);
	ctx->start_us = request_now_us();
	request_id_init(req, ctx);
	http_response_header(req, "x-request-id", ctx->id);

	return (ctx);
}

int
request_header_once(struct http_request *req, const char *name,
    const char **value)
{
	struct http_header	*hdr;
	int			 n;

	n = 0;
	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		if (strcasecmp(hdr->header, name) == 0) {
			*value = hdr->value;
			n++;
		}
	}

	return (n == 1);
}

int
request_job_start(struct http_request *req, enum jobs_lane lane,
    request_job_fn fn, void *arg, void (*freefn)(void *))
{
	struct request_ctx	*ctx;

	ctx = request_ctx(req);
	if (ctx->job_fn != NULL)
		fatal("request_job_start: a job is already bound");

	ctx->job_fn = fn;
	ctx->job_arg = arg;
	ctx->job_free = freefn;

	kore_task_create(&ctx->task, request_task_entry);
	kore_task_bind_request(&ctx->task, req);
	jobs_submit(&ctx->task, lane);

	return (KORE_RESULT_RETRY);
}

int
request_job_none(struct http_request *req)
{
	return (request_ctx(req)->job_fn == NULL);
}

int
request_job_done(struct http_request *req)
{
	struct request_ctx	*ctx;

	ctx = request_ctx(req);
	if (!kore_task_finished(&ctx->task)) {
		http_request_sleep(req);
		return (0);
	}

	ctx->job_result = kore_task_result(&ctx->task);
	return (1);
}

static int
request_task_entry(struct kore_task *t)
{
	struct request_ctx	*ctx = (struct request_ctx *)t;

	return (ctx->job_fn(ctx->job_arg));
}

static void
request_free(struct http_request *req)
{
	struct request_ctx	*ctx;
	int			status;
	uint64_t		us;
	char			path[256], user[REQUEST_USER_ID_MAX];

	if ((ctx = http_state_get(req)) == NULL || ctx->logged)
		return;
	if (ctx->job_fn != NULL && !kore_task_finished(&ctx->task))
		return;

	ctx->logged = 1;

	/* 499, as nginx says: the client left before it had an answer. */
	status = req->status != 0 ? req->status : 499;
	us = request_now_us() - ctx->start_us;

	log_field(path, sizeof(path), req->path);
	log_field(user, sizeof(user), ctx->user_id);
	log_line("rid=%s method=%s path=%s status=%d ms=%llu.%03llu user=%s",
	    ctx->id, http_method_text(req->method), path, status,
	    (unsigned long long)(us / 1000), (unsigned long long)(us % 1000),
	    user);

	if (ctx->job_free != NULL && ctx->job_arg != NULL)
		ctx->job_free(ctx->job_arg);
	ctx->job_arg = NULL;
}

/*
 * The id nginx sent, if it is a sane token, else a new one: a random
 * 64-bit prefix drawn once per worker and a counter, in hex. Unique
 * without a getrandom(2) per request; an id names a request, it guards
 * nothing. Either way safe to echo in a header and a log line.
 */
static void
request_id_init(struct http_request *req, struct request_ctx *ctx)
{
	static uint64_t	prefix, counter;
	const char	*hdr;
	size_t		len;

	if (http_request_header(req, "x-request-id", &hdr)) {
		len = strlen(hdr);
		if (len > 0 && len < sizeof(ctx->id) &&
		    strspn(hdr, "0123456789abcdefABCDEF"
		    "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ-_.") == len) {
			memcpy(ctx->id, hdr, len + 1);
			return;
		}
	}

	if (prefix == 0)
		randombytes_buf(&prefix, sizeof(prefix));
	(void)snprintf(ctx->id, sizeof(ctx->id), "%016llx%016llx",
	    (unsigned long long)prefix, (unsigned long long)++counter);
}

static uint64_t
request_now_us(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}
