/*
 * gridfs: microgo's image store, MongoDB GridFS (database image_records,
 * bucket fs), through one libmongoc client pool per worker. Every call
 * is scoped to an owner: a file of another user is NOT_FOUND. Blocking:
 * call it from a job thread. gridfs.c reads, gridfs_write.c writes,
 * mongo.c holds the client layer under both.
 */

#ifndef MICROGO_GRIDFS_H
#define MICROGO_GRIDFS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fsid.h"

#define GRIDFS_NAME_MAX		256
#define GRIDFS_TYPE_MAX		64

enum gridfs_result {
	GRIDFS_OK,
	GRIDFS_NOT_FOUND,
	GRIDFS_UNAVAILABLE,	/* MongoDB cannot be reached or failed */
};

/* A file's place in the bucket, as the listing shows it. */
struct gridfs_file {
	char		id[FSID_LEN + 1];
	char		filename[GRIDFS_NAME_MAX];
	char		tag[16];		/* original | compressed */
	char		original[FSID_LEN + 1];	/* "" if none */
	char		content_type[GRIDFS_TYPE_MAX];
	int64_t		length;
	int64_t		upload_ms;		/* ms since the epoch, UTC */
};

/* What an upload stores: the original and its compressed copy. */
struct gridfs_blob {
	const char	*filename;
	const char	*content_type;
	const void	*data;
	size_t		 len;
};

/* Once per worker, after fork; cfg must outlive the worker. */
int			gridfs_init(const struct config *cfg);
void			gridfs_cleanup(void);

/*
 * Stores original, then copy, both marked incomplete, then marks both
 * complete in one update: only then do they show up anywhere. On any
 * failure whatever was stored is removed again, unless MongoDB could not
 * be reached: gridfs_sweep removes that later.
 */
enum gridfs_result	gridfs_put_pair(const char *owner,
			    const struct gridfs_blob *original,
			    const struct gridfs_blob *copy,
			    char orig_id[FSID_LEN + 1],
			    char copy_id[FSID_LEN + 1]);

/* Reads a whole file; *data is malloc'd (free(3)). */
enum gridfs_result	gridfs_get(const char *owner, const char *id,
			    struct gridfs_file *meta, void **data);

/* The owner's complete files, newest first; *files is malloc'd. */
enum gridfs_result	gridfs_list(const char *owner, int64_t limit,
			    int64_t offset, struct gridfs_file **files,
			    size_t *nfiles);

/*
 * What owner keeps in the store: how many originals (uploads), and how
 * many bytes in all (originals and copies), complete files only.
 */
enum gridfs_result	gridfs_usage(const char *owner, int64_t *originals,
			    int64_t *bytes);

/* Deletes a file and, for an original, its compressed copies. */
enum gridfs_result	gridfs_delete(const char *owner, const char *id);

enum gridfs_result	gridfs_ping(void);

/*
 * Removes up to GRIDFS_SWEEP_MAX files left incomplete (by a crash or an
 * unreachable MongoDB) whose upload began over max_age_ms ago. Returns
 * how many, or -1 if MongoDB failed.
 */
#define GRIDFS_SWEEP_MAX	100
int			gridfs_sweep(int64_t max_age_ms);

#endif
