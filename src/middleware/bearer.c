/*
 * middleware/bearer: the Bearer JWT check of every protected route.
 *
 * conf/routes.conf attaches it as the validator of the `bearer`
 * authentication block (type request), so Kore runs it before the
 * handler and the handler only runs for a valid token. It is the first
 * code of such a request: it makes the request's context, and the
 * token's claims land there. Controllers read the user from there,
 * never from headers. Verification is cheap HMAC work and stays on the
 * event loop.
 */

#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/credentials.h"
#include "../modules/reply.h"
#include "../modules/request.h"
#include "../modules/token.h"

/* No Authorization: Bearer header at all; not a token_result. */
#define BEARER_NO_TOKEN		-1

static const struct reply_error bearer_errors[] = {
	{ BEARER_NO_TOKEN, HTTP_STATUS_UNAUTHORIZED,
	    "a Bearer token is required", "Bearer" },
	{ TOKEN_EXPIRED, HTTP_STATUS_UNAUTHORIZED, "token expired", "Bearer" },
	{ TOKEN_MALFORMED, HTTP_STATUS_UNAUTHORIZED, "invalid token",
	    "Bearer" },
};

int	mw_bearer(struct http_request *, const void *);

int
mw_bearer(struct http_request *req, const void *data)
{
	struct request_ctx	*ctx;
	struct token_claims	 claims;
	enum token_result	 r;
	const char		*hdr, *token;

	(void)data;
	ctx = request_enter(req);

	if (!request_header_once(req, "authorization", &hdr) ||
	    (token = credentials_bearer(hdr)) == NULL) {
		reply_result(req, bearer_errors, nitems(bearer_errors),
		    BEARER_NO_TOKEN);
		return (KORE_RESULT_ERROR);
	}

	r = token_verify(microgo_config()->jwt_secret, token, time(NULL),
	    microgo_config()->jwt_ttl, &claims);
	if (r != TOKEN_VALID) {
		reply_result(req, bearer_errors, nitems(bearer_errors), r);
		return (KORE_RESULT_ERROR);
	}

	(void)kore_strlcpy(ctx->user_id, claims.sub, sizeof(ctx->user_id));
	(void)kore_strlcpy(ctx->username, claims.username,
	    sizeof(ctx->username));

	return (KORE_RESULT_OK);
}
