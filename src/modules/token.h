/*
 * token: issues and verifies the HS256 JSON Web Tokens of docs/API.md
 * ("Authentication"). Pure C over libjwt and libsodium, no Kore.
 */

#ifndef MICROGO_TOKEN_H
#define MICROGO_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "user.h"

#define TOKEN_MAX		4096

enum token_result {
	TOKEN_VALID,
	TOKEN_MALFORMED,	/* not three base64url parts, bad JSON */
	TOKEN_BAD_ALG,		/* anything but HS256 */
	TOKEN_BAD_SIGNATURE,
	TOKEN_BAD_CLAIMS,	/* sub, username, iat or exp missing */
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

enum token_result	 token_verify(const char *secret, const char *token,
			    time_t now, struct token_claims *out);

const char		*token_result_str(enum token_result);

#endif
