/*
 * controllers/files: one stored file (docs/API.md, "Images" and "Share
 * links"): its bytes (POST /download, GET /img_collection/{fs_id}), its
 * preview (GET /img_collection/{fs_id}/preview), a share link to either
 * (POST /img_collection/{fs_id}/link, then GET /shared/... without a
 * token), and its deletion (DELETE /img_collection/{fs_id}).
 *
 * HTTP only: start() parses, run() calls gridfs.c (image.c for a preview
 * made late) on a job thread, render() answers; failures come from the
 * table below. A stored file never changes, so its id is its ETag and
 * browsers may keep it for a year; single Range requests get 206.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "../microgo.h"
#include "../modules/filename.h"
#include "../modules/fsid.h"
#include "../modules/gridfs.h"
#include "../modules/image.h"
#include "../modules/link.h"
#include "../modules/range.h"
#include "../modules/reply.h"
#include "../modules/request.h"

#define DOWNLOAD_BODY_MAX	4096
#define LINK_BODY_MAX		1024
#define LINK_TTL_DEFAULT	86400
#define FILES_PREFIX		"/img_collection/"
#define SHARED_PREFIX		"/shared/"
#define FILES_CACHE		"private, max-age=31536000, immutable"

static const struct reply_error files_errors[] = {
	{ GRIDFS_NOT_FOUND, HTTP_STATUS_NOT_FOUND, "no such file", NULL },
	{ GRIDFS_UNAVAILABLE, HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "the image store (MongoDB) is unavailable", NULL },
};

/* How a file is asked for, and what the job found. */
struct file_job {
	char			 id[FSID_LEN + 1];
	int			 preview;	/* the preview, not the file */
	int			 shared;	/* by link: anyone's file */
	int			 attachment;	/* Content-Disposition */
	int			 bytes;		/* GET, not HEAD or 304 */
	int64_t			 expires;	/* a link's, for max-age */
	const char		*range;		/* the Range header, or NULL */
	struct gridfs_file	 meta;
	void			*data;
};

struct link_job {
	char			 id[FSID_LEN + 1];
	const char		*rendition;
	int64_t			 expires;
	char			 base[512];	/* scheme://host, or "" */
};

static int	download_start(struct http_request *, void *);
static int	file_start(struct http_request *, void *);
static int	shared_start(struct http_request *, void *);
static int	file_run(void *, const char *);
static void	file_render(struct http_request *, void *);
static void	file_cleanup(void *);
static int	delete_start(struct http_request *, void *);
static int	delete_run(void *, const char *);
static void	delete_render(struct http_request *, void *);
static int	link_start(struct http_request *, void *);
static int	link_run(void *, const char *);
static void	link_render(struct http_request *, void *);
static int	files_path_id(struct http_request *, const char *, char *);
static void	files_want(struct http_request *, struct file_job *);
static const unsigned char	*files_link_key(void);

static const struct request_route download_route = {
	HTTP_METHOD_POST, JOBS_FAST, sizeof(struct file_job),
	files_errors, nitems(files_errors),
	download_start, file_run, file_render, NULL, file_cleanup
};

/* The path answers DELETE too (ctl_file): Allow says so. */
static const struct request_route file_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD | HTTP_METHOD_DELETE, JOBS_FAST,
	sizeof(struct file_job), files_errors, nitems(files_errors),
	file_start, file_run, file_render, NULL, file_cleanup
};

static const struct request_route delete_route = {
	HTTP_METHOD_DELETE, JOBS_FAST, sizeof(struct file_job),
	files_errors, nitems(files_errors),
	delete_start, delete_run, delete_render, NULL, NULL
};

/*
 * Previews are read on the quick lane, not behind the encoders, so a
 * gallery loads while uploads run; the rare one made late (an upload
 * older than previews) is shrunk on load, a fraction of an encode.
 */
static const struct request_route preview_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, JOBS_FAST, sizeof(struct file_job),
	files_errors, nitems(files_errors),
	file_start, file_run, file_render, NULL, file_cleanup
};

static const struct request_route link_route = {
	HTTP_METHOD_POST, JOBS_FAST, sizeof(struct link_job),
	files_errors, nitems(files_errors),
	link_start, link_run, link_render, NULL, NULL
};

static const struct request_route shared_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, JOBS_FAST, sizeof(struct file_job),
	files_errors, nitems(files_errors),
	shared_start, file_run, file_render, NULL, file_cleanup
};

REQUEST_HANDLER(ctl_download, download_route)
REQUEST_HANDLER(ctl_preview, preview_route)
REQUEST_HANDLER(ctl_link, link_route)
REQUEST_HANDLER(ctl_shared, shared_route)

int	ctl_file(struct http_request *);

