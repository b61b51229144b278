/*
 * gridfs: GridFS over libmongoc: reads, listings and deletes through
 * its bucket API, writes by hand (see gridfs_put_one for why).
 *
 * libmongoc has no asynchronous API, so every call here runs on a task
 * thread with a client popped from this worker's pool (created after
 * fork: a pool must never cross a fork). Timeouts come from DEP_TIMEOUT
 * unless MONGO_URI sets them, so a MongoDB that is down costs a bounded
 * wait and a 503, and the pool's monitor finds it again by itself. Each
 * command gets DEP_TIMEOUT for all it waits on, however many steps
 * libmongoc takes to send it (connect, hello, authentication, the command
 * itself): gridfs_step starts the clock, mongostream.c enforces it.
 *
 * While MongoDB is known to be unreachable, a circuit breaker answers at
 * once (one call at a time probes for its return), so calls queued behind
 * a hung server do not each wait out the timeouts; and nothing is retried
 * or cleaned up against a server that just proved unreachable.
 *
 * Uploads are all or nothing: both files are written with
 * metadata.complete = false, then flipped to true by one update. Every
 * read filters on complete, so a crash half-way leaves nothing a client
 * can see. Download opens a stream only after the owner check, never
 * with an unchecked id: mongoc_gridfs_bucket_download_to_stream aborts
 * the process on a missing file (libmongoc 1.23).
 */

#include <sys/time.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "breaker.h"
#include "gridfs.h"
#include "log.h"
#include "mongostream.h"

#define GRIDFS_DB		"image_records"
#define GRIDFS_POOL_MAX		8
#define GRIDFS_COOLDOWN_MS	1000
#define GRIDFS_CHUNK_SIZE	(255 * 1024)	/* the spec's default */
#define GRIDFS_BATCH		16		/* chunks per insert: 4 MiB */

struct gridfs_session {
	mongoc_client_t		*client;
	mongoc_database_t	*db;
	mongoc_gridfs_bucket_t	*bucket;
	int			 unreachable;	/* an error said so */
};

static const struct config	*gridfs_cfg;
static mongoc_client_pool_t	*gridfs_pool;
static struct breaker		 gridfs_breaker;
static atomic_int		 gridfs_indexed;
static int			 gridfs_bounded;	/* mongostream usable */

static mongoc_uri_t	*gridfs_uri(const struct config *);
static void		 gridfs_log(mongoc_log_level_t, const char *,
			    const char *, void *);
static int		 gridfs_open(struct gridfs_session *);
static enum gridfs_result gridfs_open_id(struct gridfs_session *,
			    const char *, bson_oid_t *);
static void		 gridfs_close(struct gridfs_session *);
static mongoc_client_t	*gridfs_client_pop(void);
static void		 gridfs_client_push(mongoc_client_t *);
static void		 gridfs_step(void);
static bool		 gridfs_next(mongoc_cursor_t *, const bson_t **);
static void		 gridfs_fail(struct gridfs_session *, const char *,
			    const bson_error_t *);
static int		 gridfs_put_one(struct gridfs_session *, const char *,
			    const struct gridfs_blob *, const char *,
			    const bson_oid_t *, bson_oid_t *);
static int		 gridfs_insert_file(struct gridfs_session *,
			    const char *, const struct gridfs_blob *,
			    const char *, const bson_oid_t *,
			    const bson_oid_t *);
static int		 gridfs_insert_chunks(struct gridfs_session *,
			    const struct gridfs_blob *, const bson_oid_t *);
static int		 gridfs_ensure_indexes(struct gridfs_session *);
static int		 gridfs_create_index(struct gridfs_session *,
			    const char *, const char *, int, const char *, int,
			    const char *, int);
static int64_t		 gridfs_now_ms(void);
static int		 gridfs_mark_complete(struct gridfs_session *,
			    const bson_oid_t *, const bson_oid_t *);
