/*
 * gridfs_write: the image store's writer (gridfs_put_upload, and
 * gridfs_put_rendition for a copy made later) and the GridFS indexes it
 * needs.
 *
 * Files are written by hand rather than through libmongoc's upload
 * stream: that stream carries on after a failed chunk insert and tries
 * every remaining chunk, each waiting out the server selection timeout,
 * so an upload in flight when MongoDB went away hung for minutes. Here
 * the first failed command ends the upload. The files document goes
 * first (incomplete, so no reader sees it), then the chunks a batch per
 * insert command, so a leftover is always findable by its files document.
 *
 * Uploads are all or nothing: the original and its copies (the WEBP
 * copy, the preview) are written with metadata.complete = false, then
 * flipped to true by one update. Every
 * read filters on complete (gridfs.c), so a crash half-way leaves
 * nothing a client can see, and gridfs_sweep removes it later.
 */

#include <stdatomic.h>
#include <string.h>

#include "gridfs.h"
#include "mongo.h"

#define GRIDFS_CHUNK_SIZE	(255 * 1024)	/* the spec's default */
#define GRIDFS_BATCH		16		/* chunks per insert: 4 MiB */

static atomic_int		 gridfs_indexed;

static int	gridfs_put_one(struct mongo_session *, const char *,
		    const struct gridfs_blob *, const bson_oid_t *,
		    bson_oid_t *);
static int	gridfs_insert_file(struct mongo_session *, const char *,
		    const struct gridfs_blob *, const bson_oid_t *,
		    const bson_oid_t *);
static int	gridfs_insert_chunks(struct mongo_session *,
		    const struct gridfs_blob *, const bson_oid_t *);
static int	gridfs_ensure_indexes(struct mongo_session *);
static int	gridfs_create_index(struct mongo_session *, const char *,
		    const char *, int, const char *, int, const char *, int);
static int	gridfs_mark_complete(struct mongo_session *,
		    const bson_oid_t *, size_t);

