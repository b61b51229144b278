/*
 * controllers/images: POST /upload and GET /img_collection (docs/API.md,
 * "Images"): the caller's collection, as it grows and as it is listed.
 * What is done to one file is in files.c.
 *
 * HTTP only. Each route is a struct request_route: start() parses the
 * request on the event loop, run() calls one module on a job thread
 * (upload.c or gridfs.c), render() answers its success. The modules'
 * failures become answers in the two tables below, and nowhere else.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/fsid.h"
#include "../modules/gridfs.h"
#include "../modules/inflight.h"
#include "../modules/listing.h"
#include "../modules/metrics.h"
#include "../modules/multipart.h"
#include "../modules/query.h"
#include "../modules/reply.h"
#include "../modules/request.h"
#include "../modules/upload.h"

#define LIST_LIMIT_DEFAULT	100
#define LIST_LIMIT_MAX		1000
#define LIST_OFFSET_MAX		1000000000

#define MSG_STORE_DOWN		"the image store (MongoDB) is unavailable"
#define MSG_NO_DATA		"expected multipart/form-data with a file part " \
				"named data"

static const struct reply_error upload_errors[] = {
	{ UPLOAD_NO_DATA, HTTP_STATUS_BAD_REQUEST, MSG_NO_DATA, NULL },
	{ UPLOAD_TOO_LARGE, HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE,
	    "the file is larger than MAX_UPLOAD_BYTES", NULL },
	{ UPLOAD_OVER_FILES, HTTP_STATUS_FORBIDDEN,
	    "you have MAX_USER_FILES images already: delete some first", NULL },
	{ UPLOAD_OVER_BYTES, HTTP_STATUS_FORBIDDEN,
	    "this upload would take your images over MAX_USER_BYTES: delete "
	    "some first", NULL },
	{ UPLOAD_TOO_MANY_PIXELS, HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE,
	    "the image has more pixels than MAX_PIXELS", NULL },
	{ UPLOAD_NOT_IMAGE, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
	    "the file is not an image in a supported format "
	    "(JPEG, PNG, WEBP, GIF, TIFF, HEIF), or it is broken", NULL },
	{ UPLOAD_UNREADABLE, HTTP_STATUS_INTERNAL_ERROR,
	    "the upload could not be read", NULL },
	{ UPLOAD_ENCODE_FAILED, HTTP_STATUS_INTERNAL_ERROR,
	    "the compressed copy could not be made", NULL },
	{ UPLOAD_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    MSG_STORE_DOWN, NULL },
};

static const struct reply_error store_errors[] = {
	{ GRIDFS_NOT_FOUND, HTTP_STATUS_NOT_FOUND, "no such file", NULL },
	{ GRIDFS_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    MSG_STORE_DOWN, NULL },
};

struct upload_job {
	struct upload		 up;
	struct upload_ids	 ids;
	char			 user[USER_ID_MAX];	/* inflight's */
};

struct list_job {
	uint64_t		 limit;
	uint64_t		 offset;
	struct gridfs_file	*files;
	size_t			 nfiles;
};

static int	upload_start(struct http_request *, void *);
static int	upload_run(void *, const char *);
static void	upload_render(struct http_request *, void *);
static void	upload_cleanup(void *);
static int	list_start(struct http_request *, void *);
static int	list_run(void *, const char *);
static void	list_render(struct http_request *, void *);
static void	list_cleanup(void *);

static const struct request_route upload_route = {
	HTTP_METHOD_POST, JOBS_SLOW, sizeof(struct upload_job),
	upload_errors, nitems(upload_errors),
	upload_start, upload_run, upload_render, NULL, upload_cleanup
};

static const struct request_route list_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, JOBS_FAST, sizeof(struct list_job),
	store_errors, nitems(store_errors),
	list_start, list_run, list_render, NULL, list_cleanup
};

REQUEST_HANDLER(ctl_upload, upload_route)
REQUEST_HANDLER(ctl_list, list_route)

/*
 * Only the boundary is read here (the body is read where it lies), and
 * the user's uploads in flight on this instance counted.
 */