static int		 gridfs_remove(struct gridfs_session *,
			    const bson_oid_t *);
static int		 gridfs_delete_where(struct gridfs_session *,
			    const char *, const char *, const bson_oid_t *);
static enum gridfs_result gridfs_find_one(struct gridfs_session *,
			    const char *, const bson_oid_t *,
			    struct gridfs_file *);
static void		 gridfs_owner_filter(bson_t *, const char *);
static void		 gridfs_file_from_doc(const bson_t *,
			    struct gridfs_file *);
static void		 gridfs_copy_utf8(bson_iter_t *, char *, size_t);

int
gridfs_init(const struct config *cfg)
{
	mongoc_uri_t	*uri;

	gridfs_cfg = cfg;
	breaker_init(&gridfs_breaker, GRIDFS_COOLDOWN_MS,
	    (int64_t)cfg->dep_timeout * 3000 + 1000);
	mongoc_init();
	mongoc_log_set_handler(gridfs_log, NULL);

	if ((uri = gridfs_uri(cfg)) == NULL)
		return (-1);

	if (!(gridfs_bounded = mongostream_usable(uri)))
		log_line("level=warning dep=mongodb msg=\"TLS: each network "
		    "step is bounded, a whole command is not\"");

	gridfs_pool = mongoc_client_pool_new(uri);
	mongoc_uri_destroy(uri);
	if (gridfs_pool == NULL)
		return (-1);

	(void)mongoc_client_pool_set_error_api(gridfs_pool,
	    MONGOC_ERROR_API_VERSION_2);
	(void)mongoc_client_pool_set_appname(gridfs_pool, "microgo");
	mongoc_client_pool_max_size(gridfs_pool, GRIDFS_POOL_MAX);

	return (0);
}

void
gridfs_cleanup(void)
{
	if (gridfs_pool != NULL) {
		mongoc_client_pool_destroy(gridfs_pool);
		gridfs_pool = NULL;
	}
	mongoc_cleanup();
}

int
gridfs_id_valid(const char *s)
{
	size_t		i;

	for (i = 0; i < GRIDFS_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return (0);
	}

	return (s[GRIDFS_ID_LEN] == '\0');
}

