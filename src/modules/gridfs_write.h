/*
 * gridfs_write: what gridfs.c needs of the writer, private to the two.
 */

#ifndef MICROGO_GRIDFS_WRITE_H
#define MICROGO_GRIDFS_WRITE_H

#include "mongo.h"

/*
 * Removes one file, its chunks first: if that fails half-way, the files
 * document is left for gridfs_sweep to find again. 1, or 0 on failure.
 */
int	gridfs_remove(struct mongo_session *s, const bson_oid_t *oid);

#endif
