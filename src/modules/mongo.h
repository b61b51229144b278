/*
 * mongo: the MongoDB client layer of the image store, private to
 * gridfs.c and gridfs_write.c. Blocking: job threads only.
 */

#ifndef MICROGO_MONGO_H
#define MICROGO_MONGO_H

#include <stdbool.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

#include "config.h"

#define MONGO_DB	"image_records"

/* One client of the pool, for the length of one gridfs call. */
struct mongo_session {
	mongoc_client_t		*client;
	mongoc_database_t	*db;
	mongoc_gridfs_bucket_t	*bucket;	/* bucket fs */
	int			 unreachable;	/* an error said so */
};

/* Once per worker, after fork; cfg must outlive the worker. 0 or -1. */
int	mongo_init(const struct config *cfg);
void	mongo_cleanup(void);

/*
 * Pops a client and opens the bucket: 1, or 0 if the breaker says
 * MongoDB is down or the bucket cannot be had. mongo_close() ends it,
 * and tells the breaker how it went.
 */
int	mongo_open(struct mongo_session *s);
void	mongo_close(struct mongo_session *s);

/* 1 if MongoDB answers a ping. */
int	mongo_ping(void);

/*
 * Called before each command: all the command waits on (connect, hello,
 * authentication, the reply) ends within DEP_TIMEOUT from now.
 */
void	mongo_step(void);

/* DEP_TIMEOUT in ms, for a libmongoc call that takes a timeout itself. */
int32_t	mongo_timeout_ms(void);

/* mongoc_cursor_next, each find or getMore it sends being one step. */
bool	mongo_next(mongoc_cursor_t *cur, const bson_t **doc);

/*
 * Logs a libmongoc error as what failed, and notes in s (may be NULL)
 * whether it says the server cannot be reached (as opposed to refusing
 * one command): nothing is retried or cleaned up against such a server.
 */
void	mongo_fail(struct mongo_session *s, const char *what,
	    const bson_error_t *err);

/*
 * Removes one GridFS file, its chunks first: if that fails half-way, the
 * files document is left for gridfs_sweep to find again (writes go the
 * other way round: the files document first). 1, or 0 on failure.
 */
int	mongo_remove_file(struct mongo_session *s, const bson_oid_t *oid);

/* Now, in milliseconds since the epoch (BSON dates). */
int64_t	mongo_now_ms(void);

#endif
