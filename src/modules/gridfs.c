/*
 * gridfs: the image store's reads, listings, deletes and sweeps, and how
 * a files document becomes a struct gridfs_file. Writes are in
 * gridfs_write.c, the MongoDB client layer in mongo.c.
 *
 * Reads go through libmongoc's bucket API. Every one is scoped to an
 * owner and filters on metadata.complete, so neither another user's file
 * nor half an upload is ever seen. Download opens a stream only after the
 * owner check, never with an unchecked id:
 * mongoc_gridfs_bucket_download_to_stream aborts the process on a missing
 * file (libmongoc 1.23). Nothing is retried or cleaned up against a
 * server that just proved unreachable.
 */

#include <stdlib.h>
#include <string.h>

#include "gridfs.h"
#include "mongo.h"


static enum gridfs_result gridfs_open_id(struct mongo_session *,
			    const char *, bson_oid_t *);
static int		 gridfs_ids(struct mongo_session *, const bson_t *,
			    const char *, bson_oid_t *, int);
static int		 gridfs_delete_id(struct mongo_session *,
			    const bson_oid_t *, const char *);
static enum gridfs_result gridfs_find_one(struct mongo_session *,
			    const bson_t *, struct gridfs_file *);
static enum gridfs_result gridfs_read(struct mongo_session *,
			    const struct gridfs_file *, void **);
static void		 gridfs_owner_filter(bson_t *, const char *);
static void		 gridfs_file_from_doc(const bson_t *,
			    struct gridfs_file *);
static void		 gridfs_copy_utf8(bson_iter_t *, char *, size_t);

int
gridfs_init(const struct config *cfg)
{
	return (mongo_init(cfg));
}

void
gridfs_cleanup(void)
{
	mongo_cleanup();
}