static int
upload_start(struct http_request *req, void *arg)
{
	struct upload_job	*job = arg;
	const struct config	*cfg = microgo_config();
	const char		*type;

	if (!http_request_header(req, "content-type", &type) ||
	    multipart_boundary(type, job->up.boundary) == -1) {
		reply_result(req, upload_errors, nitems(upload_errors),
		    UPLOAD_NO_DATA);
		return (0);
	}

	(void)kore_strlcpy(job->user, request_enter(req)->user_id,
	    sizeof(job->user));
	if (!inflight_take(job->user, cfg->max_user_uploads)) {
		job->user[0] = '\0';
		metrics_upload_refused(METRICS_REFUSED_IN_FLIGHT);
		http_response_header(req, "retry-after", "1");
		reply_error(req, 429,
		    "you have MAX_USER_UPLOADS uploads in flight: wait for one "
		    "to finish");
		return (0);
	}

	job->up.body_fd = req->http_body_fd;
	job->up.body = req->http_body != NULL ? req->http_body->data : NULL;
	job->up.body_len = (size_t)req->content_length;
	job->up.max_bytes = cfg->max_upload_bytes;
	job->up.max_pixels = cfg->max_pixels;
	job->up.max_user_files = cfg->max_user_files;
	job->up.max_user_bytes = cfg->max_user_bytes;
	return (1);
}

static int
upload_run(void *arg, const char *user)
{
	struct upload_job	*job = arg;
	enum upload_result	 r;

	r = upload_store(&job->up, user, &job->ids);
	if (r == UPLOAD_OK) {
		metrics_upload_stored(job->ids.stored_bytes);
		metrics_encode(job->ids.decode_us + job->ids.encode_us);
	} else {
		metrics_upload_refused(r);
	}
	return (r);
}

static void
upload_render(struct http_request *req, void *arg)
{
	struct upload_job	*job = arg;
	struct upload_ids	*ids = &job->ids;

	/* Where its time went, for bench/ and operators. */
	request_note(request_enter(req), "recv_ms=%llu parse_ms=%.1f "
	    "quota_ms=%.1f probe_ms=%.1f decode_ms=%.1f encode_ms=%.1f "
	    "preview_ms=%.1f store_ms=%.1f",
	    (unsigned long long)request_enter(req)->recv_ms,
	    ids->parse_us / 1e3, ids->quota_us / 1e3, ids->probe_us / 1e3,
	    ids->decode_us / 1e3, ids->encode_us / 1e3, ids->preview_us / 1e3,
	    ids->store_us / 1e3);

	reply_json(req, HTTP_STATUS_CREATED, json_pack("{s:s, s:s, s:s}",
	    "message", "image uploaded and compressed",
	    "fs_id", job->ids.original, "compressed_id", job->ids.compressed));
}

static void
upload_cleanup(void *arg)
{
	struct upload_job	*job = arg;

	if (job->user[0] != '\0')
		inflight_release(job->user);
}

static int
list_start(struct http_request *req, void *arg)
{
	struct list_job		*job = arg;

	/* A user's list changes with each upload: never kept. */
	http_response_header(req, "cache-control", "no-store");
	job->limit = LIST_LIMIT_DEFAULT;
	job->offset = 0;
	if (query_uint(req->query_string, "limit", LIST_LIMIT_MAX,
	    &job->limit) == -1 || job->limit == 0 ||
	    query_uint(req->query_string, "offset", LIST_OFFSET_MAX,
	    &job->offset) == -1) {
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "limit must be 1 to 1000 and offset a whole "
		    "number, each given once");
		return (0);
	}

	return (1);
}

static int
list_run(void *arg, const char *user)
{
	struct list_job		*job = arg;

	return (gridfs_list(user, (int64_t)job->limit,
	    (int64_t)job->offset, &job->files, &job->nfiles));
}

static void
list_render(struct http_request *req, void *arg)
{
	struct list_job		*job = arg;
	json_t			*arr;
	size_t			 i;

	arr = json_array();
	for (i = 0; i < job->nfiles; i++)
		json_array_append_new(arr, listing_entry(&job->files[i]));
	reply_json(req, HTTP_STATUS_OK, arr);
}

static void
list_cleanup(void *arg)
{
	struct list_job		*job = arg;

	free(job->files);
}
