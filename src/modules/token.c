/*
 * token: HS256 JWTs with libjwt.
 *
 * libjwt 1.10 parses and signs, but leaves the algorithm and expiry checks
 * to the caller and compares signatures with strcmp(3). So the signature
 * is first checked here in constant time with libsodium's HMAC-SHA256,
 * and only a token that passes reaches libjwt's parser. A token must then
 * say HS256, carry sub, username, iat and exp, not be expired, and not be
 * issued in the future beyond a small clock skew.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

#include "token.h"

/* Clocks of replicas may drift a little; a day ahead is forged. */
#define TOKEN_CLOCK_SKEW	60

static int	token_signature_ok(const char *, const char *);
static int	token_copy_grant(jwt_t *, const char *, char *, size_t);
static int	token_grant_int(jwt_t *, const char *, long *);

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
    struct token_claims *out)
{
	jwt_t			*jwt;
	long			iat, exp;
	enum token_result	ret;

	if (strlen(token) >= TOKEN_MAX)
		return (TOKEN_MALFORMED);

	if (!token_signature_ok(secret, token))
		return (TOKEN_BAD_SIGNATURE);

	if (jwt_decode(&jwt, token, (const unsigned char *)secret,
	    (int)strlen(secret)) != 0)
		return (TOKEN_MALFORMED);

	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		ret = TOKEN_BAD_ALG;
		goto cleanup;
	}

	ret = TOKEN_BAD_CLAIMS;
	if (!token_copy_grant(jwt, "sub", out->sub, sizeof(out->sub)) ||
	    !token_copy_grant(jwt, "username", out->username,
	    sizeof(out->username)))
		goto cleanup;

	if (!token_grant_int(jwt, "iat", &iat) ||
	    !token_grant_int(jwt, "exp", &exp))
		goto cleanup;
	if (iat > (long)now + TOKEN_CLOCK_SKEW || exp < iat)
		goto cleanup;

	out->iat = iat;
	out->exp = exp;

	ret = (exp > (long)now) ? TOKEN_VALID : TOKEN_EXPIRED;

cleanup:
	jwt_free(jwt);
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
 * Recomputes HMAC-SHA256 over "header.payload" and compares it with the
 * token's third part without leaking, through timing, how much matched.
 */
static int
token_signature_ok(const char *secret, const char *token)
{
	const char				*dot1, *dot2;
	size_t					siglen;
	unsigned char				mac[crypto_auth_hmacsha256_BYTES];
	unsigned char				sig[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state		st;

	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return (0);

	/* libsodium 1.0.18 decodes any byte >= 0x80 as '_'. */
	if (strspn(dot2 + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != strlen(dot2 + 1))
		return (0);

	if (sodium_base642bin(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1),
	    NULL, &siglen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    siglen != sizeof(sig))
		return (0);

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token,
	    (unsigned long long)(dot2 - token));
	crypto_auth_hmacsha256_final(&st, mac);

	return (sodium_memcmp(mac, sig, sizeof(mac)) == 0);
}

static int
token_copy_grant(jwt_t *jwt, const char *name, char *dst, size_t len)
{
	const char	*v;

	if ((v = jwt_get_grant(jwt, name)) == NULL || *v == '\0' ||
	    strlen(v) >= len)
		return (0);

	(void)strcpy(dst, v);
	return (1);
}

/*
 * A grant that is a JSON integer. Not jwt_get_grant_int(): libjwt 1.10
 * reads a string, a real, null or an object as 0 without an error.
 */
static int
token_grant_int(jwt_t *jwt, const char *name, long *out)
{
	char		*js, *end;
	long		 v;
	int		 ok;

	if ((js = jwt_get_grants_json(jwt, name)) == NULL)
		return (0);
	errno = 0;
	v = strtol(js, &end, 10);
	ok = (js[0] == '-' || (js[0] >= '0' && js[0] <= '9')) &&
	    *end == '\0' && errno == 0;
	free(js);
	if (ok)
		*out = v;
	return (ok);
}