enum gridfs_result
gridfs_put_upload(const char *owner, const struct gridfs_blob *original,
    const struct gridfs_blob *copies, size_t ncopies,
    char ids[][FSID_LEN + 1])
{
	struct mongo_session	s;
	bson_oid_t		oids[1 + GRIDFS_COPIES_MAX];
	size_t			i, stored;
	enum gridfs_result	ret;

	if (ncopies > GRIDFS_COPIES_MAX || !mongo_open(&s))
		return (GRIDFS_UNAVAILABLE);

	ret = GRIDFS_UNAVAILABLE;
	stored = 0;

	if (!gridfs_ensure_indexes(&s))
		goto cleanup;

	if (!gridfs_put_one(&s, owner, original, NULL, &oids[0]))
		goto cleanup;
	for (stored = 1; stored <= ncopies; stored++) {
		if (!gridfs_put_one(&s, owner, &copies[stored - 1], &oids[0],
		    &oids[stored]))
			goto cleanup;
	}

	if (!gridfs_mark_complete(&s, oids, 1 + ncopies))
		goto cleanup;

	for (i = 0; i < 1 + ncopies; i++)
		bson_oid_to_string(&oids[i], ids[i]);
	ret = GRIDFS_OK;

cleanup:
	/* All stay invisible (incomplete) if MongoDB cannot be reached. */
	for (i = stored; ret != GRIDFS_OK && !s.unreachable && i > 0; i--)
		(void)mongo_remove_file(&s, &oids[i - 1]);
	mongo_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_put_rendition(const char *owner, const char *original,
    const struct gridfs_blob *blob)
{
	struct mongo_session	s;
	bson_oid_t		orig, oid;
	enum gridfs_result	ret;

	if (!fsid_valid(original))
		return (GRIDFS_NOT_FOUND);
	bson_oid_init_from_string(&orig, original);
	if (!mongo_open(&s))
		return (GRIDFS_UNAVAILABLE);

	ret = GRIDFS_UNAVAILABLE;
	if (gridfs_ensure_indexes(&s) &&
	    gridfs_put_one(&s, owner, blob, &orig, &oid)) {
		if (gridfs_mark_complete(&s, &oid, 1))
			ret = GRIDFS_OK;
		else if (!s.unreachable)
			(void)mongo_remove_file(&s, &oid);
	}

	mongo_close(&s);
	return (ret);
}

/* One file: its files document (incomplete), then its chunks. */
static int
gridfs_put_one(struct mongo_session *s, const char *owner,
    const struct gridfs_blob *blob, const bson_oid_t *original,
    bson_oid_t *id)
{
	bson_oid_init(id, NULL);

	if (!gridfs_insert_file(s, owner, blob, original, id))
		return (0);

	if (!gridfs_insert_chunks(s, blob, id)) {
		if (!s->unreachable)
			(void)mongo_remove_file(s, id);
		return (0);
	}

	return (1);
}

static int
gridfs_insert_file(struct mongo_session *s, const char *owner,
    const struct gridfs_blob *blob, const bson_oid_t *original,
    const bson_oid_t *id)
{
	mongoc_collection_t	*files;
	bson_t			 doc, meta;
	bson_error_t		 err;
	int			 ok;

	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", id);
	BSON_APPEND_INT64(&doc, "length", (int64_t)blob->len);
	BSON_APPEND_INT32(&doc, "chunkSize", GRIDFS_CHUNK_SIZE);
	BSON_APPEND_DATE_TIME(&doc, "uploadDate", mongo_now_ms());
	BSON_APPEND_UTF8(&doc, "filename", blob->filename);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "metadata", &meta);
	BSON_APPEND_UTF8(&meta, "owner", owner);
	BSON_APPEND_UTF8(&meta, "tag", blob->tag);
	if (original != NULL)
		BSON_APPEND_OID(&meta, "original", original);
	else
		BSON_APPEND_NULL(&meta, "original");
	BSON_APPEND_UTF8(&meta, "contentType", blob->content_type);
	BSON_APPEND_BOOL(&meta, "complete", false);
	bson_append_document_end(&doc, &meta);

	files = mongoc_database_get_collection(s->db, "fs.files");
	mongo_step();
	if (!(ok = mongoc_collection_insert_one(files, &doc, NULL, NULL, &err)))
		mongo_fail(s, "insert file", &err);

	mongoc_collection_destroy(files);
	bson_destroy(&doc);
	return (ok);
}

/* The chunks, GRIDFS_BATCH of them per insert command. */
static int
gridfs_insert_chunks(struct mongo_session *s, const struct gridfs_blob *blob,
    const bson_oid_t *id)
{
	mongoc_collection_t	*chunks;
	bson_t			 docs[GRIDFS_BATCH];
	const bson_t		*batch[GRIDFS_BATCH];
	bson_error_t		 err;
	const uint8_t		*p;
	size_t			 off, len, i, n;
	int32_t			 seq;
	int			 ok;

	chunks = mongoc_database_get_collection(s->db, "fs.chunks");
	p = blob->data;
	off = 0;
	seq = 0;
	ok = 1;

	/* An empty file has no chunks, as in the GridFS spec. */
	while (ok && off < blob->len) {
		for (n = 0; n < GRIDFS_BATCH && off < blob->len; n++) {
			len = blob->len - off;
			if (len > GRIDFS_CHUNK_SIZE)
				len = GRIDFS_CHUNK_SIZE;
			bson_init(&docs[n]);
			BSON_APPEND_OID(&docs[n], "files_id", id);
			BSON_APPEND_INT32(&docs[n], "n", seq++);
			BSON_APPEND_BINARY(&docs[n], "data", BSON_SUBTYPE_BINARY,
			    p + off, (uint32_t)len);
			batch[n] = &docs[n];
			off += len;
		}

		mongo_step();
		if (!mongoc_collection_insert_many(chunks, batch, n, NULL,
		    NULL, &err)) {
			mongo_fail(s, "insert chunks", &err);
			ok = 0;
		}

		for (i = 0; i < n; i++)
			bson_destroy(&docs[i]);
	}

	mongoc_collection_destroy(chunks);
	return (ok);
}

