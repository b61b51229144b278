/*
 * token_test: issuing and verifying HS256 JWTs (docs/API.md, "Tokens"): every
 * forgery in the table must be refused with the expected reason.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <jwt.h>
#include <sodium.h>

#include "token.h"

#define SECRET		"test-secret-0123456789abcdef-0123456789"
#define OTHER_SECRET	"another-secret-0123456789abcdef-01234567"
#define NOW		((time_t)1764000000)
#define TTL		86400

/* A token made with libjwt directly, to forge what token_issue won't. */
static char *
forge(jwt_alg_t alg, const char *key, const char *sub, const char *user,
    long iat, long exp)
{
	jwt_t	*jwt;
	char	*out;

	assert_int_equal(jwt_new(&jwt), 0);
	if (sub != NULL)
		assert_int_equal(jwt_add_grant(jwt, "sub", sub), 0);
	if (user != NULL)
		assert_int_equal(jwt_add_grant(jwt, "username", user), 0);
	if (iat != 0)
		assert_int_equal(jwt_add_grant_int(jwt, "iat", iat), 0);
	if (exp != 0)
		assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
	assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key,
	    key == NULL ? 0 : (int)strlen(key)), 0);
	assert_non_null(out = jwt_encode_str(jwt));
	jwt_free(jwt);

	return (out);
}

/* A token whose claims are the JSON text given, signed with key. */
static char *
forge_json(const char *key, const char *claims)
{
	jwt_t	*jwt;
	char	*out;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
	assert_int_equal(jwt_set_alg(jwt, JWT_ALG_HS256,
	    (const unsigned char *)key, (int)strlen(key)), 0);
	assert_non_null(out = jwt_encode_str(jwt));
	jwt_free(jwt);

	return (out);
}

static void
b64url(char *out, size_t outlen, const char *in)
{
	assert_non_null(sodium_bin2base64(out, outlen,
	    (const unsigned char *)in, strlen(in),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING));
}

/*
 * A token of the header and claims JSON given, as written, correctly
 * signed with key: what a holder of the key could make, for the checks
 * that come after the signature.
 */
static char *
forge_raw(const char *key, const char *header, const char *claims)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	char				 h[1024], c[1024], sig[64], *out;

	b64url(h, sizeof(h), header);
	b64url(c, sizeof(c), claims);
	assert_non_null(out = malloc(strlen(h) + strlen(c) + sizeof(sig) + 3));
	(void)sprintf(out, "%s.%s", h, c);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key,
	    strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)out,
	    strlen(out));
	crypto_auth_hmacsha256_final(&st, mac);
	assert_non_null(sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING));
	strcat(out, ".");
	strcat(out, sig);

	return (out);
}

#define HS256		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS(extra)	"{\"sub\":\"2\",\"username\":\"Rex\"," \
			"\"iat\":1764000000,\"exp\":1764003600" extra "}"

/* The valid token with its payload swapped for another user's. */
static char *
tamper(const char *token)
{
	char		*out, *p1, *p2;
	const char	*payload = "eyJzdWIiOiIxIiwidXNlcm5hbWUiOiJNXHUxZWFkcCIs"
			    "ImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo5OTk5OTk5OTk5fQ";

	assert_non_null(p1 = strchr(token, '.'));
	assert_non_null(p2 = strchr(p1 + 1, '.'));
	assert_non_null(out = malloc(strlen(token) + strlen(payload) + 1));
	memcpy(out, token, (size_t)(p1 - token) + 1);
	out[p1 - token + 1] = '\0';
	strcat(out, payload);
	strcat(out, p2);

	return (out);
}

/* {"alg":"none"} header, valid claims, empty signature. */
static char *
alg_none(const char *token)
{
	char		*out;
	const char	*p1, *p2;
	const char	*hdr = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

	assert_non_null(p1 = strchr(token, '.'));
	assert_non_null(p2 = strchr(p1 + 1, '.'));
	assert_non_null(out = malloc(strlen(token) + strlen(hdr) + 2));
	(void)sprintf(out, "%s.%.*s.", hdr, (int)(p2 - p1 - 1), p1 + 1);

	return (out);
}

static void
test_issue_then_verify(void **state)
{
	char			*tok;
	struct token_claims	 c;

	(void)state;

	assert_non_null(tok = token_issue(SECRET, "42", "Mập", NOW, 86400));
	assert_int_equal(token_verify(SECRET, tok, NOW, TTL, &c), TOKEN_VALID);
	assert_string_equal(c.sub, "42");
	assert_string_equal(c.username, "Mập");
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 86400);
	free(tok);
}

struct forgery {
	const char		*name;
	char			*token;
	time_t			 now;
	enum token_result	 want;
};

