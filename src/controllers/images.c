/*
 * controllers/images: POST /upload, POST /download, GET /img_collection
 * and DELETE /img_collection/<fs_id> (API.md, "Images").
 *
 * Each handler parses on the event loop, runs its MongoDB and libvips
 * work as a request job, and renders the job's outcome. A job returns an
 * HTTP status and, for errors, a message: statuses are decided in the
 * job, where the module results are known, and rendered in one place.
 */

#include <sys/mman.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/filename.h"
#include "../modules/gridfs.h"
#include "../modules/image.h"
#include "../modules/multipart.h"
#include "../modules/query.h"
#include "../modules/reply.h"
#include "../modules/request.h"

#define DOWNLOAD_BODY_MAX	4096
#define LIST_LIMIT_DEFAULT	100
#define LIST_LIMIT_MAX		1000
#define LIST_OFFSET_MAX		1000000000
#define DELETE_PREFIX		"/img_collection/"

#define MSG_MONGO_DOWN		"the image store (MongoDB) is unavailable"
#define MSG_NOT_FOUND		"no such file"
#define MSG_NO_DATA		"expected multipart/form-data with a file part " \
				"named data"

struct upload_job {
	int			 body_fd;	/* the spooled body, or -1 */
	const uint8_t		*body;		/* the body in memory */
	size_t			 body_len;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			 owner[REQUEST_USER_ID_MAX];
	uint64_t		 max_bytes;
	uint64_t		 max_pixels;
	const char		*msg;
	char			 orig_id[GRIDFS_ID_LEN + 1];
	char			 copy_id[GRIDFS_ID_LEN + 1];
};

struct download_job {
	char			 owner[REQUEST_USER_ID_MAX];
	char			 id[GRIDFS_ID_LEN + 1];
	struct gridfs_file	 meta;
	void			*data;
};

struct list_job {
	char			 owner[REQUEST_USER_ID_MAX];
	uint64_t		 limit;
	uint64_t		 offset;
	struct gridfs_file	*files;
	size_t			 nfiles;
};

struct delete_job {
	char			 owner[REQUEST_USER_ID_MAX];
	char			 id[GRIDFS_ID_LEN + 1];
};

int	ctl_upload(struct http_request *);
int	ctl_download(struct http_request *);
int	ctl_list(struct http_request *);
int	ctl_delete(struct http_request *);

static int	upload_run(void *);
static int	download_run(void *);
static int	list_run(void *);
static int	delete_run(void *);
static void	download_free(void *);
static void	list_free(void *);
static int	download_sent(struct netbuf *);
static int	download_parse(struct http_request *, char [GRIDFS_ID_LEN + 1]);
static int	status_of(enum gridfs_result);
static const char *status_message(int);
static json_t	*file_json(const struct gridfs_file *);

