/*
 * user: the sizes of a user's two names, as every layer passes them
 * along (credentials, database, token, request, image store): one
 * constant each, so that no layer can cut what another accepted.
 */

#ifndef MICROGO_USER_H
#define MICROGO_USER_H

/* authdb.users.id as a decimal string (a 64-bit integer), NUL included. */
#define USER_ID_MAX	32

/* A user name in UTF-8, NUL included. */
#define USER_NAME_MAX	256

#endif