enum gridfs_result
gridfs_put_pair(const char *owner, const struct gridfs_blob *original,
    const struct gridfs_blob *copy, char orig_id[GRIDFS_ID_LEN + 1],
    char copy_id[GRIDFS_ID_LEN + 1])
{
	struct gridfs_session	s;
	bson_oid_t		orig, dup;
	int			have_orig, have_copy;
	enum gridfs_result	ret;

	if (!gridfs_open(&s))
		return (GRIDFS_UNAVAILABLE);

	ret = GRIDFS_UNAVAILABLE;
	have_orig = have_copy = 0;

	if (!gridfs_ensure_indexes(&s))
		goto cleanup;

	if (!gridfs_put_one(&s, owner, original, "original", NULL, &orig))
		goto cleanup;
	have_orig = 1;

	if (!gridfs_put_one(&s, owner, copy, "compressed", &orig, &dup))
		goto cleanup;
	have_copy = 1;

	if (!gridfs_mark_complete(&s, &orig, &dup))
		goto cleanup;

	bson_oid_to_string(&orig, orig_id);
	bson_oid_to_string(&dup, copy_id);
	ret = GRIDFS_OK;

cleanup:
	/* Both stay invisible (incomplete) if MongoDB cannot be reached. */
	if (ret != GRIDFS_OK && !s.unreachable) {
		if (have_copy)
			(void)gridfs_remove(&s, &dup);
		if (have_orig)
			(void)gridfs_remove(&s, &orig);
	}
	gridfs_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_get(const char *owner, const char *id, struct gridfs_file *meta,
    void **data)
{
	struct gridfs_session	 s;
	mongoc_stream_t		*stream;
	bson_value_t		 idval;
	bson_error_t		 err;
	bson_oid_t		 oid;
	ssize_t			 n;
	size_t			 off, len;
	uint8_t			*buf;
	enum gridfs_result	 ret;

	*data = NULL;
	if ((ret = gridfs_open_id(&s, id, &oid)) != GRIDFS_OK)
		return (ret);

	stream = NULL;
	buf = NULL;

	if ((ret = gridfs_find_one(&s, owner, &oid, meta)) != GRIDFS_OK)
		goto cleanup;

	ret = GRIDFS_UNAVAILABLE;
	idval.value_type = BSON_TYPE_OID;
	bson_oid_copy(&oid, &idval.value.v_oid);
	gridfs_step();
	if ((stream = mongoc_gridfs_bucket_open_download_stream(s.bucket,
	    &idval, &err)) == NULL) {
		gridfs_fail(&s, "open download stream", &err);
		goto cleanup;
	}

	len = (size_t)meta->length;
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		goto cleanup;

	for (off = 0; off < len; off += (size_t)n) {
		gridfs_step();
		n = mongoc_stream_read(stream, buf + off, len - off, 1,
		    gridfs_cfg->dep_timeout * 1000);
		if (n <= 0) {
			if (mongoc_gridfs_bucket_stream_error(stream, &err))
				gridfs_fail(&s, "download", &err);
			goto cleanup;
		}
	}

	*data = buf;
	buf = NULL;
	ret = GRIDFS_OK;

cleanup:
	free(buf);
	if (stream != NULL)
		mongoc_stream_destroy(stream);
	gridfs_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_list(const char *owner, int64_t limit, int64_t offset,
    struct gridfs_file **files, size_t *nfiles)
{
	struct gridfs_session	 s;
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 filter, opts, sort;
	bson_error_t		 err;
	struct gridfs_file	*out;
	size_t			 n;
	enum gridfs_result	 ret;

	*files = NULL;
	*nfiles = 0;

	if (!gridfs_open(&s))
		return (GRIDFS_UNAVAILABLE);

	bson_init(&filter);
	gridfs_owner_filter(&filter, owner);

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
	    gridfs_next(cur, &doc))
		gridfs_file_from_doc(doc, &out[n++]);

	if (out == NULL || mongoc_cursor_error(cur, &err)) {
		if (out != NULL)
			gridfs_fail(&s, "list", &err);
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
	gridfs_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_delete(const char *owner, const char *id)
{
	struct gridfs_session	 s;
	struct gridfs_file	 meta;
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 filter;
	bson_iter_t		 it;
	bson_error_t		 err;
	bson_oid_t		 oid;
	bson_value_t		 idval;
	enum gridfs_result	 ret;

	if ((ret = gridfs_open_id(&s, id, &oid)) != GRIDFS_OK)
		return (ret);

	if ((ret = gridfs_find_one(&s, owner, &oid, &meta)) != GRIDFS_OK)
		goto cleanup;

	/* The copies first: a failure half-way leaves the original listed. */
	ret = GRIDFS_UNAVAILABLE;
	bson_init(&filter);
	BSON_APPEND_UTF8(&filter, "metadata.owner", owner);
	BSON_APPEND_OID(&filter, "metadata.original", &oid);
	cur = mongoc_gridfs_bucket_find(s.bucket, &filter, NULL);
	while (gridfs_next(cur, &doc)) {
		if (!bson_iter_init_find(&it, doc, "_id"))
			continue;
		idval = *bson_iter_value(&it);
		gridfs_step();
		if (!mongoc_gridfs_bucket_delete_by_id(s.bucket, &idval, &err))
			gridfs_fail(&s, "delete copy", &err);
	}
	if (mongoc_cursor_error(cur, &err)) {
		gridfs_fail(&s, "find copies", &err);
		mongoc_cursor_destroy(cur);
		bson_destroy(&filter);
		goto cleanup;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);

	idval.value_type = BSON_TYPE_OID;
	bson_oid_copy(&oid, &idval.value.v_oid);
	gridfs_step();
	if (!mongoc_gridfs_bucket_delete_by_id(s.bucket, &idval, &err)) {
		gridfs_fail(&s, "delete", &err);
		goto cleanup;
	}

	ret = GRIDFS_OK;

cleanup:
	gridfs_close(&s);
	return (ret);
}

enum gridfs_result
gridfs_ping(void)
{
	mongoc_client_t		*client;
	bson_t			 cmd, reply;
	bson_error_t		 err;
	int			 ok;

	if (!breaker_allow(&gridfs_breaker, breaker_now_ms()))
		return (GRIDFS_UNAVAILABLE);
	client = gridfs_client_pop();

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "ping", 1);
	gridfs_step();
	ok = mongoc_client_command_simple(client, GRIDFS_DB, &cmd, NULL,
	    &reply, &err);
	if (!ok)
		gridfs_fail(NULL, "ping", &err);

	breaker_record(&gridfs_breaker, ok, breaker_now_ms());
	bson_destroy(&reply);
	bson_destroy(&cmd);
	gridfs_client_push(client);

	return (ok ? GRIDFS_OK : GRIDFS_UNAVAILABLE);
}

int
gridfs_sweep(int64_t max_age_ms)
{
	struct gridfs_session	 s;
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 filter, before, opts, proj;
	bson_iter_t		 it;
	bson_error_t		 err;
	bson_oid_t		 ids[GRIDFS_SWEEP_MAX];
	size_t			 i, n;
	int			 ret;

	if (!gridfs_open(&s))
		return (-1);

	bson_init(&filter);
	BSON_APPEND_BOOL(&filter, "metadata.complete", false);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "uploadDate", &before);
	BSON_APPEND_DATE_TIME(&before, "$lt", gridfs_now_ms() - max_age_ms);
	bson_append_document_end(&filter, &before);

	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);
	BSON_APPEND_INT64(&opts, "limit", GRIDFS_SWEEP_MAX);

	/* The ids first: nothing is deleted under an open cursor. */
	n = 0;
	cur = mongoc_gridfs_bucket_find(s.bucket, &filter, &opts);
	while (n < GRIDFS_SWEEP_MAX && gridfs_next(cur, &doc)) {
		if (bson_iter_init_find(&it, doc, "_id") &&
		    BSON_ITER_HOLDS_OID(&it))
			bson_oid_copy(bson_iter_oid(&it), &ids[n++]);
	}

	ret = 0;
	if (mongoc_cursor_error(cur, &err)) {
		gridfs_fail(&s, "sweep", &err);
		ret = -1;
	}
	for (i = 0; ret != -1 && i < n; i++)
		ret = gridfs_remove(&s, &ids[i]) ? ret + 1 : -1;

	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	gridfs_close(&s);
	return (ret);
}