/*
 * The indexes the GridFS spec asks of a writer, and the one the listing
 * sorts by; once per worker. createIndexes is a no-op for an index that
 * exists, so two job threads racing here do no harm.
 */
static int
gridfs_ensure_indexes(struct mongo_session *s)
{
	if (atomic_load(&gridfs_indexed))
		return (1);

	if (!gridfs_create_index(s, "fs.chunks", "files_id_1_n_1", 1,
	    "files_id", 1, "n", 1) ||
	    !gridfs_create_index(s, "fs.files", "filename_1_uploadDate_1", 0,
	    "filename", 1, "uploadDate", 1) ||
	    !gridfs_create_index(s, "fs.files", "metadata.owner_1_uploadDate_-1",
	    0, "metadata.owner", 1, "uploadDate", -1))
		return (0);

	atomic_store(&gridfs_indexed, 1);
	return (1);
}

static int
gridfs_create_index(struct mongo_session *s, const char *coll,
    const char *name, int unique, const char *k1, int d1, const char *k2,
    int d2)
{
	bson_t		cmd, list, spec, key, reply;
	bson_error_t	err;
	int		ok;

	bson_init(&cmd);
	BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
	BSON_APPEND_DOCUMENT_BEGIN(&list, "0", &spec);
	BSON_APPEND_DOCUMENT_BEGIN(&spec, "key", &key);
	BSON_APPEND_INT32(&key, k1, d1);
	BSON_APPEND_INT32(&key, k2, d2);
	bson_append_document_end(&spec, &key);
	BSON_APPEND_UTF8(&spec, "name", name);
	if (unique)
		BSON_APPEND_BOOL(&spec, "unique", true);
	bson_append_document_end(&list, &spec);
	bson_append_array_end(&cmd, &list);

	mongo_step();
	ok = mongoc_database_write_command_with_opts(s->db, &cmd, NULL,
	    &reply, &err);
	if (!ok)
		mongo_fail(s, "create index", &err);

	bson_destroy(&reply);
	bson_destroy(&cmd);
	return (ok);
}

static int
gridfs_mark_complete(struct mongo_session *s, const bson_oid_t *oids,
    size_t n)
{
	mongoc_collection_t	*files;
	bson_t			 sel, in, arr, upd, set, reply;
	bson_iter_t		 it;
	bson_error_t		 err;
	const char		*key;
	size_t			 i;
	char			 buf[16];
	int			 ok;

	bson_init(&sel);
	BSON_APPEND_DOCUMENT_BEGIN(&sel, "_id", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
	for (i = 0; i < n; i++) {
		(void)bson_uint32_to_string((uint32_t)i, &key, buf,
		    sizeof(buf));
		BSON_APPEND_OID(&arr, key, &oids[i]);
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(&sel, &in);

	bson_init(&upd);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_BOOL(&set, "metadata.complete", true);
	bson_append_document_end(&upd, &set);

	files = mongoc_database_get_collection(s->db, "fs.files");
	mongo_step();
	ok = mongoc_collection_update_many(files, &sel, &upd, NULL, &reply,
	    &err);
	if (!ok)
		mongo_fail(s, "mark complete", &err);
	else if (!bson_iter_init_find(&it, &reply, "matchedCount") ||
	    bson_iter_as_int64(&it) != (int64_t)n)
		ok = 0;

	bson_destroy(&reply);
	mongoc_collection_destroy(files);
	bson_destroy(&upd);
	bson_destroy(&sel);

	return (ok);
}

