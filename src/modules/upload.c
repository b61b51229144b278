/*
 * upload: the pipeline of POST /upload, on a job thread.
 *
 * The body stays where Kore put it: in memory for a small one, in the
 * file Kore spooled a large one to, which is mapped read-only here. The
 * multipart reader returns a pointer into it, so neither the image
 * decoder nor the store ever sees a copy of a 32 MiB original. Checks go
 * from cheap to dear: the part and its size, the owner's quotas (one
 * query), then the image header (the format by content, the pixel
 * count), and only then the full decode and the WEBP encode, and the
 * preview (shrunk from the same decoded pixels). The store is the last step
 * and all or nothing (gridfs_put_upload).
 *
 * Quotas count what is stored, so two uploads of one owner racing past
 * the check can both land: MAX_USER_UPLOADS (inflight.c) bounds by how
 * much.
 */

#include <sys/mman.h>

#include <string.h>
#include <time.h>

#include "filename.h"
#include "image.h"
#include "upload.h"

static enum upload_result	upload_quota(const struct upload *,
				    const char *, size_t);
static enum upload_result	upload_image(const struct upload *,
				    const char *, const struct multipart_part *,
				    struct upload_ids *);
static uint64_t			upload_now_us(void);

enum upload_result
upload_store(const struct upload *up, const char *owner,
    struct upload_ids *ids)
{
	struct multipart_part	 part;
	const uint8_t		*body;
	void			*map;
	uint64_t		 t0;
	enum upload_result	 ret;

	memset(ids, 0, sizeof(*ids));
	t0 = upload_now_us();
	map = NULL;
	body = up->body;
	if (up->body_fd != -1 && up->body_len > 0) {
		map = mmap(NULL, up->body_len, PROT_READ, MAP_PRIVATE,
		    up->body_fd, 0);
		if (map == MAP_FAILED)
			return (UPLOAD_UNREADABLE);
		body = map;
	}

	if (body == NULL || multipart_find(body, up->body_len, up->boundary,
	    "data", &part) != MULTIPART_FOUND)
		ret = UPLOAD_NO_DATA;
	else if (part.len > up->max_bytes)
		ret = UPLOAD_TOO_LARGE;
	else
		ret = UPLOAD_OK;
	ids->parse_us = upload_now_us() - t0;

	if (ret == UPLOAD_OK) {
		t0 = upload_now_us();
		ret = upload_quota(up, owner, part.len);
		ids->quota_us = upload_now_us() - t0;
	}
	if (ret == UPLOAD_OK)
		ret = upload_image(up, owner, &part, ids);

	if (map != NULL)
		(void)munmap(map, up->body_len);
	return (ret);
}

/* Room for one more original of len bytes (its copy is not known yet). */
static enum upload_result
upload_quota(const struct upload *up, const char *owner, size_t len)
{
	int64_t		originals, bytes;

	if (gridfs_usage(owner, &originals, &bytes) != GRIDFS_OK)
		return (UPLOAD_UNAVAILABLE);
	if ((uint64_t)originals >= up->max_user_files)
		return (UPLOAD_OVER_FILES);
	if ((uint64_t)bytes + len > up->max_user_bytes)
		return (UPLOAD_OVER_BYTES);

	return (UPLOAD_OK);
}

/* The file part, within the size limit: probe, encode, name, store. */
static enum upload_result
upload_image(const struct upload *up, const char *owner,
    const struct multipart_part *part, struct upload_ids *ids)
{
	struct image_info	 info;
	struct image_timing	 timing;
	struct gridfs_blob	 orig, copies[2];
	void			*webp, *small;
	size_t			 webplen, smalllen;
	uint64_t		 t0;
	enum upload_result	 ret;
	char			 ids3[3][FSID_LEN + 1];
	char			 name[FILENAME_MAX_LEN + 1];
	char			 webpname[FILENAME_MAX_LEN + 6];

	t0 = upload_now_us();
	ret = UPLOAD_OK;
	switch (image_probe(part->data, part->len, up->max_pixels, &info)) {
	case IMAGE_OK:
		break;
	case IMAGE_TOO_LARGE:
		ret = UPLOAD_TOO_MANY_PIXELS;
		break;
	default:
		ret = UPLOAD_NOT_IMAGE;
		break;
	}
	ids->probe_us = upload_now_us() - t0;
	if (ret != UPLOAD_OK)
		return (ret);

	switch (image_to_webp_preview(part->data, part->len, &webp, &webplen,
	    &small, &smalllen, &timing)) {
	case IMAGE_OK:
		break;
	case IMAGE_NOT_IMAGE:
		/* A truncated or corrupt body shows only when decoded. */
		ret = UPLOAD_NOT_IMAGE;
		break;
	default:
		ret = UPLOAD_ENCODE_FAILED;
		break;
	}
	ids->decode_us = timing.decode_us;
	ids->encode_us = timing.encode_us;
	ids->preview_us = timing.preview_us;
	if (ret != UPLOAD_OK)
		return (ret);

	filename_clean(part->filename, name);
	filename_webp(name, webpname, sizeof(webpname));
	orig = (struct gridfs_blob){ name, info.content_type, GRIDFS_ORIGINAL,
	    part->data, part->len };
	copies[0] = (struct gridfs_blob){ webpname, "image/webp",
	    GRIDFS_COMPRESSED, webp, webplen };
	copies[1] = (struct gridfs_blob){ webpname, "image/webp",
	    GRIDFS_PREVIEW, small, smalllen };

	t0 = upload_now_us();
	ret = gridfs_put_upload(owner, &orig, copies, 2, ids3) == GRIDFS_OK ?
	    UPLOAD_OK : UPLOAD_UNAVAILABLE;
	ids->store_us = upload_now_us() - t0;
	if (ret == UPLOAD_OK) {
		memcpy(ids->original, ids3[0], sizeof(ids->original));
		memcpy(ids->compressed, ids3[1], sizeof(ids->compressed));
		ids->stored_bytes = part->len + webplen + smalllen;
	}

	image_free(small);
	image_free(webp);
	return (ret);
}

static uint64_t
upload_now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}