/*
 * MONGO_URI if set, else mongodb://ACCESS_USR:ACCESS_PWD@host:port with
 * image_records as the auth database. Timeouts not in the URI come from
 * DEP_TIMEOUT.
 */
static mongoc_uri_t *
gridfs_uri(const struct config *cfg)
{
	mongoc_uri_t	*uri;
	bson_error_t	 err;
	int32_t		 ms;

	if (cfg->mongo_uri[0] != '\0') {
		if ((uri = mongoc_uri_new_with_error(cfg->mongo_uri,
		    &err)) == NULL) {
			gridfs_fail(NULL, "MONGO_URI", &err);
			return (NULL);
		}
	} else {
		if ((uri = mongoc_uri_new_for_host_port(cfg->mongo_host,
		    cfg->mongo_port)) == NULL)
			return (NULL);
		if (!mongoc_uri_set_username(uri, cfg->access_usr) ||
		    !mongoc_uri_set_password(uri, cfg->access_pwd) ||
		    !mongoc_uri_set_auth_source(uri, GRIDFS_DB)) {
			mongoc_uri_destroy(uri);
			return (NULL);
		}
	}

	/* A retried command would wait out the timeouts a second time. */
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYREADS))
		(void)mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS,
		    false);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES))
		(void)mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES,
		    false);

	ms = cfg->dep_timeout * 1000;
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_CONNECTTIMEOUTMS, ms);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		(void)mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SOCKETTIMEOUTMS, ms);

	return (uri);
}

