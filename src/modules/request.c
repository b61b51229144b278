/*
 * request: per-request context over Kore's http_state, and the driver of
 * job routes.
 *
 * A job route's handler is entered several times: once when the request
 * arrives (method check, start(), the job is queued), then each time Kore
 * wakes the sleeping request, until the job has returned and render()
 * answers. The context remembers the route, the job and its result
 * across those calls, so a handler is one call to request_serve().
 *
 * Kore frees a request whose task is still running in several passes: it
 * calls the onfree hook, sees the pending task and returns, and tries
 * again on a later loop turn. So the hook below does nothing while a job
 * runs, and logs and frees exactly once after it has finished; the task
 * structure itself lives in the context, which Kore frees last.
 */

#include <sys/time.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"
#include "metrics.h"
#include "request.h"

static void	request_free(struct http_request *);
static int	request_task_entry(struct kore_task *);
static void	request_id_init(struct http_request *, struct request_ctx *);
static uint64_t	request_now_us(void);
static void	request_hex(char *, uint64_t);
static int	request_route_index(const struct kore_module_handle *);
static char	*request_route_label(const char *);

/* The routes of conf/routes.conf in their order, for GET /metrics. */
static const struct kore_module_handle	*request_hdlrs[METRICS_ROUTES_MAX];
static const char			*request_labels[METRICS_ROUTES_MAX];
static size_t				 request_nroutes;

struct request_ctx *
request_enter(struct http_request *req)
{
	struct request_ctx	*ctx;

	if (http_state_exists(req))
		return (http_state_get(req));

	ctx = http_state_create(req, sizeof(*ctx), request_free);
	ctx->start_us = request_now_us();
	/* Kore's clock is in ms: how long its reading of the request took. */
	ctx->recv_ms = kore_time_ms() - req->start;
	request_id_init(req, ctx);
	http_response_header(req, "x-request-id", ctx->id);

	return (ctx);
}

int
request_serve(struct http_request *req, const struct request_route *route)
{
	struct request_ctx	*ctx;
	void			*job;

	ctx = request_enter(req);

	if (ctx->route == NULL) {
		if (!reply_method(req, route->methods))
			return (KORE_RESULT_OK);

		job = kore_calloc(1, route->job_size);
		if (route->start != NULL && !route->start(req, job)) {
			if (route->cleanup != NULL)
				route->cleanup(job);
			kore_free(job);
			return (KORE_RESULT_OK);
		}

		/* From here the request owns job; request_free releases it. */
		ctx->route = route;
		ctx->job = job;
		kore_task_create(&ctx->task, request_task_entry);
		kore_task_bind_request(&ctx->task, req);
		jobs_submit(&ctx->task, route->lane);
		return (KORE_RESULT_RETRY);
	}

	if (!kore_task_finished(&ctx->task)) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	ctx->result = kore_task_result(&ctx->task);
	if (ctx->result == 0)
		route->render(req, ctx->job);
	else if (route->fail != NULL)
		route->fail(req, ctx->job, ctx->result);
	else if (route->nerrors > 0)
		reply_result(req, route->errors, route->nerrors, ctx->result);
	else
		fatal("request_serve: %s failed (%d) but has no errors table",
		    req->path, ctx->result);
	return (KORE_RESULT_OK);
}

void
request_routes(void)
{
	struct kore_server		*srv;
	struct kore_domain		*dom;
	struct kore_module_handle	*hdlr;

	LIST_FOREACH(srv, &kore_servers, list) {
		TAILQ_FOREACH(dom, &srv->domains, list) {
			TAILQ_FOREACH(hdlr, &dom->handlers, list) {
				if (request_nroutes == METRICS_ROUTES_MAX)
					break;
				request_hdlrs[request_nroutes] = hdlr;
				request_labels[request_nroutes++] =
				    request_route_label(hdlr->path);
			}
		}
	}
	metrics_routes(request_labels, request_nroutes);
}

void
request_note(struct request_ctx *ctx, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(ctx->note, sizeof(ctx->note), fmt, ap);
	va_end(ap);
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

static int
request_task_entry(struct kore_task *t)
{
	struct request_ctx	*ctx = (struct request_ctx *)t;

	return (ctx->route->run(ctx->job, ctx->user_id));
}

static void
request_free(struct http_request *req)
{
	struct request_ctx	*ctx;
	struct log_rec		 line;
	uint64_t		 us;
	int			 status;

	if ((ctx = http_state_get(req)) == NULL || ctx->logged)
		return;
	if (ctx->route != NULL && !kore_task_finished(&ctx->task))
		return;

	ctx->logged = 1;

	/* 499, as nginx says: the client left before it had an answer. */
	status = req->status != 0 ? req->status : 499;
	us = request_now_us() - ctx->start_us;
	metrics_request(request_route_index(req->hdlr),
	    http_method_text(req->method), status, us);

	log_begin(&line);
	log_raw(&line, "rid", ctx->id);
	log_raw(&line, "method", http_method_text(req->method));
	log_safe(&line, "path", req->path);
	log_uint(&line, "status", (uint64_t)status);
	log_millis(&line, "ms", us);
	log_safe(&line, "user", ctx->user_id);
	if (ctx->note[0] != '\0')
		log_words(&line, ctx->note);
	log_end(&line);

	if (ctx->job != NULL) {
		if (ctx->route->cleanup != NULL)
			ctx->route->cleanup(ctx->job);
		kore_free(ctx->job);
		ctx->job = NULL;
	}
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
	request_hex(ctx->id, prefix);
	request_hex(ctx->id + 16, ++counter);
	ctx->id[32] = '\0';
}

static uint64_t
request_now_us(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* v as 16 lower-case hex digits, no NUL. */
static void
request_hex(char *out, uint64_t v)
{
	static const char	digits[] = "0123456789abcdef";
	int			i;

	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 0xf];
}

static int
request_route_index(const struct kore_module_handle *hdlr)
{
	size_t	i;

	for (i = 0; i < request_nroutes; i++) {
		if (request_hdlrs[i] == hdlr)
			return ((int)i);
	}
	return (-1);
}

/*
 * A route as GET /metrics labels it: its path, each [^/]+ of a regex
 * route named as docs/API.md names it, never a client's value; the last
 * route (any other path) is "other".
 */
static char *
request_route_label(const char *pattern)
{
	static const char *const	 shared[] = { "{fs_id}", "{rendition}",
					    "{expires}", "{signature}" };
	struct kore_buf			 buf;
	const char			*p;
	size_t				 part;
	char				*label;

	if (strcmp(pattern, "^/.*$") == 0)
		return (kore_strdup("other"));

	kore_buf_init(&buf, 64);
	p = pattern + (pattern[0] == '^');
	for (part = 0; *p != '\0' && *p != '$'; ) {
		if (strncmp(p, "[^/]+", 5) == 0) {
			kore_buf_appendf(&buf, "%s", strncmp(pattern,
			    "^/shared/", 9) == 0 && part < 4 ? shared[part] :
			    "{fs_id}");
			part++;
			p += 5;
		} else {
			kore_buf_append(&buf, p++, 1);
		}
	}
	label = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);
	return (label);
}
