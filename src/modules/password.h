/*
 * password: argon2id password hashes (libsodium), stored as the encoded
 * strings of authdb.users.pwd. Slow on purpose: call it off the event loop.
 */

#ifndef MICROGO_PASSWORD_H
#define MICROGO_PASSWORD_H

#include <stddef.h>

#include <sodium.h>

#define PASSWORD_HASH_MAX	crypto_pwhash_STRBYTES

/* Stated in the README: OWASP's argon2id minimum, one lane. */
#define PASSWORD_OPSLIMIT	2
#define PASSWORD_MEMLIMIT	(19 * 1024 * 1024)

/* Call once per process before anything else here; returns 0 or -1. */
int	password_init(void);

/* Writes the encoded argon2id hash of pw to out; returns 0 or -1. */
int	password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/*
 * Returns 1 if pw matches encoded, else 0. With encoded NULL (an unknown
 * user) it spends the same work on a dummy hash and returns 0, so the
 * answer's timing does not tell which user names exist.
 */
int	password_verify(const char *encoded, const char *pw);

#endif