/*
 * libmongoc's own messages: warnings and worse go to the app log; its
 * debug chatter (a line per failed heartbeat while MongoDB is down)
 * would otherwise flood the worker's stdout.
 */
static void
gridfs_log(mongoc_log_level_t level, const char *domain, const char *message,
    void *arg)
{
	char	msg[512];

	(void)arg;
	if (level > MONGOC_LOG_LEVEL_WARNING)
		return;

	log_field(msg, sizeof(msg), message);
	log_line("level=%s dep=mongodb domain=%s msg=%s",
	    mongoc_log_level_str(level), domain, msg);
}

static int
gridfs_open(struct gridfs_session *s)
{
	bson_error_t	err;

	memset(s, 0, sizeof(*s));

	if (!breaker_allow(&gridfs_breaker, breaker_now_ms()))
		return (0);

	s->client = gridfs_client_pop();
	s->db = mongoc_client_get_database(s->client, GRIDFS_DB);
	if ((s->bucket = mongoc_gridfs_bucket_new(s->db, NULL, NULL,
	    &err)) == NULL) {
		gridfs_fail(s, "bucket", &err);
		gridfs_close(s);
		return (0);
	}

	return (1);
}

/* A session for the file id names; NOT_FOUND if it is no ObjectId. */
static enum gridfs_result
gridfs_open_id(struct gridfs_session *s, const char *id, bson_oid_t *oid)
{
	if (!gridfs_id_valid(id))
		return (GRIDFS_NOT_FOUND);
	bson_oid_init_from_string(oid, id);

	return (gridfs_open(s) ? GRIDFS_OK : GRIDFS_UNAVAILABLE);
}

static void
gridfs_close(struct gridfs_session *s)
{
	if (s->client != NULL)
		breaker_record(&gridfs_breaker, !s->unreachable,
		    breaker_now_ms());
	if (s->bucket != NULL)
		mongoc_gridfs_bucket_destroy(s->bucket);
	if (s->db != NULL)
		mongoc_database_destroy(s->db);
	if (s->client != NULL)
		gridfs_client_push(s->client);
	memset(s, 0, sizeof(*s));
}

/*
 * A client of this worker's pool, its connections made by mongostream.
 * Set on every pop, not once per client: the pool may destroy and remake
 * clients (minPoolSize in MONGO_URI), and a remade one would lose it.
 */
static mongoc_client_t *
gridfs_client_pop(void)
{
	mongoc_client_t		*client;

	client = mongoc_client_pool_pop(gridfs_pool);
	if (gridfs_bounded)
		mongoc_client_set_stream_initiator(client, mongostream_open,
		    NULL);

	return (client);
}

static void
gridfs_client_push(mongoc_client_t *client)
{
	mongostream_deadline(0);
	mongoc_client_pool_push(gridfs_pool, client);
}

/*
 * Called before each command: all the command waits on (connect, hello,
 * authentication, the reply) ends within DEP_TIMEOUT from now.
 */
static void
gridfs_step(void)
{
	mongostream_deadline((int64_t)gridfs_cfg->dep_timeout * 1000);
}

/* mongoc_cursor_next, each find or getMore it sends being one step. */
static bool
gridfs_next(mongoc_cursor_t *cur, const bson_t **doc)
{
	gridfs_step();
	return (mongoc_cursor_next(cur, doc));
}

