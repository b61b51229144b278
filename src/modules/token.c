/*
 * token: HS256 JWTs.
 *
 * Issuing goes through libjwt. Verifying does not: libjwt 1.10 leaves the
 * algorithm, header and expiry checks to the caller, compares signatures
 * with strcmp(3), and parses more than it must. Here the signature is
 * checked first, and compared in constant time (sodium_memcmp), so only
 * a token signed with our key is parsed at all; then jansson reads the
 * header and the claims, strictly (RFC 8725): "alg" must be exactly
 * "HS256", a "crit" header is refused (no extension is understood), "typ"
 * may only say JWT; sub and username are strings, iat and exp integers,
 * nbf if present an integer not in the future, and no token may live
 * longer than the service issues them for.
 *
 * Every protected request comes through here, so it is made cheap (make
 * bench counts its instructions): the HMAC key's two padded blocks are
 * hashed once per key, not per token, with OpenSSL's SHA-256 (assembly,
 * about half libsodium's portable C); base64url is decoded by a table,
 * as libsodium's decoder is constant-time and ten times slower, which a
 * token's public parts do not need; and the header the service itself
 * issues is recognised as it is, without parsing it again.
 */

/* SHA256_Init and friends: deprecated in OpenSSL 3, kept for speed. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "token.h"
#include "utf8.h"

/* The header token_issue writes (libjwt's), in base64url. */
#define TOKEN_OUR_HEADER	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* One thread's HMAC-SHA256 key, its padded blocks already hashed. */
struct token_key {
	char		secret[1024];
	SHA256_CTX	inner;
	SHA256_CTX	outer;
};

static __thread struct token_key	*token_key;

static const struct token_key	*token_key_for(const char *);
static int		 token_signature_ok(const char *, const char *,
			    const char *);
static ssize_t		 token_b64url(const char *, size_t, unsigned char *,
			    size_t);
static int		 token_b64val(unsigned char);
static json_t		*token_part(const char *, size_t);
static json_t		*token_object(const unsigned char *, size_t);
static enum token_result token_header(json_t *);
static enum token_result token_claims(json_t *, time_t, int64_t,
			    struct token_claims *);
static enum token_result token_times(const struct token_claims *, int64_t,
			    time_t, int64_t);
static int		 token_claims_ours(const char *, size_t,
			    struct token_claims *);
static int		 token_lit(const char **, const char *, const char *);
static int		 token_digits(const char **, const char *, int64_t *);
static int		 token_chars(const char **, const char *, char *,
			    size_t);
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
	ssize_t			 len;
	enum token_result	 ret;
	unsigned char		 bin[TOKEN_MAX];

	if (strlen(token) >= TOKEN_MAX)
		return (TOKEN_MALFORMED);

	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL ||
	    !token_signature_ok(secret, token, dot2))
		return (TOKEN_BAD_SIGNATURE);

	/* Our own header, byte for byte, needs no reading. */
	header = claims = NULL;
	if ((size_t)(dot1 - token) == sizeof(TOKEN_OUR_HEADER) - 1 &&
	    memcmp(token, TOKEN_OUR_HEADER, sizeof(TOKEN_OUR_HEADER) - 1) == 0)
		ret = TOKEN_VALID;
	else if ((header = token_part(token, (size_t)(dot1 - token))) == NULL)
		ret = TOKEN_MALFORMED;
	else
		ret = token_header(header);

	if (ret == TOKEN_VALID) {
		len = token_b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), bin,
		    sizeof(bin));
		if (len < 0)
			ret = TOKEN_MALFORMED;
		else if (token_claims_ours((const char *)bin, (size_t)len, out))
			ret = token_times(out, INT64_MIN, now, max_ttl);
		else if ((claims = token_object(bin, (size_t)len)) == NULL)
			ret = TOKEN_MALFORMED;
		else
			ret = token_claims(claims, now, max_ttl, out);
	}

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
 * The HMAC key of secret, for this thread: hashed again only when the
 * secret changes (never, in the service; in tests, between cases).
 */