static void
test_forgeries(void **state)
{
	size_t			 i;
	char			*good, big[TOKEN_MAX + 16];
	struct token_claims	 c;
	struct forgery		 cases[48];
	size_t			 n;

	(void)state;

	good = token_issue(SECRET, "2", "Rex", NOW, 3600);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	n = 0;
#define CASE(nm, tk, nw, w)	cases[n++] = (struct forgery){ nm, tk, nw, w }
	CASE("valid", strdup(good), NOW, TOKEN_VALID);
	CASE("expired", strdup(good), NOW + 3600, TOKEN_EXPIRED);
	CASE("tampered payload", tamper(good), NOW, TOKEN_BAD_SIGNATURE);
	CASE("alg none", alg_none(good), NOW, TOKEN_BAD_SIGNATURE);
	CASE("wrong key", forge(JWT_ALG_HS256, OTHER_SECRET, "2", "Rex",
	    NOW, NOW + 60), NOW, TOKEN_BAD_SIGNATURE);
	CASE("HS512 with the right key", forge(JWT_ALG_HS512, SECRET, "2",
	    "Rex", NOW, NOW + 60), NOW, TOKEN_BAD_SIGNATURE);
	CASE("no sub", forge(JWT_ALG_HS256, SECRET, NULL, "Rex", NOW,
	    NOW + 60), NOW, TOKEN_BAD_CLAIMS);
	CASE("no username", forge(JWT_ALG_HS256, SECRET, "2", NULL, NOW,
	    NOW + 60), NOW, TOKEN_BAD_CLAIMS);
	CASE("no exp", forge(JWT_ALG_HS256, SECRET, "2", "Rex", NOW, 0),
	    NOW, TOKEN_BAD_CLAIMS);
	CASE("iat a string (found by tests/fuzz)", forge_json(SECRET,
	    "{\"sub\":\"2\",\"username\":\"Rex\",\"iat\":\"yesterday\","
	    "\"exp\":9999999999}"), NOW, TOKEN_BAD_CLAIMS);
	CASE("iat a real number", forge_json(SECRET,
	    "{\"sub\":\"2\",\"username\":\"Rex\",\"iat\":1.5,"
	    "\"exp\":9999999999}"), NOW, TOKEN_BAD_CLAIMS);
	CASE("iat a day ahead", forge(JWT_ALG_HS256, SECRET, "2", "Rex",
	    NOW + 86400, NOW + 2 * 86400), NOW, TOKEN_BAD_CLAIMS);
	CASE("garbage", strdup("not.a.token"), NOW, TOKEN_BAD_SIGNATURE);
	CASE("two parts", strdup("abc.def"), NOW, TOKEN_BAD_SIGNATURE);
	CASE("four parts", strdup("a.b.c.d"), NOW, TOKEN_BAD_SIGNATURE);
	CASE("empty", strdup(""), NOW, TOKEN_BAD_SIGNATURE);
	CASE("oversized", strdup(big), NOW, TOKEN_MALFORMED);
	CASE("signature with a byte >= 0x80", strdup(good), NOW,
	    TOKEN_BAD_SIGNATURE);
	cases[n - 1].token[strlen(cases[n - 1].token) - 1] = (char)0xc3;
	CASE("signature not canonical base64url", strdup(good), NOW,
	    TOKEN_BAD_SIGNATURE);
	cases[n - 1].token[strlen(cases[n - 1].token) - 1] ^= 1;

	/* RFC 8725, with the right key: only what the service issues. */
	CASE("forged as issued", forge_raw(SECRET, HS256, CLAIMS("")), NOW,
	    TOKEN_VALID);
	CASE("RS256 header", forge_raw(SECRET,
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", CLAIMS("")), NOW,
	    TOKEN_BAD_ALG);
	CASE("lower-case alg", forge_raw(SECRET,
	    "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", CLAIMS("")), NOW,
	    TOKEN_BAD_ALG);
	CASE("alg none, signed anyway", forge_raw(SECRET,
	    "{\"alg\":\"none\"}", CLAIMS("")), NOW, TOKEN_BAD_ALG);
	CASE("no alg", forge_raw(SECRET, "{\"typ\":\"JWT\"}", CLAIMS("")),
	    NOW, TOKEN_BAD_ALG);
	CASE("alg not a string", forge_raw(SECRET, "{\"alg\":256}",
	    CLAIMS("")), NOW, TOKEN_BAD_ALG);
	CASE("crit", forge_raw(SECRET,
	    "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS("")), NOW,
	    TOKEN_BAD_HEADER);
	CASE("typ of another kind", forge_raw(SECRET,
	    "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", CLAIMS("")), NOW,
	    TOKEN_BAD_HEADER);
	CASE("header not an object", forge_raw(SECRET, "[\"HS256\"]",
	    CLAIMS("")), NOW, TOKEN_MALFORMED);
	CASE("claims twice", forge_raw(SECRET, HS256,
	    CLAIMS(",\"sub\":\"1\"")), NOW, TOKEN_MALFORMED);
	CASE("nbf ahead", forge_raw(SECRET, HS256,
	    CLAIMS(",\"nbf\":1764000600")), NOW, TOKEN_BAD_CLAIMS);
	CASE("nbf passed", forge_raw(SECRET, HS256,
	    CLAIMS(",\"nbf\":1763999000")), NOW, TOKEN_VALID);
	CASE("nbf a string", forge_raw(SECRET, HS256,
	    CLAIMS(",\"nbf\":\"now\"")), NOW, TOKEN_BAD_CLAIMS);
	CASE("far-future exp", forge(JWT_ALG_HS256, SECRET, "2", "Rex",
	    NOW, NOW + 10L * 365 * 86400), NOW, TOKEN_BAD_CLAIMS);
	CASE("a lifetime one second over JWT_TTL", forge(JWT_ALG_HS256, SECRET,
	    "2", "Rex", NOW, NOW + TTL + 1), NOW, TOKEN_BAD_CLAIMS);
	CASE("exp before iat", forge(JWT_ALG_HS256, SECRET, "2", "Rex",
	    NOW, NOW - 1), NOW, TOKEN_BAD_CLAIMS);
	CASE("iat far in the past, exp near", forge_json(SECRET,
	    "{\"sub\":\"2\",\"username\":\"Rex\","
	    "\"iat\":-9223372036854775807,\"exp\":9223372036854775807}"),
	    NOW, TOKEN_BAD_CLAIMS);
#undef CASE

	for (i = 0; i < n; i++) {
		enum token_result r = token_verify(SECRET, cases[i].token,
		    cases[i].now, TTL, &c);
		if (r != cases[i].want)
			fail_msg("%s: %s, want %s", cases[i].name,
			    token_result_str(r), token_result_str(cases[i].want));
		free(cases[i].token);
	}
	free(good);
}

/*
 * Linked with --wrap: every call token.c makes to these goes through the
 * counters below first, so a test can see which comparison decided.
 */
static int	memcmp_calls, decode_calls;

int	__real_sodium_memcmp(const void *, const void *, size_t);
int	__wrap_sodium_memcmp(const void *, const void *, size_t);
json_t	*__real_json_loadb(const char *, size_t, size_t, json_error_t *);
json_t	*__wrap_json_loadb(const char *, size_t, size_t, json_error_t *);

int
__wrap_sodium_memcmp(const void *a, const void *b, size_t len)
{
	memcmp_calls++;
	return (__real_sodium_memcmp(a, b, len));
}

json_t *
__wrap_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *err)
{
	decode_calls++;
	return (__real_json_loadb(buf, len, flags, err));
}

/*
 * A wrong signature is decided by one constant-time comparison of the
 * whole MAC (not strcmp(3), which would tell an attacker by its timing
 * how many bytes were right), before a byte of JSON is read: header and
 * claims are parsed only for a token signed with the key.
 */
static void
test_signature_compared_in_constant_time(void **state)
{
	char			*good, *bad;
	size_t			 len;
	struct token_claims	 c;

	(void)state;

	good = token_issue(SECRET, "2", "Rex", NOW, 60);
	bad = strdup(good);
	len = strlen(bad);
	bad[len - 2] = bad[len - 2] == 'A' ? 'B' : 'A';

	memcmp_calls = decode_calls = 0;
	assert_int_equal(token_verify(SECRET, bad, NOW, TTL, &c),
	    TOKEN_BAD_SIGNATURE);
	assert_int_equal(memcmp_calls, 1);
	assert_int_equal(decode_calls, 0);

	/*
	 * What token_issue writes is recognised as it is: its header, and
	 * its claims in their exact shape, need no JSON parser.
	 */
	memcmp_calls = decode_calls = 0;
	assert_int_equal(token_verify(SECRET, good, NOW, TTL, &c),
	    TOKEN_VALID);
	assert_int_equal(memcmp_calls, 1);
	assert_int_equal(decode_calls, 0);

	/* Any other header, and claims of any other shape, go to jansson. */
	free(bad);
	bad = forge_raw(SECRET, "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
	    CLAIMS(""));
	memcmp_calls = decode_calls = 0;
	assert_int_equal(token_verify(SECRET, bad, NOW, TTL, &c), TOKEN_VALID);
	assert_int_equal(decode_calls, 2);

	free(good);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_then_verify),
		cmocka_unit_test(test_forgeries),
		cmocka_unit_test(test_signature_compared_in_constant_time),
	};

	if (sodium_init() == -1)
		return (1);

	return (cmocka_run_group_tests_name("token", tests, NULL, NULL));
}