/*
 * Logs a libmongoc error, and notes in the session whether it says the
 * server cannot be reached (as opposed to refusing one command).
 */
static void
gridfs_fail(struct gridfs_session *s, const char *what,
    const bson_error_t *err)
{
	char	msg[256];

	if (s != NULL && (err->domain == MONGOC_ERROR_SERVER_SELECTION ||
	    err->domain == MONGOC_ERROR_STREAM))
		s->unreachable = 1;

	log_field(msg, sizeof(msg), err->message);
	log_line("level=error dep=mongodb op=%s domain=%u code=%u msg=%s",
	    what, err->domain, err->code, msg);
}

/*
 * One file, written by hand rather than through libmongoc's upload
 * stream: that stream carries on after a failed chunk insert and tries
 * every remaining chunk, each waiting out the server selection timeout,
 * so an upload in flight when MongoDB went away hung for minutes. Here
 * the first failed command ends the upload. The files document goes
 * first (incomplete, so no reader sees it), then the chunks a batch per
 * insert command, so a leftover is always findable by its files document.
 */
static int
gridfs_put_one(struct gridfs_session *s, const char *owner,
    const struct gridfs_blob *blob, const char *tag,
    const bson_oid_t *original, bson_oid_t *id)
{
	bson_oid_init(id, NULL);

	if (!gridfs_insert_file(s, owner, blob, tag, original, id))
		return (0);

	if (!gridfs_insert_chunks(s, blob, id)) {
		if (!s->unreachable)
			(void)gridfs_remove(s, id);
		return (0);
	}

	return (1);
}

static int
gridfs_insert_file(struct gridfs_session *s, const char *owner,
    const struct gridfs_blob *blob, const char *tag,
    const bson_oid_t *original, const bson_oid_t *id)
{
	mongoc_collection_t	*files;
	bson_t			 doc, meta;
	bson_error_t		 err;
	int			 ok;

	bson_init(&doc);
	BSON_APPEND_OID(&doc, "_id", id);
	BSON_APPEND_INT64(&doc, "length", (int64_t)blob->len);
	BSON_APPEND_INT32(&doc, "chunkSize", GRIDFS_CHUNK_SIZE);
	BSON_APPEND_DATE_TIME(&doc, "uploadDate", gridfs_now_ms());
	BSON_APPEND_UTF8(&doc, "filename", blob->filename);
	BSON_APPEND_DOCUMENT_BEGIN(&doc, "metadata", &meta);
	BSON_APPEND_UTF8(&meta, "owner", owner);
	BSON_APPEND_UTF8(&meta, "tag", tag);
	if (original != NULL)
		BSON_APPEND_OID(&meta, "original", original);
	else
		BSON_APPEND_NULL(&meta, "original");
	BSON_APPEND_UTF8(&meta, "contentType", blob->content_type);
	BSON_APPEND_BOOL(&meta, "complete", false);
	bson_append_document_end(&doc, &meta);

	files = mongoc_database_get_collection(s->db, "fs.files");
	gridfs_step();
	if (!(ok = mongoc_collection_insert_one(files, &doc, NULL, NULL, &err)))
		gridfs_fail(s, "insert file", &err);

	mongoc_collection_destroy(files);
	bson_destroy(&doc);
	return (ok);
}