/* GET and HEAD read the file, DELETE removes it: one path, two routes. */
int
ctl_file(struct http_request *req)
{
	return (request_serve(req, req->method == HTTP_METHOD_DELETE ?
	    &delete_route : &file_route));
}

/* {"fs_id": "<24 hex>"}; anything else is answered 4xx here. */
static int
download_start(struct http_request *req, void *arg)
{
	struct file_job		*job = arg;
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

	job->attachment = 1;
	job->bytes = 1;
	return (1);
}

/* GET /img_collection/{fs_id}[/preview][?download=1] */
static int
file_start(struct http_request *req, void *arg)
{
	struct file_job		*job = arg;
	const char		*rest;

	if (!files_path_id(req, req->path + strlen(FILES_PREFIX), job->id))
		return (0);

	rest = req->path + strlen(FILES_PREFIX) + FSID_LEN;
	job->preview = strcmp(rest, "/preview") == 0;
	job->attachment = req->query_string != NULL &&
	    strcmp(req->query_string, "download=1") == 0;
	files_want(req, job);
	return (1);
}

/* GET /shared/{fs_id}/{rendition}/{expiry}/{signature}: no token. */
static int
shared_start(struct http_request *req, void *arg)
{
	struct file_job		*job = arg;
	char			*parts[5], path[256];
	const char		*errstr;
	int			 err;

	(void)kore_strlcpy(path, req->path + strlen(SHARED_PREFIX),
	    sizeof(path));
	job->expires = 0;
	if (kore_split_string(path, "/", parts, 5) == 4) {
		job->expires = kore_strtonum64(parts[2], 0, &err);
		if (err != KORE_RESULT_OK)
			job->expires = 0;
	}
	errstr = "this link is not valid";
	if (job->expires > 0 && fsid_valid(parts[0]) &&
	    (strcmp(parts[1], LINK_ORIGINAL) == 0 ||
	    strcmp(parts[1], LINK_PREVIEW) == 0)) {
		switch (link_check(files_link_key(), parts[0], parts[1],
		    job->expires, parts[3], (int64_t)time(NULL))) {
		case LINK_OK:
			errstr = NULL;
			break;
		case LINK_EXPIRED:
			errstr = "this link has expired";
			break;
		default:
			break;
		}
	}
	if (errstr != NULL) {
		reply_error(req, HTTP_STATUS_FORBIDDEN, errstr);
		return (0);
	}

	(void)kore_strlcpy(job->id, parts[0], sizeof(job->id));
	job->preview = strcmp(parts[1], LINK_PREVIEW) == 0;
	job->shared = 1;
	files_want(req, job);
	return (1);
}

/*
 * The file, its preview, or only its document when the answer needs no
 * bytes (HEAD, or a 304). A preview an older upload lacks is made now
 * from its original and kept, so the next request finds it.
 */
static int
file_run(void *arg, const char *user)
{
	struct file_job		*job = arg;
	struct gridfs_blob	 blob;
	const char		*owner = job->shared ? NULL : user;
	enum gridfs_result	 r;
	void			*orig;
	size_t			 len;

	if (!job->bytes)
		return (gridfs_stat(owner, job->id, &job->meta));
	if (!job->preview)
		return (gridfs_get(owner, job->id, &job->meta, &job->data));

	r = gridfs_get_copy(owner, job->id, GRIDFS_PREVIEW, &job->meta,
	    &job->data);
	if (r != GRIDFS_NOT_FOUND)
		return (r);
	if ((r = gridfs_get(owner, job->id, &job->meta, &orig)) != GRIDFS_OK)
		return (r);
	if (strcmp(job->meta.tag, GRIDFS_ORIGINAL) != 0) {
		free(orig);		/* a copy has no preview */
		return (GRIDFS_NOT_FOUND);
	}

	r = GRIDFS_UNAVAILABLE;
	if (image_preview(orig, (size_t)job->meta.length, &job->data, &len) ==
	    IMAGE_OK) {
		blob = (struct gridfs_blob){ job->meta.filename, "image/webp",
		    GRIDFS_PREVIEW, job->data, len };
		(void)gridfs_put_rendition(job->meta.owner, job->id, &blob);
		/* Served from libwebp's buffer: copy it into a malloc'd one. */
		if ((orig = realloc(orig, len > 0 ? len : 1)) != NULL) {
			memcpy(orig, job->data, len);
			image_free(job->data);
			job->data = orig;
			orig = NULL;
			(void)kore_strlcpy(job->meta.content_type, "image/webp",
			    sizeof(job->meta.content_type));
			job->meta.length = (int64_t)len;
			r = GRIDFS_OK;
		}
	}
	free(orig);
	return (r);
}

