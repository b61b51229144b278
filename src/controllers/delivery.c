/*
 * controllers/delivery: POST /download (docs/API.md, "Images"): a stored
 * file's bytes, to its owner.
 *
 * HTTP only, as in images.c: start() parses, run() calls gridfs.c on a
 * job thread, render() answers its success; failures are answered from
 * the table below.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../modules/filename.h"
#include "../modules/fsid.h"
#include "../modules/gridfs.h"
#include "../modules/reply.h"
#include "../modules/request.h"

#define DOWNLOAD_BODY_MAX	4096

static const struct reply_error delivery_errors[] = {
	{ GRIDFS_NOT_FOUND, HTTP_STATUS_NOT_FOUND, "no such file", NULL },
	{ GRIDFS_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "the image store (MongoDB) is unavailable", NULL },
};

struct download_job {
	char			 id[FSID_LEN + 1];
	struct gridfs_file	 meta;
	void			*data;
};

static int	download_start(struct http_request *, void *);
static int	download_run(void *, const char *);
static void	download_render(struct http_request *, void *);
static void	download_cleanup(void *);

static const struct request_route download_route = {
	HTTP_METHOD_POST, JOBS_FAST, sizeof(struct download_job),
	delivery_errors, nitems(delivery_errors),
	download_start, download_run, download_render, download_cleanup
};

REQUEST_HANDLER(ctl_download, download_route)

/* {"fs_id": "<24 hex>"}; anything else is answered 4xx here. */
static int
download_start(struct http_request *req, void *arg)
{
	struct download_job	*job = arg;
	ssize_t			 n;
	size_t			 len;
	char			 body[DOWNLOAD_BODY_MAX];

	if (req->content_length > DOWNLOAD_BODY_MAX) {
		reply_error(req, HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		    "the request body is too large");
		return (0);
	}

	for (len = 0; len < sizeof(body); len += (size_t)n) {
		if ((n = http_body_read(req, body + len,
		    sizeof(body) - len)) <= 0)
			break;
	}

	switch (fsid_from_json(body, len, job->id)) {
	case FSID_OK:
		break;
	case FSID_NOT_OBJECT:
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "the body must be a JSON object like "
		    "{\"fs_id\": \"<24-hex-digit id>\"}");
		return (0);
	default:
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "fs_id must be a 24-hex-digit ObjectId string");
		return (0);
	}

	return (1);
}

static int
download_run(void *arg, const char *user)
{
	struct download_job	*job = arg;

	return (gridfs_get(user, job->id, &job->meta, &job->data));
}

static void
download_render(struct http_request *req, void *arg)
{
	struct download_job	*job = arg;
	const char		*type;
	char			 disposition[FILENAME_MAX_LEN * 4 + 64];
	char			 etag[FSID_LEN + 3];

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

	reply_bytes(req, HTTP_STATUS_OK, &job->data, (size_t)job->meta.length);
}

static void
download_cleanup(void *arg)
{
	struct download_job	*job = arg;

	free(job->data);
}
