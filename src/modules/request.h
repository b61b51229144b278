/*
 * request: the state one HTTP request carries from its first line of
 * code to its access-log line, and the one driver that serves every
 * route whose work blocks (a database, an image).
 *
 * Every handler, and the Bearer middleware before it, starts with
 * request_enter() or request_serve(): that is where the context, the
 * request id and the access-log hook come from. Nothing else creates
 * them, rendering least of all.
 */

#ifndef MICROGO_REQUEST_H
#define MICROGO_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "jobs.h"
#include "reply.h"
#include "user.h"

#define REQUEST_ID_MAX		65

struct request_ctx {
	struct kore_task		 task;	/* first: the task entry casts back */
	char				 id[REQUEST_ID_MAX];
	char				 user_id[USER_ID_MAX];
	char				 username[USER_NAME_MAX];
	uint64_t			 start_us;
	uint64_t			 recv_ms;	/* in Kore, before us */
	char				 note[192];	/* for the log line */

	const struct request_route	*route;	/* the job's, once started */
	void				*job;
	int				 result;
	int				 logged;
};

/*
 * A route whose work runs on a job thread, described once and served by
 * request_serve(). The job is a zeroed block of job_size bytes that the
 * request owns: start() fills it from the request, run() works on it and
 * returns a domain result (an enum of the module it calls, 0 for
 * success, never an HTTP status). A failure is answered from the route's
 * table of errors; success by render(). The block is released once both
 * the job and the request are done: cleanup() first (for what the job
 * allocated), then the block itself.
 */
struct request_route {
	int			 methods;	/* HTTP_METHOD_*; others: 405 */
	enum jobs_lane		 lane;
	size_t			 job_size;
	const struct reply_error *errors;	/* what each failure gets, */
	size_t			 nerrors;	/* or none if run() cannot fail */

	/* Event loop; NULL if there is nothing to parse. 1: run the job;
	 * 0: it has answered (a 4xx) itself. */
	int		(*start)(struct http_request *, void *job);
	/* Job thread: no Kore or http_* calls in here. user is the
	 * authenticated user's id ("" on a route without a token). */
	int		(*run)(void *job, const char *user);
	/* Event loop, once run() returned 0. */
	void		(*render)(struct http_request *, void *job);
	/* Event loop, for a failure, if errors alone cannot say it; may be
	 * NULL (the row of errors answers). */
	void		(*fail)(struct http_request *, void *job, int result);
	/* Event loop, exactly once; may be NULL. */
	void		(*cleanup)(void *job);
};

/*
 * The request's context: created on the first call (the request's start
 * time, its id, the X-Request-ID answer header, and the access-log line
 * written when Kore frees the request); later calls return the same one.
 */
struct request_ctx	*request_enter(struct http_request *req);

/*
 * Serves req by route: the method check, start(), the job on route's
 * lane with req asleep until it returns, then the answer: render(), or
 * the row of route->errors for a failure. A handler returns what this
 * returns.
 */
int	request_serve(struct http_request *req,
	    const struct request_route *route);

/*
 * Once per worker as it starts: the routes, in conf/routes.conf's order,
 * for GET /metrics (metrics.c) to count each request under its route.
 */
void	request_routes(void);

/*
 * Words for the request's access-log line, after its usual fields: made
 * of the service's own numbers and names, never of what a client sent.
 */
void	request_note(struct request_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Defines fn, the Kore handler conf/routes.conf names, as the one call
 * to request_serve() for route: each job route's handler is this line.
 */
#define REQUEST_HANDLER(fn, route)					\
	int fn(struct http_request *);					\
	int fn(struct http_request *req)				\
	{								\
		return (request_serve(req, &(route)));			\
	}

/*
 * The value of a header the request carries exactly once; 0 if it is
 * missing or repeated (two Authorization headers are refused, not
 * guessed between).
 */
int	request_header_once(struct http_request *req, const char *name,
	    const char **value);

#endif