/* The chunks, GRIDFS_BATCH of them per insert command. */
static int
gridfs_insert_chunks(struct gridfs_session *s, const struct gridfs_blob *blob,
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

		gridfs_step();
		if (!mongoc_collection_insert_many(chunks, batch, n, NULL,
		    NULL, &err)) {
			gridfs_fail(s, "insert chunks", &err);
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
gridfs_ensure_indexes(struct gridfs_session *s)
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
gridfs_create_index(struct gridfs_session *s, const char *coll,
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

	gridfs_step();
	ok = mongoc_database_write_command_with_opts(s->db, &cmd, NULL,
	    &reply, &err);
	if (!ok)
		gridfs_fail(s, "create index", &err);

	bson_destroy(&reply);
	bson_destroy(&cmd);
	return (ok);
}

static int64_t
gridfs_now_ms(void)
{
	struct timeval	tv;

	(void)bson_gettimeofday(&tv);
	return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

static int
gridfs_mark_complete(struct gridfs_session *s, const bson_oid_t *a,
    const bson_oid_t *b)
{
	mongoc_collection_t	*files;
	bson_t			 sel, in, arr, upd, set, reply;
	bson_iter_t		 it;
	bson_error_t		 err;
	int			 ok;

	bson_init(&sel);
	BSON_APPEND_DOCUMENT_BEGIN(&sel, "_id", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
	BSON_APPEND_OID(&arr, "0", a);
	BSON_APPEND_OID(&arr, "1", b);
	bson_append_array_end(&in, &arr);
	bson_append_document_end(&sel, &in);

	bson_init(&upd);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_BOOL(&set, "metadata.complete", true);
	bson_append_document_end(&upd, &set);

	files = mongoc_database_get_collection(s->db, "fs.files");
	gridfs_step();
	ok = mongoc_collection_update_many(files, &sel, &upd, NULL, &reply,
	    &err);
	if (!ok)
		gridfs_fail(s, "mark complete", &err);
	else if (!bson_iter_init_find(&it, &reply, "matchedCount") ||
	    bson_iter_as_int64(&it) != 2)
		ok = 0;

	bson_destroy(&reply);
	mongoc_collection_destroy(files);
	bson_destroy(&upd);
	bson_destroy(&sel);

	return (ok);
}

/*
 * Removes one file, its chunks first: if that fails half-way, the files
 * document is left for gridfs_sweep to find again.
 */
static int
gridfs_remove(struct gridfs_session *s, const bson_oid_t *oid)
{
	return (gridfs_delete_where(s, "fs.chunks", "files_id", oid) &&
	    gridfs_delete_where(s, "fs.files", "_id", oid));
}

/* Deletes every document of coll whose field is oid. */
static int
gridfs_delete_where(struct gridfs_session *s, const char *coll,
    const char *field, const bson_oid_t *oid)
{
	mongoc_collection_t	*c;
	bson_t			 sel;
	bson_error_t		 err;
	int			 ok;

	bson_init(&sel);
	BSON_APPEND_OID(&sel, field, oid);
	c = mongoc_database_get_collection(s->db, coll);
	gridfs_step();
	if (!(ok = mongoc_collection_delete_many(c, &sel, NULL, NULL, &err)))
		gridfs_fail(s, "remove", &err);

	mongoc_collection_destroy(c);
	bson_destroy(&sel);
	return (ok);
}

static enum gridfs_result
gridfs_find_one(struct gridfs_session *s, const char *owner,
    const bson_oid_t *oid, struct gridfs_file *meta)
{
	mongoc_cursor_t		*cur;
	const bson_t		*doc;
	bson_t			 filter;
	bson_error_t		 err;
	enum gridfs_result	 ret;

	bson_init(&filter);
	BSON_APPEND_OID(&filter, "_id", oid);
	gridfs_owner_filter(&filter, owner);

	cur = mongoc_gridfs_bucket_find(s->bucket, &filter, NULL);
	if (gridfs_next(cur, &doc)) {
		gridfs_file_from_doc(doc, meta);
		ret = GRIDFS_OK;
	} else if (mongoc_cursor_error(cur, &err)) {
		gridfs_fail(s, "find", &err);
		ret = GRIDFS_UNAVAILABLE;
	} else {
		ret = GRIDFS_NOT_FOUND;
	}

	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	return (ret);
}

/* What every read sees: the owner's files whose upload completed. */
static void
gridfs_owner_filter(bson_t *filter, const char *owner)
{
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
		if (strcmp(bson_iter_key(&meta), "tag") == 0)
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