enum gridfs_result
gridfs_get(const char *owner, const char *id, struct gridfs_file *meta,
    void **data)
{
	struct mongo_session	 s;
	bson_t			 filter;
	bson_oid_t		 oid;
	enum gridfs_result	 ret;

	*data = NULL;
	if ((ret = gridfs_open_id(&s, id, &oid)) != GRIDFS_OK)
		return (ret);

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", &oid);
	gridfs_owner_filter(&filter, owner);
	if ((ret = gridfs_find_one(&s, &filter, meta)) == GRIDFS_OK)
		ret = gridfs_read(&s, meta, data);

	bson_destroy(&filter);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_stat(const char *owner, const char *id, struct gridfs_file *meta)
{
	struct mongo_session	 s;
	bson_t			 filter;
	bson_oid_t		 oid;
	enum gridfs_result	 ret;

	if ((ret = gridfs_open_id(&s, id, &oid)) != GRIDFS_OK)
		return (ret);

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", &oid);
	gridfs_owner_filter(&filter, owner);
	ret = gridfs_find_one(&s, &filter, meta);

	bson_destroy(&filter);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_get_copy(const char *owner, const char *original, const char *tag,
    struct gridfs_file *meta, void **data)
{
	struct mongo_session	 s;
	bson_t			 filter;
	bson_oid_t		 oid;
	enum gridfs_result	 ret;

	*data = NULL;
	if ((ret = gridfs_open_id(&s, original, &oid)) != GRIDFS_OK)
		return (ret);

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "metadata.original", &oid);
	BSON_APPEND_UTF8(&filter, "metadata.tag", tag);
	gridfs_owner_filter(&filter, owner);
	if ((ret = gridfs_find_one(&s, &filter, meta)) == GRIDFS_OK)
		ret = gridfs_read(&s, meta, data);

	bson_destroy(&filter);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_list(const char *owner, int64_t limit, int64_t offset,
    struct gridfs_file **files, size_t *nfiles)
{
	struct mongo_session	 s;
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 filter, ne, opts, sort;
	bson_error_t		 err;
	struct gridfs_file	*out;
	size_t			 n;
	enum gridfs_result	 ret;

	*files = NULL;
	*nfiles = 0;

	if (!mongo_open(&s))
		return (GRIDFS_UNAVAILABLE);

	bson_init(&filter);
	gridfs_owner_filter(&filter, owner);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "metadata.tag", &ne);
	BSON_APPEND_UTF8(&ne, "$ne", GRIDFS_PREVIEW);
	bson_append_document_end(&filter, &ne);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "uploadDate", -1);
	BSON_APPEND_INT32(&sort, "_id", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "skip", offset);
	BSON_APPEND_INT64(&opts, "limit", limit);

	out = calloc((size_t)(limit > 0 ? limit : 1), sizeof(*out));
	cur = mongoc_gridfs_bucket_find(s.bucket, &filter, &opts);

	n = 0;
	while (out != NULL && n < (size_t)limit &&
	    mongo_next(cur, &doc))
		gridfs_file_from_doc(doc, &out[n++]);

	if (out == NULL || mongoc_cursor_error(cur, &err)) {
		if (out != NULL)
			mongo_fail(&s, "list", &err);
		free(out);
		ret = GRIDFS_UNAVAILABLE;
	} else {
		*files = out;
		*nfiles = n;
		ret = GRIDFS_OK;
	}

	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_usage(const char *owner, int64_t *originals, int64_t *bytes)
{
	struct mongo_session	 s;
	mongoc_collection_t	*files;
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			*pipeline;
	bson_iter_t		 it;
	bson_error_t		 err;
	enum gridfs_result	 ret;

	*originals = *bytes = 0;
	if (!mongo_open(&s))
		return (GRIDFS_UNAVAILABLE);

	pipeline = BCON_NEW("pipeline", "[",
	    "{", "$match", "{", "metadata.owner", BCON_UTF8(owner),
	    "metadata.complete", BCON_BOOL(true), "}", "}",
	    "{", "$group", "{", "_id", BCON_NULL,
	    "bytes", "{", "$sum", BCON_UTF8("$length"), "}",
	    "originals", "{", "$sum", "{", "$cond", "[",
	    "{", "$eq", "[", BCON_UTF8("$metadata.tag"), BCON_UTF8("original"),
	    "]", "}", BCON_INT32(1), BCON_INT32(0), "]", "}", "}",
	    "}", "}", "]");

	files = mongoc_database_get_collection(s.db, "fs.files");
	mongo_step();
	cur = mongoc_collection_aggregate(files, MONGOC_QUERY_NONE, pipeline,
	    NULL, NULL);
	if (mongo_next(cur, &doc)) {
		if (bson_iter_init_find(&it, doc, "originals"))
			*originals = bson_iter_as_int64(&it);
		if (bson_iter_init_find(&it, doc, "bytes"))
			*bytes = bson_iter_as_int64(&it);
	}
	if (mongoc_cursor_error(cur, &err)) {
		mongo_fail(&s, "usage", &err);
		ret = GRIDFS_UNAVAILABLE;
	} else {
		ret = GRIDFS_OK;
	}

	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(files);
	bson_destroy(pipeline);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_delete(const char *owner, const char *id)
{
	struct mongo_session	 s;
	struct gridfs_file	 meta;
	bson_t			 filter;
	bson_oid_t		 oid, copies[GRIDFS_COPIES_MAX];
	int			 i, n;
	enum gridfs_result	 ret;

	if ((ret = gridfs_open_id(&s, id, &oid)) != GRIDFS_OK)
		return (ret);

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", &oid);
	gridfs_owner_filter(&filter, owner);
	ret = gridfs_find_one(&s, &filter, &meta);
	bson_destroy(&filter);
	if (ret != GRIDFS_OK)
		goto cleanup;

	/*
	 * The copies first, and the first failure stops it all: the original
	 * stays listed and the caller is told to try again, so no copy
	 * outlives its original.
	 */
	ret = GRIDFS_UNAVAILABLE;
	bson_init(&filter);
	BSON_APPEND_UTF8(&filter, "metadata.owner", owner);
	BSON_APPEND_OID(&filter, "metadata.original", &oid);
	n = gridfs_ids(&s, &filter, "find copies", copies, GRIDFS_COPIES_MAX);
	bson_destroy(&filter);

	for (i = 0; i < n; i++) {
		if (!gridfs_delete_id(&s, &copies[i], "delete copy"))
			goto cleanup;
	}
	if (n != -1 && gridfs_delete_id(&s, &oid, "delete"))
		ret = GRIDFS_OK;

cleanup:
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_ping(void)
{
	return (mongo_ping() ? GRIDFS_OK : GRIDFS_UNAVAILABLE);
}

int
gridfs_sweep(int64_t max_age_ms)
{
	struct mongo_session	 s;
	bson_t			 filter, before;
	bson_oid_t		 ids[GRIDFS_SWEEP_MAX];
	int			 i, n, ret;

	if (!mongo_open(&s))
		return (-1);

	bson_init(&filter);
	BSON_APPEND_BOOL(&filter, "metadata.complete", false);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "uploadDate", &before);
	BSON_APPEND_DATE_TIME(&before, "$lt", mongo_now_ms() - max_age_ms);
	bson_append_document_end(&filter, &before);
	n = gridfs_ids(&s, &filter, "sweep", ids, GRIDFS_SWEEP_MAX);
	bson_destroy(&filter);

	ret = n == -1 ? -1 : 0;
	for (i = 0; ret != -1 && i < n; i++)
		ret = mongo_remove_file(&s, &ids[i]) ? ret + 1 : -1;

	mongo_close(&s);
	return (ret);
}

/* A session for the file id names; NOT_FOUND if it is no ObjectId. */
static enum gridfs_result
gridfs_open_id(struct mongo_session *s, const char *id, bson_oid_t *oid)
{
	if (!fsid_valid(id))
		return (GRIDFS_NOT_FOUND);
	bson_oid_init_from_string(oid, id);

	return (mongo_open(s) ? GRIDFS_OK : GRIDFS_UNAVAILABLE);
}

/*
 * The ids of the files filter matches, at most max, all read before
 * anything is deleted: nothing is deleted under an open cursor. Returns
 * how many, or -1 if MongoDB failed (what names the step in the log).
 */
static int
gridfs_ids(struct mongo_session *s, const bson_t *filter, const char *what,
    bson_oid_t *ids, int max)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 opts, proj;
	bson_iter_t		 it;
	bson_error_t		 err;
	int			 n;

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);
	BSON_APPEND_INT64(&opts, "limit", max);

	n = 0;
	cur = mongoc_gridfs_bucket_find(s->bucket, filter, &opts);
	while (n < max && mongo_next(cur, &doc)) {
		if (bson_iter_init_find(&it, doc, "_id") &&
		    BSON_ITER_HOLDS_OID(&it))
			bson_oid_copy(bson_iter_oid(&it), &ids[n++]);
	}
	if (mongoc_cursor_error(cur, &err)) {
		mongo_fail(s, what, &err);
		n = -1;
	}

	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	return (n);
}

