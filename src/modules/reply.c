/*
 * reply: JSON answers and errors, in one place.
 */

#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "reply.h"

static int	reply_sent(struct netbuf *);
static void	reply_body(struct http_request *, int, const char *, size_t);

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

	/* Invalid UTF-8 was refused when root was built; this cannot fail
	 * but for memory, and Kore's allocator aborts on that too. */
	if ((body = json_dumps(root, JSON_COMPACT)) == NULL)
		fatal("reply_json: json_dumps failed");
	json_decref(root);

	reply_body(req, status, body, strlen(body));
	free(body);
}

void
reply_strings(struct http_request *req, int status, const char *const *kv,
    size_t n)
{
	size_t		len;
	char		body[JSONOUT_MAX];

	if ((len = jsonout_object(body, sizeof(body), kv, n)) == 0)
		fatal("reply_strings: %zu pairs over %d bytes", n, JSONOUT_MAX);

	reply_body(req, status, body, len);
}

void
reply_bytes(struct http_request *req, int status, void **data, size_t len)
{
	reply_bytes_at(req, status, data, 0, len);
}

void
reply_bytes_at(struct http_request *req, int status, void **data,
    size_t off, size_t len)
{
	http_response_header(req, "x-content-type-options", "nosniff");
	/* Kore frees the whole buffer (nb->extra) once the slice is sent. */
	http_response_stream(req, status, (uint8_t *)*data + off, len,
	    reply_sent, *data);
	if (req->owner != NULL)
		*data = NULL;
}

void
reply_error(struct http_request *req, int status, const char *msg)
{
	const char	*kv[] = { "message", msg };

	reply_strings(req, status, kv, 1);
}

void
reply_result(struct http_request *req, const struct reply_error *table,
    size_t n, int result)
{
	const struct reply_error	*row;

	for (row = table; row < table + n - 1; row++) {
		if (row->result == result)
			break;
	}

	if (row->challenge != NULL)
		http_response_header(req, "www-authenticate", row->challenge);
	reply_error(req, row->status, row->message);
}

static int
reply_sent(struct netbuf *nb)
{
	free(nb->extra);
	return (KORE_RESULT_OK);
}

static void
reply_body(struct http_request *req, int status, const char *body,
    size_t len)
{
	http_response_header(req, "content-type", "application/json");
	http_response(req, status, body, len);
}
