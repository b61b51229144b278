/*
 * token: issues and verifies the HS256 JSON Web Tokens of docs/API.md
 * ("Tokens"), with the checks RFC 8725 asks of a verifier. Pure C over
 * libjwt (issuing), libsodium (HMAC, base64url) and jansson (JSON), no
 * Kore: unit-tested and fuzzed.
 */

#ifndef MICROGO_TOKEN_H
#define MICROGO_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "user.h"

#define TOKEN_MAX		4096

/* Clocks of replicas may drift a little; beyond this a claim is forged. */
#define TOKEN_CLOCK_SKEW	60

enum token_result {
	TOKEN_VALID,
	TOKEN_MALFORMED,	/* not three base64url parts, bad JSON */
	TOKEN_BAD_ALG,		/* anything but "alg": "HS256", exactly */
	TOKEN_BAD_HEADER,	/* crit, or a typ other than JWT */
	TOKEN_BAD_SIGNATURE,
	TOKEN_BAD_CLAIMS,	/* sub, username, iat, exp wrong or missing;
				 * nbf ahead; a lifetime over the maximum */
	TOKEN_EXPIRED,
};

struct token_claims {
	char		sub[USER_ID_MAX];
	char		username[USER_NAME_MAX];
	int64_t		iat;
	int64_t		exp;
};

/* Returns a malloc'd token (free(3) it), or NULL if libjwt failed. */
char			*token_issue(const char *secret, const char *sub,
			    const char *username, time_t now, int64_t ttl);

/*
 * Verifies token at time now. A token whose exp - iat exceeds max_ttl
 * (JWT_TTL: the service never issues one) is refused, however it was
 * signed. On TOKEN_VALID and TOKEN_EXPIRED, out holds the claims.
 */
enum token_result	 token_verify(const char *secret, const char *token,
			    time_t now, int64_t max_ttl,
			    struct token_claims *out);

const char		*token_result_str(enum token_result);

#endif