static void
file_render(struct http_request *req, void *arg)
{
	struct file_job		*job = arg;
	const char		*match;
	char			 etag[FSID_LEN + 5], buf[128];
	char			 disposition[FILENAME_MAX_LEN * 4 + 64];
	uint64_t		 first, last, len;
	enum range_result	 range;

	/* A preview's ETag is its original's with a suffix: both last. */
	(void)snprintf(etag, sizeof(etag), "\"%s%s\"", job->id,
	    job->preview ? "-p" : "");
	http_response_header(req, "etag", etag);
	if (job->shared) {
		(void)snprintf(buf, sizeof(buf), "private, max-age=%lld",
		    (long long)(job->expires - (int64_t)time(NULL)));
		http_response_header(req, "cache-control", buf);
	} else if (req->method != HTTP_METHOD_POST) {
		http_response_header(req, "cache-control", FILES_CACHE);
	}
	http_response_header(req, "accept-ranges", "bytes");

	if (http_request_header(req, "if-none-match", &match) &&
	    strcmp(match, etag) == 0) {
		http_response(req, HTTP_STATUS_NOT_MODIFIED, NULL, 0);
		return;
	}

	http_response_header(req, "content-type",
	    job->meta.content_type[0] != '\0' ? job->meta.content_type :
	    "application/octet-stream");
	if (filename_disposition(job->meta.filename, disposition,
	    sizeof(disposition)) == -1)
		(void)kore_strlcpy(disposition, "attachment",
		    sizeof(disposition));
	/* "attachment; filename=...", or "inline; filename=..." to show. */
	if (!job->attachment && strncmp(disposition, "attachment", 10) == 0) {
		(void)snprintf(buf, sizeof(buf), "inline");
		memmove(disposition + 6, disposition + 10,
		    strlen(disposition + 10) + 1);
		memcpy(disposition, buf, 6);
	}
	http_response_header(req, "content-disposition", disposition);

	len = (uint64_t)job->meta.length;
	range = range_parse(job->range, len, &first, &last);
	if (range == RANGE_UNSATISFIABLE) {
		(void)snprintf(buf, sizeof(buf), "bytes */%llu",
		    (unsigned long long)len);
		http_response_header(req, "content-range", buf);
		reply_error(req, 416, "the range is outside the file");
		return;
	}
	if (range == RANGE_OK) {
		(void)snprintf(buf, sizeof(buf), "bytes %llu-%llu/%llu",
		    (unsigned long long)first, (unsigned long long)last,
		    (unsigned long long)len);
		http_response_header(req, "content-range", buf);
	} else {
		first = 0;
		last = len - 1;
	}

	if (job->data == NULL) {	/* HEAD: the length without a body */
		http_response(req, range == RANGE_OK ? 206 : HTTP_STATUS_OK,
		    NULL, len == 0 ? 0 : (size_t)(last - first + 1));
		return;
	}
	reply_bytes_at(req, range == RANGE_OK ? 206 : HTTP_STATUS_OK,
	    &job->data, (size_t)first, len == 0 ? 0 : (size_t)(last - first + 1));
}

static void
file_cleanup(void *arg)
{
	struct file_job		*job = arg;

	free(job->data);
}

static int
delete_start(struct http_request *req, void *arg)
{
	struct file_job		*job = arg;

	return (files_path_id(req, req->path + strlen(FILES_PREFIX), job->id));
}

static int
delete_run(void *arg, const char *user)
{
	struct file_job		*job = arg;

	return (gridfs_delete(user, job->id));
}

static void
delete_render(struct http_request *req, void *arg)
{
	(void)arg;
	http_response(req, HTTP_STATUS_NO_CONTENT, NULL, 0);
}

