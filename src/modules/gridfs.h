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
#include "user.h"

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
	char		owner[USER_ID_MAX];
	char		filename[GRIDFS_NAME_MAX];
	char		tag[16];		/* original | compressed */
	char		original[FSID_LEN + 1];	/* "" if none */
	char		content_type[GRIDFS_TYPE_MAX];
	int64_t		length;
	int64_t		upload_ms;		/* ms since the epoch, UTC */
};

/* The files an upload stores: its original, and copies made of it. */
struct gridfs_blob {
	const char	*filename;
	const char	*content_type;
	const char	*tag;		/* GRIDFS_ORIGINAL, ... */
	const void	*data;
	size_t		 len;
};

#define GRIDFS_ORIGINAL		"original"
#define GRIDFS_COMPRESSED	"compressed"	/* the WEBP copy, listed */
#define GRIDFS_PREVIEW		"preview"	/* the small one, not listed */

/* The copies one original has at most. */
#define GRIDFS_COPIES_MAX	8

/* Once per worker, after fork; cfg must outlive the worker. */
int			gridfs_init(const struct config *cfg);
void			gridfs_cleanup(void);

/*
 * Stores original, then its ncopies copies (each pointing back at it),
 * all marked incomplete, then marks them complete in one update: only
 * then do they show up anywhere. ids[0] is the original's id, ids[1..]
 * the copies'. On any failure whatever was stored is removed again,
 * unless MongoDB could not be reached: gridfs_sweep removes that later.
 */
enum gridfs_result	gridfs_put_upload(const char *owner,
			    const struct gridfs_blob *original,
			    const struct gridfs_blob *copies, size_t ncopies,
			    char ids[][FSID_LEN + 1]);

/* Adds one copy (a rendition made later) to owner's original. */
enum gridfs_result	gridfs_put_rendition(const char *owner,
			    const char *original,
			    const struct gridfs_blob *blob);

/*
 * Reads a whole file; *data is malloc'd (free(3)). owner NULL: whoever's
 * it is (a share link names the file itself).
 */
enum gridfs_result	gridfs_get(const char *owner, const char *id,
			    struct gridfs_file *meta, void **data);

/* A file's document only, as gridfs_get finds it: nothing is read. */
enum gridfs_result	gridfs_stat(const char *owner, const char *id,
			    struct gridfs_file *meta);

/*
 * Reads the copy of original (owner's, or anyone's for NULL) whose tag
 * is tag, as gridfs_get does: NOT_FOUND if the original or that copy
 * does not exist.
 */
enum gridfs_result	gridfs_get_copy(const char *owner,
			    const char *original, const char *tag,
			    struct gridfs_file *meta, void **data);

/*
 * The owner's complete files, newest first, previews aside (they go with
 * their originals); *files is malloc'd.
 */
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
