/*
 * account: login = look the user up, then verify the argon2id hash.
 *
 * An unknown user still costs one argon2id verification (password.c), so
 * an attacker cannot tell by the answer's timing which names exist.
 */

#include <inttypes.h>
#include <stdio.h>

#include <sodium.h>

#include "account.h"
#include "db.h"
#include "password.h"

enum account_result
account_login(const char *username, const char *password,
    char id[USER_ID_MAX])
{
	struct db_user		user;
	enum account_result	ret;

	switch (db_user_find(username, &user)) {
	case DB_OK:
		ret = password_verify(user.pwd, password) ?
		    ACCOUNT_OK : ACCOUNT_DENIED;
		break;
	case DB_NOT_FOUND:
		(void)password_verify(NULL, password);
		ret = ACCOUNT_DENIED;
		break;
	default:
		ret = ACCOUNT_UNAVAILABLE;
		break;
	}

	if (ret == ACCOUNT_OK)
		(void)snprintf(id, USER_ID_MAX, "%" PRIu64, user.id);

	sodium_memzero(&user, sizeof(user));
	return (ret);
}