static const struct token_key *
token_key_for(const char *secret)
{
	struct token_key	*k;
	unsigned char		 block[SHA256_CBLOCK];
	size_t			 len, i;

	if ((k = token_key) != NULL && strcmp(k->secret, secret) == 0)
		return (k);
	if (k == NULL && (k = token_key = calloc(1, sizeof(*k))) == NULL)
		return (NULL);
	if ((len = strlen(secret)) >= sizeof(k->secret))
		return (NULL);

	/* RFC 2104: a key longer than the block is hashed first. */
	memset(block, 0, sizeof(block));
	if (len > sizeof(block))
		(void)SHA256((const unsigned char *)secret, len, block);
	else
		memcpy(block, secret, len);

	for (i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36;
	(void)SHA256_Init(&k->inner);
	(void)SHA256_Update(&k->inner, block, sizeof(block));
	for (i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36 ^ 0x5c;
	(void)SHA256_Init(&k->outer);
	(void)SHA256_Update(&k->outer, block, sizeof(block));
	sodium_memzero(block, sizeof(block));

	memcpy(k->secret, secret, len + 1);
	return (k);
}

/*
 * Recomputes HMAC-SHA256 over "header.payload" (up to sig, the second
 * dot) and compares it with the token's third part without leaking,
 * through timing, how much matched.
 */
static int
token_signature_ok(const char *secret, const char *token, const char *sig)
{
	const struct token_key	*k;
	SHA256_CTX		 ctx;
	unsigned char		 inner[SHA256_DIGEST_LENGTH];
	unsigned char		 mac[SHA256_DIGEST_LENGTH];
	unsigned char		 bin[SHA256_DIGEST_LENGTH + 3];
	size_t			 siglen;
	int			 ok;

	sig++;
	siglen = strlen(sig);
	if (token_b64url(sig, siglen, bin, sizeof(bin)) != SHA256_DIGEST_LENGTH ||
	    (k = token_key_for(secret)) == NULL)
		return (0);

	ctx = k->inner;
	(void)SHA256_Update(&ctx, token, (size_t)(sig - 1 - token));
	(void)SHA256_Final(inner, &ctx);
	ctx = k->outer;
	(void)SHA256_Update(&ctx, inner, sizeof(inner));
	(void)SHA256_Final(mac, &ctx);

	ok = sodium_memcmp(mac, bin, sizeof(mac)) == 0;
	sodium_memzero(&ctx, sizeof(ctx));
	return (ok);
}

/*
 * Decodes len characters of unpadded base64url at in into out (outlen
 * bytes at most): the number of bytes, or -1 for a character outside the
 * alphabet (a byte >= 0x80 included), a length no encoder makes, bits
 * left over in the last character, or no room.
 */
static ssize_t
token_b64url(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	const unsigned char	*p = (const unsigned char *)in;
	uint32_t		 acc;
	size_t			 i, n, bits;
	int			 v;

	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outlen)
		return (-1);

	acc = 0;
	bits = n = 0;
	for (i = 0; i < len; i++) {
		if ((v = token_b64val(p[i])) < 0)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Canonical only: the unused low bits of the last character are 0. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return (-1);

	return ((ssize_t)n);
}

/* A base64url character's value, or -1: nothing else, no byte >= 0x80. */
static int
token_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

/*
 * One base64url part, decoded and read as a JSON object; NULL if it is
 * not one. Duplicate names are refused (RFC 7519 leaves the choice), so
 * no two readers of the same token can disagree on a claim.
 */
static json_t *
token_part(const char *b64, size_t len)
{
	ssize_t		 binlen;
	unsigned char	 bin[TOKEN_MAX];

	if ((binlen = token_b64url(b64, len, bin, sizeof(bin))) < 0)
		return (NULL);

	return (token_object(bin, (size_t)binlen));
}

static json_t *
token_object(const unsigned char *json, size_t len)
{
	json_t		*obj;

	obj = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES,
	    NULL);
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

	return (token_times(out, nbf, now, max_ttl));
}

/* The claims' times, whichever reader found them. */
static enum token_result
token_times(const struct token_claims *c, int64_t nbf, time_t now,
    int64_t max_ttl)
{
	/* exp >= iat first: then the difference fits a uint64_t. */
	if (c->iat > (int64_t)now + TOKEN_CLOCK_SKEW || c->exp < c->iat ||
	    (uint64_t)c->exp - (uint64_t)c->iat > (uint64_t)max_ttl ||
	    nbf > (int64_t)now + TOKEN_CLOCK_SKEW)
		return (TOKEN_BAD_CLAIMS);

	return (c->exp > (int64_t)now ? TOKEN_VALID : TOKEN_EXPIRED);
}

/*
 * The claims exactly as token_issue writes them (jansson's compact form,
 * keys sorted): {"exp":N,"iat":N,"sub":"S","username":"S"}, strings
 * without an escape, each fitting its field. 1 with out filled if json
 * is that, 0 for anything else, which jansson then reads (and the
 * token_fuzz target checks that the two readers agree).
 */
static int
token_claims_ours(const char *json, size_t len, struct token_claims *out)
{
	const char	*p = json, *end = json + len;

	return (token_lit(&p, end, "{\"exp\":") &&
	    token_digits(&p, end, &out->exp) &&
	    token_lit(&p, end, ",\"iat\":") &&
	    token_digits(&p, end, &out->iat) &&
	    token_lit(&p, end, ",\"sub\":\"") &&
	    token_chars(&p, end, out->sub, sizeof(out->sub)) &&
	    token_lit(&p, end, ",\"username\":\"") &&
	    token_chars(&p, end, out->username, sizeof(out->username)) &&
	    token_lit(&p, end, "}") && p == end);
}

static int
token_lit(const char **p, const char *end, const char *lit)
{
	size_t	n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return (0);
	*p += n;
	return (1);
}

/* -?(0|[1-9][0-9]{0,17}): any of them fits an int64_t. */
static int
token_digits(const char **p, const char *end, int64_t *out)
{
	const char	*q = *p;
	int64_t		 v;
	int		 neg, n;

	if ((neg = (q < end && *q == '-')))
		q++;
	if (q >= end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end &&
	    q[1] >= '0' && q[1] <= '9'))
		return (0);

	for (v = 0, n = 0; q < end && *q >= '0' && *q <= '9'; q++, n++) {
		if (n == 18)
			return (0);
		v = v * 10 + (*q - '0');
	}

	*out = neg ? -v : v;
	*p = q;
	return (1);
}

/*
 * A string's characters up to its closing quote: valid UTF-8, no
 * escape, no control character, not empty, shorter than dstlen.
 */
static int
token_chars(const char **p, const char *end, char *dst, size_t dstlen)
{
	const unsigned char	*q = (const unsigned char *)*p;
	const unsigned char	*e = (const unsigned char *)end;
	size_t			 n, len;

	while (q < e && *q != '"') {
		if (*q < 0x20 || *q == '\\')
			return (0);
		if (*q >= 0x80) {
			/* A sequence cut by the end is no sequence. */
			if ((n = utf8_seq(q, NULL)) == 0 ||
			    n > (size_t)(e - q))
				return (0);
			q += n;
		} else {
			q++;
		}
	}

	len = (size_t)((const char *)q - *p);
	if (q >= e || len == 0 || len >= dstlen)
		return (0);
	memcpy(dst, *p, len);
	dst[len] = '\0';
	*p = (const char *)q + 1;
	return (1);
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
