/*
 * reply: JSON answers and errors, in one place.
 */

#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "request.h"

int
reply_method(struct http_request *req, int methods)
{
	static const struct {
		int		 bit;
		const char	*name;
	} names[] = {
		{ HTTP_METHOD_GET, "GET" },
		{ HTTP_METHOD_HEAD, "HEAD" },
		{ HTTP_METHOD_POST, "POST" },
		{ HTTP_METHOD_PUT, "PUT" },
		{ HTTP_METHOD_PATCH, "PATCH" },
		{ HTTP_METHOD_DELETE, "DELETE" },
	};
	struct kore_buf		allow;
	size_t			i;

	if (req->method & methods)
		return (1);

	kore_buf_init(&allow, 64);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (methods & names[i].bit)
			kore_buf_appendf(&allow, "%s%s",
			    allow.offset > 0 ? ", " : "", names[i].name);
	}
	http_response_header(req, "allow", kore_buf_stringify(&allow, NULL));
	kore_buf_cleanup(&allow);

	reply_error(req, HTTP_STATUS_METHOD_NOT_ALLOWED,
	    "method not allowed on this route");
	return (0);
}

void
reply_json(struct http_request *req, int status, json_t *root)
{
	char		*body;

	/* Every answer carries the request id and gets its log line. */
	(void)request_ctx(req);

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
