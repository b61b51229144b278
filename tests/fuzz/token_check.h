/*
 * token_check.h: what the token targets (authorization_fuzz, token_fuzz)
 * share: the secret, the clock, and the invariants of a verified token.
 */

#ifndef MICROGO_TOKEN_CHECK_H
#define MICROGO_TOKEN_CHECK_H

#include <sodium.h>

#include "token.h"
#include "fuzz.h"

#define SECRET		"fuzz-secret-0123456789-0123456789-abcdef"
#define NOW		((time_t)1700000000)
#define SKEW		TOKEN_CLOCK_SKEW
#define MAX_TTL		86400		/* JWT_TTL's default */
#define SIG_B64_LEN	43		/* HMAC-SHA256, base64url, no padding */

/*
 * The result is one of enum token_result, with a name; on VALID or
 * EXPIRED, sub and username are non-empty and bounded, iat <= now + skew,
 * iat <= exp <= iat + MAX_TTL, and VALID means exp > now.
 */
static inline void
check_claims(enum token_result r, const struct token_claims *c)
{
	size_t		len;

	CHECK(r >= TOKEN_VALID && r <= TOKEN_EXPIRED);
	CHECK(strcmp(token_result_str(r), "unknown") != 0);
	if (r != TOKEN_VALID && r != TOKEN_EXPIRED)
		return;

	len = strnlen(c->sub, sizeof(c->sub));
	CHECK(len > 0 && len < sizeof(c->sub));
	len = strnlen(c->username, sizeof(c->username));
	CHECK(len > 0 && len < sizeof(c->username));
	CHECK(c->iat <= (int64_t)NOW + SKEW);
	CHECK(c->exp >= c->iat);
	CHECK(c->exp - c->iat <= MAX_TTL);
	CHECK((r == TOKEN_VALID) == (c->exp > (int64_t)NOW));
}

/* Appends ".<HMAC-SHA256 of signed, base64url>" to a malloc'd copy. */
static inline char *
token_sign(const char *signed_part, size_t len)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	char				*out;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET,
	    strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)signed_part,
	    len);
	crypto_auth_hmacsha256_final(&st, mac);

	CHECK((out = malloc(len + 1 + SIG_B64_LEN + 1)) != NULL);
	memcpy(out, signed_part, len);
	out[len] = '.';
	(void)sodium_bin2base64(out + len + 1, SIG_B64_LEN + 1, mac,
	    sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (out);
}

#endif
