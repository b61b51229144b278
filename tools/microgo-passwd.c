/*
 * microgo-passwd: prints the argon2id string for a password read from
 * standard input, for an operator adding a row to authdb.users:
 *
 *	printf '%s' 'secret' | ./tools/microgo-passwd
 *
 * A trailing newline is not part of the password.
 */

#include <stdio.h>
#include <string.h>

#include "../src/modules/password.h"

int
main(void)
{
	size_t		len;
	char		pw[1024], out[PASSWORD_HASH_MAX];

	if (password_init() == -1) {
		fprintf(stderr, "microgo-passwd: libsodium failed to start\n");
		return (1);
	}

	len = fread(pw, 1, sizeof(pw) - 1, stdin);
	if (!feof(stdin) || ferror(stdin)) {
		fprintf(stderr, "microgo-passwd: password too long\n");
		return (1);
	}
	pw[len] = '\0';
	if (len > 0 && pw[len - 1] == '\n')
		pw[--len] = '\0';
	if (len > 0 && pw[len - 1] == '\r')
		pw[--len] = '\0';

	if (len == 0 || strlen(pw) != len) {
		fprintf(stderr, "microgo-passwd: empty password or NUL byte\n");
		return (1);
	}

	if (password_hash(pw, out) == -1) {
		fprintf(stderr, "microgo-passwd: hashing failed\n");
		return (1);
	}

	printf("%s\n", out);
	sodium_memzero(pw, sizeof(pw));
	return (0);
}
