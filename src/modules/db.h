/*
 * db: MariaDB access for authdb.users, through a small per-worker pool of
 * connections used from job threads. Blocking: never call it on the
 * event loop.
 */

#ifndef MICROGO_DB_H
#define MICROGO_DB_H

#include <stdint.h>

#include "config.h"

#define DB_PWD_MAX	256

enum db_result {
	DB_OK,
	DB_NOT_FOUND,
	DB_UNAVAILABLE,		/* cannot connect, timed out, lost */
};

struct db_user {
	uint64_t	id;
	char		pwd[DB_PWD_MAX];
};

/* Once per worker, after fork; cfg must outlive the worker. */
int		db_init(const struct config *cfg);
void		db_cleanup(void);

enum db_result	db_user_find(const char *username, struct db_user *out);
enum db_result	db_ping(void);

#endif
