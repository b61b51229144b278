/*
 * controllers/assets: what kodev compiles into the module from assets/
 * and what is served as it is: the web page (GET / and its files) and
 * GET /openapi.yaml, the API's OpenAPI 3.0 description (docs/API.md says
 * the same in prose).
 *
 * Every file has an ETag, the SHA-256 kodev computed of it: a matching
 * If-None-Match gets 304, and a browser keeps what it has. The page's
 * HTML comes with a Content-Security-Policy that allows its own scripts,
 * styles and images only (no inline script, no other origin), and with
 * no referrer, no framing and no sniffing.
 */

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "assets.h"
#include "../modules/reply.h"
#include "../modules/request.h"

#define ASSETS_CSP	"default-src 'none'; script-src 'self'; " \
			"style-src 'self'; img-src 'self' blob: data:; " \
			"connect-src 'self'; manifest-src 'self'; " \
			"base-uri 'none'; form-action 'none'; " \
			"frame-ancestors 'none'"

/* One file of assets/ and the path it is served at. */
struct asset {
	const char		*path;
	const u_int8_t		*data;
	const u_int32_t		*len;
	const char *const	*etag;
	const char		*type;
	int			 html;
};

static const struct asset	assets[] = {
	{ "/", asset_index_html, &asset_len_index_html,
	    &asset_sha256_index_html, "text/html; charset=utf-8", 1 },
	{ "/app.js", asset_app_js, &asset_len_app_js, &asset_sha256_app_js,
	    "text/javascript; charset=utf-8", 0 },
	{ "/style.css", asset_style_css, &asset_len_style_css,
	    &asset_sha256_style_css, "text/css; charset=utf-8", 0 },
	{ "/favicon.svg", asset_favicon_svg, &asset_len_favicon_svg,
	    &asset_sha256_favicon_svg, "image/svg+xml", 0 },
	{ "/openapi.yaml", asset_openapi_yaml, &asset_len_openapi_yaml,
	    &asset_sha256_openapi_yaml, "application/yaml", 0 },
};

int	ctl_asset(struct http_request *);

int
ctl_asset(struct http_request *req)
{
	const struct asset	*a;
	const char		*match;
	size_t			 i;

	(void)request_enter(req);
	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	for (a = NULL, i = 0; i < nitems(assets); i++) {
		if (strcmp(assets[i].path, req->path) == 0)
			a = &assets[i];
	}
	if (a == NULL) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "no such route");
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "etag", *a->etag);
	/* The page may change with the next release: ask each time. */
	http_response_header(req, "cache-control", "no-cache");
	if (a->html) {
		http_response_header(req, "content-security-policy",
		    ASSETS_CSP);
		http_response_header(req, "referrer-policy", "no-referrer");
		http_response_header(req, "x-frame-options", "DENY");
	}

	if (http_request_header(req, "if-none-match", &match) &&
	    strcmp(match, *a->etag) == 0) {
		http_response(req, HTTP_STATUS_NOT_MODIFIED, NULL, 0);
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "content-type", a->type);
	http_response(req, HTTP_STATUS_OK, a->data, *a->len);
	return (KORE_RESULT_OK);
}