/* One file through the bucket API: its files document, then its chunks. */
static int
gridfs_delete_id(struct mongo_session *s, const bson_oid_t *oid,
    const char *what)
{
	bson_value_t	idval;
	bson_error_t	err;

	idval.value_type = BSON_TYPE_OID;
	bson_oid_copy(oid, &idval.value.v_oid);
	mongo_step();
	if (!mongoc_gridfs_bucket_delete_by_id(s->bucket, &idval, &err)) {
		mongo_fail(s, what, &err);
		return (0);
	}

	return (1);
}

/* The first complete file filter finds: its files document in meta. */
static enum gridfs_result
gridfs_find_one(struct mongo_session *s, const bson_t *filter,
    struct gridfs_file *meta)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_error_t		 err;
	enum gridfs_result	 ret;

	cur = mongoc_gridfs_bucket_find(s->bucket, filter, NULL);
	if (mongo_next(cur, &doc)) {
		gridfs_file_from_doc(doc, meta);
		ret = GRIDFS_OK;
	} else if (mongoc_cursor_error(cur, &err)) {
		mongo_fail(s, "find", &err);
		ret = GRIDFS_UNAVAILABLE;
	} else {
		ret = GRIDFS_NOT_FOUND;
	}

	mongoc_cursor_destroy(cur);
	return (ret);
}

