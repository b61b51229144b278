/*
 * middleware/bearer: the Bearer JWT check of every protected route.
 *
 * kore.conf attaches it as the validator of the `bearer` authentication
 * block (type request), so Kore runs it before the handler and the
 * handler only runs for a valid token. The token's claims land in the
 * request context: controllers read the user from there, never from
 * headers. Verification is cheap HMAC work and stays on the event loop.
 */

#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/credentials.h"
#include "../modules/reply.h"
#include "../modules/request.h"
#include "../modules/token.h"

int	mw_bearer(struct http_request *, const void *);

int
mw_bearer(struct http_request *req, const void *data)
{
	struct request_ctx	*ctx;
	struct token_claims	 claims;
	enum token_result	 r;
	const char		*hdr, *token;

	(void)data;
	ctx = request_ctx(req);

	if (!request_header_once(req, "authorization", &hdr) ||
	    (token = credentials_bearer(hdr)) == NULL) {
		reply_bearer_challenge(req, "a Bearer token is required");
		return (KORE_RESULT_ERROR);
	}

	r = token_verify(microgo_config()->jwt_secret, token, time(NULL),
	    &claims);
	if (r != TOKEN_VALID) {
		reply_bearer_challenge(req, r == TOKEN_EXPIRED ?
		    "token expired" : "invalid token");
		return (KORE_RESULT_ERROR);
	}

	(void)kore_strlcpy(ctx->user_id, claims.sub, sizeof(ctx->user_id));
	(void)kore_strlcpy(ctx->username, claims.username,
	    sizeof(ctx->username));

	return (KORE_RESULT_OK);
}
