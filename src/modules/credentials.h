/*
 * credentials: parses the Authorization request header — HTTP Basic
 * (RFC 7617) for /login and Bearer (RFC 6750) for everything else.
 * Pure C over libsodium's base64, no Kore: unit-tested and fuzzed.
 */

#ifndef MICROGO_CREDENTIALS_H
#define MICROGO_CREDENTIALS_H

#include <stddef.h>

#include "user.h"

#define CREDENTIALS_PASS_MAX	1024

struct credentials {
	char	user[USER_NAME_MAX];
	char	pass[CREDENTIALS_PASS_MAX];
};

/*
 * Splits "Basic base64(user:pass)" into cred. Returns 0, or -1 if the
 * header is not Basic, not base64, has no colon, an empty user name, a
 * NUL byte, or parts that do not fit. cred is wiped on failure.
 */
int		 credentials_basic(const char *header, struct credentials *cred);

/* Returns the token of "Bearer <token>", or NULL. */
const char	*credentials_bearer(const char *header);

/* Wipes the password from memory once it has been checked. */
void		 credentials_wipe(struct credentials *cred);

#endif
