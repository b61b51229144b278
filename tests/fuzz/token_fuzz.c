/*
 * token_fuzz: token_verify() past the signature (src/modules/token.c):
 * the JSON it parses and the header and claim checks, which only a token
 * signed with the secret reaches.
 *
 * The input is "<header JSON>\0<payload JSON>", or, without a NUL, the
 * payload alone under {"alg":"HS256","typ":"JWT"}. Both are base64url
 * encoded and signed with the secret, and the token goes to
 * token_verify().
 *
 * Invariants:
 *   - a correctly signed token never has a BAD_SIGNATURE, and one of
 *     TOKEN_MAX bytes or more is MALFORMED;
 *   - the claims of a VALID or EXPIRED token are bounded and consistent
 *     (token_check.h);
 *   - on VALID or EXPIRED, header and payload are JSON objects for
 *     jansson too (token.c reads the claims token_issue writes by hand),
 *     the header says "alg":"HS256", and sub, username, iat and exp are
 *     the payload's own;
 *   - token_issue() with the payload's sub and username gives a token
 *     that verifies as VALID with the same claims, or as BAD_CLAIMS if
 *     they are empty or do not fit.
 */

#include <jansson.h>
#include <sodium.h>

#include "token.h"
#include "fuzz.h"
#include "token_check.h"

static const char	default_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static size_t
b64url(char *out, const uint8_t *in, size_t len)
{
	size_t		n;

	n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	(void)sodium_bin2base64(out, n, in, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (strlen(out));
}

static const char *
json_str(json_t *obj, const char *key)
{
	return (json_string_value(json_object_get(obj, key)));
}

/* The claims must be the payload's, as jansson reads it too. */
static void
check_payload(const uint8_t *hdr, size_t hlen, const uint8_t *pl,
    size_t plen, const struct token_claims *c)
{
	json_t		*h, *p;
	const char	*alg;

	/* Whichever reader token.c took, jansson must agree it is JSON. */
	h = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_is_object(h));
	alg = json_str(h, "alg");
	CHECK(alg != NULL && strcmp(alg, "HS256") == 0);
	json_decref(h);

	p = json_loadb((const char *)pl, plen, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_is_object(p));
	{
		CHECK(json_str(p, "sub") != NULL &&
		    strcmp(json_str(p, "sub"), c->sub) == 0);
		CHECK(json_str(p, "username") != NULL &&
		    strcmp(json_str(p, "username"), c->username) == 0);
		CHECK(json_is_integer(json_object_get(p, "iat")) &&
		    json_integer_value(json_object_get(p, "iat")) == c->iat);
		CHECK(json_is_integer(json_object_get(p, "exp")) &&
		    json_integer_value(json_object_get(p, "exp")) == c->exp);
		json_decref(p);
	}
}

/* token_issue() and token_verify() agree on any sub and username. */
static void
check_issue(const uint8_t *pl, size_t plen)
{
	struct token_claims	 c;
	enum token_result	 r;
	json_t			*p;
	const char		*sub, *user;
	char			*tok;
	int			 fits;

	if ((p = json_loadb((const char *)pl, plen, 0, NULL)) == NULL)
		return;
	sub = json_str(p, "sub");
	user = json_str(p, "username");
	if (sub == NULL || user == NULL) {
		json_decref(p);
		return;
	}

	tok = token_issue(SECRET, sub, user, NOW, 3600);
	CHECK(tok != NULL);
	memset(&c, 0, sizeof(c));
	r = token_verify(SECRET, tok, NOW, MAX_TTL, &c);
	check_claims(r, &c);

	fits = sub[0] != '\0' && strlen(sub) < sizeof(c.sub) &&
	    user[0] != '\0' && strlen(user) < sizeof(c.username);
	if (strlen(tok) >= TOKEN_MAX) {
		CHECK(r == TOKEN_MALFORMED);
	} else if (fits) {
		CHECK(r == TOKEN_VALID);
		CHECK(strcmp(c.sub, sub) == 0 && strcmp(c.username, user) == 0);
		CHECK(c.iat == NOW && c.exp == NOW + 3600);
	} else {
		CHECK(r == TOKEN_BAD_CLAIMS);
	}

	free(tok);
	json_decref(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims	 claims;
	enum token_result	 r;
	const uint8_t		*hdr, *pl, *nul;
	size_t			 hlen, plen, n;
	char			*unsigned_part, *token;

	if ((nul = memchr(data, '\0', size)) != NULL) {
		hdr = data;
		hlen = (size_t)(nul - data);
		pl = nul + 1;
		plen = size - hlen - 1;
	} else {
		hdr = (const uint8_t *)default_header;
		hlen = sizeof(default_header) - 1;
		pl = data;
		plen = size;
	}

	unsigned_part = malloc((hlen + plen) * 4 / 3 + 8);
	CHECK(unsigned_part != NULL);
	n = b64url(unsigned_part, hdr, hlen);
	unsigned_part[n++] = '.';
	n += b64url(unsigned_part + n, pl, plen);
	token = token_sign(unsigned_part, n);

	memset(&claims, 0, sizeof(claims));
	r = token_verify(SECRET, token, NOW, MAX_TTL, &claims);
	check_claims(r, &claims);
	CHECK(r != TOKEN_BAD_SIGNATURE);
	if (strlen(token) >= TOKEN_MAX)
		CHECK(r == TOKEN_MALFORMED);
	if (r == TOKEN_VALID || r == TOKEN_EXPIRED)
		check_payload(hdr, hlen, pl, plen, &claims);

	check_issue(pl, plen);

	free(token);
	free(unsigned_part);
	return (0);
}
