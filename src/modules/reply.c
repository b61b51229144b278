/*
 * reply: JSON answers and errors, in one place.
 */

#include <stdlib.h>
#include <string.h>

#include "reply.h"

void
reply_json(struct http_request *req, int status, json_t *root)
{
	char		*body;

	/* Invalid UTF-8 was refused when root was built; this cannot fail
	 * but for memory, and Kore's allocator aborts on that too. */
	if ((body = json_dumps(root, JSON_COMPACT)) == NULL)
		fatal("reply_json: json_dumps failed");
	json_decref(root);

	http_response_header(req, "content-type", "application/json");
	http_response(req, status, body, strlen(body));
	free(body);
}

void
reply_error(struct http_request *req, int status, const char *msg)
{
	reply_json(req, status, json_pack("{s:s}", "message", msg));
}

void
reply_basic_challenge(struct http_request *req, const char *msg)
{
	http_response_header(req, "www-authenticate", "Basic realm=\"microgo\"");
	reply_error(req, HTTP_STATUS_UNAUTHORIZED, msg);
}

void
reply_bearer_challenge(struct http_request *req, const char *msg)
{
	http_response_header(req, "www-authenticate", "Bearer");
	reply_error(req, HTTP_STATUS_UNAUTHORIZED, msg);
}
