/*
 * upload: one upload, from the request body as Kore holds it to the two
 * files in the image store (docs/API.md, "POST /upload"): find the file
 * part, check it is an image within the limits, make the WEBP copy and
 * the preview, name them, store all three, all or nothing. No Kore, no HTTP: the controller
 * turns the result into an answer. Blocking and CPU-heavy: call it from
 * a job thread.
 */

#ifndef MICROGO_UPLOAD_H
#define MICROGO_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "gridfs.h"
#include "multipart.h"
#include "user.h"

enum upload_result {
	UPLOAD_OK,
	UPLOAD_NO_DATA,		/* no file part named data */
	UPLOAD_TOO_LARGE,	/* the file is over max_bytes */
	UPLOAD_OVER_FILES,	/* the owner has max_user_files already */
	UPLOAD_OVER_BYTES,	/* it would take the owner over max_user_bytes */
	UPLOAD_TOO_MANY_PIXELS,	/* over max_pixels, from the header alone */
	UPLOAD_NOT_IMAGE,	/* no accepted format, or broken */
	UPLOAD_UNREADABLE,	/* the spooled body could not be mapped */
	UPLOAD_ENCODE_FAILED,	/* a decodable image the encoder refused */
	UPLOAD_UNAVAILABLE,	/* the image store failed */
};

/* What an upload is made of; filled on the event loop. */
struct upload {
	int		 body_fd;	/* the body spooled to a file, or -1 */
	const uint8_t	*body;		/* else the body in memory */
	size_t		 body_len;
	char		 boundary[MULTIPART_BOUNDARY_MAX + 1];
	uint64_t	 max_bytes;	/* MAX_UPLOAD_BYTES */
	uint64_t	 max_pixels;	/* MAX_PIXELS */
	uint64_t	 max_user_files;	/* MAX_USER_FILES */
	uint64_t	 max_user_bytes;	/* MAX_USER_BYTES */
};

/* What an upload stored, and where its time went (microseconds). */
struct upload_ids {
	char		 original[FSID_LEN + 1];
	char		 compressed[FSID_LEN + 1];
	uint64_t	 parse_us;	/* mapping the body, finding the part */
	uint64_t	 quota_us;	/* the owner's usage, from MongoDB */
	uint64_t	 probe_us;	/* the image header */
	uint64_t	 decode_us;	/* the pixels */
	uint64_t	 encode_us;	/* the WEBP copy */
	uint64_t	 preview_us;	/* the preview, shrunk and encoded */
	uint64_t	 store_us;	/* all files into GridFS */
	uint64_t	 stored_bytes;	/* the original's and its copies' */
};

/*
 * Stores up's image and its WEBP copy for owner. The original's
 * bytes are never copied: they are read where the body lies, in memory
 * or mapped from its file. On UPLOAD_OK, ids names both files; the
 * stages' times are filled as far as the upload went.
 */
enum upload_result	upload_store(const struct upload *up,
			    const char *owner, struct upload_ids *ids);

#endif