/*
 * The bytes of the file meta describes, read in full: the stream is
 * opened only for an id a find has just shown to exist (see the top).
 */
static enum gridfs_result
gridfs_read(struct mongo_session *s, const struct gridfs_file *meta,
    void **data)
{
	mongoc_stream_t		*stream;
	bson_value_t		 idval;
	bson_error_t		 err;
	ssize_t			 n;
	size_t			 off, len;
	uint8_t			*buf;

	idval.value_type = BSON_TYPE_OID;
	bson_oid_init_from_string(&idval.value.v_oid, meta->id);
	mongo_step();
	if ((stream = mongoc_gridfs_bucket_open_download_stream(s->bucket,
	    &idval, &err)) == NULL) {
		mongo_fail(s, "open download stream", &err);
		return (GRIDFS_UNAVAILABLE);
	}

	len = (size_t)meta->length;
	if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
		mongoc_stream_destroy(stream);
		return (GRIDFS_UNAVAILABLE);
	}

	for (off = 0; off < len; off += (size_t)n) {
		mongo_step();
		n = mongoc_stream_read(stream, buf + off, len - off, 1,
		    mongo_timeout_ms());
		if (n <= 0) {
			if (mongoc_gridfs_bucket_stream_error(stream, &err))
				mongo_fail(s, "download", &err);
			free(buf);
			mongoc_stream_destroy(stream);
			return (GRIDFS_UNAVAILABLE);
		}
	}

	mongoc_stream_destroy(stream);
	*data = buf;
	return (GRIDFS_OK);
}

/*
 * What every read sees: the owner's files (anyone's for NULL: a share
 * link) whose upload completed.
 */
static void
gridfs_owner_filter(bson_t *filter, const char *owner)
{
	if (owner != NULL)
		BSON_APPEND_UTF8(filter, "metadata.owner", owner);
	BSON_APPEND_BOOL(filter, "metadata.complete", true);
}

static void
gridfs_file_from_doc(const bson_t *doc, struct gridfs_file *f)
{
	bson_iter_t	it, meta;

	memset(f, 0, sizeof(*f));

	if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_OID(&it))
		bson_oid_to_string(bson_iter_oid(&it), f->id);
	if (bson_iter_init_find(&it, doc, "filename"))
		gridfs_copy_utf8(&it, f->filename, sizeof(f->filename));
	if (bson_iter_init_find(&it, doc, "length"))
		f->length = bson_iter_as_int64(&it);
	if (bson_iter_init_find(&it, doc, "uploadDate") &&
	    BSON_ITER_HOLDS_DATE_TIME(&it))
		f->upload_ms = bson_iter_date_time(&it);

	if (!bson_iter_init_find(&it, doc, "metadata") ||
	    !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &meta))
		return;

	while (bson_iter_next(&meta)) {
		if (strcmp(bson_iter_key(&meta), "owner") == 0)
			gridfs_copy_utf8(&meta, f->owner, sizeof(f->owner));
		else if (strcmp(bson_iter_key(&meta), "tag") == 0)
			gridfs_copy_utf8(&meta, f->tag, sizeof(f->tag));
		else if (strcmp(bson_iter_key(&meta), "contentType") == 0)
			gridfs_copy_utf8(&meta, f->content_type,
			    sizeof(f->content_type));
		else if (strcmp(bson_iter_key(&meta), "original") == 0 &&
		    BSON_ITER_HOLDS_OID(&meta))
			bson_oid_to_string(bson_iter_oid(&meta), f->original);
	}
}

/*
 * Copies a string field, cut at a character boundary if it is too long.
 * Another program may have stored invalid UTF-8: that reads as "?", so
 * what reaches a JSON answer is always valid.
 */
static void
gridfs_copy_utf8(bson_iter_t *it, char *dst, size_t len)
{
	const char	*s;
	uint32_t	 n;

	if (!BSON_ITER_HOLDS_UTF8(it))
		return;

	s = bson_iter_utf8(it, &n);
	if (!bson_utf8_validate(s, n, false)) {
		(void)bson_strncpy(dst, "?", len);
		return;
	}
	if (n >= len) {
		n = (uint32_t)len - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}
