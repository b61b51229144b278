/*
 * authorization_fuzz: the Authorization request header, as a client
 * sends it (src/modules/credentials.c, src/modules/token.c).
 *
 * The input is the header's value. It goes through credentials_basic()
 * and credentials_bearer(); a Bearer token then goes through
 * token_verify() with a fixed secret, as it is and once more re-signed
 * with that secret, so that the fuzzer gets past the signature check.
 *
 * Invariants, credentials_basic():
 *   - it returns 0 or -1; on -1, every byte of cred is zero (wiped);
 *   - on 0, the scheme is Basic (any case), user is non-empty, shorter
 *     than USER_NAME_MAX, and has no ':', pass is shorter than
 *     CREDENTIALS_PASS_MAX, and base64("user:pass") is exactly what the
 *     header carries (nothing dropped after a NUL byte, no byte outside
 *     the base64 alphabet taken for one in it).
 * Invariants, credentials_bearer():
 *   - it agrees with a reference predicate; the token points into the
 *     header, is non-empty and has no space or tab.
 * Invariants, token_verify():
 *   - the result is one of enum token_result, with a name;
 *   - a token as the client sent it is never VALID (the fuzzer has no
 *     secret), a re-signed one never has a BAD_SIGNATURE, and one whose
 *     signature is the right one written with a non-base64url byte has
 *     a BAD_SIGNATURE (found before libjwt's strcmp(3) sees it);
 *   - on VALID or EXPIRED, sub and username are non-empty and bounded,
 *     iat <= now + skew, exp >= iat, and VALID means exp > now.
 */

#include <strings.h>

#include <sodium.h>

#include "credentials.h"
#include "token.h"
#include "fuzz.h"
#include "token_check.h"

static void
check_basic(const char *header)
{
	struct credentials	 cred;
	const unsigned char	*b;
	const char		*b64;
	size_t			 i, ulen, plen, blen;
	char			 plain[USER_NAME_MAX + CREDENTIALS_PASS_MAX];
	char			 enc[sizeof(plain) * 4 / 3 + 8];
	int			 rc;

	memset(&cred, 0xa5, sizeof(cred));
	rc = credentials_basic(header, &cred);
	CHECK(rc == 0 || rc == -1);

	if (rc == -1) {
		for (b = (const unsigned char *)&cred, i = 0;
		    i < sizeof(cred); i++)
			CHECK(b[i] == 0);
		return;
	}

	CHECK(strncasecmp(header, "Basic ", 6) == 0);
	ulen = strnlen(cred.user, sizeof(cred.user));
	plen = strnlen(cred.pass, sizeof(cred.pass));
	CHECK(ulen > 0 && ulen < sizeof(cred.user));
	CHECK(plen < sizeof(cred.pass));
	CHECK(memchr(cred.user, ':', ulen) == NULL);

	/* Canonical base64 only: re-encoding gives back the header's. */
	memcpy(plain, cred.user, ulen);
	plain[ulen] = ':';
	memcpy(plain + ulen + 1, cred.pass, plen);
	(void)sodium_bin2base64(enc, sizeof(enc), (unsigned char *)plain,
	    ulen + 1 + plen, sodium_base64_VARIANT_ORIGINAL);
	for (b64 = header + 6; *b64 == ' '; b64++)
		;
	blen = strcspn(b64, " \t");
	CHECK(strlen(enc) == blen && memcmp(enc, b64, blen) == 0);
	CHECK(strspn(b64 + blen, " \t") == strlen(b64 + blen));

	credentials_wipe(&cred);
}

/* What credentials_bearer() should return, written independently. */
static const char *
ref_bearer(const char *h)
{
	if (strncasecmp(h, "bearer ", 7) != 0)
		return (NULL);
	h += 7;
	h += strspn(h, " ");
	if (*h == '\0' || strpbrk(h, " \t") != NULL)
		return (NULL);
	return (h);
}

static void
check_token(const char *token)
{
	struct token_claims	 claims;
	enum token_result	 r;
	const char		*dot1, *dot2;
	char			*resigned, *sig, *p;
	size_t			 len;

	memset(&claims, 0, sizeof(claims));
	r = token_verify(SECRET, token, NOW, MAX_TTL, &claims);
	check_claims(r, &claims);
	CHECK(r != TOKEN_VALID && r != TOKEN_EXPIRED);

	/* header.payload.<anything>: sign header.payload for real. */
	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return;
	len = (size_t)(dot2 - token);
	resigned = token_sign(token, len);
	sig = resigned + len + 1;

	memset(&claims, 0, sizeof(claims));
	r = token_verify(SECRET, resigned, NOW, MAX_TTL, &claims);
	check_claims(r, &claims);
	CHECK(r != TOKEN_BAD_SIGNATURE);

	/*
	 * The same signature, written otherwise, is a bad signature, decided
	 * before any JSON is read (token.c): a byte outside base64url for a '_'.
	 */
	if (strlen(resigned) < TOKEN_MAX && (p = strchr(sig, '_')) != NULL) {
		*p = (char)0x80;
		CHECK(token_verify(SECRET, resigned, NOW, MAX_TTL, &claims) ==
		    TOKEN_BAD_SIGNATURE);
	}
	free(resigned);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*token, *ref;
	char		*header;

	header = fuzz_str(data, size);

	check_basic(header);

	token = credentials_bearer(header);
	ref = ref_bearer(header);
	CHECK(token == ref);
	if (token != NULL) {
		CHECK(token > header && token < header + strlen(header));
		check_token(token);
	}

	free(header);
	return (0);
}
