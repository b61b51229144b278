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
#include <jwt.h>
#include <sodium.h>

#include "token.h"

#define SECRET		"test-secret-0123456789abcdef-0123456789"
#define OTHER_SECRET	"another-secret-0123456789abcdef-01234567"
#define NOW		((time_t)1764000000)

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
	assert_int_equal(token_verify(SECRET, tok, NOW, &c), TOKEN_VALID);
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
	struct forgery		 cases[24];
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
#undef CASE

	for (i = 0; i < n; i++) {
		enum token_result r = token_verify(SECRET, cases[i].token,
		    cases[i].now, &c);
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
int	__real_jwt_decode(jwt_t **, const char *, const unsigned char *, int);
int	__wrap_jwt_decode(jwt_t **, const char *, const unsigned char *, int);

int
__wrap_sodium_memcmp(const void *a, const void *b, size_t len)
{
	memcmp_calls++;
	return (__real_sodium_memcmp(a, b, len));
}

int
__wrap_jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
    int keylen)
{
	decode_calls++;
	return (__real_jwt_decode(jwt, token, key, keylen));
}

/*
 * A wrong signature is decided by one constant-time comparison of the
 * whole MAC, and never reaches libjwt, whose own check uses strcmp(3)
 * and would tell an attacker, by its timing, how many bytes were right.
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
	assert_int_equal(token_verify(SECRET, bad, NOW, &c),
	    TOKEN_BAD_SIGNATURE);
	assert_int_equal(memcmp_calls, 1);
	assert_int_equal(decode_calls, 0);

	memcmp_calls = decode_calls = 0;
	assert_int_equal(token_verify(SECRET, good, NOW, &c), TOKEN_VALID);
	assert_int_equal(memcmp_calls, 1);
	assert_int_equal(decode_calls, 1);

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