/* {"ttl": seconds, "rendition": "original" | "preview"}, both optional. */
static int
link_start(struct http_request *req, void *arg)
{
	struct link_job		*job = arg;
	const struct config	*cfg = microgo_config();
	json_t			*root, *v;
	const char		*host, *proto;
	json_int_t		 ttl;
	ssize_t			 n;
	size_t			 len;
	char			 body[LINK_BODY_MAX];

	if (!files_path_id(req, req->path + strlen(FILES_PREFIX), job->id))
		return (0);
	if (req->content_length > LINK_BODY_MAX) {
		reply_error(req, HTTP_STATUS_REQUEST_ENTITY_TOO_LARGE,
		    "the request body is too large");
		return (0);
	}
	for (len = 0; len < sizeof(body); len += (size_t)n) {
		if ((n = http_body_read(req, body + len,
		    sizeof(body) - len)) <= 0)
			break;
	}

	ttl = LINK_TTL_DEFAULT < cfg->link_ttl_max ? LINK_TTL_DEFAULT :
	    cfg->link_ttl_max;
	job->rendition = LINK_ORIGINAL;
	root = len == 0 ? json_object() :
	    json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root) ||
	    ((v = json_object_get(root, "ttl")) != NULL &&
	    (!json_is_integer(v) || (ttl = json_integer_value(v)) < 1 ||
	    ttl > cfg->link_ttl_max)) ||
	    ((v = json_object_get(root, "rendition")) != NULL &&
	    (!json_is_string(v) || (strcmp(json_string_value(v),
	    LINK_PREVIEW) != 0 && strcmp(json_string_value(v),
	    LINK_ORIGINAL) != 0)))) {
		json_decref(root);
		reply_error(req, HTTP_STATUS_BAD_REQUEST, "the body must be "
		    "empty or a JSON object like {\"ttl\": <seconds, at most "
		    "LINK_TTL_MAX>, \"rendition\": \"original\" or "
		    "\"preview\"}");
		return (0);
	}
	if ((v = json_object_get(root, "rendition")) != NULL &&
	    strcmp(json_string_value(v), LINK_PREVIEW) == 0)
		job->rendition = LINK_PREVIEW;
	json_decref(root);
	job->expires = (int64_t)time(NULL) + ttl;

	/*
	 * Where the client reached us, for a whole URL: nginx sends the
	 * scheme and the Host the client wrote (with its port); straight
	 * to Kore, the Host header. Only host-name characters are taken.
	 */
	if (!http_request_header(req, "x-forwarded-proto", &proto) ||
	    (strcmp(proto, "https") != 0 && strcmp(proto, "http") != 0))
		proto = "http";
	if ((http_request_header(req, "x-forwarded-host", &host) ||
	    http_request_header(req, "host", &host)) && host[0] != '\0' &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") == strlen(host) && strlen(host) < 256)
		(void)snprintf(job->base, sizeof(job->base), "%s://%s", proto,
		    host);
	return (1);
}

/* Only for a file of the caller's that is there. */
static int
link_run(void *arg, const char *user)
{
	struct link_job		*job = arg;
	struct gridfs_file	 meta;

	return (gridfs_stat(user, job->id, &meta));
}

static void
link_render(struct http_request *req, void *arg)
{
	struct link_job		*job = arg;
	struct tm		 tm;
	time_t			 exp = (time_t)job->expires;
	char			 sig[LINK_SIG_LEN + 1], path[160], url[700];
	char			 iso[32];

	link_sign(files_link_key(), job->id, job->rendition, job->expires,
	    sig);
	(void)snprintf(path, sizeof(path), SHARED_PREFIX "%s/%s/%lld/%s",
	    job->id, job->rendition, (long long)job->expires, sig);
	(void)snprintf(url, sizeof(url), "%s%s", job->base, path);
	(void)gmtime_r(&exp, &tm);
	(void)strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);

	reply_json(req, HTTP_STATUS_CREATED, json_pack("{s:s, s:s, s:s}",
	    "url", url, "path", path, "expires_at", iso));
}

/* The {fs_id} at p, followed by nothing or by a known suffix. */
static int
files_path_id(struct http_request *req, const char *p, char *id)
{
	if (strlen(p) < FSID_LEN || !(p[FSID_LEN] == '\0' ||
	    p[FSID_LEN] == '/')) {
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "fs_id must be a 24-hex-digit ObjectId");
		return (0);
	}
	memcpy(id, p, FSID_LEN);
	id[FSID_LEN] = '\0';
	if (!fsid_valid(id)) {
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "fs_id must be a 24-hex-digit ObjectId");
		return (0);
	}

	return (1);
}

/* What the answer will need: bytes, unless HEAD or a matching ETag. */
static void
files_want(struct http_request *req, struct file_job *job)
{
	const char	*match;
	char		 etag[FSID_LEN + 5];

	(void)snprintf(etag, sizeof(etag), "\"%s%s\"", job->id,
	    job->preview ? "-p" : "");
	job->bytes = req->method == HTTP_METHOD_GET &&
	    !(http_request_header(req, "if-none-match", &match) &&
	    strcmp(match, etag) == 0);
	/* Kore keeps request headers until the request is freed. */
	if (!http_request_header(req, "range", &job->range) ||
	    (http_request_header(req, "if-range", &match) &&
	    strcmp(match, etag) != 0))
		job->range = NULL;
}

/* The key share links are signed with, derived once from JWT_SECRET. */
static const unsigned char *
files_link_key(void)
{
	static unsigned char	key[LINK_KEY_LEN];
	static int		made;

	if (!made) {
		if (link_key(microgo_config()->jwt_secret, key) == -1)
			fatal("files: cannot derive the share link key");
		made = 1;
	}
	return (key);
}