int
ctl_upload(struct http_request *req)
{
	struct request_ctx	*ctx;
	struct upload_job	*job;
	const struct config	*cfg;
	const char		*type;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];

	if (!reply_method(req, HTTP_METHOD_POST))
		return (KORE_RESULT_OK);

	ctx = request_ctx(req);
	cfg = microgo_config();

	if (request_job_none(req)) {
		if (!http_request_header(req, "content-type", &type) ||
		    multipart_boundary(type, boundary) == -1) {
			reply_error(req, HTTP_STATUS_BAD_REQUEST, MSG_NO_DATA);
			return (KORE_RESULT_OK);
		}

		/* The body is read where it lies, on a job thread. */
		job = kore_calloc(1, sizeof(*job));
		job->body_fd = req->http_body_fd;
		job->body = req->http_body != NULL ? req->http_body->data : NULL;
		job->body_len = (size_t)req->content_length;
		job->max_bytes = cfg->max_upload_bytes;
		job->max_pixels = cfg->max_pixels;
		(void)kore_strlcpy(job->boundary, boundary,
		    sizeof(job->boundary));
		(void)kore_strlcpy(job->owner, ctx->user_id, sizeof(job->owner));

		return (request_job_start(req, JOBS_SLOW, upload_run, job,
		    kore_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	job = ctx->job_arg;
	if (ctx->job_result != HTTP_STATUS_CREATED) {
		reply_error(req, ctx->job_result, job->msg);
		return (KORE_RESULT_OK);
	}

	reply_json(req, HTTP_STATUS_CREATED, json_pack("{s:s, s:s, s:s}",
	    "message", "image uploaded and compressed",
	    "fs_id", job->orig_id, "compressed_id", job->copy_id));

	return (KORE_RESULT_OK);
}

int
ctl_download(struct http_request *req)
{
	struct request_ctx	*ctx;
	struct download_job	*job;
	char			 id[GRIDFS_ID_LEN + 1];
	char			 disposition[FILENAME_MAX_LEN * 4 + 64];
	char			 etag[GRIDFS_ID_LEN + 3];
	const char		*type;

	if (!reply_method(req, HTTP_METHOD_POST))
		return (KORE_RESULT_OK);

	ctx = request_ctx(req);

	if (request_job_none(req)) {
		if (!download_parse(req, id))
			return (KORE_RESULT_OK);
		job = kore_calloc(1, sizeof(*job));
		(void)kore_strlcpy(job->owner, ctx->user_id, sizeof(job->owner));
		(void)kore_strlcpy(job->id, id, sizeof(job->id));
		return (request_job_start(req, JOBS_FAST, download_run, job,
		    download_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	job = ctx->job_arg;
	if (ctx->job_result != HTTP_STATUS_OK) {
		reply_error(req, ctx->job_result,
		    status_message(ctx->job_result));
		return (KORE_RESULT_OK);
	}

	type = job->meta.content_type[0] != '\0' ? job->meta.content_type :
	    "application/octet-stream";
	if (filename_disposition(job->meta.filename, disposition,
	    sizeof(disposition)) == -1)
		(void)kore_strlcpy(disposition, "attachment",
		    sizeof(disposition));
	(void)snprintf(etag, sizeof(etag), "\"%s\"", job->meta.id);

	http_response_header(req, "content-type", type);
	http_response_header(req, "content-disposition", disposition);
	http_response_header(req, "etag", etag);
	http_response_header(req, "x-content-type-options", "nosniff");

	/* Kore sends the bytes from our buffer and frees it when done. */
	http_response_stream(req, HTTP_STATUS_OK, job->data,
	    (size_t)job->meta.length, download_sent, job->data);
	if (req->owner != NULL)
		job->data = NULL;

	return (KORE_RESULT_OK);
}

int
ctl_list(struct http_request *req)
{
	struct request_ctx	*ctx;
	struct list_job		*job;
	json_t			*arr;
	uint64_t		 limit, offset;
	size_t			 i;

	if (!reply_method(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD))
		return (KORE_RESULT_OK);

	ctx = request_ctx(req);

	if (request_job_none(req)) {
		limit = LIST_LIMIT_DEFAULT;
		offset = 0;
		if (query_uint(req->query_string, "limit", LIST_LIMIT_MAX,
		    &limit) == -1 || limit == 0 ||
		    query_uint(req->query_string, "offset", LIST_OFFSET_MAX,
		    &offset) == -1) {
			reply_error(req, HTTP_STATUS_BAD_REQUEST,
			    "limit must be 1 to 1000 and offset a whole "
			    "number, each given once");
			return (KORE_RESULT_OK);
		}

		job = kore_calloc(1, sizeof(*job));
		job->limit = limit;
		job->offset = offset;
		(void)kore_strlcpy(job->owner, ctx->user_id, sizeof(job->owner));
		return (request_job_start(req, JOBS_FAST, list_run, job,
		    list_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	job = ctx->job_arg;
	if (ctx->job_result != HTTP_STATUS_OK) {
		reply_error(req, ctx->job_result,
		    status_message(ctx->job_result));
		return (KORE_RESULT_OK);
	}

	arr = json_array();
	for (i = 0; i < job->nfiles; i++)
		json_array_append_new(arr, file_json(&job->files[i]));
	reply_json(req, HTTP_STATUS_OK, arr);

	return (KORE_RESULT_OK);
}

int
ctl_delete(struct http_request *req)
{
	struct request_ctx	*ctx;
	struct delete_job	*job;
	const char		*id;

	if (!reply_method(req, HTTP_METHOD_DELETE))
		return (KORE_RESULT_OK);

	ctx = request_ctx(req);

	if (request_job_none(req)) {
		id = req->path + strlen(DELETE_PREFIX);
		if (!gridfs_id_valid(id)) {
			reply_error(req, HTTP_STATUS_BAD_REQUEST,
			    "fs_id must be a 24-hex-digit ObjectId");
			return (KORE_RESULT_OK);
		}
		job = kore_calloc(1, sizeof(*job));
		(void)kore_strlcpy(job->owner, ctx->user_id, sizeof(job->owner));
		(void)kore_strlcpy(job->id, id, sizeof(job->id));
		return (request_job_start(req, JOBS_FAST, delete_run, job,
		    kore_free));
	}

	if (!request_job_done(req))
		return (KORE_RESULT_RETRY);

	if (ctx->job_result != HTTP_STATUS_NO_CONTENT) {
		reply_error(req, ctx->job_result,
		    status_message(ctx->job_result));
		return (KORE_RESULT_OK);
	}

	http_response(req, HTTP_STATUS_NO_CONTENT, NULL, 0);
	return (KORE_RESULT_OK);
}

/*
 * On a job thread: find the data part in the body, check it is an image
 * within limits, make the WEBP copy, store both. The original's bytes are
 * never copied: they are read where the body lies, in memory or mapped
 * from the file Kore spooled it to. Returns the HTTP status.
 */
static int
upload_run(void *arg)
{
	struct upload_job	*job = arg;
	struct multipart_part	 part;
	struct image_info	 info;
	struct gridfs_blob	 orig, copy;
	enum gridfs_result	 gr;
	const uint8_t		*body;
	void			*map, *webp;
	size_t			 webplen;
	int			 status;
	char			 name[FILENAME_MAX_LEN + 1];
	char			 webpname[FILENAME_MAX_LEN + 6];

	map = webp = NULL;
	body = job->body;
	if (job->body_fd != -1 && job->body_len > 0) {
		map = mmap(NULL, job->body_len, PROT_READ, MAP_PRIVATE,
		    job->body_fd, 0);
		if (map == MAP_FAILED) {
			job->msg = "the upload could not be read";
			return (HTTP_STATUS_INTERNAL_ERROR);
		}
		body = map;
	}

	status = HTTP_STATUS_BAD_REQUEST;
	job->msg = MSG_NO_DATA;
	if (body == NULL || multipart_find(body, job->body_len, job->boundary,
	    "data", &part) != MULTIPART_FOUND)
		goto cleanup;

	if (part.len > job->max_bytes) {
		status = HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE;
		job->msg = "the file is larger than MAX_UPLOAD_BYTES";
		goto cleanup;
	}

	status = HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE;
	job->msg = "the file is not an image in a supported format "
	    "(JPEG, PNG, WEBP, GIF, TIFF, HEIF), or it is broken";

	switch (image_probe(part.data, part.len, job->max_pixels, &info)) {
	case IMAGE_OK:
		break;
	case IMAGE_TOO_LARGE:
		status = HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE;
		job->msg = "the image has more pixels than MAX_PIXELS";
		goto cleanup;
	default:
		goto cleanup;
	}

	switch (image_to_webp(part.data, part.len, &webp, &webplen)) {
	case IMAGE_OK:
		break;
	case IMAGE_NOT_IMAGE:
		goto cleanup;
	default:
		status = HTTP_STATUS_INTERNAL_ERROR;
		job->msg = "the compressed copy could not be made";
		goto cleanup;
	}

	filename_clean(part.filename, name);
	filename_webp(name, webpname, sizeof(webpname));
	orig = (struct gridfs_blob){ name, info.content_type, part.data,
	    part.len };
	copy = (struct gridfs_blob){ webpname, "image/webp", webp, webplen };

	gr = gridfs_put_pair(job->owner, &orig, &copy, job->orig_id,
	    job->copy_id);
	status = gr == GRIDFS_OK ? HTTP_STATUS_CREATED : status_of(gr);
	job->msg = status_message(status);

cleanup:
	image_free(webp);
	if (map != NULL)
		(void)munmap(map, job->body_len);
	return (status);
}

static int
download_run(void *arg)
{
	struct download_job	*job = arg;

	return (status_of(gridfs_get(job->owner, job->id, &job->meta,
	    &job->data)));
}

static int
list_run(void *arg)
{
	struct list_job		*job = arg;

	return (status_of(gridfs_list(job->owner, (int64_t)job->limit,
	    (int64_t)job->offset, &job->files, &job->nfiles)));
}

static int
delete_run(void *arg)
{
	struct delete_job	*job = arg;
	enum gridfs_result	 r;

	r = gridfs_delete(job->owner, job->id);
	return (r == GRIDFS_OK ? HTTP_STATUS_NO_CONTENT : status_of(r));
}

static void
download_free(void *arg)
{
	struct download_job	*job = arg;

	free(job->data);
	kore_free(job);
}

static void
list_free(void *arg)
{
	struct list_job		*job = arg;

	free(job->files);
	kore_free(job);
}

static int
download_sent(struct netbuf *nb)
{
	free(nb->extra);
	return (KORE_RESULT_OK);
}

/* {"fs_id": "<24 hex>"}; answers the 4xx itself and returns 0 if not. */
static int
download_parse(struct http_request *req, char id[GRIDFS_ID_LEN + 1])
{
	json_t		*root, *v;
	json_error_t	 err;
	ssize_t		 n;
	size_t		 len;
	char		 body[DOWNLOAD_BODY_MAX + 1];

	if (req->content_length > DOWNLOAD_BODY_MAX) {
		reply_error(req, HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		    "the request body is too large");
		return (0);
	}

	for (len = 0; len < sizeof(body) - 1; len += (size_t)n) {
		if ((n = http_body_read(req, body + len,
		    sizeof(body) - 1 - len)) <= 0)
			break;
	}

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "the body must be a JSON object like "
		    "{\"fs_id\": \"<24-hex-digit id>\"}");
		return (0);
	}

	v = json_object_get(root, "fs_id");
	if (!json_is_string(v) || json_string_length(v) != GRIDFS_ID_LEN ||
	    !gridfs_id_valid(json_string_value(v))) {
		json_decref(root);
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "fs_id must be a 24-hex-digit ObjectId string");
		return (0);
	}

	(void)kore_strlcpy(id, json_string_value(v), GRIDFS_ID_LEN + 1);
	json_decref(root);
	return (1);
}

static int
status_of(enum gridfs_result r)
{
	switch (r) {
	case GRIDFS_OK:
		return (HTTP_STATUS_OK);
	case GRIDFS_NOT_FOUND:
		return (HTTP_STATUS_NOT_FOUND);
	default:
		return (HTTP_STATUS_SERVICE_UNAVAILABLE);
	}
}

/* The error message of a status a GridFS job answered with. */
static const char *
status_message(int status)
{
	return (status == HTTP_STATUS_NOT_FOUND ? MSG_NOT_FOUND :
	    MSG_MONGO_DOWN);
}

static json_t *
file_json(const struct gridfs_file *f)
{
	struct tm	tm;
	time_t		secs;
	char		human[32], iso[32];

	secs = (time_t)(f->upload_ms / 1000);
	(void)gmtime_r(&secs, &tm);
	(void)strftime(human, sizeof(human), "%H:%M on %d/%m/%Y", &tm);
	(void)strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(iso + strlen(iso), sizeof(iso) - strlen(iso),
	    ".%03dZ", (int)(f->upload_ms % 1000));

	return (json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s}",
	    "id", f->id,
	    "filename", f->filename,
	    "tag", f->tag,
	    "original", f->original[0] != '\0' ?
	    json_string(f->original) : json_null(),
	    "uploadDate", human,
	    "uploadedAt", iso,
	    "length", (json_int_t)f->length,
	    "contentType", f->content_type));
}
