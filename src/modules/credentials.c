/*
 * credentials: Authorization header parsing.
 *
 * Both schemes are matched case-insensitively (RFC 7235) with one or more
 * spaces before the credentials. The decoded Basic credentials are bounded
 * and NUL-free, so they can be passed on as C strings safely.
 */

#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "credentials.h"

static const char	*credentials_scheme(const char *, const char *);

int
credentials_basic(const char *header, struct credentials *cred)
{
	const char	*b64, *end;
	char		*colon;
	size_t		len, ulen;
	char		buf[USER_NAME_MAX + CREDENTIALS_PASS_MAX];

	memset(cred, 0, sizeof(*cred));

	if ((b64 = credentials_scheme(header, "Basic")) == NULL)
		return (-1);

	for (end = b64; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	if (*end != '\0' && strspn(end, " \t") != strlen(end))
		return (-1);
	/* libsodium 1.0.18 decodes any byte >= 0x80 as '/'. */
	if (strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") < (size_t)(end - b64))
		return (-1);

	if (sodium_base642bin((unsigned char *)buf, sizeof(buf) - 1, b64,
	    (size_t)(end - b64), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		goto fail;
	buf[len] = '\0';

	if (memchr(buf, '\0', len) != NULL ||
	    (colon = strchr(buf, ':')) == NULL)
		goto fail;

	ulen = (size_t)(colon - buf);
	if (ulen == 0 || ulen >= sizeof(cred->user) ||
	    strlen(colon + 1) >= sizeof(cred->pass))
		goto fail;

	memcpy(cred->user, buf, ulen);
	(void)strcpy(cred->pass, colon + 1);
	sodium_memzero(buf, sizeof(buf));
	return (0);

fail:
	sodium_memzero(buf, sizeof(buf));
	credentials_wipe(cred);
	return (-1);
}

const char *
credentials_bearer(const char *header)
{
	const char	*token;

	if ((token = credentials_scheme(header, "Bearer")) == NULL)
		return (NULL);

	if (strpbrk(token, " \t") != NULL)
		return (NULL);

	return (token);
}

void
credentials_wipe(struct credentials *cred)
{
	sodium_memzero(cred, sizeof(*cred));
}

/* Returns what follows "<scheme> " in header, or NULL. */
static const char *
credentials_scheme(const char *header, const char *scheme)
{
	size_t		len;

	len = strlen(scheme);
	if (strncasecmp(header, scheme, len) != 0 || header[len] != ' ')
		return (NULL);

	header += len;
	while (*header == ' ')
		header++;

	return (*header == '\0' ? NULL : header);
}
