/*
 * token: HS256 JWTs.
 *
 * Issuing goes through libjwt. Verifying does not: libjwt 1.10 leaves the
 * algorithm, header and expiry checks to the caller, compares signatures
 * with strcmp(3), and parses more than it must. Here the signature is
 * checked first, in constant time with libsodium's HMAC-SHA256, so only a
 * token signed with our key is parsed at all; then jansson reads the
 * header and the claims, strictly (RFC 8725): "alg" must be exactly
 * "HS256", a "crit" header is refused (no extension is understood), "typ"
 * may only say JWT; sub and username are strings, iat and exp integers,
 * nbf if present an integer not in the future, and no token may live
 * longer than the service issues them for.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>

#include "token.h"

#define TOKEN_B64URL	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-_"

static int		 token_signature_ok(const char *, const char *,
			    const char *);
static json_t		*token_part(const char *, size_t);
static enum token_result token_header(json_t *);
static enum token_result token_claims(json_t *, time_t, int64_t,
			    struct token_claims *);
static int		 token_string(json_t *, const char *, char *, size_t);
static int		 token_int(json_t *, const char *, int, int64_t *);

char *
token_issue(const char *secret, const char *sub, const char *username,
    time_t now, int64_t ttl)
{
	jwt_t		*jwt;
	char		*out;

	out = NULL;
	if (jwt_new(&jwt) != 0)
		return (NULL);

	if (jwt_add_grant(jwt, "sub", sub) != 0 ||
	    jwt_add_grant(jwt, "username", username) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) != 0)
		goto cleanup;

	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0)
		goto cleanup;

	out = jwt_encode_str(jwt);

cleanup:
	jwt_free(jwt);
	return (out);
}

enum token_result
token_verify(const char *secret, const char *token, time_t now,
    int64_t max_ttl, struct token_claims *out)
{
	const char		*dot1, *dot2;
	json_t			*header, *claims;
	enum token_result	 ret;

	if (strlen(token) >= TOKEN_MAX)
		return (TOKEN_MALFORMED);

	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL ||
	    !token_signature_ok(secret, token, dot2))
		return (TOKEN_BAD_SIGNATURE);

	claims = NULL;
	if ((header = token_part(token, (size_t)(dot1 - token))) == NULL ||
	    (claims = token_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		ret = TOKEN_MALFORMED;
	else if ((ret = token_header(header)) == TOKEN_VALID)
		ret = token_claims(claims, now, max_ttl, out);

	json_decref(header);
	json_decref(claims);
	return (ret);
}

const char *
token_result_str(enum token_result r)
{
	switch (r) {
	case TOKEN_VALID:
		return ("valid");
	case TOKEN_MALFORMED:
		return ("malformed token");
	case TOKEN_BAD_ALG:
		return ("token algorithm is not HS256");
	case TOKEN_BAD_HEADER:
		return ("token header not understood");
	case TOKEN_BAD_SIGNATURE:
		return ("bad token signature");
	case TOKEN_BAD_CLAIMS:
		return ("bad token claims");
	case TOKEN_EXPIRED:
		return ("token expired");
	}

	return ("unknown");
}

/*
 * Recomputes HMAC-SHA256 over "header.payload" (up to sig, the second
 * dot) and compares it with the token's third part without leaking,
 * through timing, how much matched.
 */
static int
token_signature_ok(const char *secret, const char *token, const char *sig)
{
	size_t				siglen;
	unsigned char			mac[crypto_auth_hmacsha256_BYTES];
	unsigned char			bin[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state	st;

	/* libsodium 1.0.18 decodes any byte >= 0x80 as '_'. */
	sig++;
	if (strspn(sig, TOKEN_B64URL) != strlen(sig))
		return (0);

	if (sodium_base642bin(bin, sizeof(bin), sig, strlen(sig), NULL,
	    &siglen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    siglen != sizeof(bin))
		return (0);

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token,
	    (unsigned long long)(sig - 1 - token));
	crypto_auth_hmacsha256_final(&st, mac);

	return (sodium_memcmp(mac, bin, sizeof(mac)) == 0);
}

/*
 * One base64url part, decoded and read as a JSON object; NULL if it is
 * not one. Duplicate names are refused (RFC 7519 leaves the choice), so
 * no two readers of the same token can disagree on a claim.
 */
static json_t *
token_part(const char *b64, size_t len)
{
	json_t		*obj;
	size_t		 binlen;
	char		 bin[TOKEN_MAX];

	if (strspn(b64, TOKEN_B64URL) < len ||
	    sodium_base642bin((unsigned char *)bin, sizeof(bin), b64, len,
	    NULL, &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return (NULL);

	obj = json_loadb(bin, binlen, JSON_REJECT_DUPLICATES, NULL);
	if (obj != NULL && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}

	return (obj);
}

static enum token_result
token_header(json_t *header)
{
	const char	*alg, *typ;

	alg = json_string_value(json_object_get(header, "alg"));
	if (alg == NULL || strcmp(alg, "HS256") != 0)
		return (TOKEN_BAD_ALG);

	if (json_object_get(header, "crit") != NULL)
		return (TOKEN_BAD_HEADER);
	if (json_object_get(header, "typ") != NULL &&
	    ((typ = json_string_value(json_object_get(header, "typ"))) == NULL ||
	    strcasecmp(typ, "JWT") != 0))
		return (TOKEN_BAD_HEADER);

	return (TOKEN_VALID);
}

static enum token_result
token_claims(json_t *claims, time_t now, int64_t max_ttl,
    struct token_claims *out)
{
	int64_t		nbf = INT64_MIN;	/* absent: no lower bound */

	if (!token_string(claims, "sub", out->sub, sizeof(out->sub)) ||
	    !token_string(claims, "username", out->username,
	    sizeof(out->username)) ||
	    !token_int(claims, "iat", 1, &out->iat) ||
	    !token_int(claims, "exp", 1, &out->exp) ||
	    !token_int(claims, "nbf", 0, &nbf))
		return (TOKEN_BAD_CLAIMS);

	/* exp >= iat first: then the difference fits a uint64_t. */
	if (out->iat > (int64_t)now + TOKEN_CLOCK_SKEW ||
	    out->exp < out->iat ||
	    (uint64_t)out->exp - (uint64_t)out->iat > (uint64_t)max_ttl ||
	    nbf > (int64_t)now + TOKEN_CLOCK_SKEW)
		return (TOKEN_BAD_CLAIMS);

	return (out->exp > (int64_t)now ? TOKEN_VALID : TOKEN_EXPIRED);
}

/* A claim that is a non-empty JSON string that fits dst. */
static int
token_string(json_t *claims, const char *name, char *dst, size_t len)
{
	json_t		*v;

	if (!json_is_string(v = json_object_get(claims, name)) ||
	    json_string_length(v) == 0 || json_string_length(v) >= len)
		return (0);

	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return (1);
}

/*
 * A claim that is a JSON integer: not a string, a real, null or an
 * object. 1 if it is, or if it is absent and not required.
 */
static int
token_int(json_t *claims, const char *name, int required, int64_t *out)
{
	json_t		*v;

	if ((v = json_object_get(claims, name)) == NULL)
		return (!required);
	if (!json_is_integer(v))
		return (0);

	*out = json_integer_value(v);
	return (1);
}
