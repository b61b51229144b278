/*
 * controllers/assets: what is compiled into the module from assets/ and
 * served as it is: GET /openapi.yaml, the API's OpenAPI 3.0 description
 * (docs/API.md says the same in prose).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/reply.h"
#include "../modules/request.h"

int	ctl_openapi(struct http_request *);

/* assets/openapi.yaml, compiled in by kodev. */
extern const u_int8_t	 asset_openapi_yaml[];
extern const u_int32_t	 asset_len_openapi_yaml;
extern const char	*asset_sha256_openapi_yaml;

int
ctl_openapi(struct http_request *req)
{
	(void)request_enter(req);
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	/* With an ETag from the file's SHA-256; If-None-Match gets 304. */
	http_response_header(req, "x-content-type-options", "nosniff");
	http_serveable(req, asset_openapi_yaml, asset_len_openapi_yaml,
	    asset_sha256_openapi_yaml, "application/yaml");
	return (KORE_RESULT_OK);
}
