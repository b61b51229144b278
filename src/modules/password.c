/*
 * password: argon2id with libsodium's crypto_pwhash_str.
 *
 * libsodium always uses one lane (p=1), which suits a worker that runs
 * hashing on its own job thread. Verification reads the parameters from
 * the stored string, so raising them later only affects new hashes.
 */

#include <string.h>

#include "password.h"

/* A hash of a random password, made once per process, for unknown users. */
static char	password_dummy[PASSWORD_HASH_MAX];

int
password_init(void)
{
	unsigned char	rnd[32];

	if (sodium_init() == -1)
		return (-1);

	randombytes_buf(rnd, sizeof(rnd));
	if (crypto_pwhash_str_alg(password_dummy, (const char *)rnd,
	    sizeof(rnd), PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return (-1);

	sodium_memzero(rnd, sizeof(rnd));
	return (0);
}

int
password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	if (crypto_pwhash_str_alg(out, pw, strlen(pw), PASSWORD_OPSLIMIT,
	    PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return (-1);

	return (0);
}

int
password_verify(const char *encoded, const char *pw)
{
	int		known;

	known = 1;
	if (encoded == NULL || strncmp(encoded, "$argon2id$", 10) != 0) {
		encoded = password_dummy;
		known = 0;
	}

	return (crypto_pwhash_str_verify(encoded, pw, strlen(pw)) == 0 && known);
}
