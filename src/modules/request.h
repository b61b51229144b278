/*
 * request: the state every handler of one HTTP request shares — its id,
 * the authenticated user, when it started, the job it waits on — and the
 * access-log line written when Kore frees it.
 */

#ifndef MICROGO_REQUEST_H
#define MICROGO_REQUEST_H

#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "jobs.h"

#define REQUEST_ID_MAX		65
#define REQUEST_USER_ID_MAX	32
#define REQUEST_USERNAME_MAX	256

/* Runs on a task thread: no Kore or http_* calls in here. */
typedef int	(*request_job_fn)(void *);

struct request_ctx {
	struct kore_task	task;	/* first: the task entry casts back */
	char			id[REQUEST_ID_MAX];
	char			user_id[REQUEST_USER_ID_MAX];
	char			username[REQUEST_USERNAME_MAX];
	uint64_t		start_us;

	request_job_fn		job_fn;
	void			*job_arg;
	void			(*job_free)(void *);
	int			job_result;
	int			logged;
};

/*
 * The value of a header the request carries exactly once; 0 if it is
 * missing or repeated (two Authorization headers are refused, not
 * guessed between).
 */
int	request_header_once(struct http_request *req, const char *name,
	    const char **value);

/* The request's context, created on first use. */
struct request_ctx	*request_ctx(struct http_request *req);

/*
 * Runs fn(arg) on a thread of lane and puts req to sleep until it
 * returns. arg is owned by the request from now on and released with
 * freefn once both the job and the request are done. Returns
 * KORE_RESULT_RETRY, for the handler to return.
 */
int	request_job_start(struct http_request *req, enum jobs_lane lane,
	    request_job_fn fn, void *arg, void (*freefn)(void *));

/* 1 if no job was started yet on this request. */
int	request_job_none(struct http_request *req);

/*
 * 1 once the job has returned (its value in ctx->job_result); 0 while it
 * runs, with req asleep again: the handler returns KORE_RESULT_RETRY.
 */
int	request_job_done(struct http_request *req);

#endif
