/*
 * hello: the ceiling for `make bench`. The least a Kore 4.1 handler can
 * do — answer a fixed small JSON body — served with microgo's own
 * kore.conf settings, so the distance from here to GET /healthz and
 * GET /me is what microgo itself costs.
 */

#include <kore/kore.h>
#include <kore/http.h>

int	bench_hello(struct http_request *);

int
bench_hello(struct http_request *req)
{
	static const char	body[] = "{\"status\":\"ok\"}";

	http_response_header(req, "content-type", "application/json");
	http_response(req, HTTP_STATUS_OK, body, sizeof(body) - 1);

	return (KORE_RESULT_OK);
}
