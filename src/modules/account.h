/*
 * account: checks a user name and password against authdb.users.
 * Blocking and slow by design (argon2id): run it as a request job.
 */

#ifndef MICROGO_ACCOUNT_H
#define MICROGO_ACCOUNT_H

#include <stddef.h>

#include "user.h"


enum account_result {
	ACCOUNT_OK,
	ACCOUNT_DENIED,		/* unknown user or wrong password */
	ACCOUNT_UNAVAILABLE,	/* the user database cannot be reached */
};

/* On ACCOUNT_OK, id holds the user's id as a decimal string. */
enum account_result	account_login(const char *username,
			    const char *password, char id[USER_ID_MAX]);

#endif
