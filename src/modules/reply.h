/*
 * reply: every answer microgo sends, so that statuses, JSON bodies and
 * headers are uniform and match API.md. Errors are always
 * {"message": "..."} with application/json.
 *
 * JSON is written with jansson, not Kore 4.1's kore_json, whose
 * serialiser does not escape strings.
 */

#ifndef MICROGO_REPLY_H
#define MICROGO_REPLY_H

#include <jansson.h>

#include <kore/kore.h>
#include <kore/http.h>

/*
 * 1 if the request's method is one of methods (HTTP_METHOD_* bits);
 * otherwise answers 405 with an Allow header and returns 0. Kore 4.1's
 * own 405 (from `restrict`) has an empty body, so handlers check here.
 */
int	reply_method(struct http_request *req, int methods);

/* Sends root (a JSON object or array) and releases it. */
void	reply_json(struct http_request *req, int status, json_t *root);

/* Sends {"message": msg} with status. */
void	reply_error(struct http_request *req, int status, const char *msg);

/* The 401 of /login: a Basic challenge. */
void	reply_basic_challenge(struct http_request *req, const char *msg);

/* The 401 of every Bearer-protected route. */
void	reply_bearer_challenge(struct http_request *req, const char *msg);

#endif
