/*
 * reply: every answer microgo sends, so that statuses, JSON bodies and
 * headers are uniform and match docs/API.md. Errors are always
 * {"message": "..."} with application/json.
 *
 * Modules return domain results; each controller maps its modules'
 * failures to answers in one table of struct reply_error rows, which
 * reply_result() renders.
 *
 * JSON is written with jansson, not Kore 4.1's kore_json, whose
 * serialiser does not escape strings.
 */

#ifndef MICROGO_REPLY_H
#define MICROGO_REPLY_H

#include <jansson.h>

#include <kore/kore.h>
#include <kore/http.h>

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* One failure of a module and the answer it gets. */
struct reply_error {
	int		 result;	/* the module's domain result */
	int		 status;	/* HTTP status */
	const char	*message;
	const char	*challenge;	/* WWW-Authenticate value, or NULL */
};

/*
 * 1 if the request's method is one of methods (HTTP_METHOD_* bits);
 * otherwise answers 405 with an Allow header and returns 0. Kore 4.1's
 * own 405 (from `restrict`) has an empty body, so handlers check here.
 */
int	reply_method(struct http_request *req, int methods);

/* Sends root (a JSON object or array) and frees it. */
void	reply_json(struct http_request *req, int status, json_t *root);

/*
 * Sends {"k0": "v0", ...}, n pairs of UTF-8 strings (jsonout.c), with
 * status: the hot routes' answers (/me, /healthz) and every error,
 * without building a jansson tree, and with no header but its type:
 * each header costs Kore a formatted line (make bench counts them).
 * Routes whose answers must not be kept (a token, a listing) say
 * Cache-Control: no-store themselves, when they start.
 */
void	reply_strings(struct http_request *req, int status,
	    const char *const *kv, size_t n);

/*
 * Sends the len bytes at *data (malloc'd) with status, headers as set
 * and X-Content-Type-Options: nosniff (a stored file is never to be read
 * as anything but its type), and frees them once Kore has sent them;
 * *data is then NULL. If the client has gone, *data is left to the
 * caller.
 */
void	reply_bytes(struct http_request *req, int status, void **data,
	    size_t len);

/* The same for the len bytes at offset off of *data (a range of it). */
void	reply_bytes_at(struct http_request *req, int status, void **data,
	    size_t off, size_t len);

/* Sends {"message": msg} with status. */
void	reply_error(struct http_request *req, int status, const char *msg);

/*
 * Answers result with its row of table (n rows). A table ends with its
 * catch-all: a result no row names gets the last row's answer.
 */
void	reply_result(struct http_request *req, const struct reply_error *table,
	    size_t n, int result);

#endif
